"""Bookings → Salesforce Events, for one claimed batch, in as few API calls as possible.

The outbox rows only say "this booking changed"; what to send is derived from the booking as
it is now and its BookingSync (the Event we know of). That makes every push idempotent and
coalesces a booking's rows: created then cancelled before anything was sent → nothing to send.

API calls for a batch: one reconcile query (only after an unknown outcome), one sObject
Collections call per 200 updates/closes, per 200 deletes and per 200 creates, and one
composite lookup per 100 invitee emails.
"""
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from bookings.models import Booking

from . import matching, payloads
from .client import COLLECTION_LIMIT, SalesforceClient
from .errors import NeedsReconnectError, RateLimitedError, SalesforceError, from_record_errors
from .models import BookingSync, SalesforceConnection, SyncOperation
from .selectors import member_mappings
from .soql import soql

logger = logging.getLogger("integrations.salesforce.push")
State = SyncOperation.State
EventState = BookingSync.EventState
RETRY = "retry"
GONE_CODES = {"ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_ID_FIELD"}
# How far before our clock an Event created by our own lost request may carry its CreatedDate.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass
class Outcome:
    state: str
    message: str = ""
    error: SalesforceError | None = None
    warnings: list[str] = field(default_factory=list)
    sf_ids: dict = field(default_factory=dict)


def chunks(items: list, size: int = COLLECTION_LIMIT):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def error_outcome(error: SalesforceError, *, context: str = "") -> Outcome:
    """Halting errors propagate; the rest become the outcome of the bookings concerned."""
    if isinstance(error, (NeedsReconnectError, RateLimitedError)):
        raise error
    state = RETRY if error.kind in ("retryable", "unknown_outcome") else State.FAILED
    return Outcome(state, f"{context}{error.message}", error=error)


class BookingPush:
    """Push the current state of a set of bookings. `run()` returns {booking_id: Outcome} and
    records each Event id on its BookingSync as soon as Salesforce confirms it, so a halt
    midway (reconnect, API limit) loses nothing: a replay finds the work already done."""

    def __init__(self, client: SalesforceClient, connection: SalesforceConnection, booking_ids: list[int]):
        self.client = client
        self.connection = connection
        self.bookings = {
            b.pk: b for b in Booking.objects.filter(pk__in=booking_ids, workspace_id=connection.workspace_id).select_related("link", "host")
        }
        self.syncs = {s.booking_id: s for s in BookingSync.objects.filter(booking_id__in=self.bookings)}
        self.outcomes: dict[int, Outcome] = {}
        self.notes: dict[int, list[str]] = {}
        for booking_id in booking_ids:
            if booking_id not in self.bookings or booking_id not in self.syncs:
                self.outcomes[booking_id] = Outcome(State.SKIPPED, "The booking is not set to be pushed to Salesforce.")

    def run(self) -> dict[int, Outcome]:
        self._reconcile([s for s in self._pending_syncs() if s.create_sent_at and not s.sf_event_id])
        creates, updates, closes, deletes = [], [], [], []
        for sync in self._pending_syncs():
            booking = self.bookings[sync.booking_id]
            if booking.is_live:
                if not sync.sf_event_id or sync.event_state != EventState.LIVE:
                    creates.append(sync)
                elif sync.pushed_start_at != booking.start_at:
                    updates.append(sync)
                else:
                    self._done(sync, State.PUSHED, f"Already up to date in Salesforce (Event {sync.sf_event_id}).")
            elif sync.sf_event_id and sync.event_state == EventState.LIVE:
                (deletes if self.connection.cancel_behaviour == SalesforceConnection.CancelBehaviour.DELETE else closes).append(sync)
            elif sync.sf_event_id:
                self._done(sync, State.PUSHED, f"Already cancelled in Salesforce (Event {sync.sf_event_id}).")
            else:
                self._done(sync, State.COALESCED, "Cancelled before it reached Salesforce: nothing to send.")
        recreate = self._update(updates) + self._close(closes)
        self._delete(deletes)
        self._create(creates + recreate)
        return self.outcomes

    # ---- phases ------------------------------------------------------------------------------
    def _pending_syncs(self) -> list[BookingSync]:
        return [s for booking_id, s in self.syncs.items() if booking_id not in self.outcomes]

    def _reconcile(self, syncs: list[BookingSync]) -> None:
        """A create whose answer was lost may have worked: adopt the Event if it exists."""
        if not syncs:
            return
        since = min(s.create_sent_at for s in syncs) - CLOCK_SKEW
        owners = sorted({s.create_sent_owner_id for s in syncs if s.create_sent_owner_id})
        starts = sorted({s.create_sent_start_at for s in syncs if s.create_sent_start_at})
        try:
            records = self.client.query(
                soql(
                    "SELECT Id, OwnerId, StartDateTime, WhoId, WhatId, Description FROM Event "
                    "WHERE CreatedDate >= {} AND OwnerId IN {} AND StartDateTime IN {}",
                    since, owners or [""], starts,
                )
            )
        except SalesforceError as error:
            for sync in syncs:
                self.outcomes[sync.booking_id] = error_outcome(error, context="Checking for an Event from an earlier attempt failed: ")
            return
        for sync in syncs:
            markers = payloads.booking_markers(self.bookings[sync.booking_id])
            found = next((r for r in records if any(m in (r.get("Description") or "") for m in markers)), None)
            sync.create_sent_at = None
            if found is not None:
                sync.sf_event_id, sync.event_state = found["Id"], EventState.LIVE
                sync.sf_owner_id, sync.sf_who_id, sync.sf_what_id = found["OwnerId"], found.get("WhoId") or "", found.get("WhatId") or ""
                sync.pushed_start_at = sync.create_sent_start_at
                self._note(sync, f"An earlier attempt had created Event {found['Id']} without an answer reaching Workestra; it was adopted, not duplicated.")
            sync.save()

    def _update(self, syncs: list[BookingSync]) -> list[BookingSync]:
        records = [{"Id": s.sf_event_id, **payloads.event_time_fields(self.bookings[s.booking_id])} for s in syncs]
        return self._save_each(syncs, records, self.client.update_records, self._updated)

    def _close(self, syncs: list[BookingSync]) -> list[BookingSync]:
        records = [{"Id": s.sf_event_id, **payloads.event_closed_fields(self.bookings[s.booking_id])} for s in syncs]
        self._save_each(syncs, records, self.client.update_records, self._closed, gone=self._already_gone)
        return []

    def _delete(self, syncs: list[BookingSync]) -> None:
        ids = [s.sf_event_id for s in syncs]
        self._save_each(syncs, ids, lambda _type, batch: self.client.delete_records(batch), self._deleted, gone=self._already_gone)

    def _save_each(self, syncs, records, call, on_success, *, gone=None) -> list[BookingSync]:
        """Send `records` in collections of 200; returns the syncs whose Event was gone and
        should be created again (only when no `gone` handler is given)."""
        missing = []
        for batch_syncs, batch_records in zip(chunks(syncs), chunks(records)):
            try:
                results = call("Event", batch_records)
            except SalesforceError as error:
                for sync in batch_syncs:
                    self.outcomes[sync.booking_id] = error_outcome(error)
                continue
            for sync, result in zip(batch_syncs, results):
                codes = {e.get("statusCode") for e in result.get("errors", [])}
                if result.get("success"):
                    on_success(sync)
                elif codes & GONE_CODES:
                    (gone or missing.append)(sync)
                else:
                    self.outcomes[sync.booking_id] = error_outcome(from_record_errors(result.get("errors", [])))
        return missing

    def _create(self, syncs: list[BookingSync]) -> None:
        if not syncs:
            return
        bookings = [self.bookings[s.booking_id] for s in syncs]
        try:
            matches = matching.lookup(self.client, [b.invitee_email for b in bookings])
        except SalesforceError as error:
            for sync in syncs:
                self.outcomes[sync.booking_id] = error_outcome(error, context="Looking up the invitee failed: ")
            return
        owners = member_mappings(self.connection, {b.host for b in bookings})
        ready: list[tuple[BookingSync, dict]] = []
        for sync, booking in zip(syncs, bookings):
            match = matches[booking.invitee_email.strip().lower()]
            if not match.found and self.connection.no_match_behaviour == SalesforceConnection.NoMatchBehaviour.SKIP:
                sync.match_explanation = match.explanation
                sync.save(update_fields=["match_explanation", "updated_at"])
                self._done(sync, State.SKIPPED, f"{match.explanation}. The workspace skips such bookings.")
                continue
            mapping = owners[booking.host_id]
            owner_id = mapping.sf_user.sf_id if mapping.sf_user else self.connection.sf_user_id
            if mapping.sf_user is None:
                self._note(sync, f"{booking.host.email} is not mapped to a Salesforce user; the Event is owned by the connecting user ({self.connection.sf_username}).")
            for warning in match.warnings:
                self._note(sync, warning)
            if sync.sf_event_id:
                self._note(sync, f"Event {sync.sf_event_id} had been deleted in Salesforce; a new Event was created.")
            sync.match_explanation = match.explanation
            sync.sf_who_name, sync.sf_what_name = match.who_name, match.what_name
            sync.sf_owner_id, sync.sf_who_id, sync.sf_what_id = owner_id, match.who_id or "", match.what_id or ""
            ready.append((sync, payloads.event_fields(booking, owner_id=owner_id, who_id=match.who_id, what_id=match.what_id)))
        for batch in chunks(ready):
            self._create_batch(batch)

    def _create_batch(self, batch: list[tuple[BookingSync, dict]]) -> None:
        sent_at = timezone.now()
        for sync, fields in batch:
            booking = self.bookings[sync.booking_id]
            sync.create_sent_at, sync.create_sent_start_at, sync.create_sent_owner_id = sent_at, booking.start_at, fields["OwnerId"]
            sync.save()
        try:
            results = self.client.create_records("Event", [fields for _, fields in batch])
        except SalesforceError as error:
            if error.kind != "unknown_outcome":  # Salesforce answered: nothing was created
                BookingSync.objects.filter(pk__in=[sync.pk for sync, _ in batch]).update(create_sent_at=None)
            for sync, _ in batch:
                self.outcomes[sync.booking_id] = error_outcome(error)
            return
        halt = None
        for (sync, _), result in zip(batch, results):
            sync.create_sent_at = None
            if result.get("success"):
                sync.sf_event_id, sync.event_state = result["id"], EventState.LIVE
                sync.pushed_start_at = sync.create_sent_start_at
                sync.pushed_at = timezone.now()
                sync.save()
                self._done(sync, State.PUSHED, f"Created Event {result['id']}. {sync.match_explanation}.")
                continue
            sync.save()
            try:
                self.outcomes[sync.booking_id] = error_outcome(from_record_errors(result.get("errors", [])))
            except (NeedsReconnectError, RateLimitedError) as error:
                halt = halt or error  # record every created Event first, then halt
        if halt is not None:
            raise halt

    # ---- per-record results ------------------------------------------------------------------
    def _updated(self, sync: BookingSync) -> None:
        sync.pushed_start_at, sync.pushed_at = self.bookings[sync.booking_id].start_at, timezone.now()
        sync.save()
        self._done(sync, State.PUSHED, f"Moved Event {sync.sf_event_id} to the new time.")

    def _closed(self, sync: BookingSync) -> None:
        sync.event_state, sync.pushed_at = EventState.CLOSED, timezone.now()
        sync.save()
        self._done(sync, State.PUSHED, f"Marked Event {sync.sf_event_id} as cancelled.")

    def _deleted(self, sync: BookingSync) -> None:
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
