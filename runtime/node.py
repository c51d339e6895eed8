"""Running one node of one superstep: attempts, retries, timeouts, outcomes.

A node runs against the state as it was at step start, with its *progress
record* from earlier executions in this step (answers by interrupt index, the
labels it reached, its ``once`` journal). Its outcome is a new record, stored
in the checkpoint under ``nodes[name]`` until the step completes:

* ``{"status": "finished", "writes": [[field, op, value], ...], "next": [...]}``:
  the node's route was evaluated on its own view right away, so a finished
  node never runs again in this step.
* ``{"status": "interrupted", "resume", "interrupts", "once"}`` plus a pending
  interrupt; its writes are discarded.
* ``{"status": "failed", "resume", "interrupts", "once", "attempts", "error"}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from fermata.spec.digest import sha256_hex

from .calls import DEFAULT_POLICY, CallPolicy, run_with_timeout
from .children import ChildFailed, ChildPause
from .errors import StepFailure
from .expressions import compile_condition
from .fanout import FanOutSpec
from .plain import Plain
from .records import NodeStatus
from .schemas import Schemas
from .steps import Execution, Pause, StepCompiler

if TYPE_CHECKING:
    from .children import ChildRunner
    from .once import OnceRecorder
    from .record_types import Consumed, NodeRecord, OnceEntry, PendingInterrupt, RunError

Route = Callable[[Any], tuple[str, ...]]

_FINISHED = NodeStatus.FINISHED.value   # the exact str a record holds, looked up once (a node finishes every step)


def sleep_ms(milliseconds: int) -> None:
    """The wait between retries (tests replace it to count waits)."""
    time.sleep(milliseconds / 1000)


def interrupt_token(step: int, node: str, label: str, index: int) -> str:
    """Deterministic, so traces are identical across processes and stores; a
    node runs at most once per step, so unique per pending occurrence."""
    digest = sha256_hex(f"{step}/{node}/{label}/{index}".encode())[:10]
    return f"{node}:{label}#{digest}"


def compile_route(route_ir: dict[str, Any] | None, source: str) -> Route:
    """The targets of the first branch taken (``end`` dropped), evaluated on a view."""
    if not route_ir:
        return lambda view: ()
    branches = []
    for branch in route_ir["branches"]:
        when = branch["when"]
        condition = None if when is None else compile_condition(when, f"the condition of an edge from `{source}`")
        targets = tuple(t for t in branch["targets"] if t != "end")
        branches.append((condition, targets, branch["line"]))
    if len(branches) == 1 and branches[0][0] is None:
        fixed = branches[0][1]
        return lambda view: fixed

    def route(view: Any) -> tuple[str, ...]:
        for condition, targets, line in branches:
            if condition is None:
                return targets
            try:
                if condition(view):
                    return targets
            except StepFailure as failure:
                failure.locate(line, None)
                raise
        return ()

    return route


class Attempts(Plain):
    """How a node's attempts ended: ``ex`` is the last execution, ``count``
    how many were made, ``stop`` the interrupt it paused at or the failure
    that ended it (None: it finished)."""

    __slots__ = ("count", "ex", "next", "stop")

    ex: Execution
    count: int
    stop: Pause | StepFailure | None
    next: list[str]  # finished: where the node routes

    def __init__(self, ex: Execution, count: int, stop: Pause | StepFailure | None,
                 next: list[str] | None = None) -> None:
        self.ex = ex
        self.count = count
        self.stop = stop
        self.next = [] if next is None else next


class Outcome(Plain):
    """What one run of a node came to: its new progress record, and the
    pending interrupt or the error when it did not finish."""

    __slots__ = ("error", "pending", "record", "surfaced")

    record: NodeRecord
    pending: PendingInterrupt | None
    error: RunError | None
    surfaced: list[PendingInterrupt]  # a paused child's interrupts

    def __init__(self, record: NodeRecord, pending: PendingInterrupt | None = None, error: RunError | None = None,
                 surfaced: list[PendingInterrupt] | None = None) -> None:
        self.record = record
        self.pending = pending
        self.error = error
        self.surfaced = [] if surfaced is None else surfaced

    @property
    def status(self) -> str:
        return self.record["status"]


class CompiledNode:
    def __init__(self, ir: dict[str, Any], route_ir: dict[str, Any] | None,
                 field_schemas: dict[str, dict[str, Any]], schemas: Schemas,
                 call_policy: CallPolicy = DEFAULT_POLICY):
        self.name: str = ir["name"]
        self.what = f"node `{self.name}`"     # how a timeout names it
        self.line: int = ir["line"]
        self.retry: int = ir.get("retry", 0)
        self.backoff_ms: int = ir.get("backoff_ms", 0)
        self.timeout_ms: int | None = ir.get("timeout_ms")
        fan_out = ir.get("for")
        self.fan_out = None if fan_out is None else FanOutSpec(self.name, self.line, fan_out)
        compiler = StepCompiler(self.name, field_schemas, schemas, call_policy)
        self.steps = compiler.block(ir["steps"])
        self.interrupt_labels = frozenset(compiler.interrupt_labels)
        self.where_rules = compiler.where_rules
        self.route = compile_route(route_ir, self.name)

    def run(self, state: dict[str, Any], record: Consumed | None, step: int,
            path: str | None, recorder: OnceRecorder | None = None,
            instance: str | None = None, item: Any = None, runner: ChildRunner | None = None) -> Outcome:
        """Run the node (with its retries) against ``state``; ``instance``
        names one instance of a fan-out node, run with its variable bound to
        ``item`` (its route is the fan-out's, evaluated once by the engine).

        Raises :class:`NondeterminismError` (the engine fails the run);
        every other failure becomes a ``failed`` outcome.
        """
        resume: list[Any] = record.get("resume", []) if record else []
        recorded: list[str] = record.get("interrupts", []) if record else []
        journal: list[OnceEntry] = record.get("once", []) if record else []
        # Only answered interrupts bind the replay to its record: an answer is
        # for the interrupt it was given to. The one the node paused at has no
        # answer yet, so a changed state (Command(update=...), a fork) may lead
        # it to another question, or past every question, as in LangGraph.
        binding = recorded[:len(resume)]

        name = self.name if instance is None else instance
        fan_out = self.fan_out if instance is not None else None

        def new_execution(journal: list[OnceEntry]) -> Execution:
            ex = Execution(name, state, resume, binding, list(journal), recorder)
            ex.runner = runner
            if fan_out is not None:
                ex.locals = fan_out.bindings(item)
            return ex

        done = self.attempts(new_execution, journal, route=instance is None)
        ex, stop = done.ex, done.stop
        if stop is None:
            finished: NodeRecord = {"status": _FINISHED, "writes": ex.writes, "next": done.next}
            # What this execution consumed, kept so `fermata replay` can
            # re-execute it; only present when there is something.
            if resume:
                finished["resume"], finished["interrupts"] = resume, ex.reached
            if ex.journal:
                finished["once"] = ex.journal
            return Outcome(finished)
        if isinstance(stop, ChildPause):   # paused with its child run: the child's interrupts are its own
            return Outcome({"status": NodeStatus.INTERRUPTED.value, "resume": resume, "interrupts": ex.reached,
                            "once": ex.journal,
                            "child": {"flow": stop.flow, "thread": stop.thread, "seq": stop.seq}},
                           surfaced=stop.entries)
        if isinstance(stop, Pause):
            entry: PendingInterrupt = {"id": f"{name}:{stop.label}", "node": name, "label": stop.label,
                                       "index": stop.index, "payload": stop.payload, "schema": stop.schema,
                                       "token": interrupt_token(step, name, stop.label, stop.index)}
            return Outcome({"status": NodeStatus.INTERRUPTED.value, "resume": resume, "interrupts": ex.reached,
                            "once": ex.journal}, pending={**entry, **stop.clauses})
        error = stop.to_error(name, path)
        error["attempts"] = done.count
        failed: NodeRecord = {"status": NodeStatus.FAILED.value, "resume": resume, "interrupts": recorded,
                              "once": list(ex.journal), "attempts": done.count, "error": error}
        if isinstance(stop, ChildFailed) and stop.seq is not None:
            failed["child"] = {"flow": stop.flow, "thread": stop.thread, "seq": stop.seq}
        return Outcome(failed, error=error)

    def attempts(self, new_execution: Callable[[list[OnceEntry]], Execution],
                 journal: list[OnceEntry], wait: bool = True, route: bool = True) -> Attempts:
        """Attempt the node until it finishes, pauses, or fails for good
        (its retries spent, or a failure that is not retryable), each attempt
        on ``new_execution(journal so far)``. The engine and ``replay`` both
        run nodes through here (a replay without the waits: it has no one
        to be polite to). Failures other than a :class:`StepFailure`
        propagate."""
        count = 0
        while True:
            count += 1
            ex = new_execution(journal)
            try:
                if self.timeout_ms is None:   # most nodes: no partial, no wrapper call (~0.3 us a step)
                    self._attempt(ex)
                else:
                    run_with_timeout(partial(self._attempt, ex), self.timeout_ms, self.what)
                # A route may fail too; a fan-out instance has none of its own.
                return Attempts(ex, count, None, list(self.route(ex)) if route else [])
            except Pause as pause:
                return Attempts(ex, count, pause)
            except StepFailure as failure:
                # Completed `once` calls happened, even in a failed or abandoned
                # attempt: keep them so a retry does not repeat them. (A timed-out
                # worker may still append; the copy taken here is what counts.)
                journal = list(ex.journal)
                if failure.line is None and failure.kind == "timeout":
                    failure.line = self.line
                if failure.retryable and count <= self.retry:
                    if wait:
                        sleep_ms(self.backoff_ms * 2 ** (count - 1))
                    continue
                return Attempts(ex, count, failure)

    def _attempt(self, ex: Execution) -> None:
        self.steps(ex)
        ex.check_finished()


def consumed_of(record: NodeRecord) -> Consumed:
    """What a node's executions consumed, from its record (the keys it has,
    in the record's order): kept in ``extra["completed"]`` for replay once
    its step completes and the record is dropped."""
    consumed: Consumed = {}
    if "resume" in record:
        consumed["resume"] = record["resume"]
    if "interrupts" in record:
        consumed["interrupts"] = record["interrupts"]
    if "once" in record:
        consumed["once"] = record["once"]
    return consumed


def failed_record(record: Consumed | None, error: RunError) -> NodeRecord:
    """The record of a node failed by the engine (nondeterminism), keeping
    what a retry needs."""
    record = record or {}
    return {"status": NodeStatus.FAILED.value, "resume": record.get("resume", []),
            "interrupts": record.get("interrupts", []), "once": record.get("once", []),
            "attempts": 1, "error": error}

