"""Which kind of Salesforce note a workspace's recaps become, and what that needs.

Enhanced Notes (`ContentNote`, attached to records by `ContentDocumentLink`) are what Lightning
users see under Notes; classic `Note` rows only show under "Notes & Attachments". Enhanced is
the default wherever the org lets the connected user create ContentNote ("Notes must be
enabled" in Setup); otherwise classic.
"""

import logging

from .models import SalesforceConnection

logger = logging.getLogger("integrations.salesforce.note_types")
NoteType = SalesforceConnection.NoteType
DESCRIBED = ("Note", "ContentNote", "ContentDocumentLink")
UPDATED = ("Note", "ContentNote")  # links are only ever created
WRITES: dict[str, tuple[str, ...]] = {
    NoteType.CLASSIC: ("Note",),
    NoteType.ENHANCED: ("ContentNote", "ContentDocumentLink"),
}


def objects_to_write(note_type: str) -> list[str]:
    return list(WRITES[note_type])


def default_for(describes: dict) -> str:
    """Enhanced where ContentNote is createable (its describe answers 404 when Notes are off)."""
    content_note = describes.get("ContentNote") or {}
    link = describes.get("ContentDocumentLink") or {}
    return NoteType.ENHANCED if content_note.get("createable") and link.get("createable") else NoteType.CLASSIC


def apply_default(connection: SalesforceConnection, describes: dict) -> None:
    """Store the default note type on a connection whose admin has not chosen one."""
    note_type = default_for(describes)
    if note_type != connection.note_type:
        SalesforceConnection.objects.filter(pk=connection.pk, note_type_chosen=False).update(note_type=note_type)
        connection.note_type = note_type
        logger.info("salesforce.note_type.defaulted", extra={"connection_id": connection.pk, "note_type": note_type})
