"""Which start times a booking link offers.

Weekly windows are wall-clock times in the link owner's zone. Each window is turned into UTC
for the actual calendar day, so 09:00-17:00 stays 09:00-17:00 local on both sides of a DST
change. Slots last the link's duration and step by it (09:00, 09:30, ... for 30 minutes), from
the window's start, until the next one would end after the window.

Wall-clock times that do not exist (the spring-forward gap) shift forward by the gap, as
zoneinfo does with fold=0; ambiguous times (fall-back) mean their first occurrence. Stepping in
absolute time means a window across a change yields its real length in slots, never a duplicate.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from .models import AvailabilityRule, Booking, BookingLink
from .timezones import user_zone

HORIZON_DAYS = 14
WEEKDAYS_9_TO_5 = tuple((weekday, time(9), time(17)) for weekday in range(5))


@dataclass(frozen=True)
class WeeklyWindow:
    weekday: int  # Monday is 0, as date.weekday()
    start: time
    end: time


def weekly_slots(
    *, windows: Iterable[WeeklyWindow], zone: ZoneInfo, duration: timedelta, first_day: date, days: int
) -> list[datetime]:
    """Start times (UTC) of every slot in `days` local days from `first_day`, sorted."""
    by_weekday: dict[int, list[WeeklyWindow]] = {}
    for window in windows:
        by_weekday.setdefault(window.weekday, []).append(window)
    slots: set[datetime] = set()
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for window in by_weekday.get(day.weekday(), ()):
            slots.update(_window_slots(day, window, zone, duration))
    return sorted(slots)


def _window_slots(day: date, window: WeeklyWindow, zone: ZoneInfo, duration: timedelta) -> Iterable[datetime]:
    start = datetime.combine(day, window.start, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day, window.end, tzinfo=zone).astimezone(UTC)
    while start + duration <= end:
        yield start
        start += duration


def without_taken(
    slots: Sequence[datetime], duration: timedelta, taken: Iterable[tuple[datetime, datetime]]
) -> list[datetime]:
    """The slots that overlap none of the taken (start, end) intervals."""
    intervals = sorted(taken)
    return [slot for slot in slots if not any(s < slot + duration and slot < e for s, e in intervals)]


def link_windows(link: BookingLink) -> list[WeeklyWindow]:
    rules = AvailabilityRule.objects.filter(link=link).values_list("weekday", "start_time", "end_time")
    return [WeeklyWindow(*rule) for rule in rules]


def link_candidate_slots(link: BookingLink, *, now: datetime | None = None) -> list[datetime]:
    """The link's slots in the next HORIZON_DAYS owner-local days that start after `now`,
    whether or not they are taken."""
    now = now or timezone.now()
    zone = user_zone(link.owner)
    slots = weekly_slots(
        windows=link_windows(link),
        zone=zone,
        duration=link.duration,
        first_day=now.astimezone(zone).date(),
        days=HORIZON_DAYS,
    )
    return [slot for slot in slots if slot > now]


def host_busy_intervals(
    *, host_id: int, start: datetime, end: datetime, exclude_booking_id: int | None = None
) -> list[tuple[datetime, datetime]]:
    """(start, end) of the host's live bookings, on any of their links, overlapping [start, end)."""
    bookings = Booking.objects.filter(host_id=host_id, start_at__lt=end, end_at__gt=start).exclude(
        status=Booking.Status.CANCELLED
    )
    if exclude_booking_id is not None:
        bookings = bookings.exclude(pk=exclude_booking_id)
    return list(bookings.values_list("start_at", "end_at"))


def link_free_slots(link: BookingLink, *, now: datetime | None = None) -> list[datetime]:
    """What an invitee may book right now: candidate slots the host is free for."""
    slots = link_candidate_slots(link, now=now)
    if not slots:
        return []
    busy = host_busy_intervals(host_id=link.owner_id, start=slots[0], end=slots[-1] + link.duration)
    return without_taken(slots, link.duration, busy)


def group_by_local_day(slots: Iterable[datetime], zone: ZoneInfo) -> list[tuple[date, list[datetime]]]:
    """Slots converted to `zone` and grouped by that zone's calendar day, in order."""
    days: dict[date, list[datetime]] = {}
    for slot in slots:
        local = slot.astimezone(zone)
        days.setdefault(local.date(), []).append(local)
    return list(days.items())
