"""The sync outbox: rows written with the change, claimed by one drain per connection.

Invariants:
- a row is written in the same transaction as the booking/recap change it describes;
- only the holder of a connection's lease sends that connection's rows, so the operations
  of one booking are applied in order (a cancel can't overtake the create in flight);
- the lease expires when its worker dies, and the sweep hands the rows to a new drain.
"""
import logging
import random
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from .models import BookingSync, SalesforceConnection, SyncOperation

logger = logging.getLogger("integrations.salesforce.outbox")
State = SyncOperation.State
ACTIVE_STATUSES = (SalesforceConnection.Status.CONNECTED, SalesforceConnection.Status.NEEDS_RECONNECT)
MAX_BOOKINGS_PER_BATCH = 200
# Writing an outbox row never needs the tokens: not loading them keeps the booking POST from
# decrypting anything (and from failing when the keys changed).
TOKEN_COLUMNS = ("access_token", "refresh_token")


# ---- writing rows -------------------------------------------------------------------------
def record_operation(*, connection: SalesforceConnection, booking, kind: str, trigger: str) -> SyncOperation:
    """Write one outbox row and enqueue a drain once the surrounding transaction commits."""
    waiting = connection.status != SalesforceConnection.Status.CONNECTED
    reason = (
        "Salesforce is disconnected; this waits for a reconnect."
        if connection.status == SalesforceConnection.Status.DISCONNECTED
        else "Waiting for an admin to reconnect Salesforce."
    )
    op = SyncOperation.objects.create(
        workspace_id=booking.workspace_id,
        connection=connection,
        booking=booking,
        kind=kind,
        trigger=trigger,
        state=State.WAITING_RECONNECT if waiting else State.PENDING,
        outcome=reason if waiting else "",
    )
    if not waiting:
        transaction.on_commit(lambda: enqueue_drain_unless_draining(connection.pk), robust=True)
    return op


def booking_changed(*, booking, trigger: str) -> SyncOperation | None:
    """The one place that decides whether a booking change goes to Salesforce.

    A new booking is pushed when its workspace has a connection and its link's toggle is on;
    that decision is recorded as a BookingSync row, and every later change of a booking that
    has one is pushed whatever the toggle says now. Call inside the change's transaction.
    """
    from .selectors import link_push_enabled

    connection = SalesforceConnection.objects.filter(workspace_id=booking.workspace_id).defer(*TOKEN_COLUMNS).first()
    if connection is None:
        return None
    sync = BookingSync.objects.filter(booking=booking).first()
    if sync is None:
        # New bookings go to Salesforce only while it is connected (or merely needs a reconnect);
        # `push_existing_bookings` sends the rest after a connect.
        if connection.status not in ACTIVE_STATUSES:
            return None
        if trigger not in (SyncOperation.Trigger.CONFIRMED, SyncOperation.Trigger.BACKFILL):
            return None
        if not link_push_enabled(booking.link):
            return None
        BookingSync.objects.create(booking=booking, workspace_id=booking.workspace_id)
    # A booking already chosen for Salesforce keeps its Event in step: while disconnected its
    # changes wait for the reconnect instead of being lost.
    return record_operation(connection=connection, booking=booking, kind=SyncOperation.Kind.BOOKING, trigger=trigger)


def recap_changed(*, booking) -> SyncOperation | None:
    """A recap to push as Notes (scope Events + Notes only). Call inside the recap's transaction."""
    connection = SalesforceConnection.objects.filter(workspace_id=booking.workspace_id, status__in=ACTIVE_STATUSES).defer(*TOKEN_COLUMNS).first()
    if connection is None or not connection.pushes_notes:
        return None
    return record_operation(connection=connection, booking=booking, kind=SyncOperation.Kind.RECAP, trigger=SyncOperation.Trigger.RECAP)


def enqueue_drain(connection_id: int, countdown: float = 0) -> bool:
    """Ask a worker to drain. False when the broker is unreachable: the row stays pending and
    the periodic sweep enqueues it later, so nothing is lost."""
    from .tasks import drain_connection

    try:
        drain_connection.apply_async(args=[connection_id], countdown=max(0, min(countdown, settings.SALESFORCE_RETRY_MAX_SECONDS)))
        return True
    except Exception:  # kombu raises transport-specific errors; any of them means "not enqueued"
        logger.warning("salesforce.outbox.enqueue_failed", extra={"connection_id": connection_id}, exc_info=True)
        return False


def enqueue_drain_unless_draining(connection_id: int) -> bool:
    """While a drain holds the lease it picks new rows up itself (and re-checks after it lets
    go), so a task per booking change would only find nothing to do."""
    draining = SalesforceConnection.objects.filter(pk=connection_id, drain_lease_until__gt=timezone.now()).exists()
    return True if draining else enqueue_drain(connection_id)


# ---- the drain lease ----------------------------------------------------------------------
def lease_acquire(connection_id: int) -> str | None:
    token = uuid.uuid4().hex
    now = timezone.now()
    taken = (
        SalesforceConnection.objects.filter(pk=connection_id)
        .filter(Q(drain_lease_until__isnull=True) | Q(drain_lease_until__lt=now))
        .update(drain_lease_token=token, drain_lease_until=now + _lease_ttl())
    )
    return token if taken else None


def lease_renew(connection_id: int, token: str) -> bool:
    return bool(
        SalesforceConnection.objects.filter(pk=connection_id, drain_lease_token=token).update(
            drain_lease_until=timezone.now() + _lease_ttl()
        )
    )


def lease_release(connection_id: int, token: str) -> None:
    SalesforceConnection.objects.filter(pk=connection_id, drain_lease_token=token).update(
        drain_lease_token="", drain_lease_until=None  # nosec B106  # releases the drain lease id, not a password
    )


def _lease_ttl() -> timedelta:
    return timedelta(seconds=settings.SALESFORCE_DRAIN_LEASE_SECONDS)


# ---- claiming -----------------------------------------------------------------------------
def claim_batch(connection: SalesforceConnection, token: str, limit: int = MAX_BOOKINGS_PER_BATCH) -> list[SyncOperation]:
    """Claim the pending rows of up to `limit` bookings that have a row due. All pending rows
    of a claimed booking come along, so they are coalesced into one outcome."""
    now = timezone.now()
    with transaction.atomic():
        due = (
            SyncOperation.objects.select_for_update(skip_locked=True)
            .filter(connection=connection, state=State.PENDING, next_attempt_at__lte=now)
            .order_by("id")
            .values_list("booking_id", flat=True)[: limit * 5]
        )
        booking_ids = list(dict.fromkeys(due))[:limit]
        if not booking_ids:
            return []
        ops = list(
            SyncOperation.objects.select_for_update(skip_locked=True)
            .filter(connection=connection, state=State.PENDING, booking_id__in=booking_ids)
            .order_by("id")
        )
        SyncOperation.objects.filter(pk__in=[op.pk for op in ops]).update(
            state=State.IN_PROGRESS, claim_token=token, claimed_at=now
        )
    for op in ops:
        op.state, op.claim_token, op.claimed_at = State.IN_PROGRESS, token, now
    return ops


def has_due_work(connection_id: int) -> bool:
    return SyncOperation.objects.filter(
        connection_id=connection_id, state=State.PENDING, next_attempt_at__lte=timezone.now()
    ).exists()


def next_due_at(connection_id: int):
    return SyncOperation.objects.filter(connection_id=connection_id, state=State.PENDING).aggregate(
        at=Min("next_attempt_at")
    )["at"]


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter, always below the broker's visibility timeout."""
    ceiling = min(settings.SALESFORCE_RETRY_MAX_SECONDS, settings.SALESFORCE_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling / 2, ceiling)  # nosec B311  # retry jitter, not security-sensitive


# ---- moving rows between states ------------------------------------------------------------
def hold_open_operations(*, connection: SalesforceConnection, reason: str) -> int:
    """Rows that can't be sent until an admin reconnects wait; none is dropped."""
    # Only while the connection really can't send: a reconnect that committed in between has
    # already resumed these rows, and they must not go back to waiting.
    return SyncOperation.objects.filter(
        connection=connection,
        connection__status__in=(SalesforceConnection.Status.NEEDS_RECONNECT, SalesforceConnection.Status.DISCONNECTED),
        state__in=(State.PENDING, State.DEFERRED, State.IN_PROGRESS),
    ).exclude(state=State.IN_PROGRESS, claimed_at__gt=timezone.now() - _lease_ttl()).update(
        state=State.WAITING_RECONNECT, outcome=reason, updated_at=timezone.now()
    )


def resume_waiting(*, connection: SalesforceConnection) -> int:
    """After a reconnect: every waiting row is sent once, in order."""
    with transaction.atomic():
        count = SyncOperation.objects.filter(connection=connection, state=State.WAITING_RECONNECT).update(
            state=State.PENDING, next_attempt_at=timezone.now(), outcome="Replaying after reconnect.", updated_at=timezone.now()
        )
        if count:
            transaction.on_commit(lambda: enqueue_drain(connection.pk), robust=True)
    logger.info("salesforce.outbox.resumed", extra={"connection_id": connection.pk, "operations": count})
    return count


def sweep() -> int:
    """Re-enqueue work whose task was lost (broker down, worker killed). Returns how many
    connections were handed to a drain."""
    now = timezone.now()
    expired_lease = Q(connection__drain_lease_until__isnull=True) | Q(connection__drain_lease_until__lt=now)
    stranded = SyncOperation.objects.filter(expired_lease, state=State.IN_PROGRESS)
    revived = stranded.update(state=State.PENDING, claim_token="", updated_at=now)  # nosec B106  # clears the drain's claim id, not a password
    SyncOperation.objects.filter(state=State.DEFERRED, next_attempt_at__lte=now).update(state=State.PENDING, updated_at=now)
    connection_ids = set(
        SyncOperation.objects.filter(state=State.PENDING, next_attempt_at__lte=now, connection__status=SalesforceConnection.Status.CONNECTED)
        .filter(expired_lease)
        .values_list("connection_id", flat=True)
        .distinct()
    )
    for connection_id in connection_ids:
        enqueue_drain(connection_id)
    if revived or connection_ids:
        logger.info("salesforce.outbox.swept", extra={"revived": revived, "connections": len(connection_ids)})
    return len(connection_ids)
