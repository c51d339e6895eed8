"""What a replay reports (``replay.replay``): the differences between a
recorded run and its replay on the new flow, the executions replayed only
in part, and the result that holds both, each with the JSON that
``fermata replay --json`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Divergence:
    """Where a recorded run and its replay on the new flow part ways.

    ``seq``/``step`` name the checkpoint at which the difference shows;
    ``node`` is the node (``"start"`` for the start route); ``line`` a line
    of the *new* spec when one can be named. ``recorded``/``replayed`` say
    what each did (None for a static problem, which ``message`` describes).
    """

    seq: int
    step: int
    node: str | None
    kind: str      # interrupt | answer | once | failure | write | route | join | static_interrupt | removed | field
                   # | fanout (the instances of a fan-out differ)
    message: str
    recorded: str | None = None
    replayed: str | None = None
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"checkpoint": f"{self.seq:08d}", "step": self.step, "node": self.node, "kind": self.kind,
                "message": self.message, "recorded": self.recorded, "replayed": self.replayed,
                "line": self.line}


@dataclass(frozen=True)
class Gap:
    """A node execution replayed only up to what the history records."""

    seq: int
    step: int
    node: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"checkpoint": f"{self.seq:08d}", "step": self.step, "node": self.node, "reason": self.reason}


@dataclass
class ReplayResult:
    thread: str
    flow: str
    checkpoints: int
    steps: int                                   # supersteps replayed
    divergences: list[Divergence] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def compatible(self) -> bool:
        return not self.divergences

    @property
    def divergence(self) -> Divergence | None:
        """The first difference, in history order."""
        return self.divergences[0] if self.divergences else None

    def to_json(self) -> dict[str, Any]:
        return {"thread": self.thread, "flow": self.flow, "compatible": self.compatible,
                "checkpoints": self.checkpoints, "steps": self.steps,
                "divergence": self.divergence.to_json() if self.divergence else None,
                "divergences": [d.to_json() for d in self.divergences],
                "gaps": [g.to_json() for g in self.gaps]}
