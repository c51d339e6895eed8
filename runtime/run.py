"""What ``invoke``, ``state`` and ``history`` hand back to the caller.

These are read-only snapshots built from a checkpoint; they hold copies, so a
caller changing ``run.state`` changes nothing stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from fermata.spec.ir import is_static_interrupt

from .checkpoint import Checkpoint
from .plain import Frozen
from .records import TIMING_KEYS, interrupt_json
from .values import json_copy

if TYPE_CHECKING:
    from .record_types import AnswerRecord, FiredRecord, NodeRecord, PendingInterrupt, RunError


class Interrupt(Frozen):
    """A pending interrupt. ``id`` is ``"node:label"`` (``"N:before"`` /
    ``"N:after"`` for static ones); ``token`` names this very occurrence."""

    __slots__ = ("id", "index", "label", "node", "payload", "schema", "timing", "token")

    id: Final[str]
    node: Final[str]
    label: Final[str]
    index: Final[int]
    payload: Final[Any]
    schema: Final[dict[str, Any] | None]
    token: Final[str]
    # When it was asked, who may answer, its deadline, reminders, a timer's
    # due time (``records.TIMING_KEYS``; only the keys it has).
    timing: Final[dict[str, Any]]

    def __init__(self, id: str, node: str, label: str, index: int, payload: Any, schema: dict[str, Any] | None,
                 token: str, timing: dict[str, Any] | None = None) -> None:
        self.id = id
        self.node = node
        self.label = label
        self.index = index
        self.payload = payload
        self.schema = schema
        self.token = token
        self.timing = {} if timing is None else timing

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


class Run(Frozen):
    """A run as of one checkpoint (the latest, for ``invoke`` and ``state``).

    ``events`` holds what the ``invoke`` that produced it streamed (empty
    for ``state``). Events share values with the stored run: read them, do
    not change them.
    """

    __slots__ = ("checkpoint_id", "error", "events", "interrupts", "next", "output", "state", "status", "step",
                 "thread")

    thread: Final[str]
    status: Final[str]  # a records.RunStatus: "interrupted" | "done" | "failed" | "running"
    state: Final[dict[str, Any]]
    output: Final[dict[str, Any]]
    interrupts: Final[list[Interrupt]]
    error: Final[RunError | None]
    checkpoint_id: Final[str]
    step: Final[int]
    next: Final[list[str]]
    events: Final[list[dict[str, Any]]]

    def __init__(self, thread: str, status: str, state: dict[str, Any], output: dict[str, Any],
                 interrupts: list[Interrupt], error: RunError | None, checkpoint_id: str, step: int,
                 next: list[str] | None = None, events: list[dict[str, Any]] | None = None) -> None:
        self.thread = thread
        self.status = status
        self.state = state
        self.output = output
        self.interrupts = interrupts
        self.error = error
        self.checkpoint_id = checkpoint_id
        self.step = step
        self.next = [] if next is None else next
        self.events = [] if events is None else events

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


class Snapshot(Frozen):
    """One entry of ``history``: a checkpoint as the caller sees it.

    ``next`` is the frontier: the nodes of the step in flight (when ``nodes``
    records progress) or of the next step.
    """

    __slots__ = ("answered", "checkpoint_id", "error", "fired", "next", "nodes", "pending", "state", "status", "step")

    checkpoint_id: Final[str]
    step: Final[int]
    status: Final[str]
    state: Final[dict[str, Any]]
    pending: Final[list[Interrupt]]
    next: Final[list[str]]
    error: Final[RunError | None]
    nodes: Final[dict[str, NodeRecord]]
    # The audit trail at this checkpoint: the answers it applied (``id``,
    # ``by``, ``at``, ``value``) and the deadlines, reminders, timers fired.
    answered: Final[list[AnswerRecord]]
    fired: Final[list[FiredRecord]]

    def __init__(self, checkpoint_id: str, step: int, status: str, state: dict[str, Any], pending: list[Interrupt],
                 next: list[str], error: RunError | None, nodes: dict[str, NodeRecord],
                 answered: list[AnswerRecord] | None = None, fired: list[FiredRecord] | None = None) -> None:
        self.checkpoint_id = checkpoint_id
        self.step = step
        self.status = status
        self.state = state
        self.pending = pending
        self.next = next
        self.error = error
        self.nodes = nodes
        self.answered = [] if answered is None else answered
        self.fired = [] if fired is None else fired

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
