"""Recaps → Enhanced Notes (ContentNote + ContentDocumentLink) on the emulator: shape, API calls,
re-push, deletion in Salesforce, lost answers, late commits and the reconcile window."""

import base64
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.drain import drain
from integrations.salesforce.errors import UnknownOutcomeError
from integrations.salesforce.models import SalesforceConnection, SyncOperation
from notetaker.models import RecapNoteLink
from sfdc_emulator.seed import ID, USER_IDS
from tests.notetaker.test_recap_push import booked, recap_op, same_id, send_recap, set_scope

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]
State = SyncOperation.State
Scope = SalesforceConnection.ObjectScope
JANE, OPPORTUNITY, SAM, ADMIN = (
    ID["contact:jane"],
    ID["opportunity:globex_renewal"],
    ID["lead:sam"],
    USER_IDS["admin@acme.test"],
)


@pytest.fixture
def org(team):
    """The `team` workspace connected to the emulator, pushing Events + Notes as Enhanced Notes (the default)."""
    set_scope(team, Scope.EVENTS_AND_NOTES, note_type="")
    assert team.refresh().note_type == SalesforceConnection.NoteType.ENHANCED
    return team


def notes(team) -> list[dict]:
    return team.emulator.control.records("ContentNote")


def content(note) -> str:
    return base64.b64decode(note["Content"]).decode()


def links_of(team, note_id) -> dict[str, dict]:
    """The note's ContentDocumentLinks by linked record (15-char id), without the owner's own."""
    return {
        link["LinkedEntityId"][:15]: link
        for link in team.emulator.control.records("ContentDocumentLink")
        if link["ContentDocumentId"] == note_id and link["LinkedEntityId"] != ADMIN
    }


def counted_calls(team) -> list[tuple[str, str]]:
    return [(c["method"], c["path"].rsplit("/v59.0/", 1)[-1]) for c in team.emulator.control.calls() if c["counted"]]


def expected_html(booking, summary="Jane wants the renewal quote before Friday.") -> str:
    return (
        f"<p>{summary}</p>"
        "<p><b>Action items</b></p><ul>"
        "<li>Send the renewal quote (assignee: Mia Member; due 2026-04-03)</li>"
        "<li>Book a follow-up</li></ul>"
        "<p>Meeting host: Alice Adams</p>"
        f'<p>Workestra booking: <a href="http://127.0.0.1:8000/calendar/bookings/{booking.pk}/">'
        f"http://127.0.0.1:8000/calendar/bookings/{booking.pk}/</a></p>"
    )


# --- shape and API calls ------------------------------------------------------------------------


def test_one_enhanced_note_on_the_contact_and_the_deal_in_two_api_calls(org, client):
    booking = booked(org)
    org.emulator.control.reset_calls()

    send_recap(client, booking)
    org.drain()

    assert counted_calls(org) == [("POST", "composite/"), ("POST", "composite/")]  # lookup, then note + links
    [note] = notes(org)
    day = booking.start_at.astimezone(ZoneInfo(org.users["alice"].timezone)).strftime("%Y-%m-%d")
    assert note["Title"] == f"Recap: Intro with Alice with Jane Roe ({day})"
    assert content(note) == expected_html(booking)
    assert note["OwnerId"] == ADMIN  # ContentNote.OwnerId can't be set: the connecting user owns it
    links = links_of(org, note["Id"])
    assert set(links) == {JANE[:15], OPPORTUNITY[:15]}
    assert {(link["ShareType"], link["Visibility"]) for link in links.values()} == {("V", "AllUsers")}
    rows = {row.target: row for row in RecapNoteLink.objects.all()}
    assert {row.note_type for row in rows.values()} == {"enhanced"}
    assert rows["person"].note_id == rows["deal"].note_id == note["Id"]
    assert {rows["person"].attachment_id, rows["deal"].attachment_id} == {link["Id"] for link in links.values()}
    op = recap_op(booking)
    assert op.state == State.PUSHED
    assert op.sf_ids == {
        "note_id": note["Id"],
        "person_link_id": rows["person"].attachment_id,
        "deal_link_id": rows["deal"].attachment_id,
    }
    assert f"Created Enhanced Note {note['Id']}." in op.outcome and "Opportunity Globex Renewal" in op.outcome
    assert op.api_calls == 2
    client.force_login(org.users["alice"])
    assert (
        f"Enhanced Note <code>{note['Id']}</code> on contact or lead and deal (opportunity)"
        in client.get(booking.get_absolute_url()).content.decode()
    )


def test_a_lead_gets_one_note_linked_to_the_lead_only(org, client):
    booking = booked(org, email="sam@leadco.example", name="Sam Lead")

    send_recap(client, booking)
    org.drain()

    [note] = notes(org)
    assert set(links_of(org, note["Id"])) == {SAM[:15]}
    assert recap_op(booking).state == State.PUSHED


def test_the_summary_is_escaped_html_and_stays_readable(org, client):
    booking = booked(org)
    summary = 'First <script>alert("x")</script> & Zoë\nsecond line\n\nNew paragraph 🚀'

    send_recap(client, booking, summary=summary)
    org.drain()

    [note] = notes(org)
    assert content(note).startswith(
        "<p>First &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Zoë<br>second line</p><p>New paragraph 🚀</p>"
    )
    assert "Zoë" in note["TextPreview"] and "<script>" in note["TextPreview"]  # readable as text


# --- re-push and deletion ---------------------------------------------------------------------


def test_a_newer_recap_updates_the_same_note_in_one_api_call(org, client):
    booking = booked(org)
    send_recap(client, booking)
    org.drain()
    [before] = notes(org)
    org.emulator.control.reset_calls()

    send_recap(client, booking, summary="Revised: the quote is due Thursday.", key="delivery-2")
    org.drain()

    [after] = notes(org)
    assert after["Id"] == before["Id"]
    assert content(after) == expected_html(booking, "Revised: the quote is due Thursday.")
    assert counted_calls(org) == [("POST", "composite/")]  # one PATCH, no lookup, no new link
    assert set(links_of(org, after["Id"])) == {JANE[:15], OPPORTUNITY[:15]}
    assert "Updated Enhanced Note" in recap_op(booking).outcome


def test_a_note_deleted_in_salesforce_is_created_again_and_linked_again(org, client):
    booking = booked(org)
    send_recap(client, booking)
    org.drain()
    [deleted] = notes(org)
    org.emulator.control.delete_record("ContentDocument", deleted["Id"])

    send_recap(client, booking, summary="Revised after the deletion.", key="delivery-2")
    org.drain()

    [note] = notes(org)
    assert note["Id"] != deleted["Id"]
    assert set(links_of(org, note["Id"])) == {JANE[:15], OPPORTUNITY[:15]}
    assert {row.note_id for row in RecapNoteLink.objects.all()} == {note["Id"]}
    op = recap_op(booking)
    assert op.state == State.PUSHED
    assert f"Enhanced Note {deleted['Id']} had been deleted in Salesforce; a new one was created." in op.outcome


# --- lost answers and late commits --------------------------------------------------------------


def test_a_lost_answer_is_reconciled_by_title_creator_and_the_marker_in_the_content(org, client):
    booking = booked(org)
    org.emulator.control.set_faults(timeout_after_write={"count": 1, "mode": "drop"})
    send_recap(client, booking)

    drain(org.connection.pk)
    assert len(notes(org)) == 1  # committed, though Workestra never heard back
    assert recap_op(booking).error_code == "UNKNOWN_OUTCOME"
    org.emulator.control.reset_calls()
    org.drain()

    [note] = notes(org)
    assert counted_calls(org) == [
        ("GET", "query/"),  # ContentNote by Title, CreatedById, CreatedDate (Content is not filterable)
        ("GET", f"sobjects/ContentNote/{note['Id']}/Content"),  # the candidate's body: the booking's marker?
        ("GET", "query/"),  # its ContentDocumentLinks
        ("POST", "composite/"),  # bring it up to date
    ]
    rows = {row.target: row for row in RecapNoteLink.objects.all()}
    assert {rows["person"].attachment_id, rows["deal"].attachment_id} == {
        link["Id"] for link in links_of(org, note["Id"]).values()
    }
    op = recap_op(booking)
    assert op.state == State.PUSHED and op.attempts == 2
    assert (
        f"An earlier attempt had created Enhanced Note {note['Id']} without an answer reaching Workestra; it was adopted, not duplicated."
        in op.warnings
    )


def lose_the_next_write(monkeypatch):
    """The next /composite write times out before Salesforce commits it: it commits later (or never)."""
    real = SalesforceClient.composite
    state = {"lost": False}

    def composite(self, subrequests, **kwargs):
        if not state["lost"] and any(sub["method"] != "GET" for sub in subrequests):
            state["lost"] = True
            raise UnknownOutcomeError(
                "No answer from Salesforce after the request was sent: ReadTimeout", code="UNKNOWN_OUTCOME"
            )
        return real(self, subrequests, **kwargs)

    monkeypatch.setattr(SalesforceClient, "composite", composite)


def commit_late(team, booking):
    """What Salesforce does when the timed-out request finally commits: the note and its links."""
    from integrations.salesforce.content_notes import note_content
    from integrations.salesforce.notes import note_title

    note_id = team.emulator.control.create_record(
        "ContentNote", {"Title": note_title(booking), "Content": note_content(booking.recap)}
    )
    for parent in (JANE, OPPORTUNITY):
        team.emulator.control.create_record(
            "ContentDocumentLink", {"ContentDocumentId": note_id, "LinkedEntityId": parent, "ShareType": "V"}
        )
    return note_id


def test_within_the_window_a_late_commit_is_waited_for_and_adopted_never_duplicated(org, client, settings, monkeypatch):
    settings.SALESFORCE_RECONCILE_WINDOW_SECONDS = 600
    settings.SALESFORCE_RETRY_BASE_SECONDS = settings.SALESFORCE_RETRY_MAX_SECONDS = (
        60  # retries only when the test says
    )
    booking = booked(org)
    lose_the_next_write(monkeypatch)
    send_recap(client, booking)
    drain(org.connection.pk)
    assert notes(org) == [] and recap_op(booking).error_code == "UNKNOWN_OUTCOME"

    org.emulator.control.reset_calls()
    SyncOperation.objects.filter(pk=recap_op(booking).pk).update(next_attempt_at=timezone.now())
    drain(org.connection.pk)  # the retry: nothing in Salesforce yet, and the window is open

    assert counted_calls(org) == [("GET", "query/")]  # looked, did not create
    assert notes(org) == []
    assert "no note has appeared yet" in recap_op(booking).outcome
    note_id = commit_late(org, booking)
    SyncOperation.objects.filter(pk=recap_op(booking).pk).update(next_attempt_at=timezone.now())
    drain(org.connection.pk)

    assert [n["Id"] for n in notes(org)] == [note_id]
    assert {row.note_id for row in RecapNoteLink.objects.all()} == {note_id}
    assert recap_op(booking).state == State.PUSHED


def test_after_the_window_a_create_that_never_committed_is_sent(org, client, settings, monkeypatch):
    settings.SALESFORCE_RECONCILE_WINDOW_SECONDS = 600
    booking = booked(org)
    lose_the_next_write(monkeypatch)
    send_recap(client, booking)
    drain(org.connection.pk)
    RecapNoteLink.objects.update(create_sent_at=timezone.now() - timedelta(seconds=601))
    org.emulator.control.reset_calls()

    org.drain()

    [note] = notes(org)
    assert counted_calls(org) == [
        ("GET", "query/"),
        ("POST", "composite/"),
        ("POST", "composite/"),
    ]  # look, lookup, create
    assert set(links_of(org, note["Id"])) == {JANE[:15], OPPORTUNITY[:15]}
    assert recap_op(booking).state == State.PUSHED


def test_switching_to_enhanced_leaves_the_classic_notes_and_says_so(team, client):
    set_scope(team, Scope.EVENTS_AND_NOTES, note_type="classic")
    booking = booked(team)
    send_recap(client, booking)
    team.drain()
    classic = {n["Id"] for n in team.emulator.control.records("Note")}
    set_scope(team, Scope.EVENTS_AND_NOTES, note_type="enhanced")

    send_recap(client, booking, summary="Now as an Enhanced Note.", key="delivery-2")
    team.drain()

    assert {n["Id"] for n in team.emulator.control.records("Note")} == classic  # untouched
    [note] = notes(team)
    assert {row.note_id for row in RecapNoteLink.objects.all()} == {note["Id"]}
    op = recap_op(booking)
    assert op.state == State.PUSHED
    assert op.warnings.count("the earlier classic Note") == 2


def test_classic_notes_belong_to_the_hosts_mapped_salesforce_user(team, client):
    set_scope(team, Scope.EVENTS_AND_NOTES, note_type="classic")
    mapped = booked(team)
    unmapped = team.book("dave", slot=1)
    team.drain()

    send_recap(client, mapped)
    send_recap(client, unmapped, key="delivery-2")
    team.drain()

    owners = {(n["ParentId"][:15], n["OwnerId"]) for n in team.emulator.control.records("Note")}
    alice = USER_IDS["alice@acme.test"]
    assert owners == {(JANE[:15], alice), (OPPORTUNITY[:15], alice), (JANE[:15], ADMIN), (OPPORTUNITY[:15], ADMIN)}
    assert same_id(team.refresh().sf_user_id, ADMIN)


def test_reconcile_fetches_only_unknown_candidates_with_the_same_title(org, client):
    """Two meetings with Jane the same day have the same Title: the note Workestra already knows
    is not fetched; only the unknown candidate's Content is read."""
    known = booked(org, slot=0)
    send_recap(client, known)
    org.drain()
    [known_note] = notes(org)
    lost = booked(org, slot=1)
    org.emulator.control.set_faults(timeout_after_write={"count": 1, "mode": "drop"})
    send_recap(client, lost, key="delivery-2")
    drain(org.connection.pk)
    org.emulator.control.reset_calls()

    org.drain()

    [new_note] = [n for n in notes(org) if n["Id"] != known_note["Id"]]
    fetched = [path for method, path in counted_calls(org) if path.endswith("/Content")]
    assert fetched == [f"sobjects/ContentNote/{new_note['Id']}/Content"]
    assert len(notes(org)) == 2
    assert recap_op(lost).state == State.PUSHED


def test_a_classic_note_whose_owner_became_inactive_goes_in_owned_by_the_connecting_user(team, client):
    set_scope(team, Scope.EVENTS_AND_NOTES, note_type="classic")
    booking = booked(team)
    team.emulator.control.update_record(
        "User", USER_IDS["alice@acme.test"], {"IsActive": False}
    )  # the cache still says active

    send_recap(client, booking)
    team.drain()

    owners = {n["OwnerId"] for n in team.emulator.control.records("Note")}
    assert owners == {ADMIN} and len(team.emulator.control.records("Note")) == 2
    op = recap_op(booking)
    assert op.state == State.PUSHED
    assert (
        "The host's Salesforce user is inactive; the Note on the contact or lead is owned by the connecting user (admin@acme.test)."
        in op.warnings
    )
