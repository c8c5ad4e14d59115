"""The rules of a routing form, as pure functions: what a valid form is, and whether a route's
conditions hold for a set of answers. No database access here."""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug

from .models import Question, Route

Kind, Action, Operator = Question.Kind, Route.Action, Route.Operator

NAME_MAX_LENGTH = 200
SLUG_MAX_LENGTH = 80
KEY_MAX_LENGTH = 50
LABEL_MAX_LENGTH = 200
OPTION_MAX_LENGTH = 200
VALUE_MAX_LENGTH = 500
MESSAGE_MAX_LENGTH = 2000
MAX_QUESTIONS = 30
MAX_OPTIONS = 50
MAX_ROUTES = 30
MAX_CONDITIONS = 5
# Public-page field names Django or the page itself use.
RESERVED_KEYS = {"csrfmiddlewaretoken"}
NAME_LABELS = re.compile(r"^(your |full )?name$", re.IGNORECASE)


@dataclass(frozen=True)
class QuestionSpec:
    key: str
    label: str
    kind: str
    required: bool = False
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConditionSpec:
    question: str
    operator: str
    value: str

    def as_dict(self) -> dict:
        return {"question": self.question, "operator": self.operator, "value": self.value}


@dataclass(frozen=True)
class RouteSpec:
    action: str
    conditions: tuple[ConditionSpec, ...] = ()
    link_id: int | None = None
    message: str = ""
    is_fallback: bool = False


@dataclass
class FormProblems:
    errors: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)


NO_FALLBACK = (
    "Every form needs a fallback route: where invitees go when no other route matches (or Salesforce "
    "can't answer). Choose a booking link or a message under “Fallback” and save again."
)


def check_form(
    *, name: str, slug: str, questions: Sequence[QuestionSpec], routes: Sequence[RouteSpec], link_ids: set[int]
) -> list[str]:
    """Everything wrong with a form, in words for its admin ([] when it can be saved).
    `link_ids` are the booking links of the form's workspace."""
    problems = FormProblems()
    if not name.strip() or len(name) > NAME_MAX_LENGTH:
        problems.add(f"Give the form a name (up to {NAME_MAX_LENGTH} characters).")
    try:
        if not slug or len(slug) > SLUG_MAX_LENGTH:
            raise ValidationError("length")
        validate_slug(slug)
    except ValidationError:
        problems.add(f"The URL name can use only letters, numbers, hyphens and underscores (1 to {SLUG_MAX_LENGTH}).")
    _check_questions(questions, problems)
    _check_routes(routes, {q.key: q for q in questions}, link_ids, problems)
    return problems.errors


def _check_questions(questions: Sequence[QuestionSpec], problems: FormProblems) -> None:
    if not questions:
        problems.add("Add at least one question: the invitee's email.")
    if len(questions) > MAX_QUESTIONS:
        problems.add(f"A form can have at most {MAX_QUESTIONS} questions.")
    seen: set[str] = set()
    for question in questions:
        label = question.label or question.key
        if not question.label.strip():
            problems.add("Every question needs a label.")
        if not question.key or len(question.key) > KEY_MAX_LENGTH or question.key in RESERVED_KEYS:
            problems.add(f"Question “{label}” needs a field name (letters, numbers, hyphens, underscores).")
        elif question.key in seen:
            problems.add(f"Two questions use the field name “{question.key}”; field names must differ.")
        seen.add(question.key)
        if question.kind not in Kind.values:
            problems.add(f"Question “{label}” has an unknown type.")
        if question.kind == Kind.SINGLE_CHOICE:
            if not question.options:
                problems.add(f"Question “{label}” is a single choice: give it at least one option.")
            if len(question.options) > MAX_OPTIONS or any(len(o) > OPTION_MAX_LENGTH for o in question.options):
                problems.add(f"Question “{label}” has too many or too long options.")
            if len({o.casefold() for o in question.options}) != len(question.options):
                problems.add(f"Question “{label}” lists the same option twice.")
    if questions and not any(q.kind == Kind.EMAIL for q in questions):
        problems.add("Add an Email question: invitees are sent to a booking page with their email filled in.")


def _check_routes(
    routes: Sequence[RouteSpec], questions: dict[str, QuestionSpec], link_ids: set[int], problems: FormProblems
) -> None:
    fallbacks = [r for r in routes if r.is_fallback]
    if not fallbacks:
        problems.add(NO_FALLBACK)
    elif len(fallbacks) > 1 or not routes[-1].is_fallback:
        problems.add("A form has exactly one fallback route, and it comes last.")
    if len(routes) > MAX_ROUTES:
        problems.add(f"A form can have at most {MAX_ROUTES} routes.")
    for number, route in enumerate(routes, start=1):
        label = "The fallback" if route.is_fallback else f"Route {number}"
        _check_route(route, label, questions, link_ids, problems)


def _check_route(route, label, questions, link_ids, problems: FormProblems) -> None:
    if route.action not in Action.values:
        problems.add(f"{label}: choose what it does.")
    if route.is_fallback and route.conditions:
        problems.add("The fallback route takes everyone who gets that far; it has no conditions.")
    if route.is_fallback and route.action == Action.SALESFORCE_LOOKUP:
        problems.add("The fallback can't be a Salesforce lookup: it is where a failed lookup goes.")
    if route.action == Action.BOOKING_LINK:
        if route.link_id is None:
            problems.add(f"{label} goes to a booking link: pick one (the link it used may have been deleted).")
        elif route.link_id not in link_ids:
            problems.add(f"{label} points at a booking link that was deleted or isn't in this workspace; pick another.")
    if route.action == Action.MESSAGE and not route.message.strip():
        problems.add(f"{label} shows a message: write it.")
    if len(route.message) > MESSAGE_MAX_LENGTH:
        problems.add(f"{label}: the message can be at most {MESSAGE_MAX_LENGTH} characters.")
    if len(route.conditions) > MAX_CONDITIONS:
        problems.add(f"{label} has more than {MAX_CONDITIONS} conditions.")
    for condition in route.conditions:
        if condition.question not in questions:
            problems.add(f"{label} has a condition on “{condition.question}”, which is not a question of this form.")
        if condition.operator not in Operator.values:
            problems.add(f"{label} has a condition with an unknown comparison.")
        if not condition.value.strip() or len(condition.value) > VALUE_MAX_LENGTH:
            problems.add(f"{label}: each condition needs a value (up to {VALUE_MAX_LENGTH} characters).")


# ---- evaluation ----------------------------------------------------------------------------
def normalise(text) -> str:
    """Case- and whitespace-insensitive form of an answer or a condition value."""
    return " ".join(str(text or "").casefold().split())


def split_values(value: str) -> set[str]:
    return {normalise(part) for part in re.split(r"[,\n]", value or "") if normalise(part)}


def condition_holds(condition: dict, answers: dict) -> bool:
    answer = normalise(answers.get(condition.get("question"), ""))
    expected = normalise(condition.get("value", ""))
    operator = condition.get("operator")
    if operator == Operator.EQUALS:
        return answer == expected
    if operator == Operator.CONTAINS:
        return bool(expected) and expected in answer
    if operator == Operator.ANY_OF:
        return answer in split_values(condition.get("value", ""))
    return False


def route_matches(conditions: list[dict], answers: dict) -> bool:
    """All conditions hold (a route without conditions takes everyone)."""
    return all(condition_holds(condition, answers) for condition in conditions or [])


def describe_conditions(conditions: list[dict]) -> str:
    if not conditions:
        return "no conditions"
    labels = dict(Operator.choices)
    return " and ".join(
        f"{c.get('question')} {labels.get(str(c.get('operator')), c.get('operator'))} “{c.get('value')}”"
        for c in conditions
    )


def is_name_question(key: str, label: str, kind: str) -> bool:
    return kind == Kind.SHORT_TEXT and (key.lower() == "name" or bool(NAME_LABELS.match(label.strip())))
