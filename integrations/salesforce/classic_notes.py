"""Recaps → classic Salesforce Notes (`Note`), for one claimed batch.

A classic Note has one ParentId, so "on the contact and the deal" takes two Notes. API calls for
a batch: one reconcile query (only after an unknown outcome), one sObject Collections call per
200 Note updates and per 200 creates, and one composite lookup per 100 invitee emails (only for
recaps that still lack a Note).
"""

from django.utils import timezone

from notetaker.models import RecapNoteLink

from .errors import SalesforceError, from_record_errors
from .notes import INACTIVE_OWNER, TARGET_WORDS, RecapPushBase, _same_id, note_body, note_title, recap_markers
from .push import GONE_CODES, Outcome, chunks, error_outcome
from .selectors import member_mappings
from .soql import soql


class ClassicRecapPush(RecapPushBase):
    """A Note per target. The Note is owned by the host's mapped Salesforce user (Note.OwnerId
    is settable on create); unmapped hosts, and owners Salesforce says are inactive, leave the
    owner to Salesforce: the connecting user."""

    def run(self) -> dict[int, Outcome]:
        self._forget_stale()
        self._reconcile([link for link in self._pending_links() if link.create_sent_at and not link.note_id])
        recreate = self._update([link for link in self._pending_links() if link.note_id])
        self._create(recreate + self._plan_new_links())
        self._finish()
        return self.outcomes

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
                    r
                    for r in records
                    if r["Id"] not in known
                    and _same_id(r.get("ParentId") or "", link.parent_id)
                    and r.get("Title") == link.create_sent_title
                    and any(m in (r.get("Body") or "") for m in markers)
                ),
                None,
            )
            if found is not None:
                link.create_sent_at = None
                link.note_id, link.pushed_at = found["Id"], timezone.now()
                known.add(found["Id"])
                self._warn(
                    link,
                    f"An earlier attempt had created Note {found['Id']} without an answer reaching Workestra; it was adopted, not duplicated.",
                )
            else:
                self._not_found(link)
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
            for link, result in zip(batch, results):  # noqa: B905
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

    def _create(self, links: list[RecapNoteLink]) -> None:
        links = [link for link in links if self._booking_id(link) not in self.outcomes]
        if not links:
            return
        owners = self._owners(links)
        for batch in chunks(links):
            self._create_batch(batch, owners)

    def _owners(self, links: list[RecapNoteLink]) -> dict[int, str]:
        """{host user id: mapped active Salesforce user id} (cached org users: no API call)."""
        hosts = {self._recap(link).booking.host for link in links}
        mappings = member_mappings(self.connection, hosts)
        return {user_id: mapping.sf_user.sf_id for user_id, mapping in mappings.items() if mapping.sf_user}

    def _create_batch(self, batch: list[RecapNoteLink], owners: dict[int, str]) -> None:
        sent_at = timezone.now()
        records = []
        for link in batch:
            fields = self._fields(link)
            # A Note deleted in Salesforce is forgotten here first: if this create's answer is
            # lost, the retry must look for the new Note, not update the deleted one again.
            link.note_id, link.create_sent_at, link.create_sent_title = "", sent_at, fields["Title"]
            link.save()
            owner = owners.get(self._recap(link).booking.host_id)
            records.append({"ParentId": link.parent_id, **fields, **({"OwnerId": owner} if owner else {})})
        try:
            results = self.client.create_records("Note", records)
        except SalesforceError as error:
            if error.kind != "unknown_outcome":
                RecapNoteLink.objects.filter(pk__in=[link.pk for link in batch]).update(create_sent_at=None)
            for link in batch:
                self._fail(link, error_outcome(error))
            return
        refused, inactive = [], []
        for link, record, result in zip(batch, records, results):  # noqa: B905
            link.create_sent_at = None
            codes = {e.get("statusCode") for e in result.get("errors", [])}
            if result.get("success"):
                link.note_id, link.pushed_at = result["id"], timezone.now()
                self._say(link, f"Created Note {link.note_id} on {TARGET_WORDS[link.target]} ({link.parent_id}).")
            elif INACTIVE_OWNER in codes and "OwnerId" in record:
                inactive.append(link)
            else:
                refused.append((link, result.get("errors", [])))
            link.save()
        if inactive:
            # The cached mapping was stale: the Note still goes in, owned by the connecting user.
            for link in inactive:
                self._warn(
                    link,
                    f"The host's Salesforce user is inactive; the Note on {TARGET_WORDS[link.target]} is owned by the connecting user ({self.connection.sf_username}).",
                )
            self._create_batch(inactive, {})
        # Every answer is recorded before a halting one (REQUEST_LIMIT_EXCEEDED) propagates.
        for link, errors in refused:
            self._fail(link, error_outcome(from_record_errors(errors)))

    def _fields(self, link: RecapNoteLink) -> dict:
        recap = self._recap(link)
        if recap.pk not in self._bodies:
            self._bodies[recap.pk] = note_body(recap)
        return {"Title": note_title(recap.booking), "Body": self._bodies[recap.pk]}
