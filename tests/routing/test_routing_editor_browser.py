"""The routing form editor in Chromium: only the chosen action's fields show, rows are added
without a round trip, and without JavaScript everything still shows and saves. The
submissions page keeps its "why" to one line with the detail one click away."""

import os
import re
from pathlib import Path

import pytest

from routing import services
from routing.models import Route, RoutingForm
from tests.fixtures.factories import PASSWORD, make_link, make_member, make_workspace
from tests.routing.routing_support import DEFAULT_QUESTIONS, link_route, save_form
from workestra.models import Membership

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("WORKESTRA_SHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def acme():
    workspace = make_workspace("acme", "Acme")
    make_member(workspace, "admin@acme.test", role=Membership.Role.ADMIN, first_name="Ada", last_name="Admin")
    alice = make_member(workspace, "alice@acme.test", first_name="Alice", last_name="Adams")
    return workspace, make_link(alice, slug="alice", title="Intro with Alice", is_default=True)


def sign_in(page, live_server, next_path):
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.get_by_label("Email").fill("admin@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))


def test_only_the_chosen_actions_fields_show_and_rows_are_added_without_saving(page, live_server, acme, tmp_path):
    workspace, link = acme
    sign_in(page, live_server, "/routing/new/")
    link_field, message_field = page.locator("#id_routes-0-link"), page.locator("#id_routes-0-message")
    assert not link_field.is_visible() and not message_field.is_visible()  # no action chosen yet

    page.locator("#id_routes-0-action").select_option("message")
    assert message_field.is_visible() and not link_field.is_visible()
    page.locator("#id_routes-0-message").fill("We'll email you.")
    page.locator("#id_routes-0-question_1").select_option("email")
    page.locator("#id_routes-0-operator_1").select_option("contains")
    page.locator("#id_routes-0-value_1").fill("@gmail.com")

    page.get_by_role("button", name="Add a route").click()
    assert page.locator("#id_routes-TOTAL_FORMS").input_value() == "2"
    page.locator("#id_routes-1-action").select_option("booking_link")
    assert page.locator("#id_routes-1-link").is_visible() and not page.locator("#id_routes-1-message").is_visible()
    page.locator("#id_routes-1-link").select_option(label="Intro with Alice (Alice Adams)")
    page.get_by_role("button", name="Add a question").click()
    assert page.locator("#id_questions-TOTAL_FORMS").input_value() == "4"
    page.locator("#id_questions-3-label").fill("Company")

    page.locator("#id_fallback-action").select_option("message")
    assert page.locator("#id_fallback-message").is_visible() and not page.locator("#id_fallback-link").is_visible()
    page.locator("#id_fallback-message").fill("Thanks, we'll be in touch.")
    page.locator("#id_name").fill("Talk to sales")
    page.locator("#id_slug").fill("sales")
    page.screenshot(path=str(shots(tmp_path) / "routing-editor.png"), full_page=True)
    page.get_by_role("button", name="Create form").click()

    page.wait_for_url(re.compile(r"/routing/\d+/edit/$"))
    form = RoutingForm.objects.get(slug="sales")
    assert [(r.action, r.link_id, r.message, r.is_fallback) for r in form.routes.all()] == [
        (Route.Action.MESSAGE, None, "We'll email you.", False),
        (Route.Action.BOOKING_LINK, link.pk, "", False),
        (Route.Action.MESSAGE, None, "Thanks, we'll be in touch.", True),
    ]
    assert form.routes.first().conditions == [{"question": "email", "operator": "contains", "value": "@gmail.com"}]
    assert [q.key for q in form.questions.all()] == ["name", "email", "company"]
    # The saved page shows each route with its own action's field only.
    assert page.locator("#id_routes-1-link").is_visible() and not page.locator("#id_routes-1-message").is_visible()


def test_without_javascript_every_field_shows_and_save_adds_a_row(browser, live_server, acme):
    workspace, link = acme
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_server, "/routing/new/")
        assert page.locator("#id_routes-0-link").is_visible() and page.locator("#id_routes-0-message").is_visible()
        assert not page.get_by_role("button", name="Add a route").is_visible()
        assert page.get_by_text("Save to get another empty row.").first.is_visible()
    finally:
        context.close()


def test_submissions_say_why_in_a_line_with_the_detail_one_click_away(page, live_server, acme, tmp_path):
    workspace, link = acme
    form = save_form(workspace, routes=[link_route(link)], fallback="Thanks!", questions=DEFAULT_QUESTIONS)
    services.submission_create(
        form=form, answers={"name": "Jane Roe", "email": "jane.roe@globex.com", "company": "Globex", "size": "100+"}
    )
    sign_in(page, live_server, f"/routing/{form.pk}/submissions/")
    why = page.locator("td.why")

    assert why.locator("summary").inner_text() == "Route 1 (no conditions)"
    detail = why.get_by_text("booking link “Intro with Alice” of Alice Adams", exact=False)
    assert not detail.is_visible()
    why.locator("summary").click()
    assert detail.is_visible()
    page.screenshot(path=str(shots(tmp_path) / "routing-submissions.png"), full_page=True)
