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
from django.db.models import F, Min, Q
from django.utils import timezone

from .models import BookingSync, SalesforceConnection, SyncOperation

logger = logging.getLogger("integrations.salesforce.outbox")
State = SyncOperation.State
ACTIVE_STATUSES = (SalesforceConnection.Status.CONNECTED, SalesforceConnection.Status.NEEDS_RECONNECT)
# Salesforce's own limits decide this: push sends a claim's lookups in one /composite and its
# writes as up to five Collections of 200 in one /composite.
MAX_BOOKINGS_PER_BATCH = 1000
# Countdowns stay below the broker's visibility timeout (3,600 s), or Redis redelivers them.
MAX_WAKE_DELAY_SECONDS = 600.0
# A scheduled wake-up is only replaced by one needed this much earlier: a woken drain sleeps off
# a margin this small (drain.WINDOW_SLACK_SECONDS) instead of costing a second task.
WAKE_MARGIN = timedelta(seconds=0.25)
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
        wake_up_on_commit(connection.pk)
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
    connection = (
        SalesforceConnection.objects.filter(workspace_id=booking.workspace_id, status__in=ACTIVE_STATUSES)
        .defer(*TOKEN_COLUMNS)
        .first()
    )
    if connection is None or not connection.pushes_notes:
        return None
    return record_operation(
        connection=connection, booking=booking, kind=SyncOperation.Kind.RECAP, trigger=SyncOperation.Trigger.RECAP
    )


# ---- waking a drain: at most one queued task per connection ----------------------------------
class _WakeOnCommit:
    """An on_commit callback that knows its connection, so a transaction that writes many rows
    of one connection registers one wake-up, not one per row."""

    def __init__(self, connection_id: int):
        self.connection_id = connection_id
        self.ran = False
        self.__qualname__ = f"wake_up({connection_id})"  # Django names failed callbacks by it

    def __call__(self) -> None:
        self.ran = True
        wake_up(self.connection_id, delay=settings.SALESFORCE_COALESCE_SECONDS)


def wake_up_on_commit(connection_id: int) -> None:
    """Ask for a drain of `connection_id` once the surrounding transaction commits (at once
    outside one). Idempotent within a transaction."""
    db = transaction.get_connection()
    pending = getattr(db, "run_on_commit", None) or []
    if any(
        isinstance(func, _WakeOnCommit) and func.connection_id == connection_id and not func.ran
        for _, func, _ in pending
    ):
        return
    transaction.on_commit(_WakeOnCommit(connection_id), robust=True)


def wake_up(connection_id: int, *, delay: float = 0) -> bool:
    """Make sure a drain of the connection is scheduled within `delay` seconds, enqueueing a
    task only when none is: not while a drain holds the lease (it re-checks when it lets go),
    not while a wake-up is already scheduled at or before that time (a later one, a backoff's,
    is replaced; the replaced task finds its token gone and does nothing), and again once a
    scheduled one is older than SALESFORCE_DRAIN_WAKE_TTL_SECONDS (its task was lost).

    Returns True when a drain is (now) scheduled or running. False when the broker refused
    the task: the row stays pending and the sweep enqueues it later. Never raises."""
    now = timezone.now()
    at = now + timedelta(seconds=max(0.0, min(delay, MAX_WAKE_DELAY_SECONDS)))
    token = uuid.uuid4().hex
    lease_free = Q(drain_lease_until__isnull=True) | Q(drain_lease_until__lt=now)
    replaceable = (
        Q(drain_wake_at__isnull=True) | Q(drain_wake_at__lt=now - _wake_ttl()) | Q(drain_wake_at__gt=at + WAKE_MARGIN)
    )
    try:
        scheduled = SalesforceConnection.objects.filter(
            lease_free, replaceable, pk=connection_id, status=SalesforceConnection.Status.CONNECTED
        ).update(drain_wake_token=token, drain_wake_at=at)
    except Exception:  # the web process must never fail a booking over a wake-up; the sweep recovers
        logger.warning("salesforce.outbox.wake_failed", extra={"connection_id": connection_id}, exc_info=True)
        return False
    if not scheduled:
        return True
    if enqueue_drain(connection_id, countdown=(at - now).total_seconds(), wake_token=token):
        return True
    # Not queued: forget the wake-up so the next commit (or the sweep) tries again at once.
    SalesforceConnection.objects.filter(pk=connection_id, drain_wake_token=token).update(
        drain_wake_token="",
        drain_wake_at=None,  # nosec B106  # a wake-up id, not a password
    )
    return False


def enqueue_drain(connection_id: int, countdown: float = 0, wake_token: str = "") -> bool:  # nosec B107  # a wake-up id
    """Put a drain task on the broker. Callers go through wake_up(), which keeps it to one
    task per connection. False when the broker is unreachable."""
    from .tasks import drain_connection

    try:
        drain_connection.apply_async(
            args=(connection_id, wake_token), countdown=max(0, min(countdown, MAX_WAKE_DELAY_SECONDS))
        )
        return True
    except Exception:  # kombu raises transport-specific errors; any of them means "not enqueued"
        logger.warning("salesforce.outbox.enqueue_failed", extra={"connection_id": connection_id}, exc_info=True)
        return False


def _wake_ttl() -> timedelta:
    return timedelta(seconds=settings.SALESFORCE_DRAIN_WAKE_TTL_SECONDS)


# ---- the drain lease ----------------------------------------------------------------------
def lease_acquire(connection_id: int, wake_token: str | None = None) -> str | None:
    """Take the connection's drain lease; None when another drain holds it. With a
    `wake_token` (a woken task), only while that wake-up is still the scheduled one, and the
    wake-up is cleared in the same statement, so commits from now on schedule the next."""
    token = uuid.uuid4().hex
    now = timezone.now()
    rows = SalesforceConnection.objects.filter(pk=connection_id).filter(
        Q(drain_lease_until__isnull=True) | Q(drain_lease_until__lt=now)
    )
    fields = {"drain_lease_token": token, "drain_lease_until": now + _lease_ttl()}
    if wake_token is not None:
        rows = rows.filter(drain_wake_token=wake_token)
        fields.update(drain_wake_token="", drain_wake_at=None)  # nosec B106  # a wake-up id, not a password
    return token if rows.update(**fields) else None


def lease_renew(connection_id: int, token: str, *, org_id: str | None = None) -> bool:
    """Extend the lease; False when it passed to another drain (or, with `org_id`, when the
    connection now points at another org)."""
    rows = SalesforceConnection.objects.filter(pk=connection_id, drain_lease_token=token)
    if org_id is not None:
        rows = rows.filter(org_id=org_id)
    return bool(rows.update(drain_lease_until=timezone.now() + _lease_ttl()))


def lease_release(connection_id: int, token: str) -> None:
    SalesforceConnection.objects.filter(pk=connection_id, drain_lease_token=token).update(
        drain_lease_token="",
        drain_lease_until=None,  # nosec B106  # releases the drain lease id, not a password
    )
    # A wake-up that came due while this drain ran found the lease taken and did nothing:
    # forget it, so that the next wake_up() schedules a real one.
    SalesforceConnection.objects.filter(pk=connection_id, drain_wake_at__lte=timezone.now()).update(
        drain_wake_token="",
        drain_wake_at=None,  # nosec B106  # a wake-up id, not a password
    )


def _lease_ttl() -> timedelta:
    return timedelta(seconds=settings.SALESFORCE_DRAIN_LEASE_SECONDS)


# ---- claiming -----------------------------------------------------------------------------
def claim_batch(
    connection: SalesforceConnection, token: str, limit: int = MAX_BOOKINGS_PER_BATCH
) -> list[SyncOperation]:
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
        # A booking whose last batch crashed is retried on its own, so one poisoned booking
        # (a bug its data triggers) can't take every booking of its batches down with it.
        suspects = set(
            SyncOperation.objects.filter(
                connection=connection, state=State.PENDING, booking_id__in=booking_ids, error_kind="unexpected"
            ).values_list("booking_id", flat=True)
        )
        if suspects:
            booking_ids = [next(b for b in booking_ids if b in suspects)]
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


def window_remaining(connection_id: int) -> float | None:
    """Seconds until the connection's oldest pending row should be claimed (<= 0: now), or
    None when nothing is pending. A row waits SALESFORCE_COALESCE_SECONDS after it came due, so
    the bookings that commit close together share one lookup and one write."""
    oldest = SyncOperation.objects.filter(connection_id=connection_id, state=State.PENDING).aggregate(
        at=Min("next_attempt_at")
    )["at"]
    if oldest is None:
        return None
    return (oldest - timezone.now()).total_seconds() + settings.SALESFORCE_COALESCE_SECONDS


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter, always below the broker's visibility timeout."""
    ceiling = min(
        settings.SALESFORCE_RETRY_MAX_SECONDS, settings.SALESFORCE_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    )
    return random.uniform(ceiling / 2, ceiling)  # nosec B311  # retry jitter, not security-sensitive  # noqa: S311


# ---- moving rows between states ------------------------------------------------------------
def hold_open_operations(*, connection: SalesforceConnection, reason: str) -> int:
    """Rows that can't be sent until an admin reconnects wait; none is dropped."""
    # Only while the connection really can't send: a reconnect that committed in between has
    # already resumed these rows, and they must not go back to waiting.
    return (
        SyncOperation.objects.filter(
            connection=connection,
            connection__status__in=(
                SalesforceConnection.Status.NEEDS_RECONNECT,
                SalesforceConnection.Status.DISCONNECTED,
            ),
            state__in=(State.PENDING, State.DEFERRED, State.IN_PROGRESS),
        )
        .exclude(state=State.IN_PROGRESS, claimed_at__gt=timezone.now() - _lease_ttl())
        .update(state=State.WAITING_RECONNECT, outcome=reason, updated_at=timezone.now())
    )


def resume_waiting(*, connection: SalesforceConnection) -> int:
    """After a reconnect: every waiting row is sent once, in order."""
    with transaction.atomic():
        count = SyncOperation.objects.filter(connection=connection, state=State.WAITING_RECONNECT).update(
            state=State.PENDING,
            next_attempt_at=timezone.now(),
            outcome="Replaying after reconnect.",
            updated_at=timezone.now(),
        )
        if count:
            wake_up_on_commit(connection.pk)
    logger.info("salesforce.outbox.resumed", extra={"connection_id": connection.pk, "operations": count})
    return count


def sweep() -> int:
    """Recover what a lost task, a dead worker or a missed reconnect left behind, and wake the
    connections that have due rows but no drain scheduled or running (or only a wake-up older
    than SALESFORCE_DRAIN_WAKE_TTL_SECONDS, whose task was lost). Returns how many connections
    it woke. Idempotent."""
    now = timezone.now()
    expired_lease = Q(connection__drain_lease_until__isnull=True) | Q(connection__drain_lease_until__lt=now)
    revived = _revive_stranded(SyncOperation.objects.filter(expired_lease, state=State.IN_PROGRESS), now)
    SyncOperation.objects.filter(state=State.DEFERRED, next_attempt_at__lte=now).update(
        state=State.PENDING, updated_at=now
    )
    # A reconnect that committed while a drain was putting rows on hold leaves them waiting
    # on a connection that is connected again: they go back to pending.
    resumed = SyncOperation.objects.filter(
        state=State.WAITING_RECONNECT, connection__status=SalesforceConnection.Status.CONNECTED
    ).update(
        state=State.PENDING, next_attempt_at=now, outcome="Replaying: Salesforce is connected again.", updated_at=now
    )
    no_wake_up = Q(connection__drain_wake_at__isnull=True) | Q(connection__drain_wake_at__lt=now - _wake_ttl())
    # Only rows whose coalescing window has closed: a row that just committed gets its own
    # wake-up from the commit, and waking it early would be a task that finds nothing to claim.
    window_closed = now - timedelta(seconds=settings.SALESFORCE_COALESCE_SECONDS)
    connection_ids = set(
        SyncOperation.objects.filter(
            state=State.PENDING,
            next_attempt_at__lte=window_closed,
            connection__status=SalesforceConnection.Status.CONNECTED,
        )
        .filter(expired_lease, no_wake_up)
        .values_list("connection_id", flat=True)
        .distinct()
    )
    for connection_id in sorted(connection_ids):
        wake_up(connection_id)
    if revived or resumed or connection_ids:
        logger.info(
            "salesforce.outbox.swept",
            extra={"revived": revived, "resumed": resumed, "connections": len(connection_ids)},
        )
    return len(connection_ids)


def _revive_stranded(stranded, now) -> int:
    """Rows whose drain died mid-batch go back to pending, and that counts as an attempt: a
    batch that takes its worker down every time ends `failed` instead of coming back forever."""
    from .models import SyncAttempt

    rows = list(stranded.values_list("pk", "attempts"))
    if not rows:
        return 0
    message = "The worker sending this stopped before recording an outcome (killed, or lost its database connection)."
    give_up = [pk for pk, attempts in rows if attempts + 1 >= settings.SALESFORCE_MAX_ATTEMPTS]
    lost = {"error_kind": "unexpected", "error_code": "WORKER_LOST", "error_message": message, "updated_at": now}
    unclaimed = {"claim_token": ""}  # nosec B105  # a drain's claim id, not a password
    with transaction.atomic():
        SyncOperation.objects.filter(pk__in=give_up, state=State.IN_PROGRESS).update(
            state=State.FAILED,
            attempts=F("attempts") + 1,
            finished_at=now,
            outcome=f"Gave up after {settings.SALESFORCE_MAX_ATTEMPTS} attempts. Last error: {message}",
            **lost,
            **unclaimed,
        )
        retry = [pk for pk, _ in rows if pk not in set(give_up)]
        SyncOperation.objects.filter(pk__in=retry, state=State.IN_PROGRESS).update(
            state=State.PENDING,
            attempts=F("attempts") + 1,
            outcome=f"Trying again: {message}",
            **lost,
            **unclaimed,
        )
        SyncAttempt.objects.bulk_create(
            SyncAttempt(
                operation_id=pk,
                started_at=now,
                result=State.FAILED if pk in give_up else State.PENDING,
                error_code="WORKER_LOST",
                error_message=message,
            )
            for pk, _ in rows
        )
    return len(rows)


FINISHED_STATES = (State.PUSHED, State.SKIPPED, State.COALESCED, State.FAILED)


def prune(*, older_than_days: float | None = None, chunk: int = 5000) -> int:
    """Delete finished rows (and their attempts) that finished more than
    SALESFORCE_OUTBOX_RETENTION_DAYS ago, a chunk at a time so no statement holds locks for
    long. Open rows are never deleted. Returns how many rows went; idempotent."""
    from .models import SyncAttempt

    days = settings.SALESFORCE_OUTBOX_RETENTION_DAYS if older_than_days is None else older_than_days
    finished = SyncOperation.objects.filter(
        finished_at__lt=timezone.now() - timedelta(days=days), state__in=FINISHED_STATES
    )
    deleted = 0
    while ids := list(finished.order_by().values_list("pk", flat=True)[:chunk]):
        with transaction.atomic():
            SyncAttempt.objects.filter(operation_id__in=ids).delete()
            SyncOperation.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    if deleted:
        logger.info("salesforce.outbox.pruned", extra={"operations": deleted, "older_than_days": days})
    return deleted
