"""What Salesforce adds to booking pages: calendar banners, per-booking badges and panel."""

import html
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone
from django.utils.html import strip_tags

from bookings.availability import link_free_slots
from integrations.salesforce import hooks, payloads
from integrations.salesforce.models import BookingSync, LinkPushSetting, SalesforceConnection, SyncOperation
from tests.fixtures.factories import make_booking, make_link

pytestmark = pytest.mark.django_db

Connection = SalesforceConnection
State = SyncOperation.State
SETTINGS_URL = "/settings/integrations/salesforce/"


def make_connection(workspace, **fields):
    values = {
        "status": Connection.Status.CONNECTED,
        "org_id": "00D5g000004PrdAAAA",
        "sf_username": "admin@acme.test",
        "access_token": "00Dfake!access-token-hooks",
        "refresh_token": "5Aepfake-refresh-token-hooks",
        **fields,
    }
    return Connection.objects.create(workspace=workspace, **values)


def text_of(response) -> str:
    return " ".join(html.unescape(strip_tags(response.content.decode())).split())


# ---- banners ----------------------------------------------------------------------------------
def test_needs_reconnect_banner_uses_the_settings_word_and_reconnects_in_one_click(client, admin_user, workspace):
    make_connection(workspace, status=Connection.Status.NEEDS_RECONNECT, environment=Connection.Environment.SANDBOX)
    client.force_login(admin_user)

    response = client.get("/calendar/")

    assert (
        "Salesforce: Needs reconnect. Bookings are waiting to be pushed; nothing has been dropped. Reconnect to send them."
        in text_of(response)
    )
    html = response.content.decode()
    form = html[html.index('<form method="post" action="/settings/integrations/salesforce/connect/"') :]
    form = form[: form.index("</form>")]
    assert '<input type="hidden" name="environment" value="sandbox">' in form
    assert '<input type="hidden" name="confirm_replace" value="1">' in form
    assert '<button type="submit">Reconnect</button>' in form


def test_the_banner_button_goes_straight_to_salesforce(client, admin_user, workspace, settings):
    """One click: the POST the banner's form sends starts the OAuth flow (no confirm page)."""
    settings.SALESFORCE_CLIENT_ID, settings.SALESFORCE_CLIENT_SECRET = "client-id", "client-secret"
    make_connection(workspace, status=Connection.Status.NEEDS_RECONNECT, environment=Connection.Environment.SANDBOX)
    client.force_login(admin_user)

    response = client.post(
        "/settings/integrations/salesforce/connect/", {"environment": "sandbox", "confirm_replace": "1"}
    )

    assert response.status_code == 302
    assert response["Location"].startswith(settings.SALESFORCE_SANDBOX_LOGIN_URL + "/services/oauth2/authorize?")


def test_needs_reconnect_banner_tells_members_to_ask_an_admin(client, member_user, workspace):
    make_connection(workspace, status=Connection.Status.NEEDS_RECONNECT)
    client.force_login(member_user)

    response = client.get("/calendar/")

    assert (
        "Salesforce: Needs reconnect. Bookings are waiting to be pushed; nothing has been dropped. Ask a workspace admin to reconnect Salesforce."
        in text_of(response)
    )
    assert "Reconnect</button>" not in response.content.decode()


def test_the_state_has_one_name_on_the_banner_and_the_settings_page(client, admin_user, workspace):
    make_connection(workspace, status=Connection.Status.NEEDS_RECONNECT)
    client.force_login(admin_user)

    calendar, settings_page = text_of(client.get("/calendar/")), text_of(client.get(SETTINGS_URL))

    assert (
        Connection.Status.NEEDS_RECONNECT.label in calendar and Connection.Status.NEEDS_RECONNECT.label in settings_page
    )
    assert "disconnected" not in calendar.lower()


def test_deferral_banner_says_until_when_and_why(client, member_user, workspace):
    until = timezone.now() + timedelta(minutes=30)
    make_connection(workspace, deferred_until=until, deferred_reason="Salesforce answered REQUEST_LIMIT_EXCEEDED.")
    client.force_login(member_user)

    text = text_of(client.get("/calendar/"))

    assert (
        f"Salesforce pushes are paused until {until:%H:%M} UTC because Salesforce answered REQUEST_LIMIT_EXCEEDED."
        in text
    )


@pytest.mark.parametrize("status", [Connection.Status.CONNECTED, Connection.Status.DISCONNECTED])
def test_no_banner_otherwise(client, member_user, workspace, status):
    make_connection(workspace, status=status)
    client.force_login(member_user)
    assert "Salesforce" not in text_of(client.get("/calendar/")).replace("Salesforce settings", "")


# ---- badges -----------------------------------------------------------------------------------
@pytest.fixture
def connection(workspace):
    return make_connection(workspace)


def _bookings(link, count):
    slots = link_free_slots(link)
    return [make_booking(link, start=slots[i], name=f"Invitee {i}") for i in range(count)]


def _op(connection, booking, state, **fields):
    return SyncOperation.objects.create(
        workspace=booking.workspace, connection=connection, booking=booking, trigger="confirmed", state=state, **fields
    )


def test_badges_name_each_state_in_plain_words(connection, member_user, client):
    link = make_link(member_user, slug="demo")
    b = _bookings(link, 8)
    BookingSync.objects.create(
        booking=b[0], workspace=b[0].workspace, event_state="live", sf_event_id="00U5g00000EvtAAA"
    )
    _op(connection, b[0], State.PUSHED)
    _op(connection, b[1], State.PENDING)
    _op(connection, b[2], State.WAITING_RECONNECT)
    _op(connection, b[3], State.DEFERRED)
    _op(
        connection,
        b[4],
        State.FAILED,
        error_code="INVALID_CROSS_REFERENCE_KEY",
        error_message="invalid cross reference id",
    )
    _op(
        connection, b[5], State.SKIPPED, outcome="No Contact or Lead has this email; the workspace skips such bookings."
    )
    BookingSync.objects.create(
        booking=b[6], workspace=b[6].workspace, event_state="closed", sf_event_id="00U5g00000EvtBBB"
    )
    _op(connection, b[6], State.PUSHED)
    off_link = make_link(member_user, slug="internal")
    LinkPushSetting.objects.create(link=off_link, push_enabled=False)
    off = make_booking(off_link, start=link_free_slots(off_link)[20])
    client.force_login(member_user)

    text = text_of(client.get("/calendar/"))

    for label in (
        "Salesforce: pushed",
        "Salesforce: pending",
        "Salesforce: waiting for reconnect",
        "Salesforce: deferred for API limits",
        "Salesforce: failed: invalid cross reference id",
        "Salesforce: skipped: No Contact or Lead has this email; the workspace skips such bookings.",
        "Salesforce: Event marked cancelled",
        "Salesforce: not pushed: link toggle off",
    ):
        assert label in text
    assert b[7].invitee_name in text and off.invitee_name in text


def test_badges_cost_the_same_few_queries_for_any_number_of_bookings(
    connection, member_user, django_assert_num_queries
):
    link = make_link(member_user, slug="demo")
    bookings = _bookings(link, 12)
    for booking in bookings:
        _op(connection, booking, State.PENDING)
    request = RequestFactory().get("/calendar/")
    request.user, request.membership, request.workspace = (
        member_user,
        member_user.membership,
        member_user.membership.workspace,
    )

    with django_assert_num_queries(4):  # connection, latest operations, syncs, link toggles
        badges = hooks.booking_badges(request, bookings)

    assert {badge.label for badge in badges.values()} == {"Salesforce: pending"} and len(badges) == 12


def test_every_booking_has_a_badge_without_a_connection(member_user, client):
    link = make_link(member_user, slug="demo")
    make_booking(link)
    client.force_login(member_user)
    assert "Salesforce: not pushed: no Salesforce connection" in text_of(client.get("/calendar/"))


@pytest.mark.parametrize(
    "status,label",
    [
        (Connection.Status.CONNECTED, "Salesforce: not pushed: booked before Salesforce was connected"),
        (Connection.Status.DISCONNECTED, "Salesforce: not pushed: Salesforce disconnected"),
    ],
)
def test_a_booking_never_chosen_for_push_says_why(member_user, workspace, client, status, label):
    make_connection(workspace, status=status)
    make_booking(make_link(member_user, slug="demo"))
    client.force_login(member_user)
    assert label in text_of(client.get("/calendar/"))


def test_a_pushed_booking_names_its_records_and_links_each_of_them(connection, member_user, client):
    connection.instance_url = "https://acme.my.salesforce.com"
    connection.save()
    booking = make_booking(make_link(member_user, slug="demo"), email="jane.roe@globex.com")
    BookingSync.objects.create(
        booking=booking,
        workspace=booking.workspace,
        event_state="live",
        sf_event_id="00U5g00000EvtAAA",
        sf_who_id="0035g00000JaneAAA",
        sf_who_name="Jane Roe",
        sf_what_id="0065g00000RenwAAA",
        sf_what_name="Globex Renewal",
    )
    _op(connection, booking, State.PUSHED)
    client.force_login(member_user)

    response = client.get("/calendar/")

    assert "Salesforce: pushed Jane Roe · Globex Renewal Open in Salesforce" in text_of(response)
    page = response.content.decode()
    assert (
        'href="https://acme.my.salesforce.com/lightning/r/Event/00U5g00000EvtAAA/view" target="_blank" rel="noopener noreferrer"'
        in page
    )
    assert (
        '<a href="https://acme.my.salesforce.com/lightning/r/Contact/0035g00000JaneAAA/view" target="_blank" rel="noopener noreferrer">Jane Roe</a>'
        in page
    )
    assert (
        '<a href="https://acme.my.salesforce.com/lightning/r/Opportunity/0065g00000RenwAAA/view" target="_blank" rel="noopener noreferrer">Globex Renewal</a>'
        in page
    )


# ---- the booking panel ------------------------------------------------------------------------
def test_booking_panel_explains_the_sync_to_the_host(connection, member_user, client):
    booking = make_booking(make_link(member_user, slug="demo"), email="jane.roe@globex.com")
    BookingSync.objects.create(
        booking=booking,
        workspace=booking.workspace,
        event_state="live",
        sf_event_id="00U5g00000EvtAAA",
        match_explanation="Contact Jane Roe: email matched; Opportunity Globex Renewal: the contact's account's most recently modified open opportunity",
        warnings="The host has no Salesforce user; the Event is owned by the connecting user.",
    )
    _op(connection, booking, State.PUSHED, attempts=2, error_code="", outcome="Event created.")
    _op(
        connection,
        booking,
        State.FAILED,
        attempts=1,
        error_code="FIELD_INTEGRITY_EXCEPTION",
        error_message="Assigned To ID: owner cannot be blank",
        outcome="Salesforce refused the update.",
    )
    client.force_login(member_user)

    text = text_of(client.get(booking.get_absolute_url()))

    assert f"Event {payloads.event_subject(booking)} 00U5g00000EvtAAA (Event in Salesforce)" in text
    assert "Contact Jane Roe: email matched; Opportunity Globex Renewal" in text
    assert "The host has no Salesforce user; the Event is owned by the connecting user." in text
    assert "Last error FIELD_INTEGRITY_EXCEPTION: Assigned To ID: owner cannot be blank" in text
    assert "Booking confirmed Pushed 2" in text and "Booking confirmed Failed 1" in text


def test_booking_panel_is_not_shown_to_the_invitee(connection, member_user, client):
    booking = make_booking(make_link(member_user, slug="demo"))
    BookingSync.objects.create(
        booking=booking, workspace=booking.workspace, event_state="live", sf_event_id="00U5g00000EvtAAA"
    )
    _op(connection, booking, State.PUSHED)

    text = text_of(client.get(booking.get_absolute_url()))

    assert "00U5g00000EvtAAA" not in text and "Salesforce" not in text


def test_booking_panel_names_every_record_with_its_lightning_link(connection, member_user, client):
    from integrations.salesforce.models import SalesforceUser
    from notetaker.models import Recap, RecapNoteLink

    connection.instance_url, connection.org_id = "https://acme.my.salesforce.com", "00D5g000004PrdAAAA"
    connection.save()
    SalesforceUser.objects.create(
        connection=connection,
        sf_id="0055g00000BobAAA",
        username="bob@acme.test",
        email="bob@acme.test",
        name="Bob Baker",
    )
    booking = make_booking(make_link(member_user, slug="demo"), email="jane.roe@globex.com")
    BookingSync.objects.create(
        booking=booking,
        workspace=booking.workspace,
        event_state="live",
        sf_event_id="00U5g00000EvtAAA",
        sf_owner_id="0055g00000BobAAA",
        sf_who_id="0035g00000JaneAAA",
        sf_who_name="Jane Roe",
        sf_what_id="0015g00000GlxAAA",
        sf_what_name="Globex",
    )
    recap = Recap.objects.create(booking=booking, summary="Quote before Friday.", content_changed_at=timezone.now())
    RecapNoteLink.objects.create(
        recap=recap,
        target="person",
        org_id=connection.org_id,
        parent_id="0035g00000JaneAAA",
        note_id="0695g00000NoteAAA",
    )
    _op(connection, booking, State.PUSHED)
    client.force_login(member_user)

    response = client.get(booking.get_absolute_url())
    html, text = response.content.decode(), text_of(response)

    assert "Contact Jane Roe 0035g00000JaneAAA Open in Salesforce" in text
    assert "Account Globex 0015g00000GlxAAA Open in Salesforce" in text
    assert "Owner Bob Baker 0055g00000BobAAA (User) Open in Salesforce" in text
    assert "Note on the contact or lead 0695g00000NoteAAA (Note) Open in Salesforce" in text
    for path in (
        "Event/00U5g00000EvtAAA",
        "Contact/0035g00000JaneAAA",
        "Account/0015g00000GlxAAA",
        "User/0055g00000BobAAA",
        "ContentDocument/0695g00000NoteAAA",
    ):
        assert (
            f'href="https://acme.my.salesforce.com/lightning/r/{path}/view" target="_blank" rel="noopener noreferrer"'
            in html
        )
