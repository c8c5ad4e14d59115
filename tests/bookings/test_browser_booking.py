"""An invitee books in a real browser: pick a slot, fill in name and email, see the confirmation."""

import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from bookings.models import Booking

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def london_page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-GB", timezone_id="Europe/London")
    yield context.new_page()
    context.close()


def test_an_invitee_books_a_meeting_in_the_browser(london_page, live_server, link, tmp_path):
    """Times are in the device's zone (this browser's: Europe/London), not the host's."""
    page = london_page
    link.owner.timezone = "Asia/Tokyo"
    link.owner.save()

    page.goto(f"{live_server.url}/book/acme/intro/")
    expect(page).to_have_url(re.compile(r"\?tz=Europe%2FLondon$"))
    page.screenshot(path=str(tmp_path / "1-booking-page.png"), full_page=True)
    first_slot = page.locator("input[name=start]").first
    start_value = first_slot.get_attribute("value")
    page.locator("label.slot").first.click()
    page.get_by_label("Your name").fill("Jane Roe")
    page.get_by_label("Email").fill("jane@example.com")
    page.get_by_role("button", name="Book meeting").click()

    page.wait_for_url(re.compile(r"/bookings/[\w-]+/\?tz=Europe%2FLondon$"))
    page.screenshot(path=str(tmp_path / "2-confirmation.png"), full_page=True)
    booking = Booking.objects.get()
    local = booking.start_at.astimezone(ZoneInfo("Europe/London"))
    assert local.isoformat() == start_value
    assert (booking.invitee_name, booking.invitee_email) == ("Jane Roe", "jane@example.com")
    when = page.locator("#booking-time").inner_text()
    assert local.strftime("%-d %B %Y, %H:%M") in when and "(Europe/London)" in when
    assert page.get_by_text("Confirmed", exact=True).is_visible()
    assert page.get_by_text("You're booked").is_visible()
    assert (tmp_path / "2-confirmation.png").stat().st_size > 0
