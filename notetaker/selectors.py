"""Reads: a booking's recap, and (through the registered CRM, see hooks.py) whether it can be
pushed and how its last push went."""

from . import hooks
from .hooks import NO_DESTINATION_REASON, PushAvailability, PushStatus
from .models import Recap
from .webhook import ActionItemData

__all__ = [
    "PushAvailability",
    "PushStatus",
    "recap_for_booking",
    "action_item_data",
    "push_availability",
    "push_status",
]


def recap_for_booking(booking) -> Recap | None:
    return Recap.objects.filter(booking=booking).prefetch_related("action_items", "note_links").first()


def action_item_data(recap: Recap) -> list[ActionItemData]:
    return [ActionItemData(i.text, i.assignee, i.due_date) for i in recap.action_items.all()]


def destination_name() -> str:
    destination = hooks.destination()
    return destination.name if destination else "a CRM"


def push_availability(workspace) -> PushAvailability:
    destination = hooks.destination()
    if destination is None:
        return PushAvailability(False, NO_DESTINATION_REASON)
    return destination.availability(workspace)


def push_status(recap: Recap, availability: PushAvailability) -> PushStatus:
    destination = hooks.destination()
    if destination is None:
        return PushStatus("", "Not pushed", "info")
    return destination.push_status(recap, availability)
