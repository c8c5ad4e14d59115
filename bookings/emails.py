"""Emails about booking changes to the invitee and the host, each with an .ics attachment.

The booking signals are sent inside the change's transaction; the receivers below write one
BookingEmail row per recipient there (so the mail commits or rolls back with the change) and
schedule its send on commit. Sending, retries and the sweep live in email_outbox.
"""

import functools
import logging

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.template.loader import render_to_string

from . import ics, signals
from .models import Booking, BookingEmail
from .timezones import canonical_zone, user_zone

logger = logging.getLogger(__name__)
Kind = BookingEmail.Kind
Recipient = BookingEmail.Recipient
SUBJECT_PREFIX: dict[str, str] = {Kind.CONFIRMED: "Confirmed", Kind.RESCHEDULED: "Moved", Kind.CANCELLED: "Cancelled"}


def booking_emails_queue(*, booking: Booking, kind: str) -> list[BookingEmail]:
    """Write the invitee's and the host's email for this change and send them after commit.

    Call inside the change's transaction. Not idempotent: each call writes two new rows.
    Raises nothing of its own (database errors propagate and roll the change back).
    """
    booking = Booking.objects.select_related("link", "host", "workspace").get(pk=booking.pk)
    method = ics.Method.CANCEL if kind == Kind.CANCELLED else ics.Method.REQUEST
    rows = [
        _email(
            booking,
            kind,
            Recipient.INVITEE,
            to=booking.invitee_email,
            reply_to=booking.host.email,
            page_url=booking.get_public_url(),
            method=method,
        ),
        # The host's copy links to the member page: the invitee's address can cancel the meeting,
        # and a host's calendar may be copied into other systems.
        _email(
            booking,
            kind,
            Recipient.HOST,
            to=booking.host.email,
            reply_to=booking.invitee_email,
            page_url=booking.get_member_url(),
            method=method,
        ),
    ]
    created = BookingEmail.objects.bulk_create(rows)
    for email in created:
        transaction.on_commit(functools.partial(enqueue_send, email.pk), robust=True)
    return created


def _email(booking, kind, recipient, *, to, reply_to, page_url, method) -> BookingEmail:
    zone = user_zone(booking.host)
    if recipient == Recipient.INVITEE and booking.invitee_timezone:
        zone = canonical_zone(booking.invitee_timezone) or zone
    book_url = f"{settings.PUBLIC_BASE_URL}{booking.link.get_public_path()}"
    context = {
        "booking": booking,
        "kind": kind,
        "recipient": recipient,
        "page_url": page_url,
        "zone": zone,
        "book_url": book_url,
    }
    return BookingEmail(
        booking=booking,
        kind=kind,
        recipient=recipient,
        to_address=to,
        reply_to=reply_to,
        subject=email_subject(booking, kind, zone),
        body=render_to_string("bookings/emails/booking_change.txt", context),
        ics=ics.booking_ics(booking=booking, method=method, page_url=page_url),
        ics_method=method,
    )


def email_subject(booking: Booking, kind: str, zone) -> str:
    start = booking.start_at.astimezone(zone)
    # Never "... with <host>": link titles often say "with <host>" already.
    subject = f"{SUBJECT_PREFIX[kind]}: {booking.link.title}, {start:%a %-d %b %Y, %H:%M} ({zone.key})"
    return " ".join(subject.split())  # a header: no line breaks from a title


def enqueue_send(email_id: int) -> bool:
    """Hand the row to a worker. False when the broker is unreachable: the sweep sends it later."""
    from .tasks import send_booking_email

    try:
        send_booking_email.delay(email_id)
        return True
    except Exception:  # kombu raises transport-specific errors; any of them means "not enqueued"
        logger.warning("bookings.email.enqueue_failed", extra={"email_id": email_id})
        return False


@receiver(signals.booking_confirmed)
def on_booking_confirmed(sender, booking, **kwargs):
    booking_emails_queue(booking=booking, kind=Kind.CONFIRMED)


@receiver(signals.booking_rescheduled)
def on_booking_rescheduled(sender, booking, **kwargs):
    booking_emails_queue(booking=booking, kind=Kind.RESCHEDULED)


@receiver(signals.booking_cancelled)
def on_booking_cancelled(sender, booking, **kwargs):
    booking_emails_queue(booking=booking, kind=Kind.CANCELLED)
