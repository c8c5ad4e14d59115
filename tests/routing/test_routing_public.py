"""The invitee's page /forms/<workspace>/<form>/: validation, routes, hostile input, the record."""

from urllib.parse import urlencode

import pytest

from bookings.models import BookingLink
from routing.models import Submission
from routing.rules import ConditionSpec
from tests.fixtures.factories import make_link
from tests.routing.routing_support import link_route, message_route, page_token, save_form, sf_route

pytestmark = pytest.mark.django_db
URL = "/forms/acme/talk/"


@pytest.fixture
def links(admin_user, member_user):
    return {
        "admin": make_link(admin_user, slug="ada", title="Ada's intro", is_default=True),
        "member": make_link(member_user, slug="mia", title="Mia's intro", is_default=True),
    }


@pytest.fixture
def form(workspace, links):
    return save_form(
        workspace,
        routes=[
            link_route(links["member"], ConditionSpec("size", "equals", "100+")),
            message_route(
                "Students: see our <b>docs</b>\nat docs.example", ConditionSpec("company", "contains", "university")
            ),
        ],
        fallback=links["admin"],
    )


def booking_url(slug, email, name=""):
    return f"/book/acme/{slug}/?{urlencode({'name': name, 'email': email})}"


def test_the_page_shows_the_questions_with_a_csrf_token(client, form):
    html = client.get(URL).content.decode()

    assert "Talk to us" in html and "csrfmiddlewaretoken" in html
    for label in ("Your name", "Work email", "Company", "Team size"):
        assert label in html
    assert '<option value="100+">100+</option>' in html


def test_the_first_matching_route_is_taken_with_name_and_email_prefilled(client, form):
    client.handler.enforce_csrf_checks = True
    token = page_token(client, URL)

    response = client.post(
        URL, {"csrfmiddlewaretoken": token, "name": "Ivy Invitee", "email": "ivy@example.com", "size": "100+"}
    )

    assert response.status_code == 302
    assert response["Location"] == booking_url("mia", "ivy@example.com", "Ivy Invitee")
    submission = Submission.objects.get()
    assert (submission.route_label, submission.route_action, submission.used_fallback, submission.api_calls) == (
        "Route 1",
        "booking_link",
        False,
        0,
    )
    assert submission.answers == {"name": "Ivy Invitee", "email": "ivy@example.com", "company": "", "size": "100+"}
    assert submission.explanation == "Route 1 matched (size equals “100+”); booking link “Mia's intro” of Mia Member"


def test_a_message_route_renders_its_message_escaped(client, form):
    response = client.post(URL, {"email": "s@uni.example", "company": "Big UNIVERSITY"})

    assert response.status_code == 200
    assert "Students: see our &lt;b&gt;docs&lt;/b&gt;<br>at docs.example" in response.content.decode()
    assert Submission.objects.get().route_label == "Route 2"


def test_no_matching_route_goes_to_the_fallback(client, form):
    response = client.post(URL, {"email": "x@example.com", "size": "1-10"})

    assert response["Location"] == booking_url("ada", "x@example.com")
    submission = Submission.objects.get()
    assert (submission.route_label, submission.used_fallback, submission.fallback_reason) == (
        "Fallback",
        True,
        "no route's conditions matched",
    )


def test_a_route_whose_link_was_deleted_falls_through_to_the_fallback(client, form, links):
    BookingLink.objects.filter(pk=links["member"].pk).delete()

    response = client.post(URL, {"email": "x@example.com", "size": "100+"})

    assert response["Location"] == booking_url("ada", "x@example.com")
    submission = Submission.objects.get()
    assert submission.fallback_reason == "Route 1's booking link was deleted or is not in this workspace"
    assert (submission.route_label, submission.route_action, submission.used_fallback) == (
        "Route 1",
        "booking_link",
        True,
    )


def test_a_route_pointing_into_another_workspace_falls_through(client, form, other_workspace_member):
    foreign = make_link(other_workspace_member, slug="theirs", is_default=True)
    form.routes.filter(position=1).update(link=foreign)

    response = client.post(URL, {"email": "x@example.com", "size": "100+"})

    assert response["Location"] == booking_url("ada", "x@example.com")
    assert Submission.objects.get().fallback_reason == "Route 1's booking link was deleted or is not in this workspace"


def test_a_fallback_whose_link_was_deleted_still_answers(client, form, links):
    BookingLink.objects.filter(pk=links["admin"].pk).delete()

    response = client.post(URL, {"email": "x@example.com"})

    assert response.status_code == 200
    assert "we have your answers" in response.content.decode()
    assert "the fallback's booking link was deleted" in Submission.objects.get().explanation


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "This field is required."),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"email": "zoë@例え.jp"}, "Enter a valid email address."),
        ({"email": "x@example.com", "size": "1000"}, "Select a valid choice."),
        ({"email": "x@example.com", "company": "A" * 100_000}, "Ensure this value has at most 500 characters"),
        ({"email": "x@example.com", "name": "nul\x00byte"}, "Null characters are not allowed."),
        ({"email": "a" * 250 + "@example.com"}, "Ensure this value has at most 254 characters"),
    ],
)
def test_invalid_answers_are_shown_on_the_page_and_nothing_is_stored(client, form, data, error):
    response = client.post(URL, data)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Submission.objects.exists()


def test_a_huge_body_is_a_400_not_a_500(client, form):
    response = client.post(URL, {"email": "x@example.com", "company": "A" * 3_000_000})

    assert response.status_code == 400
    assert not Submission.objects.exists()


def test_html_and_script_in_answers_are_escaped_on_the_submissions_page(client, form, admin_user):
    hostile = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    client.post(URL, {"email": "x@example.com", "name": hostile, "company": "Ünïcødé ☃ 𝔘 \u202e"})
    client.force_login(admin_user)

    html = client.get(f"/routing/{form.pk}/submissions/").content.decode()

    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "Ünïcødé ☃ 𝔘" in html
    assert Submission.objects.get().name == hostile


def test_extra_fields_are_ignored(client, form):
    client.post(URL, {"email": "x@example.com", "is_admin": "1", "answers": "{}"})
    assert set(Submission.objects.get().answers) == {"name", "email", "company", "size"}


def test_unknown_forms_and_workspaces_are_404(client, form, other_workspace_member):
    assert client.get("/forms/acme/nope/").status_code == 404
    assert client.get("/forms/globex/talk/").status_code == 404
    assert client.post("/forms/nope/talk/", {"email": "x@example.com"}).status_code == 404


def test_the_submissions_page_explains_each_submission(client, workspace, links, admin_user):
    save_form(workspace, routes=[sf_route()], fallback=links["admin"])
    client.post(URL, {"email": "x@example.com"})
    client.force_login(admin_user)

    html = client.get(f"/routing/{Submission.objects.get().form_id}/submissions/").content.decode()

    assert (
        "Route 1 (no conditions): Salesforce lookup; fallback: Salesforce is not connected; the fallback: booking link “Ada&#x27;s intro” of Ada Admin"
        in html
    )
    assert "badge-warning" in html


def test_a_form_without_a_name_question_prefills_only_the_email(client, workspace, links):
    from routing.models import Question
    from routing.rules import QuestionSpec

    save_form(
        workspace,
        routes=[],
        fallback=links["admin"],
        questions=[QuestionSpec("mail", "Email", Question.Kind.EMAIL, required=True)],
    )

    response = client.post(URL, {"mail": "x@example.com"})

    assert response["Location"] == booking_url("ada", "x@example.com")
