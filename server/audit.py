"""Who did what to a run: the server's record of answers, starts and cancels.

``Command`` has no ``by=`` yet, so the runtime's history cannot say who
answered. Until it can, the server keeps this log beside the store (a
SQLite file of its own, never a table in the runtime's database) and joins
it with the history by checkpoint: ``seq`` is the newest checkpoint when
the action was accepted, so the action sits right after it in a timeline.
An entry is written only once the runtime accepted the action.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id           INTEGER PRIMARY KEY,
    thread       TEXT NOT NULL,
    action       TEXT NOT NULL,      -- start | answer | cancel
    by           TEXT NOT NULL,      -- the identity's name
    at           TEXT NOT NULL,      -- ISO-8601 UTC
    seq          INTEGER,            -- newest checkpoint when accepted (null for start)
    interrupt_id TEXT,
    token        TEXT
);
CREATE INDEX IF NOT EXISTS audit_by_thread ON audit (thread, id);
"""


@dataclass(frozen=True)
class AuditEntry:
    thread: str
    action: str
    by: str
    at: str
    seq: int | None = None
    interrupt_id: str | None = None
    token: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class AuditLog:
    """Entries in a SQLite file (``":memory:"`` for a memory store)."""

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                     check_same_thread=False)
        with self._lock:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)

    def record(self, entry: AuditEntry) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO audit (thread, action, by, at, seq, interrupt_id, token) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (entry.thread, entry.action, entry.by, entry.at, entry.seq, entry.interrupt_id,
                 entry.token))

    def for_thread(self, thread: str) -> list[AuditEntry]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT thread, action, by, at, seq, interrupt_id, token FROM audit "
                "WHERE thread = ? ORDER BY id", (thread,)).fetchall()
        return [AuditEntry(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
