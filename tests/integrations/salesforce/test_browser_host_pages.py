"""Hosts, admins and support staff in Chromium: the calendar's one table and badges, the booking
page's Salesforce records, the one-click reconnect banner, sync health on the settings page
and the Django admin's lists at 1,440 px. Screenshots go to $WORKESTRA_SHOTS_DIR (or the
test's tmp_path)."""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from bookings.availability import link_free_slots
from integrations.salesforce.models import (
    BookingSync,
    LinkPushSetting,
    SalesforceConnection,
    SalesforceUser,
    SyncOperation,
)
from tests.fixtures.factories import PASSWORD, make_booking, make_link, make_member, make_workspace
from workestra.models import Membership, User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

State = SyncOperation.State
INSTANCE = "https://acme.my.salesforce.com"


def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("WORKESTRA_SHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page, live_server, email, next_path="/calendar/"):
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(next_path.split("?")[0]) + r"(\?.*)?$"))


def world(status=SalesforceConnection.Status.CONNECTED):
    workspace = make_workspace("acme", "Acme")
    admin = make_member(workspace, "admin@acme.test", role=Membership.Role.ADMIN, first_name="Ada", last_name="Admin")
    bob = make_member(workspace, "bob@acme.test", first_name="Bob", last_name="Brown")
    connection = SalesforceConnection.objects.create(
        workspace=workspace,
        status=status,
        environment=SalesforceConnection.Environment.SANDBOX,
        org_id="00D5g000004PrdAAAA",
        org_name="Acme Corp",
        instance_url=INSTANCE,
        sf_username="admin@acme.test",
        sf_user_id="0055g00000AdmAAA",
        api_usage_used=4_200,
        api_usage_total=15_000,
        api_usage_seen_at=timezone.now(),
        connected_at=timezone.now(),
    )
    SalesforceUser.objects.create(
        connection=connection,
        sf_id="0055g00000BobAAA",
        username="bob@acme.test",
        email="bob@acme.test",
        name="Bob Brown",
    )
    return workspace, admin, bob, connection


def op(connection, booking, state, **fields):
    fields.setdefault("trigger", "confirmed")
    return SyncOperation.objects.create(
        workspace=booking.workspace, connection=connection, booking=booking, state=state, **fields
    )


def test_the_calendar_is_one_aligned_table_with_a_badge_for_every_booking(page, live_server, tmp_path):
    _, admin, bob, connection = world()
    link = make_link(bob, slug="bob", title="Intro with Bob", is_default=True)
    internal = make_link(bob, slug="internal", title="Internal sync")
    LinkPushSetting.objects.create(link=internal, push_enabled=False)
    slots = link_free_slots(link)
    jane = make_booking(link, start=slots[0], email="jane.roe@globex.com", name="Jane Roe")
    BookingSync.objects.create(
        booking=jane,
        workspace=jane.workspace,
        event_state="live",
        sf_event_id="00U5g00000EvtAAA",
        sf_owner_id="0055g00000BobAAA",
        sf_who_id="0035g00000JaneAAA",
        sf_who_name="Jane Roe",
        sf_what_id="0065g00000RenwAAA",
        sf_what_name="Globex Renewal",
        match_explanation="Contact Jane Roe: email matched; Opportunity Globex Renewal: the contact's account's most recently modified open opportunity",
    )
    op(connection, jane, State.PUSHED, outcome="Created Event 00U5g00000EvtAAA.")
    pending = make_booking(link, start=slots[1], name="Peter Pending")
    BookingSync.objects.create(booking=pending, workspace=pending.workspace)
    op(connection, pending, State.PENDING)
    failed = make_booking(link, start=slots[20], name="Fay Failed")
    BookingSync.objects.create(booking=failed, workspace=failed.workspace)
    op(
        connection,
        failed,
        State.FAILED,
        error_code="FIELD_INTEGRITY_EXCEPTION",
        error_message="Assigned To ID: owner cannot be blank",
    )
    make_booking(internal, start=slots[40], name="Olga Off")
    make_booking(link, start=slots[60], name="Early Ed")  # booked before the connection

    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "admin@acme.test", "/calendar/?all=1")
    page.screenshot(path=str(shots(tmp_path) / "calendar.png"), full_page=True)

    assert page.locator("#whoami").inner_text().startswith("Signed in as Ada Admin · Acme (admin)")
    assert page.locator("table").count() == 1
    header_x = page.locator("#calendar thead th").last.bounding_box()["x"]
    for cell in page.locator("#calendar tbody tr:not(.day) td:last-child").all():
        assert abs(cell.bounding_box()["x"] - header_x) < 1
    badges = page.locator("#calendar .cal-badges .badge").all_inner_texts()
    assert badges == [
        "Salesforce: pushed",
        "Salesforce: pending",
        "Salesforce: failed: Assigned To ID: owner cannot be blank",
        "Salesforce: not pushed: link toggle off",
        "Salesforce: not pushed: booked before Salesforce was connected",
    ]
    row = page.locator("#calendar tr", has_text="Jane Roe")
    assert "Jane Roe · Globex Renewal" in row.inner_text()
    assert (
        row.get_by_role("link", name=re.compile("Open in Salesforce")).get_attribute("href")
        == f"{INSTANCE}/lightning/r/Event/00U5g00000EvtAAA/view"
    )

    row.get_by_role("link", name=re.compile(r"\d\d:\d\d–")).click()
    page.wait_for_url(re.compile(r"/bookings/"))
    page.screenshot(path=str(shots(tmp_path) / "booking-panel.png"), full_page=True)
    hrefs = [a.get_attribute("href") for a in page.get_by_role("link", name=re.compile("Open in Salesforce")).all()]
    assert hrefs == [
        f"{INSTANCE}/lightning/r/{path}/view"
        for path in (
            "Event/00U5g00000EvtAAA",
            "Contact/0035g00000JaneAAA",
            "Opportunity/0065g00000RenwAAA",
            "User/0055g00000BobAAA",
        )
    ]
    assert page.locator(".sf-record", has_text="Globex Renewal").is_visible()


def test_the_admins_reconnect_banner_starts_the_reconnect_itself(page, live_server, tmp_path, settings):
    settings.SALESFORCE_CLIENT_ID, settings.SALESFORCE_CLIENT_SECRET = "workestra-test-client", "secret"
    settings.SALESFORCE_SANDBOX_LOGIN_URL = "https://sandbox-login.example"
    world(status=SalesforceConnection.Status.NEEDS_RECONNECT)
    authorize = []
    page.route(
        "https://sandbox-login.example/**",
        lambda route: (
            authorize.append(route.request.url),
            route.fulfill(body="<h1>Salesforce sign-in</h1>", content_type="text/html"),
        ),
    )

    sign_in(page, live_server, "admin@acme.test")
    banner = page.get_by_role("alert")
    page.screenshot(path=str(shots(tmp_path) / "calendar-reconnect-banner.png"))
    assert banner.inner_text().startswith("Salesforce: Needs reconnect. Bookings are waiting to be pushed")
    banner.get_by_role("button", name="Reconnect").click()

    page.get_by_role("heading", name="Salesforce sign-in").wait_for()
    assert len(authorize) == 1 and authorize[0].startswith("https://sandbox-login.example/services/oauth2/authorize?")
    assert "client_id=workestra-test-client" in authorize[0] and "code_challenge=" in authorize[0]


def test_sync_health_on_the_settings_page(page, live_server, tmp_path):
    workspace, admin, bob, connection = world()
    link = make_link(bob, slug="bob", title="Intro with Bob")
    slots = link_free_slots(link)
    bookings = [make_booking(link, start=slots[i], name=f"Invitee {i}", email=f"i{i}@example.org") for i in range(12)]
    now = timezone.now()
    rows = []
    for day in range(30):
        for i in range(3 + day % 5):
            state = State.PUSHED if i % 6 else (State.FAILED if day % 3 == 0 else State.SKIPPED)
            created = now - timedelta(days=day, minutes=i)
            rows.append((bookings[(day + i) % 12], state, created))
    for booking, state, created in rows:
        code = (
            ("FIELD_INTEGRITY_EXCEPTION", "Assigned To ID: owner cannot be blank")
            if state == State.FAILED and booking.pk % 2
            else (("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id") if state == State.FAILED else ("", ""))
        )
        row = op(
            connection,
            booking,
            state,
            api_calls=0.4 if state == State.PUSHED else 0,
            error_code=code[0],
            error_message=code[1],
            finished_at=created + timedelta(milliseconds=350) if state == State.PUSHED else None,
        )
        SyncOperation.objects.filter(pk=row.pk).update(created_at=created)
    op(connection, bookings[0], State.PENDING)

    sign_in(page, live_server, "admin@acme.test", "/settings/integrations/salesforce/")
    section = page.locator("#sync-health")
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(shots(tmp_path) / "settings-sync-health.png"))

    assert page.locator("#sf-chart-operations g[data-day]").count() == 30
    assert page.locator("#sf-chart-api rect[data-day]").count() == 30
    groups = page.locator("#health-groups tbody tr")
    assert groups.count() == 2
    assert page.locator("#health-latency").inner_text().startswith("p50 0.3 s · p95 0.3 s")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("salesforce-operations-acme-")
    failed_before = SyncOperation.objects.filter(state=State.FAILED, error_code="INVALID_CROSS_REFERENCE_KEY").count()
    page.locator("#health-groups tr[data-code='INVALID_CROSS_REFERENCE_KEY']").get_by_role(
        "button", name=re.compile("Retry all")
    ).click()
    page.wait_for_url(re.compile(r"/settings/integrations/salesforce/#sync-health$"))
    assert page.get_by_text(
        f"{failed_before} failed operations (INVALID_CROSS_REFERENCE_KEY) will be retried now."
    ).is_visible()
    assert not SyncOperation.objects.filter(state=State.FAILED, error_code="INVALID_CROSS_REFERENCE_KEY").exists()
    page.screenshot(path=str(shots(tmp_path) / "settings-page.png"), full_page=True)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/salesforce/syncoperation/",
        "/admin/salesforce/bookingsync/",
        "/admin/bookings/booking/",
        "/admin/salesforce/salesforceconnection/",
    ],
)
def test_support_lists_fit_a_1440_px_screen(page, live_server, tmp_path, path):
    _, admin, bob, connection = world()
    User.objects.create_superuser(email="support@workestra.test", password=PASSWORD)
    link = make_link(bob, slug="bob", title="Intro with Bob")
    slots = link_free_slots(link)
    for i in range(8):
        booking = make_booking(
            link, start=slots[i], name=f"Invitee Number {i}", email=f"invitee.number.{i}@globex-industries.example"
        )
        BookingSync.objects.create(
            booking=booking,
            workspace=booking.workspace,
            event_state="live",
            sf_event_id=f"00U5g00000Evt{i:03d}",
            sf_who_id=f"0035g00000Jan{i:03d}",
            sf_who_name=f"Invitee Number {i}",
            sf_what_id="0065g00000RenwAAA",
            sf_what_name="Globex Renewal 2027",
        )
        op(
            connection,
            booking,
            [State.PUSHED, State.FAILED, State.WAITING_RECONNECT, State.DEFERRED][i % 4],
            attempts=i,
            api_calls=1.0392,
            error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION" if i % 4 == 1 else "",
            sf_ids={"event_id": f"00U5g00000Evt{i:03d}"},
            error_message="Meetings with Globex need an Opportunity before they can be booked: [WhatId]"
            if i % 4 == 1
            else "",
        )
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/admin/login/?next={path}")
    page.locator("#id_username").fill("support@workestra.test")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(re.escape(path) + "$"))
    page.screenshot(path=str(shots(tmp_path) / f"admin-{path.strip('/').replace('/', '-')}.png"))

    assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    results = page.locator(".results")  # Django scrolls a too-wide list inside this box
    assert results.evaluate("el => el.scrollWidth <= el.clientWidth"), "the list scrolls sideways at 1,440 px"
    last_header = page.locator("#result_list thead th").last.bounding_box()
    assert last_header["x"] + last_header["width"] <= results.bounding_box()["x"] + results.bounding_box()["width"] + 1
