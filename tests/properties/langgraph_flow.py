"""Translate a generated flow into a LangGraph ``StateGraph`` and drive it.

Test code only: the differential test runs the same model on Fermata and on
LangGraph and compares node entries, interrupts surfaced, and final state.

A fan-out node becomes one ``Send(node, {"it", "pos", "seed"})`` per item from
the edge into it, its writes reduced with ``operator.add``, on the subset
where the two coincide (``flow_models(fanouts="send")``: see ``_sendable``).

The translated subset leaves out what LangGraph does not have by design:
``call once`` (LangGraph replays every call), nondeterminism detection (a
flip branch would silently misbind there) and typed resume validation
(generated answers are always of the right type, so it never triggers).
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Annotated, Any, TypedDict

from . import instrument
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

REDUCED = ("total", "log", "laps")  # fields only ever written with `+=`


def _state_type(model: FlowModel) -> type:
    fields: dict[str, Any] = {
        "seed": int,
        "total": Annotated[int, operator.add],
        "log": Annotated[list[str], operator.add],
    }
    if model.loop is not None:
        fields["laps"] = Annotated[int, operator.add]
    for name in model.owned_fields():
        fields[name] = int
    return TypedDict("GeneratedState", fields)  # type: ignore[operator]


class _NodeRun:
    """One LangGraph execution of a node: a local view plus the update to return.
    ``instance``: a fan-out instance's name (its interrupts carry it)."""

    def __init__(self, name: str, state: dict[str, Any], instance: str | None = None):
        self.name = name
        self.instance = instance or name
        self.view = dict(state)
        self.update: dict[str, Any] = {}

    def write(self, name: str, op: str, value: Any) -> None:
        if op == "=":
            self.view[name] = value
            self.update[name] = value
        else:
            self.view[name] = self.view[name] + value
            self.update[name] = self.update.get(name, [] if isinstance(value, list) else 0) + value

    def steps(self, steps: tuple[Step, ...]) -> None:
        from langgraph.types import interrupt

        for step in steps:
            if isinstance(step, Append):
                self.write("log", "+=", [step.text])
            elif isinstance(step, Add):
                self.write("total", "+=", self.view["seed"] if step.amount is None else step.amount)
            elif isinstance(step, SetOwn):
                self.write(f"v_{self.name}", "=", self.view["total"] + step.plus)
            elif isinstance(step, Hit):
                if step.once:
                    raise NotImplementedError("`call once` is outside the translated subset")
                instrument.hit(self.name, step.index)
            elif isinstance(step, Ask):
                value = interrupt({"node": self.instance, "label": step.label, "total": self.view.get("total")})
                if step.kind == "int":
                    self.write("total", "+=", value)
                elif step.kind == "str":
                    self.write("log", "+=", [value])
            elif isinstance(step, Branch):
                if self.view["total"] > step.threshold:
                    self.steps(step.then)
                elif step.otherwise is not None:
                    self.steps(step.otherwise)
            elif isinstance(step, FlipBranch):
                raise NotImplementedError("flip branches are outside the translated subset")
            else:
                raise TypeError(step)


def _node_function(model: FlowModel, node: NodeModel):
    is_loop = model.loop is not None and model.loop.node == node.name

    def run(state: dict[str, Any]) -> dict[str, Any]:
        if node.fan is not None:   # a `Send` task: its state is what was sent
            key = state["it"] if node.keyed else state["pos"]
            # A task's view starts from what was sent; its update holds only its own writes.
            execution = _NodeRun(node.name, {"total": 0, "log": [], **state}, f"{node.name}[{key}]")
            execution.steps(node.steps[:1])
            execution.write("total", "+=", state["it"])
            execution.steps(node.steps[1:])
            return execution.update
        execution = _NodeRun(node.name, state)
        if is_loop:
            execution.steps(node.steps[:1])
            execution.write("laps", "+=", 1)
            execution.steps(node.steps[1:])
        else:
            execution.steps(node.steps)
        return execution.update

    run.__name__ = node.name
    return run


def _targets(model: FlowModel, targets: tuple[str, ...], state: dict[str, Any]) -> list[Any]:
    """Edge targets as LangGraph takes them: a fan-out node as one `Send` per item."""
    from langgraph.graph import END
    from langgraph.types import Send

    out: list[Any] = []
    for target in targets:
        if target == "end":
            out.append(END)
        elif model.node(target).fan is not None:
            out += [Send(target, {"it": item, "pos": position, "seed": state["seed"]})
                    for position, item in enumerate(model.node(target).fan or ())]
        else:
            out.append(target)
    return out


def _router(model: FlowModel, name: str):
    from langgraph.graph import END

    loop = model.loop if model.loop is not None and model.loop.node == name else None

    def route(state: dict[str, Any]) -> list[Any]:
        if loop is not None and state["laps"] < loop.limit:
            return [loop.back]
        for branch in model.routes[name]:
            if branch.threshold is None or state["total"] > branch.threshold:
                return _targets(model, branch.targets, state)
        return [END]

    return route


def _sender(model: FlowModel, target: str):
    def send(state: dict[str, Any]) -> list[Any]:
        return _targets(model, (target,), state)

    send.__name__ = f"send_{target}"
    return send


def build(model: FlowModel):
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(_state_type(model))
    for node in model.nodes:
        builder.add_node(node.name, _node_function(model, node))
    fanned = {n.name for n in model.nodes if n.fan is not None}
    for target in model.start:
        if target in fanned:
            builder.add_conditional_edges(START, _sender(model, target), [target])
        else:
            builder.add_edge(START, target)
    for name, targets in model.plain.items():
        for target in targets:
            if target in fanned:
                builder.add_conditional_edges(name, _sender(model, target), [target])
            else:
                builder.add_edge(name, END if target == "end" else target)
    for name in model.routes:
        builder.add_conditional_edges(name, _router(model, name))
    for sources, target in model.joins:
        builder.add_edge(list(sources), target)
    return builder.compile(checkpointer=InMemorySaver(), interrupt_before=list(model.before),
                           interrupt_after=list(model.after))


def drive(model: FlowModel, answers: Answers, initial: dict[str, Any],
          max_calls: int = 200) -> tuple[dict[str, Any], list[list[str]], Counter[tuple[str, int]]]:
    """Run to the end: (final state, pending dynamic ids per pause, call counts)."""
    from langgraph.types import Command

    instrument.reset()
    graph = build(model)
    config = {"configurable": {"thread_id": "t"}, "recursion_limit": 10_000}
    asked: Counter[tuple[str, str]] = Counter()
    pauses: list[list[str]] = []
    payload: Any = initial
    for _ in range(max_calls):
        graph.invoke(payload, config)
        snapshot = graph.get_state(config)
        if not snapshot.next and not snapshot.interrupts:
            return dict(snapshot.values), pauses, Counter(instrument.HITS)
        pending = list(snapshot.interrupts)
        if not pending:
            payload = None
            continue
        pauses.append(sorted(f"{i.value['node']}:{i.value['label']}" for i in pending))
        values = {}
        for item in pending:
            key = (item.value["node"], item.value["label"])
            values[item.id] = answers.value(model, key[0], key[1], asked[key])
            asked[key] += 1
        payload = Command(resume=values)
    raise AssertionError("LangGraph run did not finish within the call budget")
