"""Recaps → classic Notes on the emulator: targets, API calls, re-push, faults, reconnect."""

import time
from zoneinfo import ZoneInfo

import pytest

from integrations.salesforce import outbox
from integrations.salesforce.drain import drain
from integrations.salesforce.models import SalesforceConnection, SyncOperation
from integrations.salesforce.services import connection_update_settings
from notetaker.models import SUMMARY_MAX_CHARS, Recap, RecapNoteLink
from sfdc_emulator.seed import ID, NONOTES
from tests.fixtures.salesforce import connect_workspace
from tests.notetaker.recap_support import post_recap, recap_payload

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]
State = SyncOperation.State
Scope = SalesforceConnection.ObjectScope
JANE, OPPORTUNITY, SAM = ID["contact:jane"], ID["opportunity:globex_renewal"], ID["lead:sam"]


@pytest.fixture
def org(team):
    """The `team` workspace connected to the emulator, its scope switched to Events + Notes."""
    set_scope(team, Scope.EVENTS_AND_NOTES)
    return team


def set_scope(team, scope, note_type="classic"):
    connection_update_settings(
        connection=team.refresh(),
        object_scope=scope,
        cancel_behaviour=team.connection.cancel_behaviour,
        no_match_behaviour=team.connection.no_match_behaviour,
        note_type=note_type,
    )


def booked(team, email="jane.roe@globex.com", name="Jane Roe", slot=0):
    """A booking made through bookings.services (as the public page does), its Event already in Salesforce."""
    booking = team.book("alice", email=email, name=name, slot=slot)
    team.drain()
    return booking


def send_recap(
    client, booking, summary="Jane wants the renewal quote before Friday.", key="delivery-1", **payload_fields
):
    response = post_recap(client, recap_payload(booking, summary=summary, **payload_fields), key=key)
    assert response.status_code in (200, 201), response.content
    return response


def live_notes(team) -> list[dict]:
    return team.emulator.control.records("Note")


def recap_op(booking) -> SyncOperation:
    return SyncOperation.objects.filter(booking=booking, kind=SyncOperation.Kind.RECAP).latest("id")


def same_id(a, b):
    return a[:15] == b[:15]


# --- where the Notes go ---------------------------------------------------------------------------


def test_a_contact_with_an_open_opportunity_gets_two_notes_in_two_api_calls(org, client):
    booking = booked(org)
    org.emulator.control.reset_calls()

    send_recap(client, booking)
    org.drain()

    assert org.emulator.control.count() == 2
    calls = [(c["method"], c["path"]) for c in org.emulator.control.calls() if c["counted"]]
    assert calls == [("POST", "/services/data/v59.0/composite/"), ("POST", "/services/data/v59.0/composite/sobjects/")]
    by_parent = {n["ParentId"][:15]: n for n in live_notes(org)}
    assert set(by_parent) == {JANE[:15], OPPORTUNITY[:15]}
    day = booking.start_at.astimezone(ZoneInfo(org.users["alice"].timezone)).strftime("%Y-%m-%d")
    for note in by_parent.values():
        assert note["Title"] == f"Recap: Intro with Alice with Jane Roe ({day})"
        assert note["Body"] == (
            "Jane wants the renewal quote before Friday.\n\n"
            "Action items:\n"
            "- Send the renewal quote (assignee: Mia Member; due 2026-04-03)\n"
            "- Book a follow-up\n\n"
            f"Workestra booking: http://127.0.0.1:8000/calendar/bookings/{booking.pk}/"
        )
    op = recap_op(booking)
    assert op.state == State.PUSHED
    links = {link.target: link for link in RecapNoteLink.objects.all()}
    assert op.sf_ids == {"person_note_id": links["person"].note_id, "deal_note_id": links["deal"].note_id}
    assert same_id(links["person"].parent_id, JANE) and same_id(links["deal"].parent_id, OPPORTUNITY)
    assert "Created Note" in op.outcome and "Opportunity Globex Renewal" in op.outcome


def test_a_lead_gets_one_note(org, client):
    booking = booked(org, email="sam@leadco.example", name="Sam Lead")

    send_recap(client, booking)
    org.drain()

    [note] = live_notes(org)
    assert same_id(note["ParentId"], SAM)
    op = recap_op(booking)
    assert op.state == State.PUSHED and list(op.sf_ids) == ["person_note_id"]


def test_no_matching_contact_or_lead_is_skipped_and_the_event_is_untouched(org, client):
    booking = booked(org, email="nobody@nowhere.example", name="No Body")
    [event_before] = org.events()

    send_recap(client, booking)
    org.drain()

    op = recap_op(booking)
    assert op.state == State.SKIPPED
    assert op.outcome == "not pushed: no matching contact or lead"
    assert live_notes(org) == []
    assert org.events() == [event_before]
    client.force_login(org.users["alice"])
    assert "not pushed: no matching contact or lead" in client.get(booking.get_absolute_url()).content.decode()


def test_with_events_only_nothing_is_queued_and_the_button_explains(team, client):
    booking = booked(team)

    send_recap(client, booking)

    assert not SyncOperation.objects.filter(kind=SyncOperation.Kind.RECAP).exists()
    client.force_login(team.users["alice"])
    page = client.get(booking.get_absolute_url()).content.decode()
    assert 'id="recap-push-button" disabled' in page
    assert "Your workspace pushes Events only; an admin can switch to Events + Notes in Salesforce settings." in page


def test_the_push_button_sends_the_recap(team, client):
    booking = booked(team)
    send_recap(client, booking)
    set_scope(team, Scope.EVENTS_AND_NOTES)
    client.force_login(team.users["alice"])

    client.post(f"/bookings/{booking.uid}/recap/push/")
    team.drain()

    assert len(live_notes(team)) == 2
    page = client.get(booking.get_absolute_url()).content.decode()
    assert "Pushed" in page
    for link in RecapNoteLink.objects.all():
        assert f"<code>{link.note_id}</code>" in page


def test_several_recaps_go_in_one_lookup_and_one_create(org, client):
    bookings = [
        booked(org, slot=0),
        booked(org, email="sam@leadco.example", name="Sam Lead", slot=1),
        booked(org, email="peter@initech.com", name="Peter Gibbons", slot=2),
        booked(org, email="nobody@nowhere.example", name="No Body", slot=3),
    ]
    org.emulator.control.reset_calls()

    for n, booking in enumerate(bookings):
        send_recap(client, booking, key=f"delivery-{n}")
    org.drain()

    assert org.emulator.control.count() == 2
    assert len(live_notes(org)) == 4  # Jane ×2, Sam, Peter (whose account has no open opportunity)
    assert [recap_op(b).state for b in bookings] == [State.PUSHED, State.PUSHED, State.PUSHED, State.SKIPPED]


# --- re-push ----------------------------------------------------------------------------------------


def test_a_newer_recap_updates_the_same_two_notes(org, client):
    booking = booked(org)
    send_recap(client, booking)
    org.drain()
    before = {n["Id"]: n for n in live_notes(org)}
    org.emulator.control.reset_calls()

    send_recap(client, booking, summary="Revised: the quote is due Thursday.", key="delivery-2")
    org.drain()

    after = {n["Id"]: n for n in live_notes(org)}
    assert set(after) == set(before) and len(after) == 2
    for note in after.values():
        assert note["Body"].startswith("Revised: the quote is due Thursday.\n")
    assert org.emulator.control.count() == 1  # one collection update, no lookup
    assert recap_op(booking).state == State.PUSHED and "Updated Note" in recap_op(booking).outcome


def test_a_note_deleted_in_salesforce_is_created_again_and_the_outcome_says_so(org, client):
    booking = booked(org)
    send_recap(client, booking)
    org.drain()
    person = RecapNoteLink.objects.get(target="person")
    deal_note_id = RecapNoteLink.objects.get(target="deal").note_id
    org.emulator.control.delete_record("Note", person.note_id)

    send_recap(client, booking, summary="Revised after the deletion.", key="delivery-2")
    org.drain()

    notes_now = live_notes(org)
    assert len(notes_now) == 2
    person_now = RecapNoteLink.objects.get(target="person")
    assert person_now.note_id != person.note_id and RecapNoteLink.objects.get(target="deal").note_id == deal_note_id
    assert {n["Id"] for n in notes_now} == {person_now.note_id, deal_note_id}
    op = recap_op(booking)
    assert op.state == State.PUSHED
    assert f"Note {person.note_id} had been deleted in Salesforce; a new Note was created." in op.outcome


def test_a_recreate_whose_answer_is_lost_is_adopted_on_the_retry(org, client, monkeypatch):
    from integrations.salesforce.client import SalesforceClient

    booking = booked(org)
    send_recap(client, booking)
    org.drain()
    deleted = RecapNoteLink.objects.get(target="person").note_id
    org.emulator.control.delete_record("Note", deleted)
    real_update = SalesforceClient.update_records

    def update_then_lose_the_next_answer(self, sobject, records):
        results = real_update(self, sobject, records)
        org.emulator.control.set_faults(timeout_after_write={"count": 1, "mode": "drop"})
        return results

    monkeypatch.setattr(SalesforceClient, "update_records", update_then_lose_the_next_answer)
    send_recap(client, booking, summary="Revised after the deletion.", key="delivery-2")
    drain(org.connection.pk)
    monkeypatch.setattr(SalesforceClient, "update_records", real_update)
    org.drain()

    notes_now = live_notes(org)
    assert len(notes_now) == 2 and deleted not in {n["Id"] for n in notes_now}
    assert {link.note_id for link in RecapNoteLink.objects.all()} == {n["Id"] for n in notes_now}
    assert all(n["Body"].startswith("Revised after the deletion.") for n in notes_now)
    assert recap_op(booking).state == State.PUSHED


# --- faults -------------------------------------------------------------------------------------------


def test_a_timeout_after_the_create_was_applied_is_reconciled_not_duplicated(org, client):
    """The create reaches Salesforce, its answer does not: the retry finds both Notes by
    ParentId + Title (+ the booking link in the Body) and adopts them."""
    booking = booked(org)
    org.emulator.control.set_faults(timeout_after_write={"count": 1, "mode": "drop"})
    send_recap(client, booking)

    drain(org.connection.pk)
    assert len(live_notes(org)) == 2  # applied, though Workestra never heard back
    first = recap_op(booking)
    assert first.state == State.PENDING and first.error_code == "UNKNOWN_OUTCOME"
    assert RecapNoteLink.objects.filter(create_sent_at__isnull=False, note_id="").count() == 2
    org.emulator.control.reset_calls()
    org.drain()

    notes_now = live_notes(org)
    assert len(notes_now) == 2
    assert {link.note_id for link in RecapNoteLink.objects.all()} == {n["Id"] for n in notes_now}
    assert not RecapNoteLink.objects.filter(create_sent_at__isnull=False).exists()
    op = recap_op(booking)
    assert op.state == State.PUSHED and op.attempts == 2
    assert [a.error_code for a in op.attempt_log.all()] == ["UNKNOWN_OUTCOME", ""]
    assert op.warnings.count("without an answer reaching Workestra; it was adopted, not duplicated") == 2
    calls = [(c["method"], c["path"].rsplit("/v59.0/", 1)[-1]) for c in org.emulator.control.calls() if c["counted"]]
    assert calls == [("GET", "query/"), ("PATCH", "composite/sobjects/")]  # reconcile, then bring them up to date


def test_a_create_refused_with_503_is_created_on_the_retry(org, client):
    booking = booked(org)
    org.emulator.control.set_faults(
        fail={"status": 503, "count": 1, "prefix": "/services/data/v59.0/composite/sobjects"}
    )

    send_recap(client, booking)
    org.drain()

    notes_now = live_notes(org)
    assert len(notes_now) == 2
    assert {link.note_id for link in RecapNoteLink.objects.all()} == {n["Id"] for n in notes_now}
    op = recap_op(booking)
    assert op.state == State.PUSHED and op.attempts == 2 and len(op.sf_ids) == 2
    assert op.attempt_log.first().error_code == "SERVER_UNAVAILABLE"


def lost_create(org, client, *, sent_ago: float):
    """A recap whose Note create was sent `sent_ago` seconds ago and never answered, and no such
    Note in Salesforce; its push is queued again."""
    from datetime import timedelta

    from django.utils import timezone

    from integrations.salesforce.notes import note_title
    from notetaker.services import recap_request_push

    booking = booked(org)
    send_recap(client, booking)
    recap = Recap.objects.get()
    SyncOperation.objects.filter(kind=SyncOperation.Kind.RECAP).delete()
    RecapNoteLink.objects.create(
        recap=recap,
        target="person",
        org_id=org.refresh().org_id,
        parent_id=JANE,
        create_sent_at=timezone.now() - timedelta(seconds=sent_ago),
        create_sent_title=note_title(booking),
    )
    recap_request_push(recap=recap)
    return booking


def test_within_the_reconcile_window_a_lost_create_is_only_looked_for(org, client, settings):
    """Salesforce may commit a create after the client gave up: until the window has passed,
    the retry only queries, never creates a second Note."""
    settings.SALESFORCE_RECONCILE_WINDOW_SECONDS = 600
    settings.SALESFORCE_RETRY_BASE_SECONDS = settings.SALESFORCE_RETRY_MAX_SECONDS = 60  # one attempt per drain
    booking = lost_create(org, client, sent_ago=30)
    org.emulator.control.reset_calls()

    drain(org.connection.pk)

    calls = [(c["method"], c["path"].rsplit("/v59.0/", 1)[-1]) for c in org.emulator.control.calls() if c["counted"]]
    assert calls == [("GET", "query/")]
    assert live_notes(org) == []
    op = recap_op(booking)
    assert op.state == State.PENDING and "no note has appeared yet" in op.outcome
    assert RecapNoteLink.objects.get().create_sent_at is not None  # still looked for next time


def test_after_the_reconcile_window_a_create_that_never_arrived_is_sent(org, client, settings):
    """A marker left by a lost create older than the window, and no such Note in Salesforce:
    nothing to adopt, so the Notes are created (one reconcile query, one lookup, one create)."""
    settings.SALESFORCE_RECONCILE_WINDOW_SECONDS = 600
    booking = lost_create(org, client, sent_ago=601)
    org.emulator.control.reset_calls()

    org.drain()

    assert org.emulator.control.count() == 3
    assert len(live_notes(org)) == 2
    assert not RecapNoteLink.objects.filter(note_id="").exists()
    assert recap_op(booking).state == State.PUSHED


def test_a_revoked_token_waits_and_replays_once_after_reconnect(org, client):
    booking = booked(org)
    org.emulator.control.revoke_tokens()
    org.emulator.control.expire_tokens()

    send_recap(client, booking)
    org.drain()

    assert org.refresh().status == SalesforceConnection.Status.NEEDS_RECONNECT
    assert recap_op(booking).state == State.WAITING_RECONNECT
    assert live_notes(org) == []
    client.force_login(org.users["alice"])
    assert "Waiting for reconnect" in client.get(booking.get_absolute_url()).content.decode()

    connect_workspace(org.workspace, org.admin, org.emulator)
    org.drain()

    assert len(live_notes(org)) == 2
    op = recap_op(booking)
    assert op.state == State.PUSHED
    assert SyncOperation.objects.filter(booking=booking, kind=SyncOperation.Kind.RECAP).count() == 1
    assert [a.result for a in op.attempt_log.all()] == [State.WAITING_RECONNECT, State.PUSHED]  # replayed once


def test_after_connecting_another_org_the_old_notes_are_forgotten_not_updated(org, client):
    booking = booked(org)
    send_recap(client, booking)
    org.drain()
    old_ids = set(RecapNoteLink.objects.values_list("note_id", flat=True))
    connect_workspace(org.workspace, org.admin, org.emulator, sandbox=True)
    sandbox_org = org.refresh().org_id

    send_recap(client, booking, summary="Pushed to the sandbox.", key="delivery-2")
    org.drain()

    links = list(RecapNoteLink.objects.all())
    assert len(links) == 2 and {link.org_id for link in links} == {sandbox_org}
    assert not old_ids & {link.note_id for link in links}
    assert recap_op(booking).state == State.PUSHED


def test_request_limit_exceeded_defers_then_pushes(org, client):
    booking = booked(org)
    org.emulator.control.set_faults(request_limit_exceeded=True)

    send_recap(client, booking)
    drain(org.connection.pk)

    assert recap_op(booking).state == State.DEFERRED
    org.emulator.control.clear_faults()
    time.sleep(0.6)  # SALESFORCE_DEFER_SECONDS in the tests
    outbox.sweep()  # the periodic sweep hands deferred rows back once their time has come
    org.drain()

    assert recap_op(booking).state == State.PUSHED and len(live_notes(org)) == 2


def test_a_permanent_error_fails_with_salesforces_message_verbatim(team, client):
    connect_workspace(team.workspace, team.admin, team.emulator, username=NONOTES)
    SalesforceConnection.objects.filter(pk=team.connection.pk).update(object_scope=Scope.EVENTS_AND_NOTES)
    booking = booked(team)

    send_recap(client, booking)
    team.drain()

    op = recap_op(booking)
    assert op.state == State.FAILED and op.error_kind == "permanent"
    assert (op.error_code, op.error_message) == (
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        "entity type cannot be inserted: Note",
    )
    assert op.outcome == "entity type cannot be inserted: Note" and op.attempts == 1  # verbatim, not retried
    assert live_notes(team) == []
    client.force_login(team.users["alice"])
    page = client.get(booking.get_absolute_url()).content.decode()
    assert "Failed: entity type cannot be inserted: Note" in page


# --- the body --------------------------------------------------------------------------------------


def test_unicode_and_html_go_to_salesforce_verbatim_as_plain_text(org, client):
    booking = booked(org)
    summary = '<script>alert("x")</script> <b>Zoë</b> & 日本語 — “quotes” 🚀'

    send_recap(client, booking, summary=summary)
    org.drain()

    for note in live_notes(org):
        assert note["Body"].startswith(summary + "\n\nAction items:\n")


def test_a_large_allowed_summary_is_cut_visibly_at_32000_characters(org, client):
    booking = booked(org)
    summary = "Ω" * SUMMARY_MAX_CHARS

    send_recap(client, booking, summary=summary)
    org.drain()

    assert Recap.objects.get().summary == summary  # stored whole
    url = f"http://127.0.0.1:8000/calendar/bookings/{booking.pk}/"
    ending = f"\n\n[Truncated by Workestra: Salesforce keeps at most 32,000 characters. Full details: {url}]"
    pushed = live_notes(org)
    assert len(pushed) == 2
    for note in pushed:
        assert len(note["Body"]) == 32_000
        assert note["Body"].endswith(ending)
        assert note["Body"].startswith("Ω" * 1000)
