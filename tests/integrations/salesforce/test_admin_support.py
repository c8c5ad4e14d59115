"""Support's lists: bookings by invitee and time, Salesforce ids linked, human labels, whole API
calls; rows the system writes are read-only; sync health for staff; the nav links to admin."""

from datetime import UTC, datetime

import pytest

from integrations.salesforce.admin import api_calls_integer
from integrations.salesforce.models import BookingSync, SalesforceConnection, SyncAttempt, SyncOperation
from tests.fixtures.factories import make_booking, make_link
from workestra.models import User

pytestmark = pytest.mark.django_db

State = SyncOperation.State
OPERATIONS = "/admin/salesforce/syncoperation/"
START = datetime(2030, 3, 4, 14, 0, tzinfo=UTC)


@pytest.fixture
def staff_client(client, db):
    client.force_login(User.objects.create_superuser(email="support@workestra.test", password="x"))
    return client


@pytest.fixture
def connection(workspace):
    return SalesforceConnection.objects.create(
        workspace=workspace,
        status=SalesforceConnection.Status.CONNECTED,
        org_id="00D5g000004PrdAAAA",
        instance_url="https://acme.my.salesforce.com",
        sf_username="admin@acme.test",
    )


@pytest.fixture
def operation(connection, member_user):
    booking = make_booking(make_link(member_user, slug="demo"), name="Jane Roe", start=START)
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
    op = SyncOperation.objects.create(
        workspace=booking.workspace,
        connection=connection,
        booking=booking,
        trigger="confirmed",
        state=State.WAITING_RECONNECT,
        attempts=3,
        api_calls=2.0392156862745097,
        error_code="FIELD_INTEGRITY_EXCEPTION",
        error_message="Assigned To ID: owner cannot be blank",
        sf_ids={"event_id": "00U5g00000EvtAAA"},
    )
    SyncAttempt.objects.create(
        operation=op, result=State.PENDING, error_code="SERVER_UNAVAILABLE", error_message="Server unavailable"
    )
    return op


def test_the_operations_list_shows_invitee_time_labels_integers_and_linked_ids(staff_client, operation):
    html = staff_client.get(OPERATIONS).content.decode()

    assert (
        'Jane Roe<br><span class="quiet" style="white-space:nowrap">4 Mar 2030, 14:00 UTC</span>' in html
        and operation.booking.uid not in html
    )
    assert (
        '<td class="field-state_label">Waiting for reconnect<br><span class="quiet">Booking confirmed</span></td>'
        in html
    )
    assert "FIELD_<wbr>INTEGRITY_<wbr>EXCEPTION" in html
    assert '<td class="field-calls">2</td>' in html and "2.039" not in html
    assert (
        '<a href="https://acme.my.salesforce.com/lightning/r/Event/00U5g00000EvtAAA/view" target="_blank" rel="noopener noreferrer">Event</a>'
        '<br><span class="quiet">00U5g00000EvtAAA</span>'
    ) in html
    for column in ("column-code", "column-salesforce_ids", "column-updated"):
        assert column in html


@pytest.mark.parametrize(
    "value,shown", [(0, "0"), (0.02, "<1"), (0.5, "0"), (1.49, "1"), (2.5, "2"), (12_345.2, "12,345")]
)
def test_api_calls_are_whole_numbers(value, shown):
    assert api_calls_integer(value) == shown


def test_sync_rows_are_read_only_but_keep_retry_and_replay(staff_client, operation):
    change = staff_client.get(f"{OPERATIONS}{operation.pk}/change/").content.decode()
    listing = staff_client.get(OPERATIONS).content.decode()

    assert 'name="_save"' not in change and "deletelink" not in change and 'name="_continue"' not in change
    assert "Failed, will be retried" in change  # the attempt's result, in words
    assert 'value="retry_now"' in listing and 'value="replay"' in listing
    assert 'value="delete_selected"' not in listing and f'href="{OPERATIONS}add/"' not in listing
    assert staff_client.post(f"{OPERATIONS}{operation.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff_client.post(f"{OPERATIONS}{operation.pk}/change/", {"state": "pushed"}).status_code == 403
    assert SyncOperation.objects.filter(pk=operation.pk, state=State.WAITING_RECONNECT).exists()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/salesforce/bookingsync/",
        "/admin/salesforce/salesforceconnection/",
        "/admin/salesforce/salesforceuser/",
        "/admin/routing/submission/",
        "/admin/notetaker/recap/",
    ],
)
def test_system_written_lists_offer_no_add_or_delete(staff_client, operation, url):
    html = staff_client.get(url).content.decode()
    assert 'value="delete_selected"' not in html and f'href="{url}add/"' not in html


def test_booking_syncs_name_their_records(staff_client, operation):
    html = staff_client.get("/admin/salesforce/bookingsync/").content.decode()
    assert (
        ">Contact Jane Roe</a>" in html
        and ">Opportunity Globex Renewal</a>" in html
        and "4 Mar 2030, 14:00 UTC</span>" in html
    )


def test_staff_see_sync_health_for_a_connection(staff_client, connection, operation):
    SyncOperation.objects.filter(pk=operation.pk).update(state=State.FAILED)

    response = staff_client.get(f"/admin/salesforce/salesforceconnection/{connection.pk}/health/")
    html = response.content.decode()

    assert response.status_code == 200 and html.count('<svg id="sf-chart-') == 2
    assert "FIELD_INTEGRITY_EXCEPTION" in html and "Assigned To ID: owner cannot be blank" in html
    assert (
        f"{OPERATIONS}?state__exact=failed&amp;error_code__exact=FIELD_INTEGRITY_EXCEPTION&amp;workspace__id__exact={connection.workspace_id}"
        in html
    )
    assert 'name="error_code"' not in html  # staff retry through the operations list's action
    assert (
        f'href="/admin/salesforce/salesforceconnection/{connection.pk}/health/">Sync health</a>'
        in staff_client.get("/admin/salesforce/salesforceconnection/").content.decode()
    )


def test_sync_health_in_admin_is_for_staff_only(client, admin_user, connection):
    client.force_login(admin_user)  # a workspace admin is not Django staff
    response = client.get(f"/admin/salesforce/salesforceconnection/{connection.pk}/health/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_nav_links_staff_to_admin_and_says_who_is_signed_in(client, workspace, admin_user, member_user):
    admin_user.is_staff = True
    admin_user.save()
    client.force_login(admin_user)
    staff_page = client.get("/calendar/").content.decode()
    client.force_login(member_user)
    member_page = client.get("/calendar/").content.decode()

    assert '<a href="/admin/" id="nav-admin">Admin</a>' in staff_page and 'id="nav-admin"' not in member_page
    assert f"Signed in as <strong>{member_user.display_name}</strong>" in member_page
