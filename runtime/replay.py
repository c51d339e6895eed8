"""Replaying recorded runs against another version of their flow.

Before a spec change ships, :func:`replay` checks it against real runs, as
Temporal's replayer checks workflow code against recorded histories::

    from fermata.runtime.replay import load_history, replay
    info, checkpoints = load_history(json.loads(Path("run.json").read_text()))
    result = replay(graph, checkpoints, thread=info.thread)
    result.compatible, result.divergence      # the first place the run diverges

A run is **compatible** with the new flow when

* (static) everything its latest checkpoint is in the middle of still exists:
  the frontier's nodes, the pending interrupts (``node:label`` in the node,
  ``node:before/after`` still declared), the fields written by the step in
  flight, join progress; and the state can be carried over (no new required
  field without a default);
* (dynamic) every recorded step replays the same way: each node that ran is
  re-run with the new spec against the recorded state at step start, with
  the recorded answers (by index) and ``once`` journal, and reaches the same
  interrupts, answers them with values its new ``expect`` types accept,
  makes the same writes and routes to the same nodes; ``start`` routes the
  same way; the same static interrupts pause the same boundaries.

Each step is replayed against the *recorded* state at its start, so one
difference is reported where it happens rather than again at every later
step. Plain ``call``s run, as on a real resume (a target that cannot be
imported is a difference, not a crash); a ``call once`` never runs: its
result comes from the journal. With ``stub_calls=True`` plain calls do not
run either; their results are not recorded in a history (only ``once``
results are), so a node is replayed up to its first plain call, checked that
far (interrupts reached, answers) and reported as a :class:`Gap`.

What a history holds. A checkpoint keeps an interrupted node's answers and
``once`` journal while its step is in flight, and the checkpoint that
completes a step keeps, in ``extra["completed"]`` (node -> ``{"resume",
"interrupts", "once"}``), what each of its finished nodes consumed; so every
execution replays in full. A history without them (recorded by an earlier
version) is replayed as far as it goes: the interrupts are checked, the
writes and route of such an execution are not, and it is reported as a
:class:`Gap`, never a difference.
Likewise ``Command(update=...)`` and a ``Command(goto=...)`` given at a step
boundary are not recorded: a run resumed with them may show a difference
its spec did not cause.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NoReturn

from .checkpoint import FORMAT_VERSION, Checkpoint, ThreadInfo
from .compat import incompatibilities
from .errors import (
    FermataError,
    InvalidUpdateError,
    NondeterminismError,
    SpecChangedError,
    StepFailure,
)
from .fanout import base_node, fan_view
from .node import CompiledNode
from .program import Program
from .records import Consumed, DueKind, NodeRecord, NodeStatus, OnceEntry, RunStatus
from .steps import Execution, Pause, UnrecordedOnce
from .superstep import AddFailure, complete_step, route_start, static_pauses
from .values import json_equal


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


def replay(flow: Any, history: Iterable[Checkpoint], thread: str = "", *,
           stub_calls: bool = False) -> ReplayResult:
    """Replay ``history`` (a thread's checkpoints, oldest first, as
    ``store.history`` returns them) on ``flow`` (a ``Flow`` or its
    ``Program``). Runs plain ``call``s unless ``stub_calls``; never
    raises for what the run or the spec does."""
    compiled: Program = getattr(flow, "compiled", flow)
    checkpoints = list(history)
    walker = _Walker(compiled, stub_calls)
    # A cancel (``cancel.py``) ran nothing: the run's steps end before it.
    walker.walk([c for c in checkpoints if c.status != RunStatus.CANCELLED])
    if checkpoints:
        walker.divergences += static_problems(compiled, checkpoints[-1])
    walker.divergences.sort(key=lambda d: d.seq)
    return ReplayResult(thread=thread, flow=compiled.name, checkpoints=len(checkpoints),
                        steps=len(walker.steps), divergences=walker.divergences, gaps=walker.gaps)


def load_history(data: Any) -> tuple[ThreadInfo, list[Checkpoint]]:
    """A history as ``fermata history --thread ID --json`` prints it:
    ``{"thread": {thread info}, "checkpoints": [checkpoint, ...]}``."""
    shape = "expected {\"thread\": {...}, \"checkpoints\": [...]} from `fermata history --json`"
    if not isinstance(data, dict) or not isinstance(data.get("thread"), dict) \
            or not isinstance(data.get("checkpoints"), list):
        raise FermataError(f"not a recorded history: {shape}")
    meta = data["thread"]
    try:
        info = ThreadInfo(thread=meta["thread"], flow=meta["flow"], ir_hash=meta.get("ir_hash", ""),
                          source=meta.get("source"), created=meta.get("created", ""))
        checkpoints = []
        for raw in data["checkpoints"]:
            if raw.get("v") != FORMAT_VERSION:
                raise FermataError(f"checkpoint format version {raw.get('v')!r} is not {FORMAT_VERSION}")
            checkpoints.append(Checkpoint.from_json(raw))
    except (KeyError, TypeError, AttributeError) as exc:
        raise FermataError(f"not a recorded history ({type(exc).__name__}: {exc}): {shape}") from None
    if not checkpoints:
        raise FermataError(f"the history of thread `{info.thread}` holds no checkpoint")
    return info, checkpoints


# --------------------------------------------------------------------------
# Static: can the latest checkpoint go on under the new flow?
# --------------------------------------------------------------------------


def static_problems(flow: Program, latest: Checkpoint) -> list[Divergence]:
    """What the run's latest checkpoint is in the middle of and the new flow
    no longer has: the check ``Flow`` makes before resuming (``compat.py``,
    including what a resume can go past), and the state's carry-over."""
    problems = [Divergence(latest.seq, latest.step, p.node, "removed", p.message, line=_node_line(flow, p.node))
                for p in incompatibilities(flow, latest)]
    try:
        flow.carry_over(latest.values)
    except SpecChangedError as exc:
        problems.append(Divergence(latest.seq, latest.step, None, "field", str(exc)))
    return problems


# --------------------------------------------------------------------------
# Dynamic: replaying the recorded steps
# --------------------------------------------------------------------------


class _Diverged(Exception):
    def __init__(self, divergence: Divergence):
        super().__init__(divergence.message)
        self.divergence = divergence


class _StubbedCall(Exception):
    """Internal: the replay reached a plain call it must not run (``stub_calls``)."""

    def __init__(self, target: str):
        super().__init__(target)
        self.target = target


def _stub(target: str, *args: Any) -> NoReturn:
    raise _StubbedCall(target)


class _Outcome(StrEnum):
    """What re-running one node came to (replay's own words, not a record's)."""

    FINISHED = "finished"
    PAUSED = "paused"
    FAILED = "failed"
    NO_ONCE = "no_once"                # a `call once` result is not recorded
    ONCE_MISMATCH = "once_mismatch"    # a recorded once result is of another call
    STUBBED = "stubbed"                # it called a function replay stubbed out


@dataclass
class _NodeRun:
    """What re-running one node came to."""

    status: _Outcome
    reached: list[str]
    writes: list[list[Any]] = field(default_factory=list)
    next: list[str] = field(default_factory=list)
    index: int = 0                  # paused: the interrupt's index; no_once: the call's
    detail: str = ""                # failed / once_mismatch: what happened
    line: int | None = None         # failed: the new spec's line


def run_node(node: CompiledNode, state: dict[str, Any], resume: list[Any],
             journal: list[OnceEntry], stub_calls: bool = False,
             instance: tuple[str, Any] | None = None) -> _NodeRun:
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
        return _NodeRun(_Outcome.NO_ONCE, executions[-1].reached, index=missing.index)
    except _StubbedCall as stubbed:
        return _NodeRun(_Outcome.STUBBED, executions[-1].reached, detail=stubbed.target)
    except NondeterminismError as exc:
        return _NodeRun(_Outcome.ONCE_MISMATCH, executions[-1].reached, index=exc.index,
                        detail=f"{exc.recorded}|{exc.replayed}")
    except Exception as exc:  # noqa: BLE001 - a replay reports, it never crashes
        reached = executions[-1].reached if executions else []
        return _NodeRun(_Outcome.FAILED, reached, detail=f"{type(exc).__name__}: {exc}")
    ex, stop = done.ex, done.stop
    if stop is None:
        return _NodeRun(_Outcome.FINISHED, ex.reached, ex.writes, sorted(set(done.next)))
    if isinstance(stop, Pause):
        return _NodeRun(_Outcome.PAUSED, ex.reached, index=stop.index)
    return _NodeRun(_Outcome.FAILED, ex.reached, detail=stop.message, line=stop.line)


@dataclass
class _Inputs:
    """What the recorded run gave a node in one transition, and what it did."""

    resume: list[Any]
    journal: list[OnceEntry]
    labels: list[str]        # interrupt labels the recorded execution reached, as far as known
    expect: str              # pause | finish | answered | any
    complete: bool           # the journal holds every `once` result the recorded execution got
                             # (a failed execution may also have made one call that raised)


class _Walker:
    def __init__(self, flow: Program, stub_calls: bool = False):
        self.flow = flow
        self.stub_calls = stub_calls
        self.divergences: list[Divergence] = []
        self.gaps: list[Gap] = []
        self.steps: set[int] = set()

    def walk(self, history: list[Checkpoint]) -> None:
        previous: Checkpoint | None = None
        try:
            for checkpoint in history:
                self._transition(previous, checkpoint)
                previous = checkpoint
        except _Diverged as stop:
            self.divergences.append(stop.divergence)

    def _transition(self, before: Checkpoint | None, after: Checkpoint) -> None:
        """Check that ``after`` follows from ``before`` under the new flow."""
        route_start_failed = after.status == RunStatus.FAILED and after.extra.get("route_start")
        if before is None:
            if after.step == 0 and not after.nodes and not route_start_failed:
                self._start(after)
            return  # a forked thread starts anywhere: it is the baseline
        fired = after.extra.get("fired") or ()
        if fired and all(f["kind"] == DueKind.REMINDER for f in fired) and after.nodes == before.nodes:
            return   # reminders only: the run did not move
        # A deadline that fired is replayed as recorded: its node was abandoned.
        abandoned = {f["id"].rpartition(":")[0] for f in fired if "goto" in f}
        if before.nodes and after.step == before.step:
            self._step(before, after, [n for n in before.frontier if n not in abandoned], before.nodes,
                       before.extra.get("goto"))
        elif not before.nodes and after.step == before.step + 1:
            # A step began at ``before``'s boundary; an in-flight ``after``
            # shows which nodes it ran (a boundary goto changes them unrecorded).
            nodes = after.frontier if after.nodes else before.frontier
            self._step(before, after, nodes, {}, None)
        elif (before.status == RunStatus.DONE or before.extra.get("route_start")) and after.step == before.step \
                and not after.nodes and not route_start_failed:
            self._start(after)   # a new run on a finished thread (or a retried start route)
        # Anything else changes no step (a step-limit failure, a failed start route).

    # ------------------------------------------------------------ start

    def _start(self, checkpoint: Checkpoint) -> None:
        values = self._values(checkpoint)
        step, seq = checkpoint.step, checkpoint.seq
        try:
            frontier = route_start(self.flow, values)
        except StepFailure as failure:
            self._diverge(seq, step, "start", "route", f"next {_names(checkpoint.frontier)}",
                          f"a failure: {failure.message}", failure.line or _route_line(self.flow, "start", ()))
        if frontier != sorted(checkpoint.frontier):
            self._diverge(seq, step, "start", "route", f"next {_names(checkpoint.frontier)}",
                          f"next {_names(frontier)}", _route_line(self.flow, "start", frontier))
        self._statics(checkpoint, [], frontier)

    # ------------------------------------------------------------ steps

    def _step(self, before: Checkpoint, after: Checkpoint, nodes: list[str],
              records: dict[str, NodeRecord], goto: list[str] | None) -> None:
        """Re-run the nodes of the step ``before`` -> ``after``; compare."""
        self.steps.add(after.step)
        values = self._values(before)
        recorded_fields = set(before.values)
        results: dict[str, tuple[list[list[Any]], list[str]] | None] = {}   # None: not known
        units = self._units(before, after, sorted(nodes), values)
        if units is None:
            return   # a fan-out failed to start, as it did in the recorded run
        for name, node_name, item in units:
            if node_name is None:   # a fan-out node itself: its route, once every instance is known
                results[name] = self._fan_route(after, name, units, results, values)
                continue
            record = records.get(name)
            if record is not None and record["status"] == NodeStatus.FINISHED:
                results[name] = (record.get("writes", []), record.get("next", []))
                continue  # finished earlier in the step: not re-run (checked when it finished)
            now = after.nodes.get(name) if after.nodes else None
            if after.nodes and now is None:
                continue  # the recorded step stopped before running it (a nondeterminism failure)
            node = self.flow.nodes.get(node_name)
            if node is None:
                self._diverge(after.seq, after.step, name, "removed", f"node `{name}` running",
                              f"no node `{name}`", None)
            completed = None if after.nodes else after.extra.get("completed")
            inputs = _inputs_of(name, record, now, completed)
            instance = None if name == node_name else (name, item)
            run = run_node(node, values, inputs.resume, inputs.journal, self.stub_calls, instance)
            results[name] = self._compare_node(after, node, inputs, run, now, recorded_fields, name)
        if after.nodes:
            return  # still in flight: each node was compared with its record
        self._compare_step(before, after, [name for name, _, _ in units], values, results, goto,
                           recorded_fields)

    def _units(self, before: Checkpoint, after: Checkpoint, nodes: list[str],
               values: dict[str, Any]) -> list[tuple[str, str | None, Any]] | None:
        """The step's units as the engine runs them: ``(name, node, item)``
        for a node (``name == node``) or an instance, then ``(name, None,
        None)`` for a fan-out node itself. The new flow's fan-out must name
        the instances the recorded run kept (``extra["fanout"]``)."""
        units: list[tuple[str, str | None, Any]] = []
        failed = after.error.get("node") if after.status == RunStatus.FAILED and after.error else None
        for name in nodes:
            node = self.flow.nodes.get(name)
            spec = node.fan_out if node is not None else None
            if spec is None:
                units.append((name, name, None))
                continue
            kept = before.extra.get("fanout", {}).get(name) or after.extra.get("fanout", {}).get(name)
            try:
                fan = spec.start(values)
            except StepFailure as failure:
                if failed == name and not after.nodes and kept is None:
                    return None
                self._diverge(after.seq, after.step, name, "fanout", "the fan-out starting",
                              f"a failure: {failure.message}", _node_line(self.flow, name))
            if failed == name and not after.nodes and kept is None:
                self._diverge(after.seq, after.step, name, "fanout",
                              f"a failure: {after.error['message'] if after.error else ''}",
                              "the fan-out starting", _node_line(self.flow, name))
            if kept is not None and list(kept["names"]) != fan.names:
                self._diverge(after.seq, after.step, name, "fanout", f"instances {_names(kept['names'])}",
                              f"instances {_names(fan.names)}", _node_line(self.flow, name))
            units += [(instance, name, item) for instance, item in fan.instances()]
            units.append((name, None, None))
        return units

    def _fan_route(self, after: Checkpoint, name: str, units: list[tuple[str, str | None, Any]],
                   results: dict[str, tuple[list[list[Any]], list[str]] | None],
                   values: dict[str, Any]) -> tuple[list[list[Any]], list[str]] | None:
        """A fan-out node's part of the step: no writes, the route on the
        state with every instance's writes (None while one is not known)."""
        writes: list[list[Any]] = []
        for instance, node, _item in units:
            if node == name and instance != name:
                result = results.get(instance)
                if result is None:
                    return None
                writes += result[0]
        if after.nodes:
            return None
        try:
            routed = sorted(set(self.flow.nodes[name].route(fan_view(values, writes))))
        except StepFailure as failure:
            self._diverge(after.seq, after.step, name, "failure", "the route evaluating",
                          f"a failure: {failure.message}", _route_line(self.flow, name, ()))
        return [], routed

    def _compare_node(self, after: Checkpoint, node: CompiledNode, inputs: _Inputs, run: _NodeRun,
                      now: NodeRecord | None, recorded_fields: set[str], name: str,
                      ) -> tuple[list[list[Any]], list[str]] | None:
        """Compare one node's (or fan-out instance's, ``name``) replay with
        what the recorded run did; its (writes, next) when they are known to
        match, None when not known."""
        seq, step = after.seq, after.step
        flow = self.flow

        def diverge(kind: str, recorded: str, replayed: str, line: int | None) -> NoReturn:
            self._diverge(seq, step, name, kind, recorded, replayed, line)

        for index, label in enumerate(run.reached):
            if index < len(inputs.labels) and inputs.labels[index] != label:
                diverge("interrupt", f"interrupt `{name}:{inputs.labels[index]}`", f"`{name}:{label}`",
                        _interrupt_line(flow, name, label))
        for index, label in enumerate(run.reached[:len(inputs.resume)]):
            schema = _interrupt_step(flow, name, label).get("schema")
            problems = flow.schemas.violations(schema, inputs.resume[index])
            if problems:
                diverge("answer", f"answer {_short(inputs.resume[index])} to `{name}:{label}`",
                        "an `expect` type it does not match: " + "; ".join(problems),
                        _interrupt_line(flow, name, label))
        if run.status == _Outcome.ONCE_MISMATCH:
            recorded, replayed = run.detail.split("|", 1)
            diverge("once", f"`call once` #{run.index} {recorded}", replayed, _node_line(flow, name))
        if run.status == _Outcome.STUBBED:
            self.gaps.append(Gap(seq, step, name, f'its plain `call "{run.detail}"` was not run '
                                                  "(stubbed calls: a history does not record their results)"))
            return None
        if inputs.expect == "any":
            # The recorded execution failed: what it recorded (interrupts,
            # answers, `once` results) matched; past its failure a replay may
            # now get further. That includes a `once` call with no result: a
            # call that raised records none, and it may be the very call the
            # recorded execution failed in.
            return None
        if run.status == _Outcome.NO_ONCE:
            if inputs.complete:
                diverge("once", f"no `call once` #{run.index}", f"a `call once` #{run.index}",
                        _node_line(flow, name))
            self.gaps.append(Gap(seq, step, name, f"the result of its `call once` #{run.index} "
                                                  "is not recorded"))
            return None
        if run.status == _Outcome.FAILED:
            what = f"interrupt `{name}:{inputs.labels[-1]}`" if inputs.expect == "pause" else "the node finishing"
            diverge("failure", what, f"a failure: {run.detail}", run.line or _node_line(flow, name))
        if inputs.expect == "pause":
            if run.status == _Outcome.FINISHED:
                pending = inputs.labels[len(inputs.resume)]
                diverge("interrupt", f"interrupt `{name}:{pending}`", "no interrupt (the node finished)",
                        _node_line(flow, name))
            return None   # paused at the recorded interrupt (the labels matched)
        if inputs.expect == "answered":
            index = len(inputs.resume)
            if run.status == _Outcome.FINISHED:
                diverge("interrupt", f"interrupt `{name}:{inputs.labels[index]}`",
                        "no interrupt (the node finished)", _node_line(flow, name))
            self.gaps.append(Gap(seq, step, name, f"the answer to `{name}:{inputs.labels[index]}` "
                                                  "is not recorded"))
            return None
        # expect == "finish": the recorded execution finished with these answers.
        if run.status == _Outcome.PAUSED:
            label = run.reached[run.index]
            diverge("interrupt", "no interrupt (the node finished)", f"interrupt `{name}:{label}`",
                    _interrupt_line(flow, name, label))
        if len(run.reached) < len(inputs.resume):
            missing = inputs.labels[len(run.reached)] if len(run.reached) < len(inputs.labels) else "?"
            diverge("interrupt", f"interrupt `{name}:{missing}`", "no interrupt (the node finished)",
                    _node_line(flow, name))
        if now is not None and now["status"] == NodeStatus.FINISHED:
            self._compare_writes(after, name, now.get("writes", []), run.writes, recorded_fields)
            if sorted(set(now.get("next", []))) != run.next:
                diverge("route", f"next {_names(now.get('next', []))}", f"next {_names(run.next)}",
                        _route_line(flow, name, run.next))
        return run.writes, run.next

    def _compare_writes(self, after: Checkpoint, name: str, recorded: list[list[Any]],
                        replayed: list[list[Any]], fields: set[str]) -> None:
        """One node's writes, in order, to fields the recorded run had (a
        write to a field added by the new spec cannot differ from anything)."""
        ours = [w for w in replayed if w[0] in fields]
        theirs = [w for w in recorded if w[0] in fields]
        for index in range(max(len(ours), len(theirs))):
            mine = ours[index] if index < len(ours) else None
            old = theirs[index] if index < len(theirs) else None
            if not json_equal(mine, old):
                where = (mine or old)[0]  # type: ignore[index]
                self._diverge(after.seq, after.step, name, "write", _write(old), _write(mine),
                              _set_line(self.flow, name, where))

    def _compare_step(self, before: Checkpoint, after: Checkpoint, nodes: list[str],
                      values: dict[str, Any], results: dict[str, tuple[list[list[Any]], list[str]] | None],
                      goto: list[str] | None, recorded_fields: set[str]) -> None:
        """The step completed at ``after``: its writes, route, joins and static pauses."""
        seq, step = after.seq, after.step
        known = all(results.get(n) is not None for n in nodes)
        if not known:
            # Some node could not be replayed to its end: check what the
            # others did against what the step came to, as far as it goes.
            if goto is None:
                for name in nodes:
                    result = results.get(name)
                    if result is not None and not set(result[1]) <= set(after.frontier):
                        self._diverge(seq, step, name, "route", f"next {_names(after.frontier)}",
                                      f"next {_names(result[1])}", _route_line(self.flow, name, result[1]))
            self._statics(after, nodes, sorted(after.frontier))
            return
        for name in nodes:   # written by the old spec, before this step paused
            for target, _, _ in results[name][0]:  # type: ignore[index]
                if target not in values:
                    self._diverge(seq, step, name, "removed", f"a write to `{target}`",
                                  f"no field `{target}`", None)
        try:   # as the engine completes the step: the very same code
            outcome = complete_step(self.flow, values, nodes, results, before.joins, step)  # type: ignore[arg-type]
        except InvalidUpdateError as exc:
            target, name = exc.field, exc.nodes[-1]
            if exc.extended_by is not None:
                ops = {n: "+=" if n == exc.extended_by else "=" for n in exc.nodes}
                self._diverge(seq, step, name, "write", f"`{target}` replaced by one node or added to by all",
                              " and ".join(f"`set {target} {ops[n]}` by `{n}`" for n in sorted(ops)),
                              _set_line(self.flow, name, target))
            self._diverge(seq, step, name, "write", f"one `set {target} =` in the step",
                          f"two, by `{exc.nodes[0]}` and `{name}`", _set_line(self.flow, name, target))
        except AddFailure as failed:
            self._diverge(seq, step, failed.node, "write", f"`{failed.field}` += {_short(failed.value)}",
                          f"a failure: {failed.failure.message}", _set_line(self.flow, failed.node, failed.field))
        updates, writers, joins = outcome.updates, outcome.writers, outcome.joins
        new_values = {**values, **updates}
        for name in self.flow.fields:   # in declaration order: usually cause before effect
            if name not in after.values or name not in recorded_fields:
                continue
            if not json_equal(new_values[name], after.values[name]):
                culprit = writers.get(name) or ", ".join(nodes)
                self._diverge(seq, step, culprit, "write", f"`{name}` = {_short(after.values[name])}",
                              f"`{name}` = {_short(new_values[name])}", _set_line(self.flow, culprit, name))
        sent = {*(before.extra.get("deadline_next") or ()),
                 *(f["goto"] for f in after.extra.get("fired") or () if "goto" in f)}
        frontier = sorted({*outcome.frontier(goto), *sent})
        if frontier != sorted(after.frontier):
            culprit = _route_culprit(self.flow, nodes, results, set(after.frontier), set(frontier))
            self._diverge(seq, step, culprit, "route", f"next {_names(after.frontier)}", f"next {_names(frontier)}",
                          _route_line(self.flow, culprit, results.get(culprit, ((), ()))[1]))  # type: ignore[index]
        if joins != after.joins:
            key = min(set(joins) ^ set(after.joins) | {k for k in joins if joins[k] != after.joins.get(k)})
            self._diverge(seq, step, key.rpartition("->")[2], "join", f"join progress {_short(after.joins)}",
                          f"join progress {_short(joins)}", None)
        self._statics(after, nodes, frontier)

    def _statics(self, checkpoint: Checkpoint, ran: list[str], frontier: list[str]) -> None:
        """The static interrupts that pause this boundary, recorded vs the new flow's."""
        flow = self.flow
        replayed = sorted(f"{node}:{when}" for node, when in static_pauses(flow, ran, frontier))
        recorded = sorted(p["id"] for p in checkpoint.pending) if checkpoint.status == RunStatus.INTERRUPTED else []
        if replayed != recorded:
            first = min(set(replayed) ^ set(recorded))
            node = first.rpartition(":")[0]
            self._diverge(checkpoint.seq, checkpoint.step, node, "static_interrupt",
                          _pauses(recorded), _pauses(replayed), _node_line(flow, node))

    # ------------------------------------------------------------ helpers

    def _values(self, checkpoint: Checkpoint) -> dict[str, Any]:
        try:
            return self.flow.carry_over(checkpoint.values)
        except SpecChangedError as exc:
            raise _Diverged(Divergence(checkpoint.seq, checkpoint.step, None, "field", str(exc))) from None

    def _diverge(self, seq: int, step: int, node: str | None, kind: str, recorded: str, replayed: str,
                 line: int | None) -> NoReturn:
        raise _Diverged(Divergence(seq, step, node, kind, f"recorded {recorded}, replayed {replayed}",
                                   recorded, replayed, line))


def _inputs_of(name: str, record: NodeRecord | None, now: NodeRecord | None,
               completed: dict[str, Consumed] | None) -> _Inputs:
    """What to re-run node ``name`` with, and what its recorded execution is
    known to have done: from its record before the transition (``record``),
    after it (``now``, when the step is still in flight) or, when the step
    completed, the boundary's ``extra["completed"]`` (None when the runtime
    that recorded the run does not keep it)."""
    if now is not None and now["status"] != NodeStatus.FINISHED:
        expect = "pause" if now["status"] == NodeStatus.INTERRUPTED else "any"
        return _Inputs(list(now.get("resume", [])), list(now.get("once", [])),
                       list(now.get("interrupts", [])), expect, complete=True)
    labels = list(record.get("interrupts", [])) if record else []
    final: Consumed | None = None
    if now is not None:
        if "resume" in now or "once" in now:
            final = now
    elif completed is not None:
        final = completed.get(name) or {}
    if final is not None:   # the runtime kept the finished execution's answers and journal
        return _Inputs(list(final.get("resume", [])), list(final.get("once", [])), labels, "finish",
                       complete=True)
    resume = list(record.get("resume", [])) if record else []
    journal = list(record.get("once", [])) if record else []
    if record is not None and record["status"] == NodeStatus.INTERRUPTED and len(labels) > len(resume):
        return _Inputs(resume, journal, labels, "answered", complete=False)
    return _Inputs(resume, journal, labels, "finish", complete=False)


def _route_culprit(flow: Program, nodes: list[str], results: dict[str, Any],
                   recorded: set[str], replayed: set[str]) -> str:
    """The node to blame for a different frontier: one that went somewhere
    the run did not, else one whose route could reach where the run went."""
    for name in nodes:
        if set(results[name][1]) - recorded:
            return name
    for name in nodes:
        branches = (flow.ir.get("routes") or {}).get(name, {}).get("branches", [])
        if any(set(b["targets"]) & (recorded - replayed) for b in branches):
            return name
    return nodes[0]


# --------------------------------------------------------------------------
# Lines of the new spec, and short descriptions
# --------------------------------------------------------------------------


def _steps_of(steps: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for step in steps:
        yield step
        if step["k"] == "if":
            yield from _steps_of(step["then"])
            yield from _steps_of(step["else"])


def _node_ir(flow: Program, node: str | None) -> dict[str, Any] | None:
    return flow.ir["nodes"].get(base_node(node)) if node else None   # an instance: its node's


def _node_line(flow: Program, node: str | None) -> int | None:
    ir = _node_ir(flow, node)
    return ir.get("line") if ir else None


def _interrupt_step(flow: Program, node: str, label: str) -> dict[str, Any]:
    ir = _node_ir(flow, node)
    for step in _steps_of(ir["steps"] if ir else []):
        if step["k"] in ("interrupt", "wait") and step["label"] == label:
            return step
    return {}


def _interrupt_line(flow: Program, node: str, label: str) -> int | None:
    return _interrupt_step(flow, node, label).get("line") or _node_line(flow, node)


def _set_line(flow: Program, node: str, target: str) -> int | None:
    ir = _node_ir(flow, node)
    for step in _steps_of(ir["steps"] if ir else []):
        if step["k"] == "set" and step["field"] == target:
            return step.get("line")
    return _node_line(flow, node)


def _route_line(flow: Program, node: str, targets: Iterable[str]) -> int | None:
    """The line of the branch that goes to ``targets`` (else the first)."""
    branches = (flow.ir.get("routes") or {}).get(node, {}).get("branches", [])
    wanted = set(targets)
    for branch in branches:
        if {t for t in branch["targets"] if t != "end"} == wanted:
            return branch.get("line")  # type: ignore[no-any-return]
    return branches[0].get("line") if branches else _node_line(flow, node)


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _names(nodes: Iterable[str]) -> str:
    names = sorted(set(nodes))
    return ", ".join(f"`{n}`" for n in names) if names else "`end`"


def _write(write: list[Any] | None) -> str:
    return "no write" if write is None else f"`{write[0]}` {write[1]} {_short(write[2])}"


def _pauses(ids: list[str]) -> str:
    return ("a pause at " + ", ".join(f"`{i}`" for i in ids)) if ids else "no pause"
