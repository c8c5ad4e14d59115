"""Writes: saving a routing form (questions and routes together) and routing a submission."""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeGuard
from urllib.parse import urlencode

from django.db import IntegrityError, transaction

from bookings.models import BookingLink

from . import rules, salesforce_route
from .models import Question, Route, RoutingForm, Submission
from .rules import QuestionSpec, RouteSpec

logger = logging.getLogger("routing.services")
Action = Route.Action
FALLBACK_MESSAGE = "Thank you — we have your answers and will be in touch shortly."


class RoutingFormError(Exception):
    """The form can't be saved as given; `errors` are meant for the admin."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def form_save(
    *,
    workspace,
    name: str,
    slug: str,
    questions: Sequence[QuestionSpec],
    routes: Sequence[RouteSpec],
    form: RoutingForm | None = None,
) -> RoutingForm:
    """Create (form=None) or replace a form's name, questions and routes, all or nothing.
    Raises RoutingFormError listing every problem (no fallback, a deleted link, ...). Idempotent."""
    name, slug = name.strip(), slug.strip().lower()
    link_ids = set(BookingLink.objects.filter(workspace=workspace).values_list("pk", flat=True))
    errors = rules.check_form(name=name, slug=slug, questions=questions, routes=routes, link_ids=link_ids)
    taken = RoutingForm.objects.filter(workspace=workspace, slug=slug)
    if form is not None:
        taken = taken.exclude(pk=form.pk)
    if slug and taken.exists():
        errors.append(f"Another form in your workspace already uses “{slug}”. Choose a different URL name.")
    if errors:
        raise RoutingFormError(errors)
    form = form or RoutingForm(workspace=workspace)
    form.name, form.slug = name, slug
    try:
        with transaction.atomic():
            form.save()
            form.questions.all().delete()
            form.routes.all().delete()
            Question.objects.bulk_create(_question(form, n, q) for n, q in enumerate(questions, start=1))
            Route.objects.bulk_create(_route(form, n, r) for n, r in enumerate(routes, start=1))
    except IntegrityError:  # a concurrent save took the slug between check and save
        raise RoutingFormError([f"Another form in your workspace already uses “{slug}”."]) from None
    return form


def _question(form, position: int, spec: QuestionSpec) -> Question:
    options = list(spec.options) if spec.kind == Question.Kind.SINGLE_CHOICE else []
    return Question(
        form=form,
        position=position,
        key=spec.key,
        label=spec.label.strip(),
        kind=spec.kind,
        required=spec.required,
        options=options,
    )


def _route(form, position: int, spec: RouteSpec) -> Route:
    return Route(
        form=form,
        position=position,
        conditions=[c.as_dict() for c in spec.conditions],
        action=spec.action,
        link_id=spec.link_id if spec.action == Action.BOOKING_LINK else None,
        message=spec.message.strip() if spec.action == Action.MESSAGE else "",
        is_fallback=spec.is_fallback,
    )


# ---- submissions ---------------------------------------------------------------------------
@dataclass
class Decision:
    route_label: str
    action: str
    link: BookingLink | None = None
    message: str = ""
    steps: list[str] = field(default_factory=list)
    fallback_reason: str = ""
    owner: salesforce_route.OwnerRoute | None = None


def submission_create(*, form: RoutingForm, answers: dict[str, str]) -> Submission:
    """Route one invitee's (already validated) answers and record what happened. Salesforce
    trouble never raises here: it sends the invitee to the fallback and says why. Not idempotent
    (each call is a submission); Salesforce lookups are cached for five minutes."""
    started = time.monotonic()
    questions = list(form.questions.all())
    email = next((answers.get(q.key, "") for q in questions if q.kind == Question.Kind.EMAIL), "")
    name = next((answers.get(q.key, "") for q in questions if rules.is_name_question(q.key, q.label, q.kind)), "")
    decision = _decide(form, answers, email)
    owner = decision.owner.result if decision.owner else None
    submission = Submission.objects.create(
        form=form,
        answers=answers,
        email=email,
        name=name[:200],
        route_label=decision.route_label,
        route_action=decision.action,
        explanation="; ".join(step for step in decision.steps if step),
        used_fallback=bool(decision.fallback_reason),
        fallback_reason=decision.fallback_reason,
        destination=_booking_url(decision.link, name, email) if decision.link else "",
        link=decision.link,
        message=decision.message,
        owner_source=(owner.source or "") if owner else "",
        owner_sf_id=owner.owner_sf_id if owner else "",
        owner_name=owner.owner_name[:255] if owner else "",
        owner_email=owner.owner_email[:254] if owner else "",
        sf_record_id=owner.record_id if owner else "",
        sf_record_name=owner.record_name[:255] if owner else "",
        owner_member=decision.owner.member if decision.owner else None,
        api_calls=owner.api_calls if owner else 0,
        lookup_cached=decision.owner.cached if decision.owner else False,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    logger.info(
        "routing.submission",
        extra={
            "form_id": form.pk,
            "submission_id": submission.pk,
            "route": submission.route_label,
            "fallback": submission.used_fallback,
            "api_calls": submission.api_calls,
        },
    )
    return submission


def _decide(form: RoutingForm, answers: dict, email: str) -> Decision:
    routes = list(form.routes.select_related("link__owner", "link__workspace"))
    numbered = [(n, r) for n, r in enumerate(routes, start=1) if not r.is_fallback]
    for number, route in numbered:
        if not rules.route_matches(route.conditions, answers):
            continue
        label = f"Route {number}"
        matched = f"{label} (no conditions)"
        if route.conditions:
            matched = f"{label} matched ({rules.describe_conditions(route.conditions)})"
        decision = _follow(form, route, label, matched, email)
        if not decision.fallback_reason:
            return decision
        return _fallback(form, routes, decision)
    return _fallback(form, routes, Decision("", "", fallback_reason="no route's conditions matched"))


def _follow(form, route: Route, label: str, matched: str, email: str) -> Decision:
    if route.action == Action.MESSAGE:
        return Decision(label, route.action, message=route.message, steps=[matched, "showed its message"])
    if route.action == Action.BOOKING_LINK:
        if not _usable(route.link, form):
            reason = f"{label}'s booking link was deleted or is not in this workspace"
            return Decision(label, route.action, steps=[matched], fallback_reason=reason)
        return Decision(label, route.action, link=route.link, steps=[matched, _link_words(route.link)])
    owner = salesforce_route.route_to_owner(workspace=form.workspace, email=email, form_id=form.pk)
    steps = [f"{matched}: Salesforce lookup", owner.explanation]
    if owner.link is None:
        return Decision(label, route.action, steps=steps, fallback_reason=owner.reason, owner=owner)
    return Decision(label, route.action, link=owner.link, steps=[*steps, _link_words(owner.link)], owner=owner)


def _fallback(form, routes: list[Route], previous: Decision) -> Decision:
    """Send the invitee to the fallback. The record keeps the route that matched (if any), so
    "Salesforce lookups that fell back" is one filter away in the admin."""
    fallback = next((r for r in routes if r.is_fallback), None)
    decision = Decision(
        previous.route_label or "Fallback",
        previous.action or (fallback.action if fallback else Action.MESSAGE),
        steps=[*previous.steps, f"fallback: {previous.fallback_reason}"],
        fallback_reason=previous.fallback_reason,
        owner=previous.owner,
    )
    if fallback is not None and fallback.action == Action.BOOKING_LINK and _usable(fallback.link, form):
        decision.link = fallback.link
        decision.steps.append(f"the fallback: {_link_words(fallback.link)}")
    elif fallback is not None and fallback.action == Action.MESSAGE:
        decision.message = fallback.message
        decision.steps.append("the fallback: showed its message")
    else:
        # A form saved through the builder always has a usable fallback; this is the safety net.
        decision.message = FALLBACK_MESSAGE
        decision.steps.append("the fallback's booking link was deleted, so a thank-you message was shown")
        logger.warning("routing.fallback.unusable", extra={"form_id": form.pk})
    return decision


def _usable(link: BookingLink | None, form: RoutingForm) -> TypeGuard[BookingLink]:
    return link is not None and link.workspace_id == form.workspace_id


def _link_words(link: BookingLink) -> str:
    return f"booking link “{link.title}” of {link.owner.display_name}"


DESTINATION_MAX_LENGTH = 1000  # Submission.destination


def _booking_url(link: BookingLink, name: str, email: str) -> str:
    """The booking page with name and email prefilled; a prefill that would make the address
    too long to keep (long non-Latin names encode to 9 bytes a character) is left out."""
    url = f"{link.get_public_path()}?{urlencode({'name': name, 'email': email})}"
    if len(url) <= DESTINATION_MAX_LENGTH:
        return url
    return f"{link.get_public_path()}?{urlencode({'email': email})}"
