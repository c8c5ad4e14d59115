"""Faults 5 and 6: access tokens expired mid-run; the refresh token revoked mid-run, then a
reconnect."""

import threading
import time

import faults_harness as harness
import pytest

from integrations.salesforce.models import SalesforceConnection, SyncOperation
from tests.fixtures.salesforce import connect_workspace

pytestmark = [pytest.mark.faults, pytest.mark.worker, pytest.mark.emulator]
TOKEN_PATH = "/services/oauth2/token"


def token_calls(control, since: int) -> int:
    return sum(1 for call in control.calls(since=since) if call["path"] == TOKEN_PATH and call["method"] == "POST")


def last_call_seq(control) -> int:
    calls = control.calls()
    return calls[-1]["seq"] if calls else 0


@pytest.mark.django_db(transaction=True)
def test_access_tokens_expired_mid_run_are_refreshed_once_per_expiry(fault_team, fault_workers, page_actor):
    # Given two workers (three pool processes) that may all hit the same 401 at once, and a
    # Salesforce slow enough (300 ms) for their calls to overlap.
    team, control = fault_team, fault_team.emulator.control
    control.set_faults(latency_ms=300)
    fault_workers(concurrency=2)
    fault_workers(concurrency=1)
    run = harness.FaultRun("5. access tokens expired x3 mid-run", team, fault_workers)
    since = last_call_seq(control)
    workload = run.workload(page_actor, seed=505)

    # When every access token is expired three times while bookings flow.
    workload.run(34, hooks={6: control.expire_tokens, 16: control.expire_tokens, 26: control.expire_tokens})
    drain_seconds = run.settle(recovered_at=time.monotonic(), timeout=90)

    # Then nothing is lost or doubled, the connection stays connected, and the refreshes were
    # serialised: at most one token call per expiry.
    refreshes = token_calls(control, since)
    verdict = run.finish(workload, drain_seconds=drain_seconds, notes=f"{refreshes} token refreshes for 3 expiries")
    run.assert_clean(verdict)
    assert team.refresh().status == SalesforceConnection.Status.CONNECTED
    assert 1 <= refreshes <= 3, f"{refreshes} refreshes for 3 expiries: refreshes are not serialised per connection"


@pytest.mark.django_db(transaction=True)
def test_access_tokens_expiring_faster_than_a_batch_never_ask_for_a_reconnect(fault_team, fault_workers, page_actor):
    # Given calls that take a second each, so a batch outlives a token: a session refused right
    # after its refresh (expired again in between) must be retried, not taken for a revocation.
    team, control = fault_team, fault_team.emulator.control
    control.set_faults(latency_ms=1000)
    fault_workers(concurrency=2)
    run = harness.FaultRun("5b. access tokens expired every 1.3s", team, fault_workers)
    since = last_call_seq(control)
    workload = run.workload(page_actor, seed=515, pause=(0.2, 0.4))
    stop, expiries = threading.Event(), []

    def expire_all_the_time():
        while not stop.wait(1.3):
            control.expire_tokens()
            expiries.append(time.monotonic())

    expirer = threading.Thread(target=expire_all_the_time, daemon=True)
    expirer.start()
    try:
        workload.run(24)
    finally:
        stop.set()
        expirer.join(10)
    drain_seconds = run.settle(recovered_at=time.monotonic(), timeout=90)

    refreshes = token_calls(control, since)
    connection = team.refresh()
    verdict = run.finish(
        workload, drain_seconds=drain_seconds, notes=f"{len(expiries)} expiries, {refreshes} token refreshes"
    )
    assert connection.status == SalesforceConnection.Status.CONNECTED, connection.last_error
    run.assert_clean(verdict)
    assert refreshes <= len(expiries) + 1


@pytest.mark.django_db(transaction=True)
def test_refresh_token_revoked_mid_run_waits_then_replays_once_after_reconnect(fault_team, fault_workers, page_actor):
    # Given a worker draining bookings as they come.
    team, control = fault_team, fault_team.emulator.control
    fault_workers(concurrency=2)
    run = harness.FaultRun("6. refresh token revoked, then reconnect", team, fault_workers)
    workload = run.workload(page_actor, seed=606)

    def admin_revokes_access():
        control.revoke_tokens()
        control.expire_tokens()

    # When the org revokes Workestra's tokens after the 12th booking, and bookings go on.
    workload.run(32, hooks={11: admin_revokes_access})
    harness.wait_settled(team.connection.pk, timeout=60, allow_waiting=True, logs=run.logs, tick=run.supervise)
    assert team.refresh().status == SalesforceConnection.Status.NEEDS_RECONNECT
    waiting = SyncOperation.objects.filter(
        connection=team.connection, state=SyncOperation.State.WAITING_RECONNECT
    ).count()
    assert waiting > 0
    events_while_waiting = len(control.records("Event"))

    # ... and an admin reconnects.
    reconnected_at = time.monotonic()
    connect_workspace(team.workspace, team.admin, team.emulator)
    drain_seconds = run.settle(recovered_at=reconnected_at, timeout=60)

    # Then every waiting push was replayed, once.
    verdict = run.finish(
        workload,
        drain_seconds=drain_seconds,
        notes=f"{waiting} rows waited for the reconnect; {events_while_waiting} Events existed before it",
    )
    run.assert_clean(verdict)
    assert team.refresh().status == SalesforceConnection.Status.CONNECTED
