"""The SQLite store: runs in one file, safe for several processes at once.

    store = SqliteStore(".fermata/runs.db")     # or open_store("sqlite:///.fermata/runs.db")

Schema (``meta`` names the format, so a foreign or newer file is refused)::

    meta(key, value)              -- format = "fermata-runs", version = 6
    flows(id, flow, ir_hash, source, source_hash)
    threads(id, thread, flow_id, created,
            last_seq, full_seq, full_bytes, since_count, since_bytes)
    checkpoints(key, kind 'full'|'delta', body)     -- key = thread_id * 2**32 + seq (version 5)
    leases(thread, owner, expires)                   -- who advances a run, until when
    once_results(thread, node, idx, step, entry)     -- `call once` results of the step in flight
    pending(thread_id, id, node, label)              -- the inbox (version 3)
    due(thread, due_at, kind, id)                    -- due deadlines, reminders, timers (version 4)
    outbox(id, ckpt, n, kind, flow_id, at, body)     -- run events not yet delivered (versions 4, 6)

An older file (versions 1-5: ``sqlite_schema.py``) is migrated by the first
process that writes to it (``sqlite_format.py`` opens, checks and migrates
files); commands that only read (``create=False``) read it as it is and
never change it.

Rows are the JSON described in ``runtime/store/rows.py`` and
``spec/checkpoint.schema.json``. ``threads`` also holds what the next append
needs (the newest seq, where the newest full snapshot is and how much was
written since), so an append reads one small row and writes two; when this
store wrote the thread's newest row itself it reads nothing, and the
thread row's update (``... WHERE last_seq = seq - 1``) is the seq check.

Durability and concurrency:

* ``journal_mode=WAL``: readers never block the writer nor each other, and
  a crash never leaves a half-written transaction behind.
* ``synchronous=NORMAL``: a committed append survives the process crashing
  at any point (the WAL is in the OS's hands once written). After a power
  loss or OS crash the last few appends may be lost -- the file is never
  corrupt, the run simply resumes from an earlier checkpoint.
* A commit asked to be durable (``durable=True``: a pause, the end, a ``call
  once`` result, an accepted answer; docs/guide/durability.md) runs at
  ``synchronous=FULL``: SQLite fsyncs the WAL before the commit returns.
  The WAL is one file written in order, so that fsync also makes every
  earlier NORMAL commit durable: after a power loss the run is never older
  than its last durable commit. Pass ``synchronous="FULL"`` to fsync every
  commit.
* Each append is one ``BEGIN IMMEDIATE`` transaction that first checks the
  thread's newest seq: when another process appended the same seq first, the
  loser gets :class:`StoreConflictError` and writes nothing.
* The WAL is folded back into the database file by a thread of the store's
  own (``sqlite_wal.py``), not inside the commit that crosses SQLite's
  1,000-page threshold, which then paid the copy and two fsyncs.
* Processes take turns to write: each write transaction first takes the
  file's write turn, a ``flock`` on ``<file>-turn`` (``sqlite_turn.py``),
  retried at once for a few hundred microseconds, so that the lock passes
  from one commit to the next waiter at once.
* A writer waits (``timeout``, default 30 s) rather than fail while another
  holds the turn or the write lock, in sleeps of 50 us to 0.5 ms
  (``sqlite_busy.py``), not SQLite's own 1 to 100 ms: appends hold the lock
  for well under a millisecond.
* A run's lease (``leases``) is taken in a ``BEGIN IMMEDIATE`` transaction
  that reads the current holder first, so of two processes exactly one takes
  it. Leases expire by the wall clock (``clock``), so a killed holder's lease
  lapses; one whose process is gone from this host is taken at once.
* A ``call once`` result is one autocommitted row (``once_results``),
  written (durably, unless the run's durability is ``fast``) before the
  node goes on.

Open one store per process: a SQLite connection must not cross ``fork``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from ..checkpoint import Lease, ThreadInfo
from ..errors import StoreError
from .base import DueTimer, PendingRow, RunSummary
from .logstore import LogStore, Row
from .outbox import StoredEvent, body_text, compact_body, from_row, from_text
from .rows import DEFAULT_SNAPSHOT_EVERY, Stats, pack_body
from .sqlite_busy import retry_busy
from .sqlite_format import INFO, READ_EVENTS_V4, SqliteFormat
from .sqlite_schema import (
    INSERT_ROW,
    ROWS_V5,
    SEQ_LIMIT,
    STORE_VERSION,
    THREAD_LIMIT,
)
from .sqlite_turn import WriteTurn
from .sqlite_wal import SAFETY_NET_PAGES, WalFolder, pages_of

_SELECT_FOR_APPEND = ("SELECT id, last_seq, full_seq, full_bytes, since_count, since_bytes "
                      "FROM threads WHERE thread = ?")
_INSERT_THREAD = ("INSERT INTO threads (thread, flow_id, created, last_seq, full_seq, full_bytes, "
                  "since_count, since_bytes, status, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
# Only over the row before: the seq check of an append whose head was known, not read (LogStore._log_known).
_UPDATE_THREAD = ("UPDATE threads SET flow_id = ?, created = ?, last_seq = ?, full_seq = ?, full_bytes = ?, "
                  "since_count = ?, since_bytes = ?, status = ?, updated = ? WHERE id = ? AND last_seq = ?")
_FIND_FLOW = "SELECT id FROM flows WHERE ir_hash = ? AND flow = ? AND source IS ? AND source_hash IS ?"
_INSERT_FLOW = "INSERT INTO flows (flow, ir_hash, source, source_hash) VALUES (?, ?, ?, ?)"
_TAKE_LEASE = ("INSERT INTO leases (thread, owner, expires) VALUES (?1, ?2, ?3) ON CONFLICT (thread) DO UPDATE "
               "SET owner = excluded.owner, expires = excluded.expires "
               "WHERE leases.owner = excluded.owner OR leases.expires <= ?4")
# The outbox (version 6): the envelope in integers, the thread's id found in the insert.
_INSERT_EVENT = ("INSERT INTO outbox (ckpt, n, kind, at, flow_id, body) VALUES "
                 "(((SELECT id FROM threads WHERE thread = ?) << 32) + ?, ?, ?, ?, ?, ?)")
_READ_EVENTS = ("SELECT o.id, o.ckpt & 4294967295, o.n, o.kind, o.at, o.body, t.thread, f.flow FROM outbox o "
                "LEFT JOIN threads t ON t.id = o.ckpt >> 32 LEFT JOIN flows f ON f.id = o.flow_id "
                "WHERE o.id > ? ORDER BY o.id LIMIT ?")



class SqliteStore(SqliteFormat, LogStore):
    """Checkpoints in a SQLite file (created with its parent directories).

    ``create=False`` opens an existing store only: a missing or empty file is
    refused, and nothing is written until something is stored (a version-1
    file is migrated then, not when opened). ``clock`` (wall-clock seconds)
    is what leases expire by, replaceable in tests."""

    def __init__(self, path: str | Path, snapshot_every: int = DEFAULT_SNAPSHOT_EVERY, *,
                 timeout: float = 30.0, synchronous: str = "NORMAL", compress: bool = True,
                 create: bool = True, clock: Callable[[], float] = time.time):
        if snapshot_every < 1:
            raise StoreError("snapshot_every must be at least 1")
        if sqlite3.sqlite_version_info < (3, 31):    # generated columns (format 5)
            raise StoreError(f"the SQLite store needs SQLite 3.31 or newer; this Python has {sqlite3.sqlite_version}")
        if synchronous.upper() not in ("NORMAL", "FULL", "EXTRA"):
            raise StoreError(f"synchronous must be NORMAL, FULL or EXTRA, not {synchronous!r}")
        super().__init__(str(path), snapshot_every)
        self.path = Path(path)
        self.compress = compress    # reading handles both kinds of row either way
        self.clock = clock
        self._create = create
        self._timeout = timeout     # how long a write waits for another process's lock
        self._synchronous = synchronous.upper()     # of every commit not asked to be durable
        self._version = STORE_VERSION       # of the file, once checked
        self._info_sql = INFO
        self._row_sql = ROWS_V5             # the checkpoint rows' layout (sqlite_schema.py)
        self._lock = threading.RLock()
        self._flow_ids: dict[tuple[str, str, str | None, str | None], int] = {}
        # Per thread: (key, stats) of the newest row this object wrote, so that
        # its next append reads nothing (LogStore._log_known); staged by
        # _log_write, kept once its transaction commits.
        self._heads: dict[str, tuple[int, Stats]] = {}
        self._staged: tuple[str, int, Stats] | None = None
        self._wal = WalFolder(self.where)   # checkpoints off the commit path (sqlite_wal.py)
        self._turn = WriteTurn(self.where, timeout)     # processes take turns to write (sqlite_turn.py)
        weakref.finalize(self, self._wal.stop)     # a store dropped unclosed leaves no thread behind
        self._written = 0                   # bytes of rows in the open transaction
        if not create and not self.path.is_file():
            raise StoreError(f"no store at {self.where}" + (" (it is a directory)" if self.path.is_dir() else ""))
        try:
            if self.path.parent != Path():
                self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory of store {self.where}: {exc.strerror}") from None
        if self.path.is_dir():
            raise StoreError(f"store {self.where} is a directory, not a database file")
        try:
            # No busy handler of SQLite's: retry_busy waits instead (sqlite_busy.py).
            self._conn = sqlite3.connect(self.where, timeout=0, isolation_level=None,
                                         check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {self.where}: {exc}") from None
        try:
            self._open_with_retries(time.monotonic() + timeout)
            self._conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            self._conn.execute(f"PRAGMA wal_autocheckpoint = {SAFETY_NET_PAGES}")
        except sqlite3.Error as exc:
            self._conn.close()
            self._raise(exc)
        except StoreError:
            self._conn.close()
            raise

    # ------------------------------------------------------------ the Store interface

    def thread(self, thread: str) -> ThreadInfo | None:
        with self._lock:
            try:
                rows = self._rows(f"{self._info_sql} WHERE t.thread = ?", (thread,))
            except sqlite3.Error as exc:
                self._raise(exc)
        return ThreadInfo(*rows[0]) if rows else None

    def threads(self) -> list[ThreadInfo]:
        with self._lock:
            try:
                rows = self._rows(f"{self._info_sql} ORDER BY t.thread", ())
            except sqlite3.Error as exc:
                self._raise(exc)
        return [ThreadInfo(*row) for row in rows]

    # ------------------------------------------------------------ the LogStore primitives

    @contextmanager
    def _transaction(self, durable: bool = False) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._writable()
            conn = self._conn
            self._staged = None
            self._written = 0
            try:
                with self._synced(durable), self._turn:
                    self._begin()
                    try:
                        yield conn
                        retry_busy(lambda: conn.execute("COMMIT"), self._timeout)
                    except BaseException:
                        self._staged = None
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        raise
            except sqlite3.Error as exc:
                self._raise(exc)
            self._wal.wrote(pages_of(self._written))
            if self._staged is not None:   # committed: the head this object now knows
                thread, key, stats = self._staged
                self._heads[thread] = (key, stats)
                self._staged = None

    @contextmanager
    def _synced(self, durable: bool) -> Iterator[None]:
        """Commit at ``synchronous=FULL`` inside (when ``durable`` and the
        store's level is lower): the level is the connection's, read by SQLite
        at each commit, so it is raised for this commit only."""
        if not durable or self._synchronous != "NORMAL":
            yield
            return
        self._conn.execute("PRAGMA synchronous = FULL")
        try:
            yield
        finally:
            self._conn.execute("PRAGMA synchronous = NORMAL")

    @contextmanager
    def _relaxed(self) -> Iterator[None]:
        """Commit at ``synchronous=NORMAL`` inside, whatever the store's level:
        for lease writes, which need no fsync (after a power loss every
        holder is gone, and a lease of a gone process on this host is taken
        over at once), so that a ``step`` run pays one fsync per checkpoint,
        not two more per call for its lease."""
        if self._synchronous == "NORMAL":
            yield
            return
        self._conn.execute("PRAGMA synchronous = NORMAL")
        try:
            yield
        finally:
            self._conn.execute(f"PRAGMA synchronous = {self._synchronous}")

    def _log_head(self, tx: sqlite3.Connection, thread: str) -> tuple[int, Stats] | None:
        row = tx.execute(_SELECT_FOR_APPEND, (thread,)).fetchone()
        return (row[0], Stats(*row[1:])) if row is not None else None

    def _log_known(self, thread: str) -> tuple[int, Stats] | None:
        # Known when this object wrote the newest row it knows of (a read
        # of a newer one since moves the tail): if another process appended
        # meanwhile, _UPDATE_THREAD finds the row moved and the append is refused.
        known = self._heads.pop(thread, None)
        tail = self._tails.get(thread)
        return known if known is not None and tail is not None and tail.seq == known[1].last_seq else None

    def _log_write(self, tx: sqlite3.Connection, info: ThreadInfo, key: int | None, seq: int, kind: str,
                   body: str, stats: Stats, status: str, pending: list[tuple[str, str, str]] | None) -> None:
        counters = (stats.last_seq, stats.full_seq, stats.full_bytes, stats.since_count, stats.since_bytes,
                    status, self.clock())
        flow_id = self._flow_id(info)
        new = key is None
        if key is None:
            key = tx.execute(_INSERT_THREAD, (info.thread, flow_id, info.created, *counters)).lastrowid
            assert key is not None
            if key >= THREAD_LIMIT:
                raise StoreError(f"store {self.where} holds 2**31 threads, the most it can key")
        elif tx.execute(_UPDATE_THREAD, (flow_id, info.created, *counters, key, seq - 1)).rowcount != 1:
            head = self._log_head(tx, info.thread)
            raise self._conflict(info.thread, head[1].last_seq + 1 if head is not None else 0, seq)
        if seq >= SEQ_LIMIT:
            raise StoreError(f"store {self.where}: thread `{info.thread}` reached 2**32 checkpoints, "
                             "the most it can key")
        stored = pack_body(body) if self.compress else body
        tx.execute(INSERT_ROW, ((key << 32) + seq, kind, stored))
        self._written += len(stored)
        self._staged = (info.thread, key, stats)
        if pending is not None:
            if not new:
                tx.execute("DELETE FROM pending WHERE thread_id = ?", (key,))
            if pending:
                tx.executemany("INSERT INTO pending (thread_id, id, node, label) VALUES (?, ?, ?, ?)",
                               [(key, *row) for row in pending])

    def _index_runs(self, flow: str | None, status: str | None, after: str | None,
                    limit: int) -> list[RunSummary]:
        self._indexed()
        rows = self._query(
            "SELECT t.thread, f.flow, t.status, t.last_seq, t.updated FROM threads t JOIN flows f "
            "ON f.id = t.flow_id WHERE (?1 IS NULL OR f.flow = ?1) AND (?2 IS NULL OR t.status = ?2) "
            "AND (?3 IS NULL OR t.thread > ?3) ORDER BY t.thread LIMIT ?4", (flow, status, after, limit))
        return [RunSummary(*row) for row in rows]

    def _index_pending(self, flow: str | None, label: str | None, after: tuple[str, str] | None,
                       limit: int) -> list[PendingRow]:
        self._indexed()
        first, second = after if after is not None else (None, None)
        rows = self._query(
            "SELECT t.thread, f.flow, p.id, p.node, p.label FROM threads t JOIN flows f ON f.id = t.flow_id "
            "JOIN pending p ON p.thread_id = t.id WHERE t.status = 'interrupted' AND (?1 IS NULL OR f.flow = ?1) "
            "AND (?2 IS NULL OR p.label = ?2) AND (?3 IS NULL OR (t.thread, p.id) > (?3, ?4)) "
            "ORDER BY t.thread, p.id LIMIT ?5", (flow, label, first, second, limit))
        return [PendingRow(*row) for row in rows]

    def _log_timers(self, tx: sqlite3.Connection, info: ThreadInfo, due: list[tuple[str, str, str]] | None,
                    events: list[StoredEvent]) -> None:
        if due is not None:
            tx.execute("DELETE FROM due WHERE thread = ?", (info.thread,))
            tx.executemany("INSERT INTO due (thread, due_at, kind, id) VALUES (?, ?, ?, ?)",
                           [(info.thread, *row) for row in due])
        if events:
            flow_id = self._flow_id(info)
            tx.executemany(_INSERT_EVENT, [
                (info.thread, e.event["seq"], *e.compact, flow_id, compact_body(e)) if e.compact is not None
                else (None, None, None, None, None, None, body_text(e)) for e in events])

    def _index_due(self, before: str, flow: str | None, after: tuple[str, str, str, str] | None,
                   limit: int) -> list[DueTimer]:
        self._timed()
        a = after or (None, None, None, None)
        rows = self._query(
            "SELECT d.thread, f.flow, d.due_at, d.kind, d.id FROM due d JOIN threads t ON t.thread = d.thread "
            "JOIN flows f ON f.id = t.flow_id WHERE d.due_at <= ?1 AND (?2 IS NULL OR f.flow = ?2) "
            "AND (?3 IS NULL OR (d.due_at, d.thread, d.kind, d.id) > (?3, ?4, ?5, ?6)) "
            "ORDER BY d.due_at, d.thread, d.kind, d.id LIMIT ?7", (before, flow, *a, limit))
        return [DueTimer(*row) for row in rows]

    def _outbox_read(self, after: int, limit: int) -> list[tuple[int, StoredEvent]]:
        self._timed()
        if self._version < 6:     # opened to read, as it is
            return [(id_, from_text(body, {"key": key, "event": kind, "thread": thread}))
                    for id_, key, thread, kind, body in self._query(READ_EVENTS_V4, (after, limit))]
        return [(id_, from_row(thread, flow, seq, n, kind, at, body))
                for id_, seq, n, kind, at, body, thread, flow in self._query(_READ_EVENTS, (after, limit))]

    def _outbox_ack(self, ids: list[int]) -> int:
        with self._transaction() as tx:
            return sum(tx.execute("DELETE FROM outbox WHERE id = ?", (i,)).rowcount for i in ids)

    def _timed(self) -> None:
        if self._version < 4:
            raise StoreError(f"store {self.where} predates the due index and outbox (store format version "
                             f"{self._version}): run `fermata store migrate sqlite:///{self.where}` first")

    def _indexed(self) -> None:
        if self._version < 3:
            raise StoreError(f"store {self.where} predates the run index (store format version {self._version}): "
                             f"run `fermata store migrate sqlite:///{self.where}` first")

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._rows(sql, params)

    def _log_finish(self, tx: sqlite3.Connection, thread: str, owner: str | None, drop_once: bool) -> None:
        if drop_once:
            tx.execute("DELETE FROM once_results WHERE thread = ?", (thread,))
        if owner is not None:
            tx.execute("DELETE FROM leases WHERE thread = ? AND owner = ?", (thread, owner))

    def _rows_latest(self, thread: str) -> list[Row]:
        with self._lock:
            return self._rows(self._row_sql.latest, (thread,))

    def _rows_up_to(self, thread: str, seq: int) -> list[Row]:
        with self._lock:
            id_row = self._rows("SELECT id FROM threads WHERE thread = ?", (thread,))
            if not id_row:
                return []
            return self._rows(self._row_sql.up_to, (id_row[0][0], seq))

    def _rows_all(self, thread: str) -> list[Row]:
        with self._lock:
            return self._rows(self._row_sql.all, (thread,))

    def head(self, thread: str) -> int:
        with self._lock:
            rows = self._rows("SELECT last_seq FROM threads WHERE thread = ?", (thread,))
        return int(rows[0][0]) if rows else -1

    def close(self) -> None:
        with self._lock:
            self._wal.close()
            self._conn.close()
            self._turn.close()

    # ------------------------------------------------------------ lease and once primitives
    # (the algorithms are Store's, written once)

    def _lease_take(self, thread: str, owner: str, ttl_s: float) -> bool:
        # One statement, so one write transaction: insert the lease, or take
        # it over when it is ours or expired.
        with self._lock:
            self._writable()
            now = self.clock()
            try:
                with self._relaxed(), self._turn:
                    return retry_busy(lambda: self._conn.execute(_TAKE_LEASE, (thread, owner, now + ttl_s, now)),
                                      self._timeout).rowcount == 1
            except sqlite3.Error as exc:
                self._raise(exc)

    def _lease_read(self, thread: str) -> tuple[Lease, float] | None:
        if self._version < 2:
            return None
        with self._lock:
            rows = self._rows("SELECT owner, expires FROM leases WHERE thread = ?", (thread,))
        return (Lease(thread, *rows[0]), self.clock()) if rows else None

    def _lease_swap(self, thread: str, held: Lease, owner: str, ttl_s: float) -> bool:
        return self._change("UPDATE leases SET owner = ?, expires = ? WHERE thread = ? AND owner = ? AND expires = ?",
                            (owner, self.clock() + ttl_s, thread, held.owner, held.expires), relaxed=True) == 1

    def _lease_extend(self, thread: str, owner: str, ttl_s: float) -> bool:
        return self._change("UPDATE leases SET expires = ? WHERE thread = ? AND owner = ?",
                            (self.clock() + ttl_s, thread, owner), relaxed=True) == 1

    def _lease_drop(self, thread: str, owner: str) -> None:
        self._change("DELETE FROM leases WHERE thread = ? AND owner = ?", (thread, owner), relaxed=True)

    def _once_put(self, thread: str, node: str, index: int, step: int, entry: str, durable: bool) -> None:
        with self._lock:
            self._writable()
            try:
                with self._synced(durable), self._turn:
                    retry_busy(lambda: self._conn.execute(
                        "INSERT OR REPLACE INTO once_results (thread, node, idx, step, entry) VALUES (?, ?, ?, ?, ?)",
                        (thread, node, index, step, entry)), self._timeout)
            except sqlite3.Error as exc:
                self._raise(exc)

    def _once_rows(self, thread: str) -> list[tuple[Any, Any, Any, Any]]:
        if self._version < 2:
            return []
        with self._lock:
            return self._rows("SELECT node, idx, step, entry FROM once_results WHERE thread = ? ORDER BY node, idx",
                              (thread,))

    def _once_drop(self, thread: str) -> None:
        self._change("DELETE FROM once_results WHERE thread = ?", (thread,))

    def _change(self, sql: str, params: tuple[Any, ...], relaxed: bool = False) -> int:
        """One autocommitted write; the number of rows it changed."""
        with self._lock:
            try:
                if relaxed:
                    with self._relaxed(), self._turn:
                        return retry_busy(lambda: self._conn.execute(sql, params), self._timeout).rowcount
                with self._turn:
                    return retry_busy(lambda: self._conn.execute(sql, params), self._timeout).rowcount
            except sqlite3.Error as exc:
                self._raise(exc)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ helpers

    def _flow_id(self, info: ThreadInfo) -> int:
        """The ``flows`` row of the thread's flow version (inside the append's
        transaction; ids never change, so they are cached)."""
        key = (info.flow, info.ir_hash, info.source, info.source_hash)
        flow_id = self._flow_ids.get(key)
        if flow_id is None:
            row = self._conn.execute(_FIND_FLOW, (info.ir_hash, info.flow, info.source,
                                                  info.source_hash)).fetchone()
            flow_id = row[0] if row is not None else self._conn.execute(_INSERT_FLOW, key).lastrowid
            assert flow_id is not None
            self._flow_ids[key] = flow_id
        return flow_id

    def _begin(self) -> None:
        """Take the write lock now (BEGIN IMMEDIATE), waiting for another
        process's turn in short sleeps (sqlite_busy.py)."""
        retry_busy(lambda: self._conn.execute("BEGIN IMMEDIATE"), self._timeout)

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            return retry_busy(lambda: self._conn.execute(sql, params).fetchall(), self._timeout)
        except sqlite3.Error as exc:
            self._raise(exc)

    # -- for tests and benchmarks

    def stored_bytes(self) -> int:
        """Total size of every row body as stored (UTF-8 or deflated)."""
        with self._lock:
            (total,) = self._rows("SELECT coalesce(sum(length(CAST(body AS BLOB))), 0) FROM checkpoints", ())[0]
        return int(total)
