"""A booking as an iCalendar (RFC 5545) object, written by hand: one VEVENT, no dependency.

The event's UID is derived from the booking's primary key, never from its uid: calendars
copy the UID into other systems (a host's calendar may sync to a CRM), and the booking uid is
the invitee's capability to reschedule or cancel. SEQUENCE is the number of changes after the
booking was made (each reschedule and the cancellation add one), so a calendar applies them in
order; DTSTAMP is when the latest change happened.
"""

from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings

from .models import Booking, BookingChange

PRODID = "-//Workestra//Bookings//EN"
FOLD_AT = 75  # octets per line, CRLF excluded (RFC 5545 §3.1)


class Method:
    REQUEST = "REQUEST"  # an invitation or an update of it (emails)
    CANCEL = "CANCEL"  # the event is withdrawn (emails)
    PUBLISH = "PUBLISH"  # "Add to calendar": a copy, no reply expected


def event_uid(booking: Booking) -> str:
    domain = urlsplit(settings.PUBLIC_BASE_URL).hostname or "workestra.local"
    return f"workestra-booking-{booking.pk}@{domain}"


def booking_sequence(booking: Booking) -> int:
    return max(0, booking.changes.count() - 1)


def booking_ics(*, booking: Booking, method: str, page_url: str) -> str:
    """The calendar text (CRLF line ends) for `booking`. `page_url` is the page the recipient
    opens from the event: the invitee's own page, or the member page for the host."""
    latest = booking.changes.order_by("-created_at", "-id").first()
    stamp = latest.created_at if latest else booking.updated_at
    cancelled = method == Method.CANCEL or booking.status == Booking.Status.CANCELLED
    host = booking.host
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{event_uid(booking)}",
        f"SEQUENCE:{booking_sequence(booking)}",
        f"DTSTAMP:{utc_stamp(stamp)}",
        f"DTSTART:{utc_stamp(booking.start_at)}",
        f"DTEND:{utc_stamp(booking.end_at)}",
        f"SUMMARY:{escape_text(booking.link.title)}",
        f"DESCRIPTION:{escape_text(_description(booking, page_url))}",
        f"URL:{page_url}",
        f"ORGANIZER;CN={param_value(host.display_name)}:mailto:{host.email}",
        f"ATTENDEE;CN={param_value(booking.invitee_name)};ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE"
        f":mailto:{booking.invitee_email}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)


def _description(booking: Booking, page_url: str) -> str:
    text = f"{booking.link.title} with {booking.host.display_name} and {booking.invitee_name}.\n"
    if booking.status == Booking.Status.CANCELLED:
        last = booking.changes.filter(kind=BookingChange.Kind.CANCELLED).last()
        text += "Cancelled." + (f" Reason: {last.reason}" if last and last.reason else "") + "\n"
    return text + f"Details: {page_url}"


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): backslash, semicolon and comma escaped, line breaks
    as \\n; other control characters dropped (they are not allowed in a content line)."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
    return "".join(char for char in value if char == "\t" or ord(char) >= 0x20 and char != "\x7f")


def param_value(value: str) -> str:
    """A parameter value (§3.2): quoted when it holds ':', ';' or ','; DQUOTE and control
    characters are not allowed inside, so they are replaced or dropped."""
    value = "".join(char for char in value.replace('"', "'") if ord(char) >= 0x20 and char != "\x7f")
    return f'"{value}"' if any(char in value for char in ":;,") else value


def fold(line: str) -> str:
    """Split `line` into 75-octet pieces joined by CRLF + space, never inside a UTF-8 character."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        width = len(char.encode("utf-8"))
        limit = FOLD_AT if not pieces else FOLD_AT - 1  # continuation lines start with a space
        if size + width > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    pieces.append("".join(current))
    return "\r\n ".join(pieces)
