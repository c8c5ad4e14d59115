"""What Salesforce adds to booking pages, through bookings.hooks: the calendar banners, a
badge per booking, the booking page's sync panel and the link's "Push to Salesforce" toggle."""

from dataclasses import replace

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime

from bookings import hooks
from bookings.selectors import booking_is_managed_by
from bookings.timezones import user_zone

from . import records, selectors
from .models import BookingSync, LinkPushSetting, SalesforceConnection, SyncOperation

State = SyncOperation.State
Status = SalesforceConnection.Status
EventState = BookingSync.EventState
LABEL_MESSAGE_LENGTH = 80


def calendar_banners(request) -> list[hooks.Banner]:
    if request.workspace is None:
        return []
    connection = selectors.connection_for_workspace(request.workspace)
    if connection is None:
        return []
    is_admin = request.membership.is_admin
    settings_url = reverse("salesforce:settings")
    banners = []
    if connection.needs_reconnect:
        # The settings page's word for this state, so one state has one name everywhere.
        message = (
            f"Salesforce: {Status.NEEDS_RECONNECT.label}. Bookings are waiting to be pushed; nothing has been dropped. "
        )
        if is_admin:
            message += "Reconnect to send them."
            banners.append(
                hooks.Banner(
                    "error",
                    message,
                    action_url=reverse("salesforce:connect"),
                    action_label="Reconnect",
                    action_method="post",
                    action_fields=(("environment", connection.environment), ("confirm_replace", "1")),
                )
            )
        else:
            message += "Ask a workspace admin to reconnect Salesforce."
            banners.append(hooks.Banner("error", message))
    elif connection.is_connected and connection.is_deferred:
        until = date_format(localtime(connection.deferred_until, user_zone(request.user)), "H:i T")
        message = f"Salesforce pushes are paused until {until} because {connection.deferred_reason or 'the org is close to its daily API limit.'}"
        banners.append(
            hooks.Banner("warning", message, action_url=settings_url if is_admin else "", action_label="Details")
        )
    return banners


def booking_badges(request, bookings) -> dict[int, hooks.Badge]:
    """One badge per booking, from four queries for the whole list (three without a connection)."""
    bookings = list(bookings)
    if not bookings or request.workspace is None:
        return {}
    connection = selectors.connection_for_workspace(request.workspace)
    if connection is None:
        return {b.pk: hooks.Badge(NOT_CONNECTED_LABEL, "neutral") for b in bookings}
    operations = selectors.latest_operations(bookings)
    syncs = {s.booking_id: s for s in BookingSync.objects.filter(booking_id__in=[b.pk for b in bookings])}
    toggled_off = set(
        LinkPushSetting.objects.filter(link_id__in={b.link_id for b in bookings}, push_enabled=False).values_list(
            "link_id", flat=True
        )
    )
    return {
        booking.pk: booking_badge(
            operations.get(booking.pk),
            syncs.get(booking.pk),
            link_off=booking.link_id in toggled_off,
            connection=connection,
        )
        for booking in bookings
    }


NOT_CONNECTED_LABEL = "Salesforce: not pushed: no Salesforce connection"


def booking_badge(
    op: SyncOperation | None,
    sync: BookingSync | None,
    *,
    link_off: bool,
    connection: SalesforceConnection | None = None,
) -> hooks.Badge:
    """Every booking gets a badge: a host never has to guess why one is not in Salesforce."""
    if op is None and sync is None:
        if link_off:
            return hooks.Badge(
                "Salesforce: not pushed: link toggle off",
                "neutral",
                "The link's Push to Salesforce toggle was off when this was booked.",
            )
        if connection is not None and connection.status == Status.DISCONNECTED:
            return hooks.Badge("Salesforce: not pushed: Salesforce disconnected", "neutral")
        return hooks.Badge(
            "Salesforce: not pushed: booked before Salesforce was connected",
            "neutral",
            "Booked while Salesforce was not connected (or the link's toggle was off then).",
        )
    if op is None or op.state in (State.PUSHED, State.COALESCED):
        return _event_badge(sync, op, instance_url=connection.instance_url if connection else "")
    if op.state in (State.PENDING, State.IN_PROGRESS):
        return hooks.Badge("Salesforce: pending", "info", op.outcome)
    if op.state == State.WAITING_RECONNECT:
        return hooks.Badge("Salesforce: waiting for reconnect", "warning", op.outcome)
    if op.state == State.DEFERRED:
        return hooks.Badge("Salesforce: deferred for API limits", "warning", op.outcome)
    if op.state == State.SKIPPED:
        return hooks.Badge(f"Salesforce: skipped: {_short(op.outcome)}", "info", op.outcome)
    message = op.error_message or op.outcome
    return hooks.Badge(f"Salesforce: failed: {_short(message)}", "error", message)


def _event_badge(sync: BookingSync | None, op: SyncOperation | None, *, instance_url: str = "") -> hooks.Badge:
    state = sync.event_state if sync else EventState.NONE
    warning = sync.warnings if sync else ""
    if sync is not None and state in (EventState.LIVE, EventState.CLOSED):
        if state == EventState.LIVE:
            badge = hooks.Badge(
                "Salesforce: pushed", "warning" if warning else "ok", f"Event {sync.sf_event_id}. {warning}".strip()
            )
        else:
            badge = hooks.Badge("Salesforce: Event marked cancelled", "ok", f"Event {sync.sf_event_id}")
        return _with_record_links(badge, sync, instance_url)
    if state == EventState.DELETED:
        return hooks.Badge("Salesforce: Event deleted", "ok")
    return hooks.Badge("Salesforce: nothing to send", "info", op.outcome if op else "")


def _with_record_links(badge: hooks.Badge, sync: BookingSync, instance_url: str) -> hooks.Badge:
    """The Event's link, and the matched Contact/Lead and Opportunity/Account by name, each
    linked to its Lightning page."""
    event = records.record_link(instance_url, sync.sf_event_id)
    named = [
        (name, sf_id)
        for name, sf_id in ((sync.sf_who_name, sync.sf_who_id), (sync.sf_what_name, sync.sf_what_id))
        if name
    ]
    links = []
    for name, sf_id in named:
        link = records.record_link(instance_url, sf_id)
        links.append((name, link.url if link else ""))
    return replace(
        badge,
        url=event.url if event else "",
        url_label="Open in Salesforce",
        note=" · ".join(name for name, _ in named),
        links=tuple(links),
    )


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LABEL_MESSAGE_LENGTH else text[: LABEL_MESSAGE_LENGTH - 1] + "…"


def booking_panel(request, booking) -> hooks.Panel | None:
    if not booking_is_managed_by(booking=booking, membership=request.membership):
        return None
    operations = list(booking.salesforce_operations.order_by("-id")[:20])
    sync = BookingSync.objects.filter(booking=booking).first()
    if not operations and sync is None:
        return None
    connection = selectors.connection_for_workspace(booking.workspace_id)
    last_error = next((op for op in operations if op.error_message), None)
    context = {
        "booking": booking,
        "sync": sync,
        "records": selectors.booking_records(connection, booking, sync) if connection and sync else [],
        "operations": operations,
        "last_error": last_error,
        "badge": booking_badge(operations[0] if operations else None, sync, link_off=False, connection=connection),
        "zone": user_zone(request.user),
    }
    return hooks.Panel("salesforce/booking_panel.html", context)


def link_panel(request, link) -> hooks.Panel | None:
    connection = selectors.connection_for_workspace(link.workspace_id)
    context = {
        "link": link,
        "push_enabled": selectors.link_push_enabled(link),
        "connection": connection,
        "connected": connection is not None and connection.status != connection.Status.DISCONNECTED,
        "is_admin": request.membership.is_admin,
    }
    return hooks.Panel("salesforce/link_panel.html", context)


def register() -> None:
    """Called once from AppConfig.ready()."""
    for registry, hook in (
        (hooks.calendar_banners, calendar_banners),
        (hooks.booking_badges, booking_badges),
        (hooks.booking_panels, booking_panel),
        (hooks.link_integration_panels, link_panel),
    ):
        if hook not in registry:
            registry.append(hook)
