"""API calls spent: ≤ 2 for a lone booking, ≤ 0.05 per booking in a burst (counted by the
emulator, which counts the way Salesforce does: a composite or collection call is one)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from bookings.services import booking_cancel, booking_reschedule
from integrations.salesforce import outbox
from integrations.salesforce.models import SyncOperation
from tests.fixtures.factories import make_booking

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]


def test_a_lone_booking_costs_two_calls_a_reschedule_one_and_a_cancel_one(team):
    control = team.emulator.control
    control.reset_calls()
    booking = team.book("bob")
    team.drain()
    assert control.count() == 2  # one composite lookup + one create

    control.reset_calls()
    booking = booking_reschedule(booking=booking, start=team.free_slot("bob", 5))
    team.drain()
    assert control.count() == 1

    control.reset_calls()
    booking_cancel(booking=booking)
    team.drain()
    assert control.count() == 1


def test_a_burst_costs_at_most_five_hundredths_of_a_call_per_booking(team):
    emails = ["jane.roe@globex.com", "peter@initech.com", "sam@leadco.example", "art@vandelay.com"]
    hosts = ["alice", "bob", "carol", "dave"]
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=30)
    with transaction.atomic():
        for i in range(250):
            email = emails[i % 4] if i % 5 else f"new.person{i}@example.org"
            booking = make_booking(team.links[hosts[i % 4]], start=start + timedelta(minutes=30 * i), email=email)
            outbox.booking_changed(booking=booking, trigger=SyncOperation.Trigger.CONFIRMED)
    team.emulator.control.reset_calls()

    team.drain()

    calls = team.emulator.control.count()
    assert len(team.events()) == 250
    assert calls / 250 <= 0.05, calls
    # One claim (claims take up to 1,000 bookings) with under 100 distinct emails: one composite
    # lookup, and the creates in collections of 200 (two calls, or one /composite carrying both).
    assert calls <= 3
    assert not SyncOperation.objects.exclude(state=SyncOperation.State.PUSHED).exists()
