"""Sync health, read from the outbox: operations and API calls per day, failed rows grouped by
Salesforce error code, outbox lag and booking → Event times. Every figure is an aggregate read
of an index (see SyncOperation.Meta.indexes), never of the rows themselves, so the section
costs about the same with a hundred operations or a hundred thousand."""

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, FloatField, Func, IntegerField, Max, Min, Sum, Value
from django.utils import timezone

from bookings.models import Booking

from .models import SyncOperation

State = SyncOperation.State
Trigger = SyncOperation.Trigger

CHART_DAYS = 30
BOOKINGS_PER_GROUP = 5
MAX_GROUPS = 20
LATENCY_WINDOW = timedelta(days=1)
# The booking → Event percentiles are computed in Python over at most this many of the
# window's pushes (the newest): a bounded read whatever the volume.
LATENCY_SAMPLE_LIMIT = 20_000

# What the chart's four series count. "Waiting" is everything still open: pending, being sent,
# waiting for a reconnect, deferred for API limits.
SERIES = {
    "pushed": (State.PUSHED,),
    "failed": (State.FAILED,),
    "skipped": (State.SKIPPED, State.COALESCED),
    "waiting": SyncOperation.OPEN_STATES,
}
SERIES_OF_STATE = {state: name for name, states in SERIES.items() for state in states}


@dataclass
class Day:
    day: date
    pushed: int = 0
    failed: int = 0
    skipped: int = 0
    waiting: int = 0
    api_calls: float = 0.0

    @property
    def total(self) -> int:
        return self.pushed + self.failed + self.skipped + self.waiting


@dataclass
class ErrorGroup:
    code: str
    count: int
    bookings_count: int
    latest_message: str
    latest_at: datetime
    bookings: list = field(default_factory=list)

    @property
    def more_bookings(self) -> int:
        return max(self.bookings_count - len(self.bookings), 0)


@dataclass(frozen=True)
class Latency:
    p50: timedelta | None
    p95: timedelta | None
    count: int


def day_bounds(zone: ZoneInfo, *, days: int = CHART_DAYS, today: date | None = None) -> list[datetime]:
    """days + 1 aware datetimes: local midnights from `days - 1` days ago to tomorrow. Built in
    Python so a DST change gives a 23- or 25-hour day, as the user lives it."""
    today = today or timezone.localdate(timezone=zone)
    first = today - timedelta(days=days - 1)
    return [datetime.combine(first + timedelta(days=i), time(), tzinfo=zone) for i in range(days + 1)]


def daily_operations(*, workspace, zone: ZoneInfo, days: int = CHART_DAYS, today: date | None = None) -> list[Day]:
    """Operations created per local day and series, and their API calls, in one statement: a
    UNION ALL of one `GROUP BY state` per day, each a range read of the (workspace, state,
    created_at, api_calls) index that also hands SQLite the rows in group order. No per-row date
    function (which SQLite would call back into Python for) and no per-row FILTER (which costs
    PostgreSQL a text comparison per state per row)."""
    bounds = day_bounds(zone, days=days, today=today)
    day_sql = _day_aggregate(workspace)
    adapt = connection.ops.adapt_datetimefield_value
    parts, params = [], []
    for i in range(days):
        parts.append(day_sql.sql)
        params += day_sql.params_for(i, adapt(bounds[i]), adapt(bounds[i + 1]))
    result = [Day(bounds[i].date()) for i in range(days)]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for index, state, count, calls in cursor.fetchall():
            day = result[index]
            series = SERIES_OF_STATE[state]
            setattr(day, series, getattr(day, series) + count)
            day.api_calls += calls or 0
    return result


# Stand-ins for a day's number and bounds: the ORM compiles the day's aggregate once with these,
# and each day's values take their places among the parameters (thirty ORM querysets cost more
# to build than the statement costs to run).
_DAY, _LOW, _HIGH = (
    987_654_321,
    datetime(1901, 1, 1, tzinfo=ZoneInfo("UTC")),
    datetime(1902, 1, 1, tzinfo=ZoneInfo("UTC")),
)


@dataclass(frozen=True)
class _DayAggregate:
    sql: str
    params: tuple
    day_at: int
    low_at: int
    high_at: int

    def params_for(self, day: int, low, high) -> list:
        params = list(self.params)
        params[self.day_at], params[self.low_at], params[self.high_at] = day, low, high
        return params


def _day_aggregate(workspace) -> _DayAggregate:
    """`SELECT <day>, state, COUNT(state), SUM(api_calls) FROM … WHERE workspace, every state,
    created_at in [low, high) GROUP BY state`, built by the ORM (the day is a Value, which it
    leaves out of GROUP BY). COUNT(state), not COUNT(id): the index holds the state but (on
    PostgreSQL) no id, which would send every count to the table."""
    queryset = (
        SyncOperation.objects.filter(
            workspace_id=workspace.pk, state__in=list(SERIES_OF_STATE), created_at__gte=_LOW, created_at__lt=_HIGH
        )
        .order_by()
        .annotate(day=Value(_DAY, output_field=IntegerField()))
        .values("day", "state")
        .annotate(n=Count("state"), calls=Sum("api_calls"))
        .values_list("day", "state", "n", "calls")
    )
    sql, params = queryset.query.sql_with_params()
    adapt = connection.ops.adapt_datetimefield_value
    return _DayAggregate(sql, tuple(params), params.index(_DAY), params.index(adapt(_LOW)), params.index(adapt(_HIGH)))


def error_groups(
    *, workspace, bookings_per_group: int = BOOKINGS_PER_GROUP, max_groups: int = MAX_GROUPS
) -> list[ErrorGroup]:
    """Failed rows by Salesforce error code, biggest group first: counts, the newest message
    verbatim and a few affected bookings (the newest). Index-only grouping over
    (workspace, state, error_code, booking); then a short read per group."""
    failed = SyncOperation.objects.filter(workspace=workspace, state=State.FAILED)
    summary = list(
        failed.values("error_code")
        .annotate(n=Count("id"), bookings_n=Count("booking_id", distinct=True), latest_id=Max("id"))
        .order_by("-n", "error_code")[:max_groups]
    )
    if not summary:
        return []
    latest = {
        op.pk: op
        for op in SyncOperation.objects.filter(pk__in=[g["latest_id"] for g in summary]).only(
            "error_message", "outcome", "updated_at"
        )
    }
    groups = []
    booking_ids: dict[str, list[int]] = {}
    for g in summary:
        newest = latest[g["latest_id"]]
        groups.append(
            ErrorGroup(
                g["error_code"], g["n"], g["bookings_n"], newest.error_message or newest.outcome, newest.updated_at
            )
        )
        recent = (
            failed.filter(error_code=g["error_code"])
            .order_by("-id")
            .values_list("booking_id", flat=True)[: bookings_per_group * 10]
        )
        booking_ids[g["error_code"]] = list(dict.fromkeys(recent))[:bookings_per_group]
    wanted = {pk for ids in booking_ids.values() for pk in ids}
    bookings = Booking.objects.only("uid", "invitee_name", "start_at").in_bulk(wanted)
    for group in groups:
        group.bookings = [bookings[pk] for pk in booking_ids[group.code] if pk in bookings]
    return groups


def failed_in_group(*, workspace, error_code: str):
    """The workspace's failed rows with this error code (what "Retry all in this group" retries)."""
    return SyncOperation.objects.filter(workspace=workspace, state=State.FAILED, error_code=error_code)


def outbox_lag(*, connection, now: datetime | None = None) -> timedelta | None:
    """How long the longest-waiting due row has waited: now minus the earliest next_attempt_at
    of pending (or being sent) rows that are due. A new row is due when written, so for it this
    is its age; a retried row counts from its retry time, not from its booking weeks ago. None
    when nothing due waits. One read of the (connection, state, next_attempt_at) index."""
    now = now or timezone.now()
    oldest = SyncOperation.objects.filter(
        connection=connection, state__in=(State.PENDING, State.IN_PROGRESS), next_attempt_at__lte=now
    ).aggregate(oldest=Min("next_attempt_at"))["oldest"]
    return None if oldest is None else max(now - oldest, timedelta(0))


def held_count(*, workspace) -> int:
    """Rows waiting for a reconnect or deferred for API limits: not lag, but not sent either."""
    return SyncOperation.objects.filter(
        workspace=workspace, state__in=(State.WAITING_RECONNECT, State.DEFERRED)
    ).count()


def booking_to_event(*, workspace, now: datetime | None = None, window: timedelta = LATENCY_WINDOW) -> Latency:
    """p50 / p95 of created_at → finished_at over the window's pushed Event creates (a booking's
    first push: its row is written in the booking's own transaction, so created_at is when it
    was booked; only booking rows have that trigger). Backfills are left out: they measure when
    Salesforce was connected."""
    since = (now or timezone.now()) - window
    rows = (
        SyncOperation.objects.filter(
            workspace=workspace,
            created_at__gte=since,
            state=State.PUSHED,
            trigger=Trigger.CONFIRMED,
            finished_at__isnull=False,
        )
        .annotate(ms=MillisecondsBetween("created_at", "finished_at"))
        .order_by("-created_at")
        .values_list("ms", flat=True)[:LATENCY_SAMPLE_LIMIT]
    )
    durations = sorted(rows)
    p50, p95 = percentile(durations, 50), percentile(durations, 95)
    as_delta = lambda ms: None if ms is None else timedelta(milliseconds=round(ms))  # noqa: E731
    return Latency(as_delta(p50), as_delta(p95), len(durations))


class MillisecondsBetween(Func):
    """end - start in milliseconds, as a number the database computes: reading two datetimes
    per row into Python costs more than the query on SQLite (it parses every one)."""

    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        start, end = (compiler.compile(e) for e in self.get_source_expressions())
        return f"((julianday({end[0]}) - julianday({start[0]})) * 86400000.0)", (*end[1], *start[1])

    def as_postgresql(self, compiler, connection, **extra):
        start, end = (compiler.compile(e) for e in self.get_source_expressions())
        return f"(EXTRACT(EPOCH FROM ({end[0]} - {start[0]})) * 1000.0)", (*end[1], *start[1])


def percentile(values: list, pct: float):
    """Nearest-rank percentile of sorted values; None for no values."""
    if not values:
        return None
    return values[max(1, math.ceil(len(values) * pct / 100)) - 1]


def operations_for_export(*, workspace, start: datetime, end: datetime):
    """The workspace's operations created in [start, end), oldest first, for the CSV export."""
    return (
        SyncOperation.objects.filter(workspace=workspace, created_at__gte=start, created_at__lt=end)
        .select_related("booking")
        .order_by("created_at", "id")
    )
