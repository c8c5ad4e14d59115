"""Where a CRM plugs into the notetaker, and the recap panel on the booking page.

The notetaker knows no CRM. A provider registers one RecapDestination from its
AppConfig.ready() (integrations.salesforce does: recap_destination.py), the way providers plug
into bookings through bookings.hooks. Without one, recaps are still received, stored and shown;
the Push button explains that no CRM is connected.

A RecapDestination has:
- name: shown on the panel ("Push to <name>"); response_key: the key of the webhook answer
  that says whether the recap was queued ("salesforce");
- availability(workspace) -> PushAvailability
- queue_recap(booking) -> QueuedPush | None: record a push of the booking's recap, inside the
  recap's transaction; None when the workspace does not push recaps;
- push_status(recap, availability) -> PushStatus
- annotate_push_state(queryset) -> queryset with `latest_push_state`,
  push_state_label(state) -> str and note_link(recap, note_id) -> html, for the admin's recap list.
"""

from dataclasses import dataclass, field

from bookings import hooks as booking_hooks

NO_DESTINATION_REASON = "No CRM is connected for recaps."


@dataclass(frozen=True)
class PushAvailability:
    allowed: bool
    reason: str = ""  # why not, or (allowed) what will happen instead of an immediate push
    org_id: str = ""  # the CRM org the workspace uses now: notes of another org are not shown


@dataclass(frozen=True)
class PushStatus:
    state: str  # "" (never pushed) or the destination's state name
    label: str
    level: str  # "ok" | "info" | "warning" | "error"
    detail: str = ""
    notes: list = field(default_factory=list)  # RecapNoteLinks in the current org
    edited_since: bool = False


@dataclass(frozen=True)
class QueuedPush:
    word: str  # "queued" | "waiting_reconnect": what the webhook answer says
    notice: str = ""  # shown to the member instead of "on its way" (e.g. waits for a reconnect)


recap_destinations: list = []


def register_destination(destination) -> None:
    """Called once from the provider's AppConfig.ready(). One CRM per deployment."""
    if not any(type(existing) is type(destination) for existing in recap_destinations):
        recap_destinations.append(destination)


def destination():
    return recap_destinations[0] if recap_destinations else None


# ---- the recap panel (bookings.hooks.booking_panels) ---------------------------------------------
def recap_panel(request, booking) -> booking_hooks.Panel | None:
    """Shown to the host or an admin (bookings checks that) when the meeting has a recap."""
    from . import selectors

    recap = selectors.recap_for_booking(booking)
    if recap is None:
        return None
    availability = selectors.push_availability(booking.workspace)
    context = {
        "booking": booking,
        "recap": recap,
        "action_items": list(recap.action_items.all()),
        "push": selectors.push_status(recap, availability),
        "availability": availability,
        "destination_name": selectors.destination_name(),
    }
    return booking_hooks.Panel("notetaker/_recap_panel.html", context)


def register() -> None:
    if recap_panel not in booking_hooks.booking_panels:
        booking_hooks.booking_panels.append(recap_panel)
