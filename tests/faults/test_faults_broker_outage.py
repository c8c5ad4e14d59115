"""Fault 2: the broker goes away while invitees book, then comes back.

With REDIS_URL set (CI) the outage is real: this test starts a redis-server of its own (the
shared one on 6379 serves other runs), points a stand-in web process (faults_booker.py) and the
worker at it, stops it for the outage and starts it again, empty, on the same port. Without
REDIS_URL (SQLite + the filesystem broker) the web side's outage is simulated: a booker
process whose REDIS_URL names a port nothing listens on, so every enqueue fails.
"""

import os
import shutil
import time

import faults_harness as harness
import pytest

from bookings.models import Booking
from integrations.salesforce.models import SyncOperation
from tests.fixtures.worker import worker_env

pytestmark = [pytest.mark.faults, pytest.mark.worker, pytest.mark.emulator]
OUTAGE_SECONDS = 10


def real_redis_wanted() -> bool:
    return bool(os.environ.get("REDIS_URL") or os.environ.get("FAULTS_PRIVATE_REDIS"))


@pytest.fixture
def private_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("REDIS_URL is set but redis-server is not installed: the outage test needs one of its own")
    redis = harness.PrivateRedis(tmp_path).start()
    yield redis
    redis.stop()


@pytest.fixture
def bookers(sfdc_emulator, transactional_db, tmp_path):
    started = []

    def start(**env):
        booker = harness.BookerProcess(
            worker_env({**sfdc_emulator.env(), **env}), tmp_path / f"booker-{len(started)}.log"
        )
        started.append(booker)
        return booker

    yield start
    for booker in started:
        booker.close()


def open_rows(team) -> int:
    return SyncOperation.objects.filter(
        connection=team.connection, state__in=(SyncOperation.State.PENDING, SyncOperation.State.IN_PROGRESS)
    ).count()


def outage_rows_kept(uids) -> tuple[int, int]:
    """(bookings made during the outage, how many of them have their outbox row)."""
    ids = list(Booking.objects.filter(uid__in=uids).values_list("pk", flat=True))
    with_row = SyncOperation.objects.filter(booking_id__in=ids).values("booking_id").distinct().count()
    return len(ids), with_row


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not real_redis_wanted(), reason="real Redis outage: set REDIS_URL (CI) or FAULTS_PRIVATE_REDIS=1")
def test_redis_stopped_while_booking_then_started_loses_nothing(request, fault_team, fault_workers, bookers):
    # Given a worker and a web process on a redis-server of this test's own.
    redis = request.getfixturevalue("private_redis")
    team = fault_team
    fault_workers(concurrency=2, REDIS_URL=redis.url)
    web = bookers(REDIS_URL=redis.url)
    run = harness.FaultRun("2. Redis stopped 10s while booking", team, fault_workers)
    workload = run.workload(web, seed=202)
    workload.run(10)
    assert workload.enqueue_failed == 0, "the broker was up: every enqueue should have worked"

    # When Redis stops: bookings go on, and every drain task the web process tries to enqueue is refused.
    redis.stop()
    stopped_at = time.monotonic()
    during = workload.run(14)
    failed_during = workload.enqueue_failed
    made, kept = outage_rows_kept(during)
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped_at)))
    waiting = open_rows(team)
    # ... and it comes back empty (no persistence: the queued tasks are gone).
    redis.start()
    recovered_at = time.monotonic()
    # A worker that died of the broker loss is restarted as compose's restart policy would.
    restarted = run.supervise()
    # No new booking yet: only the sweep can hand the rows of the outage to a drain.
    drain_seconds = run.settle(recovered_at=recovered_at, timeout=90)
    swept = any("salesforce.outbox.swept" in w.log_path.read_text(errors="replace") for w in fault_workers.started)
    # The web process's broker connection recovers too: its enqueues work again.
    workload.run(10)
    failed_after = workload.enqueue_failed - failed_during
    run.settle(recovered_at=time.monotonic(), timeout=60)

    # Then every invitee got their page (Workload asserts the 302s), the rows written during the
    # outage were kept and swept, and Salesforce holds exactly what it should.
    verdict = run.finish(
        workload,
        drain_seconds=drain_seconds,
        notes=f"real redis-server stopped/started; enqueues refused during the outage: {failed_during}, "
        f"rows waiting when it came back: {waiting} (swept: {swept}), "
        f"after: {failed_after}; slowest booking POST {workload.slowest_post:.2f}s; "
        f"workers that died of the broker loss: {len(restarted)}",
    )
    run.assert_clean(verdict)
    assert made == kept == 14
    assert failed_during > 0, "the outage did not reach the web process"
    assert swept or not waiting, f"{waiting} rows waited for the broker, yet no sweep handed them over"
    assert failed_after == 0, "the web process did not reconnect to Redis"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(real_redis_wanted(), reason="the real outage runs instead")
def test_broker_unreachable_from_the_web_process_loses_nothing(fault_team, fault_workers, bookers, page_actor):
    # Given a worker on the filesystem broker; the web side is this process, and during the
    # "outage" a web process whose broker is a Redis URL where nothing listens.
    team = fault_team
    worker = fault_workers(concurrency=2)
    run = harness.FaultRun("2. broker unreachable while booking (simulated)", team, fault_workers)
    workload = run.workload(page_actor, seed=202)
    workload.run(10)

    workload.actor = bookers(REDIS_URL=f"redis://127.0.0.1:{harness.free_port()}/0")
    during = workload.run(14)
    failed_during = workload.enqueue_failed
    made, kept = outage_rows_kept(during)
    waiting = open_rows(team)
    workload.actor = page_actor
    recovered_at = time.monotonic()
    drain_seconds = run.settle(recovered_at=recovered_at, timeout=90)
    swept = "salesforce.outbox.swept" in worker.log_path.read_text(errors="replace")
    workload.run(10)
    run.settle(recovered_at=time.monotonic(), timeout=60)

    verdict = run.finish(
        workload,
        drain_seconds=drain_seconds,
        notes=f"web process pointed at a dead Redis; enqueues refused: {failed_during}; "
        f"rows waiting afterwards: {waiting} (swept: {swept}); slowest booking POST {workload.slowest_post:.2f}s",
    )
    run.assert_clean(verdict)
    assert made == kept == 14
    assert failed_during > 0, "the dead broker did not reach the web process"
    assert swept or not waiting, f"{waiting} rows waited for the broker, yet no sweep handed them over"
