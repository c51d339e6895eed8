"""The work queue: runs and answers submitted for a worker to apply.

``flow.submit(...)`` checks a submission and records it here; ``fermata
worker`` claims it, applies it under the run's lease and marks it applied
*in the transaction of the checkpoint that applied it* (``LogStore
.with_next_append``). So a worker killed before that checkpoint leaves the
submission to be claimed again, and one killed after it never has it applied
twice: no answer is lost, none counts twice.

Rules every backend keeps:

* a thread's submissions are applied in the order they were submitted: one
  is claimable only when no earlier one of its thread is still open;
* a claim lasts ``ttl_s`` (by the store's clock: the database's for
  PostgreSQL); a claim whose worker died expires and is claimed again;
* a worker claims only submissions whose IR hash it has loaded (a run is
  pinned to the version of the flow it started on);
* a submission the run no longer takes when it is applied (the run moved on
  meanwhile) is ``refused`` with the reason; nothing of the run changes.

The queue of a store is :func:`work_queue` (one per store object). Memory
is here; SQLite (claims in ``BEGIN IMMEDIATE``) and PostgreSQL (``FOR
UPDATE SKIP LOCKED``, ``NOTIFY`` on submit) are in ``work_sql.py``.
"""

from __future__ import annotations

import functools
import itertools
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..checkpoint import Store, new_owner, owner_is_gone
from ..errors import StoreError
from ..records import RunStatus, WorkKind, WorkStatus
from .logstore import LogStore

if TYPE_CHECKING:
    from .memory import MemoryStore

#: The PostgreSQL channel a submission is announced on (workers LISTEN).
CHANNEL = "fermata_work"
OPEN = (WorkStatus.QUEUED.value, WorkStatus.CLAIMED.value)


@dataclass(frozen=True)
class Work:
    """One submission."""

    id: int
    thread: str
    flow: str
    ir_hash: str                 # the version of the flow it is for
    kind: WorkKind
    payload: Any                 # the input dict ({"input", "by"}: start_by), a Command's fields as a dict, or None
    status: WorkStatus = WorkStatus.QUEUED
    attempts: int = 0            # claims so far
    error: str | None = None     # why it was refused

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "thread": self.thread, "flow": self.flow, "ir_hash": self.ir_hash,
                "kind": self.kind.value, "status": self.status.value, "attempts": self.attempts,
                "error": self.error}


def encode_payload(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def decode_payload(text: str) -> Any:
    return json.loads(text)


class WorkQueue(ABC):
    """The submissions of one store (see the module's doc)."""

    store: LogStore
    #: Whether ``submit`` returns only when the submission would survive a
    #: power loss (the SQL stores; a memory store keeps nothing).
    durable_submissions = False

    @abstractmethod
    def submit(self, thread: str, flow: str, ir_hash: str, kind: WorkKind, payload: Any) -> int:
        """Record a submission (durable when this returns); its id."""

    @abstractmethod
    def claim(self, owner: str, hashes: Collection[str], ttl_s: float) -> Work | None:
        """The oldest claimable submission of a loaded version, now claimed
        by ``owner`` for ``ttl_s`` seconds (None: nothing to do)."""

    @abstractmethod
    def applied_action(self, work_id: int) -> Callable[[Any], None]:
        """What marks ``work_id`` applied inside an append's transaction."""

    @abstractmethod
    def finish(self, work_id: int, status: WorkStatus, error: str | None = None) -> None:
        """Close a submission that no checkpoint applied (refused, or
        nothing to do: continuing a finished run)."""

    @abstractmethod
    def release(self, work_id: int, owner: str, delay_s: float) -> None:
        """Give a claim back (the run was busy): claimable again after ``delay_s``."""

    @abstractmethod
    def get(self, work_id: int) -> Work | None: ...

    @abstractmethod
    def open_count(self) -> int:
        """Submissions not yet applied or refused."""

    @abstractmethod
    def open_threads(self, thread: str) -> int:
        """Open submissions of ``thread``."""

    @abstractmethod
    def unloaded(self, hashes: Collection[str]) -> dict[str, int]:
        """Open submissions per IR hash that none of ``hashes`` is (for the log)."""

    @abstractmethod
    def _claims_on_this_host(self) -> list[tuple[int, str]]:
        """``(id, owner)`` of live claims whose owner is a process of this host."""

    def reclaim_gone(self) -> int:
        """Give back the claims of workers of this host whose process is gone
        (killed): claimable at once instead of when they expire. How many."""
        count = 0
        for work_id, owner in self._claims_on_this_host():
            if owner_is_gone(owner):
                self.release(work_id, owner, 0)
                count += 1
        return count

    def waiter(self, stop: threading.Event) -> Callable[[float], None]:
        """What an idle worker waits with: ``wait(seconds)`` returns after
        that long, or sooner when ``stop`` is set (PostgreSQL's also when a
        submission is announced)."""
        def wait(seconds: float) -> None:
            stop.wait(seconds)
        return wait

    @abstractmethod
    def _running(self, hashes: Collection[str], limit: int) -> list[str]:
        """Threads of a loaded version whose newest checkpoint is ``running``
        and whose lease may be free (none, expired, or held by a process of
        this host, which may be gone)."""

    def orphaned(self, hashes: Collection[str], limit: int = 16) -> list[str]:
        """Runs left ``running`` by a process that stopped advancing them
        (no live lease): a worker continues them from their last checkpoint."""
        return [thread for thread in self._running(hashes, limit) if self.store.lease(thread) is None]


@functools.cache
def this_host_prefix() -> str:
    """What the owner ids of this host's processes start with."""
    return new_owner().rsplit(":", 2)[0] + ":"


def work_queue(store: Store) -> WorkQueue:
    """The work queue of ``store`` (created with its tables on first use)."""
    queue = store.__dict__.get("_work_queue")
    if isinstance(queue, WorkQueue):
        return queue
    from .memory import MemoryStore

    if isinstance(store, MemoryStore):
        queue = MemoryWorkQueue(store)
    else:
        from . import work_sql

        queue = work_sql.queue_for(store)
    store.__dict__["_work_queue"] = queue
    return queue


class MemoryWorkQueue(WorkQueue):
    """The queue of a memory store: for one process (tests, embedded use)."""

    def __init__(self, store: MemoryStore):
        self.store: MemoryStore = store
        self._lock = threading.Lock()
        self._items: dict[int, Work] = {}
        self._claims: dict[int, tuple[str, float]] = {}   # id -> (owner, claimed until or not before)
        self._ids = itertools.count(1)

    def submit(self, thread: str, flow: str, ir_hash: str, kind: WorkKind, payload: Any) -> int:
        encode_payload(payload)   # what the other stores could not store is refused here too
        with self._lock:
            work_id = next(self._ids)
            self._items[work_id] = Work(work_id, thread, flow, ir_hash, kind, payload)
            return work_id

    def claim(self, owner: str, hashes: Collection[str], ttl_s: float) -> Work | None:
        now = self.store.clock()
        with self._lock:
            blocked: set[str] = set()
            for work_id in sorted(self._items):
                item = self._items[work_id]
                if item.status not in OPEN:
                    continue
                if item.thread in blocked:
                    continue
                blocked.add(item.thread)
                until = self._claims.get(work_id, ("", 0.0))[1]
                if item.ir_hash in hashes and until <= now:
                    item = replace(item, status=WorkStatus.CLAIMED, attempts=item.attempts + 1)
                    self._items[work_id] = item
                    self._claims[work_id] = (owner, now + ttl_s)
                    return item
        return None

    def applied_action(self, work_id: int) -> Callable[[Any], None]:
        def applied(tx: Any) -> None:
            self.finish(work_id, WorkStatus.APPLIED)
        return applied

    def finish(self, work_id: int, status: WorkStatus, error: str | None = None) -> None:
        with self._lock:
            self._items[work_id] = replace(self._items[work_id], status=status, error=error)
            self._claims.pop(work_id, None)

    def release(self, work_id: int, owner: str, delay_s: float) -> None:
        with self._lock:
            item = self._items[work_id]
            if item.status == WorkStatus.CLAIMED and self._claims.get(work_id, ("",))[0] == owner:
                self._items[work_id] = replace(item, status=WorkStatus.QUEUED)
                self._claims[work_id] = ("", self.store.clock() + delay_s)

    def get(self, work_id: int) -> Work | None:
        with self._lock:
            return self._items.get(work_id)

    def open_count(self) -> int:
        with self._lock:
            return sum(1 for item in self._items.values() if item.status in OPEN)

    def open_threads(self, thread: str) -> int:
        with self._lock:
            return sum(1 for item in self._items.values() if item.status in OPEN and item.thread == thread)

    def unloaded(self, hashes: Collection[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        with self._lock:
            for item in self._items.values():
                if item.status in OPEN and item.ir_hash not in hashes:
                    found[item.ir_hash] = found.get(item.ir_hash, 0) + 1
        return found

    def _claims_on_this_host(self) -> list[tuple[int, str]]:
        return []   # a memory store lives in one process: its workers are alive

    def _running(self, hashes: Collection[str], limit: int) -> list[str]:
        store = self.store
        found = []
        for summary in store.list_runs(status=RunStatus.RUNNING.value, limit=1000):
            info = store.thread(summary.thread)
            if info is not None and info.ir_hash in hashes:
                found.append(summary.thread)
                if len(found) == limit:
                    break
        return found


def check_json(payload: Any) -> None:
    """A payload every store can record (the caller checked its values)."""
    try:
        encode_payload(payload)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"the submission cannot be stored as JSON: {exc}") from None
