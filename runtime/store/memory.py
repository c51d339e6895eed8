"""The memory store: checkpoints in this process, as the same JSON rows as
every other store's (nothing shared with the caller by reference, sizes
comparable). Lost when the process ends."""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from ..checkpoint import ThreadInfo, _LocalCoordination
from ..records import RunStatus
from .base import DueTimer, PendingRow, RunSummary
from .logstore import LogStore, Row
from .outbox import StoredEvent, body_text, from_text
from .rows import DEFAULT_SNAPSHOT_EVERY, Stats


class _MemoryThread:
    __slots__ = ("due", "fulls", "info", "pending", "rows", "stats", "status", "updated")

    def __init__(self, info: ThreadInfo):
        self.info = info
        self.rows: list[tuple[str, str]] = []   # (kind, body) by seq
        self.fulls: list[int] = []              # seqs of the full rows, ascending
        self.stats: Stats | None = None
        self.status: str = RunStatus.RUNNING.value
        self.updated = 0.0
        self.pending: list[tuple[str, str, str]] = []   # (id, node, label), by id
        self.due: list[tuple[str, str, str]] = []       # (due_at, kind, id)


class MemoryStore(LogStore):
    """Checkpoints in this process's memory.

    Leases and ``once`` results live in this process too (the default
    primitives of :class:`Store`, under its one lease and once algorithm);
    ``clock`` (wall-clock seconds) is what leases expire by,
    replaceable in tests."""

    def __init__(self, snapshot_every: int = DEFAULT_SNAPSHOT_EVERY, *,
                 clock: Callable[[], float] = time.time):
        super().__init__("memory store", snapshot_every)
        self.label = "memory store"
        self.clock = clock
        self._coordination = _LocalCoordination(clock)
        self._threads: dict[str, _MemoryThread] = {}
        self._lock = threading.RLock()
        self._outbox: dict[int, str] = {}     # id -> the event's JSON text (outbox.body_text)
        self._outbox_seq = 0

    def thread(self, thread: str) -> ThreadInfo | None:
        entry = self._threads.get(thread)
        return entry.info if entry is not None else None

    def threads(self) -> list[ThreadInfo]:
        return [entry.info for _, entry in sorted(self._threads.items())]

    def head(self, thread: str) -> int:
        entry = self._threads.get(thread)
        return len(entry.rows) - 1 if entry is not None else -1

    # ------------------------------------------------------------ primitives

    def _transaction(self, durable: bool = False) -> AbstractContextManager[object]:
        # Nothing is written before the last primitive, so holding the lock
        # is the whole transaction: the lock itself (its ``tx``, True, is
        # never used), a quarter of the cost of a generator's context manager.
        return self._lock

    def _log_head(self, tx: object, thread: str) -> tuple[object, Stats] | None:
        entry = self._threads.get(thread)
        if entry is None or entry.stats is None:
            return None
        return entry, entry.stats

    def _log_write(self, tx: object, info: ThreadInfo, key: object, seq: int, kind: str, body: str,
                   stats: Stats, status: str, pending: list[tuple[str, str, str]] | None) -> None:
        entry = key if isinstance(key, _MemoryThread) else self._threads.setdefault(info.thread,
                                                                                    _MemoryThread(info))
        entry.info = info
        entry.rows.append((kind, body))
        if kind == "full":
            entry.fulls.append(seq)
        entry.stats = stats
        entry.status = status
        entry.updated = self.clock()
        if pending is not None:
            entry.pending = sorted(pending)

    def _log_timers(self, tx: object, info: ThreadInfo, due: list[tuple[str, str, str]] | None,
                    events: list[StoredEvent]) -> None:
        if due is not None:
            self._threads[info.thread].due = list(due)
        for event in events:
            self._outbox_seq += 1
            self._outbox[self._outbox_seq] = body_text(event)

    def _index_due(self, before: str, flow: str | None, after: tuple[str, str, str, str] | None,
                   limit: int) -> list[DueTimer]:
        with self._lock:
            found = [DueTimer(thread, entry.info.flow, at, kind, id_)
                     for thread, entry in self._threads.items() if flow is None or entry.info.flow == flow
                     for at, kind, id_ in entry.due if at <= before]
        found = [d for d in found if after is None or d.key > after]
        return sorted(found, key=lambda d: d.key)[:limit]

    def _outbox_read(self, after: int, limit: int) -> list[tuple[int, StoredEvent]]:
        with self._lock:
            ids = sorted(i for i in self._outbox if i > after)[:limit]
            return [(i, from_text(self._outbox[i])) for i in ids]

    def _outbox_ack(self, ids: list[int]) -> int:
        with self._lock:
            return sum(self._outbox.pop(i, None) is not None for i in ids)

    def _index_runs(self, flow: str | None, status: str | None, after: str | None,
                    limit: int) -> list[RunSummary]:
        found = []
        for thread in sorted(self._threads):
            entry = self._threads[thread]
            if ((after is None or thread > after) and (flow is None or entry.info.flow == flow)
                    and (status is None or entry.status == status) and entry.stats is not None):
                found.append(RunSummary(thread, entry.info.flow, entry.status, entry.stats.last_seq,
                                        entry.updated))
                if len(found) == limit:
                    break
        return found

    def _index_pending(self, flow: str | None, label: str | None, after: tuple[str, str] | None,
                       limit: int) -> list[PendingRow]:
        found = []
        for thread in sorted(self._threads):
            entry = self._threads[thread]
            if entry.status != RunStatus.INTERRUPTED or (flow is not None and entry.info.flow != flow):
                continue
            for id_, node, label_ in entry.pending:
                if (after is None or (thread, id_) > after) and (label is None or label_ == label):
                    found.append(PendingRow(thread, entry.info.flow, id_, node, label_))
                    if len(found) == limit:
                        return found
        return found

    def _rows_latest(self, thread: str) -> list[Row]:
        entry = self._threads.get(thread)
        return self._rows_from(entry, len(entry.rows) - 1) if entry is not None and entry.rows else []

    def _rows_up_to(self, thread: str, seq: int) -> list[Row]:
        entry = self._threads.get(thread)
        if entry is None or not 0 <= seq < len(entry.rows):
            return []
        return self._rows_from(entry, seq)

    def _rows_all(self, thread: str) -> list[Row]:
        entry = self._threads.get(thread)
        return [(seq, kind, body) for seq, (kind, body) in enumerate(list(entry.rows))] if entry else []

    @staticmethod
    def _rows_from(entry: _MemoryThread, seq: int) -> list[Row]:
        start = entry.fulls[bisect.bisect_right(entry.fulls, seq) - 1]
        return [(at, *entry.rows[at]) for at in range(start, seq + 1)]

    # -- for tests and benchmarks

    def stored_bytes(self) -> int:
        """Total size of every row body (UTF-8)."""
        return sum(len(body.encode()) for entry in self._threads.values() for _, body in entry.rows)
