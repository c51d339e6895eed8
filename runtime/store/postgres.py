"""The PostgreSQL store: runs in a database many processes (and machines) share.

    store = open_store("postgresql://user@host/db")   # also postgres://

Everything lives in the schema ``fermata`` (``migrations/postgres/*.sql``,
applied in order; ``fermata.meta`` holds the version). Creating it is
explicit and idempotent (``fermata store init URL``, :func:`init_schema`) and
also happens on first use of a store opened to write, with a log line. A
schema newer than this code knows is refused; an older one is refused until
``fermata store migrate URL`` brings it up to date.

Concurrency and durability:

* an append is one transaction that locks the thread's row
  (``SELECT ... FOR UPDATE``) before checking the seq: of two writers of the
  same seq, the second sees the first's row and gets
  :class:`StoreConflictError`; two first appends of a new thread meet the
  ``UNIQUE`` constraint, and the loser gets the same error;
* a run's lease is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` (taken
  when free, ours or expired) and expires by the *database's* clock, so the
  holders' clocks never matter;
* durability per transaction: a commit asked to be durable (a pause, the
  end, a ``call once`` result, an accepted answer or submission: see
  docs/guide/durability.md) waits for its WAL to be flushed (``SET LOCAL
  synchronous_commit TO DEFAULT``: the server's, database's or role's
  setting, ``on`` unless an administrator chose otherwise); every other
  commit (intermediate checkpoints, leases, claims, reads) runs with the
  session's ``synchronous_commit = off`` and returns before the flush. The
  server writes its WAL in order, so a durable commit's flush covers every
  commit before it: after a crash of the server's machine the run is never
  older than its last durable commit.

Round trips (each costs a context switch on a busy machine, often more
than the statement itself):

* a write transaction runs in pipeline mode: its statements are sent
  together and the commit waits once for all of them;
* an append skips the ``SELECT ... FOR UPDATE`` of the thread's head when
  this store object wrote (or read) the newest row itself: the head is
  then known, and a writer that moved it meanwhile still loses, on the
  ``(thread_id, seq)`` primary key of the row it also inserts;
* taking a lease also reads, in the same round trip, the run's newest seq
  and its saved ``once`` results, which the caller reads next under it;
* a worker's claim also reads the run's thread row and newest rows (see
  ``work_sql.py``): planning reads, checked again under the lease.

psycopg (3) is imported only here, so only for ``postgresql://`` URLs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any, NoReturn, Self

from ..checkpoint import Lease, ThreadInfo
from ..errors import StoreConflictError, StoreError
from .base import DueTimer, PendingRow, RunSummary
from .logstore import LogStore, Row
from .outbox import StoredEvent, body_text, from_text
from .rows import DEFAULT_SNAPSHOT_EVERY, Stats

if TYPE_CHECKING:
    import psycopg

STORE_FORMAT = "fermata-runs"
log = logging.getLogger("fermata.store")

# Serialises schema changes of concurrent first uses (any constant key).
_SCHEMA_LOCK = 0x6665726D617461


def migrations() -> list[tuple[int, str]]:
    """``(version, sql)`` of every migration in the package, in order."""
    folder = resources.files("fermata.runtime.store").joinpath("migrations/postgres")
    found = []
    for item in folder.iterdir():
        name = item.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), item.read_text(encoding="utf-8")))
    return sorted(found)


SCHEMA_VERSION = max(version for version, _ in migrations())


def _driver() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError("a postgresql:// store needs psycopg 3: pip install 'fermata[postgres]'") from None
    return psycopg


def _redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{host}"


def _connect(url: str) -> psycopg.Connection[Any]:
    psycopg = _driver()
    # A server that does not answer is an error after 10 s, not a hang
    # (unless the URL sets its own connect_timeout).
    timeout = {} if "connect_timeout" in url else {"connect_timeout": 10}
    try:
        return psycopg.connect(url, autocommit=True, **timeout)  # type: ignore[no-any-return]
    except psycopg.Error as exc:
        raise StoreError(f"cannot reach store {_redact(url)}: {str(exc).strip()}") from None


def schema_version(conn: psycopg.Connection[Any]) -> int | None:
    """The database's Fermata schema version (None: no schema)."""
    (exists,) = conn.execute("SELECT to_regclass('fermata.meta') IS NOT NULL").fetchone() or (False,)
    if not exists:
        return None
    meta = dict(conn.execute("SELECT key, value FROM fermata.meta").fetchall())
    if meta.get("format") != STORE_FORMAT or not str(meta.get("version", "")).isdigit():
        raise StoreError("the database's schema `fermata` is not a Fermata run store (its meta table "
                         f"says {meta!r})")
    return int(meta["version"])


def _apply_migrations(conn: psycopg.Connection[Any], where: str) -> tuple[int | None, int]:
    """Bring the schema to :data:`SCHEMA_VERSION` in one transaction, under
    an advisory lock (another process may be doing the same).

    The lock is the session's, taken *before* the transaction begins: a
    backend reads catalog changes other sessions committed only at the start
    of a transaction (or when it locks a relation), so a transaction that
    first waited for a lock held by another process creating the schema
    would still see no schema and create it again ("relation meta already
    exists")."""
    conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
    try:
        with conn.transaction():
            before = schema_version(conn)
            if before is not None and before > SCHEMA_VERSION:
                raise _newer(where, before)
            for version, sql in migrations():
                if before is None or version > before:
                    conn.execute(sql.encode())
            conn.execute("UPDATE fermata.meta SET value = %s WHERE key = 'version'", (str(SCHEMA_VERSION),))
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))
    return before, SCHEMA_VERSION


def _newer(where: str, version: int) -> StoreError:
    return StoreError(f"store {where} has Fermata schema version {version}, newer than this Fermata knows "
                      f"({SCHEMA_VERSION}): upgrade Fermata")


def init_schema(url: str, *, migrate: bool = False) -> tuple[int | None, int]:
    """Create the schema of ``url`` (idempotent: an up-to-date one is left as
    it is); with ``migrate``, also bring an older one up to date, and refuse a
    database without one. ``(version before, version now)``; before is None
    when there was none."""
    conn = _connect(url)
    where = _redact(url)
    try:
        found = schema_version(conn)
        if found is not None and found > SCHEMA_VERSION:
            raise _newer(where, found)
        if migrate and found is None:
            raise StoreError(f"no Fermata store in {where} to migrate: create one with `fermata store init {where}`")
        if not migrate and found is not None and found < SCHEMA_VERSION:
            raise StoreError(f"store {where} has Fermata schema version {found}, older than this Fermata's "
                             f"({SCHEMA_VERSION}): run `fermata store migrate {where}`")
        if found == SCHEMA_VERSION:
            return found, found
        return _apply_migrations(conn, where)
    except _driver().Error as exc:
        raise StoreError(f"store {_redact(url)}: {str(exc).strip()}") from None
    finally:
        conn.close()


_INFO = "SELECT thread, flow, ir_hash, source, created, source_hash FROM fermata.threads"
_HEAD = ("SELECT id, last_seq, full_seq, full_bytes, since_count, since_bytes FROM fermata.threads "
         "WHERE thread = %s FOR UPDATE")
_INSERT_THREAD = ("INSERT INTO fermata.threads (thread, flow, ir_hash, source, source_hash, created, last_seq, "
                  "full_seq, full_bytes, since_count, since_bytes, status) "
                  "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id")
_UPDATE_THREAD = ("UPDATE fermata.threads SET flow = %s, ir_hash = %s, source = %s, source_hash = %s, "
                  "created = %s, last_seq = %s, full_seq = %s, full_bytes = %s, since_count = %s, "
                  "since_bytes = %s, status = %s, updated_at = now() WHERE id = %s")
_INSERT_ROW = "INSERT INTO fermata.checkpoints (thread_id, seq, kind, body) VALUES (%s, %s, %s, %s)"
_LATEST_ROWS = ("SELECT c.seq, c.kind, c.body FROM fermata.threads t JOIN fermata.checkpoints c "
                "ON c.thread_id = t.id AND c.seq >= t.full_seq WHERE t.thread = %s ORDER BY c.seq")
_ROWS_UP_TO = ("SELECT c.seq, c.kind, c.body FROM fermata.threads t JOIN fermata.checkpoints c "
               "ON c.thread_id = t.id WHERE t.thread = %(t)s AND c.seq <= %(s)s AND c.seq >= "
               "(SELECT max(f.seq) FROM fermata.checkpoints f WHERE f.thread_id = t.id AND f.kind = 'full' "
               "AND f.seq <= %(s)s) ORDER BY c.seq")
# _ROWS_UP_TO for many (thread, seq) at once (the outbox's references).
_ROWS_UP_TO_MANY = ("SELECT w.thread, w.seq, c.seq, c.kind, c.body FROM unnest(%(t)s::text[], %(s)s::int[]) "
                    "AS w (thread, seq) JOIN fermata.threads t ON t.thread = w.thread JOIN fermata.checkpoints c "
                    "ON c.thread_id = t.id AND c.seq <= w.seq AND c.seq >= (SELECT max(f.seq) FROM "
                    "fermata.checkpoints f WHERE f.thread_id = t.id AND f.kind = 'full' AND f.seq <= w.seq) "
                    "ORDER BY w.thread, w.seq, c.seq")
_ALL_ROWS = ("SELECT c.seq, c.kind, c.body FROM fermata.threads t JOIN fermata.checkpoints c "
             "ON c.thread_id = t.id WHERE t.thread = %s ORDER BY c.seq")
_TAKE_LEASE = ("INSERT INTO fermata.leases AS l (thread, owner, expires_at) "
               "VALUES (%(t)s, %(o)s, now() + make_interval(secs => %(ttl)s)) ON CONFLICT (thread) DO UPDATE "
               "SET owner = excluded.owner, expires_at = excluded.expires_at "
               "WHERE l.owner = excluded.owner OR l.expires_at <= now() RETURNING owner")
_COLUMNS = ("key", "event", "thread")    # of an outbox event, kept as columns of its row
_HEAD_SEQ = "SELECT last_seq FROM fermata.threads WHERE thread = %s"
_ONCE_ROWS = "SELECT node, idx, step, entry FROM fermata.once_results WHERE thread = %s ORDER BY node, idx"
# Durable transactions wait for the WAL flush the server is configured with;
# the session's own default (set when the store connects) is `off`.
_DURABLE = "SET LOCAL synchronous_commit TO DEFAULT"
_READ_LEASE = ("SELECT owner, extract(epoch FROM expires_at)::float8, extract(epoch FROM now())::float8 "
               "FROM fermata.leases WHERE thread = %s")


class PostgresStore(LogStore):
    """Checkpoints in a PostgreSQL database (see the module's doc).

    ``create=False`` (commands that only read, and resumes) refuses a
    database without the schema instead of creating it."""

    def __init__(self, url: str, snapshot_every: int = DEFAULT_SNAPSHOT_EVERY, *, create: bool = True):
        super().__init__(_redact(url), snapshot_every)
        self.url = url
        self._lock = threading.RLock()
        self._psycopg = _driver()
        self._conn = _connect(url)
        # Per thread: (key, stats) of the newest row this object wrote, so
        # that its next append needs no SELECT ... FOR UPDATE (module doc).
        self._heads: dict[str, tuple[int, Stats]] = {}
        self._staged: tuple[str, int, Stats] | None = None
        # Read in the round trip of another statement, for the very next
        # read of the same thing: (thread, newest seq, once rows) after a
        # lease was taken, (thread, info row, newest rows) by a worker's claim.
        self._lease_head: tuple[str, int] | None = None
        self._lease_once: tuple[str, list[tuple[Any, Any, Any, Any]]] | None = None
        self._prefetched: tuple[str, tuple[Any, ...] | None, list[Row] | None] | None = None
        try:
            version = schema_version(self._conn)
            if version is None:
                if not create:
                    raise StoreError(f"no Fermata store in {self.where} (its schema `fermata` does not exist); "
                                     f"create it with `fermata store init {self.where}`")
                before, _ = _apply_migrations(self._conn, self.where)
                if before is None:      # not another process, which got there first
                    log.warning("created the Fermata store schema (version %d) in %s", SCHEMA_VERSION, self.where)
            elif version > SCHEMA_VERSION:
                raise _newer(self.where, version)
            elif version < SCHEMA_VERSION:
                raise StoreError(f"store {self.where} has Fermata schema version {version}, older than this "
                                 f"Fermata's ({SCHEMA_VERSION}): run `fermata store migrate {self.where}`")
        except self._psycopg.Error as exc:
            self._conn.close()
            self._raise(exc)
        except StoreError:
            self._conn.close()
            raise
        self._conn.execute("SET synchronous_commit = off")

    def _forget(self) -> None:
        """Drop what this object remembers of the database (after an error:
        the connection may be gone, the server may have lost commits)."""
        self._heads.clear()
        self._lease_head = self._lease_once = self._prefetched = None

    def _raise(self, exc: Exception) -> NoReturn:
        self._forget()
        errors = self._psycopg.errors
        if isinstance(exc, errors.UniqueViolation):
            raise StoreConflictError(f"store {self.where}: another process appended to this run at the same "
                                     "time (reload it and retry)") from None
        if isinstance(exc, self._psycopg.OperationalError):
            raise StoreError(f"store {self.where}: the database connection failed ({str(exc).strip()})") from None
        raise StoreError(f"store {self.where}: {str(exc).strip()}") from None

    def _query(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except self._psycopg.Error as exc:
                self._raise(exc)

    def _run(self, sql: str, params: Any = ()) -> int:
        with self._lock:
            try:
                return self._conn.execute(sql, params).rowcount
            except self._psycopg.Error as exc:
                self._raise(exc)

    # ------------------------------------------------------------ the Store interface

    def thread(self, thread: str) -> ThreadInfo | None:
        found = self._prefetched
        if found is not None and found[0] == thread:
            if found[1] is None:
                self._prefetched = None
            return ThreadInfo(*found[1]) if found[1] is not None else None
        self._prefetched = None
        rows = self._query(f"{_INFO} WHERE thread = %s", (thread,))
        return ThreadInfo(*rows[0]) if rows else None

    def prefetched(self, thread: str, info: tuple[Any, ...] | None, rows: list[Row],
                   head: tuple[int, Stats] | None = None) -> None:
        """Serve the next ``thread(thread)`` and ``latest(thread)`` from these
        (read by a worker's claim in its round trip): planning reads, which
        ``Flow`` checks against the head it reads under the run's lease.
        ``head``: the thread's key and stats as read with ``rows``, for the
        next append (if the run moved meanwhile, ``Flow`` reads it anew,
        and an append that still raced loses on the row's key)."""
        self._prefetched = (thread, info, rows if info is not None else None)
        if head is not None and rows and rows[-1][0] == head[1].last_seq:
            self._heads[thread] = head

    def threads(self) -> list[ThreadInfo]:
        return [ThreadInfo(*row) for row in self._query(f"{_INFO} ORDER BY thread")]

    def head(self, thread: str) -> int:
        found, self._lease_head = self._lease_head, None
        if found is not None and found[0] == thread:
            return found[1]
        rows = self._query(_HEAD_SEQ, (thread,))
        return int(rows[0][0]) if rows else -1

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ the LogStore primitives

    @contextmanager
    def _transaction(self, durable: bool = False) -> Iterator[psycopg.Connection[Any]]:
        with self._lock:
            self._staged = None
            try:
                # Pipeline mode: the statements go out together; a fetch
                # inside, and the commit, wait for what was sent before them.
                with self._conn.pipeline(), self._conn.transaction():
                    if durable:
                        self._conn.execute(_DURABLE)
                    yield self._conn
            except self._psycopg.Error as exc:
                self._staged = None
                self._raise(exc)
            except BaseException:
                if self._staged is not None:
                    self._heads.pop(self._staged[0], None)
                self._staged = None
                raise
            if self._staged is not None:   # committed: the head this object now knows
                thread, key, stats = self._staged
                self._heads[thread] = (key, stats)
                self._staged = None

    def _log_head(self, tx: psycopg.Connection[Any], thread: str) -> tuple[int, Stats] | None:
        self._lease_head = self._lease_once = self._prefetched = None
        known = self._heads.pop(thread, None)
        tail = self._tails.get(thread)
        if known is not None and tail is not None and tail.seq == known[1].last_seq:
            # This object wrote the newest row (or read it since): a writer
            # that appended meanwhile makes this append fail on the row's key.
            return known
        row = tx.execute(_HEAD, (thread,)).fetchone()
        return (row[0], Stats(*row[1:])) if row is not None else None

    def _log_write(self, tx: psycopg.Connection[Any], info: ThreadInfo, key: int | None, seq: int, kind: str,
                   body: str, stats: Stats, status: str, pending: list[tuple[str, str, str]] | None) -> None:
        meta = (info.flow, info.ir_hash, info.source, info.source_hash, info.created)
        counters = (stats.last_seq, stats.full_seq, stats.full_bytes, stats.since_count, stats.since_bytes)
        if key is None:
            found = tx.execute(_INSERT_THREAD, (info.thread, *meta, *counters, status)).fetchone()
            assert found is not None
            key = int(found[0])
        else:
            tx.execute(_UPDATE_THREAD, (*meta, *counters, status, key))
        tx.execute(_INSERT_ROW, (key, seq, kind, body))
        self._staged = (info.thread, key, stats)
        if pending is not None:
            tx.execute("DELETE FROM fermata.pending WHERE thread_id = %s", (key,))
            if pending:
                with tx.cursor() as cursor:
                    cursor.executemany("INSERT INTO fermata.pending (thread_id, id, node, label) "
                                       "VALUES (%s, %s, %s, %s)", [(key, *row) for row in pending])

    def _index_runs(self, flow: str | None, status: str | None, after: str | None,
                    limit: int) -> list[RunSummary]:
        rows = self._query(
            "SELECT thread, flow, status, last_seq, extract(epoch FROM updated_at)::float8 FROM fermata.threads "
            "WHERE (%(f)s::text IS NULL OR flow = %(f)s) AND (%(s)s::text IS NULL OR status = %(s)s) "
            "AND (%(a)s::text IS NULL OR thread > %(a)s) ORDER BY thread LIMIT %(n)s",
            {"f": flow, "s": status, "a": after, "n": limit})
        return [RunSummary(*row) for row in rows]

    def _index_pending(self, flow: str | None, label: str | None, after: tuple[str, str] | None,
                       limit: int) -> list[PendingRow]:
        rows = self._query(
            "SELECT t.thread, t.flow, p.id, p.node, p.label FROM fermata.threads t "
            "JOIN fermata.pending p ON p.thread_id = t.id WHERE t.status = 'interrupted' "
            "AND (%(f)s::text IS NULL OR t.flow = %(f)s) AND (%(l)s::text IS NULL OR p.label = %(l)s) "
            "AND (%(a)s::text IS NULL OR (t.thread, p.id) > (%(a)s, %(b)s)) ORDER BY t.thread, p.id LIMIT %(n)s",
            {"f": flow, "l": label, "a": after[0] if after else None, "b": after[1] if after else None,
             "n": limit})
        return [PendingRow(*row) for row in rows]

    def _log_timers(self, tx: psycopg.Connection[Any], info: ThreadInfo, due: list[tuple[str, str, str]] | None,
                    events: list[StoredEvent]) -> None:
        with tx.cursor() as cursor:
            if due is not None:
                cursor.execute("DELETE FROM fermata.due WHERE thread = %s", (info.thread,))
                if due:
                    cursor.executemany("INSERT INTO fermata.due (thread, due_at, kind, id) VALUES (%s, %s, %s, %s)",
                                       [(info.thread, *row) for row in due])
            if events:
                # key, thread and kind are columns (looked up by); the body the rest.
                cursor.executemany("INSERT INTO fermata.outbox (key, thread, event, body) VALUES (%s, %s, %s, %s)",
                                   [(e.event["key"], e.event["thread"], e.event["event"], body_text(e, _COLUMNS))
                                    for e in events])

    def _index_due(self, before: str, flow: str | None, after: tuple[str, str, str, str] | None,
                   limit: int) -> list[DueTimer]:
        a = after or (None, None, None, None)
        rows = self._query(
            "SELECT d.thread, t.flow, d.due_at, d.kind, d.id FROM fermata.due d JOIN fermata.threads t "
            "ON t.thread = d.thread WHERE d.due_at <= %(b)s AND (%(f)s::text IS NULL OR t.flow = %(f)s) "
            "AND (%(a)s::text IS NULL OR (d.due_at, d.thread, d.kind, d.id) > (%(a)s, %(t)s, %(k)s, %(i)s)) "
            "ORDER BY d.due_at, d.thread, d.kind, d.id LIMIT %(n)s",
            {"b": before, "f": flow, "a": a[0], "t": a[1], "k": a[2], "i": a[3], "n": limit})
        return [DueTimer(*row) for row in rows]

    def _outbox_read(self, after: int, limit: int) -> list[tuple[int, StoredEvent]]:
        rows = self._query("SELECT id, key, thread, event, body FROM fermata.outbox WHERE id > %s ORDER BY id "
                           "LIMIT %s", (after, limit))
        return [(int(id_), from_text(body, {"key": key, "event": kind, "thread": thread}))
                for id_, key, thread, kind, body in rows]

    def _outbox_ack(self, ids: list[int]) -> int:
        return self._run("DELETE FROM fermata.outbox WHERE id = ANY(%s)", (ids,)) if ids else 0

    def _log_finish(self, tx: psycopg.Connection[Any], thread: str, owner: str | None, drop_once: bool) -> None:
        if drop_once:
            tx.execute("DELETE FROM fermata.once_results WHERE thread = %s", (thread,))
        if owner is not None:
            tx.execute("DELETE FROM fermata.leases WHERE thread = %s AND owner = %s", (thread, owner))

    def _rows_latest(self, thread: str) -> list[Row]:
        found = self._prefetched
        self._prefetched = None
        if found is not None and found[0] == thread and found[2] is not None:
            return found[2]
        return self._query(_LATEST_ROWS, (thread,))

    def _rows_up_to(self, thread: str, seq: int) -> list[Row]:
        return self._query(_ROWS_UP_TO, {"t": thread, "s": seq})

    def _rows_all(self, thread: str) -> list[Row]:
        return self._query(_ALL_ROWS, (thread,))

    def _rows_up_to_many(self, wanted: list[tuple[str, int]]) -> dict[tuple[str, int], list[Row]]:
        found: dict[tuple[str, int], list[Row]] = {}
        rows = self._query(_ROWS_UP_TO_MANY, {"t": [t for t, _ in wanted], "s": [s for _, s in wanted]})
        for thread, at, seq, kind, body in rows:
            found.setdefault((thread, at), []).append((seq, kind, body))
        return found

    # ------------------------------------------------------------ lease and once primitives
    # (the algorithms are Store's, written once; leases go by the database's clock)

    def _lease_take(self, thread: str, owner: str, ttl_s: float) -> bool:
        # One round trip: the lease, then (each statement seeing what was
        # committed before it ran) the run's newest seq and its saved once
        # results, which Flow reads next under the lease.
        with self._lock:
            self._lease_head = self._lease_once = None
            try:
                with self._conn.pipeline():
                    took = self._conn.execute(_TAKE_LEASE, {"t": thread, "o": owner, "ttl": float(ttl_s)})
                    head = self._conn.execute(_HEAD_SEQ, (thread,))
                    once = self._conn.execute(_ONCE_ROWS, (thread,))
                taken = bool(took.fetchall())
                seq = head.fetchall()
                rows = once.fetchall()
                if taken:
                    self._lease_head = (thread, int(seq[0][0]) if seq else -1)
                    self._lease_once = (thread, rows)
                return taken
            except self._psycopg.Error as exc:
                self._raise(exc)

    def _lease_read(self, thread: str) -> tuple[Lease, float] | None:
        rows = self._query(_READ_LEASE, (thread,))
        if not rows:
            return None
        holder, expires, now = rows[0]
        return Lease(thread, holder, expires), now

    def _lease_swap(self, thread: str, held: Lease, owner: str, ttl_s: float) -> bool:
        return self._run("UPDATE fermata.leases SET owner = %s, expires_at = now() + make_interval(secs => %s) "
                         "WHERE thread = %s AND owner = %s", (owner, float(ttl_s), thread, held.owner)) == 1

    def _lease_extend(self, thread: str, owner: str, ttl_s: float) -> bool:
        return self._run("UPDATE fermata.leases SET expires_at = now() + make_interval(secs => %s) "
                         "WHERE thread = %s AND owner = %s", (float(ttl_s), thread, owner)) == 1

    def _lease_drop(self, thread: str, owner: str) -> None:
        self._run("DELETE FROM fermata.leases WHERE thread = %s AND owner = %s", (thread, owner))

    def _once_put(self, thread: str, node: str, index: int, step: int, entry: str, durable: bool) -> None:
        with self._transaction(durable) as tx:
            tx.execute("INSERT INTO fermata.once_results (thread, node, idx, step, entry) VALUES (%s, %s, %s, %s, %s) "
                       "ON CONFLICT (thread, node, idx) DO UPDATE SET step = excluded.step, entry = excluded.entry",
                       (thread, node, index, step, entry))

    def _once_rows(self, thread: str) -> list[tuple[Any, Any, Any, Any]]:
        found, self._lease_once = self._lease_once, None
        if found is not None and found[0] == thread:
            return found[1]
        return self._query(_ONCE_ROWS, (thread,))

    def _once_drop(self, thread: str) -> None:
        self._run("DELETE FROM fermata.once_results WHERE thread = %s", (thread,))

    # -- for tests and benchmarks

    def stored_bytes(self) -> int:
        """Total size of every row body (UTF-8)."""
        (total,) = self._query("SELECT coalesce(sum(octet_length(body)), 0) FROM fermata.checkpoints")[0]
        return int(total)
