"""The booking form's one-time token: the same rendered form posted twice books once."""

import re

import pytest

from bookings.availability import link_free_slots
from bookings.models import Booking
from bookings.services import AlreadyBooked, booking_create

pytestmark = pytest.mark.django_db
BOOK_URL = "/book/acme/intro/"


def rendered_token(client) -> str:
    html = client.get(BOOK_URL).content.decode()
    return re.search(r'<input type="hidden" name="form_token" value="([A-Za-z0-9_-]{22})">', html).group(1)


def test_each_rendering_of_the_form_carries_a_fresh_token(client, link):
    assert rendered_token(client) != rendered_token(client)


def test_a_second_post_of_the_same_form_lands_on_the_first_booking(client, link):
    first_slot, next_slot = link_free_slots(link)[:2]
    token = rendered_token(client)
    data = {"name": "Jane Roe", "email": "jane@example.com", "form_token": token}

    first = client.post(BOOK_URL, {**data, "start": first_slot.isoformat()})
    again = client.post(BOOK_URL, {**data, "start": next_slot.isoformat()}, follow=True)

    booking = Booking.objects.get()
    assert (booking.start_at, booking.form_token) == (first_slot, token)
    assert first["Location"] == again.redirect_chain[0][0] == f"/bookings/{booking.uid}/"
    assert "You already booked this meeting" in again.content.decode()


def test_the_token_survives_a_refused_post_and_still_books_once(client, link):
    slot = link_free_slots(link)[0]
    token = rendered_token(client)

    refused = client.post(
        BOOK_URL, {"name": "", "email": "jane@example.com", "start": slot.isoformat(), "form_token": token}
    )
    assert refused.status_code == 400
    assert f'name="form_token" value="{token}"' in refused.content.decode()
    client.post(BOOK_URL, {"name": "Jane", "email": "jane@example.com", "start": slot.isoformat(), "form_token": token})
    client.post(BOOK_URL, {"name": "Jane", "email": "jane@example.com", "start": slot.isoformat(), "form_token": token})

    assert Booking.objects.count() == 1


def test_posts_without_a_token_still_book_each_time(client, link):
    """SPEC §6: the API-style POST (name, email, start) needs no token."""
    for slot in link_free_slots(link)[:2]:
        response = client.post(BOOK_URL, {"name": "Jane", "email": "jane@example.com", "start": slot.isoformat()})
        assert response.status_code == 302
    assert Booking.objects.count() == 2
    assert list(Booking.objects.values_list("form_token", flat=True)) == [None, None]


def test_a_token_we_never_issue_is_ignored(client, link):
    slots = link_free_slots(link)[:2]
    for slot in slots:
        client.post(
            BOOK_URL, {"name": "Jane", "email": "jane@example.com", "start": slot.isoformat(), "form_token": "x y"}
        )
    assert Booking.objects.count() == 2


def test_the_service_refuses_a_used_token_naming_the_first_booking(link):
    first_slot, next_slot = link_free_slots(link)[:2]
    first = booking_create(link=link, name="Jane", email="jane@example.com", start=first_slot, form_token="t" * 22)

    with pytest.raises(AlreadyBooked) as caught:
        booking_create(link=link, name="Jane", email="jane@example.com", start=next_slot, form_token="t" * 22)

    assert caught.value.booking == first
    assert Booking.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_posts_of_one_form_book_once(link):
    """A double click: the same token twice at once, for different slots. The host's lock
    serialises them; the second finds the first booking."""
    import threading

    from django.db import connection

    slots = link_free_slots(link)[:2]
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(slot):
        try:
            barrier.wait(5)
            booking_create(link=link, name="Jane", email="jane@example.com", start=slot, form_token="d" * 22)
            outcomes.append("booked")
        except AlreadyBooked as already:
            outcomes.append(("already", already.booking.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(slot,)) for slot in slots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    booking = Booking.objects.get()
    assert sorted(outcomes, key=str) == [("already", booking.pk), "booked"]
