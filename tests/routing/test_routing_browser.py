"""An invitee answers the routing form in a real browser and lands on their Salesforce owner's page."""

import re

import pytest

from tests.routing.routing_support import save_form, sf_route

pytestmark = [pytest.mark.browser, pytest.mark.emulator, pytest.mark.django_db(transaction=True)]


def test_a_known_contact_lands_on_the_owners_booking_page(page, live_server, team, tmp_path):
    save_form(team.workspace, routes=[sf_route()], fallback=team.links["alice"])
    before = team.emulator.control.count()

    page.goto(f"{live_server.url}/forms/acme/talk/")
    page.get_by_label("Your name").fill("Jane Roe")
    page.get_by_label("Work email").fill("jane.roe@globex.com")
    page.get_by_label("Company").fill("Globex")
    page.screenshot(path=str(tmp_path / "1-routing-form.png"), full_page=True)
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(re.compile(r"/book/acme/bob/\?"))
    page.screenshot(path=str(tmp_path / "2-booking-page.png"), full_page=True)
    assert page.locator("#id_email").input_value() == "jane.roe@globex.com"
    assert page.locator("#id_name").input_value() == "Jane Roe"
    assert page.get_by_text("Bob Brown").first.is_visible()
    assert team.emulator.control.count() - before == 1


def test_an_admin_builds_a_form_then_reads_its_submissions(page, live_server, team, tmp_path):
    from tests.fixtures.factories import PASSWORD

    page.goto(f"{live_server.url}/accounts/login/?next=/routing/new/")
    page.get_by_label("Email").fill("admin@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/routing/new/$"))
    page.locator("#id_name").fill("Talk to sales")
    page.locator("#id_slug").fill("sales")
    page.locator("#id_routes-0-action").select_option("salesforce_lookup")
    page.locator("#id_fallback-action").select_option("booking_link")
    page.locator("#id_fallback-link").select_option(label="Intro with Alice (Alice Adams)")
    page.get_by_role("button", name="Create form").click()
    page.wait_for_url(re.compile(r"/routing/\d+/edit/$"))
    page.screenshot(path=str(tmp_path / "3-builder.png"), full_page=True)
    assert page.get_by_text("“Talk to sales” saved.").is_visible()

    page.goto(f"{live_server.url}/forms/acme/sales/")
    page.get_by_label("Email").fill("uma@nowhere.example")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/book/acme/alice/\?"))
    page.goto(f"{live_server.url}/routing/")
    page.get_by_role("link", name="Submissions").click()
    page.locator("td.why summary").click()  # the short why; the whole explanation one click away
    page.screenshot(path=str(tmp_path / "4-submissions.png"), full_page=True)
    assert (
        page.locator("td.why details p")
        .first.get_by_text("fallback: no contact, unconverted lead or account in Salesforce matches", exact=False)
        .is_visible()
    )
