"""Replay properties: however answers are split into resumes, whichever graph
object or store runs each invoke, and wherever the process crashes, a run
ends in the same state with the same events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fermata.runtime import Command, Graph, ResumeError
from fermata.runtime.checkpoint import Store
from tests.runtime import calls_fixture as fx
from tests.runtime.irbuild import (
    INT,
    LIST,
    STR,
    append,
    call,
    fld,
    flow,
    interrupt,
    lit,
    lst,
    make_graph,
    node,
    tmpl,
)
from tests.runtime.memstore import JsonMemoryStore, ReferenceStore

# Property searches and subprocess runs: the full suite runs them, not the inner loop.
pytestmark = pytest.mark.slow

FX = "tests.runtime.calls_fixture"


def parallel(shape: list[int]) -> dict[str, Any]:
    """Node p<i> asks ``shape[i]`` questions; a join waits for every node."""
    nodes = [node("split"), node("last", append("log", lst(lit("last"))))]
    for i, asks in enumerate(shape):
        steps = [call(f"{FX}:tick", lit(f"p{i}"))]
        for k in range(asks):
            steps += [interrupt(f"q{k}", tmpl(f"p{i} q{k}"), INT, bind="v"),
                      append("log", lst(tmpl(f"p{i}.q{k}={{{{ v }}}}")))]
        steps.append(append("log", lst(lit(f"p{i} done"))))
        nodes.append(node(f"p{i}", *steps))
    names = [f"p{i}" for i in range(len(shape))]
    return flow(fields=[fld("log", LIST(STR), [])], nodes=nodes,
                edges={"start": ["split"], "split": names, "last": ["end"]},
                joins=[(names, "last")] if len(names) > 1 else [])


def expected_log(shape: list[int], answers: dict[str, int]) -> list[str]:
    log = []
    for i in sorted(range(len(shape)), key=lambda i: f"p{i}"):
        log += [f"p{i}.q{k}={answers[f'p{i}:q{k}']}" for k in range(shape[i])] + [f"p{i} done"]
    return log + (["last"] if len(shape) > 1 else [])


shapes = st.lists(st.integers(0, 2), min_size=2, max_size=4)


def drive(graph_for: Callable[[], Any], next_command: Callable[[Any], Any]) -> tuple[Any, list[Any], list[Any]]:
    """Run to the end; ``graph_for()`` gives the graph of each invoke and
    ``next_command(run)`` what to send while the run is paused."""
    run = graph_for().invoke({}, thread="t")
    events, script = list(run.events), []
    while run.status == "interrupted":
        command = next_command(run)
        script.append(command)
        run = graph_for().invoke(command, thread="t")
        events += run.events
    return run, script, events


def chosen_by(data: st.DataObject) -> Callable[[Any], Any]:
    """Answer a random non-empty subset of the pending interrupts, each by id
    or by token; now and then send an idle invoke(None) (the nodes re-pause)."""
    def choose(run: Any) -> Any:
        if data.draw(st.integers(0, 4)) == 4:
            return None
        chosen = data.draw(st.lists(st.sampled_from(run.interrupts), unique_by=lambda i: i.id,
                                    min_size=1, max_size=len(run.interrupts)))
        return Command(resume={(i.token if data.draw(st.booleans()) else i.id): answer(i) for i in chosen})

    return choose


def answer(interrupt: Any) -> int:
    return int(interrupt.node[1:]) * 10 + interrupt.index


def replaying(script: list[Any]) -> Callable[[Any], Any]:
    commands = iter(script)
    return lambda run: next(commands)


@given(shapes, st.data())
def test_any_split_of_answers_gives_the_same_final_state(shape: list[int], data: st.DataObject) -> None:
    fx.reset()
    store = JsonMemoryStore()
    graph = make_graph(parallel(shape), store)
    run, _, _ = drive(lambda: graph, chosen_by(data))
    answers = {f"p{i}:q{k}": i * 10 + k for i, asks in enumerate(shape) for k in range(asks)}
    assert run.status == "done" and run.state["log"] == expected_log(shape, answers)
    for i, asks in enumerate(shape):
        if asks == 0:  # finished in the first step: never re-run
            assert fx.CALLS[f"tick:p{i}"] == 1


@given(shapes, st.data())
def test_traces_do_not_depend_on_graph_objects_or_stores(shape: list[int], data: st.DataObject) -> None:
    doc = parallel(shape)
    one_graph = make_graph(doc, JsonMemoryStore())
    first, script, first_events = drive(lambda: one_graph, chosen_by(data))
    other_store = _other_store()
    # A new graph per invoke, as separate processes would build.
    second, _, second_events = drive(lambda: Graph.from_ir(doc, store=other_store), replaying(script))
    assert first_events == second_events
    assert first.state == second.state
    assert [h.status for h in one_graph.history("t")] == [h.status for h in make_graph(doc, other_store).history("t")]


def _other_store() -> Store:
    try:
        from fermata.runtime.stores import open_store
    except ImportError:
        return JsonMemoryStore()
    return open_store("memory:")


class CrashingStore(JsonMemoryStore):
    """Fails the n-th append, as a process dying just before a checkpoint would."""

    def __init__(self, crash_at: int):
        super().__init__()
        self.crash_at = crash_at

    def append(self, info, checkpoint, changed, *, durable=False) -> None:  # type: ignore[no-untyped-def]
        if self.appends == self.crash_at:
            self.appends += 1
            raise OSError("crash")
        super().append(info, checkpoint, changed, durable=durable)


@given(shapes, st.integers(0, 30))
def test_a_crash_and_restart_ends_in_the_same_state(shape: list[int], crash_at: int) -> None:
    doc = parallel(shape)
    answers = {f"p{i}:q{k}": i * 10 + k for i, asks in enumerate(shape) for k in range(asks)}
    store = CrashingStore(crash_at)
    graph = make_graph(doc, store)

    def attempt(command: Any) -> Any:
        """The client's protocol: on a crash, retry by token; a stale token
        means the answer was stored, so just continue."""
        try:
            return graph.invoke(command, thread="t")
        except OSError:
            if graph.state("t") is None:
                return graph.invoke(command, thread="t")
            try:
                return graph.invoke(command if isinstance(command, Command) else None, thread="t")
            except ResumeError:
                return graph.invoke(None, thread="t")

    run = attempt({})
    while run.status == "interrupted":
        run = attempt(Command(resume={i.token: answers[i.id] for i in run.interrupts}))
    assert run.status == "done" and run.state["log"] == expected_log(shape, answers)


@given(shapes, st.data())
def test_checkpoints_are_never_changed_after_being_stored(shape: list[int], data: st.DataObject) -> None:
    store = ReferenceStore()
    graph = make_graph(parallel(shape), store)
    run, _, _ = drive(lambda: graph, chosen_by(data))
    graph.invoke({}, thread="t")  # a second run on the finished thread
    assert run.status == "done" and store.unchanged_since_append("t")
