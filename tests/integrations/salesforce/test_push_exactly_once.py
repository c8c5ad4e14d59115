"""Exactly one Event under real Salesforce timing (issue 12 items 1-2) and an inactive owner
(issue 11), over the emulator's socket. sf_settings: 3 s client timeout, 8 s reconcile window."""

import time
from unittest import mock

import pytest

from bookings.services import booking_reschedule
from integrations.salesforce import push
from integrations.salesforce.drain import drain
from integrations.salesforce.models import BookingSync, SalesforceUser, SyncOperation
from integrations.salesforce.push import BookingPush
from integrations.salesforce.services import client_for
from sfdc_emulator.seed import USER_IDS

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]
State = SyncOperation.State


def create_calls(team) -> list[dict]:
    return [c for c in team.emulator.control.calls() if "POST /composite/sobjects" in (c["subrequests"] or "")]


def test_a_create_that_commits_after_the_client_timed_out_is_adopted_not_duplicated(team):
    # Given Salesforce holds the create 5 s (a lock wait, a flow) while the client gives up at 3 s
    team.emulator.control.set_faults(late_commit={"count": 1, "seconds": 5})
    booking = team.book("alice")
    started = time.monotonic()

    # When the outbox drains: the timeout, retries that find nothing yet, then the late commit
    team.drain()
    time.sleep(max(0.0, 6 - (time.monotonic() - started)))  # anything late has landed by now

    # Then one Event, adopted; the retries before the commit only looked
    events = team.events()
    assert len(events) == 1
    assert len(create_calls(team)) == 1
    op = SyncOperation.objects.get(booking=booking)
    assert op.state == State.PUSHED
    assert op.attempts >= 2  # the timeout, (looks that found nothing yet,) the adoption
    assert op.attempt_log.first().error_code == "UNKNOWN_OUTCOME"
    assert f"created Event {events[0]['Id']} without an answer reaching Workestra; it was adopted" in op.warnings
    assert BookingSync.objects.get(booking=booking).sf_event_id == events[0]["Id"]


def test_a_create_that_never_commits_is_sent_again_only_after_the_window(team, sf_settings):
    sf_settings.SALESFORCE_RETRY_BASE_SECONDS = sf_settings.SALESFORCE_RETRY_MAX_SECONDS = (
        1  # one attempt per drain() below
    )
    # Given the create runs past the client's timeout and is then rolled back by Salesforce
    team.emulator.control.set_faults(late_commit={"count": 1, "seconds": 4, "rollback": True})
    booking = team.book("alice")

    drain(team.connection.pk)  # times out after 3 s: unknown outcome
    sync = BookingSync.objects.get(booking=booking)
    assert sync.create_sent_at is not None
    time.sleep(1.1)  # past the retry's backoff
    drain(team.connection.pk)  # inside the window: looks, finds nothing, does not create
    op = SyncOperation.objects.get(booking=booking)
    assert op.attempts == 2
    assert "may still commit" in op.outcome and "only looks for it" in op.outcome

    team.drain(timeout=40)

    # Then exactly one more create, sent once the 8 s window had passed
    assert len(team.events()) == 1
    creates = create_calls(team)
    assert len(creates) == 2
    first, second = (c["at"] for c in creates)
    assert second >= first  # ISO strings, same zone
    assert (
        BookingSync.objects.get(booking=booking).pushed_at.timestamp() - sync.create_sent_at.timestamp()
        >= sf_settings.SALESFORCE_RECONCILE_WINDOW_SECONDS
    )


def test_a_recreated_event_whose_answer_is_lost_is_reconciled_not_created_twice(team, sf_settings):
    sf_settings.SALESFORCE_RETRY_BASE_SECONDS = sf_settings.SALESFORCE_RETRY_MAX_SECONDS = (
        2  # one attempt per drain() below
    )
    # Given a pushed booking whose Event a rep deleted in Salesforce
    booking = team.book("bob")
    team.drain()
    [original] = team.events()
    team.emulator.control.delete_record("Event", original["Id"])
    booking = booking_reschedule(booking=booking, start=team.free_slot("bob", 3))
    # ... and the answer to the re-creation is lost (the update's answer arrives first)
    team.emulator.control.set_faults(timeout_after_write={"count": 1, "mode": "drop", "skip": 1})

    drain(team.connection.pk)
    sync = BookingSync.objects.get(booking=booking)
    assert sync.sf_event_id == "" and sync.create_sent_at is not None  # the old id is not mistaken for the new Event
    team.drain()

    [event] = team.events()
    assert event["Id"] != original["Id"]
    assert len(create_calls(team)) == 2  # the first push and the one re-creation
    sync.refresh_from_db()
    assert sync.sf_event_id == event["Id"] and sync.event_state == BookingSync.EventState.LIVE
    assert "adopted, not duplicated" in SyncOperation.objects.filter(booking=booking).latest("id").warnings


def test_an_inactive_owner_gets_the_event_owned_by_the_connecting_user_with_a_warning(
    team, django_capture_on_commit_callbacks
):
    # Given Alice's Salesforce user was deactivated after the org's users were cached
    alice_sf = USER_IDS["alice@acme.test"]
    team.emulator.control.update_record("User", alice_sf, {"IsActive": False})
    booking = team.book("alice")
    team.emulator.control.reset_calls()

    with (
        mock.patch.object(push.current_app, "send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        team.drain()

    [event] = team.events()
    assert event["OwnerId"] == team.connection.sf_user_id
    op = SyncOperation.objects.get(booking=booking)
    assert op.state == State.PUSHED
    assert f"The Salesforce user {alice_sf} mapped to alice@acme.test is inactive" in op.warnings
    assert "owned by the connecting user (admin@acme.test)" in op.warnings
    assert BookingSync.objects.get(booking=booking).sf_owner_id == team.connection.sf_user_id
    send_task.assert_called_once_with("integrations.salesforce.tasks.refresh_org_users", args=[team.connection.pk])
    assert not SalesforceUser.objects.get(connection=team.connection, sf_id=alice_sf).is_active
    assert team.emulator.control.count() == 3  # lookup, the refused create, the create for the connecting user


def test_a_push_stopped_before_its_create_left_owes_no_reconcile_window(team):
    # Given a drain that loses its lease right before the write call leaves (after the lookup)
    class LeaseLost(Exception):
        pass

    booking = team.book("alice")
    client = client_for(team.connection)
    calls = []

    def before_call():
        calls.append(1)
        if len(calls) == 2:
            raise LeaseLost()

    client.before_call = before_call

    with pytest.raises(LeaseLost):
        BookingPush(client, team.connection, [booking.pk]).run()

    # Then nothing was sent, so the next drain creates at once instead of waiting out the window
    assert BookingSync.objects.get(booking=booking).create_sent_at is None
    assert team.events() == []
    team.drain()
    assert len(team.events()) == 1
