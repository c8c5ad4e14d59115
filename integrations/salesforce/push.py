"""Bookings → Salesforce Events, for one claimed batch, in as few API calls as possible.

The outbox rows only say "this booking changed"; what to send is derived from the booking as
it is now and its BookingSync (the Event we know of). That makes every push idempotent and
coalesces a booking's rows: created then cancelled before anything was sent → nothing to send.

API calls for a batch, whatever its size up to ~3,000 invitee emails and 1,000 writes:
one /composite of reads (the reconcile query after an unknown outcome, and the invitee lookups
of every booking that needs an Event) and one /composite of writes (updates, closes, deletes
and creates as up to five sObject Collections of 200). Past Salesforce's limits a call splits
into more subrequests first, then into more calls. Only an Event deleted in Salesforce (one
more lookup and create) or an inactive owner (one more create) costs more.

After each call its results are written in one transaction before the next call is sent, so
an Event id is durable before anything else is sent; a create's "sent" mark is committed
before its call leaves, so a lost answer is always reconciled, never created twice.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.utils import timezone

from bookings.models import Booking

from . import matching, payloads, reconcile
from .client import COLLECTION_LIMIT, SalesforceClient
from .errors import NeedsReconnectError, RateLimitedError, SalesforceError, from_record_errors, from_response
from .models import BookingSync, SalesforceConnection, SalesforceUser, SyncOperation
from .selectors import member_mappings
from .soql import in_chunks, soql_template

logger = logging.getLogger("integrations.salesforce.push")
State = SyncOperation.State
EventState = BookingSync.EventState
RETRY = "retry"
GONE_CODES = {"ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_ID_FIELD"}
INACTIVE_OWNER = "INACTIVE_OWNER_OR_USER"
# Defined by the org-user cache (tokens/users work); sent by name so this module needs no import.
REFRESH_ORG_USERS_TASK = "integrations.salesforce.tasks.refresh_org_users"
# How far before our clock an Event created by our own lost request may carry its CreatedDate.
CLOCK_SKEW = timedelta(minutes=5)
RECONCILE_QUERY = soql_template(
    "SELECT Id, OwnerId, StartDateTime, WhoId, WhatId, Description FROM Event "
    "WHERE CreatedDate >= {since} AND StartDateTime IN {values}"
)


@dataclass
class Outcome:
    state: str
    message: str = ""
    error: SalesforceError | None = None
    warnings: list[str] = field(default_factory=list)
    sf_ids: dict = field(default_factory=dict)


@dataclass
class Write:
    """One sObject Collections subrequest and the syncs its results belong to, in order."""

    kind: str  # "update" | "close" | "delete" | "create"
    syncs: list[BookingSync]
    records: list
    subrequest: dict


def chunks(items: list, size: int = COLLECTION_LIMIT):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def error_outcome(error: SalesforceError, *, context: str = "") -> Outcome:
    """Halting errors propagate; the rest become the outcome of the bookings concerned."""
    if isinstance(error, (NeedsReconnectError, RateLimitedError)):
        raise error
    state = RETRY if error.kind in ("retryable", "unknown_outcome") else State.FAILED
    return Outcome(state, f"{context}{error.message}", error=error)


def _refresh_org_users(connection_id: int) -> None:
    # Best effort: the daily refresh in beat catches up if the broker is down right now, and
    # the Events were already created, so a publishing failure must not fail the batch.
    try:
        current_app.send_task(REFRESH_ORG_USERS_TASK, args=[connection_id])
    except Exception:  # noqa: BLE001 - any broker failure
        logger.warning(
            "salesforce.push.refresh_org_users_not_sent", extra={"connection_id": connection_id}, exc_info=True
        )


class BookingPush:
    """Push the current state of a set of bookings. `run()` returns {booking_id: Outcome} and
    records each Event id on its BookingSync as soon as Salesforce confirms it, so a halt
    midway (reconnect, API limit) loses nothing: a replay finds the work already done."""

    def __init__(self, client: SalesforceClient, connection: SalesforceConnection, booking_ids: list[int]):
        self.client = client
        self.connection = connection
        self.bookings = {
            b.pk: b
            for b in Booking.objects.filter(pk__in=booking_ids, workspace_id=connection.workspace_id).select_related(
                "link", "host"
            )
        }
        self.syncs = {s.booking_id: s for s in BookingSync.objects.filter(booking_id__in=self.bookings)}
        self.outcomes: dict[int, Outcome] = {}
        self.notes: dict[int, list[str]] = {}
        self.inactive_owner: list[tuple[BookingSync, dict]] = []
        for booking_id in booking_ids:
            if booking_id not in self.bookings or booking_id not in self.syncs:
                self.outcomes[booking_id] = Outcome(State.SKIPPED, "The booking is not set to be pushed to Salesforce.")

    def run(self) -> dict[int, Outcome]:
        wanted = [s for s in self._pending_syncs() if s.create_sent_at or self._needs_event(s)]
        matches = self._read(wanted)
        creates, updates, closes, deletes = self._classify()
        gone = self._write(
            self._writes(updates=updates, closes=closes, deletes=deletes, creates=self._prepared(creates, matches))
        )
        if gone:  # deleted in Salesforce while the booking lives on: a new Event
            matches = self._read(gone)
            self._write(self._writes(creates=self._prepared(self._still_pending(gone), matches)))
        if self.inactive_owner:
            self._write(self._writes(creates=self._owner_fallbacks()))
        return self.outcomes

    # ---- reads: reconcile + lookups, one /composite --------------------------------------------
    def _pending_syncs(self) -> list[BookingSync]:
        return [s for booking_id, s in self.syncs.items() if booking_id not in self.outcomes]

    def _still_pending(self, syncs: list[BookingSync]) -> list[BookingSync]:
        return [s for s in syncs if s.booking_id not in self.outcomes]

    def _needs_event(self, sync: BookingSync) -> bool:
        return self.bookings[sync.booking_id].is_live and (not sync.sf_event_id or sync.event_state != EventState.LIVE)

    def _read(self, syncs: list[BookingSync]) -> dict[str, matching.Match]:
        """Reconcile the creates whose answer was lost and look up the invitees of the
        bookings that need an Event, in one /composite where the limits allow."""
        unknown = [s for s in syncs if s.create_sent_at]
        emails = [self.bookings[s.booking_id].invitee_email for s in syncs if self._needs_event(s)]
        subrequests = self._reconcile_subrequests(unknown) + matching.lookup_subrequests(self.client, emails)
        try:
            responses: list[dict] = []
            for batch in self.client.composite_batches(subrequests):
                responses += self.client.composite(batch)
            found = self._reconcile_records(responses)
            matches = matching.matches_from(self.client, emails, responses)
        except SalesforceError as error:
            for sync in syncs:
                self.outcomes[sync.booking_id] = error_outcome(
                    error, context="Looking up the invitee in Salesforce failed: "
                )
            return {}
        with transaction.atomic():
            self._reconciled(unknown, found)
        return matches

    def _reconcile_subrequests(self, syncs: list[BookingSync]) -> list[dict]:
        if not syncs:
            return []
        since = min(s.create_sent_at for s in syncs if s.create_sent_at is not None) - CLOCK_SKEW
        starts = sorted({s.create_sent_start_at for s in syncs if s.create_sent_start_at})
        return [
            self.client.query_subrequest(f"reconcile_{n}", statement)
            for n, statement in enumerate(in_chunks(RECONCILE_QUERY, starts, since=since))
        ]

    def _reconcile_records(self, responses: list[dict]) -> list[dict]:
        records: list[dict] = []
        for response in responses:
            if not response["referenceId"].startswith("reconcile_"):
                continue
            if response["httpStatusCode"] != 200:
                raise from_response(response["httpStatusCode"], response["body"])
            records += list(response["body"].get("records", [])) + self.client.remaining_records(response["body"])
        return records

    def _reconciled(self, syncs: list[BookingSync], records: list[dict]) -> None:
        """A create whose answer was lost may have worked, or may still commit: adopt the Event
        if it exists; create again only once Salesforce's request lifetime has passed."""
        for sync in syncs:
            markers = payloads.booking_markers(self.bookings[sync.booking_id])
            found = next((r for r in records if any(m in (r.get("Description") or "") for m in markers)), None)
            if (
                found is None
                and sync.create_sent_at is not None
                and not reconcile.may_create_again(sync.create_sent_at)
            ):
                self.outcomes[sync.booking_id] = Outcome(RETRY, reconcile.waiting_message(sync.create_sent_at))
                continue
            if found is not None:
                sync.sf_event_id, sync.event_state = found["Id"], EventState.LIVE
                sync.sf_owner_id, sync.sf_who_id, sync.sf_what_id = (
                    found["OwnerId"],
                    found.get("WhoId") or "",
                    found.get("WhatId") or "",
                )
                sync.pushed_start_at = sync.create_sent_start_at
                self._note(
                    sync,
                    f"An earlier attempt had created Event {found['Id']} without an answer reaching Workestra; it was adopted, not duplicated.",
                )
            sync.create_sent_at = None
            sync.save()

    # ---- what to send --------------------------------------------------------------------------
    def _classify(self):
        creates, updates, closes, deletes = [], [], [], []
        for sync in self._pending_syncs():
            booking = self.bookings[sync.booking_id]
            if booking.is_live:
                if self._needs_event(sync):
                    creates.append(sync)
                elif sync.pushed_start_at != booking.start_at:
                    updates.append(sync)
                else:
                    self._done(sync, State.PUSHED, f"Already up to date in Salesforce (Event {sync.sf_event_id}).")
            elif sync.sf_event_id and sync.event_state == EventState.LIVE:
                (
                    deletes
                    if self.connection.cancel_behaviour == SalesforceConnection.CancelBehaviour.DELETE
                    else closes
                ).append(sync)
            elif sync.sf_event_id:
                self._done(sync, State.PUSHED, f"Already cancelled in Salesforce (Event {sync.sf_event_id}).")
            else:
                self._done(sync, State.COALESCED, "Cancelled before it reached Salesforce: nothing to send.")
        return creates, updates, closes, deletes

    def _prepared(self, syncs: list[BookingSync], matches: dict[str, matching.Match]) -> list[tuple[BookingSync, dict]]:
        bookings = [self.bookings[s.booking_id] for s in syncs]
        owners = member_mappings(self.connection, {b.host for b in bookings})
        ready: list[tuple[BookingSync, dict]] = []
        for sync, booking in zip(syncs, bookings):  # noqa: B905
            match = matches[booking.invitee_email.strip().lower()]
            if not match.found and self.connection.no_match_behaviour == SalesforceConnection.NoMatchBehaviour.SKIP:
                sync.match_explanation = match.explanation
                sync.save(update_fields=["match_explanation", "updated_at"])
                self._done(sync, State.SKIPPED, f"{match.explanation}. The workspace skips such bookings.")
                continue
            mapping = owners[booking.host_id]
            owner_id = mapping.sf_user.sf_id if mapping.sf_user else self.connection.sf_user_id
            if mapping.sf_user is None:
                self._note(
                    sync,
                    f"{booking.host.email} is not mapped to a Salesforce user; the Event is owned by the connecting user ({self.connection.sf_username}).",
                )
            for warning in match.warnings:
                self._note(sync, warning)
            if sync.sf_event_id:
                self._note(sync, f"Event {sync.sf_event_id} had been deleted in Salesforce; a new Event was created.")
            sync.match_explanation = match.explanation
            sync.sf_who_name, sync.sf_what_name = match.who_name, match.what_name
            sync.sf_owner_id, sync.sf_who_id, sync.sf_what_id = owner_id, match.who_id or "", match.what_id or ""
            ready.append(
                (sync, payloads.event_fields(booking, owner_id=owner_id, who_id=match.who_id, what_id=match.what_id))
            )
        return ready

    def _writes(self, *, updates=(), closes=(), deletes=(), creates=()) -> list[Write]:
        writes = []
        for n, batch in enumerate(chunks(list(updates))):
            records = [{"Id": s.sf_event_id, **payloads.event_time_fields(self.bookings[s.booking_id])} for s in batch]
            writes.append(
                Write(
                    "update",
                    batch,
                    records,
                    self.client.collection_subrequest(f"update_{n}", "PATCH", "Event", records),
                )
            )
        for n, batch in enumerate(chunks(list(closes))):
            records = [
                {"Id": s.sf_event_id, **payloads.event_closed_fields(self.bookings[s.booking_id])} for s in batch
            ]
            writes.append(
                Write(
                    "close", batch, records, self.client.collection_subrequest(f"close_{n}", "PATCH", "Event", records)
                )
            )
        for n, batch in enumerate(chunks(list(deletes))):
            ids = [s.sf_event_id for s in batch]
            writes.append(Write("delete", batch, ids, self.client.delete_subrequest(f"delete_{n}", ids)))
        for n, batch in enumerate(chunks(list(creates))):
            records = [fields for _, fields in batch]
            subrequest = self.client.collection_subrequest(f"create_{n}", "POST", "Event", records)
            writes.append(Write("create", [sync for sync, _ in batch], records, subrequest))
        return writes

    # ---- writes: up to five Collections per /composite -----------------------------------------
    def _write(self, writes: list[Write]) -> list[BookingSync]:
        """Send the writes; returns the syncs whose Event was deleted in Salesforce and whose
        booking is live (to be created again)."""
        by_ref = {w.subrequest["referenceId"]: w for w in writes}
        gone: list[BookingSync] = []
        for batch in self.client.composite_batches([w.subrequest for w in writes]):
            batch_writes = [by_ref[sub["referenceId"]] for sub in batch]
            self._mark_sent([w for w in batch_writes if w.kind == "create"])
            calls_before = self.client.api_calls
            try:
                responses = self.client.composite(batch)
            except SalesforceError as error:
                self._call_failed(batch_writes, error)
                continue
            except BaseException:
                if self.client.api_calls == calls_before:  # stopped before sending (a lost lease)
                    self._unmark(batch_writes)
                raise
            halt = None
            with transaction.atomic():
                for response in responses:
                    halt = self._results(by_ref[response["referenceId"]], response, gone) or halt
            if halt is not None:
                raise halt  # every result of the call is recorded first
        return gone

    def _mark_sent(self, writes: list[Write]) -> None:
        """Committed before the call leaves: if its answer is lost, the next attempt reconciles.
        An Event deleted in Salesforce is forgotten here too, so a lost answer to its
        re-creation is reconciled as well instead of being mistaken for the old Event."""
        if not writes:
            return
        sent_at = timezone.now()
        with transaction.atomic():
            for write in writes:
                for sync, fields in zip(write.syncs, write.records):  # noqa: B905
                    sync.sf_event_id, sync.event_state = "", EventState.NONE
                    sync.create_sent_at, sync.create_sent_start_at = sent_at, self.bookings[sync.booking_id].start_at
                    sync.create_sent_owner_id = fields["OwnerId"]
                    sync.save()

    def _unmark(self, writes: list[Write]) -> None:
        """Nothing was created: no reconcile (nor its window) is owed."""
        sent = [s for w in writes if w.kind == "create" for s in w.syncs]
        BookingSync.objects.filter(pk__in=[s.pk for s in sent]).update(create_sent_at=None)
        for sync in sent:
            sync.create_sent_at = None

    def _call_failed(self, writes: list[Write], error: SalesforceError) -> None:
        if error.kind != "unknown_outcome":  # Salesforce answered: nothing was created
            self._unmark(writes)
        for write in writes:
            for sync in write.syncs:
                self.outcomes[sync.booking_id] = error_outcome(error)

    def _results(self, write: Write, response: dict, gone: list[BookingSync]) -> SalesforceError | None:
        """Record one subrequest's results; returns a halting error to raise once all are in."""
        status, body = response["httpStatusCode"], response["body"]
        if status != 200 or not isinstance(body, list) or any("success" not in r for r in body):
            return self._failed_all(write, from_response(status, body))
        halt = None
        for sync, record, result in zip(write.syncs, write.records, body):  # noqa: B905
            codes = {e.get("statusCode") for e in result.get("errors", [])}
            if write.kind == "create":
                sync.create_sent_at = None  # answered, either way
            if result.get("success"):
                self._succeeded(write.kind, sync, result)
            elif codes & GONE_CODES and write.kind == "update":
                sync.event_state = EventState.DELETED
                sync.save()
                gone.append(sync)
            elif codes & GONE_CODES and write.kind != "create":
                self._already_gone(sync)
            elif INACTIVE_OWNER in codes and write.kind == "create" and record["OwnerId"] != self.connection.sf_user_id:
                sync.save()
                self.inactive_owner.append((sync, record))
            else:
                if write.kind == "create":
                    sync.save()
                halt = self._fail(sync, from_record_errors(result.get("errors", []))) or halt
        return halt

    def _failed_all(self, write: Write, error: SalesforceError) -> SalesforceError | None:
        halt = None
        for sync in write.syncs:
            if write.kind == "create":
                sync.create_sent_at = None  # the subrequest was answered: nothing was created
                sync.save()
            halt = self._fail(sync, error) or halt
        return halt

    def _fail(self, sync: BookingSync, error: SalesforceError) -> SalesforceError | None:
        try:
            self.outcomes[sync.booking_id] = error_outcome(error)
        except (NeedsReconnectError, RateLimitedError) as halting:
            return halting
        return None

    def _owner_fallbacks(self) -> list[tuple[BookingSync, dict]]:
        """Events refused for an inactive owner go to the connecting user, with a warning; the
        cached org users are marked inactive and refreshed (by name: the task is the cache's)."""
        fallback, username = self.connection.sf_user_id, self.connection.sf_username
        inactive_ids = {fields["OwnerId"] for _, fields in self.inactive_owner}
        SalesforceUser.objects.filter(connection=self.connection, sf_id__in=inactive_ids).update(is_active=False)
        connection_id = self.connection.pk
        transaction.on_commit(lambda: _refresh_org_users(connection_id))
        logger.warning(
            "salesforce.push.inactive_owner",
            extra={"connection_id": connection_id, "sf_user_ids": sorted(inactive_ids)},
        )
        ready = []
        for sync, fields in self.inactive_owner:
            host = self.bookings[sync.booking_id].host.email
            self._note(
                sync,
                f"The Salesforce user {fields['OwnerId']} mapped to {host} is inactive; the Event is owned by the "
                f"connecting user ({username}) instead. Map {host} to an active Salesforce user.",
            )
            sync.sf_owner_id = fallback
            ready.append((sync, {**fields, "OwnerId": fallback}))
        self.inactive_owner = []
        return ready

    # ---- per-record results ------------------------------------------------------------------
    def _succeeded(self, kind: str, sync: BookingSync, result: dict) -> None:
        {"create": self._created, "update": self._updated, "close": self._closed, "delete": self._deleted}[kind](
            sync, result
        )

    def _created(self, sync: BookingSync, result: dict) -> None:
        sync.sf_event_id, sync.event_state = result["id"], EventState.LIVE
        sync.pushed_start_at, sync.pushed_at = sync.create_sent_start_at, timezone.now()
        sync.save()
        self._done(sync, State.PUSHED, f"Created Event {result['id']}. {sync.match_explanation}.")

    def _updated(self, sync: BookingSync, result: dict) -> None:
        sync.pushed_start_at, sync.pushed_at = self.bookings[sync.booking_id].start_at, timezone.now()
        sync.save()
        self._done(sync, State.PUSHED, f"Moved Event {sync.sf_event_id} to the new time.")

    def _closed(self, sync: BookingSync, result: dict) -> None:
        sync.event_state, sync.pushed_at = EventState.CLOSED, timezone.now()
        sync.save()
        self._done(sync, State.PUSHED, f"Marked Event {sync.sf_event_id} as cancelled.")

    def _deleted(self, sync: BookingSync, result: dict) -> None:
        sync.event_state, sync.pushed_at = EventState.DELETED, timezone.now()
        sync.save()
        self._done(sync, State.PUSHED, f"Deleted Event {sync.sf_event_id}.")

    def _already_gone(self, sync: BookingSync) -> None:
        sync.event_state = EventState.DELETED
        sync.save()
        self._done(sync, State.PUSHED, f"Event {sync.sf_event_id} was already deleted in Salesforce.")

    def _note(self, sync: BookingSync, warning: str) -> None:
        self.notes.setdefault(sync.booking_id, []).append(warning)

    def _done(self, sync: BookingSync, state: str, message: str) -> None:
        warnings = self.notes.get(sync.booking_id, [])
        if warnings:
            sync.warnings = "\n".join(warnings)
            BookingSync.objects.filter(pk=sync.pk).update(warnings=sync.warnings)
        ids = {"event_id": sync.sf_event_id} if sync.sf_event_id else {}
        self.outcomes[sync.booking_id] = Outcome(state, message, warnings=list(warnings), sf_ids=ids)
