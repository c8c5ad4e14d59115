"""Deleting a booking whose Event is live in Salesforce is refused, saying why and what to do
(cancel it first); cascades from a link, user or workspace deletion are refused too."""

import pytest
from django.db import transaction
from django.db.models import ProtectedError

from bookings.models import Booking
from integrations.salesforce.models import BookingSync

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]
ADMIN = "/admin/bookings/booking/"


@pytest.fixture
def pushed(team):
    booking = team.book("alice")
    team.drain()
    sync = BookingSync.objects.get(booking=booking)
    assert sync.event_state == BookingSync.EventState.LIVE
    return booking, sync.sf_event_id


def live_event_ids(team) -> set[str]:
    return {event["Id"] for event in team.events()}


def test_the_admin_delete_page_refuses_and_says_to_cancel_first(team, pushed, admin_client):
    booking, event_id = pushed

    page = admin_client.get(f"{ADMIN}{booking.pk}/delete/").content.decode()
    admin_client.post(f"{ADMIN}{booking.pk}/delete/", {"post": "yes"})

    assert (
        f"Booking {booking.uid} can&#x27;t be deleted yet: its Event {event_id} is live in Salesforce and would be left behind."
        in page
    )
    assert "Cancel selected bookings" in page
    assert 'name="post"' not in page  # no confirm button
    assert Booking.objects.filter(pk=booking.pk).exists()
    assert event_id in live_event_ids(team)


def test_delete_selected_refuses_the_pushed_booking(team, pushed, admin_client):
    booking, event_id = pushed

    response = admin_client.post(ADMIN, {"action": "delete_selected", "_selected_action": [booking.pk], "post": "yes"})

    assert response.status_code == 200
    assert f"its Event {event_id} is live in Salesforce" in response.content.decode()
    assert Booking.objects.filter(pk=booking.pk).exists() and event_id in live_event_ids(team)


def test_code_and_cascades_get_the_same_refusal(team, pushed):
    booking, event_id = pushed

    # Each in its own savepoint: the refusal is raised inside the deletion's transaction.
    with pytest.raises(ProtectedError) as direct, transaction.atomic():
        Booking.objects.get(pk=booking.pk).delete()
    with pytest.raises(ProtectedError), transaction.atomic():
        Booking.objects.filter(pk=booking.pk).delete()
    for cascade in (team.links["alice"], team.users["alice"], team.workspace):
        with pytest.raises(ProtectedError), transaction.atomic():
            cascade.delete()

    assert (
        f"Booking {booking.uid} can't be deleted yet: its Event {event_id} is live in Salesforce"
        in direct.value.args[0]
    )
    assert Booking.objects.filter(pk=booking.pk).exists() and BookingSync.objects.filter(booking=booking).exists()
    assert event_id in live_event_ids(team)


def test_pushes_in_flight_block_the_deletion_until_they_finish(team):
    booking = team.book("alice")  # its create is queued, not sent yet

    with pytest.raises(ProtectedError) as refused, transaction.atomic():
        booking.delete()

    assert "Salesforce pushes for it are still waiting or in progress (pending)." in refused.value.args[0]


def test_cancel_first_then_the_booking_can_be_deleted_and_no_event_is_left(team, pushed, admin_client):
    booking, event_id = pushed

    admin_client.post(ADMIN, {"action": "cancel_bookings", "_selected_action": [booking.pk]})
    team.drain()
    admin_client.post(f"{ADMIN}{booking.pk}/delete/", {"post": "yes"})

    assert not Booking.objects.filter(pk=booking.pk).exists()
    assert event_id not in live_event_ids(team)


def test_a_booking_never_pushed_is_deleted_as_before(team, admin_client):
    booking = team.book("dave")
    team.connection.operations.filter(booking=booking).delete()  # as if the workspace pushed nothing for it
    BookingSync.objects.filter(booking=booking).delete()

    admin_client.post(f"{ADMIN}{booking.pk}/delete/", {"post": "yes"})

    assert not Booking.objects.filter(pk=booking.pk).exists()
