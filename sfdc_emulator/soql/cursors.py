"""Running queries and paging through results with query locators.

A result larger than the batch size comes back with ``done: false`` and
``nextRecordsUrl: /services/data/vXX.X/query/01g...-2000``; the locator names the
cursor and how many records were already returned
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm).
Cursors live in memory (Salesforce expires idle ones after 15 minutes). A queryAll's
next page is fetched through ``/query/<locator>`` too: the locator, not the path, carries
the "include deleted" choice, and that is the URL Salesforce hands back.
Limits (SOQL and SOSL Limits): a statement of at most 100,000 characters; each string
literal at most 4,000 characters.
"""

import threading
import time

from .. import ids
from ..errors import SalesforceError
from .executor import Executor
from .parser import parse

CURSOR_IDLE_SECONDS = 15 * 60
MAX_STATEMENT_CHARS = 100_000


class QueryCursors:
    def __init__(self):
        self._cursors = {}
        self._lock = threading.Lock()

    def query(self, store, actor, text, version, include_deleted, batch_size):
        """Run ``text``; returns the first page as Salesforce's query response dict."""
        if not text:
            raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
        if len(text) > MAX_STATEMENT_CHARS:
            # As recorded by django-salesforce #164 from a real org.
            raise SalesforceError(
                400, "MALFORMED_QUERY", f"SOQL statements can not be longer than {MAX_STATEMENT_CHARS} characters"
            )
        parsed = parse(text)
        total, records = Executor(store, actor, text, version, include_deleted).run(parsed)
        if len(records) <= batch_size:
            return {"totalSize": total, "done": True, "records": records}
        cursor_id = "01g" + ids.random_token(12)
        with self._lock:
            self._expire()
            self._cursors[cursor_id] = {"records": records, "total": total, "touched": time.time(), "endpoint": "query"}
        return self._page(cursor_id, 0, version, batch_size)

    def more(self, locator, version, batch_size):
        cursor_id, _, offset = locator.partition("-")
        with self._lock:
            self._expire()
            cursor = self._cursors.get(cursor_id)
            if cursor is None or not offset.isdigit():
                raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            cursor["touched"] = time.time()
        return self._page(cursor_id, int(offset), version, batch_size)

    def clear(self):
        with self._lock:
            self._cursors.clear()

    def _page(self, cursor_id, offset, version, batch_size):
        cursor = self._cursors[cursor_id]
        records = cursor["records"][offset : offset + batch_size]
        next_offset = offset + len(records)
        page = {"totalSize": cursor["total"], "done": next_offset >= len(cursor["records"]), "records": records}
        if not page["done"]:
            page["nextRecordsUrl"] = f"/services/data/v{version}/{cursor['endpoint']}/{cursor_id}-{next_offset}"
        else:
            with self._lock:
                self._cursors.pop(cursor_id, None)
        return page

    def _expire(self):
        cutoff = time.time() - CURSOR_IDLE_SECONDS
        for cursor_id in [c for c, cursor in self._cursors.items() if cursor["touched"] < cutoff]:
            del self._cursors[cursor_id]
