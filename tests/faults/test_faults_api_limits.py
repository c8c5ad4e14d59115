"""Fault 7: the org's API allotment runs out (usage near the limit, or REQUEST_LIMIT_EXCEEDED),
then is reset: pushes defer instead of failing, then drain."""

import time

import faults_harness as harness
import pytest

from integrations.salesforce.models import SyncAttempt, SyncOperation

pytestmark = [pytest.mark.faults, pytest.mark.worker, pytest.mark.emulator]
DAILY_LIMIT = 15000
EXHAUSTED_SECONDS = 8  # several 2 s deferrals, each ended by a look at /limits


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("exhaustion", ["usage_near_limit", "request_limit_exceeded"])
def test_an_exhausted_allotment_defers_pushes_until_it_is_reset(fault_team, fault_workers, page_actor, exhaustion):
    # Given a worker that defers for 2 s at a time once usage reaches 90 % of the allotment.
    team, control = fault_team, fault_team.emulator.control
    worker = fault_workers(concurrency=2, SALESFORCE_DEFER_SECONDS=2, SALESFORCE_API_LIMIT_SHARE=0.9)
    run = harness.FaultRun(f"7. API allotment exhausted ({exhaustion})", team, fault_workers)
    workload = run.workload(page_actor, seed=707 if exhaustion == "usage_near_limit" else 708)
    reset = {}

    def allotment_runs_out():
        reset["exhausted"] = time.monotonic()
        if exhaustion == "usage_near_limit":
            control.set_faults(api_usage={"used": int(DAILY_LIMIT * 0.95), "total": DAILY_LIMIT})
        else:
            control.set_faults(request_limit_exceeded=True)

    def allotment_is_reset():
        time.sleep(max(0.0, EXHAUSTED_SECONDS - (time.monotonic() - reset["exhausted"])))
        control.clear_faults()
        control.set_faults(api_usage={"used": 0, "total": DAILY_LIMIT})
        reset["at"] = time.monotonic()

    # When the allotment runs out after the 8th booking and is reset after the 24th.
    workload.run(34, hooks={7: allotment_runs_out, 23: allotment_is_reset})
    drain_seconds = run.settle(recovered_at=reset["at"], timeout=90)

    # Then the rows deferred (never failed) and all drained after the reset.
    deferred = SyncAttempt.objects.filter(operation__connection=team.connection, result=SyncOperation.State.DEFERRED)
    deferrals = worker.log_path.read_text(errors="replace").count("salesforce.push.deferred")
    verdict = run.finish(
        workload,
        drain_seconds=drain_seconds,
        notes=f"exhausted for {EXHAUSTED_SECONDS}s: {deferrals} deferrals, {deferred.count()} attempts deferred",
    )
    run.assert_clean(verdict)
    assert deferrals >= 2, "the pushes did not keep deferring while the allotment was exhausted"
    assert "failed" not in verdict.states, verdict.states
