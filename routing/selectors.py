"""Reads for routing pages. Admin reads take the workspace and never leave it."""

from django.db.models import Count, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from bookings.models import BookingLink

from .models import Route, RoutingForm, Submission


def forms_for_workspace(*, workspace) -> QuerySet:
    return RoutingForm.objects.filter(workspace=workspace).annotate(submission_count=Count("submissions"))


def form_get_for_admin(*, workspace, form_id: int) -> RoutingForm:
    """Raises Http404 for a form of another workspace."""
    form = RoutingForm.objects.select_related("workspace").filter(workspace=workspace, pk=form_id).first()
    if form is None:
        raise Http404("No such routing form.")
    return form


def form_get_public(*, workspace_slug: str, form_slug: str) -> RoutingForm:
    """Raises Http404."""
    return get_object_or_404(
        RoutingForm.objects.select_related("workspace"), workspace__slug=workspace_slug, slug=form_slug
    )


def workspace_links(*, workspace) -> QuerySet:
    return (
        BookingLink.objects.filter(workspace=workspace).select_related("owner").order_by("owner__email", "title", "id")
    )


def form_problems(*, form: RoutingForm) -> list[str]:
    """What would send invitees somewhere unintended: routes whose booking link is gone."""
    problems = []
    routes = list(form.routes.select_related("link"))
    for number, route in enumerate(routes, start=1):
        if route.action != Route.Action.BOOKING_LINK:
            continue
        if route.link is None or route.link.workspace_id != form.workspace_id:
            label = "The fallback" if route.is_fallback else f"Route {number}"
            consequence = (
                "invitees see a generic thank-you message" if route.is_fallback else "invitees go to the fallback"
            )
            problems.append(
                f"{label} points at a booking link that was deleted; until you pick another, {consequence}."
            )
    return problems


def submissions_for_form(*, form: RoutingForm) -> QuerySet:
    return Submission.objects.filter(form=form).select_related("link__owner", "owner_member")
