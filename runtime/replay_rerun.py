"""Re-running one recorded node execution on the new flow: what the
history gave it and says it did (:func:`inputs_of`), and what the new spec
does with the same answers and ``once`` journal (:func:`run_node`). The
walker (``replay_walk.py``) compares the two."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn

from .errors import NondeterminismError
from .node import CompiledNode
from .records import NodeStatus
from .steps import Execution, Pause, UnrecordedOnce

if TYPE_CHECKING:
    from .record_types import Consumed, NodeRecord, OnceEntry


class _StubbedCall(Exception):
    """Internal: the replay reached a plain call it must not run (``stub_calls``)."""

    def __init__(self, target: str):
        super().__init__(target)
        self.target = target


def _stub(target: str, *args: Any) -> NoReturn:
    raise _StubbedCall(target)


class Outcome(StrEnum):
    """What re-running one node came to (replay's own words, not a record's)."""

    FINISHED = "finished"
    PAUSED = "paused"
    FAILED = "failed"
    NO_ONCE = "no_once"                # a `call once` result is not recorded
    ONCE_MISMATCH = "once_mismatch"    # a recorded once result is of another call
    STUBBED = "stubbed"                # it called a function replay stubbed out


@dataclass
class NodeRun:
    """What re-running one node came to."""

    status: Outcome
    reached: list[str]
    writes: list[list[Any]] = field(default_factory=list)
    next: list[str] = field(default_factory=list)
    index: int = 0                  # paused: the interrupt's index; no_once: the call's
    detail: str = ""                # failed / once_mismatch: what happened
    line: int | None = None         # failed: the new spec's line


def run_node(node: CompiledNode, state: dict[str, Any], resume: list[Any],
             journal: list[OnceEntry], stub_calls: bool = False,
             instance: tuple[str, Any] | None = None) -> NodeRun:
    """Run ``node`` of the new flow as a resume of the recorded execution
    would: from its first step, answers bound by index, ``once`` results from
    the journal (never called), retried like the node says (without the
    waits: a replay has no one to be polite to). ``instance``: the name and
    item of one instance of a fan-out node (which has no route of its own)."""
    executions: list[Execution] = []
    fan_out = node.fan_out if instance is not None else None

    def new_execution(recorded: list[OnceEntry]) -> Execution:
        ex = Execution(node.name if instance is None else instance[0], state, list(resume), [], list(journal))
        if fan_out is not None and instance is not None:
            ex.locals = fan_out.bindings(instance[1])
        ex.sealed = True   # its journal is the record's: a `once` call past it stops the replay
        if stub_calls:
            ex.invoke = _stub
        executions.append(ex)
        return ex

    try:
        done = node.attempts(new_execution, journal, wait=False, route=instance is None)
    except UnrecordedOnce as missing:
        return NodeRun(Outcome.NO_ONCE, executions[-1].reached, index=missing.index)
    except _StubbedCall as stubbed:
        return NodeRun(Outcome.STUBBED, executions[-1].reached, detail=stubbed.target)
    except NondeterminismError as exc:
        return NodeRun(Outcome.ONCE_MISMATCH, executions[-1].reached, index=exc.index,
                        detail=f"{exc.recorded}|{exc.replayed}")
    except Exception as exc:  # noqa: BLE001 - a replay reports, it never crashes
        reached = executions[-1].reached if executions else []
        return NodeRun(Outcome.FAILED, reached, detail=f"{type(exc).__name__}: {exc}")
    ex, stop = done.ex, done.stop
    if stop is None:
        return NodeRun(Outcome.FINISHED, ex.reached, ex.writes, sorted(set(done.next)))
    if isinstance(stop, Pause):
        return NodeRun(Outcome.PAUSED, ex.reached, index=stop.index)
    return NodeRun(Outcome.FAILED, ex.reached, detail=stop.message, line=stop.line)


@dataclass
class Inputs:
    """What the recorded run gave a node in one transition, and what it did."""

    resume: list[Any]
    journal: list[OnceEntry]
    labels: list[str]        # interrupt labels the recorded execution reached, as far as known
    expect: str              # pause | finish | answered | any
    complete: bool           # the journal holds every `once` result the recorded execution got
                             # (a failed execution may also have made one call that raised)


def inputs_of(name: str, record: NodeRecord | None, now: NodeRecord | None,
               completed: dict[str, Consumed] | None) -> Inputs:
    """What to re-run node ``name`` with, and what its recorded execution is
    known to have done: from its record before the transition (``record``),
    after it (``now``, when the step is still in flight) or, when the step
    completed, the boundary's ``extra["completed"]`` (None when the runtime
    that recorded the run does not keep it)."""
    if now is not None and now["status"] != NodeStatus.FINISHED:
        expect = "pause" if now["status"] == NodeStatus.INTERRUPTED else "any"
        return Inputs(list(now.get("resume", [])), list(now.get("once", [])),
                       list(now.get("interrupts", [])), expect, complete=True)
    labels = list(record.get("interrupts", [])) if record else []
    final: Consumed | None = None
    if now is not None:
        if "resume" in now or "once" in now:
            final = now
    elif completed is not None:
        final = completed.get(name) or {}
    if final is not None:   # the runtime kept the finished execution's answers and journal
        return Inputs(list(final.get("resume", [])), list(final.get("once", [])), labels, "finish",
                       complete=True)
    resume = list(record.get("resume", [])) if record else []
    journal = list(record.get("once", [])) if record else []
    if record is not None and record["status"] == NodeStatus.INTERRUPTED and len(labels) > len(resume):
        return Inputs(resume, journal, labels, "answered", complete=False)
    return Inputs(resume, journal, labels, "finish", complete=False)
