"""Routing-form helpers shared by the routing tests."""

import re

from routing import services
from routing.models import Question, Route
from routing.rules import ConditionSpec, QuestionSpec, RouteSpec

Action = Route.Action
DEFAULT_QUESTIONS = (
    QuestionSpec("name", "Your name", Question.Kind.SHORT_TEXT),
    QuestionSpec("email", "Work email", Question.Kind.EMAIL, required=True),
    QuestionSpec("company", "Company", Question.Kind.SHORT_TEXT),
    QuestionSpec("size", "Team size", Question.Kind.SINGLE_CHOICE, options=("1-10", "11-100", "100+")),
)


def save_form(workspace, *, routes, fallback, slug="talk", name="Talk to us", questions=DEFAULT_QUESTIONS):
    """A form through the real service. `fallback` is a BookingLink or a message string."""
    if isinstance(fallback, str):
        last = RouteSpec(Action.MESSAGE, message=fallback, is_fallback=True)
    else:
        last = RouteSpec(Action.BOOKING_LINK, link_id=fallback.pk, is_fallback=True)
    return services.form_save(
        workspace=workspace, name=name, slug=slug, questions=list(questions), routes=[*routes, last]
    )


def sf_route(*conditions: ConditionSpec) -> RouteSpec:
    return RouteSpec(Action.SALESFORCE_LOOKUP, conditions=tuple(conditions))


def link_route(link, *conditions: ConditionSpec) -> RouteSpec:
    return RouteSpec(Action.BOOKING_LINK, conditions=tuple(conditions), link_id=link.pk)


def message_route(message, *conditions: ConditionSpec) -> RouteSpec:
    return RouteSpec(Action.MESSAGE, conditions=tuple(conditions), message=message)


def page_token(client, url) -> str:
    page = client.get(url)
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def builder_data(*, name="Talk to us", slug="talk", questions=(), routes=(), fallback=None) -> dict:
    """POST data for the builder page: details, the two formsets and the fallback."""
    data = {"name": name, "slug": slug}
    data.update(_formset("questions", [{"kind": "short_text", **q} for q in questions]))
    data.update(_formset("routes", [{"operator_1": "equals", "operator_2": "equals", **r} for r in routes]))
    data.update({f"fallback-{key}": value for key, value in (fallback or {}).items()})
    return data


def _formset(prefix: str, rows: list[dict]) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            if value is True:
                value = "on"
            if value is not False and value is not None:
                data[f"{prefix}-{index}-{key}"] = value
    return data
