"""The work queue on SQLite and PostgreSQL (``work.py`` says what it keeps).

SQLite: the table ``work`` is created on first use (``CREATE TABLE IF NOT
EXISTS``: a store file of any version gains it without a format change); a
claim is one ``BEGIN IMMEDIATE`` transaction, so of two processes exactly
one claims a submission.

PostgreSQL: ``fermata.work`` comes with schema version 2 (``migrations/
postgres/0002_work.sql``); a claim is one ``UPDATE ... WHERE id = (SELECT
... FOR UPDATE SKIP LOCKED)``, so workers never wait on each other's rows;
a submission is announced with ``NOTIFY fermata_work`` in its transaction
(delivered when it commits), which idle workers LISTEN for. Claims expire
by the database's clock.

Durability (PostgreSQL): a submission's commit waits for the WAL flush (it
is what ``submit`` returning promises); a claim's does not (a claim lost
in a server crash is claimed again: the run's lease, and the applied mark
written with the checkpoint that applied it, keep it from counting twice).
The claim's statement also reads the run's thread row and newest
checkpoint rows (one round trip instead of three), which the worker plans
with; ``Flow`` checks them against the run's head under the lease.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from ..checkpoint import Store
from ..records import WorkKind, WorkStatus
from .rows import Stats
from .work import (
    CHANNEL,
    Work,
    WorkQueue,
    decode_payload,
    encode_payload,
    this_host_prefix,
)

if TYPE_CHECKING:
    from .postgres import PostgresStore
    from .sqlite import SqliteStore


def queue_for(store: Store) -> WorkQueue:
    from .sqlite import SqliteStore

    if isinstance(store, SqliteStore):
        return SqliteWorkQueue(store)
    from .postgres import PostgresStore

    if isinstance(store, PostgresStore):
        return PostgresWorkQueue(store)
    raise TypeError(f"no work queue for a {type(store).__name__}: workers need a memory, SQLite or "
                    "PostgreSQL store")


def _work(row: tuple[Any, ...]) -> Work:
    work_id, thread, flow, ir_hash, kind, payload, status, attempts, error = row
    return Work(int(work_id), thread, flow, ir_hash, WorkKind(kind), decode_payload(payload),
                WorkStatus(status), int(attempts), error)


_SQLITE_TABLE = """
CREATE TABLE IF NOT EXISTS work (        -- submissions (flow.submit) for workers to apply
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    thread    TEXT NOT NULL,
    flow      TEXT NOT NULL,
    ir_hash   TEXT NOT NULL,             -- the flow version it is for
    kind      TEXT NOT NULL,             -- a records.WorkKind
    payload   TEXT NOT NULL,             -- JSON
    status    TEXT NOT NULL,             -- a records.WorkStatus
    owner     TEXT,                      -- the worker that claimed it
    until     REAL NOT NULL DEFAULT 0,   -- claimed: the claim's end, queued: not before
    attempts  INTEGER NOT NULL DEFAULT 0,
    error     TEXT,
    submitted REAL NOT NULL,
    finished  REAL
);
CREATE INDEX IF NOT EXISTS work_open ON work (status, id) WHERE status IN ('queued', 'claimed');
CREATE INDEX IF NOT EXISTS work_open_by_thread ON work (thread, id) WHERE status IN ('queued', 'claimed')
"""
_COLUMNS = "id, thread, flow, ir_hash, kind, payload, status, attempts, error"


class SqliteWorkQueue(WorkQueue):
    durable_submissions = True

    def __init__(self, store: SqliteStore):
        self.store: SqliteStore = store
        with store._transaction() as tx:
            for statement in _SQLITE_TABLE.split(";"):
                if statement.strip():
                    tx.execute(statement)

    def submit(self, thread: str, flow: str, ir_hash: str, kind: WorkKind, payload: Any) -> int:
        text = encode_payload(payload)
        with self.store._transaction(durable=True) as tx:   # accepted: it must survive a power loss
            cursor = tx.execute("INSERT INTO work (thread, flow, ir_hash, kind, payload, status, submitted) "
                                "VALUES (?, ?, ?, ?, ?, 'queued', ?)",
                                (thread, flow, ir_hash, kind.value, text, self.store.clock()))
            assert cursor.lastrowid is not None
            return int(cursor.lastrowid)

    def claim(self, owner: str, hashes: Collection[str], ttl_s: float) -> Work | None:
        if not hashes:
            return None
        marks = ", ".join("?" * len(hashes))
        now = self.store.clock()
        with self.store._transaction() as tx:   # BEGIN IMMEDIATE: one claimer at a time
            row = tx.execute(
                f"SELECT {_COLUMNS} FROM work w WHERE w.status IN ('queued', 'claimed') AND w.until <= ? "
                f"AND w.ir_hash IN ({marks}) AND NOT EXISTS (SELECT 1 FROM work e WHERE e.thread = w.thread "
                "AND e.id < w.id AND e.status IN ('queued', 'claimed')) ORDER BY w.id LIMIT 1",
                (now, *hashes)).fetchone()
            if row is None:
                return None
            tx.execute("UPDATE work SET status = 'claimed', owner = ?, until = ?, attempts = attempts + 1 "
                       "WHERE id = ?", (owner, now + ttl_s, row[0]))
        return _work((*row[:6], WorkStatus.CLAIMED.value, row[7] + 1, row[8]))

    def applied_action(self, work_id: int) -> Callable[[Any], None]:
        clock = self.store.clock

        def applied(tx: Any) -> None:
            tx.execute("UPDATE work SET status = 'applied', finished = ? WHERE id = ?", (clock(), work_id))
        return applied

    def finish(self, work_id: int, status: WorkStatus, error: str | None = None) -> None:
        with self.store._transaction() as tx:
            tx.execute("UPDATE work SET status = ?, error = ?, finished = ? WHERE id = ?",
                       (status.value, error, self.store.clock(), work_id))

    def release(self, work_id: int, owner: str, delay_s: float) -> None:
        with self.store._transaction() as tx:
            tx.execute("UPDATE work SET status = 'queued', until = ? WHERE id = ? AND status = 'claimed' "
                       "AND owner = ?", (self.store.clock() + delay_s, work_id, owner))

    def get(self, work_id: int) -> Work | None:
        rows = self.store._query(f"SELECT {_COLUMNS} FROM work WHERE id = ?", (work_id,))
        return _work(rows[0]) if rows else None

    def open_count(self) -> int:
        return int(self.store._query("SELECT count(*) FROM work WHERE status IN ('queued', 'claimed')", ())[0][0])

    def open_threads(self, thread: str) -> int:
        return int(self.store._query("SELECT count(*) FROM work WHERE thread = ? AND status IN "
                                     "('queued', 'claimed')", (thread,))[0][0])

    def unloaded(self, hashes: Collection[str]) -> dict[str, int]:
        rows = self.store._query("SELECT ir_hash, count(*) FROM work WHERE status IN ('queued', 'claimed') "
                                 "GROUP BY ir_hash", ())
        return {ir_hash: int(count) for ir_hash, count in rows if ir_hash not in hashes}

    def _claims_on_this_host(self) -> list[tuple[int, str]]:
        rows = self.store._query("SELECT id, owner FROM work WHERE status = 'claimed' AND until > ? AND owner LIKE ?",
                                 (self.store.clock(), this_host_prefix() + "%"))
        return [(int(work_id), owner) for work_id, owner in rows]

    def _running(self, hashes: Collection[str], limit: int) -> list[str]:
        if not hashes:
            return []
        marks = ", ".join("?" * len(hashes))
        rows = self.store._query(
            "SELECT t.thread FROM threads t JOIN flows f ON f.id = t.flow_id LEFT JOIN leases l "
            f"ON l.thread = t.thread WHERE t.status = 'running' AND f.ir_hash IN ({marks}) "
            "AND (l.thread IS NULL OR l.expires <= ? OR l.owner LIKE ?) ORDER BY t.updated LIMIT ?",
            (*hashes, self.store.clock(), this_host_prefix() + "%", limit))
        return [thread for (thread,) in rows]


class _Listener:
    """Waits for ``NOTIFY fermata_work`` on a connection of its own (the
    store's is busy with transactions), at most the given seconds."""

    def __init__(self, url: str, stop: threading.Event):
        from .postgres import _connect

        self.stop = stop
        self.conn = _connect(url)
        self.conn.execute(f"LISTEN {CHANNEL}")

    def __call__(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            # Short slices so that a stop is seen soon even without a NOTIFY.
            for _ in self.conn.notifies(timeout=min(left, 0.25), stop_after=1):
                return

    def close(self) -> None:
        self.conn.close()


_PG_CLAIM = (
    "WITH c AS (UPDATE fermata.work SET status = 'claimed', owner = %(o)s, "
    "until = now() + make_interval(secs => %(ttl)s), attempts = attempts + 1 "
    "WHERE id = (SELECT w.id FROM fermata.work w WHERE w.status IN ('queued', 'claimed') "
    "AND w.until <= now() AND w.ir_hash = ANY(%(h)s) AND NOT EXISTS (SELECT 1 FROM fermata.work e "
    "WHERE e.thread = w.thread AND e.id < w.id AND e.status IN ('queued', 'claimed')) "
    f"ORDER BY w.id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING {_COLUMNS}) "
    # ... and, in the same round trip, what the worker reads next: the run's
    # thread row (with its head, for the first append) and its rows from
    # the newest full snapshot (none: a new run).
    "SELECT c.*, t.thread, t.flow, t.ir_hash, t.source, t.created, t.source_hash, t.id, t.last_seq, t.full_seq, "
    "t.full_bytes, t.since_count, t.since_bytes, r.seq, r.kind, r.body "
    "FROM c LEFT JOIN fermata.threads t ON t.thread = c.thread "
    "LEFT JOIN fermata.checkpoints r ON r.thread_id = t.id AND r.seq >= t.full_seq ORDER BY r.seq")


class PostgresWorkQueue(WorkQueue):
    durable_submissions = True

    def __init__(self, store: PostgresStore):
        self.store: PostgresStore = store

    def waiter(self, stop: threading.Event) -> Callable[[float], None]:
        return _Listener(self.store.url, stop)

    def submit(self, thread: str, flow: str, ir_hash: str, kind: WorkKind, payload: Any) -> int:
        text = encode_payload(payload)
        with self.store._transaction(durable=True) as tx:   # accepted: it must survive a crash
            cursor = tx.execute("INSERT INTO fermata.work (thread, flow, ir_hash, kind, payload, status) "
                             "VALUES (%s, %s, %s, %s, %s, 'queued') RETURNING id",
                                (thread, flow, ir_hash, kind.value, text))
            tx.execute(f"NOTIFY {CHANNEL}")
        row = cursor.fetchone()   # after the commit: one round trip for the whole submission
        assert row is not None
        return int(row[0])

    def claim(self, owner: str, hashes: Collection[str], ttl_s: float) -> Work | None:
        if not hashes:
            return None
        # Not durable (the module's doc): the session's synchronous_commit=off.
        rows = self.store._query(_PG_CLAIM, {"o": owner, "ttl": float(ttl_s), "h": list(hashes)})
        if not rows:
            return None
        width = len(_COLUMNS.split(", "))
        first = rows[0]
        work = _work(first[:width])
        found = first[width] is not None
        info = first[width:width + 6] if found else None
        head = (int(first[width + 6]), Stats(*first[width + 7:width + 12])) if found else None
        self.store.prefetched(work.thread, info, [row[width + 12:] for row in rows if row[width + 12] is not None],
                              head)
        return work

    def applied_action(self, work_id: int) -> Callable[[Any], None]:
        def applied(tx: Any) -> None:
            tx.execute("UPDATE fermata.work SET status = 'applied', finished = now() WHERE id = %s", (work_id,))
        return applied

    def finish(self, work_id: int, status: WorkStatus, error: str | None = None) -> None:
        self.store._run("UPDATE fermata.work SET status = %s, error = %s, finished = now() WHERE id = %s",
                        (status.value, error, work_id))

    def release(self, work_id: int, owner: str, delay_s: float) -> None:
        self.store._run("UPDATE fermata.work SET status = 'queued', until = now() + make_interval(secs => %s) "
                        "WHERE id = %s AND status = 'claimed' AND owner = %s", (float(delay_s), work_id, owner))

    def get(self, work_id: int) -> Work | None:
        rows = self.store._query(f"SELECT {_COLUMNS} FROM fermata.work WHERE id = %s", (work_id,))
        return _work(rows[0]) if rows else None

    def open_count(self) -> int:
        return int(self.store._query("SELECT count(*) FROM fermata.work WHERE status IN ('queued', 'claimed')")[0][0])

    def open_threads(self, thread: str) -> int:
        return int(self.store._query("SELECT count(*) FROM fermata.work WHERE thread = %s AND status IN "
                                     "('queued', 'claimed')", (thread,))[0][0])

    def unloaded(self, hashes: Collection[str]) -> dict[str, int]:
        rows = self.store._query("SELECT ir_hash, count(*) FROM fermata.work WHERE status IN ('queued', 'claimed') "
                                 "GROUP BY ir_hash")
        return {ir_hash: int(count) for ir_hash, count in rows if ir_hash not in hashes}

    def _claims_on_this_host(self) -> list[tuple[int, str]]:
        rows = self.store._query("SELECT id, owner FROM fermata.work WHERE status = 'claimed' AND until > now() "
                                 "AND owner LIKE %s", (this_host_prefix() + "%",))
        return [(int(work_id), owner) for work_id, owner in rows]

    def _running(self, hashes: Collection[str], limit: int) -> list[str]:
        if not hashes:
            return []
        rows = self.store._query(
            "SELECT t.thread FROM fermata.threads t LEFT JOIN fermata.leases l ON l.thread = t.thread "
            "WHERE t.status = 'running' AND t.ir_hash = ANY(%(h)s) AND (l.thread IS NULL OR l.expires_at <= now() "
            "OR l.owner LIKE %(p)s) ORDER BY t.updated_at LIMIT %(n)s",
            {"h": list(hashes), "p": this_host_prefix() + "%", "n": limit})
        return [thread for (thread,) in rows]
