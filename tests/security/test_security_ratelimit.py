"""Public POST limits (issue 15): per client and per link (booking, form) on booking, reschedule,
cancel and the routing form; 429 with a readable page, and nothing written beyond the limit."""

import uuid

import pytest

from bookings.availability import link_free_slots
from bookings.models import Booking, BookingChange
from routing.models import Submission
from tests.fixtures.factories import make_booking, make_link
from tests.routing.routing_support import save_form
from workestra import ratelimit

pytestmark = pytest.mark.django_db
BOOK_URL = "/book/acme/intro/"


@pytest.fixture(autouse=True)
def limits_on(settings, monkeypatch):
    """Limits on (the rest of the suite runs without them), small, and counted in a key space of
    this test's own (the cache may be a Redis other runs share)."""
    settings.RATELIMIT_ENABLED = True
    settings.RATELIMIT_BOOK_PER_CLIENT = "3/600"
    settings.RATELIMIT_BOOK_PER_LINK = "5/3600"
    settings.RATELIMIT_CHANGE_PER_CLIENT = "50/600"
    settings.RATELIMIT_CHANGE_PER_BOOKING = "3/3600"
    settings.RATELIMIT_FORM_PER_CLIENT = "2/600"
    settings.RATELIMIT_FORM_PER_FORM = "4/3600"
    monkeypatch.setattr(ratelimit, "KEY_PREFIX", f"ratelimit-test-{uuid.uuid4().hex}")
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_000.0)


def book(client, slot, n, ip="203.0.113.7"):
    data = {"name": f"Bot {n}", "email": f"bot{n}@example.com", "start": slot.isoformat()}
    return client.post(BOOK_URL, data, REMOTE_ADDR=ip)


def test_a_flood_from_one_client_gets_429_and_books_nothing_more(client, link):
    slots = link_free_slots(link)[:10]

    answers = [book(client, slot, n) for n, slot in enumerate(slots)]

    assert [a.status_code for a in answers] == [302] * 3 + [429] * 7
    assert Booking.objects.count() == 3
    refused = answers[-1]
    assert "Too many requests" in refused.content.decode()
    assert "Nothing was saved from the request you just sent" in refused.content.decode()
    assert refused["Retry-After"] == "600"  # the pinned clock is at the start of a window
    # The page itself still loads, and another client can book.
    assert client.get(BOOK_URL, REMOTE_ADDR="203.0.113.7").status_code == 200
    assert book(client, slots[-1], 99, ip="198.51.100.1").status_code == 302


def test_one_link_is_limited_across_clients(client, link, member_user):
    slots = link_free_slots(link)[:7]

    answers = [book(client, slot, n, ip=f"203.0.113.{n + 1}") for n, slot in enumerate(slots)]

    assert [a.status_code for a in answers] == [302] * 5 + [429] * 2
    assert Booking.objects.filter(link=link).count() == 5
    # Another link of the same host is its own budget.
    other = make_link(member_user, slug="other")
    slot = link_free_slots(other)[0]
    data = {"name": "Ivy", "email": "ivy@example.com", "start": slot.isoformat()}
    assert client.post("/book/acme/other/", data, REMOTE_ADDR="203.0.113.200").status_code == 302


def test_reschedule_and_cancel_are_limited_per_booking(client, link):
    booking = make_booking(link)
    url = f"/bookings/{booking.uid}/"
    slots = link_free_slots(link)[1:6]

    moves = [
        client.post(url + "reschedule/", {"start": s.isoformat()}, REMOTE_ADDR=f"203.0.113.{n}")
        for n, s in enumerate(slots)
    ]
    cancels = [client.post(url + "cancel/", {"reason": "x"}, REMOTE_ADDR="203.0.113.90") for _ in range(4)]

    assert [a.status_code for a in moves] == [302, 302, 302, 429, 429]
    booking.refresh_from_db()
    assert booking.start_at == slots[2]
    assert BookingChange.objects.filter(booking=booking, kind=BookingChange.Kind.RESCHEDULED).count() == 3
    # cancel has its own counter; the first one cancels, the next two are 400 (already
    # cancelled), the fourth is over the limit.
    assert [a.status_code for a in cancels] == [302, 400, 400, 429]


def test_the_routing_form_is_limited_per_client_and_per_form(client, workspace, link):
    save_form(workspace, routes=[], fallback="Thanks, we'll be in touch.")
    url = "/forms/acme/talk/"

    def submit(n, ip):
        return client.post(url, {"name": "Bot", "email": f"bot{n}@example.com"}, REMOTE_ADDR=ip)

    same_client = [submit(n, "203.0.113.7") for n in range(3)]
    many_clients = [submit(n, f"198.51.100.{n}") for n in range(10, 14)]

    assert [a.status_code for a in same_client] == [200, 200, 429]
    assert [a.status_code for a in many_clients] == [200, 200, 429, 429]
    assert Submission.objects.count() == 4


def test_the_client_address_comes_from_trusted_proxies_only(client, link, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    slots = link_free_slots(link)[:4]

    # One client behind the proxy, inventing a new left-most X-Forwarded-For entry each time.
    answers = [
        client.post(
            BOOK_URL,
            {"name": "Bot", "email": f"bot{n}@example.com", "start": slot.isoformat()},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.7",
        )
        for n, slot in enumerate(slots)
    ]

    assert [a.status_code for a in answers] == [302, 302, 302, 429]


def test_limits_are_off_when_disabled(client, link, settings):
    settings.RATELIMIT_ENABLED = False
    slots = link_free_slots(link)[:6]

    assert [book(client, slot, n).status_code for n, slot in enumerate(slots)] == [302] * 6


def test_a_rate_setting_is_count_per_seconds():
    assert ratelimit.Rate.parse("10/600") == ratelimit.Rate(10, 600)
    with pytest.raises(ValueError):
        ratelimit.Rate.parse("10/m")
