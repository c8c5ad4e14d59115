"""Fault 1b: a worker frozen (SIGSTOP) in the middle of a drain for longer than its lease, then
resumed. A frozen worker is not a dead one: when it wakes up its lease belongs to another
drain, and it must not send anything more (a VM pause, a long GC or swap storm look the same)."""

import os
import re
import signal
import time

import faults_harness as harness
import pytest

pytestmark = [pytest.mark.faults, pytest.mark.worker, pytest.mark.emulator]
LEASE_SECONDS = 5
LOOKUP_PATH = re.compile(r"^/services/data/v[\d.]+/composite/?$")


def signal_tree(pids, sig) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


@pytest.mark.django_db(transaction=True)
def test_a_worker_frozen_past_its_lease_sends_nothing_when_it_wakes(fault_team, fault_workers, page_actor):
    # Given one worker, and Salesforce answering each call after 1.5 s.
    team, control = fault_team, fault_team.emulator.control
    control.set_faults(latency_ms=1500)
    env = {"SALESFORCE_DRAIN_LEASE_SECONDS": LEASE_SECONDS}
    frozen = fault_workers(concurrency=1, **env)
    run = harness.FaultRun("1b. worker frozen (SIGSTOP) past its lease", team, fault_workers)
    workload = run.workload(page_actor, seed=111)
    state = {"seq": 0}

    def freeze_during_a_lookup():
        # The invitee lookup precedes the creates of a batch: freeze the worker while it waits for it.
        def lookup_in_flight():
            calls = control.calls(since=state["seq"])
            if calls:
                state["seq"] = calls[-1]["seq"]
            return any(c["method"] == "POST" and LOOKUP_PATH.match(c["path"]) for c in calls)

        workload.keep_booking_until(lookup_in_flight, timeout=30, what="an invitee lookup in flight")
        state["pids"] = harness.process_tree(frozen.process.pid)
        signal_tree(state["pids"], signal.SIGSTOP)
        state["frozen_at"] = time.monotonic()
        fault_workers(concurrency=2, **env)  # its sweep takes the rows over once the lease expires

    def thaw():
        time.sleep(max(0.0, 3 * LEASE_SECONDS - (time.monotonic() - state["frozen_at"])))
        signal_tree(state["pids"], signal.SIGCONT)
        state["thawed_at"] = time.monotonic()

    # When the only worker freezes mid-batch, another takes over while bookings (and
    # reschedules) go on, and the frozen one wakes up three leases later.
    workload.run(30, hooks={5: freeze_during_a_lookup, 14: thaw})
    drain_seconds = run.settle(recovered_at=state["thawed_at"], timeout=90)

    # Then the woken worker sent nothing: no Event twice, none lost, none at a stale time.
    verdict = run.finish(
        workload,
        drain_seconds=drain_seconds,
        notes=f"frozen {state['thawed_at'] - state['frozen_at']:.0f}s (lease {LEASE_SECONDS}s) during an invitee lookup",
    )
    run.assert_clean(verdict)
    assert "salesforce.drain.lease_lost" in frozen.log_path.read_text(errors="replace"), (
        "the woken drain did not notice it lost its lease"
    )
