"""The invitee's pages: /book/<workspace>/<link>/ and /bookings/<uid>/ (+ reschedule, cancel)."""

import re
from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bookings import hooks
from bookings.availability import link_free_slots
from bookings.models import Booking
from bookings.services import booking_cancel
from tests.fixtures.factories import make_booking, make_member

pytestmark = pytest.mark.django_db
BOOK_URL = "/book/acme/intro/"


@pytest.fixture
def csrf_client(client):
    client.handler.enforce_csrf_checks = True
    return client


def post_with_page_token(client, url, data):
    """POST as a browser does: with the CSRF token from the page it loaded first."""
    page = client.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return client.post(url, {**data, "csrfmiddlewaretoken": token})


def test_the_booking_page_lists_free_slots_by_day_in_the_owner_zone(client, link):
    link.owner.timezone = "America/New_York"
    link.owner.save()
    slot = link_free_slots(link)[0]

    page = client.get(BOOK_URL)

    html = page.content.decode()
    assert page.status_code == 200
    assert "30 min intro" in html and "Mia Member" in html
    assert "(times in America/New_York)" in html
    local = slot.astimezone(ZoneInfo("America/New_York"))
    assert f'value="{local.isoformat()}"' in html
    assert local.strftime("%A %-d %B %Y") in html
    assert '<label for="id_name">Your name</label>' in html


def test_times_follow_the_invitee_zone_and_an_unknown_zone_falls_back(client, link):
    slot = link_free_slots(link)[0]

    tokyo = client.get(BOOK_URL, {"tz": "Asia/Tokyo"}).content.decode()
    bogus = client.get(BOOK_URL, {"tz": "Mars/Olympus<script>"}).content.decode()

    assert f'value="{slot.astimezone(ZoneInfo("Asia/Tokyo")).isoformat()}"' in tokyo
    assert "(times in Asia/Tokyo)" in tokyo
    assert "(times in UTC)" in bogus
    assert "“Mars/Olympus&lt;script&gt;” is not a time zone we know" in bogus


def test_name_and_email_are_prefilled_from_the_query_string(client, link):
    html = client.get(BOOK_URL, {"name": "Jane <b>Roe</b>", "email": "jane@example.com"}).content.decode()

    assert 'value="Jane &lt;b&gt;Roe&lt;/b&gt;"' in html
    assert 'value="jane@example.com"' in html


def test_booking_with_the_page_csrf_token_redirects_to_the_booking(csrf_client, link):
    slot = link_free_slots(link)[0]

    response = post_with_page_token(
        csrf_client, BOOK_URL, {"name": "Jane Roe", "email": "jane@example.com", "start": slot.isoformat()}
    )

    booking = Booking.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/bookings/{booking.uid}/"
    assert (booking.invitee_email, booking.start_at) == ("jane@example.com", slot)


def test_the_invitee_zone_carries_over_to_the_confirmation(client, link):
    slot = link_free_slots(link)[0]

    response = client.post(
        BOOK_URL + "?tz=Asia/Tokyo", {"name": "Jane", "email": "jane@example.com", "start": slot.isoformat()}
    )

    assert response["Location"].endswith("/?tz=Asia%2FTokyo")
    html = client.get(response["Location"]).content.decode()
    assert slot.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M") in html
    assert "(Asia/Tokyo)" in html


def test_a_post_without_a_csrf_token_is_refused(csrf_client, link):
    slot = link_free_slots(link)[0]

    response = csrf_client.post(BOOK_URL, {"name": "Jane", "email": "jane@example.com", "start": slot.isoformat()})

    assert response.status_code == 403
    assert not Booking.objects.exists()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"name": ""}, "Please enter your name."),
        ({"name": "x" * 100_000}, "at most 200 characters"),
        ({"email": "nope"}, "Please enter a valid email address"),
        ({"email": "e" * 100_000}, "at most 254 characters"),
        ({"start": ""}, "Please pick a time."),
        ({"start": "2025-13-45T99:00:00+00:00"}, "ISO 8601"),
        ({"start": "2030-01-07T09:00:00"}, "needs a UTC offset"),
        ({"start": "2020-01-06T09:00:00+00:00"}, "in the past"),
        ({"start": "\x00" * 100}, "ISO 8601"),
        ({"start": "x" * 100_000}, "ISO 8601"),
    ],
)
def test_bad_input_is_shown_on_the_page_with_400_and_nothing_written(client, link, overrides, message):
    data = {"name": "Jane Roe", "email": "jane@example.com", "start": link_free_slots(link)[0].isoformat(), **overrides}

    response = client.post(BOOK_URL, data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert not Booking.objects.exists()


def test_a_taken_slot_is_refused_on_the_page(client, link):
    slot = link_free_slots(link)[0]
    make_booking(link, start=slot)

    response = client.post(BOOK_URL, {"name": "Jane", "email": "jane@example.com", "start": slot.isoformat()})

    assert response.status_code == 400
    assert "just booked by someone else" in response.content.decode()
    assert Booking.objects.count() == 1


def test_html_and_unicode_are_kept_and_escaped(client, link):
    slot = link_free_slots(link)[0]
    name = "Zoë <script>alert(1)</script> 山田 🎉"

    response = client.post(BOOK_URL, {"name": name, "email": "zoe@example.com", "start": slot.isoformat()}, follow=True)

    html = response.content.decode()
    assert Booking.objects.get().invitee_name == name
    assert "Zoë &lt;script&gt;alert(1)&lt;/script&gt; 山田 🎉" in html
    assert "<script>alert(1)" not in html


def test_an_error_page_keeps_what_the_invitee_typed_escaped(client, link):
    response = client.post(BOOK_URL, {"name": '"><img src=x>', "email": "bad", "start": ""})

    assert response.status_code == 400
    assert 'value="&quot;&gt;&lt;img src=x&gt;"' in response.content.decode()


@pytest.mark.parametrize(
    "url", ["/book/acme/nope/", "/book/globex/intro/", "/bookings/not-a-real-uid/", "/bookings/%00/"]
)
def test_unknown_pages_are_404(client, link, url):
    assert client.get(url).status_code == 404


def test_the_booking_page_shows_the_meeting_status_and_history(client, link):
    first, second = link_free_slots(link)[:2]
    booking = make_booking(link, start=first)

    html = client.get(f"/bookings/{booking.uid}/").content.decode()

    assert "Confirmed" in html and "Ivy Invitee" in html and "30 min intro" in html
    assert f"{first:%H:%M}–{first + timedelta(minutes=30):%H:%M} UTC" in html
    assert "Booked for" in html
    # The page shows the meeting and its actions; the grid and the cancel form are pages of their own.
    assert f'value="{second.isoformat()}"' not in html and 'name="reason"' not in html
    assert f'<a class="button" href="/bookings/{booking.uid}/reschedule/">Reschedule</a>' in html
    assert f'<a class="button danger" href="/bookings/{booking.uid}/cancel/">Cancel</a>' in html
    assert f'href="/bookings/{booking.uid}/meeting.ics" download>Add to calendar</a>' in html
    reschedule = client.get(f"/bookings/{booking.uid}/reschedule/").content.decode()
    assert f'value="{second.isoformat()}"' in reschedule and "Move meeting" in reschedule
    cancel = client.get(f"/bookings/{booking.uid}/cancel/").content.decode()
    assert "Cancel this meeting?" in cancel and 'name="reason"' in cancel and "Yes, cancel the meeting" in cancel


def test_reschedule_and_cancel_through_the_pages(client, link):
    first, second = link_free_slots(link)[:2]
    booking = make_booking(link, start=first)
    url = f"/bookings/{booking.uid}/"

    moved = client.post(url + "reschedule/", {"start": second.isoformat()})
    assert (moved.status_code, moved["Location"]) == (302, url)
    cancelled = client.post(url + "cancel/", {"reason": "Something came up"})
    assert (cancelled.status_code, cancelled["Location"]) == (302, url)

    booking.refresh_from_db()
    assert (booking.status, booking.start_at, booking.cancel_reason) == ("cancelled", second, "Something came up")
    html = client.get(url).content.decode()
    assert "Moved from" in html and "Cancelled: “Something came up”" in html
    assert "This meeting was cancelled" in html
    assert "Reschedule</a>" not in html
    assert '<a class="button" href="/book/acme/intro/">Book another time</a>' in html
    for action in ("reschedule/", "cancel/"):  # nothing left to change: back to the booking
        response = client.get(url + action)
        assert (response.status_code, response["Location"]) == (302, url)


def test_reschedule_errors_are_shown_with_400(client, link):
    booking = make_booking(link)
    url = f"/bookings/{booking.uid}/"

    malformed = client.post(url + "reschedule/", {"start": "tomorrow-ish"})
    same_time = client.post(url + "reschedule/", {"start": booking.start_at.isoformat()})

    assert malformed.status_code == 400 and "ISO 8601" in malformed.content.decode()
    assert same_time.status_code == 400 and "already at that time" in same_time.content.decode()
    booking.refresh_from_db()
    assert booking.status == "confirmed"


def test_cancel_errors_are_shown_with_400(client, link):
    booking = make_booking(link)
    url = f"/bookings/{booking.uid}/"

    too_long = client.post(url + "cancel/", {"reason": "x" * 100_000})
    assert too_long.status_code == 400 and "at most 2,000 characters" in too_long.content.decode()

    booking_cancel(booking=booking)
    twice = client.post(url + "cancel/", {"reason": ""})
    assert twice.status_code == 400 and "already cancelled" in twice.content.decode()
    again = client.post(url + "reschedule/", {"start": link_free_slots(link)[0].isoformat()})
    assert again.status_code == 400 and "can no longer be rescheduled" in again.content.decode()


def test_opening_the_cancel_page_asks_and_changes_nothing(client, link):
    booking = make_booking(link)

    for action in ("reschedule/", "cancel/"):
        assert client.get(f"/bookings/{booking.uid}/{action}").status_code == 200
        assert client.put(f"/bookings/{booking.uid}/{action}").status_code == 405
    booking.refresh_from_db()
    assert booking.status == "confirmed"


def test_the_signed_in_host_sees_their_own_zone_and_the_panels(client, link):
    link.owner.timezone = "Asia/Kolkata"
    link.owner.save()
    booking = make_booking(link)
    hooks.booking_panels.append(
        lambda request, b: hooks.Panel("bookings/_test_panel.html", {"text": f"panel for {b.uid}"})
    )
    hooks.booking_badges.append(lambda request, bookings: {b.pk: hooks.Badge("In Salesforce", "ok") for b in bookings})

    anonymous = client.get(f"/bookings/{booking.uid}/?tz=Europe/Paris").content.decode()
    client.force_login(link.owner)
    host = client.get(f"/bookings/{booking.uid}/?tz=Europe/Paris").content.decode()

    assert "(Europe/Paris)" in anonymous
    assert "panel for" not in anonymous and "In Salesforce" not in anonymous
    assert "(Asia/Kolkata)" in host
    assert f"panel for {booking.uid}" in host and "In Salesforce" in host


def test_an_admin_of_another_workspace_sees_no_panels(client, link, other_workspace_member):
    booking = make_booking(link)
    hooks.booking_panels.append(lambda request, b: hooks.Panel("bookings/_test_panel.html", {"text": "secret panel"}))

    client.force_login(other_workspace_member)
    html = client.get(f"/bookings/{booking.uid}/").content.decode()
    client.force_login(make_member(link.workspace, "boss@acme.test", role="admin"))
    admin_html = client.get(f"/bookings/{booking.uid}/").content.decode()

    assert "secret panel" not in html
    assert "secret panel" in admin_html


def test_every_bad_field_is_reported_at_once(client, link):
    response = client.post(BOOK_URL, {"name": " ", "email": "nope", "start": ""})

    html = response.content.decode()
    assert response.status_code == 400
    for message in ("Please enter your name.", "Please enter a valid email address", "Please pick a time."):
        assert html.count(message) == 2  # in the summary and next to its field
    assert 'aria-invalid="true" aria-describedby="name-error"' in html


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.text(max_size=300),
    email=st.one_of(st.emails(), st.text(max_size=300)),
    start=st.one_of(
        st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()), st.text(max_size=80)
    ),
    tz=st.text(max_size=40),
)
def test_no_input_makes_the_booking_page_fail(client, link, name, email, start, tz):
    page = client.get(BOOK_URL, {"name": name, "email": email, "tz": tz})
    posted = client.post(f"{BOOK_URL}?{urlencode({'tz': tz})}", {"name": name, "email": email, "start": start})

    assert page.status_code == 200
    assert posted.status_code == 400
    assert not Booking.objects.exists()
