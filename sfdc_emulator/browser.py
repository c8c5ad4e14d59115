"""``/_records/``: an HTML view of what is in the org (loopback only, refreshes every 5 s)."""

from urllib.parse import quote

from . import ids, schema
from .pages import esc, page, table
from .web import html_response, is_loopback, redirect, text_response

TABS = ("Event", "Note", "ContentNote", "Contact", "Lead", "Account", "Opportunity", "User")
DESCRIPTION_LINES = 3


def handle(app, request):
    if not is_loopback(request.client_ip):
        return text_response(403, "The records browser only answers loopback clients")
    tab = request.params.get("tab", "Event")
    if tab not in TABS:
        tab = "Event"
    show_deleted = request.params.get("deleted") == "1"
    store = app.store
    rows = store.records(tab, include_deleted=show_deleted)
    names = _NameCache(store)
    render = {"Event": _events, "Note": _notes, "ContentNote": _content_notes}.get(tab, _plain)
    headers, cells = render(tab, rows, names)
    nav = " ".join(
        f"<a href='/_records/?tab={quote(name)}'>{'<b>' if name == tab else ''}{esc(name)}"
        f" ({len(store.records(name))}){'</b>' if name == tab else ''}</a>"
        for name in TABS
    )
    toggle = (
        f"<a href='/_records/?tab={quote(tab)}&amp;deleted={'0' if show_deleted else '1'}'>"
        f"{'hide' if show_deleted else 'show'} deleted</a>"
    )
    body = f"<nav>{nav}</nav><p class='muted'>{toggle}</p>" + table(headers, cells)
    return html_response(200, page(f"Records - {tab}", body, refresh_seconds=5))


# Lightning record pages (`/lightning/r/<sObject>/<Id>/view`, the "Record Page" pageReference's
# URL format) are what Workestra's "Open in Salesforce" links open; here they land on the tab
# of the records browser that lists that object. An Enhanced Note opens as its ContentDocument.
LIGHTNING_TABS = {"ContentDocument": "Note", "ContentNote": "Note"}


def lightning_record(app, request):
    if not is_loopback(request.client_ip):
        return text_response(403, "The records browser only answers loopback clients")
    parts = request.path.strip("/").split("/")  # lightning, r, <sObject>, <Id>, view
    sobject = parts[2] if len(parts) >= 4 else ""
    tab = LIGHTNING_TABS.get(sobject, sobject)
    if tab not in TABS:
        return text_response(404, f"No records browser tab for {sobject or 'that record'}")
    return redirect(f"/_records/?tab={quote(tab)}")


def _events(_, rows, names):
    headers = ["Subject", "Start", "Duration", "Owner", "Who", "What", "Description", "Created"]
    cells = [
        [
            esc(r["Subject"]),
            esc(r["StartDateTime"]),
            esc(r["DurationInMinutes"]),
            names.html(r["OwnerId"]),
            names.html(r["WhoId"], with_type=True),
            names.html(r["WhatId"], with_type=True),
            _excerpt(r["Description"]),
            esc(r["CreatedDate"]) + _deleted(r),
        ]
        for r in rows
    ]
    return headers, cells


def _notes(_, rows, names):
    headers = ["Parent", "Title", "Body", "Owner", "Created"]
    cells = [
        [
            names.html(r["ParentId"], with_type=True),
            esc(r["Title"]),
            _excerpt(r["Body"]),
            names.html(r["OwnerId"]),
            esc(r["CreatedDate"]) + _deleted(r),
        ]
        for r in rows
    ]
    return headers, cells


def _content_notes(_, rows, names):
    """Enhanced Notes: the records each is linked to (ContentDocumentLink) and its text."""
    links = {}
    for link in names.store.records("ContentDocumentLink"):
        links.setdefault(link["ContentDocumentId"], []).append(link)
    headers = ["Linked to", "Title", "Text", "Owner", "Created"]
    cells = [
        [
            ", ".join(
                names.html(link["LinkedEntityId"], with_type=True) + f" [{esc(link['ShareType'])}]"
                for link in links.get(r["Id"], [])
            ),
            esc(r["Title"]),
            esc(r.get("TextPreview")),
            names.html(r["OwnerId"]),
            esc(r["CreatedDate"]) + _deleted(r),
        ]
        for r in rows
    ]
    return headers, cells


def _plain(tab, rows, names):
    sobject = schema.OBJECTS[tab]
    shown = [
        f.name
        for f in sobject.fields.values()
        if f.name not in ("IsDeleted", "CreatedById", "LastModifiedById", "SystemModstamp")
    ]
    cells = []
    for r in rows:
        cells.append(
            [
                names.html(r.get(name))
                if sobject.fields[name].type == "reference" and name != "Id"
                else esc(r.get(name))
                for name in shown
            ]
        )
        cells[-1][-1] += _deleted(r)
    return shown, cells


def _excerpt(text):
    lines = (text or "").splitlines()
    shown = "<br>".join(esc(line) for line in lines[:DESCRIPTION_LINES])
    return shown + ("<br>&hellip;" if len(lines) > DESCRIPTION_LINES else "")


def _deleted(record):
    return " <b>(deleted)</b>" if record.get("IsDeleted") else ""


class _NameCache:
    def __init__(self, store):
        self.store = store
        self.cache = {}

    def html(self, record_id, with_type=False):
        if not record_id:
            return ""
        if record_id not in self.cache:
            record = self.store.get_record(record_id)
            self.cache[record_id] = (record or {}).get("Name") or (record or {}).get("Title") or record_id
        label = esc(self.cache[record_id])
        return f"{label} ({esc(ids.sobject_of(record_id))})" if with_type else label
