"""The admin pages: list, build, edit, submissions. Members get 403; other workspaces 404."""

import pytest

from bookings.models import BookingLink
from routing.models import Question, Route, RoutingForm
from tests.fixtures.factories import make_link
from tests.routing.routing_support import builder_data, link_route, save_form, sf_route

pytestmark = pytest.mark.django_db
QUESTIONS = [
    {"label": "Your name", "key": "name"},
    {"label": "Work email", "key": "email", "kind": "email", "required": True},
    {"label": "Region", "kind": "single_choice", "options": "EMEA\nAmericas\n\nAPAC "},
]


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def links(admin_user, member_user):
    return {
        "admin": make_link(admin_user, slug="ada", title="Ada's intro", is_default=True),
        "member": make_link(member_user, slug="mia", title="Mia's intro", is_default=True),
    }


def test_an_admin_builds_a_form_with_routes_and_a_fallback(admin_client, workspace, links):
    data = builder_data(
        questions=QUESTIONS,
        routes=[
            {
                "question_1": "region",
                "operator_1": "any_of",
                "value_1": "EMEA, APAC",
                "action": "booking_link",
                "link": links["member"].pk,
            },
            {"action": "salesforce_lookup"},
            {},  # the empty extra row is ignored
        ],
        fallback={"action": "message", "message": "We'll email you."},
    )

    response = admin_client.post("/routing/new/", data)

    form = RoutingForm.objects.get(workspace=workspace, slug="talk")
    assert response.status_code == 302 and response["Location"] == f"/routing/{form.pk}/edit/"
    assert [(q.key, q.kind, q.required, q.options) for q in form.questions.all()] == [
        ("name", "short_text", False, []),
        ("email", "email", True, []),
        ("region", "single_choice", False, ["EMEA", "Americas", "APAC"]),
    ]
    assert [(r.position, r.action, r.link_id, r.conditions, r.is_fallback) for r in form.routes.all()] == [
        (
            1,
            "booking_link",
            links["member"].pk,
            [{"question": "region", "operator": "any_of", "value": "EMEA, APAC"}],
            False,
        ),
        (2, "salesforce_lookup", None, [], False),
        (3, "message", None, [], True),
    ]
    page = admin_client.get(response["Location"])
    assert page.status_code == 200 and "/forms/acme/talk/" in page.content.decode()


def test_a_form_without_a_fallback_is_not_saved(admin_client, links):
    data = builder_data(questions=QUESTIONS, routes=[{"action": "salesforce_lookup"}], fallback={"action": ""})

    response = admin_client.post("/routing/new/", data)

    assert response.status_code == 400
    assert "Every form needs a fallback route" in response.content.decode()
    assert not RoutingForm.objects.exists()


def test_a_foreign_link_is_refused(admin_client, links, other_workspace_member):
    foreign = make_link(other_workspace_member, slug="theirs", is_default=True)
    data = builder_data(
        questions=QUESTIONS,
        routes=[{"action": "booking_link", "link": foreign.pk}],
        fallback={"action": "booking_link", "link": foreign.pk},
    )

    response = admin_client.post("/routing/new/", data)

    assert response.status_code == 400
    assert (
        response.content.decode().count("That booking link was deleted or isn&#x27;t in this workspace; pick another.")
        == 2
    )
    assert not RoutingForm.objects.exists()


def test_a_route_whose_link_was_deleted_is_flagged_and_must_be_fixed(admin_client, workspace, links):
    form = save_form(workspace, routes=[link_route(links["member"])], fallback=links["admin"])
    BookingLink.objects.filter(pk=links["member"].pk).delete()

    page = admin_client.get(f"/routing/{form.pk}/edit/")

    assert (
        "Route 1 points at a booking link that was deleted; until you pick another, invitees go to the fallback."
        in page.content.decode()
    )
    data = builder_data(
        questions=[
            {"label": q.label, "key": q.key, "kind": q.kind, "required": q.required} for q in form.questions.all()
        ],
        routes=[{"action": "booking_link", "link": ""}],
        fallback={"action": "booking_link", "link": links["admin"].pk},
    )
    response = admin_client.post(f"/routing/{form.pk}/edit/", data)
    assert response.status_code == 400
    assert (
        "Route 1 goes to a booking link: pick one (the link it used may have been deleted)."
        in response.content.decode()
    )


def test_editing_replaces_questions_and_routes(admin_client, workspace, links):
    form = save_form(workspace, routes=[sf_route()], fallback=links["admin"])
    data = builder_data(
        name="Sales",
        slug="sales",
        questions=[{"label": "Email", "kind": "email", "required": True}, {"label": "Company size"}],
        routes=[
            {
                "question_1": "company_size",
                "operator_1": "contains",
                "value_1": "big",
                "action": "message",
                "message": "Call us.",
            }
        ],
        fallback={"action": "booking_link", "link": links["member"].pk},
    )

    response = admin_client.post(f"/routing/{form.pk}/edit/", data)

    assert response.status_code == 302
    form.refresh_from_db()
    assert (form.name, form.slug) == ("Sales", "sales")
    assert list(form.questions.values_list("key", flat=True)) == ["email", "company_size"]
    assert list(form.routes.values_list("action", "is_fallback")) == [("message", False), ("booking_link", True)]


def test_the_edit_page_shows_the_saved_form(admin_client, workspace, links):
    from routing.rules import ConditionSpec

    form = save_form(
        workspace,
        routes=[link_route(links["member"], ConditionSpec("company", "contains", "globex"))],
        fallback="Thanks!",
    )

    html = admin_client.get(f"/routing/{form.pk}/edit/").content.decode()

    assert 'value="globex"' in html and 'value="contains" selected' in html
    assert f'<option value="{links["member"].pk}" selected>' in html
    assert "Thanks!</textarea>" in html


def test_a_condition_needs_a_question_and_a_value(admin_client, links):
    data = builder_data(
        questions=QUESTIONS,
        routes=[{"value_1": "EMEA", "action": "salesforce_lookup"}],
        fallback={"action": "message", "message": "x"},
    )

    response = admin_client.post("/routing/new/", data)

    assert response.status_code == 400
    assert "A condition needs both a question and a value." in response.content.decode()


def test_slugs_are_unique_per_workspace(admin_client, workspace, links):
    save_form(workspace, routes=[], fallback="x")
    data = builder_data(questions=QUESTIONS, fallback={"action": "message", "message": "x"})

    response = admin_client.post("/routing/new/", data)

    assert response.status_code == 400
    assert "Another form in your workspace already uses “talk”." in response.content.decode()


def test_the_list_shows_forms_with_their_submission_counts(admin_client, workspace, links):
    save_form(workspace, routes=[], fallback="x")

    html = admin_client.get("/routing/").content.decode()

    assert "Talk to us" in html and "/forms/acme/talk/" in html


@pytest.mark.parametrize("path", ["/routing/", "/routing/new/", "/routing/{id}/edit/", "/routing/{id}/submissions/"])
def test_members_get_403(client, workspace, member_user, links, path):
    form = save_form(workspace, routes=[], fallback="x")
    client.force_login(member_user)

    assert client.get(path.format(id=form.pk)).status_code == 403


@pytest.mark.parametrize("path", ["/routing/{id}/edit/", "/routing/{id}/submissions/"])
def test_other_workspaces_get_404(client, workspace, links, other_workspace_member, path):
    form = save_form(workspace, routes=[], fallback="x")
    client.force_login(other_workspace_member)

    assert client.get(path.format(id=form.pk)).status_code == 404
    assert client.post(path.format(id=form.pk), {}).status_code in (404, 405)
    assert "Talk to us" not in client.get("/routing/").content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/routing/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_new_form_starts_with_name_and_email_questions(admin_client, links):
    html = admin_client.get("/routing/new/").content.decode()
    assert 'value="name"' in html and 'value="email"' in html
    assert not Question.objects.exists() and not Route.objects.exists()
