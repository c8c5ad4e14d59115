"""Enhanced Notes: ContentNote, ContentDocument and ContentDocumentLink.

Sources, per rule, are listed in README.md ("Enhanced Notes"). In short (Object Reference):
- a ContentNote is a ContentDocument with FileType SNOTE; its ``Content`` is base64 of HTML or
  plain text; "unsafe HTML characters or new lines" are stripped before it is saved; only
  ``Content`` and ``Title`` can be updated; the creator owns it (OwnerId is settable only with
  "Set Audit Fields upon Record Creation"); SOQL returns a base64 field as the URL of its blob;
- creating a ContentNote links it to its owner (ShareType I); a note is put on a record by a
  ContentDocumentLink {ContentDocumentId, LinkedEntityId, ShareType V|C|I, Visibility};
  Visibility defaults to AllUsers in an org without Experience Cloud sites;
- ContentDocumentLink can only be queried with a filter on ContentDocumentId, LinkedEntityId
  (or Id) by ``=`` or ``IN`` (the "Implementation restriction" error);
- deleting the note (ContentNote or ContentDocument) removes its links;
- "Notes must be enabled" (the control API's ``enhanced_notes`` setting, see users.actor).
"""

import base64
import html
import re

from . import state, values
from .errors import SalesforceError

NOTE_OBJECTS = ("ContentNote", "ContentDocument")
SHARE_TYPES = ("V", "C", "I")
VISIBILITIES = ("AllUsers", "InternalUsers", "SharedUsers")
QUERY_RESTRICTION = (
    "Implementation restriction: ContentDocumentLink requires a filter by a single "
    "Id on ContentDocumentId or LinkedEntityId using the equals operator or "
    "multiple Id's using the IN operator."
)
_LINK_FILTER_FIELDS = {"id", "contentdocumentid", "linkedentityid"}
_UNSAFE_BLOCKS = re.compile(r"<(script|style|iframe|object)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_EVENT_ATTRIBUTES = re.compile(r"\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_BLOCK_ENDS = re.compile(r"</(p|li|div|h[1-6])\s*>|<br\s*/?>", re.IGNORECASE)


def notes_enabled(store):
    return bool(state.settings(store).get("enhanced_notes", 1))


# -- save rules ------------------------------------------------------------------------------


def derive(store, sobject, record, changed):
    if sobject.name in NOTE_OBJECTS and record.get("FileType") is None:
        record.update(
            {
                "FileType": "SNOTE",
                "FileExtension": "snote",
                "IsReadOnly": False,
                "SharingPrivacy": "N",
                "LatestPublishedVersionId": store.new_id("ContentVersion"),
            }
        )
    if sobject.name == "ContentNote" and ("Content" in changed or record.get("ContentSize") is None):
        data = _sanitized(base64.b64decode(record.get("Content") or ""))
        record["Content"] = base64.b64encode(data).decode() if data else None
        record["ContentSize"] = len(data)
        record["TextPreview"] = _preview(data.decode("utf-8", "replace"))
        record["ContentModifiedDate"] = values.now()
    if sobject.name == "ContentDocumentLink" and record.get("Visibility") is None:
        record["Visibility"] = "AllUsers"


def validate(store, sobject, record, changed):
    if sobject.name != "ContentDocumentLink":
        return
    for name, allowed in (("ShareType", SHARE_TYPES), ("Visibility", VISIBILITIES)):
        if name in changed and record.get(name) not in allowed:
            label = sobject.fields[name].label
            raise SalesforceError(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{label}: bad value for restricted picklist field: {record.get(name)}",
                [name],
            )
    if "ContentDocumentId" in changed and _existing_link(store, record):
        # Status code as reported by integrators; the exact message is unverified.
        raise SalesforceError(
            400,
            "DUPLICATE_VALUE",
            f"Document with ID: {record['ContentDocumentId']} is already linked "
            f"with the entity with ID: {record['LinkedEntityId']}",
            [],
        )


def after_insert(store, sobject, record):
    """A new note is linked to its owner, as Salesforce does (ShareType I)."""
    if sobject.name != "ContentNote":
        return
    link = {
        "Id": store.new_id("ContentDocumentLink"),
        "IsDeleted": False,
        "SystemModstamp": record["CreatedDate"],
        "ContentDocumentId": record["Id"],
        "LinkedEntityId": record["OwnerId"],
        "ShareType": "I",
        "Visibility": "AllUsers",
    }
    store.insert_record("ContentDocumentLink", link)


def after_delete(store, sobject, record):
    if sobject.name not in NOTE_OBJECTS:
        return
    for link in store.records("ContentDocumentLink"):
        if link.get("ContentDocumentId") == record["Id"]:
            link.update({"IsDeleted": True, "SystemModstamp": values.now()})
            store.save_record(link)


def _existing_link(store, record):
    return any(
        link["Id"] != record["Id"]
        and link.get("ContentDocumentId") == record["ContentDocumentId"]
        and link.get("LinkedEntityId") == record.get("LinkedEntityId")
        for link in store.records("ContentDocumentLink")
    )


def _sanitized(data):
    """Strip what Salesforce strips: unsafe HTML and new lines (its exact allow-list is a guess)."""
    text = data.decode("utf-8", "replace").replace("\r", "").replace("\n", "")
    text = _EVENT_ATTRIBUTES.sub("", _UNSAFE_BLOCKS.sub("", text))
    return text.encode("utf-8")


def _preview(text):
    """TextPreview: the note's text without markup (length 255 per the field reference; how
    Salesforce shortens it is a guess)."""
    plain = html.unescape(_TAGS.sub("", _BLOCK_ENDS.sub(" ", text)))
    return " ".join(plain.split())[:255] or None


# -- reading -----------------------------------------------------------------------------------


def api_value(sobject, name, record, version):
    """A base64 field reads as the URL of its blob, in REST and in SOQL alike."""
    value = record.get(name)
    field = sobject.fields.get(name) if sobject else None
    if value is None or field is None or field.type != "base64":
        return value
    return blob_url(sobject.name, record["Id"], name, version)


def blob_url(sobject_name, record_id, field_name, version):
    return f"/services/data/v{version}/sobjects/{sobject_name}/{record_id}/{field_name}"


def blob(record, field_name):
    """The decoded bytes of a base64 field (GET .../sobjects/ContentNote/<id>/Content)."""
    return base64.b64decode(record.get(field_name) or "")


def query_restriction(sobject_name, where):
    """The error message when a ContentDocumentLink query lacks its required filter, else None."""
    if sobject_name != "ContentDocumentLink":
        return None
    return None if _has_link_filter(where) else QUERY_RESTRICTION


def _has_link_filter(node):
    if node is None:
        return False
    if getattr(node, "op", None) == "AND" and hasattr(node, "items"):
        return any(_has_link_filter(item) for item in node.items)
    field = getattr(node, "field", None)
    if field is None or getattr(node, "op", None) not in ("=", "IN"):
        return False
    return len(field.path) == 1 and field.path[0].lower() in _LINK_FILTER_FIELDS
