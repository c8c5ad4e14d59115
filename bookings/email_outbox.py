"""Sending the mail outbox (BookingEmail rows): claim with a lease, send, record, back off.

A row is claimed by setting its lease in a short transaction and sent outside any transaction
(an SMTP conversation must not hold SQLite's write lock). A worker killed mid-send leaves
the lease to expire and the sweep sends the row again: at least once, never lost.
"""

import logging
from datetime import timedelta
from email.mime.text import MIMEText

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import BookingEmail

logger = logging.getLogger(__name__)
State = BookingEmail.State


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after `attempts` failures: doubling, capped below the
    broker's visibility timeout."""
    base = settings.BOOKING_EMAIL_RETRY_BASE_SECONDS
    return min(base * 2 ** max(0, attempts - 1), settings.BOOKING_EMAIL_RETRY_MAX_SECONDS)


def email_claim(email_id: int) -> BookingEmail | None:
    """The row, leased to the caller, when it is pending, due and not leased; else None."""
    now = timezone.now()
    with transaction.atomic():
        email = BookingEmail.objects.select_for_update(skip_locked=True).filter(_claimable(now), pk=email_id).first()
        if email is None:
            return None
        email.lease_until = now + timedelta(seconds=settings.BOOKING_EMAIL_LEASE_SECONDS)
        email.save(update_fields=["lease_until"])
    return email


def email_send(email_id: int) -> float | None:
    """Send one outbox row. Returns None when there is nothing more to do (sent, gave up, or
    not ours to send now), or the seconds after which to try again. Idempotent: a sent row
    is never sent twice by this function."""
    email = email_claim(email_id)
    if email is None:
        return None
    try:
        get_connection(fail_silently=False).send_messages([build_message(email)])
    except Exception as error:  # any backend (SMTP, file, ...) failure: record and retry later
        return _record_failure(email, error)
    BookingEmail.objects.filter(pk=email.pk).update(
        state=State.SENT, sent_at=timezone.now(), attempts=email.attempts + 1, lease_until=None, last_error=""
    )
    logger.info("bookings.email.sent", extra={"email_id": email.pk, "booking_id": email.booking_id, "kind": email.kind})
    return None


def _record_failure(email: BookingEmail, error: Exception) -> float | None:
    attempts = email.attempts + 1
    gave_up = attempts >= settings.BOOKING_EMAIL_MAX_ATTEMPTS
    delay = retry_delay(attempts)
    BookingEmail.objects.filter(pk=email.pk).update(
        attempts=attempts,
        state=State.FAILED if gave_up else State.PENDING,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        lease_until=None,
        last_error=f"{type(error).__name__}: {error}"[:2000],
    )
    logger.warning(
        "bookings.email.failed",
        extra={"email_id": email.pk, "attempts": attempts, "gave_up": gave_up, "error": type(error).__name__},
    )
    return None if gave_up else delay


def build_message(email: BookingEmail) -> EmailMessage:
    message = EmailMessage(
        subject=email.subject,
        body=email.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to_address],
        reply_to=[email.reply_to] if email.reply_to else None,
    )
    # text/calendar with its method parameter: what mail clients read to show "Add" or "Remove".
    calendar = MIMEText(email.ics, "calendar", "utf-8")
    calendar.set_param("method", email.ics_method)
    calendar.add_header("Content-Disposition", "attachment", filename="invite.ics")
    message.attach(calendar)
    return message


def sweep(*, now=None) -> int:
    """Enqueue every due, unleased pending row (their task was lost, or their retry is due).
    Returns how many were handed to the broker."""
    from .emails import enqueue_send

    due = BookingEmail.objects.filter(_claimable(now or timezone.now())).values_list("pk", flat=True)[:500]
    return sum(enqueue_send(pk) for pk in due)


def _claimable(now) -> Q:
    return Q(state=State.PENDING, next_attempt_at__lte=now) & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))
