"""The fault suite's harness.

Every fault test does the same four things around its fault: a seeded workload of bookings,
reschedules and cancels through the public pages; a bounded wait until the outbox settles;
the end state Salesforce must hold (one live Event per live pushed booking, at its current
time, none for cancelled ones, no orphans); and a row in RESULTS, which conftest.py prints
as a table and writes to var/faults_report.md (bench/faults_report.md with `make faults-report`).

It also holds the processes a fault needs: a worker killed with SIGKILL (its whole tree),
a private redis-server that can be stopped, and a stand-in web process (faults_booker.py).
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
RESULTS: list[FaultResult] = []

HOSTS = ("alice", "bob", "carol", "dave")  # dave has no Salesforce user: the connecting user owns his Events
# Contacts (one of them duplicated), leads, and strangers (None): every matching path of a push.
EMAILS = (
    "jane.roe@globex.com",
    "peter@initech.com",
    "art@vandelay.com",
    "dup@vandelay.com",
    "gavin@hooli.com",
    "sam@leadco.example",
    "Mixed.Case@LeadCo.example",
    "una@nowhere.example",
    None,
    None,
)
UID_IN_URL = re.compile(r"/bookings/([A-Za-z0-9_-]{8,32})/")
# What an Event's Description links to: the member page, by booking pk (never the invitee's uid URL).
MEMBER_PATH_IN_TEXT = re.compile(r"/calendar/bookings/(\d+)/")
CREATE_PATH = re.compile(r"^/services/data/v[\d.]+/composite/sobjects/?$")


def is_create_call(call: dict) -> bool:
    """An emulator call-log entry that creates records: a Collections POST, or a /composite
    carrying one (the push sends its creates that way)."""
    if call["method"] != "POST":
        return False
    return bool(CREATE_PATH.match(call["path"])) or "POST /composite/sobjects" in (call.get("subrequests") or "")


# ---- tuning for the worker processes ------------------------------------------------------
def fault_worker_env(emulator, **overrides) -> dict[str, str]:
    """worker_sf_env with retries that fit a test: short backoff, many attempts, a short
    lease (a killed worker's rows come back quickly), a one-second sweep."""
    from tests.fixtures.salesforce import worker_sf_env

    env = worker_sf_env(emulator)
    env.update(
        SALESFORCE_HTTP_TIMEOUT="3",
        SALESFORCE_RETRY_BASE_SECONDS="0.5",
        SALESFORCE_RETRY_MAX_SECONDS="4",
        SALESFORCE_MAX_ATTEMPTS="30",
        SALESFORCE_DRAIN_LEASE_SECONDS="8",
        SALESFORCE_DEFER_SECONDS="2",
        OUTBOX_SWEEP_INTERVAL="1",
    )
    env.update({key: str(value) for key, value in overrides.items()})
    return env


# ---- who posts the public pages -------------------------------------------------------------
class EnqueueFailures(logging.Handler):
    """Counts `salesforce.outbox.enqueue_failed` warnings: the broker refused a drain task."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record):
        if record.getMessage() == "salesforce.outbox.enqueue_failed":
            self.count += 1


@contextmanager
def counting_enqueue_failures():
    handler = EnqueueFailures()
    logger = logging.getLogger("integrations.salesforce.outbox")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


class PageActor:
    """An invitee on the public pages of this process (Django's test client)."""

    def __init__(self, client):
        self.client = client

    def post(self, path: str, data: dict) -> dict:
        started = time.monotonic()
        with counting_enqueue_failures() as failures:
            response = self.client.post(path, data)
        return {
            "status": response.status_code,
            "location": response.get("Location", ""),
            "enqueue_failed": failures.count,
            "seconds": time.monotonic() - started,
            "body": "" if response.status_code == 302 else response.content.decode(errors="replace")[:1500],
        }

    def close(self) -> None:
        pass


class BookerProcess:
    """A stand-in web process (faults_booker.py) with its own Celery app and broker
    connection: the same public pages, posted one JSON line at a time."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in close()
        self.log_path = log_path
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "faults_booker.py")],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        hello = self._read(timeout=60)
        if not hello.get("ready"):
            raise RuntimeError(f"booker did not start: {hello}\n{self.log_tail()}")
        self.broker = hello["broker"]

    def post(self, path: str, data: dict) -> dict:
        self.process.stdin.write((json.dumps({"path": path, "data": data}) + "\n").encode())
        self.process.stdin.flush()
        answer = self._read(timeout=60)
        if "error" in answer:
            raise RuntimeError(f"booker failed on {path}: {answer['error']}")
        return answer

    def _read(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            raise RuntimeError(
                f"booker gave no answer within {timeout}s (exit {self.process.poll()})\n{self.log_tail()}"
            )
        return json.loads(line)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


# ---- the workload ---------------------------------------------------------------------------
class Workload:
    """Bookings on random links and slots, each possibly followed by a reschedule or a cancel
    of a random earlier booking; decisions come from a seeded random.Random."""

    def __init__(self, team, actor, *, seed: int, reschedule: float = 0.3, cancel: float = 0.15, pause=(0.02, 0.12)):
        self.team = team
        self.actor = actor
        self.rng = random.Random(seed)
        self.reschedule_share, self.cancel_share, self.pause = reschedule, cancel, pause
        self.order: list[str] = []  # uids in creation order, so choices do not depend on uid values
        self.host_of: dict[str, str] = {}
        self.live: set[str] = set()
        self.created = self.rescheduled = self.cancelled = 0
        self.enqueue_failed = 0
        self.slowest_post = 0.0

    def keep_booking_until(self, predicate, *, timeout: float, what: str, every: float = 2.0):
        """Poll `predicate` (a fault needs some traffic to fire); book again every `every` s."""
        deadline, next_booking = time.monotonic() + timeout, time.monotonic() + every
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= next_booking:
                self.create()
                next_booking = time.monotonic() + every
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")

    def run(self, bookings: int, *, hooks: dict | None = None) -> list[str]:
        """Make `bookings` bookings; hooks[i]() runs right after the i-th (0-based) of this call."""
        made = []
        for index in range(bookings):
            made.append(self.create())
            roll = self.rng.random()
            if roll < self.reschedule_share and self.live:
                self.reschedule()
            elif roll < self.reschedule_share + self.cancel_share and self.live:
                self.cancel()
            if hooks and index in hooks:
                hooks[index]()
            time.sleep(self.rng.uniform(*self.pause))
        return made

    def create(self) -> str:
        host = self.rng.choice(HOSTS)
        email = self.rng.choice(EMAILS) or f"guest{len(self.order)}@example.org"
        answer = self._post(
            f"/book/acme/{host}/", {"name": f"Invitee {len(self.order)}", "email": email, "start": self._slot(host)}
        )
        uid = UID_IN_URL.search(answer["location"]).group(1)
        self.order.append(uid)
        self.host_of[uid] = host
        self.live.add(uid)
        self.created += 1
        return uid

    def reschedule(self, uid: str | None = None) -> None:
        uid = uid or self._pick_live()
        self._post(f"/bookings/{uid}/reschedule/", {"start": self._slot(self.host_of[uid])})
        self.rescheduled += 1

    def cancel(self) -> None:
        uid = self._pick_live()
        self._post(f"/bookings/{uid}/cancel/", {"reason": "Fault suite: plans changed"})
        self.live.discard(uid)
        self.cancelled += 1

    def _pick_live(self) -> str:
        return self.rng.choice([uid for uid in self.order if uid in self.live])

    def _slot(self, host: str) -> str:
        from bookings.availability import link_free_slots

        slots = link_free_slots(self.team.links[host])
        return self.rng.choice(slots[:160]).isoformat()

    def _post(self, path: str, data: dict) -> dict:
        answer = self.actor.post(path, data)
        # The invitee must never see a Salesforce or broker problem.
        assert answer["status"] == 302, f"POST {path} answered {answer['status']}: {answer.get('body', '')}"
        self.enqueue_failed += answer.get("enqueue_failed", 0)
        self.slowest_post = max(self.slowest_post, answer.get("seconds", 0.0))
        return answer


# ---- waiting and checking -------------------------------------------------------------------
def outbox_summary(connection_id: int) -> dict[str, int]:
    from integrations.salesforce.models import SyncOperation

    return dict(Counter(SyncOperation.objects.filter(connection_id=connection_id).values_list("state", flat=True)))


def wait_settled(
    connection_id: int, *, timeout: float, allow_waiting: bool = False, logs=lambda: "", tick=lambda: None
) -> float:
    """Block until no row is pending, in progress or deferred (nor waiting for a reconnect,
    unless allowed) for a whole second. Returns the monotonic time it first looked settled.
    Fails at once when the connection asks for a reconnect that the test did not expect."""
    from integrations.salesforce.models import SalesforceConnection, SyncOperation

    State = SyncOperation.State
    busy = [State.PENDING, State.IN_PROGRESS, State.DEFERRED] + ([] if allow_waiting else [State.WAITING_RECONNECT])
    deadline = time.monotonic() + timeout
    quiet_since = None
    while True:
        tick()
        now = time.monotonic()
        if SyncOperation.objects.filter(connection_id=connection_id, state__in=busy).exists():
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= 1.0:
            return quiet_since
        if not allow_waiting:
            connection = SalesforceConnection.objects.get(pk=connection_id)
            if connection.status != SalesforceConnection.Status.CONNECTED:
                raise AssertionError(
                    f"the connection turned {connection.status}: {connection.last_error} {outbox_summary(connection_id)}\n{logs()}"
                )
        if now > deadline:
            raise AssertionError(
                f"the outbox did not settle within {timeout:.0f}s: {outbox_summary(connection_id)}\n{logs()}"
            )
        time.sleep(0.2)


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class Verdict:
    live: int = 0
    cancelled: int = 0
    lost: list = field(default_factory=list)  # live pushed bookings without an Event
    duplicated: list = field(default_factory=list)  # extra Events of a live booking
    stale: list = field(default_factory=list)  # an Event not at the booking's current time
    untracked: list = field(default_factory=list)  # BookingSync names another Event than the live one
    cancelled_with_event: list = field(default_factory=list)
    orphans: list = field(default_factory=list)  # Events that name no booking of this workspace
    bad_operations: list = field(default_factory=list)  # rows not in an end state, or failed without a reason
    states: dict = field(default_factory=dict)

    @property
    def extra_events(self) -> int:
        return len(self.duplicated) + len(self.cancelled_with_event) + len(self.orphans)

    def problems(self) -> dict:
        names = ("lost", "duplicated", "stale", "untracked", "cancelled_with_event", "orphans", "bad_operations")
        return {name: getattr(self, name) for name in names if getattr(self, name)}


def check_salesforce(team, baseline_event_ids: set[str]) -> Verdict:
    """What Salesforce holds against what Workestra says, booking by booking."""
    from bookings.models import Booking
    from integrations.salesforce.models import BookingSync, SyncOperation
    from integrations.salesforce.payloads import sf_datetime

    State = SyncOperation.State
    verdict = Verdict()
    events = [e for e in team.emulator.control.records("Event") if e["Id"] not in baseline_event_ids]
    bookings = {b.uid: b for b in Booking.objects.filter(workspace=team.workspace)}
    uid_of_pk = {str(b.pk): uid for uid, b in bookings.items()}
    syncs = {s.booking_id: s for s in BookingSync.objects.filter(workspace=team.workspace)}
    events_of: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        match = MEMBER_PATH_IN_TEXT.search(event.get("Description") or "")
        if match and match.group(1) in uid_of_pk:
            events_of[uid_of_pk[match.group(1)]].append(event)
        else:
            verdict.orphans.append(event["Id"])
    for uid, booking in bookings.items():
        found, sync = events_of.get(uid, []), syncs.get(booking.pk)
        if not booking.is_live:
            verdict.cancelled += 1
            verdict.cancelled_with_event += [(uid, e["Id"]) for e in found]
            continue
        if sync is None:  # never chosen for Salesforce (not expected here: every link pushes)
            verdict.orphans += [e["Id"] for e in found]
            continue
        verdict.live += 1
        if not found:
            verdict.lost.append((uid, sync.event_state, sync.sf_event_id))
            continue
        verdict.duplicated += [(uid, e["Id"]) for e in found[1:]]
        want = sf_datetime(booking.start_at)
        verdict.stale += [(uid, e["Id"], e["StartDateTime"], want) for e in found if e["StartDateTime"] != want]
        if sync.sf_event_id not in {e["Id"] for e in found} or sync.event_state != BookingSync.EventState.LIVE:
            verdict.untracked.append((uid, sync.sf_event_id, sync.event_state, [e["Id"] for e in found]))
    operations = SyncOperation.objects.filter(connection=team.connection)
    verdict.states = dict(Counter(op.state for op in operations))
    final = {State.PUSHED, State.COALESCED, State.SKIPPED, State.FAILED, State.WAITING_RECONNECT}
    for op in operations:
        if op.state not in final or (op.state in (State.FAILED, State.WAITING_RECONNECT) and not op.outcome.strip()):
            verdict.bad_operations.append((op.pk, op.state, op.outcome, op.error_code))
    return verdict


# ---- one fault run and its row in the report --------------------------------------------------
@dataclass
class FaultResult:
    fault: str
    bookings: int
    reschedules: int
    cancels: int
    operations: int
    api_calls: int
    lost: int
    duplicated: int
    stale: int
    drain_seconds: float
    total_seconds: float
    notes: str
    passed: bool


class FaultRun:
    """Brackets one fault test: baseline on entry, the verdict and the report row at finish()."""

    def __init__(self, name: str, team, fault_workers):
        self.name, self.team = name, team
        self.fault_workers = fault_workers
        self.restarts: list[str] = []
        self.started = time.monotonic()
        self.calls_before = team.emulator.control.count()
        self.baseline = {e["Id"] for e in team.emulator.control.records("Event")}
        self.load: Workload | None = None

    def workload(self, actor, **options) -> Workload:
        self.load = Workload(self.team, actor, **options)
        return self.load

    def logs(self) -> str:
        return "\n".join(
            f"--- worker {i} ---\n{worker_log_digest(w)}" for i, w in enumerate(self.fault_workers.started)
        )

    def supervise(self) -> list[str]:
        """Restart workers that exited on their own (see fault_workers); remember why."""
        reasons = self.fault_workers.supervise()
        self.restarts += reasons
        return reasons

    def settle(self, *, recovered_at: float, timeout: float = 120, allow_waiting: bool = False) -> float:
        try:
            settled_at = wait_settled(
                self.team.connection.pk,
                timeout=timeout,
                allow_waiting=allow_waiting,
                logs=self.logs,
                tick=self.supervise,
            )
        except AssertionError as error:
            if self.load is not None:  # the table shows the failure too
                self.finish(
                    self.load, drain_seconds=float("nan"), notes=f"did not settle: {str(error).splitlines()[0][:160]}"
                )
            raise
        return max(0.0, settled_at - recovered_at)

    def finish(self, workload: Workload, *, drain_seconds: float, notes: str = "") -> Verdict:
        verdict = check_salesforce(self.team, self.baseline)
        verdict_notes = [notes] if notes else []
        adopted = adopted_count(self.team)
        if adopted:
            verdict_notes.append(f"{adopted} adopted after an unknown outcome")
        if self.restarts:
            verdict_notes.append(f"workers that exited by themselves and were restarted: {self.restarts}")
        RESULTS.append(
            FaultResult(
                fault=self.name,
                bookings=workload.created,
                reschedules=workload.rescheduled,
                cancels=workload.cancelled,
                operations=sum(verdict.states.values()),
                api_calls=self.team.emulator.control.count() - self.calls_before,
                lost=len(verdict.lost),
                duplicated=verdict.extra_events,
                stale=len(verdict.stale) + len(verdict.untracked),
                drain_seconds=drain_seconds,
                total_seconds=time.monotonic() - self.started,
                notes="; ".join(verdict_notes),
                passed=not verdict.problems() and not math.isnan(drain_seconds),
            )
        )
        return verdict

    def assert_clean(self, verdict: Verdict) -> None:
        assert not verdict.lost, f"lost Events: {verdict.lost}\n{self.logs()}"
        assert verdict.extra_events == 0, f"duplicated Events: {verdict.problems()}\n{self.logs()}"
        assert not verdict.problems(), f"{verdict.problems()}\n{self.logs()}"


def exit_reason(worker) -> str:
    log = worker.log_path.read_text(errors="replace")
    critical = [
        line.split("CRITICAL", 1)[1].split("] ", 1)[-1].strip() for line in log.splitlines() if "CRITICAL" in line
    ]
    return f"exit {worker.process.returncode}: {critical[-1][:110] if critical else 'no CRITICAL line in its log'}"


def worker_log_digest(worker) -> str:
    """Every error headline of a worker's log (a crash early on scrolls out of the tail), then the tail."""
    lines = worker.log_path.read_text(errors="replace").splitlines()
    errors = [line for line in lines if any(word in line for word in ("CRITICAL", "ERROR", "Error:", "Unrecoverable"))]
    alive = "alive" if worker.process.poll() is None else f"exited {worker.process.returncode}"
    return "\n".join([f"[{alive}; {len(errors)} error lines]", *errors[-15:], "[tail]", *lines[-25:]])


def adopted_count(team) -> int:
    """Bookings whose Event was created by a request whose answer never arrived, then found."""
    from integrations.salesforce.models import BookingSync

    return BookingSync.objects.filter(
        workspace=team.workspace, warnings__contains="it was adopted, not duplicated"
    ).count()


# ---- processes a fault needs ------------------------------------------------------------------
def process_tree(pid: int) -> list[int]:
    """pid and all its descendants, read before anything is killed (a killed parent's children
    are re-parented and can no longer be found through it)."""
    found, frontier = [pid], [pid]
    while frontier:
        out = subprocess.run(["pgrep", "-P", str(frontier.pop())], capture_output=True, text=True, check=False).stdout
        children = [int(child) for child in out.split()]
        found += children
        frontier += children
    return found


def kill_worker_tree(worker) -> list[int]:
    """SIGKILL a worker's main process, its pool children and its embedded beat, all at once."""
    pids = process_tree(worker.process.pid)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    worker.process.wait(10)
    wait_for(
        lambda: not [pid for pid in pids if _alive(pid)], timeout=10, what=f"killed worker processes {pids} to exit"
    )
    return pids


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of this test's own, on a free port, so stopping it harms no other run."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        log = open(self.workdir / f"redis-{self.port}.log", "ab")  # noqa: SIM115 - the server keeps it
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for(self.answers, timeout=15, what=f"redis-server on port {self.port}")
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


# ---- the table --------------------------------------------------------------------------------
COLUMNS = (
    "fault",
    "result",
    "bookings",
    "resched",
    "cancels",
    "ops",
    "API calls",
    "lost",
    "duplicated",
    "stale",
    "drain s",
    "total s",
    "notes",
)


def results_table(results: list[FaultResult]) -> str:
    rows = [
        (
            r.fault,
            "ok" if r.passed else "FAIL",
            r.bookings,
            r.reschedules,
            r.cancels,
            r.operations,
            r.api_calls,
            r.lost,
            r.duplicated,
            r.stale,
            f"{r.drain_seconds:.1f}",
            f"{r.total_seconds:.1f}",
            r.notes,
        )
        for r in sorted(results, key=lambda r: r.fault)
    ]
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
