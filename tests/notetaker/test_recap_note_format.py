"""What a recap looks like as a classic Note: Title ≤ 80 with the date kept, Body ≤ 32,000."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from integrations.salesforce.notes import BODY_MAX, TITLE_MAX, note_body, note_title
from notetaker.models import ActionItem, Recap
from tests.fixtures.factories import make_booking

pytestmark = pytest.mark.django_db


def make_recap(booking, summary="Short summary.", items=()):
    recap = Recap.objects.create(booking=booking, summary=summary, content_changed_at=booking.created_at)
    for n, (text, assignee, due) in enumerate(items):
        ActionItem.objects.create(recap=recap, position=n, text=text, assignee=assignee, due_date=due)
    return recap


def test_the_title_names_meeting_invitee_and_the_hosts_local_date(link, member_user):
    member_user.timezone = "Pacific/Kiritimati"  # UTC+14: the local date is often the next day
    member_user.save()
    booking = make_booking(link, name="Jane Roe")
    local_day = booking.start_at.astimezone(ZoneInfo("Pacific/Kiritimati")).strftime("%Y-%m-%d")

    assert note_title(booking) == f"Recap: 30 min intro with Jane Roe ({local_day})"


def test_a_long_title_is_cut_in_the_middle_and_keeps_the_date(link):
    booking = make_booking(link, name="Bartholomew " * 12)

    title = note_title(booking)

    assert len(title) == TITLE_MAX
    assert title.startswith("Recap: 30 min intro with Bartholomew")
    assert title.endswith(f"… ({booking.start_at:%Y-%m-%d})")


def test_the_body_lists_action_items_with_assignees_and_due_dates(link):
    booking = make_booking(link, name="Jane Roe")
    recap = make_recap(
        booking,
        "  Summary line one.\nLine two.  ",
        [
            ("Send the quote", "Alice", date(2026, 4, 3)),
            ("Call back", "", date(2026, 4, 9)),
            ("Share the deck", "Bob", None),
            ("Think about it", "", None),
        ],
    )

    assert note_body(recap) == (
        "Summary line one.\nLine two.\n\n"
        "Action items:\n"
        "- Send the quote (assignee: Alice; due 2026-04-03)\n"
        "- Call back (due 2026-04-09)\n"
        "- Share the deck (assignee: Bob)\n"
        "- Think about it\n\n"
        f"Workestra booking: {booking.get_member_url()}"
    )


def test_no_action_items_says_none(link):
    recap = make_recap(make_booking(link))

    assert "\n\nAction items: none\n\n" in note_body(recap)


def test_a_body_over_32000_characters_is_cut_visibly_with_the_booking_url(link):
    booking = make_booking(link)
    recap = make_recap(booking, "x" * 40_000, [("Follow up", "Al", None)])

    body = note_body(recap)

    assert len(body) == BODY_MAX
    assert body.endswith(
        "\n\n[Truncated by Workestra: Salesforce keeps at most 32,000 characters. "
        f"Full details: {booking.get_member_url()}]"
    )
