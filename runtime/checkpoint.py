"""What a run looks like at a step boundary or a pause, and the store interface.

A :class:`Checkpoint` is the *logical*, complete picture of a run. Stores
persist it as a delta against the previous checkpoint (only the state fields
named in ``changed``), with periodic full snapshots so that reading the latest
checkpoint never replays a long chain. Everything here is JSON data: no
pickle, and a format version on everything persisted.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterable

FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """One checkpoint of one thread.

    ``seq`` numbers a thread's checkpoints 0, 1, 2, ...; ``id`` is the string a
    user quotes (``fork``, ``history``): the seq zero-padded, so ids sort.

    ``nodes`` holds the progress of the superstep in flight, per node name:
    ``{"status": "finished" | "interrupted" | "failed", "writes": [[field, op, value], ...],
    "next": [...], "resume": [...], "interrupts": [...], "once": [...], "attempts": n}``.
    It is empty at a clean step boundary.
    """

    seq: int
    step: int
    status: str                      # "running" | "interrupted" | "done" | "failed"
    values: dict[str, Any]           # every state field that has a value
    frontier: list[str]              # nodes of the next (or interrupted) superstep, sorted
    joins: dict[str, list[str]] = field(default_factory=dict)
    pending: list[dict[str, Any]] = field(default_factory=list)
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)   # runtime bookkeeping (static-interrupt passes, ...)

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
    def from_json(data: dict[str, Any]) -> "Checkpoint":
        return Checkpoint(
            seq=data["seq"], step=data["step"], status=data["status"],
            values=data["values"], frontier=data["frontier"], joins=data["joins"],
            pending=data["pending"], nodes=data["nodes"], error=data["error"],
            extra=data.get("extra", {}),
        )

    def copy(self) -> "Checkpoint":
        return copy.deepcopy(self)


@dataclass(frozen=True)
class ThreadInfo:
    """Per-thread metadata, written once when the thread's first checkpoint is."""

    thread: str
    flow: str                 # flow name
    ir_hash: str              # sha256 of the flow's canonical IR
    source: str | None        # path of the .flow or IR file the run started from
    created: str              # ISO-8601 UTC; informational only, never part of a trace

    def to_json(self) -> dict[str, Any]:
        return {"thread": self.thread, "flow": self.flow, "ir_hash": self.ir_hash,
                "source": self.source, "created": self.created}


class Store(ABC):
    """The one narrow interface every store implements.

    ``append`` is atomic: after a crash the thread's latest checkpoint is
    either the previous one or the new one, never a mix.
    """

    @abstractmethod
    def thread(self, thread: str) -> ThreadInfo | None: ...

    @abstractmethod
    def threads(self) -> list[ThreadInfo]: ...

    @abstractmethod
    def append(self, info: ThreadInfo, checkpoint: Checkpoint,
               changed: Iterable[str] | None) -> None:
        """Persist ``checkpoint`` as the thread's newest.

        ``changed`` names the state fields whose value differs from the
        previous checkpoint; ``None`` means "unknown": store everything.
        Creates the thread (with ``info``) on its first checkpoint; ``info``
        of an existing thread may be replaced (a run re-pinned to a new IR).
        """

    @abstractmethod
    def latest(self, thread: str) -> Checkpoint | None: ...

    @abstractmethod
    def get(self, thread: str, seq: int) -> Checkpoint | None: ...

    @abstractmethod
    def history(self, thread: str) -> list[Checkpoint]:
        """Every checkpoint of the thread, oldest first, each complete."""

    def close(self) -> None:  # noqa: B027 - optional for stores without resources
        """Release resources (files, connections)."""
