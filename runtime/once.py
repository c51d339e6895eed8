"""``call once``: durable results and the idempotency key a callee can read.

The result of a ``call once`` is saved in the store the moment the call
returns (``Store.save_once``), before the node goes on. If the process dies
after that and before the step's checkpoint, the resume re-runs the node from
its start (the resume contract) and the call returns the saved result instead
of being made again.

What remains is the call itself: a process that dies *during* the call
(after the payment went out, before the function returned) has recorded
nothing, and the resume calls again. For that window the callee can read a
key that is the same for every attempt of the same call, and have the
external system deduplicate on it::

    from fermata.runtime import idempotency_key

    def pay(amount):
        return payments.charge(amount, idempotency_key=idempotency_key())

The key is ``thread/step/instance/index``: the run's thread, the superstep
the node runs in (so each pass of a loop gets its own key), the node's
instance (its name; a fan-out instance's is ``node[key]``, with ``%`` and
``/`` in the key written ``%25`` and ``%2F``) and the call's index among the
node's ``once`` calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Final

from .checkpoint import OnceResult
from .fanout import base_node
from .plain import Frozen

if TYPE_CHECKING:
    from .checkpoint import Store
    from .leases import LeaseKeeper
    from .record_types import Consumed, OnceEntry


class CallContext(Frozen):
    """Which ``call once`` is running: read it with :func:`call_context`."""

    __slots__ = ("index", "instance", "node", "step", "thread")

    thread: Final[str]
    step: Final[int]
    node: Final[str]
    instance: Final[str]
    index: Final[int]

    def __init__(self, thread: str, step: int, node: str, instance: str, index: int) -> None:
        self.thread = thread
        self.step = step
        self.node = node
        self.instance = instance
        self.index = index

    @property
    def key(self) -> str:
        """``thread/step/instance/index``; thread ids may hold ``/``, the other
        parts never do, so the key reads unambiguously from the right."""
        instance = self.instance.replace("%", "%25").replace("/", "%2F")   # a fan-out key may hold `/`
        return f"{self.thread}/{self.step}/{instance}/{self.index}"


_current: ContextVar[CallContext | None] = ContextVar("fermata_call_context", default=None)


def call_context() -> CallContext | None:
    """The ``call once`` running in this thread of execution, or None
    (outside a once call: a plain ``call``, a replay, no run at all)."""
    return _current.get()


def idempotency_key() -> str | None:
    """The running ``call once``'s stable key (see the module's doc), or None."""
    context = _current.get()
    return context.key if context is not None else None


class OnceRecorder:
    """Makes one ``invoke``'s once results durable, and hands a resume the
    ones a crashed process saved for the step it was in."""

    __slots__ = ("dirty", "durable", "lease", "recovered", "step", "store", "thread")

    def __init__(self, store: Store, thread: str, lease: LeaseKeeper | None, *, durable: bool = True):
        self.store = store
        self.durable = durable      # results survive a power loss (all but `fast` durability)
        self.thread = thread
        self.lease = lease
        self.step = 0               # the superstep whose nodes are running (set by the engine)
        self.dirty = False          # the store holds once results to drop after the next checkpoint
        self.recovered: dict[str, list[OnceResult]] = {}

    def recover(self) -> None:
        """Read what an earlier holder saved and never checkpointed."""
        saved = self.store.once_results(self.thread)
        if saved:
            self.dirty = True
            for result in saved:
                self.recovered.setdefault(result.node, []).append(result)

    def journal_of(self, node: str, record: Consumed | None) -> Consumed | None:
        """``record`` with the saved results of ``node`` in this step that
        its journal lacks (only the step in flight's count: results of an
        earlier step were left by a crash after a checkpoint that holds them)."""
        results = self.recovered.pop(node, None)
        if not results:
            return record
        journal = list(record.get("once", ())) if record else []
        for result in sorted(results, key=lambda r: r.index):
            if result.step == self.step and result.index == len(journal):
                journal.append(result.entry)
        return {**(record or {}), "once": journal}

    @contextmanager
    def calling(self, node: str, index: int) -> Iterator[None]:
        token = _current.set(CallContext(self.thread, self.step, base_node(node), node, index))
        try:
            yield
        finally:
            _current.reset(token)

    def saved(self, node: str, index: int, entry: OnceEntry) -> None:
        """The call returned: persist its entry before the node goes on
        (then renew the lease: a lost lease stops the node, but what
        happened is recorded first)."""
        self.store.save_once(self.thread, OnceResult(self.step, node, index, entry), durable=self.durable)
        self.dirty = True
        if self.lease is not None:
            self.lease.renew_if_due()

    def checkpointed(self) -> None:
        """A checkpoint was appended: it holds (or no longer needs) every result."""
        if self.dirty:
            self.dirty = False
            self.store.drop_once(self.thread)
