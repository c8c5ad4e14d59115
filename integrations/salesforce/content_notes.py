"""Recaps → Enhanced Notes: one ContentNote per recap, attached to the matched Contact or Lead
and to the Opportunity by ContentDocumentLink, written in one /composite call.

What Salesforce requires (Object Reference: ContentNote, ContentDocumentLink):
- `Content` is base64 of HTML; plain text in it must be HTML-escaped, and Salesforce strips new
  lines and unsafe HTML, so the body is built of <p>, <ul> and <br> with no line breaks.
- Only `Title` and `Content` can be updated: a re-push PATCHes those two on the same note.
- `OwnerId` can be set only by users with "Set Audit Fields upon Record Creation" (meant for
  data migrations; Workestra does not ask for it), so the note is owned by the connecting user
  and its body names the meeting's host.
- Each link says `ShareType` V (Viewer): people who can see the Contact or Opportunity can read
  the recap but not edit it (an edit would be overwritten by the next push). `Visibility` is
  left to Salesforce's default: AllUsers, or InternalUsers once the org has Experience Cloud
  sites (Salesforce Help 000384243), so customers on a portal never see sales recaps.
- `Content` is not filterable in SOQL (and a query returns only its URL), so a lost create is
  reconciled by Title, creator and creation time, then each candidate's Content is fetched and
  searched for the booking's marker.

API calls: a first push is the invitee lookup + one /composite (note and its links) = 2; a
re-push is one /composite (PATCH); a note deleted in Salesforce costs one more /composite to
recreate it; a lost answer costs one query, one GET per candidate note, and one query of the
adopted notes' links.
"""

import base64
import html
from typing import Any

from django.utils import timezone

from notetaker.models import RecapNoteLink

from .client import COMPOSITE_LIMIT
from .errors import SalesforceError, from_response
from .notes import TARGET_WORDS, RecapPushBase, _action_item_line, _same_id, note_title, recap_markers
from .push import CLOCK_SKEW, GONE_CODES, Outcome, error_outcome
from .soql import soql

SHARE_TYPE = "V"
DUPLICATE_LINK = "DUPLICATE_VALUE"


def note_html(recap) -> str:
    """The recap as HTML: the summary's paragraphs, the action items as a list, the host, the
    link back (the member page; never the invitee's address, which can cancel the meeting)."""
    booking = recap.booking
    url = html.escape(booking.get_member_url())
    items = list(recap.action_items.all())
    parts = [_paragraphs(recap.summary)]
    if items:
        parts.append(
            "<p><b>Action items</b></p><ul>"
            + "".join(f"<li>{html.escape(_action_item_line(item))}</li>" for item in items)
            + "</ul>"
        )
    else:
        parts.append("<p><b>Action items:</b> none</p>")
    parts.append(f"<p>Meeting host: {html.escape(booking.host.display_name)}</p>")
    parts.append(f'<p>Workestra booking: <a href="{url}">{url}</a></p>')
    return "".join(parts)


def _paragraphs(text: str) -> str:
    blocks = [block.strip() for block in text.strip().replace("\r\n", "\n").split("\n\n") if block.strip()]
    return "".join("<p>" + "<br>".join(html.escape(line) for line in block.split("\n")) + "</p>" for block in blocks)


def note_content(recap) -> str:
    return base64.b64encode(note_html(recap).encode("utf-8")).decode("ascii")


class EnhancedRecapPush(RecapPushBase):
    note_type = RecapNoteLink.NoteType.ENHANCED
    noun = "Enhanced Note"

    def run(self) -> dict[int, Outcome]:
        self._forget_stale()
        self._reconcile(self._lost_creates())
        self._plan_new_links()
        gone = self._write(self._pending(), recreate=False)
        self._write([booking_id for booking_id in gone if booking_id not in self.outcomes], recreate=True)
        self._finish()
        return self.outcomes

    # ---- reconcile ---------------------------------------------------------------------------
    def _lost_creates(self) -> dict[int, list[RecapNoteLink]]:
        lost: dict[int, list[RecapNoteLink]] = {}
        for booking_id in self._pending():
            rows = [row for row in self.links[booking_id].values() if row.create_sent_at and not row.note_id]
            if rows:
                lost[booking_id] = rows
        return lost

    def _reconcile(self, lost: dict[int, list[RecapNoteLink]]) -> None:
        """A create whose answer was lost may have worked: adopt the note (and its links)."""
        if not lost:
            return
        rows = [row for rows_of in lost.values() for row in rows_of]
        try:
            adopted = self._find_lost_notes(lost, rows)
            links = self._links_of(sorted(adopted.values()))
        except SalesforceError as error:
            for row in rows:
                self._fail(row, error_outcome(error, context="Checking for a note from an earlier attempt failed: "))
            return
        for booking_id, rows_of in lost.items():
            note_id = adopted.get(booking_id)
            for row in rows_of:
                if note_id is None:
                    self._not_found(row)
                else:
                    link = next(
                        (
                            r
                            for r in links
                            if r.get("ContentDocumentId") == note_id
                            and _same_id(r.get("LinkedEntityId") or "", row.parent_id)
                        ),
                        None,
                    )
                    row.create_sent_at, row.note_id = None, note_id
                    row.attachment_id = link["Id"] if link else ""
                    row.pushed_at = timezone.now() if link else None
                row.save()
            if note_id is not None:
                self._warn(
                    rows_of[0],
                    f"An earlier attempt had created Enhanced Note {note_id} without an answer reaching Workestra; it was adopted, not duplicated.",
                )

    def _find_lost_notes(self, lost: dict[int, list[RecapNoteLink]], rows: list[RecapNoteLink]) -> dict[int, str]:
        """{booking_id: note id} for the lost notes found: same Title, created by the connecting
        user since the create was sent, and the booking's marker in the Content."""
        records = self.client.query(
            soql(
                "SELECT Id, Title, CreatedDate FROM ContentNote WHERE CreatedById = {} AND CreatedDate >= {} "
                "AND Title IN {} ORDER BY CreatedDate ASC, Id ASC",
                self.connection.sf_user_id,
                min(row.create_sent_at for row in rows if row.create_sent_at is not None) - CLOCK_SKEW,
                sorted({row.create_sent_title for row in rows}),
            )
        )
        # Notes Workestra already knows (any recap's, in this org) are not candidates: no GET for them.
        known = set(
            RecapNoteLink.objects.filter(
                org_id=self.connection.org_id, note_id__in=[r["Id"] for r in records]
            ).values_list("note_id", flat=True)
        )
        adopted: dict[int, str] = {}
        for record in records:
            waiting = [
                b
                for b, rows_of in lost.items()
                if b not in adopted and rows_of[0].create_sent_title == record.get("Title")
            ]
            if record["Id"] in known or not waiting:
                continue
            content = self.client.fetch_blob("ContentNote", record["Id"], "Content").decode("utf-8", "replace")
            owner = next((b for b in waiting if any(m in content for m in recap_markers(self.recaps[b].booking))), None)
            if owner is not None:
                adopted[owner] = record["Id"]
                known.add(record["Id"])
        return adopted

    def _links_of(self, note_ids: list[str]) -> list[dict]:
        if not note_ids:
            return []
        # ContentDocumentLink can only be queried with a filter on ContentDocumentId or LinkedEntityId.
        return self.client.query(
            soql(
                "SELECT Id, ContentDocumentId, LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId IN {}",
                note_ids,
            )
        )

    # ---- writes ------------------------------------------------------------------------------
    def _write(self, booking_ids: list[int], *, recreate: bool) -> list[int]:
        """One /composite per 25 subrequests: for each recap, PATCH its note (or create it) and
        link it to the targets not linked yet. Returns the recaps whose note was deleted in
        Salesforce, to be created again."""
        plans = [(booking_id, self._plan(booking_id, recreate)) for booking_id in booking_ids]
        gone: list[int] = []
        for chunk in _chunks([plan for plan in plans if plan[1]]):
            gone += self._send(chunk)
        return gone

    def _plan(self, booking_id: int, recreate: bool) -> list[tuple[str, RecapNoteLink | None, dict]]:
        rows = list(self.links[booking_id].values())
        note_id = "" if recreate else next((row.note_id for row in rows if row.note_id), "")
        recap = self.recaps[booking_id]
        fields = {"Title": note_title(recap.booking), "Content": note_content(recap)}
        ref = f"note{booking_id}"
        plan: list[tuple[str, RecapNoteLink | None, dict]]
        if note_id:
            plan = [("update", None, self._subrequest("PATCH", f"sobjects/ContentNote/{note_id}", ref, fields))]
            document = note_id
            rows = [row for row in rows if not row.attachment_id and row.pushed_at is None]
        else:
            if recreate:
                self._warn(
                    rows[0], f"Enhanced Note {rows[0].note_id} had been deleted in Salesforce; a new one was created."
                )
            plan = [("create", None, self._subrequest("POST", "sobjects/ContentNote/", ref, fields))]
            document = f"@{{{ref}.id}}"
        for row in rows:
            body = {"ContentDocumentId": document, "LinkedEntityId": row.parent_id, "ShareType": SHARE_TYPE}
            plan.append(
                ("link", row, self._subrequest("POST", "sobjects/ContentDocumentLink/", f"{ref}_{row.target}", body))
            )
        return plan

    def _subrequest(self, method: str, path: str, reference_id: str, body: dict) -> dict:
        return {"method": method, "url": f"{self.client.data_path}{path}", "referenceId": reference_id, "body": body}

    def _send(self, chunk: list[tuple[int, list]]) -> list[int]:
        sent_at = timezone.now()
        creating = []
        for booking_id, plan in chunk:
            if plan[0][0] == "create":
                title = plan[0][2]["body"]["Title"]
                for row in self.links[booking_id].values():
                    # A note deleted in Salesforce is forgotten first: if this answer is lost,
                    # the retry must look for the new note, not update the deleted one again.
                    row.note_id, row.attachment_id, row.pushed_at = "", "", None
                    row.create_sent_at, row.create_sent_title = sent_at, title
                    row.save()
                    creating.append(row)
        try:
            responses = self.client.composite([sub for _, plan in chunk for _, _, sub in plan])
        except SalesforceError as error:
            if error.kind != "unknown_outcome":  # Salesforce answered: nothing was written
                RecapNoteLink.objects.filter(pk__in=[row.pk for row in creating]).update(create_sent_at=None)
            for booking_id, _ in chunk:
                self.outcomes.setdefault(booking_id, error_outcome(error))
            return []
        by_ref = {response["referenceId"]: response for response in responses}
        gone, halt = [], None
        for booking_id, plan in chunk:
            try:
                if self._record(booking_id, plan, by_ref):
                    gone.append(booking_id)
            except SalesforceError as error:  # halting errors: record every answer first
                halt = halt or error
        if halt is not None:
            raise halt
        return gone

    def _record(self, booking_id: int, plan: list, by_ref: dict) -> bool:
        """Record one recap's answers; True when its note was deleted in Salesforce."""
        (kind, _, first), links = plan[0], plan[1:]
        answer = by_ref.get(first["referenceId"], {})
        status, body = answer.get("httpStatusCode", 500), answer.get("body")
        if status >= 300:
            if kind == "create":
                for row in self.links[booking_id].values():
                    row.create_sent_at = None
                    row.save()
            error = from_response(status, body)
            if kind == "update" and error.code in GONE_CODES:
                return True
            self.outcomes.setdefault(booking_id, error_outcome(error))
            if kind == "create":
                return False  # its links failed too: they referred to the note
        note_id = body["id"] if kind == "create" else first["url"].rsplit("/", 1)[-1]
        if kind == "create":
            for row in self.links[booking_id].values():
                row.note_id, row.create_sent_at = note_id, None
                row.save()
        if status < 300:
            self._say_for(booking_id, f"{'Created' if kind == 'create' else 'Updated'} Enhanced Note {note_id}.")
        for _, row, sub in links:
            self._record_link(booking_id, row, note_id, by_ref.get(sub["referenceId"], {}))
        return False

    def _record_link(self, booking_id: int, row: RecapNoteLink, note_id: str, answer: dict) -> None:
        status = answer.get("httpStatusCode", 500)
        body: Any = answer.get("body")  # parsed JSON: the link's {"id": ...}, or a list of errors
        row.note_id = note_id
        if status < 300:
            row.attachment_id, row.pushed_at = body["id"], timezone.now()
            self._say(row, f"Linked it to {TARGET_WORDS[row.target]} ({row.parent_id}).")
        else:
            error = from_response(status, body)
            if error.code == DUPLICATE_LINK:  # linked by an attempt whose answer was lost
                row.pushed_at = timezone.now()
                self._say(row, f"It was already linked to {TARGET_WORDS[row.target]} ({row.parent_id}).")
            else:
                self.outcomes.setdefault(
                    booking_id, error_outcome(error, context=f"Linking the note to {TARGET_WORDS[row.target]} failed: ")
                )
        row.save()

    def _sf_ids(self, links) -> dict:
        links = [link for link in links if link.note_id]
        if not links:
            return {}
        return {
            "note_id": links[0].note_id,
            **{f"{link.target}_link_id": link.attachment_id for link in links if link.attachment_id},
        }


def _chunks(plans: list[tuple[int, list]]):
    """Whole recaps per /composite, at most COMPOSITE_LIMIT subrequests each."""
    chunk: list[tuple[int, list]] = []
    size = 0
    for booking_id, plan in plans:
        if chunk and size + len(plan) > COMPOSITE_LIMIT:
            yield chunk
            chunk, size = [], 0
        chunk.append((booking_id, plan))
        size += len(plan)
    if chunk:
        yield chunk
