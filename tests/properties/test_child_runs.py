"""The replay contract for flows with child runs (issue #14), searched for
counterexamples: determinism across stores, a crash before any store
write (of the parent or of a child) then continuing from the store, and
rejected answers changing nothing.

Flows are generated as hand-built IR (``tests/runtime/children_ir.py``, the
contract shared with the compiler): a child chain of nodes asking 0-2
questions each (optionally behind a static gate), run by a parent node
(optionally a fan-out, optionally beside a sibling that asks a question of
its own, optionally after a question of its own).
"""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from fermata.runtime import Command, Graph, ResumeError
from fermata.runtime.checkpoint import Store
from fermata.runtime.clock import FakeClock
from fermata.runtime.store.memory import MemoryStore
from tests.runtime.children_ir import run_, with_children
from tests.runtime.irbuild import (
    INT,
    LIST,
    STR,
    F,
    L,
    add,
    append,
    call,
    fld,
    flow,
    get,
    interrupt,
    lit,
    lst,
    node,
    rec,
    set_,
    tmpl,
)

from .drive import Crash, CrashingStore

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Shape:
    questions: tuple[int, ...]     # per child node, how many it asks
    gate: bool                     # `interrupt before` the child's second node
    fan: tuple[str, ...] | None    # fan-out keys (None: one plain `run`)
    pre: bool                      # the parent node asks its own question before `run`
    sibling: bool                  # a sibling node asks in the same step


shapes = st.builds(
    Shape,
    questions=st.lists(st.integers(0, 2), min_size=1, max_size=3).map(tuple),
    gate=st.booleans(),
    fan=st.one_of(st.none(), st.lists(st.sampled_from("abc"), min_size=0, max_size=3, unique=True).map(tuple)),
    pre=st.booleans(),
    sibling=st.booleans(),
)


COUNT = "tests.runtime.calls_fixture:tick"     # counts node entries (tick:NAME)


def build(shape: Shape, counted: bool = False) -> dict[str, Any]:
    """The IR of ``shape``; ``counted``: every node's first step is a plain
    call counting its entries (what the LangGraph differential compares)."""
    nodes = []
    for i, count in enumerate(shape.questions):
        steps = [call(COUNT, lit(f"c{i}"))] if counted else []
        for j in range(count):
            steps += [interrupt(f"q{j}", tmpl(f"c{i} q{j} for {{{{ seed }}}}"), INT, bind=f"a{j}"),
                      set_("total", add(F("total"), L(f"a{j}")))]
        nodes.append(node(f"c{i}", *steps, append("log", lst(lit(f"c{i}")))))
    names = [n["name"] for n in nodes]
    edges: dict[str, list[Any]] = {"start": [names[0]]}
    for a, b in zip(names, [*names[1:], "end"], strict=True):
        edges[a] = [b]
    child = flow("kid", fields=[fld("seed", INT), fld("total", INT, 0), fld("log", LIST(STR), [])],
                 nodes=nodes, edges=edges, before=names[1:2] if shape.gate else [],
                 input=["seed"], output=["total", "log"])
    pre = [interrupt("pre", lit("before the child"), INT, bind="p")] if shape.pre else []
    seed = add(F("seed"), L("p")) if shape.pre else F("seed")
    go = node("go", *([call(COUNT, lit("go"))] if counted else []), *pre, run_("kid", rec(seed=seed), bind="r"),
              append("results", lst(get(L("r"), "total"))), append("logs", get(L("r"), "log")))
    if shape.fan is not None:
        go = {**go, "for": {"var": "k", "in": F("keys"), "key": L("k")}}
    parent_nodes = [go, node("fin", set_("done", lit(1)))]
    start = ["go"]
    if shape.sibling:
        parent_nodes.append(node("side", interrupt("ok", lit("side question"), INT, bind="s"),
                                 set_("side", L("s"))))
        start.append("side")
    parent = flow("top", fields=[fld("seed", INT), fld("keys", LIST(STR), []), fld("results", LIST(INT), []),
                                 fld("logs", LIST(STR), []), fld("side", INT, 0), fld("done", INT, 0)],
                  nodes=parent_nodes, edges={"start": start, "go": ["fin"], "fin": ["end"],
                                             **({"side": ["end"]} if shape.sibling else {})},
                  input=["seed", "keys"])
    return with_children(parent, kid=child)


def answer_for(id_: str) -> int:
    """The answer to ``id_`` (each question is asked once per run here, so an
    answer lost in a crash is given again, the same)."""
    return zlib.crc32(id_.encode()) % 7


def snapshot(store: Store) -> dict[str, Any]:
    """Every thread's whole history (what determinism compares)."""
    return {info.thread: [c.to_json() for c in store.history(info.thread)]
            for info in sorted(store.threads(), key=lambda i: i.thread)}


def heads(store: Store) -> dict[str, int]:
    return {info.thread: store.head(info.thread) for info in store.threads()}


def drive(make: Callable[[Store | None], Graph], given_input: dict[str, Any], *,
          one_at_a_time: bool = False, crash_at: int | None = None) -> Store:
    """Run to the end answering every question (by id); ``crash_at`` kills
    the process before its n-th store write (any thread), then goes on with
    a fresh graph on the store, as a restarted process would."""
    graph = make(None)
    inner = graph.store
    if crash_at is not None:
        graph = make(CrashingStore(inner, crash_at))
    payload: Any = given_input
    for _ in range(200):
        before = heads(inner)
        try:
            run = graph.invoke(payload, thread="t")
        except Crash:
            graph = make(inner)
            if heads(inner) != before:
                payload = None    # something got through: continue from the store
            continue
        if run.status == "done":
            return inner
        assert run.status == "interrupted", run.error
        dynamic = [i for i in run.interrupts if not i.static]
        if not dynamic:
            payload = None
            continue
        chosen = dynamic[:1] if one_at_a_time else dynamic
        values = {pending.id: answer_for(pending.id) for pending in chosen}
        payload = Command(resume=values)
    raise AssertionError("the run did not finish within the call budget")


def makers(shape: Shape, store: Store) -> Callable[[Store | None], Graph]:
    ir = build(shape)
    return lambda other: Graph.from_ir(ir, store=other if other is not None else store, clock=FakeClock())


def final_states(store: Store) -> dict[str, Any]:
    return {thread: history[-1]["values"] for thread, history in snapshot(store).items()}


inputs = st.fixed_dictionaries({"seed": st.integers(0, 5), "keys": st.just(["a", "b"])})


@given(shapes, st.integers(0, 5))
def test_child_runs_are_deterministic_across_stores(shape: Shape, seed: int) -> None:
    note(f"{shape}")
    given_input = {"seed": seed, "keys": list(shape.fan or ())}
    on_memory = drive(makers(shape, MemoryStore()), given_input)
    with tempfile.TemporaryDirectory() as tmp:
        from fermata.runtime.store.sqlite import SqliteStore

        sqlite = SqliteStore(Path(tmp) / "runs.db")
        try:
            on_sqlite = drive(makers(shape, sqlite), given_input)
            assert snapshot(on_sqlite) == snapshot(on_memory)
        finally:
            sqlite.close()
    one_by_one = drive(makers(shape, MemoryStore()), given_input, one_at_a_time=True)
    assert final_states(one_by_one)["t"] == final_states(on_memory)["t"]


@given(shapes, st.integers(0, 5), st.data())
def test_a_crash_before_any_write_then_continuing_gives_the_same_run(shape: Shape, seed: int,
                                                                    data: st.DataObject) -> None:
    note(f"{shape}")
    given_input = {"seed": seed, "keys": list(shape.fan or ())}
    baseline = drive(makers(shape, MemoryStore()), given_input)
    writes = sum(len(h) for h in snapshot(baseline).values())
    crash_at = data.draw(st.integers(1, max(1, writes)), label="crash before store write #")
    crashed = drive(makers(shape, MemoryStore()), given_input, crash_at=crash_at)
    assert final_states(crashed) == final_states(baseline)


@given(shapes, st.integers(0, 5), st.sampled_from(["x", None, 1.5, [1], {"a": 1}]))
def test_a_rejected_answer_to_a_child_question_changes_no_thread(shape: Shape, seed: int, bad: Any) -> None:
    note(f"{shape}")
    graph = Graph.from_ir(build(shape), store=MemoryStore(), clock=FakeClock())
    run = graph.invoke({"seed": seed, "keys": list(shape.fan or ())}, thread="t")
    while run.status == "interrupted":
        surfaced = [i for i in run.interrupts if "/" in i.id and not i.static]
        if surfaced:
            before = snapshot(graph.store)
            with pytest.raises(ResumeError):
                graph.invoke(Command(resume={surfaced[0].id: bad}), thread="t")
            assert snapshot(graph.store) == before
            return
        dynamic = {i.id: 1 for i in run.interrupts if not i.static}
        run = graph.invoke(Command(resume=dynamic) if dynamic else None, thread="t")
