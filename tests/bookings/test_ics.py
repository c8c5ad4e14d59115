"""bookings.ics: RFC 5545 text, folding and escaping, a stable UID and a growing SEQUENCE."""

from datetime import UTC, datetime

import pytest

from bookings.availability import link_free_slots
from bookings.ics import Method, booking_ics, escape_text, fold, param_value
from bookings.services import booking_cancel, booking_create, booking_reschedule

pytestmark = pytest.mark.django_db


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def field(text: str, name: str) -> str:
    (value,) = [line.split(":", 1)[1] for line in unfold(text) if line.split(":", 1)[0].split(";")[0] == name]
    return value


def test_a_confirmed_booking_as_an_invitation(link, settings):
    settings.PUBLIC_BASE_URL = "https://app.workestra.test"
    slot = link_free_slots(link)[0]
    booking = booking_create(link=link, name="Roe, Jane; CEO", email="jane@example.com", start=slot)

    text = booking_ics(booking=booking, method=Method.REQUEST, page_url=booking.get_public_url())

    lines = unfold(text)
    assert lines[:5] == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Workestra//Bookings//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:REQUEST",
    ]
    assert lines[-3:] == ["END:VEVENT", "END:VCALENDAR", ""]
    assert field(text, "UID") == f"workestra-booking-{booking.pk}@app.workestra.test"
    assert booking.uid not in field(text, "UID")
    assert field(text, "SEQUENCE") == "0"
    assert field(text, "DTSTART") == slot.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert field(text, "DTSTAMP") == booking.changes.get().created_at.strftime("%Y%m%dT%H%M%SZ")
    assert field(text, "STATUS") == "CONFIRMED"
    assert "ORGANIZER;CN=Mia Member:mailto:member@acme.test" in lines
    assert (
        'ATTENDEE;CN="Roe, Jane; CEO";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:jane@example.com'
        in lines
    )
    assert field(text, "DESCRIPTION") == (
        f"30 min intro with Mia Member and Roe\\, Jane\\; CEO.\\nDetails: {booking.get_public_url()}"
    )
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert "\n" not in text.replace("\r\n", "")


def test_each_change_raises_the_sequence_and_keeps_the_uid(link):
    first, second = link_free_slots(link)[:2]
    booking = booking_create(link=link, name="Jane", email="jane@example.com", start=first)
    uid = field(booking_ics(booking=booking, method=Method.REQUEST, page_url="x"), "UID")

    moved = booking_reschedule(booking=booking, start=second)
    moved_text = booking_ics(booking=moved, method=Method.REQUEST, page_url="x")
    cancelled = booking_cancel(booking=moved, reason="Sick")
    cancel_text = booking_ics(booking=cancelled, method=Method.CANCEL, page_url="x")

    assert (field(moved_text, "UID"), field(moved_text, "SEQUENCE")) == (uid, "1")
    assert (field(cancel_text, "UID"), field(cancel_text, "SEQUENCE"), field(cancel_text, "STATUS")) == (
        uid,
        "2",
        "CANCELLED",
    )
    assert "METHOD:CANCEL" in unfold(cancel_text)
    assert "Cancelled. Reason: Sick" in field(cancel_text, "DESCRIPTION")


def test_folding_never_splits_a_character_and_unfolds_to_the_line():
    line = "SUMMARY:" + "Réunion d’équipe 🎉 " * 12

    folded = fold(line)

    pieces = folded.split("\r\n ")
    assert len(pieces) > 3
    assert len(pieces[0].encode()) <= 75 and all(len(p.encode()) <= 74 for p in pieces[1:])
    assert "".join(pieces) == line


def test_text_and_parameter_escaping():
    assert escape_text("a\\b;c,d\r\ne\nf\x00g") == "a\\\\b\\;c\\,d\\ne\\nfg"
    assert param_value("Jane Roe") == "Jane Roe"
    assert param_value('Jane "JR" Roe: CEO') == "\"Jane 'JR' Roe: CEO\""
    assert param_value("Evil\r\nATTENDEE:x") == '"EvilATTENDEE:x"'


def test_the_download_is_a_published_copy(client, link):
    booking = booking_create(link=link, name="Jane", email="jane@example.com", start=link_free_slots(link)[0])

    response = client.get(f"/bookings/{booking.uid}/meeting.ics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="meeting.ics"'
    text = response.content.decode()
    assert "METHOD:PUBLISH" in unfold(text) and field(text, "SEQUENCE") == "0"
    assert datetime.now(UTC).year <= int(field(text, "DTSTART")[:4])
