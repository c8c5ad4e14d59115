"""Fault 3: Salesforce answers 503 to every API call for a whole minute."""

import time

import faults_harness as harness
import pytest

from integrations.salesforce.models import SyncAttempt

pytestmark = [pytest.mark.faults, pytest.mark.worker, pytest.mark.emulator]
OUTAGE_SECONDS = 60


@pytest.mark.django_db(transaction=True)
def test_a_minute_of_503s_is_retried_with_backoff_then_drains(fault_team, fault_workers, page_actor):
    # Given a worker that backs off 1 s, 2 s, 4 s ... up to 10 s and gives up only after 30 attempts.
    team, control = fault_team, fault_team.emulator.control
    fault_workers(
        concurrency=2, SALESFORCE_RETRY_BASE_SECONDS=1, SALESFORCE_RETRY_MAX_SECONDS=10, SALESFORCE_MAX_ATTEMPTS=30
    )
    run = harness.FaultRun("3. Salesforce 503 for 60s", team, fault_workers)
    # Bookings are spread over the minute, so reschedules and cancels land on rows in backoff.
    workload = run.workload(page_actor, seed=303, pause=(0.4, 1.6))
    outage = {}

    def salesforce_goes_down():
        control.set_faults(fail_for_seconds={"status": 503, "seconds": OUTAGE_SECONDS, "prefix": "/services/data"})
        outage["ends"] = time.monotonic() + OUTAGE_SECONDS

    # When Salesforce fails for a minute from the 5th booking on.
    workload.run(34, hooks={4: salesforce_goes_down})
    remaining = outage["ends"] - time.monotonic()
    drain_seconds = run.settle(recovered_at=outage["ends"], timeout=remaining + 60)

    # Then everything drains once it is back; no row gave up, none was sent twice.
    retried = SyncAttempt.objects.filter(operation__connection=team.connection, error_code="SERVER_UNAVAILABLE")
    most = max((op.attempts for op in team.connection.operations.all()), default=0)
    verdict = run.finish(
        workload,
        drain_seconds=drain_seconds,
        notes=f"{retried.count()} attempts answered 503; most attempts for one row: {most}; {workload.created - 5} bookings made during the outage",
    )
    run.assert_clean(verdict)
    assert retried.exists(), "no attempt met the outage"
    assert "failed" not in verdict.states, verdict.states
