"""Unknown public links get the styled "This link isn't available" page, with DEBUG on too."""

import pytest

from tests.fixtures.factories import make_booking

pytestmark = pytest.mark.django_db

UNKNOWN = [
    "/book/acme/nobody/",
    "/book/globex/intro/",
    "/book/acme/",
    "/book/acme/intro/extra/",
    "/forms/acme/nope/",
    "/forms/acme/",
    "/bookings/not-a-real-uid/",
    "/bookings/cut/",
    "/bookings/not-a-real-uid/cancel/",
    "/bookings/not-a-real-uid/reschedule/",
    "/bookings/not-a-real-uid/meeting.ics",
    "/bookings/%00/",
]


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
@pytest.mark.parametrize("url", UNKNOWN)
def test_an_unknown_public_link_shows_the_styled_page(client, settings, link, url, debug):
    settings.DEBUG = debug

    response = client.get(url)

    html = response.content.decode()
    assert response.status_code == 404
    assert '<h1 style="margin-top:.4rem">This link isn\'t available</h1>' in html.replace("&#x27;", "'")
    assert "URLconf" not in html and "Traceback" not in html


def test_posting_to_an_unknown_link_shows_the_page_and_books_nothing(client, link):
    response = client.post("/book/acme/nobody/", {"name": "Jane", "email": "jane@example.com", "start": "x"})
    elsewhere = client.post("/book/acme/nobody/more/", {})

    assert response.status_code == 404
    assert "This link isn" in response.content.decode()
    assert elsewhere.status_code == 405  # nothing under that address takes a POST


def test_a_link_without_its_last_slash_still_reaches_its_page(client, link):
    response = client.get("/book/acme/intro")

    assert (response.status_code, response["Location"]) == (301, "/book/acme/intro/")


def test_real_pages_under_bookings_are_not_shadowed(client, link):
    booking = make_booking(link)
    client.force_login(link.owner)

    assert client.get(f"/bookings/{booking.uid}/").status_code == 200
    assert client.get(f"/bookings/{booking.uid}/recap/").status_code == 404  # notetaker's own 404: no recap yet
