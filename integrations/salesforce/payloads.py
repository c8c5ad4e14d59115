"""What a booking looks like as a Salesforce Event: only the seven standard fields."""

import re
from datetime import UTC, datetime

SUBJECT_MAX = 255
DESCRIPTION_MAX = 32_000
CANCELLED_PREFIX = "Cancelled: "
TRUNCATION_NOTE = "\n\n[Truncated by Workestra: Salesforce keeps at most 32,000 characters. Full details: {url}]"


def truncate(text: str, limit: int, *, note: str = "…") -> str:
    """Cut `text` to `limit` characters, ending with `note` so the cut is visible."""
    if len(text) <= limit:
        return text
    return text[: limit - len(note)] + note


def sf_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


_WITH = re.compile(r"\bwith\b", re.IGNORECASE)


def meeting_name(link_title: str, invitee_name: str) -> str:
    """'<link title> with <invitee>', or '<link title> and <invitee>' when the title already
    says who the meeting is with ("30 min intro with Bob" → "30 min intro with Bob and Jane
    Roe"), so no title reads "with … with …"."""
    title = link_title.strip()
    joiner = "and" if _WITH.search(title) else "with"
    return f"{title} {joiner} {invitee_name.strip()}"


def event_subject(booking) -> str:
    return truncate(meeting_name(booking.link.title, booking.invitee_name), SUBJECT_MAX)


def event_description(booking, *, cancelled_reason: str | None = None) -> str:
    url = booking.get_member_url()
    lines = []
    if cancelled_reason is not None:
        lines += [f"Cancelled in Workestra. Reason: {cancelled_reason or 'none given'}", ""]
    # The booking link comes first: it survives any truncation and lets reconciliation
    # recognise the Event as this booking's. It is the member page (sign-in required), never the
    # invitee's address, which can cancel the meeting.
    lines += [
        f"Workestra booking: {url}",
        f"Invitee: {booking.invitee_name} <{booking.invitee_email}>",
        f"Booked with: {booking.host.display_name} ({booking.link.title})",
    ]
    answers = booking.answers or {}
    if answers:
        lines += ["", "Answers:"]
        lines += [f"- {question}: {answer}" for question, answer in answers.items()]
    return truncate("\n".join(lines), DESCRIPTION_MAX, note=TRUNCATION_NOTE.format(url=url))


def event_fields(booking, *, owner_id: str, who_id: str | None, what_id: str | None) -> dict:
    fields = {
        "Subject": event_subject(booking),
        "Description": event_description(booking),
        "StartDateTime": sf_datetime(booking.start_at),
        "DurationInMinutes": booking.duration_minutes,
        "OwnerId": owner_id,
    }
    if who_id:
        fields["WhoId"] = who_id
    if what_id:
        fields["WhatId"] = what_id
    return fields


def event_time_fields(booking) -> dict:
    return {"StartDateTime": sf_datetime(booking.start_at), "DurationInMinutes": booking.duration_minutes}


def event_closed_fields(booking) -> dict:
    return {
        "Subject": truncate(CANCELLED_PREFIX + event_subject(booking), SUBJECT_MAX),
        "Description": event_description(booking, cancelled_reason=booking.cancel_reason),
    }


def booking_marker(booking) -> str:
    """The text that identifies this booking's records in Salesforce: the member page's path in
    the link back (independent of PUBLIC_BASE_URL, and no capability)."""
    return booking.get_member_path()


def booking_markers(booking) -> tuple[str, ...]:
    """Markers to reconcile on: today's, and the invitee URL that records written before
    release 0.2 carry."""
    return (booking_marker(booking), booking.get_public_url())
