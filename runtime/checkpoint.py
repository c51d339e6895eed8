"""What a run looks like at a step boundary or a pause, and the store interface.

A :class:`Checkpoint` is the *logical*, complete picture of a run. Stores
persist it as a delta against the previous checkpoint (only the state fields
named in ``changed``), with periodic full snapshots so that reading the latest
checkpoint never replays a long chain. Everything here is JSON data: no
pickle, and a format version on everything persisted.
"""

from __future__ import annotations

import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, cast

from .errors import StoreError
from .plain import Frozen, Plain
from .records import RunStatus

if TYPE_CHECKING:
    from .record_types import CheckpointExtra, NodeRecord, OnceEntry, PendingInterrupt, RunError

FORMAT_VERSION = 1


class Checkpoint(Plain):
    """One checkpoint of one thread.

    ``seq`` numbers a thread's checkpoints 0, 1, 2, ...; ``id`` is the string a
    user quotes (``fork``, ``history``): the seq zero-padded, so ids sort.

    ``nodes`` holds the progress of the superstep in flight, per node name
    (``record_types.NodeRecord``); it is empty at a clean step boundary. The
    records are plain dicts typed as ``TypedDict``s (``record_types.py``): a
    decoded checkpoint is what the JSON holds, trusted as these types once a
    store's row codec has checked its shape.
    """

    __slots__ = ("error", "extra", "frontier", "joins", "nodes", "outbox", "pending", "seq", "status", "step", "values")
    _unshown = ("outbox",)

    seq: int
    step: int
    status: str             # a RunStatus's value: "running" | "interrupted" | "done" | ...
    values: dict[str, Any]  # every state field that has a value
    frontier: list[str]     # nodes of the next (or interrupted) superstep, sorted
    joins: dict[str, list[str]]
    pending: list[PendingInterrupt]
    nodes: dict[str, NodeRecord]
    error: RunError | None
    extra: CheckpointExtra  # runtime bookkeeping
    # Outbox events this checkpoint causes (``engine._events``): appended by
    # the store in the same transaction as the checkpoint; never part of it.
    outbox: list[dict[str, Any]]

    def __init__(self, seq: int, step: int, status: str, values: dict[str, Any], frontier: list[str],
                 joins: dict[str, list[str]] | None = None, pending: list[PendingInterrupt] | None = None,
                 nodes: dict[str, NodeRecord] | None = None, error: RunError | None = None,
                 extra: CheckpointExtra | None = None, outbox: list[dict[str, Any]] | None = None) -> None:
        self.seq = seq
        self.step = step
        self.status = status
        self.values = values
        self.frontier = frontier
        self.joins = {} if joins is None else joins
        self.pending = [] if pending is None else pending
        self.nodes = {} if nodes is None else nodes
        self.error = error
        self.extra = {} if extra is None else extra
        self.outbox = [] if outbox is None else outbox

    @property
    def id(self) -> str:
        return f"{self.seq:08d}"

    def to_json(self) -> dict[str, Any]:
        return {
            "v": FORMAT_VERSION,
            "seq": self.seq,
            "step": self.step,
            "status": self.status,
            "values": self.values,
            "frontier": self.frontier,
            "joins": self.joins,
            "pending": self.pending,
            "nodes": self.nodes,
            "error": self.error,
            "extra": self.extra,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Checkpoint:
        return Checkpoint(
            seq=data["seq"], step=data["step"], status=data["status"],
            values=data["values"], frontier=data["frontier"], joins=data["joins"],
            pending=data["pending"], nodes=data["nodes"], error=data["error"],
            extra=data.get("extra", {}),
        )

    def copy(self) -> Checkpoint:
        import copy  # here, not at the top: no run needs it (start-up time, #17)

        return copy.deepcopy(self)


class ThreadInfo(Frozen):
    """Per-thread metadata, written once when the thread's first checkpoint is."""

    __slots__ = ("created", "flow", "ir_hash", "source", "source_hash", "thread")

    thread: Final[str]
    flow: Final[str]           # flow name
    ir_hash: Final[str]        # sha256 of the flow's canonical IR
    source: Final[str | None]  # absolute path of the .flow or IR file the run started from
    created: Final[str]        # ISO-8601 UTC; informational only, never part of a trace
    # sha256 of that file's text when the run (last) started or resumed from
    # it: `fermata resume` without FILE refuses a file that changed since.
    source_hash: Final[str | None]

    def __init__(self, thread: str, flow: str, ir_hash: str, source: str | None, created: str,
                 source_hash: str | None = None) -> None:
        self.thread = thread
        self.flow = flow
        self.ir_hash = ir_hash
        self.source = source
        self.created = created
        self.source_hash = source_hash

    def to_json(self) -> dict[str, Any]:
        return {"thread": self.thread, "flow": self.flow, "ir_hash": self.ir_hash,
                "source": self.source, "created": self.created, "source_hash": self.source_hash}


# --------------------------------------------------------------------------
# Leases: one process advances a run at a time
# --------------------------------------------------------------------------


class Lease(Frozen):
    """Who may advance a thread's run, until when (wall clock, seconds since
    the epoch: leases are compared across processes, even machines)."""

    __slots__ = ("expires", "owner", "thread")

    thread: Final[str]
    owner: Final[str]
    expires: Final[float]

    def __init__(self, thread: str, owner: str, expires: float) -> None:
        self.thread = thread
        self.owner = owner
        self.expires = expires


def _this_host() -> str:
    """The host part of owner ids: the host name and, on Linux, the pid
    namespace, so two containers that share a host name never read each
    other's pids."""
    # os.uname() is what socket.gethostname() reads on POSIX, without the
    # socket module's import (~2.5 ms of every run's start-up).
    if hasattr(os, "uname"):
        host = os.uname().nodename
    else:   # Windows
        import socket

        host = socket.gethostname()
    try:
        host += "@" + os.readlink("/proc/self/ns/pid").removeprefix("pid:").strip("[]")
    except OSError:
        pass
    return host.replace(":", "_")


_HOST = _this_host()
_owner_count = iter(range(1, 2**62))


def new_owner() -> str:
    """A lease owner id, unique per call: ``host:pid:n``."""
    return f"{_HOST}:{os.getpid()}:{next(_owner_count)}"


def owner_is_gone(owner: str) -> bool:
    """Whether ``owner`` is a process of this host (and pid namespace) that
    no longer exists: its lease may be taken at once instead of waiting for
    it to expire (a crashed CLI run is resumed right away). Owners of other
    hosts, and pids that exist (even reused ones), count as alive."""
    parts = owner.split(":")
    if len(parts) != 3 or parts[0] != _HOST or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:   # exists, another user's
        return False
    return False


def lease_is_live(lease: Lease | None, now: float) -> bool:
    return lease is not None and lease.expires > now and not owner_is_gone(lease.owner)


class OnceResult(Frozen):
    """The journal entry of one ``call once`` made durable when the call
    returned, before the node went on: ``entry`` is ``{"target",
    "args_hash", "result"}``, the ``index``-th once call of ``node``
    (its instance) in ``step``."""

    __slots__ = ("entry", "index", "node", "step")

    step: Final[int]
    node: Final[str]
    index: Final[int]
    entry: Final[OnceEntry]

    def __init__(self, step: int, node: str, index: int, entry: OnceEntry) -> None:
        self.step = step
        self.node = node
        self.index = index
        self.entry = entry


class _LocalCoordination:
    """Leases and once results kept in this process's memory: what a store
    that lives in one process (the memory store) needs, and the default of
    :class:`Store`. A store shared by processes must keep both in itself."""

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self.lock = threading.Lock()
        self.leases: dict[str, Lease] = {}
        # Per thread, by (node, index): (step, the entry as JSON text), the
        # same JSON every store keeps (so the same results are refused).
        self.once: dict[str, dict[tuple[str, int], tuple[int, str]]] = {}


class Store(ABC):
    """The one narrow interface every store implements.

    ``append`` is atomic: after a crash the thread's latest checkpoint is
    either the previous one or the new one, never a mix.
    """

    label = "store"    # how messages name it: "store PATH", "store URL", "memory store"

    @abstractmethod
    def thread(self, thread: str) -> ThreadInfo | None: ...

    @abstractmethod
    def threads(self) -> list[ThreadInfo]: ...

    @abstractmethod
    def append(self, info: ThreadInfo, checkpoint: Checkpoint,
               changed: Iterable[str] | None, *, durable: bool = False) -> None:
        """Persist ``checkpoint`` as the thread's newest.

        ``durable=True``: the commit must survive a power loss when this
        returns (an fsync); otherwise surviving a crash of the process is
        enough. A durable commit also makes every commit before it durable
        (a store's log is written in order), which is what lets the cheap
        commits between two durable ones be lost and recomputed.

        ``changed`` names the state fields whose value differs from the
        previous checkpoint; ``None`` means "unknown": store everything.
        Creates the thread (with ``info``) on its first checkpoint; ``info``
        of an existing thread may be replaced (a run re-pinned to a new IR).
        """

    def append_final(self, info: ThreadInfo, checkpoint: Checkpoint, changed: Iterable[str] | None,
                     owner: str, drop_once: bool, *, durable: bool = False) -> None:
        """The last append of one invoke (a pause, the end, a failure):
        ``append``, then (``drop_once``) ``drop_once``, then release
        ``owner``'s lease. A store may do all three in one transaction."""
        self.append(info, checkpoint, changed, durable=durable)
        if drop_once:
            self.drop_once(info.thread)
        self.release(info.thread, owner)

    @abstractmethod
    def latest(self, thread: str) -> Checkpoint | None: ...

    def head(self, thread: str) -> int:
        """The seq of the thread's newest checkpoint (-1: none). Cheaper than
        ``latest`` in real stores: a call checks with it that nothing was
        appended between planning and taking the lease."""
        latest = self.latest(thread)
        return latest.seq if latest is not None else -1

    @abstractmethod
    def get(self, thread: str, seq: int) -> Checkpoint | None: ...

    @abstractmethod
    def history(self, thread: str) -> list[Checkpoint]:
        """Every checkpoint of the thread, oldest first, each complete."""

    def close(self) -> None:  # noqa: B027 - optional for stores without resources
        """Release resources (files, connections)."""

    # ------------------------------------------------------------ leases
    #
    # A lease names the one owner allowed to advance a thread's run until it
    # expires. ``invoke`` takes it before reading the latest checkpoint and
    # releases it when the run pauses, finishes or fails; a holder that
    # crashed loses it when it expires (or at once, when the store can see
    # that the holder's process is gone).
    #
    # The algorithm is written once, here; a store supplies five primitives
    # (``_lease_take``, ``_lease_read``, ``_lease_swap``, ``_lease_extend``,
    # ``_lease_drop``). Their defaults keep leases in this process's memory:
    # right for a store used by one process only. A store that several
    # processes share overrides all five (SQLite, PostgreSQL).

    def acquire(self, thread: str, owner: str, ttl_s: float) -> bool:
        """Take the lease of ``thread`` for ``ttl_s`` seconds. True: taken
        (or renewed, when ``owner`` held it); False: another owner holds a
        live lease, and nothing changed."""
        if self._lease_take(thread, owner, ttl_s):
            return True
        # Held, and not expired: take it over only from a process of this
        # host that is gone (compare and swap: if the holder changed
        # meanwhile, the lease stays theirs).
        found = self._lease_read(thread)
        if found is None or lease_is_live(*found):
            return False
        return self._lease_swap(thread, found[0], owner, ttl_s)

    def renew(self, thread: str, owner: str, ttl_s: float) -> bool:
        """Extend ``owner``'s lease by ``ttl_s`` from now. False: the lease is
        no longer ``owner``'s (it expired and another owner took it)."""
        return self._lease_extend(thread, owner, ttl_s)

    def release(self, thread: str, owner: str) -> None:
        """Give the lease up, if ``owner`` still holds it."""
        self._lease_drop(thread, owner)

    def lease(self, thread: str) -> Lease | None:
        """The live lease of ``thread``, if any (for messages and tools)."""
        found = self._lease_read(thread)
        return found[0] if found is not None and lease_is_live(*found) else None

    def _lease_take(self, thread: str, owner: str, ttl_s: float) -> bool:
        """Atomically: store ``owner``'s lease until now + ``ttl_s`` when the
        thread has none, ``owner`` holds it, or it expired. True: stored."""
        local = self._local()
        with local.lock:
            now = local.clock()
            held = local.leases.get(thread)
            if held is not None and held.owner != owner and held.expires > now:
                return False
            local.leases[thread] = Lease(thread, owner, now + ttl_s)
            return True

    def _lease_read(self, thread: str) -> tuple[Lease, float] | None:
        """The stored lease (live or not) and the time it is judged by, or None."""
        local = self._local()
        with local.lock:
            held = local.leases.get(thread)
            return (held, local.clock()) if held is not None else None

    def _lease_swap(self, thread: str, held: Lease, owner: str, ttl_s: float) -> bool:
        """Atomically: replace ``held`` by ``owner``'s lease, if it is still the stored one."""
        local = self._local()
        with local.lock:
            if local.leases.get(thread) != held:
                return False
            local.leases[thread] = Lease(thread, owner, local.clock() + ttl_s)
            return True

    def _lease_extend(self, thread: str, owner: str, ttl_s: float) -> bool:
        """Atomically: move ``owner``'s lease's expiry to now + ``ttl_s``. False: not ``owner``'s."""
        local = self._local()
        with local.lock:
            held = local.leases.get(thread)
            if held is None or held.owner != owner:
                return False
            local.leases[thread] = Lease(thread, owner, local.clock() + ttl_s)
            return True

    def _lease_drop(self, thread: str, owner: str) -> None:
        """Delete the lease if ``owner`` holds it."""
        local = self._local()
        with local.lock:
            held = local.leases.get(thread)
            if held is not None and held.owner == owner:
                del local.leases[thread]

    # ------------------------------------------------------------ once results
    #
    # A ``call once`` result is saved here the moment the call returns, so
    # that a crash before the step's checkpoint does not make the resume call
    # again. Only the step in flight has any: the engine drops them after the
    # next checkpoint, which holds them in its node records (or the node
    # finished and its journal is no longer needed).
    #
    # Written once, here: the JSON encoding, the check of what is read back,
    # and the messages. A store supplies ``_once_put``, ``_once_rows`` and
    # ``_once_drop``; the defaults keep them in this process's memory.

    def save_once(self, thread: str, result: OnceResult, *, durable: bool = False) -> None:
        """Persist one once result (replacing one of the same node and index);
        ``durable`` as for :meth:`append`."""
        from .store.rows import encode_entry  # the rows' JSON options (store/ imports this module)

        try:
            entry = encode_entry(result.entry)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"the result of once call #{result.index} of node `{result.node}` cannot be "
                             f"stored as JSON: {exc}") from None
        self._once_put(thread, result.node, result.index, result.step, entry, durable)

    def once_results(self, thread: str) -> list[OnceResult]:
        """The thread's saved once results, by node and index."""
        from .store.rows import decode_text

        results = []
        for node, index, step, text in self._once_rows(thread):
            try:
                entry = decode_text(text)
                if not (isinstance(entry, dict) and {"target", "args_hash", "result"} <= entry.keys()
                        and type(index) is int and type(step) is int and isinstance(node, str)):
                    raise ValueError("not a once result")
            except (TypeError, ValueError) as exc:
                raise StoreError(f"{self.label}: the saved result of once call #{index} of node "
                                 f"`{node}` in thread `{thread}` is corrupt: {exc}") from None
            # The decode boundary: the keys were checked just above.
            results.append(OnceResult(step, node, index, cast("OnceEntry", entry)))
        return results

    def drop_once(self, thread: str) -> None:
        """Forget the thread's once results (a checkpoint now holds them)."""
        self._once_drop(thread)

    def _once_put(self, thread: str, node: str, index: int, step: int, entry: str, durable: bool) -> None:
        """Store one result's row (``entry``: JSON text), replacing the same
        ``(node, index)``; ``durable``: on disk before returning (memory: moot)."""
        local = self._local()
        with local.lock:
            local.once.setdefault(thread, {})[(node, index)] = (step, entry)

    def _once_rows(self, thread: str) -> list[tuple[Any, Any, Any, Any]]:
        """``(node, index, step, entry text)`` of each stored result, by node and index."""
        local = self._local()
        with local.lock:
            saved = local.once.get(thread, {})
            return [(node, index, *saved[(node, index)]) for node, index in sorted(saved)]

    def _once_drop(self, thread: str) -> None:
        local = self._local()
        with local.lock:
            local.once.pop(thread, None)

    # ------------------------------------------------------------ due times and the outbox
    #
    # The stores of this package index due times and keep an outbox (see
    # ``store/logstore.py``). These defaults serve any other store: ``due``
    # decodes every run's latest checkpoint (slow, but right), and a store
    # that keeps no outbox says so.

    def due(self, before: str, *, flow: str | None = None, after: tuple[str, str, str, str] | None = None,
            limit: int = 100) -> list[Any]:
        """A page of what falls due at or before ``before`` (ISO 8601, the
        recorded form), ordered by ``(due_at, thread, kind, id)``, starting
        ``after`` that key: ``store.base.DueTimer``s."""
        from .store.base import DueTimer
        from .timers import due_rows

        found = []
        for info in self.threads():
            if flow is not None and info.flow != flow:
                continue
            latest = self.latest(info.thread)
            if latest is None or latest.status != RunStatus.INTERRUPTED:
                continue
            found += [DueTimer(info.thread, info.flow, at, kind, id_) for at, kind, id_ in due_rows(latest.pending)
                      if at <= before and (after is None or (at, info.thread, kind, id_) > after)]
        return sorted(found, key=lambda d: d.key)[:limit]

    def outbox(self, *, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Run events not yet acknowledged, oldest first, with ``id`` > ``after``."""
        from .errors import StoreError

        raise StoreError(f"{type(self).__name__} keeps no outbox")

    def ack(self, ids: Iterable[int]) -> int:
        """Acknowledge (drop) delivered outbox events; how many were dropped."""
        from .errors import StoreError

        raise StoreError(f"{type(self).__name__} keeps no outbox")

    def _local(self) -> _LocalCoordination:
        # Created on first use: subclasses need not call an __init__ here.
        local = self.__dict__.get("_coordination")
        if local is None:
            local = self.__dict__.setdefault("_coordination", _LocalCoordination(time.time))
        return local  # type: ignore[no-any-return]
