"""Fault 8: the broker accepts the web process's wake-up tasks and loses them (a Redis failover
without persistence, a purged queue): the rows look scheduled, and only the sweep's wake-up
TTL brings them back."""

import time
from unittest import mock

import faults_harness as harness
import pytest

pytestmark = [pytest.mark.faults, pytest.mark.worker, pytest.mark.emulator]
WAKE_TTL_SECONDS = 3


@pytest.mark.django_db(transaction=True)
def test_wake_ups_lost_by_the_broker_are_recovered_by_the_sweep(fault_team, fault_workers, page_actor):
    # Given a worker (sweep each second) that trusts a scheduled wake-up for 3 s.
    team = fault_team
    fault_workers(concurrency=2, SALESFORCE_DRAIN_WAKE_TTL_SECONDS=WAKE_TTL_SECONDS)
    run = harness.FaultRun("9. wake-up tasks lost by the broker", team, fault_workers)
    # Bookings far enough apart that drains end between them (during a drain a commit queues
    # nothing: the drain picks the row up itself), so each commit publishes a wake-up.
    workload = run.workload(page_actor, seed=808, pause=(0.4, 0.8))
    lost = mock.patch("integrations.salesforce.tasks.drain_connection.apply_async")
    dropped = {}

    def start_losing():
        dropped["mock"] = lost.start()

    def stop_losing():
        lost.stop()

    # When every wake-up the web process publishes between the 6th and the 20th booking is lost.
    workload.run(26, hooks={5: start_losing, 19: stop_losing})
    drain_seconds = run.settle(recovered_at=time.monotonic(), timeout=90)

    # Then every booking still reached Salesforce once.
    losses = dropped["mock"].call_count
    verdict = run.finish(
        workload,
        drain_seconds=drain_seconds,
        notes=f"{losses} wake-up tasks lost; wake-up TTL {WAKE_TTL_SECONDS}s, sweep every 1s",
    )
    run.assert_clean(verdict)
    assert losses >= 1, "no wake-up was lost: the fault did not fire"
