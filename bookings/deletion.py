"""Deleting a booking must not leave things behind elsewhere without saying so.

Apps that keep something outside Workestra for a booking (Salesforce: its Event) register a
blocker in bookings.hooks.deletion_blockers. A booking with a reason there can't be deleted:
not in the admin (which shows the reasons, like protected objects, and offers no confirm
button), not by a cascade (a workspace, link or user deletion), not from the shell. The way out
is to cancel the booking first (the admin's "Cancel selected bookings"), which lets those apps
clean up (delete or close the Event); once that has happened the deletion goes through.
"""

from django.db.models import ProtectedError
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from . import hooks
from .models import Booking

PREFIX = "Booking {uid} can't be deleted yet: "


def deletion_refusals(bookings) -> list[str]:
    """One sentence per booking that must not be deleted yet, saying why and what to do."""
    bookings = list(bookings)
    blocks = hooks.collect_deletion_blocks(bookings)
    return [
        PREFIX.format(uid=booking.uid) + " ".join(blocks[booking.pk]) for booking in bookings if booking.pk in blocks
    ]


@receiver(pre_delete, sender=Booking, dispatch_uid="bookings.deletion.refuse_blocked")
def refuse_blocked_deletion(sender, instance, **kwargs):
    """Runs for every booking a delete reaches, cascades and queryset deletes included (a
    receiver turns Django's fast delete off), inside the delete's transaction: raising rolls
    the whole deletion back."""
    refusals = deletion_refusals([instance])
    if refusals:
        raise ProtectedError(" ".join(refusals), {instance})
