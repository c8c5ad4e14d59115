"""Persistent state in one SQLite file, safe to share between server threads.

One connection guarded by a re-entrant lock: every read and write holds the lock,
and ``atomic()`` nests like Django's (outer = transaction, inner = savepoint), so a
composite request with ``allOrNone`` can roll back every write it made.
"""

import json
import sqlite3
import threading
import time
from contextlib import contextmanager

from . import ids, schema

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, sobject TEXT NOT NULL, data TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0, rank INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS records_by_type ON records (sobject, rank);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS security (
    user_id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id TEXT NOT NULL, org TEXT NOT NULL,
    parent TEXT, scope TEXT NOT NULL, issued_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS codes (
    code TEXT PRIMARY KEY, data TEXT NOT NULL, created_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS calls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, method TEXT, path TEXT, query TEXT,
    status INTEGER, counted INTEGER, api_version TEXT, at TEXT, org TEXT, subrequests TEXT
);
"""
_RESET_TABLES = ("records", "kv", "security", "tokens", "codes", "calls")


class Store:
    def __init__(self, path):
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)
            columns = {row["name"] for row in self._conn.execute("PRAGMA table_info(calls)")}
            if "subrequests" not in columns:  # a data dir from before the column
                self._conn.execute("ALTER TABLE calls ADD COLUMN subrequests TEXT")

    # -- transactions ------------------------------------------------------------

    @contextmanager
    def atomic(self):
        with self._lock:
            savepoint = f"sp{self._depth}"
            self._conn.execute("BEGIN IMMEDIATE" if self._depth == 0 else f"SAVEPOINT {savepoint}")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._conn.execute("ROLLBACK")
                else:
                    self._conn.execute(f"ROLLBACK TO {savepoint}")
                    self._conn.execute(f"RELEASE {savepoint}")
                raise
            self._depth -= 1
            self._conn.execute("COMMIT" if self._depth == 0 else f"RELEASE {savepoint}")

    def _rows(self, sql, params=()):
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _write(self, sql, params=()):
        with self.atomic():
            return self._conn.execute(sql, params)

    def wipe(self):
        with self.atomic():
            for table in _RESET_TABLES:
                self._conn.execute(f"DELETE FROM {table}")  # nosec B608  # table names from the constant _RESET_TABLES

    # -- key/value settings ------------------------------------------------------

    def kv_get(self, key, default=None):
        rows = self._rows("SELECT value FROM kv WHERE key = ?", (key,))
        return json.loads(rows[0]["value"]) if rows else default

    def kv_set(self, key, value):
        self._write("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # -- records -----------------------------------------------------------------

    def new_id(self, sobject):
        with self.atomic():
            counter = self.kv_get("id_counter") or ids.random_start()
            self.kv_set("id_counter", counter + 1)
        return ids.make_id(sobject, counter)

    def get_record(self, record_id):
        rows = self._rows("SELECT data FROM records WHERE id = ?", (record_id,))
        return json.loads(rows[0]["data"]) if rows else None

    def insert_record(self, sobject, data):
        with self.atomic():
            rank = self._conn.execute("SELECT COALESCE(MAX(rank), 0) + 1 FROM records").fetchone()[0]
            self._conn.execute(
                "INSERT INTO records (id, sobject, data, is_deleted, rank) VALUES (?, ?, ?, ?, ?)",
                (data["Id"], sobject, json.dumps(data), int(bool(data.get("IsDeleted"))), rank),
            )

    def save_record(self, data):
        self._write(
            "UPDATE records SET data = ?, is_deleted = ? WHERE id = ?",
            (json.dumps(data), int(bool(data.get("IsDeleted"))), data["Id"]),
        )

    def records(self, sobject, include_deleted=False):
        sobject = schema.storage(sobject)  # ContentNote rows are ContentDocument rows
        sql = "SELECT data FROM records WHERE sobject = ?"
        if not include_deleted:
            sql += " AND is_deleted = 0"
        return [json.loads(row["data"]) for row in self._rows(sql + " ORDER BY rank", (sobject,))]

    def record_counts(self):
        rows = self._rows(
            "SELECT sobject, SUM(1 - is_deleted) AS live, SUM(is_deleted) AS deleted FROM records GROUP BY sobject"
        )
        return {row["sobject"]: {"live": row["live"], "deleted": row["deleted"]} for row in rows}

    # -- user security (password, API Enabled, object permissions) ----------------

    def set_security(self, user_id, username, password, data):
        self._write(
            "INSERT OR REPLACE INTO security (user_id, username, password, data) VALUES (?, ?, ?, ?)",
            (user_id, username, password, json.dumps(data)),
        )

    def security(self, *, user_id=None, username=None):
        column, value = ("user_id", user_id) if user_id else ("username", username)
        rows = self._rows(f"SELECT * FROM security WHERE lower({column}) = lower(?)", (value,))  # nosec B608  # column is one of two constants; the value is a parameter
        if not rows:
            return None
        row = rows[0]
        return {
            "user_id": row["user_id"],
            "username": row["username"],
            "password": row["password"],
            **json.loads(row["data"]),
        }

    def update_security(self, user_id, data):
        self._write("UPDATE security SET data = ? WHERE user_id = ?", (json.dumps(data), user_id))

    # -- OAuth tokens and authorization codes --------------------------------------

    def add_token(self, token, kind, user_id, org, scope, parent=None):
        self._write(
            "INSERT INTO tokens (token, kind, user_id, org, parent, scope, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (token, kind, user_id, org, parent, scope, time.time()),
        )

    def token(self, token):
        rows = self._rows("SELECT * FROM tokens WHERE token = ?", (token,))
        return dict(rows[0]) if rows else None

    def revoke_tokens(self, where, params=()):
        """Revoke tokens matching ``where``; returns how many were live."""
        return self._write(
            f"UPDATE tokens SET revoked = 1 WHERE revoked = 0 AND ({where})",  # nosec B608  # callers pass constant fragments; values are parameters
            params,
        ).rowcount

    def token_counts(self):
        rows = self._rows("SELECT kind, SUM(1 - revoked) AS live FROM tokens GROUP BY kind")
        return {row["kind"]: row["live"] for row in rows}

    def add_code(self, code, data):
        self._write(
            "INSERT INTO codes (code, data, created_at) VALUES (?, ?, ?)", (code, json.dumps(data), time.time())
        )

    def code(self, code):
        rows = self._rows("SELECT * FROM codes WHERE code = ?", (code,))
        if not rows:
            return None
        row = rows[0]
        return {
            "code": row["code"],
            "data": json.loads(row["data"]),
            "created_at": row["created_at"],
            "used": bool(row["used"]),
        }

    def mark_code_used(self, code):
        self._write("UPDATE codes SET used = 1 WHERE code = ?", (code,))

    # -- call log ----------------------------------------------------------------

    def log_call(self, call):
        self._write(
            "INSERT INTO calls (method, path, query, status, counted, api_version, at, org, "
            "subrequests) VALUES (:method, :path, :query, :status, :counted, :api_version, "
            ":at, :org, :subrequests)",
            {"subrequests": None, **call},
        )

    def calls(self, since=0):
        rows = self._rows("SELECT * FROM calls WHERE seq > ? ORDER BY seq", (since,))
        return [{**dict(row), "counted": bool(row["counted"])} for row in rows]

    def count_calls(self, prefix):
        rows = self._rows(
            "SELECT COUNT(*) AS n, COALESCE(SUM(counted), 0) AS counted FROM calls WHERE substr(path, 1, ?) = ?",
            (len(prefix), prefix),
        )
        return {"count": rows[0]["n"], "counted": rows[0]["counted"]}

    def reset_calls(self):
        self._write("DELETE FROM calls")
