"""Reads: a booking's recap, whether it can be pushed, and how its last push went."""
from dataclasses import dataclass, field

from integrations.salesforce.models import SalesforceConnection, SyncOperation
from integrations.salesforce.selectors import connection_for_workspace, latest_operations

from .models import Recap, RecapNoteLink
from .webhook import ActionItemData

State = SyncOperation.State
EVENTS_ONLY_REASON = "Your workspace pushes Events only; an admin can switch to Events + Notes in Salesforce settings."
NOT_CONNECTED_REASON = "Salesforce is not connected for this workspace; an admin can connect it in Salesforce settings."
NEEDS_RECONNECT_NOTICE = "Salesforce needs an admin to reconnect; a push waits until then and is sent once."


def recap_for_booking(booking) -> Recap | None:
    return Recap.objects.filter(booking=booking).prefetch_related("action_items", "note_links").first()


def action_item_data(recap: Recap) -> list[ActionItemData]:
    return [ActionItemData(i.text, i.assignee, i.due_date) for i in recap.action_items.all()]


@dataclass(frozen=True)
class PushAvailability:
    allowed: bool
    reason: str = ""  # why not, or (allowed) what will happen instead of an immediate push
    connection: SalesforceConnection | None = None


def push_availability(workspace) -> PushAvailability:
    connection = connection_for_workspace(workspace)
    if connection is None or connection.status == SalesforceConnection.Status.DISCONNECTED:
        return PushAvailability(False, NOT_CONNECTED_REASON, connection)
    if not connection.pushes_notes:
        return PushAvailability(False, EVENTS_ONLY_REASON, connection)
    if connection.needs_reconnect:
        return PushAvailability(True, NEEDS_RECONNECT_NOTICE, connection)
    return PushAvailability(True, "", connection)


@dataclass(frozen=True)
class PushStatus:
    state: str  # "" (never pushed) or a SyncOperation.State
    label: str
    level: str  # "ok" | "info" | "warning" | "error"
    detail: str = ""
    notes: list[RecapNoteLink] = field(default_factory=list)
    edited_since: bool = False


def push_status(recap: Recap, *, org_id: str) -> PushStatus:
    """The recap's Salesforce state, from the latest RECAP operation of its booking, and its
    Notes in the workspace's current org (`org_id`)."""
    operation = latest_operations([recap.booking], kind=SyncOperation.Kind.RECAP).get(recap.booking_id)
    notes = [link for link in recap.note_links.all() if link.note_id and link.org_id == org_id]
    if operation is None:
        return PushStatus("", "Not pushed yet", "info", notes=notes)
    edited_since = recap.content_changed_at > operation.created_at
    label, level, detail = _describe(operation)
    return PushStatus(operation.state, label, level, detail, notes, edited_since)


def _describe(operation: SyncOperation) -> tuple[str, str, str]:
    state = operation.state
    if state == State.PUSHED:
        return "Pushed", "ok", operation.outcome
    if state in (State.PENDING, State.IN_PROGRESS):
        return "Pending", "info", operation.outcome if operation.attempts else ""
    if state == State.WAITING_RECONNECT:
        return "Waiting for reconnect", "warning", "Salesforce needs an admin to reconnect; the push is sent once they do."
    if state == State.DEFERRED:
        return "Deferred", "warning", operation.outcome
    if state == State.FAILED:
        return f"Failed: {operation.error_message or operation.outcome}", "error", operation.outcome
    if state == State.SKIPPED:
        return operation.outcome or "Not pushed", "warning", operation.warnings
    return operation.get_state_display(), "info", operation.outcome
