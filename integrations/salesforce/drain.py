"""One drain of a connection's outbox: lease, claim, push, record, repeat until empty."""
import logging
import time
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from . import outbox
from .errors import NeedsReconnectError, RateLimitedError, SalesforceError
from .models import SalesforceConnection, SyncAttempt, SyncOperation
from .push import RETRY, BookingPush, Outcome
from .services import client_for, remember_usage

logger = logging.getLogger("integrations.salesforce.drain")
State = SyncOperation.State
Kind = SyncOperation.Kind


class LeaseLostError(Exception):
    """The lease passed to another drain while this one was stalled (a frozen VM, a long GC
    pause, a stopped process): it must not send or record anything more."""


def recap_handler():
    """Recap pushes live in notes.py; imported lazily so bookings work without them."""
    from .notes import recap_pusher

    return recap_pusher


def drain(connection_id: int) -> int:
    """Send everything that is due for one connection. Returns how many rows were handled.
    Safe to call concurrently: only the lease holder works; the others return 0."""
    token = outbox.lease_acquire(connection_id)
    if token is None:
        return 0
    handled = 0
    # A drain gives its worker slot back after a while even under steady traffic, so one busy
    # workspace can't starve the others; _schedule_next() queues the rest.
    stop_at = time.monotonic() + settings.SALESFORCE_DRAIN_MAX_SECONDS
    try:
        while time.monotonic() < stop_at:
            connection = SalesforceConnection.objects.get(pk=connection_id)
            if connection.status != SalesforceConnection.Status.CONNECTED:
                outbox.hold_open_operations(connection=connection, reason="Waiting for an admin to reconnect Salesforce.")
                break
            if not _within_budget(connection):
                break
            ops = outbox.claim_batch(connection, token)
            if not ops:
                break
            try:
                handled += process_batch(connection, ops, token)
            except LeaseLostError:
                logger.warning("salesforce.drain.lease_lost", extra={"connection_id": connection_id})
                break
            if not outbox.lease_renew(connection_id, token):
                break
    finally:
        outbox.lease_release(connection_id, token)
    _schedule_next(connection_id)
    return handled


def _schedule_next(connection_id: int) -> None:
    if outbox.has_due_work(connection_id):
        outbox.enqueue_drain(connection_id)
    elif (due := outbox.next_due_at(connection_id)) is not None:
        outbox.enqueue_drain(connection_id, countdown=(due - timezone.now()).total_seconds())


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
        _defer(connection, f"Salesforce API usage is still at {used / total:.0%} of the daily allotment ({used:,} of {total:,}).")
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
    client = client_for(connection)
    # Checked around every call: a drain that stalled past its lease finds another drain owns
    # the rows, and stops before sending again or acting on a stale answer.
    client.before_call = client.after_call = lambda: _keep_lease(connection.pk, token)
    started, clock = timezone.now(), time.monotonic()
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
        pusher = pusher_class(client, connection, by_kind[kind])
        try:
            pusher.run()
        except NeedsReconnectError as error:
            halt = Outcome(State.WAITING_RECONNECT, "Waiting for an admin to reconnect Salesforce.", error=error)
        except RateLimitedError as error:
            _defer(connection, error.message)
            halt = Outcome(State.DEFERRED, f"Deferred for API limits: {error.message}", error=error)
        outcomes.update({(kind, booking_id): outcome for booking_id, outcome in pusher.outcomes.items()})
        if halt is not None:
            break
    remember_usage(connection, client)
    if halt is not None and halt.state == State.WAITING_RECONNECT:
        SalesforceConnection.objects.filter(pk=connection.pk, status=SalesforceConnection.Status.CONNECTED).update(
            status=SalesforceConnection.Status.NEEDS_RECONNECT,
            last_error=f"Salesforce no longer accepts Workestra's access ({halt.error.message}). An admin must reconnect.",
            last_error_at=timezone.now(),
        )
    duration_ms = int((time.monotonic() - clock) * 1000)
    share = client.api_calls / len(ops)
    for op in ops:
        outcome = outcomes.get((op.kind, op.booking_id)) or halt or Outcome(RETRY, "No outcome was recorded; trying again.")
        _record(op, outcome, token=token, started=started, duration_ms=duration_ms, batch=(len(ops), client.api_calls), share=share, deferred_until=connection.deferred_until)
    logger.info(
        "salesforce.push.batch",
        extra={"connection_id": connection.pk, "operations": len(ops), "api_calls": client.api_calls, "duration_ms": duration_ms},
    )
    return len(ops)


def _keep_lease(connection_id: int, token: str) -> None:
    if not outbox.lease_renew(connection_id, token):
        raise LeaseLostError(f"The drain lease of connection {connection_id} passed to another drain.")


def _record(op, outcome: Outcome, *, token, started, duration_ms, batch, share, deferred_until) -> None:
    attempts = op.attempts + 1
    error = outcome.error
    fields = {
        "attempts": attempts,
        "api_calls": op.api_calls + share,
        "claim_token": "",  # nosec B105  # clears the drain's claim id, not a password
        "outcome": outcome.message,
        "warnings": "\n".join(outcome.warnings),
        "error_kind": error.kind if error else "",
        "error_code": error.code if error else "",
        "error_message": error.message if error else "",
        "updated_at": timezone.now(),
    }
    state = outcome.state
    if outcome.sf_ids:
        fields["sf_ids"] = {**op.sf_ids, **outcome.sf_ids}
    if state == RETRY:
        if attempts >= settings.SALESFORCE_MAX_ATTEMPTS:
            state = State.FAILED
            fields["outcome"] = f"Gave up after {attempts} attempts. Last error: {outcome.message}"
        else:
            state = State.PENDING
            fields["next_attempt_at"] = timezone.now() + timedelta(seconds=outbox.retry_delay(attempts))
            fields["outcome"] = f"Will retry (attempt {attempts} failed): {outcome.message}"
    elif state == State.DEFERRED:
        fields["next_attempt_at"] = deferred_until or timezone.now()
    if state in (State.PUSHED, State.SKIPPED, State.COALESCED, State.FAILED):
        fields["finished_at"] = timezone.now()
    fields["state"] = state
    SyncOperation.objects.filter(pk=op.pk, claim_token=token).update(**fields)
    SyncAttempt.objects.create(
        operation=op,
        started_at=started,
        duration_ms=duration_ms,
        batch_size=batch[0],
        batch_api_calls=batch[1],
        result=state,
        error_code=fields["error_code"],
        error_message=fields["error_message"],
    )
