"""The page an invitee answers: no login; the CSRF token comes with the page."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from bookings.unavailable import shows_unavailable_page
from workestra.ratelimit import limit_post

from .. import selectors, services
from ..forms import AnswerForm


@require_http_methods(["GET", "HEAD", "POST"])
@limit_post(client="RATELIMIT_FORM_PER_CLIENT", form="RATELIMIT_FORM_PER_FORM")
@shows_unavailable_page
def public_form(request, workspace_slug: str, form_slug: str):
    routing_form = selectors.form_get_public(workspace_slug=workspace_slug, form_slug=form_slug)
    questions = routing_form.questions.all()
    if request.method != "POST":
        return _render(request, routing_form, AnswerForm(questions))
    answers = AnswerForm(questions, request.POST)
    if not answers.is_valid():
        return _render(request, routing_form, answers, status=400)
    submission = services.submission_create(form=routing_form, answers=answers.answers())
    if submission.destination:
        return redirect(submission.destination)
    return render(request, "routing/public_message.html", {"routing_form": routing_form, "message": submission.message})


def _render(request, routing_form, answers, status=200):
    return render(
        request, "routing/public_form.html", {"routing_form": routing_form, "answers": answers}, status=status
    )
