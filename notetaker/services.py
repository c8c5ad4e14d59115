"""Writes to recaps: a notetaker delivery, a member's edit, a request to push to the CRM."""

import json
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings.models import Booking

from . import hooks, selectors
from .models import ActionItem, Recap, RecapDelivery
from .webhook import ActionItemData, RecapPayload

logger = logging.getLogger("notetaker.services")


class BookingNotFound(Exception):
    pass


class DeliveryConflict(Exception):
    """An Idempotency-Key already used for a different body."""


class PushUnavailable(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DeliveryResult:
    status: int
    content: str  # the JSON answer; a replay gets the first one byte for byte
    replayed: bool = False


def recap_receive_delivery(*, payload: RecapPayload, key: str, body_hash: str) -> DeliveryResult:
    """Store one notetaker delivery: create the booking's recap (201) or replace its summary
    and action items (200). When the content is new or changed, a push to the CRM is
    recorded in the same transaction (the outbox decides whether the workspace pushes Notes).

    Idempotent per `key`: the same delivery again changes nothing and returns the first
    answer with `replayed=True` (status 200). Raises BookingNotFound, and DeliveryConflict
    when `key` was used for a different body.
    """
    try:
        return _receive(payload, key, body_hash)
    except IntegrityError:
        # Two copies of one delivery raced past the lookup (different bookings can't share a
        # row lock); the loser answers like a replay.
        delivery = RecapDelivery.objects.filter(key=key).first()
        if delivery is None:
            raise
        return _replay(delivery, body_hash)


def _receive(payload: RecapPayload, key: str, body_hash: str) -> DeliveryResult:
    with transaction.atomic():
        # One delivery at a time per booking: the row lock orders them.
        booking = Booking.objects.select_for_update().filter(uid=payload.booking_uid).first()
        if booking is None:
            raise BookingNotFound(payload.booking_uid)
        delivery = RecapDelivery.objects.filter(key=key).first()
        if delivery is not None:
            return _replay(delivery, body_hash)
        # A body this booking already received is never applied again, whatever key it comes
        # with: a captured (signed) old delivery can't overwrite a newer recap.
        earlier = RecapDelivery.objects.filter(recap__booking=booking, body_sha256=body_hash).order_by("pk").first()
        if earlier is not None:
            return _replay(earlier, body_hash)
        recap, created, changed = _write(booking, payload.summary, payload.action_items, source=Recap.Source.WEBHOOK)
        queued = _queue(booking) if changed else None
        status = 201 if created else 200
        body = {
            "recap_id": recap.pk,
            "booking_uid": booking.uid,
            "created": created,
            "changed": changed,
            "action_items": len(payload.action_items),
            _response_key(): queued.word if queued else "not_queued",
        }
        content = json.dumps(body)
        RecapDelivery.objects.create(
            key=key, body_sha256=body_hash, recap=recap, response_status=status, response_body=content
        )
    logger.info(
        "notetaker.recap.received",
        extra={"booking_id": booking.pk, "recap_id": recap.pk, "recap_created": created, "recap_changed": changed},
    )
    return DeliveryResult(status, content)


def _replay(delivery: RecapDelivery, body_hash: str) -> DeliveryResult:
    if delivery.body_sha256 != body_hash:
        raise DeliveryConflict(delivery.key)
    return DeliveryResult(200, delivery.response_body, replayed=True)


def _queue(booking: Booking) -> hooks.QueuedPush | None:
    """Record a push of the recap with the registered CRM (inside the recap's transaction)."""
    destination = hooks.destination()
    return destination.queue_recap(booking) if destination else None


def _response_key() -> str:
    destination = hooks.destination()
    return destination.response_key if destination else "crm"


def recap_update(*, recap: Recap, summary: str, action_items: list[ActionItemData], user) -> bool:
    """A member's edit: replace the summary and action items. Returns whether anything
    changed. It is not pushed by itself; the member presses the Push button."""
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=recap.booking_id)
        _, _, changed = _write(booking, summary, action_items, source=Recap.Source.EDITED, user=user)
    return changed


def _write(booking: Booking, summary: str, items, *, source: str, user=None) -> tuple[Recap, bool, bool]:
    """(recap, created, changed). Call inside a transaction holding the booking's row lock."""
    items = list(items)
    now = timezone.now()
    recap = Recap.objects.filter(booking=booking).first()
    if recap is None:
        recap = Recap.objects.create(
            booking=booking, summary=summary, source=source, edited_by=user, content_changed_at=now
        )
        _replace_items(recap, items)
        return recap, True, True
    changed = recap.summary != summary or selectors.action_item_data(recap) != items
    if changed:
        recap.summary, recap.content_changed_at, recap.source = summary, now, source
        recap.edited_by = user
        _replace_items(recap, items)
    recap.save()
    return recap, False, changed


def _replace_items(recap: Recap, items: list[ActionItemData]) -> None:
    recap.action_items.all().delete()
    ActionItem.objects.bulk_create(
        ActionItem(recap=recap, position=n, text=item.text, assignee=item.assignee, due_date=item.due_date)
        for n, item in enumerate(items)
    )


def recap_request_push(*, recap: Recap) -> hooks.QueuedPush:
    """Queue the recap for the CRM (the Push button). Raises PushUnavailable saying why when
    the workspace is not connected or does not push recaps. Not idempotent on purpose: each
    press sends the recap as it is now (the push itself updates the same notes)."""
    availability = selectors.push_availability(recap.booking.workspace)
    if not availability.allowed:
        raise PushUnavailable(availability.reason)
    with transaction.atomic():
        queued = _queue(recap.booking)
    if queued is None:  # the connection changed since we looked
        raise PushUnavailable(
            selectors.push_availability(recap.booking.workspace).reason or "The CRM is not connected."
        )
    return queued
