"""What a drain does when things go wrong around it: an unexpected exception, a worker that
died mid-batch, an org switch in flight, a reconnect racing a hold; and the outbox's upkeep
(prune, bounded redaction)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.salesforce import drain as drain_module
from integrations.salesforce import outbox
from integrations.salesforce.admin_actions import operations_retry_now
from integrations.salesforce.drain import drain
from integrations.salesforce.models import BookingSync, SalesforceConnection, SyncAttempt, SyncOperation
from integrations.salesforce.push import BookingPush

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]
State = SyncOperation.State


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(outbox, "enqueue_drain", lambda *args, **kwargs: True)


def _due_now():
    SyncOperation.objects.filter(state=State.PENDING).update(next_attempt_at=timezone.now())


# ---- unexpected exceptions -----------------------------------------------------------------
def test_an_unexpected_exception_is_an_attempt_that_backs_off_and_ends_failed_with_its_reason(
    team, monkeypatch, settings
):
    # Given a push that crashes with a bug every time.
    settings.SALESFORCE_MAX_ATTEMPTS = 3
    settings.SALESFORCE_RETRY_BASE_SECONDS = settings.SALESFORCE_RETRY_MAX_SECONDS = 60
    team.book("alice")

    def crash(self):
        raise KeyError("WhoId")

    monkeypatch.setattr(BookingPush, "run", crash)
    # When it is drained: the row is not left in progress; the attempt says what happened.
    assert drain(team.connection.pk) == 1
    op = SyncOperation.objects.get()
    assert (op.state, op.attempts, op.error_kind, op.error_code) == (State.PENDING, 1, "unexpected", "KeyError")
    assert op.error_message == "KeyError: 'WhoId'"
    assert op.outcome == "Will retry (attempt 1 failed): Unexpected error: KeyError: 'WhoId'"
    assert op.next_attempt_at > timezone.now() + timedelta(seconds=25)  # backed off
    assert [(a.result, a.error_code) for a in op.attempt_log.all()] == [(State.PENDING, "KeyError")]
    # Then the sweep does not revive it early, and after the attempts it ends failed.
    assert outbox.sweep() == 0
    for _ in range(2):
        _due_now()
        drain(team.connection.pk)
    op.refresh_from_db()
    assert (op.state, op.attempts) == (State.FAILED, 3)
    assert op.outcome == "Gave up after 3 attempts. Last error: Unexpected error: KeyError: 'WhoId'"
    assert op.finished_at is not None and op.attempt_log.count() == 3
    assert team.events() == []


def test_an_exception_before_any_push_is_recorded_the_same_way(team, monkeypatch, settings):
    settings.SALESFORCE_RETRY_BASE_SECONDS = settings.SALESFORCE_RETRY_MAX_SECONDS = 60
    team.book("alice")
    monkeypatch.setattr(
        drain_module, "client_for", lambda connection: (_ for _ in ()).throw(RuntimeError("no client today"))
    )
    drain(team.connection.pk)
    op = SyncOperation.objects.get()
    assert (op.state, op.attempts, op.error_code, op.error_message) == (
        State.PENDING,
        1,
        "RuntimeError",
        "RuntimeError: no client today",
    )


def test_events_created_before_a_crash_are_recorded_and_only_the_rest_retry(team, monkeypatch, settings):
    settings.SALESFORCE_RETRY_BASE_SECONDS = settings.SALESFORCE_RETRY_MAX_SECONDS = 60
    # Given two bookings, the second crashing the recap pusher that runs after the Events.
    first, second = team.book("alice"), team.book("bob")
    original = BookingPush.run

    def run_then_crash(self):
        original(self)
        self.outcomes.pop(second.pk)
        raise ValueError("after the first")

    monkeypatch.setattr(BookingPush, "run", run_then_crash)
    drain(team.connection.pk)
    assert SyncOperation.objects.get(booking=first).state == State.PUSHED
    crashed = SyncOperation.objects.get(booking=second)
    assert (crashed.state, crashed.error_code) == (State.PENDING, "ValueError")


def test_a_batch_whose_recording_fails_is_still_recorded_as_an_attempt(team, monkeypatch, settings):
    settings.SALESFORCE_RETRY_BASE_SECONDS = settings.SALESFORCE_RETRY_MAX_SECONDS = 60
    team.book("alice")

    def broken_record(*args, **kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(drain_module, "_record_batch", broken_record)
    drain(team.connection.pk)
    op = SyncOperation.objects.get()
    assert (op.state, op.attempts, op.error_kind, op.error_code) == (State.PENDING, 1, "unexpected", "RuntimeError")
    assert op.attempt_log.count() == 1


def test_a_row_whose_worker_dies_every_time_ends_failed_instead_of_being_revived_forever(team, settings):
    settings.SALESFORCE_MAX_ATTEMPTS = 2
    team.book("alice")
    for expected in (State.PENDING, State.FAILED):
        token = outbox.lease_acquire(team.connection.pk)
        assert outbox.claim_batch(team.refresh(), token)
        SalesforceConnection.objects.filter(pk=team.connection.pk).update(
            drain_lease_until=timezone.now()
        )  # the worker died
        outbox.sweep()
        op = SyncOperation.objects.get()
        assert (op.state, op.error_code) == (expected, "WORKER_LOST")
    assert op.attempts == 2 and op.outcome.startswith("Gave up after 2 attempts.")
    assert [a.error_code for a in op.attempt_log.all()] == ["WORKER_LOST", "WORKER_LOST"]


# ---- an org switch while a drain is in flight ------------------------------------------------
def _switch_org(connection) -> None:
    """What connecting another org does to the connection and its syncs (services._forget_previous_org)."""
    SalesforceConnection.objects.filter(pk=connection.pk).update(org_id="00DNEWORG000000AAA")
    BookingSync.objects.filter(workspace=connection.workspace).update(
        sf_event_id="", event_state=BookingSync.EventState.NONE, create_sent_at=None
    )


def test_an_org_switch_after_the_push_wrote_its_ids_keeps_the_old_orgs_ids_off_the_syncs(team, monkeypatch):
    # Given a drain whose push created the Event in the old org, and an admin who connects
    # another org before the batch is recorded (a late write puts the old id back).
    booking = team.book("alice")
    original, old_ids = BookingPush.run, []

    def push_then_switch(self):
        outcomes = original(self)
        if not old_ids:
            old_ids.append(BookingSync.objects.get(booking=booking).sf_event_id)
            _switch_org(team.connection)
            BookingSync.objects.filter(booking=booking).update(sf_event_id=old_ids[0])
        return outcomes

    monkeypatch.setattr(BookingPush, "run", push_then_switch)
    drain(team.connection.pk)
    # Then the old org's id was dropped, the row went again (to the new org), and the sync
    # names only the new org's Event.
    sync = BookingSync.objects.get(booking=booking)
    assert old_ids[0] and sync.sf_event_id and sync.sf_event_id != old_ids[0]
    op = SyncOperation.objects.get()
    assert op.state == State.PUSHED and op.attempts == 1 and op.sf_ids == {"event_id": sync.sf_event_id}
    assert [a.error_code for a in op.attempt_log.all()] == ["ORG_CHANGED", ""]
    assert op.attempt_log.first().error_message == drain_module.ORG_CHANGED


def test_an_org_switch_before_a_call_stops_the_batch_before_it_sends_anything(team, monkeypatch):
    booking = team.book("alice")
    original, calls_at_switch = BookingPush.run, []

    def switch_then_push(self):
        if not calls_at_switch:
            _switch_org(team.connection)
            calls_at_switch.append(team.emulator.control.count())
        return original(self)

    monkeypatch.setattr(BookingPush, "run", switch_then_push)
    team.emulator.control.reset_calls()
    drain(team.connection.pk)
    # Nothing went to the old org: the first batch stopped at its first call; the second sent
    # the lookup and the create for the new org.
    assert calls_at_switch == [0] and team.emulator.control.count() == 2
    assert len(team.events()) == 1
    op = SyncOperation.objects.get(booking=booking)
    assert [a.error_code for a in op.attempt_log.all()] == ["ORG_CHANGED", ""]


# ---- waiting rows of a connection that is connected again ------------------------------------
def test_the_sweep_sends_rows_left_waiting_on_a_connection_that_is_connected_again(team):
    booking = team.book("alice")
    SyncOperation.objects.filter(booking=booking).update(
        state=State.WAITING_RECONNECT, outcome="Waiting for an admin to reconnect Salesforce."
    )
    assert outbox.sweep() == 1
    op = SyncOperation.objects.get()
    assert (op.state, op.outcome) == (State.PENDING, "Replaying: Salesforce is connected again.")
    drain(team.connection.pk)
    assert SyncOperation.objects.get().state == State.PUSHED


def test_the_sweep_leaves_rows_waiting_while_the_connection_needs_a_reconnect(team):
    team.book("alice")
    SyncOperation.objects.update(state=State.WAITING_RECONNECT)
    SalesforceConnection.objects.filter(pk=team.connection.pk).update(
        status=SalesforceConnection.Status.NEEDS_RECONNECT
    )
    assert outbox.sweep() == 0
    assert SyncOperation.objects.get().state == State.WAITING_RECONNECT


def test_retry_now_covers_waiting_rows(team):
    op = SyncOperation.objects.get(booking=team.book("alice"))
    SyncOperation.objects.filter(pk=op.pk).update(state=State.WAITING_RECONNECT)
    assert operations_retry_now(operation_ids=[op.pk]) == 1
    op.refresh_from_db()
    assert (op.state, op.outcome) == (State.PENDING, "Retry requested by support.")


# ---- upkeep ----------------------------------------------------------------------------------
def test_prune_deletes_finished_rows_and_attempts_older_than_the_retention_only(team, settings):
    settings.SALESFORCE_OUTBOX_RETENTION_DAYS = 90
    old, recent, open_old = team.book("alice", slot=0), team.book("alice", slot=1), team.book("alice", slot=2)
    team.drain()
    long_ago = timezone.now() - timedelta(days=91)
    SyncOperation.objects.filter(booking__in=[old, open_old]).update(finished_at=long_ago)
    SyncOperation.objects.filter(booking=open_old).update(state=State.PENDING, finished_at=None, created_at=long_ago)

    assert outbox.prune() == 1
    assert set(SyncOperation.objects.values_list("booking_id", flat=True)) == {recent.pk, open_old.pk}
    assert SyncAttempt.objects.filter(operation__booking=old).count() == 0
    assert SyncAttempt.objects.count() == 2
    assert outbox.prune() == 0  # idempotent


def test_prune_runs_in_beat():
    from django.conf import settings as django_settings

    tasks = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    from workestra.settings import base

    assert "integrations.salesforce.tasks.prune_outbox" in {
        entry["task"] for entry in base.CELERY_BEAT_SCHEDULE.values()
    }
    assert "integrations.salesforce.tasks.sweep_outbox" in tasks
    assert base.SALESFORCE_OUTBOX_RETENTION_DAYS == 90


def test_the_redaction_filter_remembers_a_bounded_number_of_secrets():
    from workestra import logging as redaction

    for number in range(redaction.MAX_SECRETS + 50):
        redaction.register_secret(f"secret-token-{number:06d}")
    assert len(redaction._secrets) == redaction.MAX_SECRETS
    newest = f"secret-token-{redaction.MAX_SECRETS + 49:06d}"
    assert redaction.redact(f"Bearer {newest}") == "Bearer [redacted]"
    redaction.register_secret(newest)  # seen again: stays the newest
    assert next(reversed(redaction._secrets)) == newest


def test_a_booking_that_crashes_its_batch_is_retried_alone_so_the_others_still_go(team, monkeypatch, settings):
    # Given three bookings in one batch, one of which crashes the push every time (a bug its data triggers).
    settings.SALESFORCE_MAX_ATTEMPTS = 2
    settings.SALESFORCE_RETRY_BASE_SECONDS = settings.SALESFORCE_RETRY_MAX_SECONDS = 60
    poisoned = team.book("alice", slot=0, email="poison@example.org")
    others = [team.book("bob", slot=0), team.book("carol", slot=0)]
    original = BookingPush.run

    def crash_on_poison(self):
        if any(b.invitee_email == "poison@example.org" for b in self.bookings.values()):
            raise ZeroDivisionError("division by zero")
        return original(self)

    monkeypatch.setattr(BookingPush, "run", crash_on_poison)
    drain(team.connection.pk)  # the whole batch crashes once
    assert SyncOperation.objects.filter(error_code="ZeroDivisionError").count() == 3
    _due_now()
    drain(team.connection.pk)  # the poisoned one alone: it crashes and gives up; the others go after it
    # Then the others were retried alone and pushed; the poisoned one ended failed with its reason.
    assert {op.booking_id: op.state for op in SyncOperation.objects.all()} == {
        poisoned.pk: State.FAILED,
        others[0].pk: State.PUSHED,
        others[1].pk: State.PUSHED,
    }
    assert SyncOperation.objects.get(booking=poisoned).outcome.endswith(
        "Unexpected error: ZeroDivisionError: division by zero"
    )
    assert len(team.events()) == 2
