"""Failure semantics of the booking push, with faults injected into the emulator."""

import threading
import time

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from bookings.services import booking_cancel
from integrations.salesforce import outbox
from integrations.salesforce.drain import drain
from integrations.salesforce.models import SalesforceConnection, SyncOperation
from tests.fixtures.salesforce import connect_workspace, make_team

pytestmark = [pytest.mark.emulator]
State = SyncOperation.State


@pytest.mark.django_db
def test_two_503s_are_retried_with_backoff_and_the_event_is_created_once(team):
    team.emulator.control.set_faults(fail={"status": 503, "count": 2, "prefix": "/services/data"})
    booking = team.book("alice")

    team.drain()

    assert len(team.events()) == 1
    op = SyncOperation.objects.get(booking=booking)
    assert op.state == State.PUSHED and op.attempts == 3
    assert [a.result for a in op.attempt_log.all()] == [State.PENDING, State.PENDING, State.PUSHED]
    assert op.attempt_log.first().error_code == "SERVER_UNAVAILABLE"


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["drop", "hang"])
def test_a_timeout_after_the_create_was_applied_adopts_the_event_instead_of_creating_another(team, mode):
    team.emulator.control.set_faults(timeout_after_write={"count": 1, "mode": mode, "seconds": 6})
    booking = team.book("alice")

    team.drain()

    events = team.events()
    assert len(events) == 1
    op = SyncOperation.objects.get(booking=booking)
    assert op.state == State.PUSHED and op.attempts == 2
    assert op.attempt_log.first().error_code == "UNKNOWN_OUTCOME"
    assert f"created Event {events[0]['Id']} without an answer reaching Workestra; it was adopted" in op.warnings


@pytest.mark.django_db
def test_a_timeout_after_the_create_then_a_cancel_leaves_no_event(team):
    team.emulator.control.set_faults(timeout_after_write={"count": 1, "mode": "drop"})
    booking = team.book("alice")
    drain(team.connection.pk)  # the create is applied, its answer lost
    booking_cancel(booking=booking)

    team.drain()

    assert team.events() == []


@pytest.mark.django_db
def test_revoked_refresh_token_waits_then_replays_once_after_reconnect(team):
    team.emulator.control.revoke_tokens()
    team.emulator.control.expire_tokens()
    first = team.book("alice")

    team.drain()

    assert team.refresh().status == SalesforceConnection.Status.NEEDS_RECONNECT
    assert SyncOperation.objects.get(booking=first).state == State.WAITING_RECONNECT
    second = team.book("bob", email="peter@initech.com", slot=1)
    assert SyncOperation.objects.get(booking=second).state == State.WAITING_RECONNECT
    assert team.events() == []

    connect_workspace(team.workspace, team.admin, team.emulator)
    team.drain()

    assert len(team.events()) == 2
    assert {SyncOperation.objects.get(booking=b).state for b in (first, second)} == {State.PUSHED}
    creates = [c for c in team.emulator.control.calls() if "POST /composite/sobjects" in (c["subrequests"] or "")]
    assert len(creates) == 1  # both replayed in one batch, once


@pytest.mark.django_db
def test_request_limit_exceeded_defers_then_drains_after_the_deferral(team):
    team.emulator.control.set_faults(request_limit_exceeded=True)
    booking = team.book("alice")

    team.drain()

    op = SyncOperation.objects.get(booking=booking)
    assert op.state == State.DEFERRED and op.error_code == "REQUEST_LIMIT_EXCEEDED"
    connection = team.refresh()
    assert connection.deferred_until is not None and "TotalRequests Limit exceeded." in connection.deferred_reason

    team.emulator.control.clear_faults()
    time.sleep(0.6)  # the test settings defer for 0.5 s
    outbox.sweep()
    team.drain()

    assert len(team.events()) == 1
    assert SyncOperation.objects.get(booking=booking).state == State.PUSHED


@pytest.mark.django_db
def test_usage_above_the_configured_share_defers_without_spending_the_rest(team, settings):
    team.emulator.control.set_faults(api_usage={"used": 13_600, "total": 15_000})
    team.book("alice")
    team.drain()  # the lookup reports 90.7% used: the create is not sent

    assert team.events() == []
    connection = team.refresh()
    assert "91% of the org's daily allotment" in connection.deferred_reason
    spent = team.emulator.control.count()

    team.book("bob", slot=2)
    team.drain()
    assert team.emulator.control.count() == spent  # still deferred: not one call

    team.emulator.control.set_faults(api_usage={"used": 100, "total": 15_000})
    time.sleep(0.6)
    outbox.sweep()
    team.drain()
    assert len(team.events()) == 2


@pytest.mark.django_db
def test_a_permanent_error_fails_with_salesforces_message_verbatim_and_staff_can_retry(team):
    team.emulator.control.set_permissions("admin@acme.test", Event={"create": False})
    booking = team.book("alice")

    team.drain()

    op = SyncOperation.objects.get(booking=booking)
    assert op.state == State.FAILED and op.error_kind == "permanent"
    assert op.error_code == "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"
    assert op.error_message == "entity type cannot be inserted: Event"  # Salesforce's own words
    assert team.events() == []

    team.emulator.control.set_permissions("admin@acme.test", Event={"create": True})
    SyncOperation.objects.filter(pk=op.pk).update(state=State.PENDING, next_attempt_at=timezone.now())
    team.drain()
    assert SyncOperation.objects.get(pk=op.pk).state == State.PUSHED
    assert len(team.events()) == 1


@pytest.mark.django_db(transaction=True)
def test_cancel_while_the_create_is_in_flight_leaves_no_event(sf_settings, sfdc_emulator):
    team = make_team(sfdc_emulator)
    sfdc_emulator.control.set_faults(latency_ms=800)
    booking = team.book("alice")

    def drain_in_thread():
        try:
            team.drain()
        finally:
            db_connection.close()

    worker = threading.Thread(target=drain_in_thread)
    worker.start()
    time.sleep(0.5)  # the lookup is in flight
    booking_cancel(booking=booking)
    assert drain(team.connection.pk) == 0  # the lease holder has the booking; this one waits its turn
    worker.join(60)

    team.drain()
    assert team.events() == []
    assert SyncOperation.objects.filter(booking=booking, state=State.PUSHED).count() >= 1


@pytest.mark.django_db(transaction=True)
def test_a_dead_drain_is_picked_up_by_the_sweep_once_its_lease_expires(sf_settings, sfdc_emulator, settings):
    team = make_team(sfdc_emulator)
    booking = team.book("alice")
    token = outbox.lease_acquire(team.connection.pk)
    claimed = outbox.claim_batch(team.refresh(), token)
    assert [op.booking_id for op in claimed] == [booking.pk]
    # The worker holding that lease dies here: nothing releases it.
    SalesforceConnection.objects.filter(pk=team.connection.pk).update(drain_lease_until=timezone.now())

    outbox.sweep()
    team.drain()

    assert SyncOperation.objects.get(booking=booking).state == State.PUSHED
    assert len(team.events()) == 1


@pytest.mark.django_db
def test_a_drain_gives_its_worker_back_after_its_time_budget_and_queues_the_rest(team, settings):
    from unittest import mock

    team.book("alice")
    settings.SALESFORCE_DRAIN_MAX_SECONDS = 0
    SalesforceConnection.objects.filter(pk=team.connection.pk).update(drain_wake_token="", drain_wake_at=None)
    with mock.patch("integrations.salesforce.outbox.enqueue_drain", return_value=True) as enqueue:
        assert drain(team.connection.pk) == 0
    enqueue.assert_called_once()
    assert enqueue.call_args.args == (team.connection.pk,) and enqueue.call_args.kwargs["countdown"] == 0
    assert SyncOperation.objects.get().state == State.PENDING

    settings.SALESFORCE_DRAIN_MAX_SECONDS = 10
    team.drain()
    assert len(team.events()) == 1


@pytest.mark.django_db
def test_no_task_is_queued_for_a_change_while_a_drain_holds_the_connection(team):
    from unittest import mock

    token = outbox.lease_acquire(team.connection.pk)
    with mock.patch("integrations.salesforce.outbox.enqueue_drain", return_value=True) as enqueue:
        assert outbox.wake_up(team.connection.pk) is True
        enqueue.assert_not_called()
        outbox.lease_release(team.connection.pk, token)
        outbox.wake_up(team.connection.pk)
        outbox.wake_up(team.connection.pk)  # one is scheduled now: no second task
        enqueue.assert_called_once()
