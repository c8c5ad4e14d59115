"""Recaps → classic Salesforce Notes, for one claimed batch, in as few API calls as possible.

A recap becomes one Note on the matched Contact or Lead and, when the contact's account has an
open Opportunity (the deal), one more on that Opportunity: a classic Note has one ParentId, so
"on the contact and the deal" takes two. The outbox rows only say "this recap changed"; what
to send is derived from the recap as it is now and its RecapNoteLinks (the Notes we know of),
so every push is idempotent: a re-push updates the same Notes and never adds more.

API calls for a batch: one reconcile query (only after an unknown outcome), one sObject
Collections call per 200 Note updates and per 200 creates, and one composite lookup per 100
invitee emails (only for recaps that still lack a Note).
"""
import logging

from django.utils import timezone

from bookings.timezones import user_zone
from notetaker.models import Recap, RecapNoteLink

from . import matching, payloads
from .client import SalesforceClient
from .errors import SalesforceError, from_record_errors
from .models import SalesforceConnection, SyncOperation
from .push import GONE_CODES, RETRY, Outcome, chunks, error_outcome
from .soql import soql

logger = logging.getLogger("integrations.salesforce.notes")
State = SyncOperation.State
Target = RecapNoteLink.Target
TITLE_MAX = 80
BODY_MAX = 32_000
OPPORTUNITY_PREFIX = "006"
LEAD_PREFIX = "00Q"
NO_MATCH = "not pushed: no matching contact or lead"
EVENTS_ONLY = "not pushed: the workspace pushes Events only"
TARGET_WORDS = {Target.PERSON: "the contact or lead", Target.DEAL: "the opportunity"}


# ---- what a recap looks like as a Note ------------------------------------------------------
def note_title(booking) -> str:
    """'Recap: <meeting> with <invitee> (<date>)', cut in the middle so the date survives."""
    day = booking.start_at.astimezone(user_zone(booking.host)).strftime("%Y-%m-%d")
    prefix, suffix = "Recap: ", f" ({day})"
    subject = payloads.truncate(f"{booking.link.title} with {booking.invitee_name}", TITLE_MAX - len(prefix) - len(suffix))
    return f"{prefix}{subject}{suffix}"


def note_body(recap: Recap) -> str:
    """Plain text: the summary, the action items, the link back. Over 32,000 characters it is
    cut visibly, ending with a note and the booking's member URL (so reconciliation still finds
    it; never the invitee's address, which can cancel the meeting)."""
    url = recap.booking.get_member_url()
    items = list(recap.action_items.all())
    lines = [recap.summary.strip(), ""]
    if items:
        lines.append("Action items:")
        lines += [f"- {_action_item_line(item)}" for item in items]
    else:
        lines.append("Action items: none")
    lines += ["", f"Workestra booking: {url}"]
    return payloads.truncate("\n".join(lines), BODY_MAX, note=payloads.TRUNCATION_NOTE.format(url=url))


def _action_item_line(item) -> str:
    details = []
    if item.assignee:
        details.append(f"assignee: {item.assignee}")
    if item.due_date:
        details.append(f"due {item.due_date:%Y-%m-%d}")
    return f"{item.text} ({'; '.join(details)})" if details else item.text


def recap_markers(booking) -> tuple[str, ...]:
    """The texts that identify this booking's Notes (the link back in their Body)."""
    return payloads.booking_markers(booking)


def _same_id(a: str, b: str) -> bool:
    """Salesforce ids compare on their case-sensitive 15-character form."""
    return bool(a) and bool(b) and a[:15] == b[:15]


# ---- the pusher --------------------------------------------------------------------------------
class RecapPush:
    """Push the current recap of a set of bookings. `run()` returns {booking_id: Outcome} and
    records each Note id on its RecapNoteLink as soon as Salesforce confirms it, so a halt
    midway (NeedsReconnectError, RateLimitedError propagate) loses nothing: a replay finds
    the work already done."""

    def __init__(self, client: SalesforceClient, connection: SalesforceConnection, booking_ids: list[int]):
        self.client = client
        self.connection = connection
        self.recaps = {
            r.booking_id: r
            for r in Recap.objects.filter(booking_id__in=booking_ids, booking__workspace_id=connection.workspace_id)
            .select_related("booking__link", "booking__host")
            .prefetch_related("action_items")
        }
        self.booking_of_recap = {recap.pk: booking_id for booking_id, recap in self.recaps.items()}
        self.links: dict[int, dict[str, RecapNoteLink]] = {booking_id: {} for booking_id in self.recaps}
        for link in RecapNoteLink.objects.filter(recap_id__in=self.booking_of_recap):
            self.links[self.booking_of_recap[link.recap_id]][link.target] = link
        self.outcomes: dict[int, Outcome] = {}
        self.messages: dict[int, list[str]] = {}
        self.warnings: dict[int, list[str]] = {}
        self._bodies: dict[int, str] = {}
        for booking_id in booking_ids:
            if booking_id not in self.recaps:
                self.outcomes[booking_id] = Outcome(State.SKIPPED, "not pushed: the booking has no recap")
            elif not connection.pushes_notes:
                self.outcomes[booking_id] = Outcome(State.SKIPPED, EVENTS_ONLY)

    def run(self) -> dict[int, Outcome]:
        self._forget_other_orgs()
        self._reconcile([link for link in self._pending_links() if link.create_sent_at and not link.note_id])
        recreate = self._update([link for link in self._pending_links() if link.note_id])
        self._create(recreate + self._plan_new_links())
        self._finish()
        return self.outcomes

    # ---- phases ------------------------------------------------------------------------------
    def _pending(self) -> list[int]:
        return [booking_id for booking_id in self.recaps if booking_id not in self.outcomes]

    def _pending_links(self) -> list[RecapNoteLink]:
        return [link for booking_id in self._pending() for link in self.links[booking_id].values()]

    def _forget_other_orgs(self) -> None:
        """Notes of an org the workspace no longer uses are not ours to update: start afresh."""
        stale = [link for link in self._pending_links() if link.org_id != self.connection.org_id]
        if not stale:
            return
        RecapNoteLink.objects.filter(pk__in=[link.pk for link in stale]).delete()
        for link in stale:
            del self.links[self._booking_id(link)][link.target]

    def _reconcile(self, links: list[RecapNoteLink]) -> None:
        """A create whose answer was lost may have worked: adopt the Note if it exists."""
        if not links:
            return
        try:
            records = self.client.query(
                soql(
                    "SELECT Id, ParentId, Title, Body FROM Note WHERE ParentId IN {} AND Title IN {} "
                    "ORDER BY CreatedDate ASC, Id ASC",
                    sorted({link.parent_id for link in links}),
                    sorted({link.create_sent_title for link in links}),
                )
            )
        except SalesforceError as error:
            for link in links:
                self._fail(link, error_outcome(error, context="Checking for a Note from an earlier attempt failed: "))
            return
        known = {link.note_id for links_of in self.links.values() for link in links_of.values() if link.note_id}
        for link in links:
            markers = recap_markers(self._recap(link).booking)
            found = next(
                (
                    r for r in records
                    if r["Id"] not in known and _same_id(r.get("ParentId") or "", link.parent_id)
                    and r.get("Title") == link.create_sent_title and any(m in (r.get("Body") or "") for m in markers)
                ),
                None,
            )
            link.create_sent_at = None
            if found is not None:
                link.note_id, link.pushed_at = found["Id"], timezone.now()
                known.add(found["Id"])
                self._warn(link, f"An earlier attempt had created Note {found['Id']} without an answer reaching Workestra; it was adopted, not duplicated.")
            link.save()

    def _update(self, links: list[RecapNoteLink]) -> list[RecapNoteLink]:
        """Update the known Notes; returns those deleted in Salesforce, to be created again."""
        gone: list[RecapNoteLink] = []
        for batch in chunks(links):
            records = [{"Id": link.note_id, **self._fields(link)} for link in batch]
            try:
                results = self.client.update_records("Note", records)
            except SalesforceError as error:
                for link in batch:
                    self._fail(link, error_outcome(error))
                continue
            for link, result in zip(batch, results):
                codes = {e.get("statusCode") for e in result.get("errors", [])}
                if result.get("success"):
                    link.pushed_at = timezone.now()
                    link.save(update_fields=["pushed_at", "updated_at"])
                    self._say(link, f"Updated Note {link.note_id} on {TARGET_WORDS[link.target]} ({link.parent_id}).")
                elif codes & GONE_CODES:
                    self._warn(link, f"Note {link.note_id} had been deleted in Salesforce; a new Note was created.")
                    gone.append(link)
                else:
                    self._fail(link, error_outcome(from_record_errors(result.get("errors", []))))
        return gone

    def _plan_new_links(self) -> list[RecapNoteLink]:
        """Look up the invitees of recaps that still lack a Note; returns the Notes to create.
        A link without a Note id (a create that failed, or was not found after a lost answer)
        counts as lacking: it is created again, on whatever the invitee matches now."""
        wanted = [booking_id for booking_id in self._pending() if self._may_need_more(self._present(booking_id))]
        if not wanted:
            return []
        try:
            matches = matching.lookup(self.client, [self.recaps[b].booking.invitee_email for b in wanted])
        except SalesforceError as error:
            for booking_id in wanted:
                self.outcomes[booking_id] = error_outcome(error, context="Looking up the invitee failed: ")
            return []
        new: list[RecapNoteLink] = []
        for booking_id in wanted:
            recap, present = self.recaps[booking_id], self._present(booking_id)
            match = matches[recap.booking.invitee_email.strip().lower()]
            if not present and not match.found:
                self.outcomes[booking_id] = Outcome(State.SKIPPED, NO_MATCH, warnings=[match.explanation])
                continue
            self._say_for(booking_id, f"{match.explanation}.")
            self.warnings.setdefault(booking_id, []).extend(match.warnings)
            if Target.PERSON not in present and match.who_id:
                new.append(self._link_to(recap, Target.PERSON, match.who_id))
            if Target.DEAL not in present and (match.what_id or "").startswith(OPPORTUNITY_PREFIX):
                new.append(self._link_to(recap, Target.DEAL, match.what_id))
        return new

    def _present(self, booking_id: int) -> dict[str, RecapNoteLink]:
        """The recap's links that name a Note (or, deleted in Salesforce, are being recreated)."""
        return {target: link for target, link in self.links[booking_id].items() if link.note_id}

    @staticmethod
    def _may_need_more(present: dict[str, RecapNoteLink]) -> bool:
        """A recap without both Notes may gain one (a contact's account may have opened a
        deal since); a Lead never has a deal, so a Lead's Note is all there will be."""
        person = present.get(Target.PERSON)
        if person is not None and person.parent_id.startswith(LEAD_PREFIX):
            return False
        return Target.PERSON not in present or Target.DEAL not in present

    def _link_to(self, recap: Recap, target: str, parent_id: str) -> RecapNoteLink:
        link = self.links[recap.booking_id].get(target) or RecapNoteLink(recap=recap, target=target)
        link.parent_id, link.org_id = parent_id, self.connection.org_id
        self.links[recap.booking_id][target] = link
        return link

    def _create(self, links: list[RecapNoteLink]) -> None:
        links = [link for link in links if self._booking_id(link) not in self.outcomes]
        for batch in chunks(links):
            self._create_batch(batch)

    def _create_batch(self, batch: list[RecapNoteLink]) -> None:
        sent_at = timezone.now()
        records = []
        for link in batch:
            fields = self._fields(link)
            # A Note deleted in Salesforce is forgotten here first: if this create's answer is
            # lost, the retry must look for the new Note, not update the deleted one again.
            link.note_id, link.create_sent_at, link.create_sent_title = "", sent_at, fields["Title"]
            link.save()
            records.append({"ParentId": link.parent_id, **fields})
        try:
            results = self.client.create_records("Note", records)
        except SalesforceError as error:
            if error.kind != "unknown_outcome":
                RecapNoteLink.objects.filter(pk__in=[link.pk for link in batch]).update(create_sent_at=None)
            for link in batch:
                self._fail(link, error_outcome(error))
            return
        refused = []
        for link, result in zip(batch, results):
            link.create_sent_at = None
            if result.get("success"):
                link.note_id, link.pushed_at = result["id"], timezone.now()
                self._say(link, f"Created Note {link.note_id} on {TARGET_WORDS[link.target]} ({link.parent_id}).")
            else:
                refused.append((link, result.get("errors", [])))
            link.save()
        # Every answer is recorded before a halting one (REQUEST_LIMIT_EXCEEDED) propagates.
        for link, errors in refused:
            self._fail(link, error_outcome(from_record_errors(errors)))

    def _finish(self) -> None:
        for booking_id in self._pending():
            links = self.links[booking_id].values()
            ids = {f"{link.target}_note_id": link.note_id for link in links if link.note_id}
            if not ids:  # nothing failed, yet no Note: never expected, so never reported as pushed
                self.outcomes[booking_id] = Outcome(RETRY, "No Note was created; trying again.")
                continue
            warnings = self.warnings.get(booking_id, [])
            message = " ".join(self.messages.get(booking_id, []) + warnings)
            self.outcomes[booking_id] = Outcome(State.PUSHED, message, warnings=list(warnings), sf_ids=ids)
            logger.info("salesforce.recap.pushed", extra={"booking_id": booking_id, **ids})

    # ---- helpers -----------------------------------------------------------------------------
    def _recap(self, link: RecapNoteLink) -> Recap:
        return self.recaps[self._booking_id(link)]

    def _booking_id(self, link: RecapNoteLink) -> int:
        return self.booking_of_recap[link.recap_id]

    def _fields(self, link: RecapNoteLink) -> dict:
        recap = self._recap(link)
        if recap.pk not in self._bodies:
            self._bodies[recap.pk] = note_body(recap)
        return {"Title": note_title(recap.booking), "Body": self._bodies[recap.pk]}

    def _say(self, link: RecapNoteLink, message: str) -> None:
        self._say_for(self._booking_id(link), message)

    def _say_for(self, booking_id: int, message: str) -> None:
        self.messages.setdefault(booking_id, []).append(message)

    def _warn(self, link: RecapNoteLink, warning: str) -> None:
        self.warnings.setdefault(self._booking_id(link), []).append(warning)

    def _fail(self, link: RecapNoteLink, outcome: Outcome) -> None:
        """The first failure of a recap is its outcome; its other Notes wait for the retry."""
        self.outcomes.setdefault(self._booking_id(link), outcome)
