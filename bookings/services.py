"""Writes to bookings: create, reschedule, cancel.

Each runs in one transaction that saves the booking, records a BookingChange and sends the
matching signal after the row is saved, so listeners (the Salesforce outbox) commit or roll
back with it. Every check that depends on other bookings runs after the host's user row is
locked: two invitees racing for the same slot are serialised there (on SQLite the IMMEDIATE
transaction mode takes the database write lock at BEGIN, which serialises them the same way).
"""

import json
import logging
import re
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from . import availability, selectors
from .models import Booking, BookingChange, BookingLink
from .signals import booking_cancelled, booking_confirmed, booking_rescheduled
from .timezones import canonical_zone

NAME_MAX_LENGTH = 200
EMAIL_MAX_LENGTH = 254
REASON_MAX_LENGTH = 2000
_START_MAX_LENGTH = 64
_FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
logger = logging.getLogger(__name__)


class BookingError(Exception):
    """A request the booking rules refuse; `message` is meant for the person who made it."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class AlreadyBooked(BookingError):
    """The booking form with this one-time token was already used; `booking` is what it made."""

    def __init__(self, booking: Booking):
        super().__init__("You already booked this meeting.")
        self.booking = booking


def booking_create(
    *,
    link: BookingLink,
    name: str,
    email: str,
    start: str | datetime,
    answers: dict | None = None,
    form_token: str = "",
    invitee_timezone: str = "",
) -> Booking:
    """Book `start` on `link` for the invitee; sends booking_confirmed.

    Raises AlreadyBooked when `form_token` (the rendered form's one-time token) already made a
    booking, and BookingError (with the offending field) for a bad name, email or start, a time
    that is not one of the link's open slots, in the past, or already taken by the host.
    Idempotent per form_token; without one, each call books a new meeting. `invitee_timezone`
    is kept only when it names a listed zone (bookings.timezones).
    """
    name = clean_name(name)
    email = clean_email(email)
    start_at = parse_start(start)
    answers = _clean_answers(answers)
    form_token = clean_form_token(form_token)
    invitee_zone = canonical_zone(invitee_timezone)
    with transaction.atomic():
        _lock_host(link.owner_id)
        # Under the host's lock, so two racing POSTs of one form are serialised here.
        if form_token and (earlier := selectors.booking_by_form_token(token=form_token)) is not None:
            raise AlreadyBooked(earlier)
        _check_offered(link, start_at)
        end_at = start_at + link.duration
        _check_host_free(link.owner_id, start_at, end_at)
        booking = Booking.objects.create(
            workspace_id=link.workspace_id,
            link=link,
            host_id=link.owner_id,
            invitee_name=name,
            invitee_email=email,
            answers=answers,
            start_at=start_at,
            end_at=end_at,
            form_token=form_token or None,
            invitee_timezone=invitee_zone.key if invitee_zone else "",
        )
        BookingChange.objects.create(booking=booking, kind=BookingChange.Kind.CREATED, new_start_at=start_at)
        booking_confirmed.send(sender=Booking, booking=booking)
    # The uid stays out of logs: it is what lets anyone reschedule or cancel the booking.
    logger.info("booking.created", extra={"booking_id": booking.pk, "link_id": link.pk, "host_id": link.owner_id})
    return booking


def booking_reschedule(*, booking: Booking, start: str | datetime) -> Booking:
    """Move a live booking to another open slot of its link; sends booking_rescheduled.

    Returns the updated booking (a fresh instance). Raises BookingError when the booking is
    cancelled, the start is malformed, is the booking's current time, is not an open slot
    of the link, is in the past, or overlaps another of the host's bookings.
    """
    with transaction.atomic():
        _lock_host(booking.host_id)
        booking = Booking.objects.select_related("link__owner").select_for_update(of=("self",)).get(pk=booking.pk)
        if booking.status == Booking.Status.CANCELLED:
            raise BookingError("This booking was cancelled, so it can no longer be rescheduled.")
        start_at = parse_start(start)
        if start_at == booking.start_at:
            raise BookingError("The meeting is already at that time. Pick a different time.", field="start")
        _check_offered(booking.link, start_at)
        end_at = start_at + (booking.end_at - booking.start_at)
        _check_host_free(booking.host_id, start_at, end_at, exclude_booking_id=booking.pk)
        previous_start_at = booking.start_at
        booking.start_at, booking.end_at = start_at, end_at
        booking.status = Booking.Status.RESCHEDULED
        booking.save(update_fields=["start_at", "end_at", "status", "updated_at"])
        BookingChange.objects.create(
            booking=booking,
            kind=BookingChange.Kind.RESCHEDULED,
            previous_start_at=previous_start_at,
            new_start_at=start_at,
        )
        booking_rescheduled.send(sender=Booking, booking=booking)
    logger.info("booking.rescheduled", extra={"booking_id": booking.pk, "host_id": booking.host_id})
    return booking


def booking_cancel(*, booking: Booking, reason: str = "") -> Booking:
    """Cancel a live booking, keeping `reason`; sends booking_cancelled.

    Returns the updated booking (a fresh instance). Raises BookingError when it is already
    cancelled or the reason is too long. Not idempotent on purpose: a second cancel is an error
    the invitee should see, not a silent success.
    """
    reason = clean_text(reason, field="reason", label="The reason", max_length=REASON_MAX_LENGTH)
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status == Booking.Status.CANCELLED:
            raise BookingError("This booking is already cancelled.")
        booking.status = Booking.Status.CANCELLED
        booking.cancel_reason = reason
        booking.cancelled_at = timezone.now()
        booking.save(update_fields=["status", "cancel_reason", "cancelled_at", "updated_at"])
        BookingChange.objects.create(
            booking=booking, kind=BookingChange.Kind.CANCELLED, previous_start_at=booking.start_at, reason=reason
        )
        booking_cancelled.send(sender=Booking, booking=booking)
    logger.info("booking.cancelled", extra={"booking_id": booking.pk, "host_id": booking.host_id})
    return booking


# --- validation -----------------------------------------------------------------------------


def booking_input_errors(*, name, email, start) -> dict[str, str]:
    """Field name → message for each malformed field, so a form can show them all at once.
    Checks shape only; booking_create still decides whether the time can be booked."""
    errors = {}
    for check, value in ((clean_name, name), (clean_email, email), (parse_start, start)):
        try:
            check(value)
        except BookingError as error:
            errors[error.field or "form"] = error.message
    return errors


def clean_form_token(value) -> str:
    """The token as the form sent it, or "" for none or one we never issue (then the POST books
    as an API call without a token would)."""
    token = value.strip() if isinstance(value, str) else ""
    return token if _FORM_TOKEN.fullmatch(token) else ""


def clean_text(value, *, field: str, label: str, max_length: int) -> str:
    text = (value if isinstance(value, str) else "").strip()
    if len(text) > max_length:
        raise BookingError(f"{label} can be at most {max_length:,} characters.", field=field)
    if "\x00" in text:
        raise BookingError(f"{label} contains a character that is not allowed.", field=field)
    return text


def clean_name(value) -> str:
    name = clean_text(value, field="name", label="Your name", max_length=NAME_MAX_LENGTH)
    if not name:
        raise BookingError("Please enter your name.", field="name")
    return name


def clean_email(value) -> str:
    email = clean_text(value, field="email", label="The email address", max_length=EMAIL_MAX_LENGTH)
    if not email:
        raise BookingError("Please enter your email address.", field="email")
    try:
        validate_email(email)
    except ValidationError:
        raise BookingError("Please enter a valid email address, like name@example.com.", field="email") from None
    return email


def parse_start(value) -> datetime:
    """An aware datetime, or an ISO 8601 string with a UTC offset, as a UTC datetime."""
    if isinstance(value, datetime):
        start = value
    else:
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            raise BookingError("Please pick a time.", field="start")
        try:
            if len(text) > _START_MAX_LENGTH:
                raise ValueError
            start = datetime.fromisoformat(text)
        except ValueError:
            raise BookingError(
                "The time must be an ISO 8601 date and time with a UTC offset, like 2025-03-10T09:00:00+00:00.",
                field="start",
            ) from None
    if start.tzinfo is None or start.utcoffset() is None:
        raise BookingError(
            "The time needs a UTC offset (for example +00:00 or -05:00) so it is unambiguous.", field="start"
        )
    try:
        return start.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed over the edge by its offset
        raise BookingError("That time is not available on this booking link.", field="start") from None


def _clean_answers(answers) -> dict:
    if answers is None:
        return {}
    if not isinstance(answers, dict):
        raise BookingError("Answers must be a mapping of question to answer.", field="answers")
    try:
        encoded = json.dumps(answers)
    except (TypeError, ValueError):
        raise BookingError("Answers must be plain text, numbers, lists or mappings.", field="answers") from None
    if "\\u0000" in encoded:
        raise BookingError("Answers contain a character that is not allowed.", field="answers")
    return answers


# --- checks that need the lock --------------------------------------------------------------


def _lock_host(host_id: int) -> None:
    get_user_model().objects.select_for_update().filter(pk=host_id).values_list("pk", flat=True).get()


def _check_offered(link: BookingLink, start_at: datetime) -> None:
    if start_at <= timezone.now():
        raise BookingError("That time is in the past. Please pick a time that is still ahead.", field="start")
    if start_at not in availability.link_candidate_slots(link):
        raise BookingError(
            "That time is not available on this booking link. Please pick one of the times shown.", field="start"
        )


def _check_host_free(host_id: int, start_at: datetime, end_at: datetime, exclude_booking_id: int | None = None) -> None:
    if availability.host_busy_intervals(
        host_id=host_id, start=start_at, end=end_at, exclude_booking_id=exclude_booking_id
    ):
        raise BookingError("Sorry, that time was just booked by someone else. Please pick another time.", field="start")
