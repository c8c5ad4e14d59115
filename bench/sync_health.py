#!/usr/bin/env python
"""Benchmark the Salesforce settings page with its sync-health section on a big outbox.

Seeds one workspace with --operations sync operations (bulk_create) spread over the last 30
days — mostly pushed, some failed under a handful of Salesforce error codes, some skipped,
waiting and pending — then renders /settings/integrations/salesforce/ as the workspace admin
with Django's test client, several times, and prints the median and the worst render time and
the SQL statement count of one render. SQLite in a temporary folder by default;
--database-url postgres://… runs it on PostgreSQL (the database is flushed first: give it
one of your own).

    .venv/bin/python bench/sync_health.py [--operations 100000] [--runs 9] [--database-url URL] [--keep | --reuse FILE]
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
parser.add_argument("--operations", type=int, default=100_000)
parser.add_argument("--runs", type=int, default=9)
parser.add_argument("--database-url", default="")
parser.add_argument("--keep", action="store_true", help="keep the SQLite file and print its path")
parser.add_argument(
    "--reuse",
    default="",
    help="a SQLite file a --keep run seeded (or, with --database-url, any "
    "value: that database as seeded): time it again without seeding",
)
ARGS = parser.parse_args()

WORK = (
    Path(ARGS.reuse).parent
    if ARGS.reuse and not ARGS.database_url
    else Path(tempfile.mkdtemp(prefix="workestra-health-bench-"))
)
os.environ.pop("REDIS_URL", None)
os.environ.pop("DATABASE_URL", None)
if ARGS.database_url:
    os.environ["DATABASE_URL"] = ARGS.database_url
os.environ.update(
    DJANGO_SETTINGS_MODULE="workestra.settings.test",
    SQLITE_PATH=str(Path(ARGS.reuse) if ARGS.reuse and not ARGS.database_url else WORK / "bench.sqlite3"),
    WORKESTRA_TEST_RUN_DIR=str(WORK),
)

import django  # noqa: E402

django.setup()

from datetime import timedelta  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection as db  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from bookings.models import Booking  # noqa: E402
from integrations.salesforce.models import BookingSync, SalesforceConnection, SyncOperation  # noqa: E402
from tests.fixtures.factories import make_link, make_member, make_workspace  # noqa: E402
from workestra.models import Membership  # noqa: E402

State = SyncOperation.State
ERRORS = [
    ("FIELD_INTEGRITY_EXCEPTION", "Assigned To ID: owner cannot be blank: [OwnerId]"),
    ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"),
    ("REQUIRED_FIELD_MISSING", "Required fields are missing: [DurationInMinutes]"),
    ("", "Salesforce did not answer within 30 s."),
]
BOOKINGS = 5_000  # operations share bookings, as reschedules and recaps do
STATES = (
    [State.PUSHED] * 86
    + [State.FAILED] * 5
    + [State.SKIPPED] * 4
    + [State.COALESCED] * 2
    + [State.WAITING_RECONNECT, State.DEFERRED, State.PENDING]
)


def seed(count: int):
    workspace = make_workspace("bench", "Bench Corp")
    admin = make_member(workspace, "admin@bench.test", role=Membership.Role.ADMIN, first_name="Ada", last_name="Admin")
    link = make_link(admin, slug="intro", title="Intro call", is_default=True)
    connection = SalesforceConnection.objects.create(
        workspace=workspace,
        status=SalesforceConnection.Status.CONNECTED,
        org_id="00D5g000004BenchAA",
        instance_url="https://bench.my.salesforce.com",
        sf_username="admin@bench.test",
        api_usage_used=4_200,
        api_usage_total=15_000,
        api_usage_seen_at=timezone.now(),
        connected_at=timezone.now(),
    )
    now = timezone.now()
    rng = random.Random(13)
    bookings = Booking.objects.bulk_create(
        Booking(
            workspace=workspace,
            link=link,
            host=admin,
            invitee_name=f"Invitee {i}",
            invitee_email=f"invitee{i}@example.org",
            start_at=now + timedelta(hours=i),
            end_at=now + timedelta(hours=i, minutes=30),
        )
        for i in range(BOOKINGS)
    )
    BookingSync.objects.bulk_create(
        BookingSync(
            booking=b,
            workspace=workspace,
            event_state="live",
            sf_event_id=f"00U5g{i:013d}",
            sf_who_id=f"0035g{i:013d}",
            sf_who_name=f"Invitee {i}",
        )
        for i, b in enumerate(bookings)
    )
    rows = []
    for i in range(count):
        state = rng.choice(STATES)
        created = now - timedelta(seconds=rng.uniform(0, 30 * 86_400))
        code, message = ERRORS[i % len(ERRORS)] if state == State.FAILED else ("", "")
        rows.append(
            SyncOperation(
                workspace=workspace,
                connection=connection,
                booking=bookings[i % BOOKINGS],
                trigger="confirmed",
                state=state,
                attempts=1 if state != State.FAILED else 24,
                api_calls=0.02 if state == State.PUSHED else 0.0,
                error_code=code,
                error_message=message,
                finished_at=created + timedelta(milliseconds=rng.uniform(80, 900)) if state == State.PUSHED else None,
                sf_ids={"event_id": f"00U5g{i % BOOKINGS:013d}"} if state == State.PUSHED else {},
            )
        )
        if len(rows) == 5_000:
            _insert(rows, rng, now)
            rows = []
    _insert(rows, rng, now)
    return admin


def _insert(rows, rng, now):
    created = SyncOperation.objects.bulk_create(rows)
    # created_at is auto_now_add: spread it over the 30 days afterwards, in one statement per row batch.
    stamps = {
        op.pk: (op.finished_at - timedelta(milliseconds=rng.uniform(80, 900)))
        if op.finished_at
        else now - timedelta(seconds=rng.uniform(0, 30 * 86_400))
        for op in created
    }
    for op in created:
        op.created_at = stamps[op.pk]
    SyncOperation.objects.bulk_update(created, ["created_at"], batch_size=1_000)


def main():
    setup_test_environment()  # the test client's host is allowed; nothing else changes
    call_command("migrate", verbosity=0)
    if ARGS.reuse:
        from workestra.models import User

        admin = User.objects.get(email="admin@bench.test")
        print(
            f"Reusing {SyncOperation.objects.count():,} operations on {db.vendor} ({ARGS.database_url or ARGS.reuse})"
        )
    else:
        if ARGS.database_url:
            call_command("flush", interactive=False, verbosity=0)
        began = time.monotonic()
        admin = seed(ARGS.operations)
        print(f"Seeded {SyncOperation.objects.count():,} operations on {db.vendor} in {time.monotonic() - began:.1f} s")
    if db.vendor == "postgresql":
        # What autovacuum does soon after a bulk load: statistics, and the visibility map that
        # lets an index-only scan skip the table.
        with db.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE salesforce_syncoperation")
    client = Client()
    client.force_login(admin)
    url = "/settings/integrations/salesforce/"
    assert client.get(url).status_code == 200  # warm-up: templates compiled, caches filled
    times, cpu = [], []
    for _ in range(ARGS.runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200 and b'id="sync-health"' in response.content
    with CaptureQueriesContext(db) as queries:
        client.get(url)
    print(
        f"Settings page with sync health, {ARGS.runs} renders: median {statistics.median(times):.1f} ms, "
        f"min {min(times):.1f} ms, max {max(times):.1f} ms; {len(queries)} SQL statements per render"
    )
    # CPU time of this process (SQLite runs in it; PostgreSQL's own work is not counted): what a
    # render costs when the machine is shared and wall-clock times wander. Load average alongside.
    print(
        f"  CPU time of this process per render: median {statistics.median(cpu):.1f} ms; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    print(f"  of which SQL {sql_ms:.0f} ms; the slowest statements:")
    for query in sorted(queries.captured_queries, key=lambda q: float(q["time"]), reverse=True)[:4]:
        print(f"  {float(query['time']) * 1000:6.1f} ms  {query['sql'][:160]}")
    if ARGS.keep and not ARGS.database_url:
        print(f"Kept {WORK / 'bench.sqlite3'} (time it again with --reuse)")
    elif not ARGS.reuse:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
