"""The recap panel on the booking page (bookings.hooks.booking_panels)."""
from bookings import hooks

from . import selectors


def recap_panel(request, booking) -> hooks.Panel | None:
    """Shown to the host or an admin (bookings checks that) when the meeting has a recap."""
    recap = selectors.recap_for_booking(booking)
    if recap is None:
        return None
    availability = selectors.push_availability(booking.workspace)
    context = {
        "booking": booking,
        "recap": recap,
        "action_items": list(recap.action_items.all()),
        "push": selectors.push_status(recap, org_id=availability.connection.org_id if availability.connection else ""),
        "availability": availability,
    }
    return hooks.Panel("notetaker/_recap_panel.html", context)


def register() -> None:
    if recap_panel not in hooks.booking_panels:
        hooks.booking_panels.append(recap_panel)
