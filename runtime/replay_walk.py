"""Replaying a history's recorded steps on the new flow, checkpoint by
checkpoint: which transitions ran a step (or routed ``start``), each node
re-run (``replay_rerun.py``) and compared with its record, then the step
completed as the engine completes it and compared with the boundary's
checkpoint. The first difference stops the walk (``_Diverged``): later steps
replay against recorded states that no longer follow from the new flow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from .checkpoint import Checkpoint
from .errors import InvalidUpdateError, SpecChangedError, StepFailure
from .fanout import fan_view
from .node import CompiledNode
from .program import Program
from .records import DueKind, NodeStatus, RunStatus
from .replay_lines import (
    interrupt_line,
    interrupt_step,
    node_line,
    node_names,
    pauses_text,
    route_line,
    set_line,
    short,
    write_text,
)
from .replay_report import Divergence, Gap
from .replay_rerun import Inputs, NodeRun, Outcome, inputs_of, run_node
from .superstep import AddFailure, complete_step, route_start, static_pauses
from .values import json_equal

if TYPE_CHECKING:
    from .record_types import NodeRecord


class _Diverged(Exception):
    def __init__(self, divergence: Divergence):
        super().__init__(divergence.message)
        self.divergence = divergence



class Walker:
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
            self._diverge(seq, step, "start", "route", f"next {node_names(checkpoint.frontier)}",
                          f"a failure: {failure.message}", failure.line or route_line(self.flow, "start", ()))
        if frontier != sorted(checkpoint.frontier):
            self._diverge(seq, step, "start", "route", f"next {node_names(checkpoint.frontier)}",
                          f"next {node_names(frontier)}", route_line(self.flow, "start", frontier))
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
            inputs = inputs_of(name, record, now, completed)
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
                              f"a failure: {failure.message}", node_line(self.flow, name))
            if failed == name and not after.nodes and kept is None:
                self._diverge(after.seq, after.step, name, "fanout",
                              f"a failure: {after.error['message'] if after.error else ''}",
                              "the fan-out starting", node_line(self.flow, name))
            if kept is not None and list(kept["names"]) != fan.names:
                self._diverge(after.seq, after.step, name, "fanout", f"instances {node_names(kept['names'])}",
                              f"instances {node_names(fan.names)}", node_line(self.flow, name))
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
                          f"a failure: {failure.message}", route_line(self.flow, name, ()))
        return [], routed

    def _compare_node(self, after: Checkpoint, node: CompiledNode, inputs: Inputs, run: NodeRun,
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
                        interrupt_line(flow, name, label))
        for index, label in enumerate(run.reached[:len(inputs.resume)]):
            schema = interrupt_step(flow, name, label).get("schema")
            problems = flow.schemas.violations(schema, inputs.resume[index])
            if problems:
                diverge("answer", f"answer {short(inputs.resume[index])} to `{name}:{label}`",
                        "an `expect` type it does not match: " + "; ".join(problems),
                        interrupt_line(flow, name, label))
        if run.status == Outcome.ONCE_MISMATCH:
            recorded, replayed = run.detail.split("|", 1)
            diverge("once", f"`call once` #{run.index} {recorded}", replayed, node_line(flow, name))
        if run.status == Outcome.STUBBED:
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
        if run.status == Outcome.NO_ONCE:
            if inputs.complete:
                diverge("once", f"no `call once` #{run.index}", f"a `call once` #{run.index}",
                        node_line(flow, name))
            self.gaps.append(Gap(seq, step, name, f"the result of its `call once` #{run.index} "
                                                  "is not recorded"))
            return None
        if run.status == Outcome.FAILED:
            what = f"interrupt `{name}:{inputs.labels[-1]}`" if inputs.expect == "pause" else "the node finishing"
            diverge("failure", what, f"a failure: {run.detail}", run.line or node_line(flow, name))
        if inputs.expect == "pause":
            if run.status == Outcome.FINISHED:
                pending = inputs.labels[len(inputs.resume)]
                diverge("interrupt", f"interrupt `{name}:{pending}`", "no interrupt (the node finished)",
                        node_line(flow, name))
            return None   # paused at the recorded interrupt (the labels matched)
        if inputs.expect == "answered":
            index = len(inputs.resume)
            if run.status == Outcome.FINISHED:
                diverge("interrupt", f"interrupt `{name}:{inputs.labels[index]}`",
                        "no interrupt (the node finished)", node_line(flow, name))
            self.gaps.append(Gap(seq, step, name, f"the answer to `{name}:{inputs.labels[index]}` "
                                                  "is not recorded"))
            return None
        # expect == "finish": the recorded execution finished with these answers.
        if run.status == Outcome.PAUSED:
            label = run.reached[run.index]
            diverge("interrupt", "no interrupt (the node finished)", f"interrupt `{name}:{label}`",
                    interrupt_line(flow, name, label))
        if len(run.reached) < len(inputs.resume):
            missing = inputs.labels[len(run.reached)] if len(run.reached) < len(inputs.labels) else "?"
            diverge("interrupt", f"interrupt `{name}:{missing}`", "no interrupt (the node finished)",
                    node_line(flow, name))
        if now is not None and now["status"] == NodeStatus.FINISHED:
            self._compare_writes(after, name, now.get("writes", []), run.writes, recorded_fields)
            if sorted(set(now.get("next", []))) != run.next:
                diverge("route", f"next {node_names(now.get('next', []))}", f"next {node_names(run.next)}",
                        route_line(flow, name, run.next))
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
                self._diverge(after.seq, after.step, name, "write", write_text(old), write_text(mine),
                              set_line(self.flow, name, where))

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
                        self._diverge(seq, step, name, "route", f"next {node_names(after.frontier)}",
                                      f"next {node_names(result[1])}", route_line(self.flow, name, result[1]))
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
                              set_line(self.flow, name, target))
            self._diverge(seq, step, name, "write", f"one `set {target} =` in the step",
                          f"two, by `{exc.nodes[0]}` and `{name}`", set_line(self.flow, name, target))
        except AddFailure as failed:
            self._diverge(seq, step, failed.node, "write", f"`{failed.field}` += {short(failed.value)}",
                          f"a failure: {failed.failure.message}", set_line(self.flow, failed.node, failed.field))
        updates, writers, joins = outcome.updates, outcome.writers, outcome.joins
        new_values = {**values, **updates}
        for name in self.flow.fields:   # in declaration order: usually cause before effect
            if name not in after.values or name not in recorded_fields:
                continue
            if not json_equal(new_values[name], after.values[name]):
                culprit = writers.get(name) or ", ".join(nodes)
                self._diverge(seq, step, culprit, "write", f"`{name}` = {short(after.values[name])}",
                              f"`{name}` = {short(new_values[name])}", set_line(self.flow, culprit, name))
        sent = {*(before.extra.get("deadline_next") or ()),
                 *(f["goto"] for f in after.extra.get("fired") or () if "goto" in f)}
        frontier = sorted({*outcome.frontier(goto), *sent})
        if frontier != sorted(after.frontier):
            culprit = _route_culprit(self.flow, nodes, results, set(after.frontier), set(frontier))
            self._diverge(seq, step, culprit, "route", f"next {node_names(after.frontier)}",
                          f"next {node_names(frontier)}",
                          route_line(self.flow, culprit, results.get(culprit, ((), ()))[1]))  # type: ignore[index]
        if joins != after.joins:
            key = min(set(joins) ^ set(after.joins) | {k for k in joins if joins[k] != after.joins.get(k)})
            self._diverge(seq, step, key.rpartition("->")[2], "join", f"join progress {short(after.joins)}",
                          f"join progress {short(joins)}", None)
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
                          pauses_text(recorded), pauses_text(replayed), node_line(flow, node))

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

