"""Fault 8: Salesforce applies writes after the client gave up (a lock wait, a trigger, a flow
keeps the request running past the 3 s client timeout), some of them rolled back instead, and
reps delete pushed Events in Salesforce before their bookings move (issue 12 items 1-2)."""

import time

import faults_harness as harness
import pytest

from integrations.salesforce.models import BookingSync, SyncAttempt

pytestmark = [pytest.mark.faults, pytest.mark.worker, pytest.mark.emulator]
LATE_SECONDS = 6
WINDOW_SECONDS = 12  # longer than any request the fault keeps running


@pytest.mark.django_db(transaction=True)
def test_late_commits_and_events_deleted_in_salesforce_duplicate_nothing(fault_team, fault_workers, page_actor):
    # Given workers whose client gives up after 3 s, and a reconcile window of 12 s
    team, control = fault_team, fault_team.emulator.control
    fault_workers(concurrency=2, SALESFORCE_HTTP_TIMEOUT=3, SALESFORCE_RECONCILE_WINDOW_SECONDS=WINDOW_SECONDS)
    run = harness.FaultRun(
        f"8. late commits ({LATE_SECONDS}s, x4, 2 rolled back) + Events deleted in Salesforce", team, fault_workers
    )
    workload = run.workload(page_actor, seed=808)
    injected, deleted = [], []

    def fired():
        return "late_commit" not in control.faults()

    def commit_late(rollback: bool):
        def inject():
            workload.keep_booking_until(fired, timeout=60, what="the previous late commit to fire")
            control.set_faults(late_commit={"count": 1, "seconds": LATE_SECONDS, "rollback": rollback})
            injected.append(rollback)

        return inject

    def pushed_live_bookings():
        # Pushed Events of bookings that are still live in the workload (a cancel may not have
        # reached Salesforce yet, so a LIVE sync alone is not enough).
        live = BookingSync.objects.filter(
            workspace=team.workspace, event_state=BookingSync.EventState.LIVE
        ).select_related("booking")
        return [s for s in live if s.booking.uid in workload.live]

    def rep_deletes_events_then_they_move():
        harness.wait_for(lambda: len(pushed_live_bookings()) >= 3, timeout=30, what="three pushed Events")
        for sync in pushed_live_bookings()[:3]:
            control.delete_record("Event", sync.sf_event_id)
            workload.reschedule(sync.booking.uid)
            deleted.append(sync.sf_event_id)

    # When bookings flow, four writes commit late (two roll back), and three Events are deleted
    workload.run(
        32,
        hooks={
            3: commit_late(False),
            9: rep_deletes_events_then_they_move,
            12: commit_late(True),
            19: commit_late(False),
            25: commit_late(True),
        },
    )
    workload.keep_booking_until(fired, timeout=60, what="every late commit to fire")
    time.sleep(LATE_SECONDS)  # the last one lands (or rolls back) before the settle clock starts
    drain_seconds = run.settle(recovered_at=time.monotonic(), timeout=120)

    # Then nothing lost or duplicated: late commits were adopted, never created twice
    unknown = SyncAttempt.objects.filter(operation__connection=team.connection, error_code="UNKNOWN_OUTCOME").count()
    recreated = BookingSync.objects.filter(
        workspace=team.workspace, warnings__contains="had been deleted in Salesforce"
    ).count()
    verdict = run.finish(
        workload,
        drain_seconds=drain_seconds,
        notes=(
            f"{len(injected)} late writes ({sum(injected)} rolled back), {unknown} attempts with an unknown outcome; "
            f"{len(deleted)} Events deleted by a rep then moved, {recreated} re-created; window {WINDOW_SECONDS}s"
        ),
    )
    run.assert_clean(verdict)
    assert len(injected) == 4 and unknown >= 4, (injected, unknown)
    assert len(deleted) == 3 and recreated >= 1  # a re-creation whose answer was lost reads "adopted" instead
