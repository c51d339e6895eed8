"""Opening a SQLite store's file: creating the schema in a new one, refusing
a foreign or newer one, migrating an older one, and what a SQLite error
means for the user (``StoreError`` messages by ``sqlite_errorname``).

A mixin of :class:`~fermata.runtime.store.sqlite.SqliteStore`, apart so that
the store's module holds the reads and writes of a store in use.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import TYPE_CHECKING, NoReturn

from ..errors import StoreError
from .base import pending_rows
from .outbox import body_text, from_text
from .sqlite_busy import is_busy
from .sqlite_schema import MIGRATIONS, ROWS_V4, ROWS_V5, SCHEMA, STORE_FORMAT, STORE_VERSION, TABLES, RowQueries

if TYPE_CHECKING:
    from ..checkpoint import Checkpoint
    from .logstore import Row

# A thread's ThreadInfo (the store reads it; a version-1 file has no source_hash).
INFO = ("SELECT t.thread, f.flow, f.ir_hash, f.source, t.created, f.source_hash FROM threads t "
        "JOIN flows f ON f.id = t.flow_id")
INFO_V1 = INFO.replace("f.source_hash", "NULL")   # reading a version-1 file as it is
READ_EVENTS_V4 = "SELECT id, key, thread, event, body FROM outbox WHERE id > ? ORDER BY id LIMIT ?"


class SqliteFormat:
    """The opening half of :class:`SqliteStore` (which sets these attributes)."""

    where: str
    _conn: sqlite3.Connection
    _create: bool
    _version: int
    _info_sql: str
    _row_sql: RowQueries
    _lock: threading.RLock

    if TYPE_CHECKING:     # SqliteStore's and LogStore's, declared for the type checker only
        def _begin(self) -> None: ...

        def _decode(self, thread: str, rows: list[Row]) -> list[Checkpoint]: ...

    def _open_with_retries(self, deadline: float) -> None:
        """Create or check the schema and switch to WAL. Several processes may
        open a new file at once; switching its journal mode takes a lock for
        which SQLite's busy handler is not always called, so a lost race is
        retried here until the timeout."""
        pause = 0.005
        while True:
            try:
                self._prepare()
                mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise StoreError(f"store {self.where}: SQLite cannot use WAL mode here (got {mode}); "
                                     "is the file on a network file system?")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.1)

    # ------------------------------------------------------------ opening

    def _prepare(self) -> None:
        """Create the schema in a new (empty) file; refuse anything else
        that is not a Fermata store of a version this code reads."""
        conn = self._conn
        if not self._tables():
            if not self._create:
                raise StoreError(f"{self.where} is empty: not a Fermata store (no run was ever stored "
                                 "in it); check --store or $FERMATA_STORE")
            self._begin()
            try:
                if not self._tables():   # another process may have won the race
                    # statement by statement: executescript would commit first
                    for statement in SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                                     [("format", STORE_FORMAT), ("version", str(STORE_VERSION))])
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        self._check_format()

    def _tables(self) -> set[str]:
        return {name for (name,) in self._conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}

    def _check_format(self) -> None:
        tables = self._tables()
        foreign = (f"{self.where} is not a Fermata run store (it holds tables "
                   f"{', '.join(sorted(tables))}); point the store at another file")
        if "meta" not in tables:
            raise StoreError(foreign)
        try:
            meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.OperationalError as exc:
            if is_busy(exc):    # another process is creating the file or switching it to WAL: retried
                raise
            raise StoreError(foreign) from None
        if meta.get("format") != STORE_FORMAT:
            raise StoreError(foreign)
        version = meta.get("version")
        if not (isinstance(version, str) and version.isdigit()):
            raise StoreError(f"{self.where}: the store's format version is unreadable ({version!r})")
        if int(version) > STORE_VERSION:
            raise StoreError(f"{self.where} was written by a newer Fermata (store format version "
                             f"{version}; this one reads version {STORE_VERSION}): upgrade Fermata")
        if int(version) < 1:
            raise StoreError(f"{self.where} has store format version {version}, which this Fermata "
                             f"does not read (it reads versions 1 to {STORE_VERSION})")
        self._version = int(version)
        needed = TABLES[self._version]
        if not needed <= tables:
            raise StoreError(f"{self.where} is a damaged Fermata store: table(s) "
                             f"{', '.join(sorted(needed - tables))} missing")
        if self._version < STORE_VERSION:
            if self._create:
                self._migrate()
            elif self._version < 5:
                self._row_sql = ROWS_V4
                if self._version < 2:
                    self._info_sql = INFO_V1

    def _migrate(self) -> None:
        """Bring an older file to the current version, in one transaction
        (another process may be doing the same: the version is read again
        inside it)."""
        conn = self._conn
        self._begin()
        try:
            (version,) = conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            for start in range(int(version), STORE_VERSION):
                for statement in MIGRATIONS[start].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                if start == 2:
                    self._fill_run_index()
                if start == 5:
                    self._convert_outbox()
            conn.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(STORE_VERSION),))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._version = STORE_VERSION
        self._info_sql = INFO
        self._row_sql = ROWS_V5

    def migrate(self) -> tuple[int, int]:
        """Bring the file to this code's format: ``(version before, after)``."""
        before = self._version
        with self._lock:
            self._writable()
        return before, self._version

    def _fill_run_index(self) -> None:
        """Version 3's run index for the runs stored before it: each run's
        newest checkpoint decoded once (inside the migration's transaction)."""
        conn = self._conn
        for thread_id, thread in conn.execute("SELECT id, thread FROM threads").fetchall():
            latest = self._decode(thread, conn.execute(ROWS_V4.latest, (thread,)).fetchall())   # before 4 -> 5
            if latest:
                conn.execute("UPDATE threads SET status = ? WHERE id = ?", (latest[-1].status, thread_id))
                conn.executemany("INSERT INTO pending (thread_id, id, node, label) VALUES (?, ?, ?, ?)",
                                 [(thread_id, *row) for row in pending_rows(latest[-1].pending)])

    def _convert_outbox(self) -> None:
        """Version 6's outbox rows for the events stored before it: each the
        whole event, as it was read (inside the migration's transaction)."""
        conn = self._conn
        conn.executemany("INSERT INTO outbox (id, body) VALUES (?, ?)",
                         [(id_, body_text(from_text(body, {"key": key, "event": kind, "thread": thread})))
                          for id_, key, thread, kind, body in conn.execute(
                              READ_EVENTS_V4.replace("FROM outbox", "FROM outbox_v5"), (0, -1))])
        conn.execute("DROP TABLE outbox_v5")

    def _writable(self) -> None:
        """Before the first write of a store opened with ``create=False``:
        migrate a version-1 file now."""
        if self._version < STORE_VERSION:
            try:
                self._migrate()
            except sqlite3.Error as exc:
                self._raise(exc)

    def _raise(self, exc: sqlite3.Error) -> NoReturn:
        message = str(exc)
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name.startswith("SQLITE_READONLY"):
            raise StoreError(f"store {self.where} cannot be written: the file or its folder is read-only "
                             f"(a read-only mount, or no write permission) ({name}: {message})") from None
        if name == "SQLITE_FULL":
            raise StoreError(f"store {self.where}: the disk is full (or the file reached its size limit); "
                             f"nothing was written ({name}: {message})") from None
        if name.startswith("SQLITE_CANTOPEN"):
            raise StoreError(f"cannot open store {self.where}: check that its folder exists and is "
                             f"writable (not a read-only mount) ({name}: {message})") from None
        if name.startswith("SQLITE_IOERR"):
            raise StoreError(f"store {self.where}: the disk failed to read or write ({name}: {message}); "
                             "is it full, removed, or a network file system?") from None
        if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or name.startswith("SQLITE_CORRUPT_"):
            raise StoreError(f"{self.where} is not a SQLite database, or is corrupt ({message})") from None
        if is_busy(exc):
            raise StoreError(f"store {self.where} stayed locked by another process ({message})") from None
        raise StoreError(f"store {self.where}: {message}") from None

