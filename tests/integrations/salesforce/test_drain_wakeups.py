"""How a drain is woken: at most one queued wake-up per connection, the coalescing window,
a lost wake-up recovered by the sweep, and never two drains on one connection."""

import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from integrations.salesforce import drain as drain_module
from integrations.salesforce import outbox
from integrations.salesforce.drain import drain
from integrations.salesforce.models import SalesforceConnection, SyncAttempt, SyncOperation
from tests.fixtures.factories import make_booking
from tests.fixtures.salesforce import make_team, worker_sf_env
from tests.fixtures.worker import wait_for

pytestmark = [pytest.mark.emulator]
State = SyncOperation.State


class FakeBroker:
    """Stands in for enqueue_drain: remembers every task instead of sending it (a lost task
    is one that is never run)."""

    def __init__(self):
        self.tasks: list[dict] = []

    def __call__(self, connection_id, countdown=0, wake_token=""):
        self.tasks.append({"connection_id": connection_id, "countdown": countdown, "wake_token": wake_token})
        return True

    def run_all(self) -> list[int]:
        tasks, self.tasks = self.tasks, []
        return [drain(task["connection_id"], task["wake_token"] or None) for task in tasks]


@pytest.fixture
def broker(monkeypatch):
    fake = FakeBroker()
    monkeypatch.setattr(outbox, "enqueue_drain", fake)
    return fake


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what a commit would run (the test's own transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _wake(connection) -> tuple:
    return SalesforceConnection.objects.filter(pk=connection.pk).values_list("drain_wake_token", "drain_wake_at").get()


@pytest.mark.django_db
def test_many_commits_queue_one_wake_up_and_one_drain_sends_them_all(team, broker, committed):
    # Given five bookings, each committed on its own, and one transaction with ten more.
    for slot in range(5):
        with committed():
            team.book("alice", slot=slot)
    with committed(), transaction.atomic():
        for slot in range(10):
            team.book("bob", slot=slot)
    # Then one task was queued for the fifteen rows, and its drain sends them all.
    assert len(broker.tasks) == 1
    token, wake_at = _wake(team.connection)
    assert broker.tasks[0]["wake_token"] == token and wake_at is not None
    team.emulator.control.reset_calls()
    assert broker.run_all() == [15]
    assert SyncOperation.objects.filter(state=State.PUSHED).count() == 15
    assert _wake(team.connection) == ("", None)  # cleared when the drain took the lease
    assert broker.tasks == []  # nothing left: no follow-up task
    assert team.emulator.control.count() == 2  # one lookup, one create


@pytest.mark.django_db
def test_a_transaction_registers_one_commit_callback_per_connection(team, broker):
    with transaction.atomic():
        for slot in range(20):
            team.book("carol", slot=slot)
        callbacks = [func for _, func, _ in db_connection.run_on_commit if isinstance(func, outbox._WakeOnCommit)]
        assert len(callbacks) == 1


@pytest.mark.django_db
def test_no_wake_up_is_queued_while_a_drain_holds_the_lease_and_it_re_checks_when_it_lets_go(team, broker, committed):
    token = outbox.lease_acquire(team.connection.pk)
    with committed():
        team.book("alice")
    assert broker.tasks == []
    outbox.lease_release(team.connection.pk, token)
    drain_module._schedule_next(team.connection.pk)
    assert len(broker.tasks) == 1
    assert broker.run_all() == [1]


@pytest.mark.django_db
def test_a_backoff_wake_up_is_replaced_by_an_earlier_one_and_the_replaced_task_does_nothing(team, broker, committed):
    # Given a wake-up scheduled five minutes out (a row in backoff).
    outbox.wake_up(team.connection.pk, delay=300)
    later = broker.tasks.pop()
    assert later["countdown"] == pytest.approx(300, abs=1)
    # When a booking commits, the wake-up is brought forward, not added to.
    with committed():
        team.book("alice")
    assert len(broker.tasks) == 1 and broker.tasks[0]["countdown"] < 1
    # Then the replaced task, when it arrives, takes no lease and sends nothing.
    assert drain(team.connection.pk, later["wake_token"]) == 0
    assert SyncOperation.objects.get().state == State.PENDING
    assert broker.run_all() == [1]


@pytest.mark.django_db
def test_a_drain_ending_with_rows_in_backoff_schedules_one_wake_up_for_them(team, broker, settings, committed):
    settings.SALESFORCE_RETRY_BASE_SECONDS = settings.SALESFORCE_RETRY_MAX_SECONDS = 30
    team.emulator.control.set_faults(fail={"status": 503, "count": 1, "prefix": "/services/data/v59.0/composite"})
    with committed():
        team.book("alice")
    assert broker.run_all() == [1]
    op = SyncOperation.objects.get()
    assert op.state == State.PENDING and op.attempts == 1
    assert len(broker.tasks) == 1  # one, for when the backoff ends
    assert broker.tasks[0]["countdown"] == pytest.approx((op.next_attempt_at - timezone.now()).total_seconds(), abs=1)
    outbox.wake_up(team.connection.pk, delay=40)  # a later request changes nothing
    assert len(broker.tasks) == 1


@pytest.mark.django_db
def test_bookings_within_the_coalescing_window_share_one_lookup_and_one_write(team, broker, settings, committed):
    settings.SALESFORCE_COALESCE_SECONDS = 0.6
    team.emulator.control.reset_calls()
    for slot, email in enumerate(["jane.roe@globex.com", "peter@initech.com", "someone.new@example.org"]):
        with committed():
            team.book("alice", slot=slot, email=email)
    assert len(broker.tasks) == 1 and broker.tasks[0]["countdown"] == pytest.approx(0.6, abs=0.1)
    # A drain before the window closes claims nothing.
    assert drain(team.connection.pk) == 0
    time.sleep(0.65)
    assert broker.run_all() == [3]
    assert team.emulator.control.count() == 2
    assert {a.batch_size for a in SyncAttempt.objects.all()} == {3}


@pytest.mark.django_db
def test_the_batch_records_its_rows_and_attempts_in_one_transaction(team, broker, committed, monkeypatch):
    from django.test.utils import CaptureQueriesContext

    with committed(), transaction.atomic():
        for slot in range(30):
            team.book(["alice", "bob"][slot % 2], slot=slot // 2)
    recorded = []
    original = drain_module._record_batch

    def capturing(*args):
        with CaptureQueriesContext(db_connection) as queries:
            original(*args)
        recorded.append([q["sql"] for q in queries.captured_queries])

    monkeypatch.setattr(drain_module, "_record_batch", capturing)
    assert broker.run_all() == [30]
    [statements] = recorded
    # One transaction (a savepoint inside the test's own), one INSERT for all 30 attempts.
    assert statements[0].startswith("SAVEPOINT") and statements[-1].startswith("RELEASE SAVEPOINT")
    assert sum(s.startswith("SAVEPOINT") for s in statements) == 1
    assert [s for s in statements if s.startswith('INSERT INTO "salesforce_syncattempt"')] != []
    assert sum(s.startswith('INSERT INTO "salesforce_syncattempt"') for s in statements) == 1
    assert SyncAttempt.objects.count() == 30
    assert not SyncOperation.objects.exclude(state=State.PUSHED).exists()


@pytest.mark.django_db
def test_a_lost_wake_up_is_recovered_by_the_sweep_once_it_is_older_than_its_ttl(team, broker, settings, committed):
    # Given a booking whose wake-up task was lost by the broker (never delivered).
    with committed():
        team.book("alice")
    lost = broker.tasks.pop()
    # The sweep trusts a fresh wake-up ...
    assert outbox.sweep() == 0 and broker.tasks == []
    # ... and schedules another once it is older than the TTL.
    SalesforceConnection.objects.filter(pk=team.connection.pk).update(
        drain_wake_at=timezone.now() - timedelta(seconds=settings.SALESFORCE_DRAIN_WAKE_TTL_SECONDS + 1)
    )
    assert outbox.sweep() == 1
    assert len(broker.tasks) == 1 and broker.tasks[0]["wake_token"] != lost["wake_token"]
    assert broker.run_all() == [1]
    assert SyncOperation.objects.get().state == State.PUSHED and len(team.events()) == 1
    assert drain(team.connection.pk, lost["wake_token"]) == 0  # the lost task, if it ever comes


@pytest.mark.django_db
def test_a_broker_refusing_the_task_leaves_no_wake_up_behind(team, monkeypatch, committed):
    monkeypatch.setattr(outbox, "enqueue_drain", lambda *args, **kwargs: False)
    with committed():
        team.book("alice")
    assert _wake(team.connection) == ("", None)  # the next commit or the sweep tries again at once


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_wake_up_lost_by_the_broker_is_recovered_by_the_sweep_of_a_real_worker(
    client, sf_settings, sfdc_emulator, celery_worker_process
):
    # Given a booking whose wake-up task the broker accepted and then lost.
    team = make_team(sfdc_emulator)
    with mock.patch("integrations.salesforce.tasks.drain_connection.apply_async") as lost_task:
        response = client.post(
            "/book/acme/alice/",
            {"name": "Jane Roe", "email": "jane.roe@globex.com", "start": team.free_slot("alice").isoformat()},
        )
    assert response.status_code == 302 and lost_task.call_count == 1
    assert _wake(team.connection)[0]  # a wake-up looks scheduled
    # When a worker (with beat: a sweep each second, wake-ups trusted for 3 s) runs.
    began = time.monotonic()
    worker = celery_worker_process(extra_env={**worker_sf_env(sfdc_emulator), "SALESFORCE_DRAIN_WAKE_TTL_SECONDS": "3"})
    # Then the sweep schedules a new wake-up and the booking reaches Salesforce.
    wait_for(lambda: SyncOperation.objects.get().state == State.PUSHED, what=f"the swept push\n{worker.log()}")
    assert len(sfdc_emulator.control.records("Event")) == 1
    assert time.monotonic() - began < 30


@pytest.mark.django_db(transaction=True)
def test_two_drains_never_hold_one_connection(sf_settings, sfdc_emulator, monkeypatch):
    # Given 60 bookings and eight drains started at once in threads (their own database
    # connections), with Salesforce slow enough that batches overlap if anything let them.
    team = make_team(sfdc_emulator)
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    for i in range(60):
        booking = make_booking(team.links[["alice", "bob"][i % 2]], start=start + timedelta(minutes=30 * i))
        with transaction.atomic():
            outbox.booking_changed(booking=booking, trigger=SyncOperation.Trigger.CONFIRMED)
    monkeypatch.setattr(outbox, "MAX_BOOKINGS_PER_BATCH", 7)
    monkeypatch.setattr(outbox.claim_batch, "__defaults__", (7,))
    sfdc_emulator.control.set_faults(latency_ms=30)
    active, most, lock = [0], [0], threading.Lock()
    original = drain_module.process_batch

    def watched(connection, ops, token):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            time.sleep(0.02)
            return original(connection, ops, token)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(drain_module, "process_batch", watched)
    handled = []

    def drain_until_empty():
        try:
            while SyncOperation.objects.filter(state__in=(State.PENDING, State.IN_PROGRESS)).exists():
                handled.append(drain(team.connection.pk))
        finally:
            db_connection.close()

    threads = [threading.Thread(target=drain_until_empty) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    # Then batches never overlapped, every row was sent once, and Salesforce has one Event each.
    assert most[0] == 1
    assert sum(handled) == 60
    assert SyncOperation.objects.filter(state=State.PUSHED).count() == 60
    assert SyncAttempt.objects.count() == 60
    assert len(team.events()) == 60
