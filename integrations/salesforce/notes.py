"""Recaps → Salesforce notes, for one claimed batch, in as few API calls as possible.

Two kinds of note, per workspace (`SalesforceConnection.note_type`): classic `Note`
(classic_notes.py) and Enhanced Notes (`ContentNote`, content_notes.py). This module holds what
both share: the title and plain-text body, the lookup of where the notes go, the reconcile
window, and the outcome of a recap.

The outbox rows only say "this recap changed"; what to send is derived from the recap as it is
now and its RecapNoteLinks (the notes we know of, one per target: the matched Contact or Lead,
and the Opportunity when the contact's account has an open one), so every push is idempotent:
a re-push updates the same notes and never adds more.

Late commits: after a create's answer was lost, Salesforce may still commit it. Until
SALESFORCE_RECONCILE_WINDOW_SECONDS have passed since it was sent, a retry only looks for the
note (and adopts it when it appears); it never creates a second one.
"""

import logging

from bookings.timezones import user_zone
from notetaker.models import Recap, RecapNoteLink

from . import matching, payloads, reconcile
from .client import SalesforceClient
from .errors import SalesforceError
from .models import SalesforceConnection, SyncOperation
from .push import RETRY, Outcome, error_outcome

logger = logging.getLogger("integrations.salesforce.notes")
State = SyncOperation.State
Target = RecapNoteLink.Target
TITLE_MAX = 80
BODY_MAX = 32_000
OPPORTUNITY_PREFIX = "006"
LEAD_PREFIX = "00Q"
NO_MATCH = "not pushed: no matching contact or lead"
EVENTS_ONLY = "not pushed: the workspace pushes Events only"
TARGET_WORDS: dict[str, str] = {Target.PERSON: "the contact or lead", Target.DEAL: "the opportunity"}
INACTIVE_OWNER = "INACTIVE_OWNER_OR_USER"


# ---- what a recap looks like as a Note ------------------------------------------------------
def note_title(booking) -> str:
    """'Recap: <meeting> with <invitee> (<date>)', cut in the middle so the date survives."""
    day = booking.start_at.astimezone(user_zone(booking.host)).strftime("%Y-%m-%d")
    prefix, suffix = "Recap: ", f" ({day})"
    subject = payloads.truncate(
        f"{booking.link.title} with {booking.invitee_name}", TITLE_MAX - len(prefix) - len(suffix)
    )
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


# ---- what both kinds of push share ----------------------------------------------------------
class RecapPushBase:
    """Push the current recap of a set of bookings. `run()` returns {booking_id: Outcome} and
    records each note id on its RecapNoteLink as soon as Salesforce confirms it, so a halt
    midway (NeedsReconnectError, RateLimitedError propagate) loses nothing: a replay finds
    the work already done."""

    note_type = RecapNoteLink.NoteType.CLASSIC
    noun = "Note"

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

    # ---- phases ------------------------------------------------------------------------------
    def _pending(self) -> list[int]:
        return [booking_id for booking_id in self.recaps if booking_id not in self.outcomes]

    def _pending_links(self) -> list[RecapNoteLink]:
        return [link for booking_id in self._pending() for link in self.links[booking_id].values()]

    def _forget_stale(self) -> None:
        """Notes of an org the workspace no longer uses are not ours to update, and notes of the
        other kind (the workspace switched note type) are left as they are: start afresh."""
        stale = [
            link
            for link in self._pending_links()
            if link.org_id != self.connection.org_id or link.note_type != self.note_type
        ]
        if not stale:
            return
        for link in stale:
            if link.note_id and link.org_id == self.connection.org_id:
                kind = "classic Note" if link.note_type == RecapNoteLink.NoteType.CLASSIC else "Enhanced Note"
                self._warn(
                    link,
                    f"The workspace now pushes {self.noun}s; the earlier {kind} {link.note_id} stays in Salesforce as it is.",
                )
        RecapNoteLink.objects.filter(pk__in=[link.pk for link in stale]).delete()
        for link in stale:
            del self.links[self._booking_id(link)][link.target]

    def _not_found(self, link: RecapNoteLink) -> None:
        """A lost create that can't be seen (yet). Within the window it may still commit, so the
        recap only waits; after it, the create marker is cleared and the note is created."""
        if link.create_sent_at is not None and not reconcile.may_create_again(link.create_sent_at):
            message = reconcile.waiting_message(link.create_sent_at, record="note")
            self.outcomes.setdefault(self._booking_id(link), Outcome(RETRY, message))
            return
        link.create_sent_at = None

    def _plan_new_links(self) -> list[RecapNoteLink]:
        """Look up the invitees of recaps that still lack a note; returns the targets to add.
        A link without a note id (a create that failed, or was not found after a lost answer)
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
            if Target.DEAL not in present and match.what_id and match.what_id.startswith(OPPORTUNITY_PREFIX):
                new.append(self._link_to(recap, Target.DEAL, match.what_id))
        return new

    def _present(self, booking_id: int) -> dict[str, RecapNoteLink]:
        """The recap's links that are in Salesforce (or, deleted there, are being recreated)."""
        return {target: link for target, link in self.links[booking_id].items() if link.note_id}

    @staticmethod
    def _may_need_more(present: dict[str, RecapNoteLink]) -> bool:
        """A recap without both notes may gain one (a contact's account may have opened a
        deal since); a Lead never has a deal, so a Lead's note is all there will be."""
        person = present.get(Target.PERSON)
        if person is not None and person.parent_id.startswith(LEAD_PREFIX):
            return False
        return Target.PERSON not in present or Target.DEAL not in present

    def _link_to(self, recap: Recap, target: str, parent_id: str) -> RecapNoteLink:
        link = self.links[recap.booking_id].get(target) or RecapNoteLink(recap=recap, target=target)
        link.parent_id, link.org_id, link.note_type = parent_id, self.connection.org_id, self.note_type
        self.links[recap.booking_id][target] = link
        return link

    def _finish(self) -> None:
        for booking_id in self._pending():
            ids = self._sf_ids(self.links[booking_id].values())
            if not ids:  # nothing failed, yet no note: never expected, so never reported as pushed
                self.outcomes[booking_id] = Outcome(RETRY, f"No {self.noun} was created; trying again.")
                continue
            warnings = self.warnings.get(booking_id, [])
            message = " ".join(self.messages.get(booking_id, []) + warnings)
            self.outcomes[booking_id] = Outcome(State.PUSHED, message, warnings=list(warnings), sf_ids=ids)
            logger.info("salesforce.recap.pushed", extra={"booking_id": booking_id, "note_type": self.note_type, **ids})

    def _sf_ids(self, links) -> dict:
        return {f"{link.target}_note_id": link.note_id for link in links if link.note_id}

    # ---- helpers -----------------------------------------------------------------------------
    def _recap(self, link: RecapNoteLink) -> Recap:
        return self.recaps[self._booking_id(link)]

    def _booking_id(self, link: RecapNoteLink) -> int:
        return self.booking_of_recap[link.recap_id]

    def _say(self, link: RecapNoteLink, message: str) -> None:
        self._say_for(self._booking_id(link), message)

    def _say_for(self, booking_id: int, message: str) -> None:
        self.messages.setdefault(booking_id, []).append(message)

    def _warn(self, link: RecapNoteLink, warning: str) -> None:
        self.warnings.setdefault(self._booking_id(link), []).append(warning)

    def _fail(self, link: RecapNoteLink, outcome: Outcome) -> None:
        """The first failure of a recap is its outcome; its other notes wait for the retry."""
        self.outcomes.setdefault(self._booking_id(link), outcome)


def recap_pusher(client: SalesforceClient, connection: SalesforceConnection, booking_ids: list[int]) -> RecapPushBase:
    """The pusher for the workspace's note type (drain.py calls this like a class)."""
    if connection.uses_enhanced_notes:
        from .content_notes import EnhancedRecapPush

        return EnhancedRecapPush(client, connection, booking_ids)
    from .classic_notes import ClassicRecapPush

    return ClassicRecapPush(client, connection, booking_ids)
