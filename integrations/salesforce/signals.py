"""Booking changes → outbox rows. Handlers only write the row (in the booking's transaction)."""

from django.dispatch import receiver

from bookings import signals as booking_signals

from . import outbox
from .models import SyncOperation

Trigger = SyncOperation.Trigger


@receiver(booking_signals.booking_confirmed)
def on_booking_confirmed(sender, booking, **kwargs):
    outbox.booking_changed(booking=booking, trigger=Trigger.CONFIRMED)


@receiver(booking_signals.booking_rescheduled)
def on_booking_rescheduled(sender, booking, **kwargs):
    outbox.booking_changed(booking=booking, trigger=Trigger.RESCHEDULED)


@receiver(booking_signals.booking_cancelled)
def on_booking_cancelled(sender, booking, **kwargs):
    outbox.booking_changed(booking=booking, trigger=Trigger.CANCELLED)
