"""Fault 4: writes that Salesforce applies but whose answer never arrives (the connection is
dropped, or the answer hangs past the client's timeout), several at a time."""

import time

import faults_harness as harness
import pytest

from integrations.salesforce.models import SyncAttempt

pytestmark = [pytest.mark.faults, pytest.mark.worker, pytest.mark.emulator]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode, counts", [("drop", (3, 2, 4)), ("hang", (2, 3))])
def test_answers_lost_after_commit_duplicate_nothing(fault_team, fault_workers, page_actor, mode, counts):
    # Given a worker whose HTTP timeout (3 s) is shorter than a hung answer (5 s).
    team, control = fault_team, fault_team.emulator.control
    fault_workers(concurrency=2, SALESFORCE_HTTP_TIMEOUT=3)
    run = harness.FaultRun(f"4. answer lost after commit ({mode}, {'+'.join(map(str, counts))})", team, fault_workers)
    workload = run.workload(page_actor, seed=404 if mode == "drop" else 405)
    injected = []

    def fired():
        return "timeout_after_write" not in control.faults()

    def lose_answers(count):
        def inject():
            # The next `count` writes (creates, updates, deletes) are committed, then unanswered.
            workload.keep_booking_until(fired, timeout=60, what="the previous timeouts to fire")
            control.set_faults(timeout_after_write={"count": count, "mode": mode, "seconds": 5})
            injected.append(count)

        return inject

    # When bookings flow and batches of writes lose their answers at several points.
    step = 30 // len(counts)
    workload.run(32, hooks={2 + i * step: lose_answers(count) for i, count in enumerate(counts)})
    workload.keep_booking_until(fired, timeout=60, what="every injected timeout to fire")
    drain_seconds = run.settle(recovered_at=time.monotonic(), timeout=90)

    # Then no Event is duplicated: each unknown outcome was reconciled (adopted, or found gone).
    unknown = SyncAttempt.objects.filter(operation__connection=team.connection, error_code="UNKNOWN_OUTCOME")
    verdict = run.finish(
        workload,
        drain_seconds=drain_seconds,
        notes=f"{sum(injected)} writes lost their answer; {unknown.count()} attempts recorded an unknown outcome",
    )
    run.assert_clean(verdict)
    assert unknown.exists(), "no write met an injected timeout"
