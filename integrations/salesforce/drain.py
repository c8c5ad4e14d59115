"""One drain of a connection's outbox: lease, wait out the coalescing window, claim, push, record the
batch in one transaction, repeat until empty; then schedule the one next wake-up."""

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from workestra.logging import redact

from . import outbox
from .errors import NeedsReconnectError, RateLimitedError, SalesforceError
from .models import BookingSync, SalesforceConnection, SyncAttempt, SyncOperation
from .push import RETRY, BookingPush, Outcome
from .services import client_for, remember_usage

logger = logging.getLogger("integrations.salesforce.drain")
State = SyncOperation.State
Kind = SyncOperation.Kind


# A woken drain whose window has less than this left sleeps it off instead of queueing again.
WINDOW_SLACK_SECONDS = outbox.WAKE_MARGIN.total_seconds()


class LeaseLostError(Exception):
    """The lease passed to another drain while this one was stalled (a frozen VM, a long GC
    pause, a stopped process): it must not send or record anything more."""


class OrgChangedError(LeaseLostError):
    """An admin connected another Salesforce org while this batch was being sent: its ids
    belong to the old org and must not be written onto the (reset) syncs."""


class UnexpectedError(SalesforceError):
    """Any other exception in a batch (a bug, a database error): recorded like a retryable
    error, so it backs off, counts toward the attempts and ends `failed` with its reason."""

    kind = "unexpected"

    @classmethod
    def wrap(cls, error: BaseException) -> "UnexpectedError":
        return cls(redact(f"{type(error).__name__}: {error}")[:2000], code=type(error).__name__[:64])


def recap_handler():
    """Recap pushes live in notes.py; imported lazily so bookings work without them."""
    from .notes import recap_pusher

    return recap_pusher


def drain(connection_id: int, wake_token: str | None = None) -> int:
    """Send everything that is due for one connection. Returns how many rows were handled.
    Safe to call concurrently: only the lease holder works; the others return 0. A woken task
    passes its `wake_token` and does nothing when its wake-up was replaced."""
    token = outbox.lease_acquire(connection_id, wake_token)
    if token is None:
        return 0
    handled = 0
    # A drain gives its worker slot back after a while even under steady traffic, so one busy
    # workspace can't starve the others; _schedule_next() queues the rest behind them.
    stop_at = time.monotonic() + settings.SALESFORCE_DRAIN_MAX_SECONDS
    try:
        while time.monotonic() < stop_at:
            connection = SalesforceConnection.objects.get(pk=connection_id)
            if connection.status != SalesforceConnection.Status.CONNECTED:
                outbox.hold_open_operations(
                    connection=connection, reason="Waiting for an admin to reconnect Salesforce."
                )
                break
            if not _within_budget(connection) or not _window_closed(connection_id, first=handled == 0):
                break
            ops = outbox.claim_batch(connection, token)
            if not ops:
                break
            try:
                handled += process_batch(connection, ops, token)
            except LeaseLostError:
                logger.warning("salesforce.drain.lease_lost", extra={"connection_id": connection_id})
                break
            except Exception as error:  # process_batch records its own errors; this is its recording failing
                logger.exception(
                    "salesforce.drain.batch_crashed", extra={"connection_id": connection_id, "operations": len(ops)}
                )
                _record_crash(ops, token, error)
                break
            if not outbox.lease_renew(connection_id, token):
                break
    finally:
        outbox.lease_release(connection_id, token)
    _schedule_next(connection_id)
    return handled


def _window_closed(connection_id: int, *, first: bool) -> bool:
    """Claim once the oldest due row has waited the coalescing window. A woken task arrives
    when it closes; what a clock's blink leaves of it is slept off by the first claim rather
    than spent on another task (later claims leave rows in backoff to their own wake-up)."""
    remaining = outbox.window_remaining(connection_id)
    if remaining is None:
        return False
    if first and 0 < remaining <= WINDOW_SLACK_SECONDS:
        time.sleep(remaining)
        remaining = 0
    return remaining <= 0


def _schedule_next(connection_id: int) -> None:
    remaining = outbox.window_remaining(connection_id)
    if remaining is not None:
        outbox.wake_up(connection_id, delay=max(0.0, remaining))


def _within_budget(connection: SalesforceConnection) -> bool:
    """While deferred, wait; once the deferral ends, look at the real usage (GET /limits,
    which spends no budget) before sending again."""
    if connection.deferred_until is None:
        return True
    if connection.is_deferred:
        _defer_pending(connection)
        return False
    client = client_for(connection, enforce_budget=False)
    try:
        limits = client.limits()["DailyApiRequests"]
    except (SalesforceError, KeyError):
        _defer(connection, "Salesforce's API limits could not be read; trying again later.")
        return False
    used, total = limits["Max"] - limits["Remaining"], limits["Max"]
    SalesforceConnection.objects.filter(pk=connection.pk).update(
        api_usage_used=used, api_usage_total=total, api_usage_seen_at=timezone.now()
    )
    if total and used / total >= settings.SALESFORCE_API_LIMIT_SHARE:
        _defer(
            connection,
            f"Salesforce API usage is still at {used / total:.0%} of the daily allotment ({used:,} of {total:,}).",
        )
        return False
    SalesforceConnection.objects.filter(pk=connection.pk).update(deferred_until=None, deferred_reason="")
    connection.api_usage_used, connection.api_usage_total, connection.deferred_until = used, total, None
    return True


def _defer(connection: SalesforceConnection, reason: str) -> None:
    until = timezone.now() + timedelta(seconds=settings.SALESFORCE_DEFER_SECONDS)
    SalesforceConnection.objects.filter(pk=connection.pk).update(deferred_until=until, deferred_reason=reason)
    connection.deferred_until, connection.deferred_reason = until, reason
    _defer_pending(connection)
    logger.warning("salesforce.push.deferred", extra={"connection_id": connection.pk, "until": until.isoformat()})


def _defer_pending(connection: SalesforceConnection) -> None:
    SyncOperation.objects.filter(connection=connection, state=State.PENDING).update(
        state=State.DEFERRED,
        next_attempt_at=connection.deferred_until,
        outcome=f"Deferred for API limits until {connection.deferred_until:%Y-%m-%d %H:%M} UTC: {connection.deferred_reason}",
        updated_at=timezone.now(),
    )


def process_batch(connection: SalesforceConnection, ops: list[SyncOperation], token: str) -> int:
    """Push one claimed batch and record every row's outcome in one transaction. Raises
    LeaseLostError when another drain took the connection over (nothing is recorded then)."""
    org_id = connection.org_id
    started, clock = timezone.now(), time.monotonic()
    client = None
    try:
        client = client_for(connection)
        # Checked around every call: a drain that stalled past its lease finds another drain owns
        # the rows, and stops before sending again or acting on a stale answer.
        client.before_call = client.after_call = lambda: _keep_lease(connection.pk, token, org_id)
        outcomes, halt = _push(client, connection, ops)
    except OrgChangedError:
        outcomes, halt = {}, None
    except LeaseLostError:
        raise
    except Exception as error:  # creating the client (e.g. undecryptable tokens) or a bug
        logger.exception("salesforce.push.unexpected", extra={"connection_id": connection.pk, "operations": len(ops)})
        outcomes, halt = (
            {},
            Outcome(
                RETRY, f"Unexpected error: {UnexpectedError.wrap(error).message}", error=UnexpectedError.wrap(error)
            ),
        )
    api_calls = client.api_calls if client is not None else 0
    if client is not None:
        remember_usage(connection, client)
    if halt is not None and halt.state == State.WAITING_RECONNECT:
        reason = halt.error.message if halt.error is not None else halt.message
        SalesforceConnection.objects.filter(pk=connection.pk, status=SalesforceConnection.Status.CONNECTED).update(
            status=SalesforceConnection.Status.NEEDS_RECONNECT,
            last_error=f"Salesforce no longer accepts Workestra's access ({reason}). An admin must reconnect.",
            last_error_at=timezone.now(),
        )
    duration_ms = int((time.monotonic() - clock) * 1000)
    batch = Batch(
        token=token,
        org_id=org_id,
        started=started,
        duration_ms=duration_ms,
        size=len(ops),
        api_calls=api_calls,
        deferred_until=connection.deferred_until,
    )
    resolved = [
        (op, outcomes.get((op.kind, op.booking_id)) or halt or Outcome(RETRY, "No outcome was recorded; trying again."))
        for op in ops
    ]
    _record_batch(connection.pk, resolved, batch)
    logger.info(
        "salesforce.push.batch",
        extra={
            "connection_id": connection.pk,
            "operations": len(ops),
            "api_calls": api_calls,
            "duration_ms": duration_ms,
        },
    )
    return len(ops)


def _push(client, connection: SalesforceConnection, ops: list[SyncOperation]) -> tuple[dict, Outcome | None]:
    """Run the pushers of the batch's kinds. Returns the outcomes by (kind, booking id) and the
    outcome of every booking left without one when a pusher halted (or crashed)."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for op in ops:
        if op.booking_id not in by_kind[op.kind]:
            by_kind[op.kind].append(op.booking_id)
    outcomes: dict[tuple[str, int], Outcome] = {}
    halt: Outcome | None = None
    pushers = [(Kind.BOOKING, BookingPush)] + ([(Kind.RECAP, recap_handler())] if by_kind.get(Kind.RECAP) else [])
    for kind, pusher_class in pushers:
        if not by_kind.get(kind):
            continue
        pusher = None
        try:
            pusher = pusher_class(client, connection, by_kind[kind])
            pusher.run()
        except NeedsReconnectError as error:
            halt = Outcome(State.WAITING_RECONNECT, "Waiting for an admin to reconnect Salesforce.", error=error)
        except RateLimitedError as error:
            _defer(connection, error.message)
            halt = Outcome(State.DEFERRED, f"Deferred for API limits: {error.message}", error=error)
        except LeaseLostError:
            raise
        except Exception as error:  # a bug or a database error: recorded, retried, and given up on in the end
            logger.exception("salesforce.push.unexpected", extra={"connection_id": connection.pk, "kind": kind})
            wrapped = UnexpectedError.wrap(error)
            halt = Outcome(RETRY, f"Unexpected error: {wrapped.message}", error=wrapped)
        if pusher is not None:
            outcomes.update({(kind, booking_id): outcome for booking_id, outcome in pusher.outcomes.items()})
        if halt is not None:
            break
    return outcomes, halt


def _keep_lease(connection_id: int, token: str, org_id: str) -> None:
    if outbox.lease_renew(connection_id, token, org_id=org_id):
        return
    if SalesforceConnection.objects.filter(pk=connection_id, drain_lease_token=token).exists():
        raise OrgChangedError(f"Connection {connection_id} was connected to another Salesforce org during the batch.")
    raise LeaseLostError(f"The drain lease of connection {connection_id} passed to another drain.")


@dataclass(frozen=True)
class Batch:
    token: str
    org_id: str
    started: datetime
    duration_ms: int
    size: int
    api_calls: int
    deferred_until: datetime | None

    @property
    def share(self) -> float:
        return self.api_calls / self.size if self.size else 0.0

    def attempt(self, operation_id: int, *, result: str, error_code: str, error_message: str) -> SyncAttempt:
        """The attempt row of one of this batch's operations (not saved)."""
        return SyncAttempt(
            operation_id=operation_id,
            started_at=self.started,
            duration_ms=self.duration_ms,
            batch_size=self.size,
            batch_api_calls=self.api_calls,
            result=result,
            error_code=error_code,
            error_message=error_message,
        )


def _record_batch(connection_id: int, resolved: list[tuple[SyncOperation, Outcome]], batch: Batch) -> None:
    """One transaction for the whole batch: every row's outcome and every attempt. Under the
    connection's row lock (no-key: bookings keep inserting), so an org switch either committed
    before (then nothing of the old org is written and the batch goes to the new org) or waits."""
    with transaction.atomic():
        org_id = (
            SalesforceConnection.objects.select_for_update(no_key=True)
            .filter(pk=connection_id)
            .values_list("org_id", flat=True)
            .first()
        )
        if org_id != batch.org_id:
            _requeue_for_new_org(connection_id, [op for op, _ in resolved], batch)
            return
        ops = {op.pk: (op, outcome) for op, outcome in resolved}
        mine = set(
            SyncOperation.objects.select_for_update()
            .filter(pk__in=list(ops), claim_token=batch.token)
            .values_list("pk", flat=True)
        )
        now = timezone.now()
        changed, attempts = [], []
        for pk in sorted(mine):
            op, outcome = ops[pk]
            _apply_outcome(op, outcome, batch, now)
            changed.append(op)
            attempts.append(
                batch.attempt(op.pk, result=op.state, error_code=op.error_code, error_message=op.error_message)
            )
        _update_rows(changed)
        SyncAttempt.objects.bulk_create(attempts, batch_size=500)


def _update_rows(ops: list[SyncOperation]) -> None:
    """One UPDATE per set of identical values (a batch's rows mostly share their outcome), one
    per row otherwise. Measured faster than bulk_update's CASE expressions, which cost ~20 ms
    per row to build (bench/throughput.py), and all inside the caller's one transaction."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    values: dict[tuple, dict] = {}
    for op in ops:
        fields = {name: getattr(op, name) for name in RECORDED_FIELDS}
        key = tuple((name, repr(value)) for name, value in fields.items())
        groups[key].append(op.pk)
        values[key] = fields
    for key, pks in groups.items():
        SyncOperation.objects.filter(pk__in=pks).update(**values[key])


RECORDED_FIELDS = [
    "state",
    "attempts",
    "api_calls",
    "claim_token",
    "outcome",
    "warnings",
    "error_kind",
    "error_code",
    "error_message",
    "sf_ids",
    "next_attempt_at",
    "finished_at",
    "updated_at",
]


def _apply_outcome(op: SyncOperation, outcome: Outcome, batch: Batch, now) -> None:
    error = outcome.error
    op.attempts += 1
    op.api_calls += batch.share
    op.claim_token = ""  # nosec B105  # clears the drain's claim id, not a password
    op.outcome = outcome.message
    op.warnings = "\n".join(outcome.warnings)
    op.error_kind, op.error_code, op.error_message = (
        (error.kind, error.code[:64], error.message) if error else ("", "", "")
    )
    op.updated_at = now
    if outcome.sf_ids:
        op.sf_ids = {**op.sf_ids, **outcome.sf_ids}
    state = outcome.state
    if state == RETRY:
        if op.attempts >= settings.SALESFORCE_MAX_ATTEMPTS:
            state = State.FAILED
            op.outcome = f"Gave up after {op.attempts} attempts. Last error: {outcome.message}"
        else:
            state = State.PENDING
            op.next_attempt_at = now + timedelta(seconds=outbox.retry_delay(op.attempts))
            op.outcome = f"Will retry (attempt {op.attempts} failed): {outcome.message}"
    elif state == State.DEFERRED:
        op.next_attempt_at = batch.deferred_until or now
    if state in (State.PUSHED, State.SKIPPED, State.COALESCED, State.FAILED):
        op.finished_at = now
    op.state = state


ORG_CHANGED = (
    "The workspace was connected to another Salesforce org while this was being sent; it will be sent to the new org."
)


def _requeue_for_new_org(connection_id: int, ops: list[SyncOperation], batch: Batch) -> None:
    """The batch's answers name the old org's records: forget what it wrote onto the syncs
    (the org switch reset them; a push may have written since) and send the rows again."""
    mine = SyncOperation.objects.filter(pk__in=[op.pk for op in ops], claim_token=batch.token)
    booking_ids = list(mine.filter(kind=Kind.BOOKING).values_list("booking_id", flat=True))
    BookingSync.objects.filter(booking_id__in=booking_ids).update(
        sf_event_id="", event_state=BookingSync.EventState.NONE, create_sent_at=None, pushed_start_at=None
    )
    now = timezone.now()
    pks = list(mine.values_list("pk", flat=True))
    mine.update(state=State.PENDING, claim_token="", next_attempt_at=now, outcome=ORG_CHANGED, updated_at=now)  # nosec B106
    SyncAttempt.objects.bulk_create(
        batch.attempt(pk, result=State.PENDING, error_code="ORG_CHANGED", error_message=ORG_CHANGED) for pk in pks
    )
    logger.warning("salesforce.push.org_changed", extra={"connection_id": connection_id, "operations": len(pks)})


def _record_crash(ops: list[SyncOperation], token: str, error: BaseException) -> None:
    """Recording the batch itself failed: record the failure, best effort, in a fresh
    transaction; if even that fails the rows stay claimed and the sweep revives them, which
    counts an attempt too."""
    wrapped = UnexpectedError.wrap(error)
    batch = Batch(
        token=token, org_id="", started=timezone.now(), duration_ms=0, size=len(ops), api_calls=0, deferred_until=None
    )
    try:
        with transaction.atomic():
            mine = set(
                SyncOperation.objects.filter(pk__in=[op.pk for op in ops], claim_token=token).values_list(
                    "pk", flat=True
                )
            )
            changed = []
            for op in ops:
                if op.pk in mine:
                    op.refresh_from_db()
                    _apply_outcome(
                        op, Outcome(RETRY, f"Unexpected error: {wrapped.message}", error=wrapped), batch, timezone.now()
                    )
                    changed.append(op)
            _update_rows(changed)
            SyncAttempt.objects.bulk_create(
                batch.attempt(op.pk, result=op.state, error_code=op.error_code, error_message=op.error_message)
                for op in changed
            )
    except Exception:
        logger.exception("salesforce.drain.crash_not_recorded", extra={"operations": len(ops)})
