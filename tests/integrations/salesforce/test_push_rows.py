"""The seed page's "What gets pushed" table for bookings, and the matching rules, against the
emulator over HTTPS. Each test asserts the exact Event Salesforce ends up holding."""

from datetime import timedelta

import pytest

from bookings.services import booking_cancel, booking_reschedule
from integrations.salesforce.models import BookingSync, LinkPushSetting, SalesforceConnection, SyncOperation
from sfdc_emulator.seed import ADMIN, BOB, ID, USER_IDS

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]
State = SyncOperation.State


def only_event(team) -> dict:
    events = team.events()
    assert len(events) == 1, events
    return events[0]


def test_confirmed_booking_creates_one_event_with_the_seven_fields(team):
    booking = team.book(
        "bob", email="jane.roe@globex.com", name="Jane Roe", answers={"What to discuss?": "Renewal pricing"}
    )

    team.drain()

    event = only_event(team)
    assert event["Subject"] == "Intro with Bob and Jane Roe"
    assert event["OwnerId"] == USER_IDS[BOB]
    assert event["WhoId"] == ID["contact:jane"]
    assert event["WhatId"] == ID["opportunity:globex_renewal"]
    assert event["DurationInMinutes"] == 30
    assert event["StartDateTime"].startswith(booking.start_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert f"Workestra booking: http://127.0.0.1:8000/calendar/bookings/{booking.pk}/" in event["Description"]
    assert booking.uid not in event["Description"]  # the invitee's capability URL never reaches Salesforce
    assert "Invitee: Jane Roe <jane.roe@globex.com>" in event["Description"]
    assert "- What to discuss?: Renewal pricing" in event["Description"]
    sync = BookingSync.objects.get(booking=booking)
    assert sync.sf_event_id == event["Id"] and sync.event_state == BookingSync.EventState.LIVE
    assert sync.match_explanation == (
        "Contact Jane Roe: email matched; Opportunity Globex Renewal: "
        "the contact's account's most recently modified open opportunity"
    )
    op = SyncOperation.objects.get(booking=booking)
    assert op.state == State.PUSHED and op.sf_ids == {"event_id": event["Id"]}
    assert op.attempts == 1 and op.api_calls == 2


def test_reschedule_moves_the_same_event(team):
    booking = team.book("alice")
    team.drain()
    event_id = only_event(team)["Id"]
    new_start = team.free_slot("alice", 3)

    booking = booking_reschedule(booking=booking, start=new_start)
    team.drain()

    event = only_event(team)
    assert event["Id"] == event_id
    assert event["StartDateTime"].startswith(new_start.strftime("%Y-%m-%dT%H:%M:%S"))
    assert (
        SyncOperation.objects.filter(booking=booking).latest("id").outcome == f"Moved Event {event_id} to the new time."
    )


def test_cancel_deletes_the_event_by_default(team):
    booking = team.book("alice")
    team.drain()
    event_id = only_event(team)["Id"]

    booking_cancel(booking=booking, reason="Found another vendor")
    team.drain()

    assert team.events() == []
    deleted = [e for e in team.events(include_deleted=True) if e["Id"] == event_id]
    assert deleted and deleted[0]["IsDeleted"] is True
    assert BookingSync.objects.get(booking=booking).event_state == BookingSync.EventState.DELETED


def test_cancel_marks_the_event_closed_when_the_workspace_says_so(team):
    SalesforceConnection.objects.filter(pk=team.connection.pk).update(
        cancel_behaviour=SalesforceConnection.CancelBehaviour.MARK_CLOSED
    )
    booking = team.book("alice", email="peter@initech.com", name="Peter Gibbons")
    team.drain()

    booking_cancel(booking=booking, reason="Budget freeze")
    team.drain()

    event = only_event(team)
    assert event["Subject"] == "Cancelled: Intro with Alice and Peter Gibbons"
    assert event["Description"].startswith("Cancelled in Workestra. Reason: Budget freeze")


def test_cancel_before_anything_was_sent_sends_nothing(team):
    booking = team.book("alice")
    booking_cancel(booking=booking)
    calls_before = team.emulator.control.count()

    team.drain()

    assert team.events(include_deleted=True) == []
    assert team.emulator.control.count() == calls_before
    assert set(SyncOperation.objects.filter(booking=booking).values_list("state", flat=True)) == {State.COALESCED}


@pytest.mark.parametrize(
    ("email", "who", "what", "explanation"),
    [
        ("jane.roe@globex.com", "contact:jane", "opportunity:globex_renewal", "Opportunity Globex Renewal"),
        (
            "peter@initech.com",
            "contact:peter",
            "account:initech",
            "Account Initech: the contact's account (it has no open opportunity)",
        ),
        ("JANE.ROE@Globex.COM", "contact:jane", "opportunity:globex_renewal", "Contact Jane Roe: email matched"),
        ("sam@leadco.example", "lead:sam", None, "Lead Sam Lead: email matched an unconverted lead"),
        ("mixed.case@leadco.example", "lead:mixed", None, "Lead Mixed Case"),
        ("norm@freelance.example", "contact:norm", None, "the contact has no account"),
    ],
)
def test_matching(team, email, who, what, explanation):
    booking = team.book("alice", email=email, name="Someone")

    team.drain()

    event = only_event(team)
    assert event["WhoId"] == ID[who]
    assert event.get("WhatId") == (ID[what] if what else None)
    assert explanation in BookingSync.objects.get(booking=booking).match_explanation


def test_converted_lead_is_ignored_and_no_match_creates_the_event_without_a_contact(team):
    booking = team.book("alice", email="old.lead@initech.com", name="Olive Oldlead")

    team.drain()

    event = only_event(team)
    assert event.get("WhoId") is None and event.get("WhatId") is None
    assert event["OwnerId"] == USER_IDS["alice@acme.test"]
    sync = BookingSync.objects.get(booking=booking)
    assert (
        sync.match_explanation
        == "No matching contact or lead: no contact or unconverted lead has the email old.lead@initech.com"
    )


def test_no_match_is_skipped_when_the_workspace_says_so(team):
    SalesforceConnection.objects.filter(pk=team.connection.pk).update(
        no_match_behaviour=SalesforceConnection.NoMatchBehaviour.SKIP
    )
    booking = team.book("alice", email="nobody@nowhere.example", name="No Body")

    team.drain()

    assert team.events() == []
    op = SyncOperation.objects.get(booking=booking)
    assert op.state == State.SKIPPED
    assert op.outcome.startswith("No matching contact or lead")


def test_two_contacts_with_one_email_resolve_to_the_oldest_every_time(team):
    first = team.book("alice", email="dup@vandelay.com", name="Dana Duplicate")
    second = team.book("bob", email="DUP@vandelay.com", name="Dana Duplicate")

    team.drain()

    events = team.events()
    assert len(events) == 2
    assert {e["WhoId"] for e in events} == {ID["contact:dup1"]}
    assert "oldest of 2 contacts" in BookingSync.objects.get(booking=first).match_explanation
    assert "2 contacts have the email dup@vandelay.com" in BookingSync.objects.get(booking=second).warnings


def test_unmapped_host_events_belong_to_the_connecting_user_with_a_warning(team):
    booking = team.book("dave", email="jane.roe@globex.com")

    team.drain()

    assert only_event(team)["OwnerId"] == USER_IDS[ADMIN]
    op = SyncOperation.objects.get(booking=booking)
    assert "dave@acme.test is not mapped to a Salesforce user" in op.warnings


def test_carol_is_owned_through_the_admin_override(team):
    team.book("carol", email="art@vandelay.com", name="Art Vandelay")

    team.drain()

    assert only_event(team)["OwnerId"] == USER_IDS["carol.sales@acme.test"]


def test_toggle_off_means_new_bookings_are_not_pushed(team):
    LinkPushSetting.objects.create(link=team.links["alice"], push_enabled=False)

    booking = team.book("alice")
    team.drain()

    assert team.events() == []
    assert not SyncOperation.objects.filter(booking=booking).exists()
    assert not BookingSync.objects.filter(booking=booking).exists()


def test_a_pushed_booking_stays_in_step_after_the_toggle_is_turned_off(team):
    booking = team.book("alice")
    team.drain()
    LinkPushSetting.objects.create(link=team.links["alice"], push_enabled=False)

    new_start = team.free_slot("alice", 2)
    booking = booking_reschedule(booking=booking, start=new_start)
    team.drain()
    assert only_event(team)["StartDateTime"].startswith(new_start.strftime("%Y-%m-%dT%H:%M:%S"))

    booking_cancel(booking=booking)
    team.drain()
    assert team.events() == []


def test_an_event_deleted_in_salesforce_is_recreated_on_reschedule(team):
    booking = team.book("alice")
    team.drain()
    old_id = only_event(team)["Id"]
    team.emulator.control.delete_record("Event", old_id)

    booking = booking_reschedule(booking=booking, start=team.free_slot("alice", 4))
    team.drain()

    event = only_event(team)
    assert event["Id"] != old_id
    op = SyncOperation.objects.filter(booking=booking).latest("id")
    assert op.state == State.PUSHED
    assert f"Event {old_id} had been deleted in Salesforce; a new Event was created." in op.warnings
    assert BookingSync.objects.get(booking=booking).sf_event_id == event["Id"]


def test_an_event_deleted_in_salesforce_is_fine_on_cancel(team):
    booking = team.book("alice")
    team.drain()
    team.emulator.control.delete_record("Event", only_event(team)["Id"])

    booking_cancel(booking=booking)
    team.drain()

    op = SyncOperation.objects.filter(booking=booking).latest("id")
    assert op.state == State.PUSHED and "already deleted in Salesforce" in op.outcome


def test_a_long_description_is_truncated_visibly_not_rejected(team):
    booking = team.book("alice", answers={"Notes": "x" * 40_000})

    team.drain()

    description = only_event(team)["Description"]
    assert len(description) == 32_000
    assert description.endswith(f"Full details: http://127.0.0.1:8000/calendar/bookings/{booking.pk}/]")


def test_no_connection_means_no_outbox_rows(db, sf_settings, sfdc_emulator):
    from tests.fixtures.salesforce import make_team

    team = make_team(sfdc_emulator, connect=False)
    booking = team.book("alice")
    assert not SyncOperation.objects.filter(booking=booking).exists()


def test_start_time_is_sent_in_utc(team):
    booking = team.book("alice")
    team.drain()
    start = only_event(team)["StartDateTime"]
    assert start.endswith("+0000") or start.endswith("Z")
    assert booking.start_at.utcoffset() == timedelta(0)


def test_changes_made_while_disconnected_wait_and_replay_after_reconnect(team):
    from integrations.salesforce.services import connection_disconnect
    from tests.fixtures.salesforce import connect_workspace

    booking = team.book("alice")
    team.drain()
    connection_disconnect(connection=team.refresh())
    new_start = team.free_slot("alice", 2)
    booking = booking_reschedule(booking=booking, start=new_start)
    unpushed = team.book("bob", slot=1)  # a new booking while disconnected is not chosen for Salesforce

    op = SyncOperation.objects.filter(booking=booking).latest("id")
    assert op.state == State.WAITING_RECONNECT and "disconnected" in op.outcome
    assert not SyncOperation.objects.filter(booking=unpushed).exists()

    connect_workspace(team.workspace, team.admin, team.emulator)
    team.drain()

    assert only_event(team)["StartDateTime"].startswith(new_start.strftime("%Y-%m-%dT%H:%M:%S"))
