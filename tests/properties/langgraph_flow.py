"""Translate a generated flow into a LangGraph ``StateGraph`` and drive it.

Test code only: the differential test runs the same model on Fermata and on
LangGraph and compares node entries, interrupts surfaced, and final state.

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
    """One LangGraph execution of a node: a local view plus the update to return."""

    def __init__(self, name: str, state: dict[str, Any]):
        self.name = name
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
                value = interrupt({"node": self.name, "label": step.label, "total": self.view["total"]})
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


def _router(model: FlowModel, name: str):
    from langgraph.graph import END

    loop = model.loop if model.loop is not None and model.loop.node == name else None

    def route(state: dict[str, Any]) -> list[str]:
        if loop is not None and state["laps"] < loop.limit:
            return [loop.back]
        for branch in model.routes[name]:
            if branch.threshold is None or state["total"] > branch.threshold:
                return [END if t == "end" else t for t in branch.targets]
        return [END]

    return route


def build(model: FlowModel):
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(_state_type(model))
    for node in model.nodes:
        builder.add_node(node.name, _node_function(model, node))
    for target in model.start:
        builder.add_edge(START, target)
    for name, targets in model.plain.items():
        for target in targets:
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
