"""Salesforce as the notetaker's CRM: it plugs into notetaker.hooks (the notetaker never
imports this package). Recaps are pushed through the outbox as RECAP operations."""

from django.db.models import OuterRef, Subquery

from notetaker import hooks

from . import outbox
from .models import SalesforceConnection, SyncOperation
from .selectors import connection_for_workspace, latest_operations

State = SyncOperation.State
EVENTS_ONLY_REASON = "Your workspace pushes Events only; an admin can switch to Events + Notes in Salesforce settings."
NOT_CONNECTED_REASON = "Salesforce is not connected for this workspace; an admin can connect it in Salesforce settings."
NEEDS_RECONNECT_NOTICE = "Salesforce needs an admin to reconnect; a push waits until then and is sent once."


class SalesforceRecapDestination:
    name = "Salesforce"
    response_key = "salesforce"

    def availability(self, workspace) -> hooks.PushAvailability:
        connection = connection_for_workspace(workspace)
        org_id = connection.org_id if connection else ""
        if connection is None or connection.status == SalesforceConnection.Status.DISCONNECTED:
            return hooks.PushAvailability(False, NOT_CONNECTED_REASON, org_id)
        if not connection.pushes_notes:
            return hooks.PushAvailability(False, EVENTS_ONLY_REASON, org_id)
        if connection.needs_reconnect:
            return hooks.PushAvailability(True, NEEDS_RECONNECT_NOTICE, org_id)
        return hooks.PushAvailability(True, "", org_id)

    def queue_recap(self, booking) -> hooks.QueuedPush | None:
        operation = outbox.recap_changed(booking=booking)
        if operation is None:
            return None
        if operation.state == State.WAITING_RECONNECT:
            return hooks.QueuedPush("waiting_reconnect", NEEDS_RECONNECT_NOTICE)
        return hooks.QueuedPush("queued")

    def push_status(self, recap, availability: hooks.PushAvailability) -> hooks.PushStatus:
        """The recap's state from the latest RECAP operation of its booking, and its notes in
        the workspace's current org."""
        operation = latest_operations([recap.booking], kind=SyncOperation.Kind.RECAP).get(recap.booking_id)
        notes = [link for link in recap.note_links.all() if link.note_id and link.org_id == availability.org_id]
        if operation is None:
            return hooks.PushStatus("", "Not pushed yet", "info", notes=notes)
        edited_since = recap.content_changed_at > operation.created_at
        label, level, detail = _describe(operation)
        return hooks.PushStatus(operation.state, label, level, detail, notes, edited_since)

    def annotate_push_state(self, queryset):
        latest = SyncOperation.objects.filter(
            booking_id=OuterRef("booking_id"), kind=SyncOperation.Kind.RECAP
        ).order_by("-id")
        # The connection comes along for note_link(): one query for the admin's whole page.
        return queryset.annotate(latest_push_state=Subquery(latest.values("state")[:1])).select_related(
            "booking__workspace__salesforce_connection"
        )

    def note_link(self, recap, note_id: str):
        """A note's id as its record's link (the admin's recap list)."""
        from .admin import sf_id_link

        return sf_id_link(getattr(recap.booking.workspace, "salesforce_connection", None), note_id)

    def push_state_label(self, state: str) -> str:
        return SyncOperation.State(state).label


def _describe(operation: SyncOperation) -> tuple[str, str, str]:
    state = operation.state
    if state == State.PUSHED:
        return "Pushed", "ok", operation.outcome
    if state in (State.PENDING, State.IN_PROGRESS):
        return "Pending", "info", operation.outcome if operation.attempts else ""
    if state == State.WAITING_RECONNECT:
        return (
            "Waiting for reconnect",
            "warning",
            "Salesforce needs an admin to reconnect; the push is sent once they do.",
        )
    if state == State.DEFERRED:
        return "Deferred", "warning", operation.outcome
    if state == State.FAILED:
        return f"Failed: {operation.error_message or operation.outcome}", "error", operation.outcome
    if state == State.SKIPPED:
        return operation.outcome or "Not pushed", "warning", operation.warnings
    return operation.get_state_display(), "info", operation.outcome


def register() -> None:
    """Called once from AppConfig.ready()."""
    hooks.register_destination(SalesforceRecapDestination())
