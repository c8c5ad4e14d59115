"""Invitee flows in Chromium: Back after booking, confirm before cancelling, the page's actions,
the device's time zone, unknown links."""
import re

import pytest

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
