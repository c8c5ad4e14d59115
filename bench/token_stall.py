#!/usr/bin/env python
"""Does a slow Salesforce token endpoint stall public booking? (issue 12 item 7)

Each round expires the access tokens at the emulator, starts a token refresh in a thread (the
emulator's token endpoint answering after 0 s or 5 s, switch `token_latency_ms`, which slows
nothing else), and meanwhile invitees post bookings to the members' booking pages, one arriving every
0.25 s (each in its own thread; latency counted from its arrival, so a POST queued behind a
lock counts its wait). Rounds alternate A (0 s) and B (5 s) so drift hits both alike; the
figures are the medians over the rounds of each round's p50 / p95.

    .venv/bin/python bench/token_stall.py [--rounds 4] [--arrivals 20] [--database-url postgres://...]

Without --database-url it runs on SQLite in a temporary folder; the embedded broker always.
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="workestra-token-bench-"))
HOSTS = ("alice", "bob", "carol", "dave")


def configure(database_url: str | None) -> None:
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.update(
        DJANGO_SETTINGS_MODULE="workestra.settings.test",
        SQLITE_PATH=str(WORK / "bench.sqlite3"),
        WORKESTRA_TEST_RUN_DIR=str(WORK),
        PUBLIC_BASE_URL="http://127.0.0.1:8000",
        SALESFORCE_HTTP_TIMEOUT="30",
    )
    import django

    django.setup()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def one_round(team, token_latency_ms: int, arrivals: int, interval: float) -> tuple[float, float, float]:
    """(p50, p95, refresh seconds) of booking POSTs arriving every `interval` seconds (open
    loop: one invitee per thread, latency counted from the arrival) while a refresh runs."""
    from django.db import connection as db_connection
    from django.test import Client

    from integrations.salesforce.models import SalesforceConnection
    from integrations.salesforce.tokens import refresh_access_token

    emulator, connection = team.emulator, team.connection
    emulator.control.set_settings(token_latency_ms=token_latency_ms)
    emulator.control.expire_tokens()
    stale = str(SalesforceConnection.objects.get(pk=connection.pk).access_token)
    # Spread over the four members' links: one link runs out of free slots after a few rounds.
    from bookings.availability import link_free_slots

    free = {host: link_free_slots(team.links[host]) for host in HOSTS}
    slots = [(HOSTS[i % 4], free[HOSTS[i % 4]][i // 4]) for i in range(arrivals)]
    refreshed: dict = {}
    timings: list[float] = []
    failures: list[str] = []

    def refresh():
        began = time.monotonic()
        try:
            refreshed["token"] = refresh_access_token(connection.pk, stale)
        finally:
            refreshed["seconds"] = time.monotonic() - began
            db_connection.close()

    def invitee(host, start, arrival):
        try:
            response = Client(HTTP_HOST="127.0.0.1").post(
                f"/book/acme/{host}/",
                {"name": "Bench Invitee", "email": "jane.roe@globex.com", "start": start.isoformat()},
            )
            timings.append(time.monotonic() - arrival)
            if response.status_code != 302:
                failures.append(str(response.status_code))
        finally:
            db_connection.close()

    refresher = threading.Thread(target=refresh)
    refresher.start()
    time.sleep(0.1)  # the refresh has started (claimed, or locked, and is on the wire)
    invitees, began = [], time.monotonic()
    for i, (host, start) in enumerate(slots):
        time.sleep(max(0.0, began + i * interval - time.monotonic()))
        thread = threading.Thread(target=invitee, args=(host, start, time.monotonic()))
        thread.start()
        invitees.append(thread)
    for thread in invitees:
        thread.join(60)
    refresher.join(60)
    if failures or "token" not in refreshed:
        raise SystemExit(f"booking POSTs failed ({failures}) or the refresh did not finish")
    return percentile(timings, 50), percentile(timings, 95), refreshed["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4, help="rounds per latency (A B A B ...)")
    parser.add_argument("--arrivals", type=int, default=20, help="booking POSTs per round, one every --interval s")
    parser.add_argument("--interval", type=float, default=0.25)
    parser.add_argument("--slow-ms", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    configure(args.database_url)

    from django.conf import settings
    from django.core.management import call_command

    from tests.fixtures.emulator import start_emulator, stop_emulator
    from tests.fixtures.salesforce import make_team

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)  # a fresh run on a reused PostgreSQL database
    emulator = start_emulator(WORK / "sfdc")
    os.environ.update(emulator.env())
    for key, value in emulator.env().items():
        setattr(settings, key, value)
    settings.SALESFORCE_CLIENT_ID, settings.SALESFORCE_CLIENT_SECRET = (
        "workestra-local-client",
        "workestra-local-secret",
    )
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    try:
        team = make_team(emulator)
        results: dict[int, list[tuple[float, float, float]]] = {0: [], args.slow_ms: []}
        for _ in range(args.rounds):
            for latency in (0, args.slow_ms):
                results[latency].append(one_round(team, latency, args.arrivals, args.interval))
        print(
            f"Database: {engine}; {args.rounds} rounds per latency, interleaved (A B A B); per round a token refresh "
            f"starts, then {args.arrivals} booking POSTs arrive one every {args.interval:g} s"
        )
        for latency, rounds in results.items():
            p50 = statistics.median(r[0] for r in rounds) * 1000
            p95 = statistics.median(r[1] for r in rounds) * 1000
            refresh = statistics.median(r[2] for r in rounds)
            print(
                f"Token endpoint at {latency / 1000:>3.0f} s: booking POST p50 {p50:6.1f} ms, p95 {p95:6.1f} ms "
                f"(median of rounds; refresh took {refresh:.2f} s)"
            )
    finally:
        emulator.control.set_settings(token_latency_ms=0)
        stop_emulator(emulator)


if __name__ == "__main__":
    main()
