#!/usr/bin/env python
"""Benchmark the booking push against the local Salesforce emulator.

Prints: API calls per booking for a lone push and for bursts of 100 and 1,000 bookings; the
time from booking commit to Event present (p50, p95) with a real worker; and the public
booking POST's latency with the emulator at 0 ms and at 2,000 ms (the invitee must not wait
on Salesforce). Runs on SQLite and the embedded broker in a temporary folder.

    .venv/bin/python bench/push.py [--latency-ms 0] [--samples 30]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

import sqlite_env

ROOT, WORK = sqlite_env.prepare(
    "workestra-bench-", SALESFORCE_RETRY_BASE_SECONDS="0.2", SALESFORCE_RETRY_MAX_SECONDS="2", OUTBOX_SWEEP_INTERVAL="1"
)

import django  # noqa: E402

django.setup()

from datetime import timedelta  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from bookings.models import Booking  # noqa: E402
from integrations.salesforce import outbox  # noqa: E402
from integrations.salesforce.models import BookingSync, SyncOperation  # noqa: E402
from tests.fixtures.emulator import start_emulator, stop_emulator  # noqa: E402
from tests.fixtures.factories import make_booking  # noqa: E402
from tests.fixtures.salesforce import make_team, worker_sf_env  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def burst(team, size: int, offset_days: int) -> tuple[int, float]:
    emails = ["jane.roe@globex.com", "peter@initech.com", "sam@leadco.example", "art@vandelay.com"]
    hosts = ["alice", "bob", "carol", "dave"]
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=offset_days)
    with transaction.atomic():
        for i in range(size):
            email = emails[i % 4] if i % 5 else f"burst{offset_days}.{i}@example.org"
            booking = make_booking(team.links[hosts[i % 4]], start=start + timedelta(minutes=30 * i), email=email)
            outbox.booking_changed(booking=booking, trigger=SyncOperation.Trigger.CONFIRMED)
    team.emulator.control.reset_calls()
    began = time.monotonic()
    team.drain(timeout=600)
    return team.emulator.control.count(), time.monotonic() - began


def commit_to_event(team, samples: int) -> list[float]:
    latencies = []
    for i in range(samples):
        booking = team.book(["alice", "bob", "carol"][i % 3], email="jane.roe@globex.com", slot=i // 3)
        committed = time.monotonic()
        deadline = committed + 60
        while not BookingSync.objects.filter(booking=booking).exclude(sf_event_id="").exists():
            if time.monotonic() > deadline:
                raise SystemExit("a booking did not reach Salesforce within 60 s")
            time.sleep(0.01)
        latencies.append(time.monotonic() - committed)
    return latencies


def booking_post_latency(team, samples: int, slot_offset: int) -> list[float]:
    client = Client(HTTP_HOST="127.0.0.1")
    timings = []
    for i in range(samples):
        start = team.free_slot("dave", slot_offset + i)
        began = time.monotonic()
        response = client.post(
            "/book/acme/dave/", {"name": "Bench Invitee", "email": "jane.roe@globex.com", "start": start.isoformat()}
        )
        timings.append(time.monotonic() - began)
        assert response.status_code == 302, response.status_code
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=int, default=0, help="emulator latency for the API-call and drain figures")
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    emulator = start_emulator(WORK / "sfdc")
    os.environ.update(emulator.env())
    for key, value in emulator.env().items():
        setattr(settings, key, value)
    settings.SALESFORCE_CLIENT_ID, settings.SALESFORCE_CLIENT_SECRET = (
        "workestra-local-client",
        "workestra-local-secret",
    )
    worker = None
    try:
        team = make_team(emulator)
        emulator.control.set_faults(latency_ms=args.latency_ms)
        print(f"Emulator latency: {args.latency_ms} ms; database: SQLite; broker: embedded (filesystem)")

        emulator.control.reset_calls()
        team.book("bob")
        team.drain()
        print(f"Lone booking push: {emulator.control.count()} API calls")
        for size, days in ((100, 20), (1000, 40)):
            calls, seconds = burst(team, size, days)
            print(f"Burst of {size:>5}: {calls} API calls = {calls / size:.3f} per booking; drained in {seconds:.1f} s")

        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workestra",
                "worker",
                "--beat",
                "--loglevel=WARNING",
                "--concurrency=2",
                "-Q",
                settings.CELERY_TASK_DEFAULT_QUEUE,
                "--schedule",
                str(WORK / "beat"),
            ],
            cwd=ROOT,
            env={**os.environ, **worker_sf_env(emulator)},
            stdout=open(WORK / "worker.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        time.sleep(4)
        latencies = commit_to_event(team, args.samples)
        print(
            f"Commit → Event present ({args.samples} bookings, one at a time): "
            f"p50 {percentile(latencies, 50) * 1000:.0f} ms, p95 {percentile(latencies, 95) * 1000:.0f} ms"
        )

        for latency in (0, 2000):
            emulator.control.set_faults(latency_ms=latency)
            timings = booking_post_latency(team, args.samples // 2, slot_offset=0 if latency == 0 else args.samples)
            print(
                f"Booking POST with Salesforce at {latency:>4} ms: p50 {percentile(timings, 50) * 1000:.1f} ms, "
                f"p95 {percentile(timings, 95) * 1000:.1f} ms (mean {statistics.mean(timings) * 1000:.1f} ms)"
            )
        emulator.control.set_faults(latency_ms=0)
        deadline = time.monotonic() + 120
        while (
            SyncOperation.objects.filter(state__in=SyncOperation.OPEN_STATES).exists() and time.monotonic() < deadline
        ):
            time.sleep(0.5)
        print(
            f"Bookings: {Booking.objects.count()}; operations not pushed at the end: "
            f"{SyncOperation.objects.exclude(state=SyncOperation.State.PUSHED).count()}"
        )
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(20)
        stop_emulator(emulator)


if __name__ == "__main__":
    main()
