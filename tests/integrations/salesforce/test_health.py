"""Sync health: the figures (per day, per error code, lag, booking → Event), the SVG charts,
"Retry all in this group" and the CSV export, all scoped to the admin's workspace."""

import csv
import html
import io
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django.utils.html import strip_tags

from integrations.salesforce import health, health_chart, outbox
from integrations.salesforce.models import SalesforceConnection, SyncOperation
from integrations.salesforce.templatetags.salesforce_health import duration_words
from tests.fixtures.factories import make_booking, make_link, make_member, make_workspace
from workestra.models import Membership

pytestmark = pytest.mark.django_db

State = SyncOperation.State
SETTINGS = "/settings/integrations/salesforce/"
PARIS = ZoneInfo("Europe/Paris")


def make_connection(workspace, **fields):
    values = {
        "status": SalesforceConnection.Status.CONNECTED,
        "org_id": "00D5g000004PrdAAAA",
        "sf_username": "admin@acme.test",
        "instance_url": "https://acme.my.salesforce.com",
        "api_usage_used": 900,
        "api_usage_total": 15_000,
        **fields,
    }
    return SalesforceConnection.objects.create(workspace=workspace, **values)


def op(connection, booking, state, *, created_at=None, **fields):
    """A row as the drain leaves it; created_at is auto_now_add, so it is set afterwards."""
    fields.setdefault("trigger", "confirmed")
    row = SyncOperation.objects.create(
        workspace=booking.workspace, connection=connection, booking=booking, state=state, **fields
    )
    if created_at is not None:
        SyncOperation.objects.filter(pk=row.pk).update(created_at=created_at)
        row.refresh_from_db()
    return row


def text_of(response) -> str:
    return " ".join(html.unescape(strip_tags(response.content.decode())).split())


@pytest.fixture
def connection(workspace):
    return make_connection(workspace)


@pytest.fixture
def booking(member_user):
    return make_booking(make_link(member_user, slug="demo"), email="jane.roe@globex.com", name="Jane Roe")


@pytest.fixture
def other_world(db):
    """Another workspace with failed rows of the same code: never counted, shown or retried."""
    workspace = make_workspace("globex", "Globex")
    admin = make_member(workspace, "admin@globex.test", role=Membership.Role.ADMIN)
    connection = make_connection(workspace, org_id="00D5g000004OthAAAA")
    booking = make_booking(make_link(admin, slug="intro"), email="spy@globex.test", name="Quentin Quokka")
    failed = op(
        connection,
        booking,
        State.FAILED,
        error_code="FIELD_INTEGRITY_EXCEPTION",
        error_message="other workspace's message",
    )
    return workspace, admin, failed


# ---- figures ------------------------------------------------------------------------------------
def test_operations_per_local_day_and_series_with_api_calls(connection, booking, other_world):
    today = date(2026, 3, 30)  # Paris moved to summer time on the 29th: that day had 23 hours
    at = lambda y, m, d, h, mi=0: datetime(y, m, d, h, mi, tzinfo=PARIS)  # noqa: E731
    op(connection, booking, State.PUSHED, created_at=at(2026, 3, 30, 0, 5), api_calls=0.5)
    op(connection, booking, State.PUSHED, created_at=at(2026, 3, 30, 23, 55), api_calls=0.25)
    op(connection, booking, State.FAILED, created_at=at(2026, 3, 29, 23, 59), api_calls=1)
    op(connection, booking, State.SKIPPED, created_at=at(2026, 3, 29, 0, 0))
    op(connection, booking, State.COALESCED, created_at=at(2026, 3, 29, 12, 0))
    for state in SyncOperation.OPEN_STATES:
        op(connection, booking, state, created_at=at(2026, 3, 1, 9, 0))
    op(connection, booking, State.PUSHED, created_at=at(2026, 2, 28, 23, 59))  # 31 days ago: outside
    op(connection, booking, State.PUSHED, created_at=at(2026, 3, 31, 0, 0))  # tomorrow: outside

    days = health.daily_operations(workspace=connection.workspace, zone=PARIS, today=today)

    assert len(days) == 30 and days[0].day == date(2026, 3, 1) and days[-1].day == today
    by_day = {d.day: (d.pushed, d.failed, d.skipped, d.waiting, d.api_calls) for d in days if d.total}
    assert by_day == {
        date(2026, 3, 30): (2, 0, 0, 0, 0.75),
        date(2026, 3, 29): (0, 1, 2, 0, 1.0),
        date(2026, 3, 1): (0, 0, 0, 4, 0.0),
    }


def test_day_bounds_follow_the_zone_through_a_dst_change():
    bounds = health.day_bounds(PARIS, days=3, today=date(2026, 3, 30))
    assert [b.isoformat() for b in bounds] == [
        "2026-03-28T00:00:00+01:00",
        "2026-03-29T00:00:00+01:00",
        "2026-03-30T00:00:00+02:00",
        "2026-03-31T00:00:00+02:00",
    ]
    utc = ZoneInfo("UTC")
    assert bounds[2].astimezone(utc) - bounds[1].astimezone(utc) == timedelta(hours=23)


def test_errors_are_grouped_by_code_biggest_first_with_the_latest_message_verbatim(
    connection, member_user, other_world
):
    link = make_link(member_user, slug="demo")
    jane, john, ann = (
        make_booking(link, start=timezone.now() + timedelta(days=i + 1), name=n)
        for i, n in enumerate(["Jane", "John", "Ann"])
    )
    op(connection, jane, State.FAILED, error_code="FIELD_INTEGRITY_EXCEPTION", error_message="first")
    op(connection, jane, State.FAILED, error_code="FIELD_INTEGRITY_EXCEPTION", error_message="second")
    op(
        connection,
        john,
        State.FAILED,
        error_code="FIELD_INTEGRITY_EXCEPTION",
        error_message="Assigned To ID: owner cannot be blank: [OwnerId]",
    )
    op(connection, ann, State.FAILED, error_code="", error_message="", outcome="Salesforce did not answer within 30 s.")
    op(connection, ann, State.PUSHED, error_code="FIELD_INTEGRITY_EXCEPTION", error_message="old, since retried")

    groups = health.error_groups(workspace=connection.workspace)

    assert [(g.code, g.count, g.bookings_count, g.latest_message) for g in groups] == [
        ("FIELD_INTEGRITY_EXCEPTION", 3, 2, "Assigned To ID: owner cannot be blank: [OwnerId]"),
        ("", 1, 1, "Salesforce did not answer within 30 s."),
    ]
    assert [b.invitee_name for b in groups[0].bookings] == ["John", "Jane"]  # newest failure first, each booking once
    assert [b.invitee_name for b in groups[1].bookings] == ["Ann"]


def test_error_groups_cost_the_same_queries_for_any_number_of_rows(connection, booking, django_assert_num_queries):
    for i in range(30):
        op(connection, booking, State.FAILED, error_code=f"CODE_{i % 3}", error_message="x")
    with django_assert_num_queries(6):  # summary, latest rows, 3 × the group's newest bookings, bookings
        groups = health.error_groups(workspace=connection.workspace)
    assert [g.count for g in groups] == [10, 10, 10]


def test_outbox_lag_is_how_long_the_oldest_due_row_has_waited(connection, booking):
    now = timezone.now()
    assert health.outbox_lag(connection=connection, now=now) is None
    op(
        connection,
        booking,
        State.PENDING,
        next_attempt_at=now - timedelta(seconds=42),
        created_at=now - timedelta(seconds=42),
    )
    op(
        connection,
        booking,
        State.PENDING,
        next_attempt_at=now - timedelta(seconds=5),
        created_at=now - timedelta(seconds=5),
    )
    # Booked weeks ago, retried by support a few seconds ago: it has waited since the retry.
    op(
        connection,
        booking,
        State.PENDING,
        next_attempt_at=now - timedelta(seconds=3),
        created_at=now - timedelta(days=20),
    )
    op(
        connection,
        booking,
        State.PENDING,
        next_attempt_at=now + timedelta(minutes=5),
        created_at=now - timedelta(hours=1),
    )  # backing off
    op(connection, booking, State.WAITING_RECONNECT, created_at=now - timedelta(days=3))  # held, not lag
    op(connection, booking, State.DEFERRED, created_at=now - timedelta(days=3))

    assert health.outbox_lag(connection=connection, now=now) == timedelta(seconds=42)
    assert health.held_count(workspace=connection.workspace) == 2


def test_booking_to_event_percentiles_over_the_last_day_of_pushed_creates(connection, booking):
    now = timezone.now()
    for ms in range(100, 2100, 100):  # 20 pushes: 0.1 s … 2.0 s
        created = now - timedelta(hours=1)
        op(connection, booking, State.PUSHED, created_at=created, finished_at=created + timedelta(milliseconds=ms))
    created = now - timedelta(hours=2)
    op(
        connection,
        booking,
        State.PUSHED,
        trigger="rescheduled",
        created_at=created,
        finished_at=created + timedelta(hours=5),
    )
    op(
        connection,
        booking,
        State.PUSHED,
        trigger="backfill",
        created_at=created,
        finished_at=created + timedelta(hours=5),
    )
    created = now - timedelta(days=2)
    op(connection, booking, State.PUSHED, created_at=created, finished_at=created + timedelta(hours=5))

    latency = health.booking_to_event(workspace=connection.workspace, now=now)

    assert (latency.p50, latency.p95, latency.count) == (timedelta(seconds=1), timedelta(seconds=1.9), 20)


@pytest.mark.parametrize(
    "values,pct,expected", [([], 50, None), ([1], 95, 1), ([1, 2, 3, 4], 50, 2), (list(range(1, 101)), 95, 95)]
)
def test_nearest_rank_percentile(values, pct, expected):
    assert health.percentile(values, pct) == expected


@pytest.mark.parametrize(
    "seconds,words",
    [(0.42, "0.4 s"), (12, "12 s"), (245, "4 min 5 s"), (3600 * 2 + 180, "2 h 3 min"), (86400 * 3, "3 d")],
)
def test_durations_in_words(seconds, words):
    assert duration_words(timedelta(seconds=seconds)) == words


# ---- charts ---------------------------------------------------------------------------------------
def test_the_operations_chart_is_self_contained_svg_with_a_bar_per_day():
    days = [health.Day(date(2026, 3, 1) + timedelta(days=i), pushed=i, failed=1 if i == 3 else 0) for i in range(30)]

    svg = str(health_chart.operations_chart(days))

    assert svg.startswith('<svg id="sf-chart-operations"') and svg.endswith("</svg>")
    assert svg.count("<g data-day=") == 30
    assert "<title>4 Mar 2026: 3 pushed, 0 skipped, 0 waiting, 1 failed</title>" in svg
    assert (
        "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
        and "<script" not in svg
        and "href" not in svg
    )
    assert (
        "435 operations in 30 days: 435 pushed" not in svg
        and "436 operations in 30 days: 435 pushed, 0 skipped, 0 waiting, 1 failed." in svg
    )


def test_the_api_chart_draws_the_allotment_only_when_it_fits():
    busy = [health.Day(date(2026, 3, 1) + timedelta(days=i), api_calls=4_000) for i in range(30)]
    quiet = [health.Day(date(2026, 3, 1) + timedelta(days=i), api_calls=12) for i in range(30)]

    busy_svg, busy_line = health_chart.api_calls_chart(busy, 15_000)
    quiet_svg, quiet_line = health_chart.api_calls_chart(quiet, 15_000)

    assert busy_line and 'id="sf-allotment"' in busy_svg and "daily allotment 15,000" in busy_svg
    assert (
        not quiet_line
        and 'id="sf-allotment"' not in quiet_svg
        and "The org&#x27;s daily allotment is 15,000." in quiet_svg
    )


@pytest.mark.parametrize("value,top", [(0, 4), (1, 4), (3, 4), (7, 8), (11, 20), (15_000, 20_000), (1.6, 4)])
def test_axis_tops_are_four_round_steps(value, top):
    assert health_chart.axis_top(value) == top


# ---- the settings page ---------------------------------------------------------------------------------
def test_admins_see_sync_health_on_the_settings_page(client, admin_user, connection, booking, other_world):
    op(
        connection,
        booking,
        State.FAILED,
        error_code="FIELD_INTEGRITY_EXCEPTION",
        error_message="Assigned To ID: owner cannot be blank: [OwnerId]",
    )
    waited = timezone.now() - timedelta(minutes=3, seconds=5)
    op(connection, booking, State.PENDING, created_at=waited, next_attempt_at=waited)
    client.force_login(admin_user)

    response = client.get(SETTINGS)
    page, text = response.content.decode(), text_of(response)

    assert 'id="sync-health"' in page and page.count("<svg") == 2 and "<script>" not in page
    assert re.search(r"Outbox lag now 3 min [5-9] s", text)  # a loaded machine may take a few seconds
    assert "FIELD_INTEGRITY_EXCEPTION 1 1 booking Assigned To ID: owner cannot be blank: [OwnerId]" in text
    assert f'<a href="{booking.get_absolute_url()}">Jane Roe</a>' in page
    assert "other workspace's message" not in page and "Quokka" not in page
    assert '<input type="hidden" name="error_code" value="FIELD_INTEGRITY_EXCEPTION">' in page


def test_members_do_not_see_sync_health(client, member_user, connection, booking):
    op(connection, booking, State.FAILED, error_code="FIELD_INTEGRITY_EXCEPTION", error_message="x")
    client.force_login(member_user)
    assert 'id="sync-health"' not in client.get(SETTINGS).content.decode()


# ---- retry all in a group ---------------------------------------------------------------------------------
@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(
        outbox, "enqueue_drain", lambda connection_id, countdown=0, **kwargs: calls.append(connection_id) or True
    )
    return calls


def test_retry_all_requeues_this_workspaces_failed_rows_of_that_code(
    client, admin_user, connection, booking, other_world, enqueued, django_capture_on_commit_callbacks
):
    same = [
        op(connection, booking, State.FAILED, error_code="FIELD_INTEGRITY_EXCEPTION", error_message="x", attempts=24)
        for _ in range(2)
    ]
    other_code = op(connection, booking, State.FAILED, error_code="INVALID_CROSS_REFERENCE_KEY", error_message="y")
    pushed = op(connection, booking, State.PUSHED, error_code="FIELD_INTEGRITY_EXCEPTION")
    _, _, other_workspace_row = other_world
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/settings/integrations/salesforce/health/retry/", {"error_code": "FIELD_INTEGRITY_EXCEPTION"}
        )

    assert response.status_code == 302 and response["Location"] == SETTINGS + "#sync-health"
    assert [SyncOperation.objects.get(pk=r.pk).state for r in same] == [State.PENDING, State.PENDING]
    assert SyncOperation.objects.get(pk=other_code.pk).state == State.FAILED
    assert SyncOperation.objects.get(pk=pushed.pk).state == State.PUSHED
    assert SyncOperation.objects.get(pk=other_workspace_row.pk).state == State.FAILED
    assert enqueued == [connection.pk]
    assert "2 failed operations (FIELD_INTEGRITY_EXCEPTION) will be retried now." in text_of(client.get(SETTINGS))


def test_members_cannot_retry_a_group(client, member_user, connection, booking):
    row = op(connection, booking, State.FAILED, error_code="FIELD_INTEGRITY_EXCEPTION")
    client.force_login(member_user)
    assert (
        client.post(
            "/settings/integrations/salesforce/health/retry/", {"error_code": "FIELD_INTEGRITY_EXCEPTION"}
        ).status_code
        == 403
    )
    assert SyncOperation.objects.get(pk=row.pk).state == State.FAILED


# ---- CSV export -------------------------------------------------------------------------------------------
def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_csv_holds_the_periods_operations_of_this_workspace_only(
    client, admin_user, connection, booking, other_world
):
    admin_user.timezone = "Europe/Paris"
    admin_user.save()
    inside = op(
        connection,
        booking,
        State.FAILED,
        created_at=datetime(2026, 3, 10, 0, 30, tzinfo=PARIS),
        error_code="FIELD_INTEGRITY_EXCEPTION",
        error_message='=HYPERLINK("http://evil")',
        attempts=24,
        api_calls=0.5,
    )
    pushed = op(
        connection,
        booking,
        State.PUSHED,
        created_at=datetime(2026, 3, 11, 23, 59, tzinfo=PARIS),
        sf_ids={"event_id": "00U5g00000EvtAAA"},
        finished_at=datetime(2026, 3, 12, 0, 0, 1, tzinfo=PARIS),
        outcome="Created Event 00U5g00000EvtAAA.",
    )
    op(connection, booking, State.PUSHED, created_at=datetime(2026, 3, 9, 23, 59, tzinfo=PARIS))
    op(connection, booking, State.PUSHED, created_at=datetime(2026, 3, 12, 0, 0, tzinfo=PARIS))
    client.force_login(admin_user)

    response = client.get(
        "/settings/integrations/salesforce/health/operations.csv", {"start": "2026-03-10", "end": "2026-03-11"}
    )

    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"] == 'attachment; filename="salesforce-operations-acme-2026-03-10-2026-03-11.csv"'
    )
    rows = _csv(response)
    assert rows[0] == list(health_views_columns())
    assert [r[0] for r in rows[1:]] == [str(inside.pk), str(pushed.pk)]
    assert rows[1][5:8] == ["failed", "24", "0.5"] and rows[1][12:14] == [
        "FIELD_INTEGRITY_EXCEPTION",
        '\'=HYPERLINK("http://evil")',
    ]
    assert rows[2][11] == "00U5g00000EvtAAA" and rows[2][10] == "jane.roe@globex.com"
    assert "spy@globex.test" not in str(rows)


def health_views_columns():
    from integrations.salesforce.health_views import CSV_COLUMNS

    return CSV_COLUMNS


@pytest.mark.parametrize(
    "query,message",
    [
        ({"start": "2026-03-12", "end": "2026-03-10"}, "The end is before the start."),
        ({"start": "2024-01-01", "end": "2026-03-10"}, "Export at most 366 days at a time."),
        ({"start": "yesterday"}, "Enter a valid date."),
    ],
)
def test_the_csv_refuses_a_bad_period(client, admin_user, connection, query, message):
    client.force_login(admin_user)
    response = client.get("/settings/integrations/salesforce/health/operations.csv", query)
    assert response.status_code == 400 and message in response.content.decode()
