"""What ``invoke``, ``state`` and ``history`` hand back to the caller.

These are read-only snapshots built from a checkpoint; they hold copies, so a
caller changing ``run.state`` changes nothing stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fermata.spec.ir import is_static_interrupt

from .checkpoint import Checkpoint
from .records import TIMING_KEYS, interrupt_json
from .values import json_copy

if TYPE_CHECKING:
    from .record_types import AnswerRecord, FiredRecord, NodeRecord, PendingInterrupt, RunError


@dataclass(frozen=True)
class Interrupt:
    """A pending interrupt. ``id`` is ``"node:label"`` (``"N:before"`` /
    ``"N:after"`` for static ones); ``token`` names this very occurrence."""

    id: str
    node: str
    label: str
    index: int
    payload: Any
    schema: dict[str, Any] | None
    token: str
    # When it was asked, who may answer, its deadline, reminders, a timer's
    # due time (``records.TIMING_KEYS``; only the keys it has).
    timing: dict[str, Any] = field(default_factory=dict)

    @property
    def asked_at(self) -> str | None:
        return self.timing.get("asked_at")

    @property
    def to(self) -> list[str] | None:
        return self.timing.get("to")

    @property
    def deadline_at(self) -> str | None:
        return self.timing.get("deadline_at")

    @property
    def child_thread(self) -> str | None:
        """The child run this question comes from (None: the run's own)."""
        child = self.timing.get("child")
        return child["thread"] if child else None

    @property
    def static(self) -> bool:
        return is_static_interrupt({"label": self.label, "id": self.id})

    def to_json(self) -> dict[str, Any]:
        """As ``--json`` and the server show a pending interrupt."""
        return interrupt_json({"id": self.id, "node": self.node, "label": self.label, "index": self.index,
                               "payload": self.payload, "schema": self.schema, "token": self.token,
                               **self.timing})

    @staticmethod
    def from_pending(entry: PendingInterrupt) -> Interrupt:
        return Interrupt(id=entry["id"], node=entry["node"], label=entry["label"],
                         index=entry["index"], payload=json_copy(entry.get("payload")),
                         schema=entry.get("schema"), token=entry["token"],
                         timing=json_copy({key: entry[key] for key in TIMING_KEYS if key in entry}))


@dataclass(frozen=True)
class Run:
    """A run as of one checkpoint (the latest, for ``invoke`` and ``state``).

    ``events`` holds what the ``invoke`` that produced it streamed (empty
    for ``state``). Events share values with the stored run: read them, do
    not change them.
    """

    thread: str
    status: str                       # a records.RunStatus: "interrupted" | "done" | "failed" | "running"
    state: dict[str, Any]
    output: dict[str, Any]
    interrupts: list[Interrupt]
    error: RunError | None
    checkpoint_id: str
    step: int
    next: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def from_checkpoint(thread: str, checkpoint: Checkpoint, outputs: tuple[str, ...],
                        events: list[dict[str, Any]] | None = None) -> Run:
        state = json_copy(checkpoint.values)
        return Run(thread=thread, status=checkpoint.status, state=state,
                   output={name: state.get(name) for name in outputs},
                   interrupts=[Interrupt.from_pending(p) for p in checkpoint.pending],
                   error=json_copy(checkpoint.error), checkpoint_id=checkpoint.id,
                   step=checkpoint.step, next=list(checkpoint.frontier), events=events or [])

    def to_json(self) -> dict[str, Any]:
        """The run as ``fermata run/resume --json`` prints it (events left out:
        ``stream`` is the way to see them)."""
        return {"thread": self.thread, "status": self.status, "step": self.step,
                "checkpoint_id": self.checkpoint_id, "state": self.state, "output": self.output,
                "interrupts": [i.to_json() for i in self.interrupts], "error": self.error}


@dataclass(frozen=True)
class Snapshot:
    """One entry of ``history``: a checkpoint as the caller sees it.

    ``next`` is the frontier: the nodes of the step in flight (when ``nodes``
    records progress) or of the next step.
    """

    checkpoint_id: str
    step: int
    status: str
    state: dict[str, Any]
    pending: list[Interrupt]
    next: list[str]
    error: RunError | None
    nodes: dict[str, NodeRecord]
    # The audit trail at this checkpoint: the answers it applied (``id``,
    # ``by``, ``at``, ``value``) and the deadlines, reminders, timers fired.
    answered: list[AnswerRecord] = field(default_factory=list)
    fired: list[FiredRecord] = field(default_factory=list)

    @staticmethod
    def from_checkpoint(checkpoint: Checkpoint) -> Snapshot:
        return Snapshot(checkpoint_id=checkpoint.id, step=checkpoint.step, status=checkpoint.status,
                        state=json_copy(checkpoint.values),
                        pending=[Interrupt.from_pending(p) for p in checkpoint.pending],
                        next=list(checkpoint.frontier), error=json_copy(checkpoint.error),
                        nodes=json_copy(checkpoint.nodes),
                        answered=json_copy(checkpoint.extra.get("answered", [])),
                        fired=json_copy(checkpoint.extra.get("fired", [])))

    def to_json(self) -> dict[str, Any]:
        """One entry of a history, as the caller sees it (``fermata history
        --json`` prints the stored checkpoints themselves: see ``records.history_json``)."""
        return {"checkpoint_id": self.checkpoint_id, "step": self.step, "status": self.status,
                "state": self.state, "pending": [i.to_json() for i in self.pending], "next": self.next,
                "error": self.error, "nodes": self.nodes, "answered": self.answered, "fired": self.fired}
