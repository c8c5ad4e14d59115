"""Conditions and the form rules, without a database."""

import pytest

from routing.rules import (
    NO_FALLBACK,
    ConditionSpec,
    QuestionSpec,
    RouteSpec,
    check_form,
    condition_holds,
    is_name_question,
    route_matches,
)

EMAIL = QuestionSpec("email", "Email", "email", required=True)
COMPANY = QuestionSpec("company", "Company", "short_text")
FALLBACK = RouteSpec("booking_link", link_id=1, is_fallback=True)


@pytest.mark.parametrize(
    ("operator", "value", "answer", "holds"),
    [
        ("equals", "Acme", "acme", True),
        ("equals", "Acme", "  ACME  ", True),
        ("equals", "Acme", "Acme Corp", False),
        ("contains", "corp", "Acme CORP Ltd", True),
        ("contains", "corp", "Acme", False),
        ("any_of", "EMEA, APAC", "apac", True),
        ("any_of", "EMEA, APAC", "Americas", False),
        ("any_of", "EMEA\nAPAC", "emea", True),
        ("equals", "Straße", "STRASSE", True),  # casefold, not lower
        ("nonsense", "x", "x", False),
    ],
)
def test_conditions_compare_text_case_insensitively(operator, value, answer, holds):
    assert condition_holds({"question": "company", "operator": operator, "value": value}, {"company": answer}) is holds


def test_a_route_needs_all_its_conditions_and_none_means_everyone():
    conditions = [
        {"question": "company", "operator": "contains", "value": "acme"},
        {"question": "size", "operator": "equals", "value": "100+"},
    ]
    assert route_matches(conditions, {"company": "Acme", "size": "100+"})
    assert not route_matches(conditions, {"company": "Acme", "size": "1-10"})
    assert not route_matches(conditions, {})
    assert route_matches([], {})


def test_a_valid_form_has_no_problems():
    routes = [
        RouteSpec("salesforce_lookup"),
        RouteSpec("booking_link", (ConditionSpec("company", "equals", "x"),), link_id=1),
        FALLBACK,
    ]
    assert check_form(name="Sales", slug="sales", questions=[EMAIL, COMPANY], routes=routes, link_ids={1}) == []


def test_a_form_without_a_fallback_is_refused_with_a_clear_message():
    problems = check_form(
        name="Sales", slug="sales", questions=[EMAIL], routes=[RouteSpec("salesforce_lookup")], link_ids=set()
    )
    assert problems == [NO_FALLBACK]


@pytest.mark.parametrize(
    ("routes", "problem"),
    [
        ([FALLBACK, RouteSpec("message", message="hi")], "exactly one fallback route, and it comes last"),
        ([FALLBACK, FALLBACK], "exactly one fallback route"),
        (
            [RouteSpec("booking_link", link_id=99), FALLBACK],
            "Route 1 points at a booking link that was deleted or isn't in this workspace",
        ),
        ([RouteSpec("booking_link"), FALLBACK], "Route 1 goes to a booking link: pick one"),
        ([RouteSpec("salesforce_lookup", is_fallback=True)], "The fallback can't be a Salesforce lookup"),
        (
            [RouteSpec("message", (ConditionSpec("email", "equals", "x"),), message="m", is_fallback=True)],
            "it has no conditions",
        ),
        ([RouteSpec("message"), FALLBACK], "Route 1 shows a message: write it."),
        (
            [RouteSpec("message", (ConditionSpec("nope", "equals", "x"),), message="m"), FALLBACK],
            "“nope”, which is not a question",
        ),
        (
            [RouteSpec("message", (ConditionSpec("email", "equals", " "),), message="m"), FALLBACK],
            "each condition needs a value",
        ),
    ],
)
def test_route_problems_are_named(routes, problem):
    problems = check_form(name="Sales", slug="sales", questions=[EMAIL], routes=routes, link_ids={1})
    assert any(problem in p for p in problems), problems


def test_question_problems_are_named():
    questions = [
        COMPANY,
        COMPANY,
        QuestionSpec("plan", "Plan", "single_choice"),
        QuestionSpec("csrfmiddlewaretoken", "X", "short_text"),
    ]
    problems = check_form(name="", slug="bad slug", questions=questions, routes=[FALLBACK], link_ids={1})
    assert problems == [
        "Give the form a name (up to 200 characters).",
        "The URL name can use only letters, numbers, hyphens and underscores (1 to 80).",
        "Two questions use the field name “company”; field names must differ.",
        "Question “Plan” is a single choice: give it at least one option.",
        "Question “X” needs a field name (letters, numbers, hyphens, underscores).",
        "Add an Email question: invitees are sent to a booking page with their email filled in.",
    ]


@pytest.mark.parametrize(
    ("key", "label", "kind", "is_name"),
    [
        ("name", "Anything", "short_text", True),
        ("q1", "Full name", "short_text", True),
        ("q1", "Your Name", "short_text", True),
        ("q1", "Company name", "short_text", False),
        ("name", "Name", "single_choice", False),
    ],
)
def test_the_name_question_is_found_by_field_name_or_label(key, label, kind, is_name):
    assert is_name_question(key, label, kind) is is_name
