"""Admins build routing forms and read their submissions. Members get 403, other workspaces 404."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.text import Truncator
from django.views.decorators.http import require_http_methods

from workestra.tenancy import admin_required

from .. import selectors, services
from ..forms import (
    FallbackForm,
    FormDetailsForm,
    QuestionFormSet,
    RouteFormSet,
    posted_question_keys,
    question_specs,
    route_specs,
)
from ..models import Question, Route, RoutingForm

SUBMISSIONS_PER_PAGE = 50
WHY_SUMMARY_LENGTH = 70
NEW_FORM_QUESTIONS = [
    {"label": "Name", "key": "name", "kind": Question.Kind.SHORT_TEXT, "required": False},
    {"label": "Email", "key": "email", "kind": Question.Kind.EMAIL, "required": True},
]


@require_http_methods(["GET", "HEAD"])
@admin_required
def form_list(request):
    forms = selectors.forms_for_workspace(workspace=request.workspace)
    return render(request, "routing/form_list.html", {"forms": forms})


@require_http_methods(["GET", "HEAD", "POST"])
@admin_required
def form_new(request):
    return _builder(request, None)


@require_http_methods(["GET", "HEAD", "POST"])
@admin_required
def form_edit(request, form_id: int):
    return _builder(request, selectors.form_get_for_admin(workspace=request.workspace, form_id=form_id))


@require_http_methods(["GET", "HEAD"])
@admin_required
def form_submissions(request, form_id: int):
    routing_form = selectors.form_get_for_admin(workspace=request.workspace, form_id=form_id)
    submissions = selectors.submissions_for_form(form=routing_form)
    page = Paginator(submissions, SUBMISSIONS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(submission, why_summary(submission)) for submission in page.object_list]
    return render(request, "routing/submissions.html", {"routing_form": routing_form, "page": page, "rows": rows})


def why_summary(submission) -> str:
    """The first step of the explanation ("Route 2 matched (…)"), and the fallback's reason
    when there was one, in a line; the whole explanation stays one click away."""
    first = submission.explanation.split("; ")[0]
    if submission.used_fallback and submission.fallback_reason:
        first = (
            f"{first} → fallback: {submission.fallback_reason}"
            if first and not first.startswith("fallback")
            else f"Fallback: {submission.fallback_reason}"
        )
    return Truncator(first).chars(WHY_SUMMARY_LENGTH)


def _builder(request, routing_form: RoutingForm | None):
    links = selectors.workspace_links(workspace=request.workspace)
    data = request.POST if request.method == "POST" else None
    details, questions, routes, fallback = _bind(data, routing_form, links)
    errors: list[str] = []
    if data is not None:
        if all([details.is_valid(), questions.is_valid(), routes.is_valid(), fallback.is_valid()]):
            try:
                saved = services.form_save(
                    workspace=request.workspace,
                    form=routing_form,
                    name=details.cleaned_data["name"],
                    slug=details.cleaned_data["slug"],
                    questions=question_specs(questions),
                    routes=route_specs(routes, fallback),
                )
            except services.RoutingFormError as error:
                errors = error.errors
            else:
                messages.success(request, f"“{saved.name}” saved. Its public page is {saved.get_public_path()}")
                return redirect("routing:form_edit", form_id=saved.pk)
        else:
            errors = ["Some fields need attention; see the messages next to them."]
    context = {
        "routing_form": routing_form,
        "details": details,
        "questions": questions,
        "routes": routes,
        "fallback": fallback,
        "errors": errors,
        "problems": selectors.form_problems(form=routing_form) if routing_form and data is None else [],
    }
    return render(request, "routing/form_builder.html", context, status=400 if data is not None else 200)


def _bind(data, routing_form: RoutingForm | None, links):
    if routing_form is None:
        details_initial, question_initial, route_initial, fallback_initial = {}, NEW_FORM_QUESTIONS, [], {}
    else:
        details_initial = {"name": routing_form.name, "slug": routing_form.slug}
        question_initial = [_question_initial(q) for q in routing_form.questions.all()]
        all_routes = list(routing_form.routes.all())
        route_initial = [_route_initial(r) for r in all_routes if not r.is_fallback]
        fallback_initial = next(
            ({"action": r.action, "link": r.link_id, "message": r.message} for r in all_routes if r.is_fallback), {}
        )
    questions = QuestionFormSet(data, initial=question_initial, prefix="questions")
    keys = posted_question_keys(questions)
    return (
        FormDetailsForm(data, initial=details_initial),
        questions,
        RouteFormSet(data, initial=route_initial, prefix="routes", form_kwargs={"links": links, "question_keys": keys}),
        FallbackForm(data, initial=fallback_initial, prefix="fallback", links=links),
    )


def _question_initial(question: Question) -> dict:
    return {
        "label": question.label,
        "key": question.key,
        "kind": question.kind,
        "required": question.required,
        "options": "\n".join(question.options),
        "ORDER": question.position,
    }


def _route_initial(route: Route) -> dict:
    initial = {"action": route.action, "link": route.link_id, "message": route.message, "ORDER": route.position}
    for slot, condition in enumerate(route.conditions, start=1):
        initial.update(
            {
                f"question_{slot}": condition.get("question"),
                f"operator_{slot}": condition.get("operator"),
                f"value_{slot}": condition.get("value"),
            }
        )
    return initial
