"""Child runs against LangGraph subgraphs (a subgraph invoked from a parent
node, LangGraph's "subgraph called as a function"), on the subset where the
semantics coincide: a child chain whose nodes ask 0-2 questions each, run by
one parent node or by each instance of a fan-out (LangGraph: one `Send` per
item to a node that invokes the subgraph). Node entries, the interrupts surfaced at each pause (their
payloads, in order) and the final state must agree.

Where LangGraph differs, a test names the LangGraph issue and asserts
Fermata's documented behaviour (docs/guide/composition.md, "Child runs at
run time").
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Annotated, Any, TypedDict

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from fermata.runtime import Command, Graph
from fermata.runtime.store.memory import MemoryStore
from tests.runtime import calls_fixture

from .test_child_runs import Shape, answer_for, build

pytest.importorskip("langgraph", reason="differential tests need the `langgraph` test extra")
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command as LGCommand
from langgraph.types import (
    Send,
    interrupt,
)

pytestmark = pytest.mark.slow


def fermata_drive(shape: Shape, seed: int) -> tuple[list[list[str]], Counter[str], list[int]]:
    """Answers depend on the question's text only (``answer_for(payload)``),
    so both sides answer alike whatever their ids and order."""
    calls_fixture.reset()
    graph = Graph.from_ir(build(shape, counted=True), store=MemoryStore())
    run = graph.invoke({"seed": seed, "keys": list(shape.fan or ())}, thread="t")
    pauses: list[list[str]] = []
    while run.status == "interrupted":
        dynamic = [i for i in run.interrupts if not i.static]
        pauses.append(sorted(i.payload for i in dynamic))
        run = graph.invoke(Command(resume={i.id: answer_for(i.payload) for i in dynamic})
                           if dynamic else None, thread="t")
    assert run.status == "done", run.error
    hits = Counter({name.split(":", 1)[1]: n for name, n in calls_fixture.CALLS.items()})
    return pauses, hits, sorted(run.state["results"])


def langgraph_drive(shape: Shape, seed: int, *, gate: bool = False,
                    by_id: bool = True) -> tuple[list[list[str]], Counter[str], Any]:
    """``by_id=False``: resume a single pending interrupt with a bare value."""
    hits: Counter[str] = Counter()

    class Kid(TypedDict):
        seed: int
        total: Annotated[int, operator.add]

    def child_node(i: int, asks: int) -> Any:
        def run(state: Kid) -> dict[str, int]:
            hits[f"c{i}"] += 1
            total = 0
            for j in range(asks):
                total += interrupt({"text": f"c{i} q{j} for {state['seed']}", "id": f"c{i}:q{j}"})
            return {"total": total}
        return run

    kb = StateGraph(Kid)
    names = [f"c{i}" for i in range(len(shape.questions))]
    for i, asks in enumerate(shape.questions):
        kb.add_node(names[i], child_node(i, asks))
    kb.add_edge(START, names[0])
    for a, b in zip(names, [*names[1:], END], strict=True):
        kb.add_edge(a, b)
    kid = kb.compile(interrupt_before=names[1:2] if gate else None)

    class Parent(TypedDict):
        seed: int
        keys: list[str]
        results: Annotated[list[int], operator.add]

    def go(state: Parent) -> dict[str, Any]:
        hits["go"] += 1
        out = kid.invoke({"seed": state["seed"], "total": 0})
        return {"results": [out.get("total")]}

    pb = StateGraph(Parent)
    pb.add_node("go", go)
    pb.add_node("fin", lambda state: {})
    if shape.fan is None:
        pb.add_edge(START, "go")
    else:   # the fan-out: one `Send` per key, each instance running the subgraph
        pb.add_conditional_edges(START, lambda state: [Send("go", {"seed": state["seed"], "keys": [], "results": []})
                                                       for _ in state["keys"]])
    pb.add_edge("go", "fin")
    pb.add_edge("fin", END)
    graph = pb.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    out = graph.invoke({"seed": seed, "keys": list(shape.fan or ()), "results": []}, config)
    pauses: list[list[str]] = []
    for _ in range(50):
        if "__interrupt__" in out:
            asked = out["__interrupt__"]
            pauses.append(sorted(i.value["text"] for i in asked))
            answers = {i.id: answer_for(i.value["text"]) for i in asked}
            resume = answers if by_id or len(asked) > 1 else next(iter(answers.values()))
            out = graph.invoke(LGCommand(resume=resume), config)
        elif graph.get_state(config).next:
            out = graph.invoke(None, config)   # a static gate inside the subgraph
        else:
            break
    return pauses, hits, sorted(out["results"])


shapes = st.builds(Shape, questions=st.lists(st.integers(0, 2), min_size=1, max_size=3).map(tuple),
                   gate=st.just(False),
                   fan=st.one_of(st.none(), st.lists(st.sampled_from("abc"), min_size=1, max_size=3,
                                                     unique=True).map(tuple)),
                   pre=st.just(False), sibling=st.just(False))


@given(shapes, st.integers(0, 5))
def test_fermata_child_runs_and_langgraph_subgraphs_agree(shape: Shape, seed: int) -> None:
    note(f"{shape}")
    ours = fermata_drive(shape, seed)
    theirs = langgraph_drive(shape, seed)
    assert ours[0] == theirs[0]          # the questions surfaced, pause by pause
    assert ours[1] == theirs[1]          # node entries: go re-runs per pause, child nodes per own question
    assert ours[2] == theirs[2]          # the child's output, as the parent got it


def test_a_static_gate_inside_the_child_pauses_and_never_redelivers_an_old_answer() -> None:
    """langgraph #4796 (and langgraphjs #1552): a subgraph with
    `interrupt_before`, called from a parent node, restarted from its entry
    node on resume; langgraph #2870: a parent re-delivered an old answer to
    a subgraph with several interrupts. Fermata's documented behaviour: the
    gate surfaces as `go/c1:before`, `invoke(None)` passes it, the child goes
    on from its gate (no node before it runs again) and its next question
    is asked, never answered with an earlier answer."""
    shape = Shape(questions=(2, 1), gate=True, fan=None, pre=False, sibling=False)
    calls_fixture.reset()
    graph = Graph.from_ir(build(shape, counted=True), store=MemoryStore())
    run = graph.invoke({"seed": 1}, thread="t")
    run = graph.invoke(Command(resume={"go/c0:q0": 1}), thread="t")
    run = graph.invoke(Command(resume={"go/c0:q1": 2}), thread="t")
    assert [i.id for i in run.interrupts] == ["go/c1:before"]
    run = graph.invoke(None, thread="t")
    assert [i.id for i in run.interrupts] == ["go/c1:q0"]         # asked, not answered with 2
    run = graph.invoke(Command(resume=10), thread="t")
    assert run.status == "done" and run.state["results"] == [13]
    assert calls_fixture.CALLS["tick:c0"] == 3                     # 1 + its 2 questions: never restarted
    # LangGraph 1.2 (observed): the subgraph no longer restarts (c0 runs 3
    # times) and the gate surfaces no interrupt. Answered by id, c1's
    # question is then asked, as in Fermata; answered with bare values
    # (Command(resume=value)), it is never surfaced: c1 runs once, its
    # `interrupt` taking the answer last given to c0 (#2870's re-delivery).
    pauses, hits, _ = langgraph_drive(shape, 1, gate=True)
    assert hits["c0"] == 3 and pauses == [["c0 q0 for 1"], ["c0 q1 for 1"], ["c1 q0 for 1"]]
    pauses, hits, _ = langgraph_drive(shape, 1, gate=True, by_id=False)
    assert hits["c0"] == 3 and hits["c1"] == 1
    assert pauses == [["c0 q0 for 1"], ["c0 q1 for 1"]]
    # Fermata, by bare values: the same run as by id.
    graph = Graph.from_ir(build(shape, counted=True), store=MemoryStore())
    run = graph.invoke({"seed": 1}, thread="b")
    for value in (1, 2, None, 10):
        run = graph.invoke(Command(resume=value) if value is not None else None, thread="b")
    assert run.status == "done" and run.state["results"] == [13]
