"""Invitee flows in Chromium: Back after booking, confirm before cancelling, the page's actions,
the device's time zone, unknown links."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bookings.models import Booking

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = "/tmp/shots-invitee"


def book_first_slot(page, url):
    page.goto(url)
    page.locator("label.slot").first.click()
    page.get_by_label("Your name").fill("Jane Roe")
    page.get_by_label("Email").fill("jane@example.com")
    page.get_by_role("button", name="Book meeting").click()
    page.wait_for_url(re.compile(r"/bookings/[\w-]+/"))


def test_back_then_book_again_lands_on_the_first_booking(page, live_server, link):
    book_first_slot(page, f"{live_server.url}/book/acme/intro/")
    first_url = page.url

    page.go_back()
    page.wait_for_url(re.compile(r"/book/acme/intro/"))
    page.locator("label.slot").nth(1).click()
    page.get_by_role("button", name="Book meeting").click()

    page.wait_for_url(re.compile(r"/bookings/[\w-]+/"))
    assert page.url == first_url
    assert page.get_by_text("You already booked this meeting").is_visible()
    assert Booking.objects.count() == 1


def shot(page, name):
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_the_booking_page_offers_actions_and_cancel_asks_first(page, live_server, link):
    book_first_slot(page, f"{live_server.url}/book/acme/intro/")
    shot(page, "1-confirmation")
    assert page.get_by_role("link", name="Reschedule").is_visible()
    assert page.locator("input[name=start]").count() == 0 and page.locator("textarea").count() == 0

    with page.expect_download() as download:
        page.get_by_role("link", name="Add to calendar").click()
    ics = Path(download.value.path()).read_bytes().decode()
    assert ics.startswith("BEGIN:VCALENDAR\r\n") and "METHOD:PUBLISH\r\n" in ics

    page.get_by_role("link", name="Cancel", exact=True).click()
    page.wait_for_url(re.compile(r"/cancel/$"))
    expect(page.get_by_role("heading", name="Cancel this meeting?")).to_be_visible()
    shot(page, "2-cancel-confirm")
    assert Booking.objects.get().status == "confirmed"  # opening the page changed nothing

    page.get_by_label("Reason").fill("Something came up")
    page.get_by_role("button", name="Yes, cancel the meeting").click()
    page.wait_for_url(re.compile(r"/bookings/[\w-]+/$"))
    expect(page.get_by_text("This meeting was cancelled")).to_be_visible()
    shot(page, "3-cancelled")
    assert Booking.objects.get().status == "cancelled"

    page.get_by_role("link", name="Book another time").click()
    page.wait_for_url(re.compile(r"/book/acme/intro/$"))


def test_keeping_the_meeting_from_the_cancel_page(page, live_server, link):
    book_first_slot(page, f"{live_server.url}/book/acme/intro/")
    page.get_by_role("link", name="Cancel", exact=True).click()
    page.get_by_role("link", name="No, keep it").click()

    page.wait_for_url(re.compile(r"/bookings/[\w-]+/$"))
    assert Booking.objects.get().status == "confirmed"


def test_rescheduling_on_its_own_page(page, live_server, link):
    book_first_slot(page, f"{live_server.url}/book/acme/intro/")
    page.get_by_role("link", name="Reschedule").click()
    page.wait_for_url(re.compile(r"/reschedule/$"))
    shot(page, "4-reschedule")
    new_start = page.locator("input[name=start]").nth(2).get_attribute("value")

    page.locator("label.slot").nth(2).click()
    page.get_by_role("button", name="Move meeting").click()

    page.wait_for_url(re.compile(r"/bookings/[\w-]+/$"))
    expect(page.get_by_text("The meeting was moved.")).to_be_visible()
    assert Booking.objects.get().start_at.isoformat() == new_start


@pytest.fixture
def tokyo_page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-GB", timezone_id="Asia/Tokyo")
    yield context.new_page()
    context.close()


def test_times_default_to_the_device_zone_and_change_without_a_button(tokyo_page, live_server, link):
    page = tokyo_page
    page.goto(f"{live_server.url}/book/acme/intro/")
    expect(page).to_have_url(re.compile(r"\?tz=Asia%2FTokyo$"))
    expect(page.get_by_text("(times in Asia/Tokyo)")).to_be_visible()
    assert not page.get_by_role("button", name="Change time zone").is_visible()
    page.get_by_label("Your name").fill("Jane Roe")

    page.get_by_label("Show times in").select_option("Europe/Paris")

    expect(page).to_have_url(re.compile(r"tz=Europe%2FParis"))
    expect(page.get_by_text("(times in Europe/Paris)")).to_be_visible()
    assert page.get_by_label("Your name").input_value() == "Jane Roe"  # carried across the reload
    shot(page, "5-timezone-picker")


def test_without_javascript_the_zone_changes_with_the_noscript_button(browser, live_server, link):
    context = browser.new_context(java_script_enabled=False, timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/book/acme/intro/")
        expect(page.get_by_text("(times in UTC)")).to_be_visible()  # no JS: the host's zone

        page.get_by_label("Show times in").select_option("America/New_York")
        page.get_by_role("button", name="Change time zone").click()

        expect(page.get_by_text("(times in America/New_York)")).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/book/acme/nobody/", "/forms/acme/nope/", "/bookings/not-a-real-uid/"])
def test_unknown_links_show_the_styled_page_in_debug_mode(page, live_server, link, settings, path):
    settings.DEBUG = True

    response = page.goto(f"{live_server.url}{path}")

    assert response.status == 404
    expect(page.get_by_role("heading", name="This link isn't available")).to_be_visible()
    if path.startswith("/book/"):
        shot(page, "6-unavailable")
