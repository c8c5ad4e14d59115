"""Support's actions on outbox rows: retry now, and replay (send a booking's current state again)."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from . import outbox
from .models import SalesforceConnection, SyncOperation

State = SyncOperation.State
RETRYABLE_STATES = (State.FAILED, State.DEFERRED, State.PENDING, State.WAITING_RECONNECT)


def operations_retry_now(*, operation_ids: Iterable[int]) -> int:
    """Make failed, deferred, pending and waiting rows due now and ask for a drain of their
    connections. Rows of a connection that is not connected wait for the reconnect instead. Other states are
    left alone. Returns how many rows were changed; idempotent."""
    now = timezone.now()
    with transaction.atomic():
        locked = SyncOperation.objects.select_for_update(of=("self",)).filter(
            pk__in=list(operation_ids), state__in=RETRYABLE_STATES
        )
        rows = list(locked.select_related("connection"))
        connected = {op.pk for op in rows if op.connection.status == SalesforceConnection.Status.CONNECTED}
        waiting = {op.pk for op in rows} - connected
        unclaimed = {"claim_token": ""}  # nosec B105  # a drain's claim id, not a password
        due_now = {"next_attempt_at": now, "finished_at": None, "updated_at": now, **unclaimed}
        SyncOperation.objects.filter(pk__in=connected).update(
            state=State.PENDING, outcome="Retry requested by support.", **due_now
        )
        SyncOperation.objects.filter(pk__in=waiting).update(
            state=State.WAITING_RECONNECT,
            outcome="Retry requested by support; waiting for an admin to reconnect Salesforce.",
            **due_now,
        )
        for connection_id in {op.connection_id for op in rows if op.pk in connected}:
            outbox.wake_up_on_commit(connection_id)
    return len(rows)


def operations_replay(*, operation_ids) -> list[SyncOperation]:
    """A new outbox row for each selected row's booking and kind: the booking's current state
    is sent again (pushes are idempotent, so a replay never duplicates an Event). Returns the
    new rows."""
    latest = {}
    for op in (
        SyncOperation.objects.filter(pk__in=list(operation_ids)).select_related("connection", "booking").order_by("id")
    ):
        latest[(op.booking_id, op.kind)] = op  # one replay per booking and kind
    with transaction.atomic():
        return [
            outbox.record_operation(connection=op.connection, booking=op.booking, kind=op.kind, trigger=op.trigger)
            for op in latest.values()
        ]
