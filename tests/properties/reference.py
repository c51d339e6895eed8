"""A reference interpreter for generated flows, written to be obviously right.

It reads the :class:`FlowModel` directly (no parser, no IR, no runtime) and is
handed every resume value up front, so it never pauses: each ``interrupt``
simply evaluates to its answer. It follows SEMANTICS.md literally: nodes of a
superstep run on the state as it was when the step began, writes are applied
in ascending node-name order, edges are evaluated on each node's own view, a
join fires when all its sources have finished since it last fired.

Besides the final state it records, per node execution, how many interrupts
it reached and after how many of them each call ran. From that it predicts
how often the real runtime, which pauses and replays, calls each function:
a node execution that reaches ``m`` interrupts runs ``m + 1`` times when every
resume answers all pending interrupts, so a plain call made after ``j`` of
them runs ``m + 1 - j`` times, and a ``once`` call runs once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .model import (
    Add,
    Answers,
    Append,
    Ask,
    Branch,
    FlipBranch,
    FlowModel,
    Hit,
    NodeModel,
    SetOwn,
    Step,
)


@dataclass
class Outcome:
    state: dict[str, Any]
    # (node, label) in the order interrupts are reached, per superstep.
    interrupts: list[list[tuple[str, str]]] = field(default_factory=list)
    static_pauses: int = 0
    plain_calls: Counter[tuple[str, int]] = field(default_factory=Counter)
    once_calls: Counter[tuple[str, int]] = field(default_factory=Counter)
    executions: Counter[str] = field(default_factory=Counter)


@dataclass
class _Execution:
    """One run of one node (or fan-out instance) on its own view of the state."""

    node: str                 # the node, or the instance (`a[3]`)
    view: dict[str, Any]
    base: str = ""            # the node (an instance's), for its calls and its own field
    writes: list[tuple[str, str, Any]] = field(default_factory=list)
    reached: list[str] = field(default_factory=list)     # interrupt labels, in order
    calls: list[tuple[int, bool, int]] = field(default_factory=list)  # (index, once, interrupts before)

    def write(self, name: str, op: str, value: Any) -> None:
        self.writes.append((name, op, value))
        self.view[name] = _combine(self.view[name], op, value)


def _combine(old: Any, op: str, value: Any) -> Any:
    return value if op == "=" else old + value


class Reference:
    def __init__(self, model: FlowModel, answers: Answers):
        self.model = model
        self.answers = answers
        self.asked: Counter[tuple[str, str]] = Counter()

    def initial_state(self, given: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = {"seed": given["seed"], "total": given.get("total", 0), "log": []}
        if self.model.loop is not None:
            state["laps"] = 0
        for name in self.model.owned_fields():
            state[name] = 0
        return state

    def run(self, given: dict[str, Any], step_limit: int = 200) -> Outcome:
        model = self.model
        outcome = Outcome(self.initial_state(given))
        state = outcome.state
        frontier = sorted(set(model.start))
        joins: dict[int, set[str]] = {}
        ran: list[str] = []
        for _ in range(step_limit):
            # A step boundary pauses once when the step before ran an
            # `interrupt after` node or the next holds an `interrupt before` one.
            if any(n in model.after for n in ran) or any(n in model.before for n in frontier):
                outcome.static_pauses += 1
            if not frontier:
                return outcome
            # A fan-out node runs one instance per item, in list order, at
            # its own place in the step; its edges see every instance's writes.
            at_start = dict(state)
            executions = []
            routed: list[_Execution] = []
            for name in frontier:
                node = model.node(name)
                if node.fan is None:
                    executions.append(self._execute(node, dict(state)))
                    routed.append(executions[-1])
                    continue
                instances = [self._execute(node, dict(state), instance, item)
                             for instance, item in node.instances()]
                executions += instances
                fan_view = dict(at_start)
                for instance in instances:
                    for field_name, op, value in instance.writes:
                        fan_view[field_name] = _combine(fan_view[field_name], op, value)
                routed.append(_Execution(name, fan_view, base=name))
            reached = [(e.node, label) for e in executions for label in e.reached]
            if reached:
                outcome.interrupts.append(reached)
            for execution in executions:  # ascending node name: frontier is sorted
                for name, op, value in execution.writes:
                    state[name] = _combine(state[name], op, value)
                self._count(execution, outcome)
            targets: set[str] = set()
            for execution in routed:
                targets |= self._next(execution, joins)
            ran, frontier = frontier, sorted(targets - {"end"})
        raise AssertionError("generated flow ran past the step limit")

    # ------------------------------------------------------------ a node

    def _execute(self, node: NodeModel, view: dict[str, Any], instance: str | None = None,
                 item: int = 0) -> _Execution:
        execution = _Execution(instance or node.name, view, base=node.name)
        if instance is not None:
            self._steps(execution, node.steps[:1])
            execution.write("total", "+=", item)
            if not node.send:
                execution.write("log", "+=", [str(item)])
            self._steps(execution, node.steps[1:])
        elif self.model.loop is not None and self.model.loop.node == node.name:
            self._steps(execution, node.steps[:1])
            execution.write("laps", "+=", 1)
            self._steps(execution, node.steps[1:])
        else:
            self._steps(execution, node.steps)
        return execution

    def _steps(self, execution: _Execution, steps: tuple[Step, ...]) -> None:
        for step in steps:
            self._step(execution, step)

    def _step(self, ex: _Execution, step: Step) -> None:
        if isinstance(step, Append):
            ex.write("log", "+=", [step.text])
        elif isinstance(step, Add):
            ex.write("total", "+=", ex.view["seed"] if step.amount is None else step.amount)
        elif isinstance(step, SetOwn):
            ex.write(f"v_{ex.base}", "=", ex.view["total"] + step.plus)
        elif isinstance(step, Hit):
            ex.calls.append((step.index, step.once, len(ex.reached)))
        elif isinstance(step, Ask):
            occurrence = self.asked[(ex.node, step.label)]
            self.asked[(ex.node, step.label)] += 1
            ex.reached.append(step.label)
            value = self.answers.value(self.model, ex.node, step.label, occurrence)
            if step.kind == "int":
                ex.write("total", "+=", value)
            elif step.kind == "str":
                ex.write("log", "+=", [value])
        elif isinstance(step, Branch):
            if ex.view["total"] > step.threshold:
                self._steps(ex, step.then)
            elif step.otherwise is not None:
                self._steps(ex, step.otherwise)
        elif isinstance(step, FlipBranch):
            raise NotImplementedError("flip branches are nondeterministic by design")
        else:
            raise TypeError(step)

    def _count(self, ex: _Execution, outcome: Outcome) -> None:
        outcome.executions[ex.node] += 1
        m = len(ex.reached)
        for index, once, before in ex.calls:
            if once:
                outcome.once_calls[(ex.base, index)] += 1
            else:
                outcome.plain_calls[(ex.base, index)] += m + 1 - before

    # ------------------------------------------------------------ edges

    def _next(self, ex: _Execution, joins: dict[int, set[str]]) -> set[str]:
        model, name, view = self.model, ex.node, ex.view
        targets: set[str] = set(model.plain.get(name, ()))
        if name in model.routes:
            loop = model.loop
            if loop is not None and loop.node == name and view["laps"] < loop.limit:
                targets.add(loop.back)
            else:
                for route in model.routes[name]:
                    if route.threshold is None or view["total"] > route.threshold:
                        targets.update(route.targets)
                        break
        for number, (sources, target) in enumerate(model.joins):
            if name in sources:
                seen = joins.setdefault(number, set())
                seen.add(name)
                if seen >= set(sources):
                    targets.add(target)
                    joins[number] = set()
        return targets
