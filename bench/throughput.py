#!/usr/bin/env python
"""Throughput of the Salesforce drain (issue 14) against the local Salesforce emulator, with
real Celery worker processes, on PostgreSQL + Redis and on SQLite + the embedded broker.

Prints, per backend (medians of --repeat runs; ratios come from the same run):
  1. 20 workspaces x 50 bookings at 200 ms, committed one by one with no worker running, then
     drained by 1 worker process, 2 processes and each candidate pool: drain time, its ratio to
     pure Salesforce time (calls x latency), tasks queued, tasks run, no-op tasks, Events per booking;
  2. bursts of 1,000 bookings with 1,000 distinct invitee emails (and with the usual mix): API calls;
  3. steady 1, 5 and 10 bookings/s for --steady-seconds at 100 ms with a warm worker: calls per
     booking, commit -> Event p50 / p95, tasks run and no-op tasks;
  4. 1,000 workspaces x 2 bookings at 100 ms: drain time, the slowest workspace's wait, peak
     worker RSS, tasks;
  5. a naive per-booking pusher (token refresh, contact and lead queries, one create, one
     booking at a time) on --naive-sample of burst 2's bookings at 100 ms, beside the drain;
  6. the booking POST's latency with Salesforce at 0 ms and at 2,000 ms, interleaved A B A B.

    .venv/bin/python bench/throughput.py [--backends pg,sqlite] [--repeat 3] [--steady-seconds 60]
        [--pools prefork:2,prefork:4,threads:8,threads:16] [--chosen threads:8] [--coalesce 0.5]
        [--database-url postgres://postgres@127.0.0.1:5432/h_drain_bench]
        [--redis-url redis://127.0.0.1:6379/3] [--only 1,2,3,4,5,6]

Each backend runs in a child process of its own (Django picks its database at start-up); the
PostgreSQL database is created and dropped, the Redis queue is private to the run.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EMAIL_MIX = ("jane.roe@globex.com", "peter@initech.com", "sam@leadco.example", "art@vandelay.com")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="pg,sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steady-seconds", type=float, default=60)
    parser.add_argument("--steady-rates", default="1,5,10")
    parser.add_argument(
        "--pools",
        default="prefork:4,threads:8,threads:16",
        help="candidate pools for figure 1 besides 1 and 2 default processes",
    )
    parser.add_argument("--chosen", default="threads:8", help="the pool figures 3 and 4 use")
    parser.add_argument("--coalesce", type=float, default=0.8, help="SALESFORCE_COALESCE_SECONDS")
    parser.add_argument("--naive-sample", type=int, default=100)
    parser.add_argument("--post-samples", type=int, default=20)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/h_drain_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--only", default="1,2,3,4,5,6,plans", help="figures to run (plans: PostgreSQL EXPLAIN output)")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---- the parent: one child per backend ---------------------------------------------------------
def main() -> None:
    args = parse_args()
    if args.child:
        return Child(args).run()
    print(f"Command: .venv/bin/python bench/throughput.py {' '.join(sys.argv[1:])}".rstrip(), flush=True)
    for backend in args.backends.split(","):
        subprocess.run([sys.executable, __file__, *sys.argv[1:], "--child", backend], cwd=ROOT, check=False)


def percentile(values, p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, int(-(-len(ordered) * p // 100)) - 1))]


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


# ---- one backend ---------------------------------------------------------------------------------
class Child:
    def __init__(self, args):
        self.args = args
        self.backend = args.child
        self.work = Path(tempfile.mkdtemp(prefix="workestra-throughput-"))
        self.workers: list[subprocess.Popen] = []
        self.day = 2  # each scenario books further ahead, so slots never collide

    # -- set-up
    def run(self) -> None:
        self._environment()
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from tests.fixtures.emulator import start_emulator, stop_emulator

        call_command("migrate", verbosity=0)
        self.emulator = start_emulator(self.work / "sfdc")
        os.environ.update(self.emulator.env())
        for key, value in self.emulator.env().items():
            setattr(settings, key, value)
        settings.SALESFORCE_CLIENT_ID, settings.SALESFORCE_CLIENT_SECRET = (
            "workestra-local-client",
            "workestra-local-secret",
        )
        self.settings = settings
        only = set(self.args.only.split(","))
        try:
            from tests.fixtures.salesforce import make_team

            self.team = make_team(self.emulator)
            database = "PostgreSQL" if self.backend == "pg" else "SQLite"
            broker = "Redis" if self.backend == "pg" else "embedded filesystem broker"
            print(
                f"\n## {database} + {broker} (coalescing window {self.args.coalesce:g} s; medians of {self.args.repeat})",
                flush=True,
            )
            if "1" in only:
                self.figure_1()
            if "2" in only or "5" in only:
                self.figure_2_and_5(only)
            if "3" in only:
                self.figure_3()
            if "4" in only:
                self.figure_4()
            if "6" in only:
                self.figure_6()
            if self.backend == "pg" and "plans" in only:
                self.explain_plans()
        finally:
            self.stop_workers()
            stop_emulator(self.emulator)
            from django.db import connections

            connections.close_all()
            if self.backend == "pg":
                self._postgres(drop_only=True)
                import redis

                redis.Redis.from_url(self.args.redis_url).delete(settings.CELERY_TASK_DEFAULT_QUEUE)
            shutil.rmtree(self.work, ignore_errors=True)

    def _environment(self) -> None:
        for name in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH"):
            os.environ.pop(name, None)
        os.environ.update(
            DJANGO_SETTINGS_MODULE="workestra.settings.test",
            WORKESTRA_TEST_RUN_DIR=str(self.work),
            PUBLIC_BASE_URL="http://127.0.0.1:8000",
            SALESFORCE_COALESCE_SECONDS=str(self.args.coalesce),
            SALESFORCE_DRAIN_WAKE_TTL_SECONDS="300",
            OUTBOX_SWEEP_INTERVAL="30",
            LOG_LEVEL="WARNING",
        )
        if self.backend == "pg":
            self._postgres()
            os.environ.update(DATABASE_URL=self.args.database_url, REDIS_URL=self.args.redis_url)
        else:
            os.environ["SQLITE_PATH"] = str(self.work / "bench.sqlite3")

    def _postgres(self, drop_only: bool = False) -> None:
        from urllib.parse import urlsplit, urlunsplit

        import psycopg

        parts = urlsplit(self.args.database_url)
        name = parts.path.lstrip("/")
        if not re.fullmatch(r"[a-z0-9_]+", name) or "bench" not in name:
            raise SystemExit(
                f"Refusing database {name!r}: name a throwaway database containing 'bench' (it is dropped)."
            )
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if not drop_only:
                conn.execute(f'CREATE DATABASE "{name}"')

    def calls(self) -> int:
        """The emulator's API-call count; its control API can be slow on a loaded machine."""
        for attempt in range(5):
            try:
                return self.emulator.control.count()
            except Exception:  # a read timeout of the control API: ask again
                if attempt == 4:
                    raise
                time.sleep(2)

    # -- workers
    def start_workers(self, specs: list[tuple[str, int]], *, beat: bool = True) -> list[Path]:
        from tests.fixtures.salesforce import worker_sf_env

        env = {
            **os.environ,
            **worker_sf_env(self.emulator),
            "OUTBOX_SWEEP_INTERVAL": "30",
            "SALESFORCE_DRAIN_WAKE_TTL_SECONDS": "300",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        logs = []
        for number, (pool, concurrency) in enumerate(specs):
            log = self.work / f"worker-{time.monotonic_ns()}.log"
            cmd = [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workestra",
                "worker",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                "-Q",
                self.settings.CELERY_TASK_DEFAULT_QUEUE,
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"bench{number}-{time.monotonic_ns()}@%h",
            ]
            if beat and number == 0:
                cmd += ["--beat", "--schedule", str(self.work / f"beat-{time.monotonic_ns()}")]
            with open(log, "wb") as handle:
                self.workers.append(
                    subprocess.Popen(
                        cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
            logs.append(log)
        deadline = time.monotonic() + 90
        while not all(b" ready." in log.read_bytes() for log in logs):
            if time.monotonic() > deadline or any(w.poll() is not None for w in self.workers):
                raise SystemExit(
                    "a worker did not start:\n" + "\n".join(log.read_text(errors="replace")[-2000:] for log in logs)
                )
            time.sleep(0.05)
        return logs

    def stop_workers(self) -> None:
        import signal

        for worker in self.workers:
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(20)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            worker.wait()
        self.workers = []

    def worker_rss(self) -> int:
        import psutil

        total = 0
        for worker in self.workers:
            try:
                root = psutil.Process(worker.pid)
                for process in [root, *root.children(recursive=True)]:
                    total += process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    @staticmethod
    def tasks(logs: list[Path]) -> tuple[int, int]:
        """(drain tasks run, of which found nothing to send), from the workers' task lines."""
        run = noop = 0
        for log in logs:
            for line in log.read_text(errors="replace").splitlines():
                if "salesforce.drain.task" in line:
                    run += 1
                    noop += " handled=0 " in f"{line} "
        return run, noop

    def queued_tasks(self) -> int:
        if self.backend == "pg":
            import redis

            return redis.Redis.from_url(self.args.redis_url).llen(self.settings.CELERY_TASK_DEFAULT_QUEUE)
        folder = Path(self.settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        return sum(
            1
            for path in folder.iterdir()
            if path.name.endswith(".msg") and self.settings.CELERY_TASK_DEFAULT_QUEUE in path.name
        )

    # -- data
    def workspaces(self, count: int, *, cloned: bool) -> list:
        """`count` connected workspaces with one host and link each: through the real OAuth flow,
        or (cloned) as copies of acme's connection, which is how 1,000 of them fit in a minute."""
        from integrations.salesforce.models import SalesforceConnection
        from tests.fixtures.factories import make_link, make_member, make_workspace
        from tests.fixtures.salesforce import connect_workspace
        from workestra.models import Membership

        made = []
        source = self.team.refresh()
        for _ in range(count):
            number = len(made) + 1
            slug = f"ws{self.day}x{number}"
            space = make_workspace(slug, f"Workspace {slug}")
            admin = make_member(space, f"admin.{slug}@acme.test", role=Membership.Role.ADMIN)
            host = make_member(space, f"host.{slug}@acme.test")
            link = make_link(host, slug="intro", title="Intro", is_default=True)
            if cloned:
                connection = SalesforceConnection.objects.create(
                    workspace=space,
                    environment=source.environment,
                    status=source.status,
                    instance_url=source.instance_url,
                    identity_url=source.identity_url,
                    org_id=source.org_id,
                    sf_user_id=source.sf_user_id,
                    sf_username=source.sf_username,
                    access_token=source.access_token,
                    refresh_token=source.refresh_token,
                    connected_at=source.connected_at,
                )
            else:
                connection = connect_workspace(space, admin, self.emulator)
            made.append((connection, link))
        return made

    def book(self, link, connection_id: int, index: int, email: str):
        """A booking committed on its own, as the public page commits it."""
        from datetime import timedelta

        from django.db import transaction
        from django.utils import timezone

        from integrations.salesforce import outbox
        from integrations.salesforce.models import SyncOperation
        from tests.fixtures.factories import make_booking

        start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=self.day, minutes=30 * index)
        with transaction.atomic():
            booking = make_booking(link, start=start, email=email)
            outbox.booking_changed(booking=booking, trigger=SyncOperation.Trigger.CONFIRMED)
        return booking

    def wait_done(self, booking_ids, timeout: float = 600) -> float:
        from integrations.salesforce.models import SyncOperation

        deadline = time.monotonic() + timeout
        while SyncOperation.objects.filter(booking_id__in=booking_ids, state__in=SyncOperation.OPEN_STATES).exists():
            if time.monotonic() > deadline:
                raise SystemExit(f"not drained within {timeout:.0f} s")
            time.sleep(0.05)
        return time.monotonic()

    def one_event_each(self, booking_ids) -> str:
        from integrations.salesforce.models import BookingSync

        ids = list(
            BookingSync.objects.filter(booking_id__in=booking_ids)
            .exclude(sf_event_id="")
            .values_list("sf_event_id", flat=True)
        )
        live = {record["Id"] for record in self.emulator.control.records("Event")}
        ok = len(ids) == len(booking_ids) == len(set(ids)) and set(ids) <= live
        return "yes" if ok else f"NO ({len(set(ids))} Events for {len(booking_ids)} bookings)"

    # -- figure 1
    def figure_1(self) -> None:
        latency = 200
        configs = [
            ("1 process (prefork, 2 children: the default)", [("prefork", 2)]),
            ("2 processes (prefork, 2 children each)", [("prefork", 2), ("prefork", 2)]),
        ]
        for spec in filter(None, self.args.pools.split(",")):
            pool, concurrency = spec.split(":")
            configs.append((f"1 process, --pool={pool} --concurrency={concurrency}", [(pool, int(concurrency))]))
        print(
            f"\n### 1. 20 workspaces x 50 bookings, Salesforce at {latency} ms, committed one by one with no worker running",
            flush=True,
        )
        print(
            "| workers | drain s | calls | calls x latency s | ratio | tasks queued | tasks run | no-op tasks | one Event each |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for name, specs in configs:
            rows = [self._figure_1_run(specs, latency) for _ in range(self.args.repeat)]
            best = sorted(rows, key=lambda r: r["seconds"])[len(rows) // 2]
            print(
                f"| {name} | {median([r['seconds'] for r in rows]):.1f} | {best['calls']} | {best['calls'] * latency / 1000:.1f} "
                f"| {median([r['ratio'] for r in rows]):.2f} | {best['queued']} | {best['run']} "
                f"| {best['noop']} ({100 * best['noop'] / max(1, best['run']):.0f}%) | {best['events']} |",
                flush=True,
            )

    def _figure_1_run(self, specs, latency: int) -> dict:
        control = self.emulator.control
        self.day += 1
        spaces = self.workspaces(20, cloned=True)
        control.set_faults(latency_ms=0)
        bookings = []
        for connection, link in spaces:
            for i in range(50):
                email = EMAIL_MIX[i % 4] if i % 5 else f"b{self.day}.{connection.pk}.{i}@example.org"
                bookings.append(self.book(link, connection.pk, i, email).pk)
        queued = self.queued_tasks()
        control.set_faults(latency_ms=latency)
        control.reset_calls()
        logs = self.start_workers(specs)
        began = time.monotonic()
        ended = self.wait_done(bookings)
        seconds = ended - began
        time.sleep(0.5)  # the last task's log line follows its batch's commit
        calls = self.calls()
        run, noop = self.tasks(logs)
        self.stop_workers()
        control.set_faults(latency_ms=0)
        return {
            "seconds": seconds,
            "calls": calls,
            "ratio": seconds / max(0.001, calls * latency / 1000),
            "queued": queued,
            "run": run,
            "noop": noop,
            "events": self.one_event_each(bookings),
        }

    # -- figures 2 and 5
    def figure_2_and_5(self, only) -> None:
        from integrations.salesforce.drain import drain

        control = self.emulator.control
        print(
            "\n### 2. Bursts of 1,000 bookings in one workspace (drained in this process, Salesforce at 0 ms)",
            flush=True,
        )
        naive_ids = []
        for label, distinct in (
            ("1,000 distinct invitee emails", True),
            ("the mix: 4 seeded contacts, 1 new email in 5", False),
        ):
            calls, seconds = [], []
            for _ in range(self.args.repeat):
                self.day += 1
                space = self.workspaces(1, cloned=True)[0]
                connection, link = space
                ids = [
                    self.book(
                        link,
                        connection.pk,
                        i,
                        f"d{self.day}.{i}@example.org" if distinct or i % 5 == 0 else EMAIL_MIX[i % 4],
                    ).pk
                    for i in range(1000)
                ]
                if distinct and not naive_ids:
                    naive_ids = ids[: self.args.naive_sample]
                control.reset_calls()
                began = time.monotonic()
                while drain(connection.pk):
                    pass
                seconds.append(time.monotonic() - began)
                calls.append(self.calls())
                assert self.one_event_each(ids) == "yes", self.one_event_each(ids)
            print(
                f"- {label}: {median(calls):.0f} API calls ({min(calls)}-{max(calls)}); drained in {median(seconds):.1f} s",
                flush=True,
            )
        if "5" in only:
            self.figure_5(naive_ids)

    def figure_5(self, booking_ids) -> None:
        """A Cal.com-style pusher: per booking a token refresh, a Contact query, a Lead query
        when no Contact matched, and one Event create, synchronously."""
        import requests

        from bookings.models import Booking
        from integrations.salesforce import payloads
        from integrations.salesforce.models import SalesforceConnection

        latency = 100
        control = self.emulator.control
        connection = SalesforceConnection.objects.get(workspace_id=Booking.objects.get(pk=booking_ids[0]).workspace_id)
        control.set_faults(latency_ms=latency)
        control.reset_calls()
        session, http = requests.Session(), 0
        version = self.settings.SALESFORCE_API_VERSION
        began = time.monotonic()
        for booking in Booking.objects.filter(pk__in=booking_ids).select_related("link", "host"):
            token = session.post(
                f"{self.emulator.login_url}/services/oauth2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": str(connection.refresh_token),
                    "client_id": self.settings.SALESFORCE_CLIENT_ID,
                    "client_secret": self.settings.SALESFORCE_CLIENT_SECRET,
                },
            ).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            base = f"{token['instance_url']}/services/data/v{version}"
            email = booking.invitee_email.replace("'", "\\'")
            http += 2
            who = session.get(
                f"{base}/query/", params={"q": f"SELECT Id FROM Contact WHERE Email = '{email}'"}, headers=headers
            ).json()
            if not who.get("records"):
                http += 1
                who = session.get(
                    f"{base}/query/", params={"q": f"SELECT Id FROM Lead WHERE Email = '{email}'"}, headers=headers
                ).json()
            fields = payloads.event_fields(
                booking, owner_id=connection.sf_user_id, who_id=(who.get("records") or [{}])[0].get("Id"), what_id=None
            )
            http += 1
            session.post(f"{base}/sobjects/Event/", json=fields, headers=headers).raise_for_status()
        seconds = time.monotonic() - began
        sample = len(booking_ids)
        control.set_faults(latency_ms=0)
        print(
            f"\n### 5. Naive per-booking pusher, Salesforce at {latency} ms, {sample} of burst 2's distinct-email bookings "
            f"(x{1000 / sample:g} for 1,000)",
            flush=True,
        )
        print(
            f"- {http} HTTP requests ({control.count()} counted as API calls) and {seconds:.1f} s for {sample} bookings "
            f"= {http * 1000 / sample:.0f} requests and {seconds * 1000 / sample:.0f} s per 1,000; "
            "the drain's figures for 1,000 are in 2 (calls) and 1/4 (time)",
            flush=True,
        )

    # -- figure 3
    def figure_3(self) -> None:
        latency = 100
        pool, concurrency = self.args.chosen.split(":")
        print(
            f"\n### 3. Steady traffic for {self.args.steady_seconds:g} s per run, Salesforce at {latency} ms, one warm worker "
            f"(--pool={pool} --concurrency={concurrency}), one workspace, emails from the mix",
            flush=True,
        )
        print("| bookings/s | calls per booking | commit -> Event p50 s | p95 s | tasks run | no-op tasks |")
        print("|---:|---:|---:|---:|---:|---:|")
        control = self.emulator.control
        for rate in [float(r) for r in self.args.steady_rates.split(",")]:
            rows = []
            for _ in range(self.args.repeat):
                self.day += 1
                connection, link = self.workspaces(1, cloned=True)[0]
                logs = self.start_workers([(pool, int(concurrency))])
                control.set_faults(latency_ms=latency)
                control.reset_calls()
                rows.append(self._steady(connection, link, rate, logs))
                self.stop_workers()
                control.set_faults(latency_ms=0)

            def pick(key: str, rows: list[dict] = rows) -> float:
                return median([r[key] for r in rows])

            noop = pick("noop")
            print(
                f"| {rate:g} | {pick('per_booking'):.2f} | {pick('p50'):.2f} | {pick('p95'):.2f} | {pick('run'):.0f} "
                f"| {noop:.0f} ({100 * noop / max(1, pick('run')):.0f}%) |",
                flush=True,
            )

    def _steady(self, connection, link, rate: float, logs) -> dict:
        from integrations.salesforce.models import SyncOperation

        committed = {}
        count = int(rate * self.args.steady_seconds)
        began = time.monotonic()
        for i in range(count):
            time.sleep(max(0.0, began + i / rate - time.monotonic()))
            booking = self.book(link, connection.pk, i, EMAIL_MIX[i % 4] if i % 5 else f"s{self.day}.{i}@example.org")
            committed[booking.pk] = time.time()
        self.wait_done(list(committed))
        calls = self.calls()
        latencies = [
            op.finished_at.timestamp() - committed[op.booking_id]
            for op in SyncOperation.objects.filter(booking_id__in=list(committed)).only("booking_id", "finished_at")
        ]
        run, noop = self.tasks(logs)
        return {
            "per_booking": calls / count,
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "run": run,
            "noop": noop,
        }

    # -- figure 4
    def figure_4(self) -> None:
        from django.db.models import Max, Min

        from integrations.salesforce.models import SyncOperation

        latency = 100
        pool, concurrency = self.args.chosen.split(":")
        print(
            f"\n### 4. 1,000 workspaces x 2 bookings, Salesforce at {latency} ms, committed with no worker running, then one "
            f"worker --pool={pool} --concurrency={concurrency}",
            flush=True,
        )
        control = self.emulator.control
        rows = []
        for _ in range(self.args.repeat if self.args.repeat < 3 else 1):
            self.day += 1
            spaces = self.workspaces(1000, cloned=True)
            bookings = [
                self.book(link, connection.pk, i, EMAIL_MIX[i]).pk for connection, link in spaces for i in range(2)
            ]
            queued = self.queued_tasks()
            control.set_faults(latency_ms=latency)
            control.reset_calls()
            logs = self.start_workers([(pool, int(concurrency))])
            began_wall, began = time.time(), time.monotonic()
            peak, done = 0, threading.Event()

            def sample_rss(done: threading.Event) -> None:
                nonlocal peak
                while not done.is_set():
                    peak = max(peak, self.worker_rss())
                    time.sleep(0.2)

            sampler = threading.Thread(target=sample_rss, args=(done,))
            sampler.start()
            ended = self.wait_done(bookings, timeout=900)
            done.set()
            sampler.join()
            per_space = (
                SyncOperation.objects.filter(booking_id__in=bookings)
                .values("connection_id")
                .annotate(last=Max("finished_at"), first=Min("created_at"))
            )
            slowest = max(row["last"].timestamp() - began_wall for row in per_space)
            run, noop = self.tasks(logs)
            rows.append(
                {
                    "seconds": ended - began,
                    "slowest": slowest,
                    "rss": peak,
                    "calls": self.calls(),
                    "queued": queued,
                    "run": run,
                    "noop": noop,
                    "events": self.one_event_each(bookings),
                }
            )
            self.stop_workers()
            control.set_faults(latency_ms=0)
        row = rows[len(rows) // 2]
        print(
            f"- drained in {row['seconds']:.1f} s; the slowest workspace's last row finished {row['slowest']:.1f} s after the worker "
            f"was ready; peak worker RSS {row['rss'] / 2**20:.0f} MiB; {row['calls']} API calls; tasks queued {row['queued']}, "
            f"run {row['run']}, no-op {row['noop']} ({100 * row['noop'] / max(1, row['run']):.0f}%); one Event each: {row['events']}"
            + ("" if len(rows) > 1 else " (one run: 1,000 workspaces take a while to set up)"),
            flush=True,
        )

    # -- figure 6
    def figure_6(self) -> None:
        from django.test import Client

        pool, concurrency = self.args.chosen.split(":")
        self.start_workers([(pool, int(concurrency))])
        client = Client(HTTP_HOST="127.0.0.1")
        control = self.emulator.control
        timings = {0: [], 2000: []}
        for i in range(self.args.post_samples * 2):
            latency = 0 if i % 2 == 0 else 2000
            control.set_faults(latency_ms=latency)
            start = self.team.free_slot("dave", i)
            began = time.monotonic()
            response = client.post(
                "/book/acme/dave/",
                {"name": "Bench Invitee", "email": "jane.roe@globex.com", "start": start.isoformat()},
            )
            timings[latency].append(time.monotonic() - began)
            assert response.status_code == 302, response.status_code
        control.set_faults(latency_ms=0)
        self.stop_workers()
        print(
            f"\n### 6. Booking POST (Django test client, email jane.roe@globex.com, a warm worker pushing), "
            f"{self.args.post_samples} each, interleaved A B A B",
            flush=True,
        )
        for latency, values in timings.items():
            print(
                f"- Salesforce at {latency:>4} ms: p50 {percentile(values, 50) * 1000:.1f} ms, p95 {percentile(values, 95) * 1000:.1f} ms "
                f"(mean {statistics.mean(values) * 1000:.1f} ms)",
                flush=True,
            )

    # -- plans
    def explain_plans(self) -> None:
        """EXPLAIN of the sweep, the claim and the settings page's queries, with every
        workspace made above (over 1,000 connected) in the database."""
        from django.db import connection as db
        from django.db.models import Q
        from django.utils import timezone

        from integrations.salesforce import selectors
        from integrations.salesforce.models import SalesforceConnection, SyncOperation

        State = SyncOperation.State
        now = timezone.now()
        target = SalesforceConnection.objects.order_by("-pk").first()
        with db.cursor() as cursor:
            cursor.execute("ANALYZE")
        expired = Q(connection__drain_lease_until__isnull=True) | Q(connection__drain_lease_until__lt=now)
        queries = {
            "sweep: connections with due rows and no drain": SyncOperation.objects.filter(
                state=State.PENDING, next_attempt_at__lte=now, connection__status=SalesforceConnection.Status.CONNECTED
            )
            .filter(expired, Q(connection__drain_wake_at__isnull=True) | Q(connection__drain_wake_at__lt=now))
            .values_list("connection_id", flat=True)
            .distinct(),
            "sweep: stranded in-progress rows": SyncOperation.objects.filter(
                expired, state=State.IN_PROGRESS
            ).values_list("pk", "attempts"),
            "claim: due rows of one connection": SyncOperation.objects.filter(
                connection=target, state=State.PENDING, next_attempt_at__lte=now
            )
            .order_by("id")
            .values_list("booking_id", flat=True)[:5000],
            "window: oldest pending row of one connection": SyncOperation.objects.filter(
                connection=target, state=State.PENDING
            ).order_by("next_attempt_at")[:1],
            "settings page: last errors": selectors.recent_errors(target),
            "settings page: open rows": SyncOperation.objects.filter(
                connection=target, state__in=SyncOperation.OPEN_STATES
            ),
        }
        print(
            f"\n### PostgreSQL plans ({SalesforceConnection.objects.count()} connections, {SyncOperation.objects.count()} outbox rows)"
        )
        for name, queryset in queries.items():
            print(f"\n{name}:\n```\n{queryset.explain()}\n```", flush=True)


if __name__ == "__main__":
    main()
