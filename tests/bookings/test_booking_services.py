import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from bookings import services
from bookings.availability import link_free_slots
from bookings.models import Booking, BookingChange
from bookings.services import BookingError, booking_cancel, booking_create, booking_reschedule
from bookings.signals import booking_cancelled, booking_confirmed, booking_rescheduled
from tests.fixtures.factories import make_booking, make_link

pytestmark = pytest.mark.django_db


def book(link, start, **overrides):
    fields = {"name": "Ivy Invitee", "email": "ivy@example.com", "start": start, **overrides}
    return booking_create(link=link, **fields)


@pytest.fixture
def signal_log():
    """Each signal received: (name, booking status, whether we were inside a transaction)."""
    received = []

    def listener(name):
        def receive(sender, booking, **kwargs):
            saved = Booking.objects.filter(pk=booking.pk, status=booking.status).exists()
            received.append((name, booking.status, connection.in_atomic_block, saved))

        return receive

    receivers = [
        (sig, listener(name))
        for name, sig in [
            ("confirmed", booking_confirmed),
            ("rescheduled", booking_rescheduled),
            ("cancelled", booking_cancelled),
        ]
    ]
    for sig, receiver in receivers:
        sig.connect(receiver, sender=Booking)
    yield received
    for sig, receiver in receivers:
        sig.disconnect(receiver, sender=Booking)


def test_create_books_an_open_slot_in_utc_and_records_it(link, signal_log):
    slot = link_free_slots(link)[0]
    local = slot.astimezone(timezone.get_fixed_timezone(-300)).isoformat()  # same instant, -05:00

    booking = book(link, local, name="  Jane Roe ", email=" jane@example.com ", answers={"company": "Globex"})

    booking.refresh_from_db()
    assert (booking.start_at, booking.end_at) == (slot, slot + timedelta(minutes=30))
    assert booking.start_at.utcoffset() == timedelta(0)
    assert (booking.invitee_name, booking.invitee_email) == ("Jane Roe", "jane@example.com")
    assert booking.answers == {"company": "Globex"}
    assert (booking.status, booking.host, booking.workspace_id) == ("confirmed", link.owner, link.workspace_id)
    assert list(booking.changes.values_list("kind", "new_start_at")) == [("created", slot)]
    # Sent inside the transaction, after the row was saved.
    assert signal_log == [("confirmed", "confirmed", True, True)]


def test_a_failing_listener_rolls_the_booking_back(link):
    def explode(sender, booking, **kwargs):
        raise RuntimeError("outbox unavailable")

    booking_confirmed.connect(explode, sender=Booking)
    try:
        with pytest.raises(RuntimeError):
            book(link, link_free_slots(link)[0])
    finally:
        booking_confirmed.disconnect(explode, sender=Booking)
    assert not Booking.objects.exists()


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"name": "   "}, "name", "Please enter your name."),
        ({"name": "x" * 201}, "name", "Your name can be at most 200 characters."),
        ({"name": "nul\x00byte"}, "name", "Your name contains a character that is not allowed."),
        ({"email": ""}, "email", "Please enter your email address."),
        ({"email": "not-an-email"}, "email", "Please enter a valid email address"),
        ({"email": "a@" + "b" * 260 + ".com"}, "email", "at most 254 characters"),
        ({"start": ""}, "start", "Please pick a time."),
        ({"start": "next tuesday"}, "start", "ISO 8601"),
        ({"start": "2030-01-07T09:00:00"}, "start", "needs a UTC offset"),
        ({"start": "9" * 5000}, "start", "ISO 8601"),
        ({"start": "0001-01-01T00:00:00+01:00"}, "start", "not available"),
        ({"start": "2020-01-06T09:00:00+00:00"}, "start", "in the past"),
        ({"answers": ["not", "a", "mapping"]}, "answers", "mapping"),
    ],
)
def test_create_refuses_bad_input_with_a_clear_message(link, overrides, field, message):
    fields = {"start": link_free_slots(link)[0].isoformat(), **overrides}

    with pytest.raises(BookingError) as caught:
        book(link, **fields)

    assert caught.value.field == field
    assert message in caught.value.message
    assert not Booking.objects.exists()


def test_create_refuses_a_time_the_link_does_not_offer(link):
    slot = link_free_slots(link)[0]
    night = (slot + timedelta(days=1)).replace(hour=3, minute=0)
    for start in (slot + timedelta(minutes=10), night, slot + timedelta(days=30)):
        with pytest.raises(BookingError, match="not available on this booking link"):
            book(link, start.isoformat())
    assert not Booking.objects.exists()


def test_the_host_cannot_be_double_booked_across_links(link):
    other = make_link(link.owner, slug="other")
    slot = link_free_slots(link)[0]
    book(link, slot)

    with pytest.raises(BookingError, match="just booked by someone else") as caught:
        book(other, slot.isoformat(), email="second@example.com")

    assert caught.value.field == "start"
    assert Booking.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_for_one_slot_book_it_once(link):
    slot = link_free_slots(link)[0]
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(email):
        try:
            barrier.wait(5)
            book(link, slot.isoformat(), email=email)
            outcomes.append("booked")
        except BookingError as error:
            outcomes.append(error.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(f"racer{i}@example.com",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["Sorry, that time was just booked by someone else. Please pick another time.", "booked"]
    assert Booking.objects.filter(start_at=slot).count() == 1


def test_reschedule_moves_the_booking_and_records_from_and_to(link, signal_log):
    first, second = link_free_slots(link)[:2]
    booking = book(link, first)

    moved = booking_reschedule(booking=booking, start=second.isoformat())

    moved.refresh_from_db()
    assert (moved.status, moved.start_at, moved.end_at) == ("rescheduled", second, second + timedelta(minutes=30))
    assert list(moved.changes.values_list("kind", "previous_start_at", "new_start_at")) == [
        ("created", None, first),
        ("rescheduled", first, second),
    ]
    assert signal_log[-1] == ("rescheduled", "rescheduled", True, True)


def test_reschedule_into_its_own_old_time_range_is_allowed(member_user):
    link = make_link(member_user, slug="hour", duration=60)
    first, second = link_free_slots(link)[:2]
    booking = make_booking(link, start=first)

    moved = booking_reschedule(booking=booking, start=second)

    assert moved.start_at == second


@pytest.mark.parametrize(
    "start, message",
    [
        ("garbage", "ISO 8601"),
        ("2020-01-06T09:00:00+00:00", "in the past"),
    ],
)
def test_reschedule_refuses_bad_times(link, start, message):
    booking = make_booking(link)

    with pytest.raises(BookingError, match=message):
        booking_reschedule(booking=booking, start=start)

    booking.refresh_from_db()
    assert booking.status == "confirmed" and booking.changes.count() == 1


def test_reschedule_refuses_the_same_time_and_a_taken_time(link):
    first, second = link_free_slots(link)[:2]
    booking = make_booking(link, start=first)
    make_booking(link, start=second, email="other@example.com")

    with pytest.raises(BookingError, match="already at that time"):
        booking_reschedule(booking=booking, start=first)
    with pytest.raises(BookingError, match="just booked by someone else"):
        booking_reschedule(booking=booking, start=second)


def test_cancel_records_reason_and_time_and_cannot_happen_twice(link, signal_log):
    booking = make_booking(link)

    cancelled = booking_cancel(booking=booking, reason="  Double-booked on my side.  ")

    cancelled.refresh_from_db()
    assert cancelled.status == "cancelled"
    assert cancelled.cancel_reason == "Double-booked on my side."
    assert cancelled.cancelled_at is not None
    assert cancelled.changes.last().kind == BookingChange.Kind.CANCELLED
    assert cancelled.changes.last().reason == "Double-booked on my side."
    assert signal_log == [("cancelled", "cancelled", True, True)]
    with pytest.raises(BookingError, match="already cancelled"):
        booking_cancel(booking=booking)
    assert cancelled.changes.count() == 2


def test_cancel_refuses_a_reason_over_2000_characters(link):
    booking = make_booking(link)

    with pytest.raises(BookingError, match="at most 2,000 characters") as caught:
        booking_cancel(booking=booking, reason="x" * 2001)

    assert caught.value.field == "reason"
    booking.refresh_from_db()
    assert booking.status == "confirmed"


def test_a_cancelled_booking_cannot_be_rescheduled_and_frees_its_slot(link):
    slot = link_free_slots(link)[0]
    booking = book(link, slot)
    booking_cancel(booking=booking)

    with pytest.raises(BookingError, match="cancelled, so it can no longer be rescheduled"):
        booking_reschedule(booking=booking, start=link_free_slots(link)[1])
    assert book(link, slot, email="next@example.com").start_at == slot


def test_services_take_keyword_arguments_only(link):
    with pytest.raises(TypeError):
        services.booking_create(link, "Ivy", "ivy@example.com", datetime.now(UTC))


def test_everything_a_service_writes_rolls_back_together(link):
    slot = link_free_slots(link)[0]
    with pytest.raises(RuntimeError), transaction.atomic():
        book(link, slot)
        raise RuntimeError
    assert not Booking.objects.exists() and not BookingChange.objects.exists()


def test_latest_booking_uid_prints_one_line_for_the_readme(link):
    from io import StringIO

    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="no bookings yet"):
        call_command("latest_booking_uid")
    make_booking(link)
    newest = make_booking(link, start=link_free_slots(link)[0])
    out = StringIO()

    call_command("latest_booking_uid", stdout=out)

    assert out.getvalue() == f"{newest.uid}\n"
