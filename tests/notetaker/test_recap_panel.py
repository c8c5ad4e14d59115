"""The recap on the booking page: who sees it, escaping, editing, the Push button and its states."""

import html
import re

import pytest

from integrations.salesforce.models import SalesforceConnection, SyncOperation
from integrations.salesforce.recap_destination import EVENTS_ONLY_REASON, NOT_CONNECTED_REASON
from notetaker.models import Recap, RecapNoteLink
from tests.fixtures.factories import make_member
from tests.notetaker.recap_support import make_connection, post_recap, recap_payload

pytestmark = pytest.mark.django_db
State = SyncOperation.State
HOSTILE = '<script>alert("pwned")</script> Zoë & 日本語 🚀'


@pytest.fixture
def recap(client, booking):
    payload = recap_payload(booking, summary=HOSTILE)
    payload["action_items"].append(
        {"text": "<img src=x onerror=alert(1)>", "assignee": "<b>Bo</b>", "due_date": "2026-04-09"}
    )
    assert post_recap(client, payload).status_code == 201
    client.logout()
    return Recap.objects.get(booking=booking)


def page(client, booking) -> str:
    response = client.get(booking.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def panel_of(text: str) -> str:
    start = text.index('<div id="recap-panel">')
    return text[start : text.index("</section>", start)]


def test_the_host_sees_the_recap_escaped(client, booking, recap, member_user):
    client.force_login(member_user)

    text = panel_of(page(client, booking))

    assert "<script>" not in text and "<img src=x" not in text and "<b>Bo</b>" not in text
    assert html.escape(HOSTILE, quote=False) in text.replace("&#x27;", "'").replace("&quot;", '"')
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; Zoë &amp; 日本語 🚀" in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text and "&lt;b&gt;Bo&lt;/b&gt;" in text
    assert "Send the renewal quote" in text and "9 Apr 2026" in text
    assert "Not pushed yet" in text


def test_anonymous_visitors_and_other_members_do_not_see_it_admins_do(client, booking, recap, admin_user, workspace):
    assert "recap-panel" not in page(client, booking)
    client.force_login(make_member(workspace, "other@acme.test"))
    assert "recap-panel" not in page(client, booking)
    client.force_login(admin_user)
    assert "recap-panel" in page(client, booking)


def test_no_recap_no_panel(client, booking, member_user):
    client.force_login(member_user)
    assert "recap-panel" not in page(client, booking)


# --- the Push button ------------------------------------------------------------------------------


def test_events_only_disables_the_button_and_says_why(client, booking, recap, member_user):
    make_connection(booking.workspace, scope=SalesforceConnection.ObjectScope.EVENTS)
    client.force_login(member_user)

    text = panel_of(page(client, booking))

    assert 'id="recap-push-button" disabled' in text
    assert html.escape(EVENTS_ONLY_REASON) in text
    assert (
        EVENTS_ONLY_REASON
        == "Your workspace pushes Events only; an admin can switch to Events + Notes in Salesforce settings."
    )


def test_pressing_push_with_events_only_writes_no_row(client, booking, recap, member_user):
    make_connection(booking.workspace, scope=SalesforceConnection.ObjectScope.EVENTS)
    client.force_login(member_user)

    response = client.post(f"/bookings/{booking.uid}/recap/push/", follow=True)

    assert SyncOperation.objects.count() == 0
    assert html.escape(EVENTS_ONLY_REASON) in response.content.decode()


def test_not_connected_says_so(client, booking, recap, member_user):
    client.force_login(member_user)

    text = panel_of(page(client, booking))

    assert 'id="recap-push-button" disabled' in text
    assert html.escape(NOT_CONNECTED_REASON) in text
    client.post(f"/bookings/{booking.uid}/recap/push/")
    assert SyncOperation.objects.count() == 0


def test_pressing_push_queues_the_recap(client, booking, recap, member_user):
    connection = make_connection(booking.workspace)
    client.force_login(member_user)
    assert 'id="recap-push-button" disabled' not in panel_of(page(client, booking))

    response = client.post(f"/bookings/{booking.uid}/recap/push/", follow=True)

    op = SyncOperation.objects.get()
    assert (op.kind, op.state, op.connection_id, op.booking_id) == (
        SyncOperation.Kind.RECAP,
        State.PENDING,
        connection.pk,
        booking.pk,
    )
    assert "The recap is on its way to Salesforce." in response.content.decode()
    assert "Pending" in panel_of(response.content.decode())


def test_while_salesforce_needs_reconnect_a_push_waits_and_says_so(client, booking, recap, member_user):
    make_connection(booking.workspace, status=SalesforceConnection.Status.NEEDS_RECONNECT)
    client.force_login(member_user)
    assert 'id="recap-push-button" disabled' not in panel_of(page(client, booking))

    response = client.post(f"/bookings/{booking.uid}/recap/push/", follow=True)

    assert SyncOperation.objects.get().state == State.WAITING_RECONNECT
    text = response.content.decode()
    assert "Salesforce needs an admin to reconnect; a push waits until then and is sent once." in text
    assert "Waiting for reconnect" in panel_of(text)


def test_only_the_host_or_an_admin_can_push_or_edit(client, booking, recap, workspace, other_workspace_member):
    make_connection(booking.workspace)
    client.force_login(make_member(workspace, "other@acme.test"))
    assert client.post(f"/bookings/{booking.uid}/recap/push/").status_code == 403
    assert client.get(f"/bookings/{booking.uid}/recap/").status_code == 403
    client.force_login(other_workspace_member)
    assert client.post(f"/bookings/{booking.uid}/recap/push/").status_code == 404
    assert client.get(f"/bookings/{booking.uid}/recap/").status_code == 404
    client.logout()
    assert client.post(f"/bookings/{booking.uid}/recap/push/").status_code == 302  # to the sign-in page
    assert SyncOperation.objects.count() == 0


# --- the push state, from the latest RECAP operation -------------------------------------------------


def add_operation(booking, state, **fields):
    connection = SalesforceConnection.objects.filter(workspace=booking.workspace).first() or make_connection(
        booking.workspace
    )
    return SyncOperation.objects.create(
        workspace=booking.workspace,
        connection=connection,
        booking=booking,
        kind=SyncOperation.Kind.RECAP,
        trigger=SyncOperation.Trigger.RECAP,
        state=state,
        **fields,
    )


@pytest.mark.parametrize(
    "state, fields, expected",
    [
        (State.PENDING, {}, "Pending"),
        (State.IN_PROGRESS, {}, "Pending"),
        (State.WAITING_RECONNECT, {}, "Waiting for reconnect"),
        (
            State.DEFERRED,
            {"outcome": "Deferred for API limits: TotalRequests Limit exceeded."},
            "Deferred for API limits: TotalRequests Limit exceeded.",
        ),
        (
            State.FAILED,
            {"error_message": "Title: data value too large: Recap… (max length=80)", "error_code": "STRING_TOO_LONG"},
            "Failed: Title: data value too large: Recap… (max length=80)",
        ),
        (
            State.SKIPPED,
            {"outcome": "not pushed: no matching contact or lead"},
            "not pushed: no matching contact or lead",
        ),
    ],
)
def test_each_push_state_is_shown(client, booking, recap, member_user, state, fields, expected):
    add_operation(booking, State.PUSHED, outcome="an older push")
    add_operation(booking, state, **fields)
    client.force_login(member_user)

    assert html.escape(expected) in panel_of(page(client, booking))


def test_pushed_shows_the_note_ids(client, booking, recap, member_user):
    RecapNoteLink.objects.create(
        recap=recap, target="person", parent_id="003000000000001AAA", note_id="002000000000001AAA"
    )
    RecapNoteLink.objects.create(
        recap=recap, target="deal", parent_id="006000000000001AAA", note_id="002000000000002AAA"
    )
    add_operation(
        booking, State.PUSHED, sf_ids={"person_note_id": "002000000000001AAA", "deal_note_id": "002000000000002AAA"}
    )
    client.force_login(member_user)

    text = panel_of(page(client, booking))

    assert "Pushed" in text
    assert "Contact or lead <code>002000000000001AAA</code>; Deal (opportunity) <code>002000000000002AAA</code>" in text


# --- editing ---------------------------------------------------------------------------------------


def edit_data(summary, items):
    data = {"summary": summary, "items-TOTAL_FORMS": str(len(items)), "items-INITIAL_FORMS": "0"}
    for n, (text, assignee, due) in enumerate(items):
        data.update({f"items-{n}-text": text, f"items-{n}-assignee": assignee, f"items-{n}-due_date": due})
    return data


def test_the_host_edits_the_summary_and_action_items(client, booking, recap, member_user):
    make_connection(booking.workspace)
    client.force_login(member_user)
    form = client.get(f"/bookings/{booking.uid}/recap/").content.decode()
    assert "&lt;script&gt;" in form and "Send the renewal quote" in form and 'value="2026-04-03"' in form

    response = client.post(
        f"/bookings/{booking.uid}/recap/",
        edit_data("Edited <em>summary</em>", [("Call Jane", "Mia", "2026-05-01"), ("", "", ""), ("Dropped", "", "")])
        | {"items-2-DELETE": "on"},
    )

    assert response.status_code == 302 and response["Location"] == booking.get_absolute_url()
    recap.refresh_from_db()
    assert recap.summary == "Edited <em>summary</em>"
    assert recap.source == Recap.Source.EDITED and recap.edited_by == member_user
    assert [(i.text, i.assignee, str(i.due_date)) for i in recap.action_items.all()] == [
        ("Call Jane", "Mia", "2026-05-01")
    ]
    assert SyncOperation.objects.count() == 0  # saving is not pushing


def test_an_edit_after_a_push_is_flagged(client, booking, recap, member_user):
    add_operation(booking, State.PUSHED)
    client.force_login(member_user)
    client.post(f"/bookings/{booking.uid}/recap/", edit_data("A newer summary", []))

    assert "edited after it was last sent" in panel_of(page(client, booking))


def test_an_invalid_edit_is_400_and_changes_nothing(client, booking, recap, member_user):
    client.force_login(member_user)

    response = client.post(f"/bookings/{booking.uid}/recap/", edit_data("   ", [("", "Mia", "2026-05-01")]))

    assert response.status_code == 400
    text = response.content.decode()
    assert "The summary must not be empty." in text or "This field is required." in text
    assert "An action item needs a text." in text
    recap.refresh_from_db()
    assert recap.summary == HOSTILE


# --- admin -------------------------------------------------------------------------------------------


def test_support_staff_find_recaps_by_booking_uid(client, booking, recap):
    from workestra.models import User

    RecapNoteLink.objects.create(
        recap=recap, target="person", parent_id="003000000000001AAA", note_id="002000000000001AAA"
    )
    add_operation(booking, State.FAILED, error_message="entity is deleted")
    staff = User.objects.create_superuser(email="support@workestra.test", password="x")
    client.force_login(staff)

    listing = client.get("/admin/notetaker/recap/", {"q": booking.uid}).content.decode()
    detail = client.get(f"/admin/notetaker/recap/{recap.pk}/change/").content.decode()

    # Listed as invitee + time (not the uid), the Note by its kind and id.
    assert f"{booking.invitee_name}<br>" in listing and f">{booking.uid}<" not in listing and "Failed" in listing
    assert re.search(
        r'Contact or lead: (<a href="[^"]+/lightning/r/Note/002000000000001AAA/view"[^>]*>)?Note(</a>)?<br><span class="quiet">002000000000001AAA</span>',
        listing,
    )
    assert "Send the renewal quote" in detail and "&lt;script&gt;" in detail and "<script>alert" not in detail
    assert client.get("/admin/notetaker/recap/", {"q": "nomatch"}).context["cl"].result_count == 0
