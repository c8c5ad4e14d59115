"""Bookings whose deletion would leave their Event in Salesforce (bookings.hooks.deletion_blockers).

Deleting a booking row drops its BookingSync and outbox rows, and with them the only record of
the Event Workestra created: the Event would stay on the rep's calendar with nobody to delete it.
So a booking with a live Event (or a create that may have reached Salesforce, or pushes still in
flight) can't be deleted; the reason says to cancel it first, which deletes the Event (or marks
it cancelled, per the workspace's setting) through the outbox. After that it can be deleted.
"""

from django.db.models import Q

from bookings import hooks

from .models import BookingSync, SyncOperation

LIVE_EVENT = (
    "its Event {event_id} is live in Salesforce and would be left behind. Cancel the booking first "
    '(the admin action "Cancel selected bookings"): Workestra then deletes the Event or marks it cancelled, '
    "and the booking can be deleted once that has reached Salesforce."
)
MAYBE_CREATED = (
    "a create of its Event was sent to Salesforce without an answer, so the Event may exist. Let the push "
    "finish (or cancel the booking first), then delete it."
)
IN_FLIGHT = (
    "Salesforce pushes for it are still waiting or in progress ({states}). Let them finish (a disconnected "
    "workspace must reconnect first), then delete it."
)


def booking_deletion_blocks(bookings) -> dict[int, str]:
    """{booking id: why it can't be deleted yet}, in two queries for all of them."""
    ids = [booking.pk for booking in bookings]
    reasons: dict[int, str] = {}
    live = Q(event_state=BookingSync.EventState.LIVE) & ~Q(sf_event_id="")
    for sync in BookingSync.objects.filter(booking_id__in=ids).filter(live | Q(create_sent_at__isnull=False)):
        reasons[sync.booking_id] = LIVE_EVENT.format(event_id=sync.sf_event_id) if sync.sf_event_id else MAYBE_CREATED
    open_states: dict[int, set[str]] = {}
    for booking_id, state in SyncOperation.objects.filter(
        booking_id__in=ids, state__in=SyncOperation.OPEN_STATES
    ).values_list("booking_id", "state"):
        open_states.setdefault(booking_id, set()).add(SyncOperation.State(state).label.lower())
    for booking_id, states in open_states.items():
        reasons.setdefault(booking_id, IN_FLIGHT.format(states=", ".join(sorted(states))))
    return reasons


def register() -> None:
    """Called once from AppConfig.ready()."""
    if booking_deletion_blocks not in hooks.deletion_blockers:
        hooks.deletion_blockers.append(booking_deletion_blocks)
