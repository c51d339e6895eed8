"""The append algorithm and the reads, written once for every backend.

A backend stores a thread's checkpoints as rows (``rows.py``) and supplies a
handful of primitives; :class:`LogStore` turns them into the
:class:`~fermata.runtime.checkpoint.Store` interface:

* ``_transaction(durable)``: a write transaction (commit on exit, roll back
  on an exception, backend errors turned into :class:`StoreError`); its
  commit survives a power loss when ``durable``, a process crash otherwise;
* ``_log_head(tx, thread)``: the thread's key and :class:`Stats` inside it
  (None: no thread yet), read so that the seq check and the write are atomic;
* ``_log_known(thread)`` (optional): the same, without reading, when this
  object wrote the thread's newest row itself (None: unknown); the append
  then encodes its row before the transaction begins;
* ``_log_write(tx, info, key, seq, kind, body, stats, status, pending)``:
  insert the row of ``seq`` (failing with :class:`StoreConflictError`, and
  writing nothing, if one exists or the head moved: that is the conflict a
  second writer meets, even when the head was known rather than read) and
  upsert the thread's row with its new stats and
  the run index's summary (status; ``pending``: the interrupts it waits on
  as ``(id, node, label)``, or None when they did not change);
* ``_index_runs(flow, status, after, limit)`` and
  ``_index_pending(flow, label, after, limit)``: pages of the run index;
* ``_log_timers(tx, info, due, events)``: in the same transaction, replace
  the thread's rows of the due index (``due``: ``(due_at, kind, id)``, or
  None when unchanged) and append ``events`` to the outbox (as
  ``outbox.py`` says to keep them: a payload may be a reference);
* ``_index_due(before, flow, after, limit)``, ``_outbox_read(after, limit)``,
  ``_outbox_ack(ids)``: read the due index and the outbox (``(id, stored
  event)``: references are resolved here), drop acked events;
* ``_log_finish(tx, thread, owner, drop_once)``: in the same transaction,
  drop once results and release ``owner``'s lease (``append_final``);
* ``_rows_latest``, ``_rows_up_to``, ``_rows_all``: ``(seq, kind, body)``
  from the newest full snapshot at or before a seq, or all of them.

Why here and not in each backend: the seq check, the snapshot policy and the
tail cache are where a subtle bug would lose or duplicate a checkpoint; one
copy is tested by one contract suite (tests/runtime/store/).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Final

from ..checkpoint import Checkpoint, Store, ThreadInfo
from ..errors import StoreConflictError, StoreError
from ..plain import Plain
from ..records import RunStatus
from ..timers import due_rows
from .base import (
    DEFAULT_PAGE,
    DueTimer,
    PendingRow,
    RunSummary,
    check_limit,
    pending_rows,
)
from .outbox import StoredEvent, resolve_events, stored_events
from .rows import NO_STATS, Decoder, Stats, Tail, encode_row, unpack_body, wants_full

Row = tuple[int, str, "str | bytes"]


class _Encoded(Plain):   # internal, one per append: Final for mypy, no run-time check (plain.py)
    """One append's writes, encoded: what ``_log_write`` and ``_log_timers`` take."""

    __slots__ = ("body", "due", "key", "kind", "no_due", "pending", "stats", "tail")

    key: Final[Any]                    # the thread's (None: a new thread)
    kind: Final[str]                   # full | delta
    body: Final[str]
    stats: Final[Stats]                # the thread's, after this row
    tail: Final[Tail]                  # the next append's base
    pending: Final[list[tuple[str, str, str]] | None]     # the inbox's rows (None: unchanged)
    due: Final[list[tuple[str, str, str]] | None]         # the due index's rows (None: unchanged)
    no_due: Final[bool]                # the thread has no due rows after this row

    def __init__(self, key: Any, kind: str, body: str, stats: Stats, tail: Tail,
                 pending: list[tuple[str, str, str]] | None, due: list[tuple[str, str, str]] | None,
                 no_due: bool) -> None:
        self.key = key
        self.kind = kind
        self.body = body
        self.stats = stats
        self.tail = tail
        self.pending = pending
        self.due = due
        self.no_due = no_due


class LogStore(Store):
    """A store made of the primitives above (see the module's doc)."""

    where: str               # for messages: a path, a URL, "memory store"
    snapshot_every: int

    def __init__(self, where: str, snapshot_every: int) -> None:
        if snapshot_every < 1:
            raise StoreError("snapshot_every must be at least 1")
        self.where = where
        self.label = f"store {where}"      # how messages name it
        self.snapshot_every = snapshot_every
        # Per thread: the encoded parts of the newest row this process wrote
        # or read, so the next append can be a delta against it.
        self._tails: dict[str, Tail] = {}
        # Per thread: what the next append of that thread must also do in
        # its transaction (a worker marks the submitted work it applies as
        # done with the checkpoint that applied it: ``work.py``).
        self._with_next_append: dict[str, Callable[[Any], None]] = {}
        # Per thread: the seq of the newest row this process wrote after which
        # the thread has no due rows, so the next append need not delete any.
        self._no_due: dict[str, int] = {}

    # ------------------------------------------------------------ primitives

    @abstractmethod
    def _transaction(self, durable: bool = False) -> AbstractContextManager[Any]: ...

    @abstractmethod
    def _log_head(self, tx: Any, thread: str) -> tuple[Any, Stats] | None: ...

    def _log_known(self, thread: str) -> tuple[Any, Stats] | None:
        """Default: never known without reading (``_log_head`` reads it)."""
        return None

    @abstractmethod
    def _log_write(self, tx: Any, info: ThreadInfo, key: Any, seq: int, kind: str, body: str,
                   stats: Stats, status: str, pending: list[tuple[str, str, str]] | None) -> None: ...

    @abstractmethod
    def _index_runs(self, flow: str | None, status: str | None, after: str | None,
                    limit: int) -> list[RunSummary]: ...

    @abstractmethod
    def _index_pending(self, flow: str | None, label: str | None, after: tuple[str, str] | None,
                       limit: int) -> list[PendingRow]: ...

    @abstractmethod
    def _log_timers(self, tx: Any, info: ThreadInfo, due: list[tuple[str, str, str]] | None,
                    events: list[StoredEvent]) -> None: ...

    @abstractmethod
    def _index_due(self, before: str, flow: str | None, after: tuple[str, str, str, str] | None,
                   limit: int) -> list[DueTimer]: ...

    @abstractmethod
    def _outbox_read(self, after: int, limit: int) -> list[tuple[int, StoredEvent]]: ...

    @abstractmethod
    def _outbox_ack(self, ids: list[int]) -> int: ...

    def _log_finish(self, tx: Any, thread: str, owner: str | None, drop_once: bool) -> None:
        """Default: the in-process leases and once results of :class:`Store`
        (nothing to do inside a transaction)."""
        if drop_once:
            self.drop_once(thread)
        if owner is not None:
            self.release(thread, owner)

    @abstractmethod
    def _rows_latest(self, thread: str) -> list[Row]: ...

    @abstractmethod
    def _rows_up_to(self, thread: str, seq: int) -> list[Row]: ...

    @abstractmethod
    def _rows_all(self, thread: str) -> list[Row]: ...

    # ------------------------------------------------------------ the Store interface

    def append(self, info: ThreadInfo, checkpoint: Checkpoint, changed: Iterable[str] | None, *,
               durable: bool = False) -> None:
        self._append(info, checkpoint, changed, None, False, durable)

    def append_final(self, info: ThreadInfo, checkpoint: Checkpoint, changed: Iterable[str] | None,
                     owner: str, drop_once: bool, *, durable: bool = False) -> None:
        # One transaction: the run's last checkpoint, its once results dropped
        # and its lease released together (and one commit, not three).
        self._append(info, checkpoint, changed, owner, drop_once, durable)

    def _append(self, info: ThreadInfo, checkpoint: Checkpoint, changed: Iterable[str] | None,
                owner: str | None, drop_once: bool, durable: bool) -> None:
        thread = info.thread
        also = self._with_next_append.pop(thread, None) if self._with_next_append else None
        if durable and also is not None and getattr(also, "durable_elsewhere", False) \
                and checkpoint.status == RunStatus.RUNNING:
            durable = False   # what made it durable (an accepted answer) already is: see with_next_append
        # Before the transaction: outside the write lock, and a refused event
        # leaves nothing written (the memory store writes as it goes).
        events = stored_events(info.thread, info.flow, checkpoint) if checkpoint.outbox else []
        # When this object wrote the newest row, the row is encoded before the
        # transaction begins too, so that the write lock (SQLite's is one for
        # the whole file) is held for the writes alone; _log_write checks then
        # that the head did not move meanwhile.
        known = self._log_known(thread)
        row = (self._encode(thread, checkpoint, changed, known)
               if known is not None and known[1].last_seq == checkpoint.seq - 1 else None)
        with self._transaction(durable) as tx:
            if row is None:
                row = self._encode(thread, checkpoint, changed, self._log_head(tx, thread))
            self._log_write(tx, info, row.key, checkpoint.seq, row.kind, row.body, row.stats,
                            checkpoint.status, row.pending)
            if row.due is not None or events:
                self._log_timers(tx, info, row.due, events)
            if owner is not None or drop_once:
                self._log_finish(tx, thread, owner, drop_once)
            if also is not None:
                also(tx)
        self._tails[thread] = row.tail
        if row.no_due:
            self._no_due[thread] = checkpoint.seq
        else:
            self._no_due.pop(thread, None)

    def _encode(self, thread: str, checkpoint: Checkpoint, changed: Iterable[str] | None,
                head: tuple[Any, Stats] | None) -> _Encoded:
        """The row of ``checkpoint`` after ``head`` (the thread's key and
        stats; None: a new thread) and what changes with it in the index
        tables; :class:`StoreConflictError` when ``head`` is not the seq before."""
        seq = checkpoint.seq
        stats = head[1] if head is not None else None
        expected = stats.last_seq + 1 if stats is not None else 0
        if seq != expected:
            raise self._conflict(thread, expected, seq)
        tail = self._tails.get(thread)
        full = wants_full(stats, tail, seq, changed, self.snapshot_every)
        kind, body, new_tail = encode_row(checkpoint, changed, tail, full)
        new = (stats or NO_STATS).after(seq, kind, len(body))
        before = tail if tail is not None and tail.seq == seq - 1 else None    # the row this one follows
        # The inbox's rows change only when the interrupts do (not every step);
        # a new thread has none to replace.
        pending = (pending_rows(checkpoint.pending)
                   if before is None or new_tail.pending != before.pending else None)
        if head is None and not pending:
            pending = None
        # Due times change only with the pending entries (asked, answered,
        # reminded) or the status: only a paused run has anything due (a
        # run that failed beside a paused sibling waits for a retry first).
        none_before = head is None or self._no_due.get(thread) == seq - 1
        due = None
        if pending is not None or before is None or new_tail.status != before.status:
            due = due_rows(checkpoint.pending) if checkpoint.status == RunStatus.INTERRUPTED else []
        no_due = not due if due is not None else none_before
        if not due and none_before:
            due = None      # none stored, none to store
        return _Encoded(head[0] if head is not None else None, kind, body, new, new_tail, pending, due, no_due)

    def _conflict(self, thread: str, expected: int, seq: int) -> StoreConflictError:
        return StoreConflictError(
            f"{self.label}: thread `{thread}` expects checkpoint {expected} "
            f"next, not {seq} (another process advanced this run: reload it and retry)")

    def with_next_append(self, thread: str, action: Callable[[Any], None] | None) -> None:
        """Run ``action(tx)`` inside the transaction of this process's next
        append to ``thread``, so that what it writes commits with that
        checkpoint or not at all (an append that fails takes the action
        with it: it is never run later); None forgets an action not yet run.

        An action with ``durable_elsewhere = True`` says that what would
        make that append durable although the run goes on (an answer it
        accepts, at ``observable`` durability) is already on disk (a
        submission the action marks applied): the append then does not
        wait for the disk, unless the run pauses or ends with it."""
        if action is None:
            self._with_next_append.pop(thread, None)
        else:
            self._with_next_append[thread] = action

    def latest(self, thread: str) -> Checkpoint | None:
        rows = self._rows_latest(thread)
        if not rows:
            return None
        checkpoint = self._decode(thread, rows)[-1]
        tail = self._tails.get(thread)
        if tail is None or tail.seq != checkpoint.seq:
            # The next append (a resume, typically) can then be a delta.
            self._tails[thread] = Tail.of(checkpoint)
        return checkpoint

    def get(self, thread: str, seq: int) -> Checkpoint | None:
        if seq < 0:
            return None
        rows = self._rows_up_to(thread, seq)
        if not rows or rows[-1][0] != seq:
            return None
        return self._decode(thread, rows)[-1]

    def history(self, thread: str) -> list[Checkpoint]:
        return self._decode(thread, self._rows_all(thread))

    # ------------------------------------------------------------ the run index

    def list_runs(self, *, flow: str | None = None, status: str | None = None, after: str | None = None,
                  limit: int = DEFAULT_PAGE) -> list[RunSummary]:
        """A page of runs (by thread), of ``flow`` and in ``status`` when given."""
        return self._index_runs(flow, status, after, check_limit(limit))

    def pending_interrupts(self, *, flow: str | None = None, label: str | None = None,
                           after: tuple[str, str] | None = None,
                           limit: int = DEFAULT_PAGE) -> list[PendingRow]:
        """A page of the interrupts paused runs wait on (by thread, then id)."""
        return self._index_pending(flow, label, after, check_limit(limit))

    def due(self, before: str, *, flow: str | None = None, after: tuple[str, str, str, str] | None = None,
            limit: int = DEFAULT_PAGE) -> list[DueTimer]:
        """A page of the due index: what falls due at or before ``before``
        (ISO 8601 as recorded), by ``(due_at, thread, kind, id)``, after
        that key. Read from the index rows the appends keep, never a checkpoint."""
        return self._index_due(before, flow, after, check_limit(limit))

    def outbox(self, *, after: int = 0, limit: int = DEFAULT_PAGE) -> list[dict[str, Any]]:
        """Run events not yet acknowledged (``interrupt.created``,
        ``interrupt.reminder``, ``interrupt.expired``, ``timer.fired``,
        ``run.done``, ``run.failed``), by ``id``, those with ``id`` > ``after``.
        Each was stored in the transaction of the checkpoint that caused it;
        ``key`` (thread/seq/n) is stable, for receivers that deduplicate.
        A payload stored as a reference into its checkpoint is read from
        there (``outbox.py``): the event is the one the engine built."""
        return resolve_events(self._outbox_read(after, check_limit(limit)), self._checkpoints_at)

    def ack(self, ids: Iterable[int]) -> int:
        """Drop delivered events (by ``id``); how many were still there."""
        return self._outbox_ack(sorted({int(i) for i in ids}))

    def _checkpoints_at(self, wanted: list[tuple[str, int]]) -> dict[tuple[str, int], Checkpoint]:
        """The checkpoints ``(thread, seq)`` of ``wanted`` that exist and
        decode; the outbox reports the others' events as unreadable."""
        found = {}
        for (thread, seq), rows in self._rows_up_to_many(wanted).items():
            if rows and rows[-1][0] == seq:
                try:
                    found[thread, seq] = self._decode(thread, rows)[-1]
                except StoreError:        # a damaged thread spoils its own events only
                    continue
        return found

    def _rows_up_to_many(self, wanted: list[tuple[str, int]]) -> dict[tuple[str, int], list[Row]]:
        """``_rows_up_to`` of each of ``wanted``: a read each here; a backend
        whose reads are round trips reads them all in one (PostgreSQL)."""
        return {(thread, seq): self._rows_up_to(thread, seq) for thread, seq in wanted}

    def rows(self, thread: str) -> list[tuple[str, str]]:
        """``(kind, body)`` of each stored row of ``thread``, by seq (tests, benchmarks)."""
        return [(kind, unpack_body(body)) for _, kind, body in self._rows_all(thread)]

    def _decode(self, thread: str, rows: list[Row]) -> list[Checkpoint]:
        return list(self._iter_decode(thread, rows))

    def _iter_decode(self, thread: str, rows: list[Row]) -> Iterator[Checkpoint]:
        decoder = Decoder(self.label, thread)
        expected = rows[0][0] if rows else 0
        for seq, kind, stored in rows:
            if seq != expected:
                raise StoreError(f"{self.label}: thread `{thread}` lacks checkpoint {expected}")
            try:
                body = unpack_body(stored)
                yield decoder.feed(seq, kind, body)
            except StoreError:
                raise
            except Exception as exc:  # noqa: BLE001 - whatever a damaged row makes decoding raise
                raise StoreError(f"{self.label}: checkpoint {seq} of thread `{thread}` is corrupt: "
                                 f"{exc}") from None
            expected += 1
