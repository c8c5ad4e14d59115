#!/usr/bin/env python
"""API calls the booking push spends on bursts of 1,000 bookings with 1,000 distinct invitee
emails, counted by the local Salesforce emulator (which counts like Salesforce: a /composite
is one call, whatever its subrequests).

For each burst it prints the calls of one claim of all 1,000 bookings (`BookingPush.run()`,
the size claims reach on the drainmech branch) and of the drain as it runs on this branch
(claims of `outbox.claim_batch`'s size), with each call's subrequests. Emails: 4 seeded
contacts/leads, the rest new (`invitee.NNNN@customerK.example`, 30-34 characters each).
Runs on SQLite in a temporary folder with the emulator at 0 ms.

    .venv/bin/python bench/push_calls.py
"""

import os
import time
from collections import Counter

import sqlite_env

ROOT, WORK = sqlite_env.prepare("workestra-bench-calls-")

import django  # noqa: E402

django.setup()

from datetime import timedelta  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bookings.models import Booking  # noqa: E402
from bookings.services import booking_cancel  # noqa: E402
from integrations.salesforce import outbox  # noqa: E402
from integrations.salesforce.models import SyncOperation  # noqa: E402
from integrations.salesforce.push import BookingPush  # noqa: E402
from integrations.salesforce.services import client_for  # noqa: E402
from tests.fixtures.emulator import start_emulator, stop_emulator  # noqa: E402
from tests.fixtures.factories import make_booking  # noqa: E402
from tests.fixtures.salesforce import make_team  # noqa: E402

KNOWN = ["jane.roe@globex.com", "peter@initech.com", "sam@leadco.example", "art@vandelay.com"]
HOSTS = ["alice", "bob", "carol", "dave"]
SIZE = 1000


def new_bookings(team, offset_days: int) -> list:
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=offset_days)
    bookings = []
    with transaction.atomic():
        for i in range(SIZE):
            email = KNOWN[i] if i < len(KNOWN) else f"invitee.{offset_days:02d}{i:04d}@customer{i % 37}.example"
            booking = make_booking(team.links[HOSTS[i % 4]], start=start + timedelta(minutes=30 * i), email=email)
            outbox.booking_changed(booking=booking, trigger=SyncOperation.Trigger.CONFIRMED)
            bookings.append(booking)
    return bookings


def moved_by_an_hour(bookings) -> list:
    """A reschedule of each, as booking_reschedule records it (its availability check aside:
    the bench's slots are packed closer than the links offer)."""
    with transaction.atomic():
        for booking in bookings:
            Booking.objects.filter(pk=booking.pk).update(start_at=booking.start_at + timedelta(hours=1))
            outbox.booking_changed(booking=booking, trigger=SyncOperation.Trigger.RESCHEDULED)
    return list(Booking.objects.filter(pk__in=[b.pk for b in bookings]))


def one_claim(team, bookings) -> None:
    BookingPush(client_for(team.connection), team.connection, [b.pk for b in bookings]).run()
    SyncOperation.objects.filter(booking__in=bookings).update(state=SyncOperation.State.PUSHED)


def measure(team, label: str, send) -> None:
    control = team.emulator.control
    control.reset_calls()
    began = time.monotonic()
    send()
    seconds = time.monotonic() - began
    calls = [c for c in control.calls() if c["counted"]]
    shapes = Counter(
        f"{c['method']} {c['path'].split('/v')[-1].split('/', 1)[-1]}"
        + (
            f" [{', '.join(f'{n}× {s}' for s, n in Counter((c['subrequests'] or '').splitlines()).items())}]"
            if c["subrequests"]
            else ""
        )
        for c in calls
    )
    detail = "; ".join(f"{n}× {shape}" for shape, n in shapes.items())
    print(f"{label:<58} {len(calls):>3} calls = {len(calls) / SIZE:.3f} per booking, {seconds:5.1f} s   {detail}")


def main() -> None:
    call_command("migrate", verbosity=0)
    emulator = start_emulator(WORK / "sfdc")
    os.environ.update(emulator.env())
    for key, value in emulator.env().items():
        setattr(settings, key, value)
    settings.SALESFORCE_CLIENT_ID, settings.SALESFORCE_CLIENT_SECRET = (
        "workestra-local-client",
        "workestra-local-secret",
    )
    try:
        team = make_team(emulator)
        print(f"Bursts of {SIZE:,} bookings, {SIZE:,} distinct invitee emails; emulator at 0 ms; SQLite")

        created = new_bookings(team, 20)
        measure(team, "1,000 new bookings, one claim of 1,000 (BookingPush)", lambda: one_claim(team, created))
        moved = moved_by_an_hour(created)
        measure(team, "1,000 reschedules, one claim of 1,000", lambda: one_claim(team, moved))
        for booking in moved:
            booking_cancel(booking=booking)
        measure(team, "1,000 cancels, one claim of 1,000", lambda: one_claim(team, moved))

        new_bookings(team, 200)
        measure(team, "1,000 new bookings through drain() (this branch's claims)", lambda: team.drain(timeout=600))
    finally:
        stop_emulator(emulator)


if __name__ == "__main__":
    main()
