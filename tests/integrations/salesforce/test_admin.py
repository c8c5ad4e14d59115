"""Support's admin: connections without tokens, operations with their attempts, and actions."""

import pytest
from django.utils import timezone

from integrations.salesforce import outbox
from integrations.salesforce.models import SalesforceConnection, SyncAttempt, SyncOperation
from tests.fixtures.factories import make_booking, make_link
from workestra.models import User

pytestmark = pytest.mark.django_db

Connection = SalesforceConnection
State = SyncOperation.State
ACCESS = "00D5g000004PrdA!AQ8AQadmin-page-access-token"
REFRESH = "5Aep861admin-page-refresh-token-value"
CONNECTIONS = "/admin/salesforce/salesforceconnection/"
OPERATIONS = "/admin/salesforce/syncoperation/"


@pytest.fixture
def staff_client(client, db):
    client.force_login(User.objects.create_superuser(email="support@workestra.test", password="x"))
    return client


@pytest.fixture
def connection(workspace):
    return Connection.objects.create(
        workspace=workspace,
        status=Connection.Status.CONNECTED,
        org_id="00D5g000004PrdAAAA",
        sf_username="admin@acme.test",
        instance_url="https://127.0.0.1:9",
        access_token=ACCESS,
        refresh_token=REFRESH,
        api_usage_used=120,
        api_usage_total=15000,
        last_error="INVALID_SESSION_ID: Session expired or invalid",
    )


@pytest.fixture
def booking(member_user):
    return make_booking(make_link(member_user, slug="demo"))


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(
        outbox, "enqueue_drain", lambda connection_id, countdown=0, **_: calls.append(connection_id) or True
    )
    return calls


def _op(connection, booking, state, **fields):
    fields.setdefault("trigger", "confirmed")
    return SyncOperation.objects.create(
        workspace=booking.workspace, connection=connection, booking=booking, state=state, **fields
    )


def _stored_ciphertexts(connection) -> list[str]:
    from django.db.models import TextField
    from django.db.models.functions import Cast

    row = Connection.objects.filter(pk=connection.pk).annotate(
        a=Cast("access_token", TextField()), r=Cast("refresh_token", TextField())
    )
    return list(row.values_list("a", "r").get())


def _assert_no_token(html: str, connection) -> None:
    for secret in [ACCESS, REFRESH, ACCESS[:20], REFRESH[:20], *_stored_ciphertexts(connection)]:
        assert secret not in html


def test_connection_pages_never_show_tokens(staff_client, connection):
    listing = staff_client.get(CONNECTIONS)
    change = staff_client.get(f"{CONNECTIONS}{connection.pk}/change/")

    assert listing.status_code == change.status_code == 200
    for response in (listing, change):
        _assert_no_token(response.content.decode(), connection)
    page = change.content.decode()
    assert "access_token" not in page and "refresh_token" not in page
    assert (
        "120 / 15,000 (1%)" in page
        and "admin@acme.test" in page
        and "INVALID_SESSION_ID: Session expired or invalid" in page
    )


def test_tokens_are_not_searchable(staff_client, connection):
    response = staff_client.get(CONNECTIONS, {"q": ACCESS[:20]})
    assert response.context["cl"].result_count == 0
    assert staff_client.get(CONNECTIONS, {"q": "admin@acme.test"}).context["cl"].result_count == 1


def test_mark_for_reconnect(staff_client, connection):
    response = staff_client.post(
        CONNECTIONS, {"action": "mark_for_reconnect", "_selected_action": [connection.pk]}, follow=True
    )

    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_RECONNECT
    assert connection.last_error == "Marked for reconnect by support (support@workestra.test)."
    assert "1 connection(s) marked for reconnect." in response.content.decode()


def test_refresh_users_reports_salesforce_errors(staff_client, connection):
    response = staff_client.post(
        CONNECTIONS, {"action": "refresh_org_users", "_selected_action": [connection.pk]}, follow=True
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Salesforce users could not be refreshed: CONNECTION_ERROR: Salesforce could not be reached" in page
    _assert_no_token(page, connection)


def test_operation_pages_show_the_error_verbatim_and_every_attempt(staff_client, connection, booking):
    op = _op(
        connection,
        booking,
        State.FAILED,
        attempts=2,
        api_calls=1.5,
        error_kind="permanent",
        error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
        error_message="Meetings with <Globex> need an Opportunity: [WhatId]",
        sf_ids={"event": "00U5g00000EvtAAA"},
        outcome="Salesforce refused the Event.",
    )
    SyncAttempt.objects.create(
        operation=op, result="pending", error_code="SERVER_UNAVAILABLE", error_message="Server unavailable, retry"
    )
    SyncAttempt.objects.create(
        operation=op,
        result="failed",
        error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
        error_message="Meetings with <Globex> need an Opportunity: [WhatId]",
    )

    listing = staff_client.get(OPERATIONS, {"q": booking.uid})
    change = staff_client.get(f"{OPERATIONS}{op.pk}/change/")

    assert listing.context["cl"].result_count == 1
    assert (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION" in listing.content.decode()
        and "00U5g00000EvtAAA" in listing.content.decode()
    )
    page = change.content.decode()
    assert "Meetings with &lt;Globex&gt; need an Opportunity: [WhatId]" in page
    assert "Server unavailable, retry" in page and "Salesforce refused the Event." in page
    assert staff_client.get(OPERATIONS, {"q": "00U5g00000EvtAAA"}).context["cl"].result_count == 1
    assert staff_client.get(OPERATIONS, {"q": "need an Opportunity"}).context["cl"].result_count == 1
    assert (
        staff_client.get(OPERATIONS, {"error_code": "FIELD_CUSTOM_VALIDATION_EXCEPTION"}).context["cl"].result_count
        == 1
    )


def test_retry_now_makes_failed_deferred_and_pending_rows_due_and_drains(
    staff_client, connection, booking, enqueued, django_capture_on_commit_callbacks
):
    later = timezone.now() + timezone.timedelta(hours=1)
    retried = [
        _op(connection, booking, state, next_attempt_at=later, attempts=8)
        for state in (State.FAILED, State.DEFERRED, State.PENDING)
    ]
    pushed = _op(connection, booking, State.PUSHED)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            OPERATIONS, {"action": "retry_now", "_selected_action": [op.pk for op in [*retried, pushed]]}, follow=True
        )

    for op in retried:
        op.refresh_from_db()
        assert (
            op.state == State.PENDING
            and op.next_attempt_at <= timezone.now()
            and op.outcome == "Retry requested by support."
        )
    pushed.refresh_from_db()
    assert pushed.state == State.PUSHED
    assert enqueued == [connection.pk]
    assert "3 operation(s) will be retried now. 1 skipped" in response.content.decode()


def test_retry_now_waits_for_reconnect_when_the_connection_is_not_connected(
    staff_client, connection, booking, enqueued, django_capture_on_commit_callbacks
):
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.NEEDS_RECONNECT)
    op = _op(connection, booking, State.FAILED)

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(OPERATIONS, {"action": "retry_now", "_selected_action": [op.pk]})

    op.refresh_from_db()
    assert op.state == State.WAITING_RECONNECT and enqueued == []


def test_replay_writes_a_new_operation_for_the_same_booking_and_kind(
    staff_client, connection, booking, enqueued, django_capture_on_commit_callbacks
):
    original = _op(connection, booking, State.PUSHED, kind="booking", trigger="rescheduled")
    duplicate_pick = _op(connection, booking, State.FAILED, kind="booking", trigger="rescheduled")

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            OPERATIONS, {"action": "replay", "_selected_action": [original.pk, duplicate_pick.pk]}, follow=True
        )

    new = SyncOperation.objects.exclude(pk__in=[original.pk, duplicate_pick.pk]).get()
    assert (new.booking_id, new.kind, new.trigger, new.state) == (booking.pk, "booking", "rescheduled", State.PENDING)
    original.refresh_from_db()
    assert original.state == State.PUSHED
    assert enqueued == [connection.pk]
    assert f"1 new operation(s) created: #{new.pk}" in response.content.decode()


def test_operations_cannot_be_added_by_hand(staff_client):
    assert staff_client.get(f"{OPERATIONS}add/").status_code == 403
    assert staff_client.get(f"{CONNECTIONS}add/").status_code == 403
