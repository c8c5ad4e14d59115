#!/usr/bin/env python
"""Load benchmark: invitees book, reschedule and cancel at a steady rate against gunicorn on
loopback, with a real Celery worker (and beat) pushing to the local Salesforce emulator, which
answers every call after --latency-ms (300 ms by default).

Prints requests/s; p50/p95/p99 of the booking, reschedule and cancel POSTs; errors by type;
the outbox lag (age of the oldest pending/in-progress SyncOperation, sampled every second)
during the run and the time it takes to drain afterwards; Salesforce API calls per booking;
and whether every live booking has its Event (and no cancelled one still has one).

SQLite and the embedded (filesystem) broker in a temporary folder by default. With
--database-url the run creates that PostgreSQL database (its name must contain "load") and
drops it at the end; with --redis-url the broker and cache use that Redis database.

    .venv/bin/python bench/load/run.py [--users 20] [--duration 60] [--pacing 2] [--hosts N]
        [--workspaces 1] [--worker-concurrency 2] [--latency-ms 300] [--keep]
        [--database-url postgres://postgres@127.0.0.1:5432/workestra_load]
        [--redis-url redis://127.0.0.1:6379/8]

Everything it starts (emulator, gunicorn, the Celery worker, locust) is stopped on exit,
Ctrl-C included; --keep leaves the temporary folder (logs, per-request CSV) for a closer look.
"""

import argparse
import csv
import itertools
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
GUNICORN_CONF = Path(__file__).resolve().parent / "gunicorn_conf.py"
sys.path.insert(0, str(ROOT))
POSTS = ("POST /book/[link]/", "POST /bookings/[uid]/reschedule/", "POST /bookings/[uid]/cancel/")
PROTECTED_DATABASES = {"postgres", "template0", "template1", "test", "test_workestra", "workestra"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20, help="concurrent locust users (default 20)")
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started per second (default 10)")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (default 60)")
    parser.add_argument("--pacing", type=float, default=2.0, help="seconds between two actions of one user (default 2)")
    parser.add_argument("--hosts", type=int, default=0, help="members with a booking link (default: max(20, users))")
    parser.add_argument(
        "--workspaces",
        type=int,
        default=1,
        help="connected workspaces the hosts are spread over (default 1: all in acme)",
    )
    parser.add_argument(
        "--latency-ms", type=int, default=300, help="emulator latency per Salesforce call (default 300)"
    )
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--drain-timeout", type=float, default=180, help="seconds to wait for the outbox to drain")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL; the database is created and dropped")
    parser.add_argument("--redis-url", default="", help="Redis URL for the broker and cache")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, CSVs) and database")
    return parser.parse_args()


# ---- processes ------------------------------------------------------------------------------
class Children:
    """Processes this run started, each in its own session so Ctrl-C reaches only this script,
    which then stops each group by its id."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append((name, process))
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 20) -> None:
        if process.poll() is None:
            process.terminate()  # the leader stops its own children (gunicorn workers, the Celery pool)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(process, signal.SIGKILL)  # prefork children left behind, if any
        process.wait()

    def stop_all(self) -> None:
        for _, process in reversed(self.started):
            self.stop(process)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, process: subprocess.Popen, what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited early:\n{log.read_text(errors='replace')[-3000:]}")
        if check():
            return
        time.sleep(0.3)
    raise SystemExit(f"{what} not ready after {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


def page_answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


# ---- PostgreSQL / Redis ---------------------------------------------------------------------
def postgres_database(url: str) -> tuple[str, str]:
    """(database name, URL of the server's `postgres` database). Refuses shared databases."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z0-9_]+", name) or "load" not in name or name in PROTECTED_DATABASES:
        raise SystemExit(f"Refusing database {name!r}: name a throwaway database containing 'load' (it is dropped).")
    return name, urlunsplit(parts._replace(path="/postgres"))


def postgres_recreate(url: str, *, drop_only: bool = False) -> None:
    import psycopg

    name, maintenance = postgres_database(url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def redis_queue_length(url: str, queue: str = "celery") -> int:
    import redis

    return redis.Redis.from_url(url).llen(queue)


# ---- data -----------------------------------------------------------------------------------
def build_team(emulator, hosts: int, workspaces: int) -> list[str]:
    """The `acme` team connected through the real OAuth flow (alice and bob mapped by email,
    carol by override, dave unmapped), plus unmapped members up to `hosts`, spread over
    `workspaces` connected workspaces (acme, acme2, ...). Returns each member's default link path."""
    from tests.fixtures.factories import make_link, make_member, make_workspace
    from tests.fixtures.salesforce import connect_workspace, make_team
    from workestra.models import Membership

    team = make_team(emulator)
    spaces = [team.workspace]
    for number in range(2, workspaces + 1):
        space = make_workspace(f"acme{number}", f"Acme {number}")
        admin = make_member(space, f"admin{number}@acme.test", role=Membership.Role.ADMIN)
        connect_workspace(space, admin, emulator)
        spaces.append(space)
    by_space = {space.pk: [] for space in spaces}
    by_space[team.workspace.pk] = list(team.links.values())
    for number in range(len(team.links) + 1, hosts + 1):
        space = spaces[number % len(spaces)]
        member = make_member(space, f"host{number:02d}@acme.test", first_name="Host", last_name=f"{number:02d}")
        by_space[space.pk].append(
            make_link(member, slug=f"host{number:02d}", title=f"Intro with Host {number:02d}", is_default=True)
        )
    # Interleaved, so locust user i (who books on link i) lands in workspace i mod `workspaces`.
    interleaved = itertools.chain.from_iterable(itertools.zip_longest(*by_space.values()))
    return [link.get_public_path() for link in interleaved if link is not None]


def warn_if_slots_run_short(args) -> None:
    """Each link offers two weeks of slots; a long or heavy run could use them up (and then
    report "no free slot" errors that say nothing about the server)."""
    from bookings.availability import link_free_slots
    from bookings.models import BookingLink

    free = sum(len(link_free_slots(link)) for link in BookingLink.objects.all())
    expected = args.users / args.pacing * args.duration * (0.7 - 0.1)
    if expected > free / 2:
        print(f"Warning: about {expected:.0f} live bookings expected for {free} free slots; add --hosts.", flush=True)


class LagSampler:
    """Once a second: the age of the oldest pending/in-progress outbox row, overall and per
    connection, and how many rows are open."""

    def __init__(self):
        from integrations.salesforce.models import SyncOperation

        self.model = SyncOperation
        self.busy = (SyncOperation.State.PENDING, SyncOperation.State.IN_PROGRESS)
        self.samples: list[tuple[float, float, int]] = []  # (wall clock, lag seconds, open rows)
        self.by_connection: dict[int, list[float]] = {}  # connection id -> lag samples

    def sample(self) -> tuple[float, int]:
        from django.db.models import Count, Min
        from django.utils import timezone

        now = timezone.now()
        rows = (
            self.model.objects.filter(state__in=self.busy)
            .values("connection_id")
            .annotate(oldest=Min("created_at"), rows=Count("id"))
        )
        lags = {row["connection_id"]: (now - row["oldest"]).total_seconds() for row in rows}
        for connection_id, lag in lags.items():
            self.by_connection.setdefault(connection_id, []).append(lag)
        lag, open_rows = max(lags.values(), default=0.0), sum(row["rows"] for row in rows)
        self.samples.append((time.time(), lag, open_rows))
        return lag, open_rows


class CpuMeter:
    """CPU seconds (user + system) of each process tree this run started, between two readings."""

    def __init__(self, trees: dict[str, int], postgres_database: str = ""):
        import psutil

        self.psutil = psutil
        self.trees = trees
        self.postgres_database = postgres_database
        self.start = self.read()
        self.backends_start = self.postgres_backends()
        self.machine_start = psutil.cpu_times()

    def read(self) -> dict[str, float]:
        totals = {}
        for name, pid in self.trees.items():
            try:
                root = self.psutil.Process(pid)
                # This process's own tree holds all the others: count only itself.
                processes = [root] if pid == os.getpid() else [root, *root.children(recursive=True)]
            except self.psutil.NoSuchProcess:
                continue
            total = 0.0
            for process in processes:
                try:
                    times = process.cpu_times()
                    total += times.user + times.system
                except self.psutil.NoSuchProcess:
                    pass
            totals[name] = total
        return totals

    def postgres_backends(self) -> dict[int, float]:
        """CPU seconds of each PostgreSQL backend serving our database ("postgres: user db ...")."""
        if not self.postgres_database:
            return {}
        backends = {}
        for process in self.psutil.process_iter(["cmdline", "cpu_times"]):
            cmdline = " ".join(process.info["cmdline"] or [])
            if (
                cmdline.startswith("postgres:")
                and f" {self.postgres_database} " in f"{cmdline} "
                and process.info["cpu_times"]
            ):
                backends[process.pid] = process.info["cpu_times"].user + process.info["cpu_times"].system
        return backends

    def used(self) -> dict[str, float]:
        end = self.read()
        used = {name: end[name] - self.start.get(name, 0.0) for name in end}
        if self.postgres_database:
            backends = self.postgres_backends()
            used["postgres backends"] = sum(cpu - self.backends_start.get(pid, 0.0) for pid, cpu in backends.items())
        return used

    def machine_busy(self) -> float:
        """CPU seconds the whole machine spent not idle (other people's processes included)."""

        def busy(times):
            return sum(times) - times.idle - getattr(times, "iowait", 0.0)

        return busy(self.psutil.cpu_times()) - busy(self.machine_start)


def read_raw(path: Path) -> list[tuple[float, str, int, float, str]]:
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [(float(t), name, int(status), float(ms), error) for t, name, status, ms, error in csv.reader(handle)]


def server_times(access_log: Path) -> dict[str, list[float]]:
    """Milliseconds gunicorn spent on each request, by the same names the locustfile uses."""
    times: dict[str, list[float]] = {}
    if not access_log.exists():
        return times
    for line in access_log.read_text().splitlines():
        method, path, _, micros = line.split()
        if path.startswith("/book/"):
            name = "/book/[link]/"
        elif path.startswith("/bookings/"):
            name = re.sub(r"^/bookings/[^/]+/", "/bookings/[uid]/", path)
        else:
            continue
        times.setdefault(f"{method} {name}", []).append(int(micros) / 1000)
    return times


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-len(ordered) * p // 100)) - 1))] if ordered else float("nan")


def sf_instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000", "+00:00"))


def verify_events(emulator) -> dict:
    """Every live booking has its Event at the booking's time; no cancelled booking keeps one;
    no booking has two."""
    from bookings.models import Booking
    from integrations.salesforce.models import BookingSync

    events = {record["Id"]: record for record in emulator.control.records("Event")}
    syncs = {sync.booking_id: sync for sync in BookingSync.objects.all()}
    result = Counter()
    claimed = Counter()
    for booking in Booking.objects.all():
        sync = syncs.get(booking.pk)
        event = events.get(sync.sf_event_id) if sync and sync.sf_event_id else None
        if event is not None:
            claimed[event["Id"]] += 1
        if booking.is_live:
            result["live bookings"] += 1
            if event is None:
                result["live bookings without an Event"] += 1
            elif sf_instant(event["StartDateTime"]) != booking.start_at:
                result["live bookings whose Event is at another time"] += 1
        else:
            result["cancelled bookings"] += 1
            if event is not None:
                result["cancelled bookings whose Event still exists"] += 1
    previous_end = {}
    for host_id, start_at, end_at in (
        Booking.objects.exclude(status=Booking.Status.CANCELLED)
        .order_by("host_id", "start_at")
        .values_list("host_id", "start_at", "end_at")
    ):
        if host_id in previous_end and start_at < previous_end[host_id]:
            result["live bookings overlapping another of the host's"] += 1
        previous_end[host_id] = max(end_at, previous_end.get(host_id, end_at))
    result["Events in Salesforce"] = len(events)
    result["Events no booking points to (duplicates/orphans)"] = sum(
        1 for event_id in events if event_id not in claimed
    )
    result["bookings without a BookingSync"] = Booking.objects.exclude(pk__in=list(syncs)).count()
    return result


def api_call_breakdown(emulator) -> Counter:
    shapes = Counter()
    for call in emulator.control.calls():
        if call.get("counted"):
            path = re.sub(r"^/services/data/v[\d.]+", "", call["path"])
            path = re.sub(r"/[a-zA-Z0-9]{15,18}$", "/<id>", path)
            shapes[f"{call['method']} {path}"] += 1
    return shapes


# ---- the run ----------------------------------------------------------------------------------
def main() -> None:
    args = parse_args()
    hosts = args.hosts or max(20, args.users)
    work = Path(tempfile.mkdtemp(prefix="workestra-load-"))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    children = Children(work)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    for name in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH"):
        os.environ.pop(name, None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="workestra.settings.local",
        DJANGO_DEBUG="0",
        WORKESTRA_VAR_DIR=str(work / "var"),
        CELERY_FILESYSTEM_BROKER_DIR=str(work / "broker"),
        PUBLIC_BASE_URL=base_url,
        PYTHONUNBUFFERED="1",
        # Every simulated invitee books from 127.0.0.1: the public POST limits would refuse them.
        RATELIMIT_ENABLED="0",
    )
    emulator = None
    try:
        if args.database_url:
            postgres_recreate(args.database_url)
            os.environ["DATABASE_URL"] = args.database_url
        else:
            os.environ["SQLITE_PATH"] = str(work / "load.sqlite3")
        if args.redis_url:
            waiting = redis_queue_length(args.redis_url)
            if waiting:
                raise SystemExit(
                    f"The Redis queue 'celery' at {args.redis_url} already holds {waiting} messages; use another database."
                )
            os.environ["REDIS_URL"] = args.redis_url
        from tests.fixtures.emulator import start_emulator

        emulator = start_emulator(work / "sfdc")
        os.environ.update(emulator.env())
        result = run(args, hosts, work, base_url, port, children, emulator)
        print_report(args, hosts, result)
    finally:
        clean_up(args, work, children, emulator)


def clean_up(args, work: Path, children: Children, emulator) -> None:
    from django.db import connections

    from tests.fixtures.emulator import stop_emulator

    children.stop_all()
    if emulator is not None:
        stop_emulator(emulator)
    connections.close_all()
    if args.redis_url and os.environ.get("REDIS_URL") == args.redis_url:
        # Drain tasks published after the worker stopped; the queue was empty when the run began.
        import redis

        redis.Redis.from_url(args.redis_url).delete("celery")
    if args.keep:
        print(f"\nKept {work}" + (f" and database {args.database_url}" if args.database_url else ""))
        return
    if args.database_url:
        postgres_recreate(args.database_url, drop_only=True)
    shutil.rmtree(work, ignore_errors=True)


def run(args, hosts: int, work: Path, base_url: str, port: int, children: Children, emulator) -> dict:
    import django

    child_log_level = os.environ.get("LOG_LEVEL")
    os.environ["LOG_LEVEL"] = "WARNING"  # quiet set-up here; the servers keep their own level
    django.setup()
    os.environ.pop("LOG_LEVEL")
    if child_log_level is not None:
        os.environ["LOG_LEVEL"] = child_log_level
    from django.core.management import call_command
    from django.db import connections

    from bookings.models import Booking
    from integrations.salesforce.models import SyncOperation

    call_command("migrate", verbosity=0)
    links = build_team(emulator, hosts, args.workspaces)
    warn_if_slots_run_short(args)
    connections.close_all()
    env = dict(os.environ)

    slow_sql = work / "slow_sql.csv"
    web = children.start(
        "gunicorn",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "workestra.wsgi:application",
            "-c",
            str(GUNICORN_CONF),
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(args.web_workers),
            "--threads",
            str(args.web_threads),
            "--timeout",
            "60",
        ],
        {**env, "LOAD_SLOW_SQL_LOG": str(slow_sql), "LOAD_ACCESS_LOG": str(work / "access.log")},
    )
    worker = children.start(
        "worker",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workestra",
            "worker",
            "--beat",
            "--loglevel=INFO",
            f"--concurrency={args.worker_concurrency}",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"load-{os.getpid()}@%h",
            "--schedule",
            str(work / "beat"),
        ],
        env,
    )
    wait_until(lambda: page_answers(base_url + links[0]), web, "gunicorn", work / "gunicorn.log")
    wait_until(lambda: b" ready." in (work / "worker.log").read_bytes(), worker, "Celery worker", work / "worker.log")

    emulator.control.set_faults(latency_ms=args.latency_ms)
    emulator.control.reset_calls()
    raw_log = work / "requests.csv"
    locust_cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(args.users),
        "-r",
        str(args.spawn_rate),
        "-t",
        f"{args.duration}s",
        "--stop-timeout",
        "10",
        "--host",
        base_url,
        "--csv",
        str(work / "locust"),
        "--only-summary",
    ]
    locust_env = {**env, "LOAD_LINKS": ",".join(links), "LOAD_PACING": str(args.pacing), "LOAD_RAW_LOG": str(raw_log)}
    sampler = LagSampler()
    print(
        f"Load for {args.duration} s: {args.users} users, one action per {args.pacing:g} s each, {hosts} hosts; "
        f"Salesforce at {args.latency_ms} ms ({work})",
        flush=True,
    )

    locust = children.start("locust", locust_cmd, locust_env)
    cpu = CpuMeter(
        {
            "gunicorn": web.pid,
            "celery worker": worker.pid,
            "sfdc emulator": emulator.process.pid,
            "this runner": os.getpid(),
        },
        postgres_database=postgres_database(args.database_url)[0] if args.database_url else "",
    )
    reaped_before = os.times()
    began = time.monotonic()
    while locust.poll() is None:
        sampler.sample()
        time.sleep(max(0.0, 1 - (time.monotonic() - began) % 1))
    ended = time.monotonic()
    cpu_used = cpu.used()
    machine_busy = cpu.machine_busy()
    reaped = os.times()  # locust has exited and been reaped: its CPU time is in our children's
    cpu_used["locust"] = (reaped.children_user - reaped_before.children_user) + (
        reaped.children_system - reaped_before.children_system
    )
    during = list(sampler.samples)

    drained_after = None
    while time.monotonic() - ended < args.drain_timeout:
        _, rows = sampler.sample()
        if rows == 0:
            drained_after = time.monotonic() - ended
            break
        time.sleep(1)
    after = sampler.samples[len(during) :]

    children.stop(worker)  # nothing more may reach Salesforce while we count
    from django.db.models import Max

    last_finished = SyncOperation.objects.aggregate(at=Max("finished_at"))["at"]
    return {
        "cpu": cpu_used,
        "machine_busy": machine_busy,
        "loadavg": os.getloadavg(),
        "lag_by_connection": sampler.by_connection,
        "operations_by_connection": Counter(SyncOperation.objects.values_list("connection_id", flat=True)),
        "last_finished": last_finished.timestamp() if last_finished and drained_after is not None else None,
        "locust_rc": locust.returncode,
        "locust_log": (work / "locust.log").read_text(errors="replace")[-2000:],
        "load_seconds": ended - began,
        "requests": read_raw(raw_log),
        "slow_sql": slow_sql.read_text().splitlines() if slow_sql.exists() else [],
        "server_ms": server_times(work / "access.log"),
        "during": during,
        "after": after,
        "drained_after": drained_after,
        "bookings": Booking.objects.count(),
        "operations": Counter(SyncOperation.objects.values_list("state", flat=True)),
        "commit_to_done": [
            (op.finished_at - op.created_at).total_seconds()
            for op in SyncOperation.objects.filter(finished_at__isnull=False).only("created_at", "finished_at")
        ],
        "api_calls": emulator.control.count(),
        "api_breakdown": api_call_breakdown(emulator),
        "events": verify_events(emulator),
    }


# ---- the report ---------------------------------------------------------------------------------
def print_report(args, hosts: int, r: dict) -> None:
    requests_ = r["requests"]
    answered = [row for row in requests_ if row[2]]
    span = (
        (max(row[0] for row in requests_) - min(row[0] for row in requests_))
        if len(requests_) > 1
        else r["load_seconds"]
    )
    database = "PostgreSQL" if args.database_url else "SQLite"
    broker = "Redis" if args.redis_url else "embedded filesystem broker"
    print(f"\n## Load run: {database}, {broker}, Salesforce emulator at {args.latency_ms} ms")
    print(f"Command: .venv/bin/python {shlex.join(sys.argv)}")
    print(
        f"gunicorn -w {args.web_workers} --threads {args.web_threads}; Celery worker --concurrency={args.worker_concurrency} --beat; "
        f"locust -u {args.users} -r {args.spawn_rate:g} -t {args.duration}s, one action per {args.pacing:g} s per user (steady pacing), "
        f"{hosts} hosts in {args.workspaces} connected workspace(s)"
    )
    if r["locust_rc"] not in (0, 1):
        print(f"locust exited with {r['locust_rc']}:\n{r['locust_log']}")
    print(
        f"\nRequests: {len(requests_)} in {span:.1f} s = {len(requests_) / span:.1f} requests/s "
        f"(each action is a page GET, the form POST and the GET the redirect names)"
    )
    print("\n| request | count | per s | p50 ms | p95 ms | p99 ms | max ms | errors | server p50 / p95 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    names = sorted(
        {row[1] for row in requests_}, key=lambda n: (n not in POSTS, POSTS.index(n) if n in POSTS else 0, n)
    )
    for name in names:
        rows = [row for row in requests_ if row[1] == name]
        timings = [row[3] for row in rows if row[2]]
        errors = sum(1 for row in rows if row[4])
        server = r["server_ms"].get(name.replace(" (after redirect)", ""), [])
        print(
            f"| {name} | {len(rows)} | {len(rows) / span:.2f} | {percentile(timings, 50):.0f} | {percentile(timings, 95):.0f} "
            f"| {percentile(timings, 99):.0f} | {max(timings, default=float('nan')):.0f} | {errors} "
            f"| {percentile(server, 50):.0f} / {percentile(server, 95):.0f} |"
        )
    errors = Counter((row[1], row[4]) for row in requests_ if row[4])
    total_errors = sum(errors.values())
    print(
        "(client-side times from locust, exact nearest-rank percentiles; server = gunicorn's own time for the request, "
        "both GETs of /bookings/[uid]/ together)"
    )
    print(
        f"\nErrors: {total_errors} of {len(requests_)} requests ({100 * total_errors / max(1, len(requests_)):.2f}%)"
        f"; answered requests: {len(answered)}"
    )
    for (name, kind), count in errors.most_common():
        print(f"- {count} × {name}: {kind}")

    during, after = r["during"], r["after"]
    lags = [lag for _, lag, _ in during]
    print("\nOutbox lag (oldest pending/in-progress operation), sampled each second:")
    if lags:
        print(
            f"- during the load ({len(lags)} samples): max {max(lags):.1f} s, mean {statistics.mean(lags):.1f} s, "
            f"p95 {percentile(lags, 95):.1f} s; open rows max {max(rows for _, _, rows in during)}"
        )
    if after:
        print(f"- when the load stopped: lag {after[0][1]:.1f} s, {after[0][2]} open rows")
    last_request = max((row[0] for row in requests_), default=0.0)
    if r["drained_after"] is None:
        last = after[-1] if after else (0, float("nan"), -1)
        print(
            f"- NOT drained within {args.drain_timeout:.0f} s of the load's end (last sample: lag {last[1]:.1f} s, {last[2]} open rows)"
        )
    else:
        print(
            f"- drained {max(0.0, r['last_finished'] - last_request):.1f} s after the last request ended "
            f"(the last operation's finished_at; the sampler saw an empty outbox {r['drained_after']:.1f} s after locust exited)"
        )
    if len(r["lag_by_connection"]) > 1:
        for connection_id, lags in sorted(r["lag_by_connection"].items()):
            print(
                f"- connection {connection_id} ({r['operations_by_connection'][connection_id]} operations): "
                f"lag max {max(lags):.1f} s, mean {statistics.mean(lags):.1f} s over the {len(lags)} samples it had open rows"
            )
    done = r["commit_to_done"]
    if done:
        print(
            f"- commit → outcome recorded in Salesforce, per operation: p50 {percentile(done, 50):.2f} s, "
            f"p95 {percentile(done, 95):.2f} s, max {max(done):.2f} s"
        )

    slow = Counter()
    slow_ms = Counter()
    worst = {}
    for line in r["slow_sql"]:
        _, _, ms, statement = line.split(",", 3)
        key = " ".join(statement.split()[:4])
        slow[key] += 1
        slow_ms[key] += float(ms)
        worst[key] = max(worst.get(key, 0.0), float(ms))
    print(f"\nWeb SQL statements that took 20 ms or more: {sum(slow.values())}")
    for key, count in slow.most_common(8):
        print(f"- {count} × {key} …: {slow_ms[key]:.0f} ms in all, worst {worst[key]:.0f} ms")

    cores = os.cpu_count() or 1
    print(
        f"\nCPU during the load ({r['load_seconds']:.0f} s, {cores} cores = {cores * r['load_seconds']:.0f} CPU-s available): "
        + ", ".join(
            f"{name} {seconds:.1f} s ({100 * seconds / r['load_seconds']:.0f}% of a core)"
            for name, seconds in r["cpu"].items()
        )
        + f"; total {sum(r['cpu'].values()):.1f} CPU-s. Whole machine busy {r['machine_busy']:.1f} CPU-s "
        f"(other processes {r['machine_busy'] - sum(r['cpu'].values()):.1f} CPU-s); load average at the end "
        + " ".join(f"{x:.2f}" for x in r["loadavg"])
    )

    ops = r["operations"]
    print(f"\nOutbox operations: {sum(ops.values())} ({', '.join(f'{state} {n}' for state, n in ops.most_common())})")
    print(
        f"Salesforce API calls: {r['api_calls']} for {r['bookings']} bookings = {r['api_calls'] / max(1, r['bookings']):.3f} per booking, "
        f"{r['api_calls'] / max(1, sum(ops.values())):.3f} per operation"
    )
    for shape, count in r["api_breakdown"].most_common():
        print(f"- {count} × {shape}")
    print("\nEvents vs bookings:")
    for key in (
        "live bookings",
        "Events in Salesforce",
        "live bookings without an Event",
        "live bookings whose Event is at another time",
        "cancelled bookings",
        "cancelled bookings whose Event still exists",
        "Events no booking points to (duplicates/orphans)",
        "bookings without a BookingSync",
        "live bookings overlapping another of the host's",
    ):
        print(f"- {key}: {r['events'][key]}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("Interrupted; every process this run started was stopped.")
