"""Fault 1: every worker SIGKILLed while an Event create is in flight, twice."""

import time

import faults_harness as harness
import pytest

from integrations.salesforce.models import BookingSync

pytestmark = [pytest.mark.faults, pytest.mark.worker, pytest.mark.emulator]
LEASE_SECONDS = 5


@pytest.mark.django_db(transaction=True)
def test_workers_killed_mid_create_lose_and_duplicate_nothing(fault_team, fault_workers, page_actor):
    # Given two workers (prefork, 2 children each) draining one connection, and Salesforce
    # answering each call after 1.5 s, so a create spends 1.5 s committed but unanswered.
    team, control = fault_team, fault_team.emulator.control
    control.set_faults(latency_ms=1500)
    env = {"SALESFORCE_DRAIN_LEASE_SECONDS": LEASE_SECONDS}
    fault_workers(concurrency=2, **env)
    fault_workers(concurrency=2, **env)
    run = harness.FaultRun("1. SIGKILL all workers mid-create (x2)", team, fault_workers)
    workload = run.workload(page_actor, seed=102, cancel=0.2)
    kills, in_flight, last_seq = [], [], [0]

    def kill_everything_during_a_create():
        # The emulator logs a call when its write is committed, before the delayed answer.
        def create_in_flight():
            calls = control.calls(since=last_seq[0])
            if calls:
                last_seq[0] = calls[-1]["seq"]
            return any(harness.is_create_call(c) for c in calls)

        workload.keep_booking_until(create_in_flight, timeout=30, what="an Event create in flight")
        alive = [w for w in fault_workers.started if w.process.poll() is None]
        for worker in alive:
            worker.retired = True  # the test starts their replacements itself
            harness.kill_worker_tree(worker)
        kills.append(len(alive))
        in_flight.append(BookingSync.objects.filter(create_sent_at__isnull=False).count())

    def start_replacements():
        fault_workers(concurrency=2, **env)
        fault_workers(concurrency=1, **env)

    # When: bookings flow; all workers are SIGKILLed mid-create, bookings go on with no worker
    # alive, then two new workers start (their sweep finds the rows once the lease expires).
    workload.run(
        36,
        hooks={
            9: kill_everything_during_a_create,
            12: start_replacements,
            22: kill_everything_during_a_create,
            25: start_replacements,
        },
    )
    drain_seconds = run.settle(recovered_at=time.monotonic(), timeout=120)

    # Then: no Event lost, none duplicated, every row in an end state.
    verdict = run.finish(
        workload,
        drain_seconds=drain_seconds,
        notes=f"killed {sum(kills)} workers in 2 rounds; creates in flight at the kills: {in_flight}; lease {LEASE_SECONDS}s",
    )
    run.assert_clean(verdict)
    assert all(in_flight), f"a kill did not catch a create in flight: {in_flight}"
