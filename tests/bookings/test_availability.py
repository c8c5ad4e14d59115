from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bookings.availability import (
    HORIZON_DAYS,
    WeeklyWindow,
    group_by_local_day,
    link_candidate_slots,
    link_free_slots,
    weekly_slots,
)
from bookings.models import AvailabilityRule, Booking
from tests.fixtures.factories import make_booking, make_link, make_member

NINE_TO_FIVE = [WeeklyWindow(weekday, time(9), time(17)) for weekday in range(5)]
HALF_HOUR = timedelta(minutes=30)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def first_and_last_by_day(slots, zone):
    return {
        day: (times[0].strftime("%H:%M"), times[-1].strftime("%H:%M")) for day, times in group_by_local_day(slots, zone)
    }


@pytest.mark.parametrize(
    "zone_name, monday_before, monday_after, offset_before, offset_after",
    [
        # Spring forward: London on Sun 30 Mar 2025, New York on Sun 9 Mar 2025.
        ("Europe/London", date(2025, 3, 24), date(2025, 3, 31), 0, 1),
        ("America/New_York", date(2025, 3, 3), date(2025, 3, 10), -5, -4),
        # Fall back: London on Sun 26 Oct 2025, New York on Sun 2 Nov 2025.
        ("Europe/London", date(2025, 10, 20), date(2025, 10, 27), 1, 0),
        ("America/New_York", date(2025, 10, 27), date(2025, 11, 3), -4, -5),
    ],
)
def test_nine_to_five_stays_nine_to_five_local_across_a_dst_change(
    zone_name, monday_before, monday_after, offset_before, offset_after
):
    zone = ZoneInfo(zone_name)

    slots = weekly_slots(windows=NINE_TO_FIVE, zone=zone, duration=HALF_HOUR, first_day=monday_before, days=14)

    by_day = first_and_last_by_day(slots, zone)
    assert len(by_day) == 10  # two working weeks, no weekend days
    assert set(by_day.values()) == {("09:00", "16:30")}
    assert len(slots) == 10 * 16
    assert slots[0] == utc(*monday_before.timetuple()[:3], 9 - offset_before)
    first_after = next(slot for slot in slots if slot.date() >= monday_after)
    assert first_after == utc(*monday_after.timetuple()[:3], 9 - offset_after)


def test_a_window_across_the_spring_forward_gap_offers_only_real_times():
    zone = ZoneInfo("Europe/London")
    night = [WeeklyWindow(6, time(0), time(4))]  # Sunday 00:00-04:00; 01:00-02:00 does not exist on 30 Mar 2025

    slots = weekly_slots(windows=night, zone=zone, duration=HALF_HOUR, first_day=date(2025, 3, 30), days=1)

    assert [s.astimezone(zone).strftime("%H:%M %Z") for s in slots] == [
        "00:00 GMT",
        "00:30 GMT",
        "02:00 BST",
        "02:30 BST",
        "03:00 BST",
        "03:30 BST",
    ]


def test_a_window_across_the_fall_back_overlap_offers_each_instant_once():
    zone = ZoneInfo("America/New_York")
    night = [WeeklyWindow(6, time(0), time(3))]  # 01:00-02:00 happens twice on 2 Nov 2025

    slots = weekly_slots(windows=night, zone=zone, duration=HALF_HOUR, first_day=date(2025, 11, 2), days=1)

    assert [s.astimezone(zone).strftime("%H:%M %Z") for s in slots] == [
        "00:00 EDT",
        "00:30 EDT",
        "01:00 EDT",
        "01:30 EDT",
        "01:00 EST",
        "01:30 EST",
        "02:00 EST",
        "02:30 EST",
    ]
    assert len(set(slots)) == len(slots)


def test_slots_step_by_the_duration_and_must_fit_in_the_window():
    window = [WeeklyWindow(0, time(9), time(11, 30))]

    slots = weekly_slots(
        windows=window, zone=ZoneInfo("UTC"), duration=timedelta(minutes=45), first_day=date(2025, 6, 2), days=1
    )

    assert [s.strftime("%H:%M") for s in slots] == ["09:00", "09:45", "10:30"]


@pytest.mark.django_db
def test_link_slots_use_the_owner_zone_for_the_next_14_days_and_skip_the_past(workspace):
    owner = make_member(workspace, "ny@acme.test", timezone="America/New_York")
    link = make_link(owner, slug="ny")
    now = utc(2025, 3, 5, 15, 10)  # Wednesday 10:10 in New York

    slots = link_candidate_slots(link, now=now)

    zone = ZoneInfo("America/New_York")
    assert slots[0] == datetime(2025, 3, 5, 10, 30, tzinfo=zone)  # 10:00 has begun
    assert slots[-1].astimezone(zone).date() == date(2025, 3, 5) + timedelta(days=HORIZON_DAYS - 1)
    assert {s.astimezone(zone).strftime("%H:%M") for s in slots} <= {
        f"{h:02}:{m:02}" for h in range(9, 17) for m in (0, 30)
    }
    assert datetime(2025, 3, 10, 9, 0, tzinfo=zone) in slots  # first Monday after the change


@pytest.mark.django_db
def test_free_slots_leave_out_the_host_bookings_on_any_of_their_links(link):
    other_link = make_link(link.owner, slug="long", duration=60)
    first, second, third = link_free_slots(link)[:3]
    make_booking(other_link, start=first)  # 60 minutes: covers the first two half-hour slots
    make_booking(link, start=third, status=Booking.Status.CANCELLED)

    free = link_free_slots(link)

    assert first not in free and second not in free
    assert third in free  # a cancelled booking frees its time


@pytest.mark.django_db
def test_a_new_link_is_open_monday_to_friday_nine_to_five(member_user):
    link = make_link(member_user, slug="fresh")

    rules = list(AvailabilityRule.objects.filter(link=link).values_list("weekday", "start_time", "end_time"))

    assert rules == [(weekday, time(9), time(17)) for weekday in range(5)]
