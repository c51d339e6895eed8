"""What the run index answers: runs by flow and status, and the pending
interrupts (the inbox), both paged, read from summary rows the append keeps
up to date (never by decoding every thread's checkpoints).

Paging is by key: a page holds up to ``limit`` entries ordered by thread
(then interrupt id); the next page starts ``after`` the last one's key. A
key survives runs being added or finishing between pages, which an offset
would not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from ..plain import Frozen

DEFAULT_PAGE = 100
MAX_PAGE = 1000


class RunSummary(Frozen):
    """One run, as the index knows it."""

    __slots__ = ("flow", "seq", "status", "thread", "updated")

    thread: Final[str]
    flow: Final[str]
    status: Final[str]     # of its newest checkpoint: running | interrupted | done | failed
    seq: Final[int]        # its newest checkpoint
    updated: Final[float]  # when that was stored (seconds since the epoch)

    def __init__(self, thread: str, flow: str, status: str, seq: int, updated: float) -> None:
        self.thread = thread
        self.flow = flow
        self.status = status
        self.seq = seq
        self.updated = updated

    def to_json(self) -> dict[str, object]:
        return {"thread": self.thread, "flow": self.flow, "status": self.status, "seq": self.seq,
                "updated": self.updated}


class PendingRow(Frozen):
    """One interrupt a paused run waits on, as the run index lists it (the
    inbox); not the checkpoint's pending entry, ``record_types.PendingInterrupt``."""

    __slots__ = ("flow", "id", "label", "node", "thread")

    thread: Final[str]
    flow: Final[str]
    id: Final[str]  # what an answer names (``node:label``)
    node: Final[str]
    label: Final[str]

    def __init__(self, thread: str, flow: str, id: str, node: str, label: str) -> None:
        self.thread = thread
        self.flow = flow
        self.id = id
        self.node = node
        self.label = label

    @property
    def key(self) -> tuple[str, str]:
        return (self.thread, self.id)

    def to_json(self) -> dict[str, object]:
        return {"thread": self.thread, "flow": self.flow, "id": self.id, "node": self.node, "label": self.label}


class DueTimer(Frozen):
    """Something that falls due for a paused run: a ``deadline``, a
    ``reminder`` or a ``wait`` timer of interrupt ``id``, at ``due_at``
    (the recorded ISO 8601 form, which sorts as text)."""

    __slots__ = ("due_at", "flow", "id", "kind", "thread")

    thread: Final[str]
    flow: Final[str]
    due_at: Final[str]
    kind: Final[str]
    id: Final[str]

    def __init__(self, thread: str, flow: str, due_at: str, kind: str, id: str) -> None:
        self.thread = thread
        self.flow = flow
        self.due_at = due_at
        self.kind = kind
        self.id = id

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.due_at, self.thread, self.kind, self.id)

    def to_json(self) -> dict[str, object]:
        return {"thread": self.thread, "flow": self.flow, "due_at": self.due_at, "kind": self.kind, "id": self.id}


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"a page holds 1 to {MAX_PAGE} entries, not {limit}")
    return limit


def pending_rows(pending: Sequence[Mapping[str, object]]) -> list[tuple[str, str, str]]:
    """``(id, node, label)`` of each pending interrupt of a checkpoint (one
    per id: an answer names an id, so the first of any duplicates stands)."""
    rows: dict[str, tuple[str, str, str]] = {}
    for entry in pending:
        if "parent" in entry:    # a child run's question: listed once, on its parent (children.py)
            continue
        id_ = str(entry.get("id"))
        rows.setdefault(id_, (id_, str(entry.get("node")), str(entry.get("label"))))
    return list(rows.values())
