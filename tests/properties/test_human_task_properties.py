"""The replay contract with the human-task clauses and timers (issue 13):
answers refused by a `where` rule, deadlines firing at any point, and
`wait` timers, on generated flows.

The clauses are injected into the compiled IR (tests/runtime/clauses.py)
until the compiler emits them. Every run is compared with the same flow
run without them, answered by hand: a refused answer changes nothing, a
deadline whose answer is the value a person would have given ends the run
the same way, and a timer changes no state. Each recorded history then
replays as compatible on its own flow.
"""

from __future__ import annotations

import copy
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from fermata.runtime import Command, Graph, ResumeError, replay
from fermata.runtime.clock import FakeClock
from fermata.runtime.store.sqlite import SqliteStore
from hypothesis import assume, event, given, note
from hypothesis import strategies as st

from tests.runtime.clauses import HOUR, wait
from tests.runtime.irbuild import L, bin_, lit

from . import instrument
from .model import Answers, FlowModel, answers, flow_models, inputs
from .support import compile_model

MAX_CALLS = 200


def _interrupts(ir: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(node, step)`` of every interrupt step of the IR's one flow."""
    from tests.runtime.clauses import _steps

    flow = next(iter(ir["flows"].values()))
    return [(name, step) for name, node in flow["nodes"].items() for step in _steps(node["steps"])
            if step["k"] == "interrupt"]


def _drive(graph: Graph, model: FlowModel, script: Answers, given_input: dict[str, Any], clock: FakeClock, *,
           fire: list[bool] | None = None, refuse: dict[tuple[str, str], Any] | None = None,
           files: Path | None = None) -> tuple[Any, int]:
    """Run to the end answering from ``script``. At a pause whose pending
    questions are all first asks, ``fire`` (drawn) may say to let their
    deadlines fire instead (advance the clock, tick); ``refuse`` answers
    each question once with a value its `where` rule refuses first, and
    checks that nothing changed. Timers are waited out. ``(run, fired)``."""
    instrument.reset()
    asked: Counter[tuple[str, str]] = Counter()
    run = graph.invoke(given_input, thread="t")
    fired = 0
    choices = iter(fire or ())
    for _ in range(MAX_CALLS):
        if run.status != "interrupted":
            return run, fired
        timers = [i for i in run.interrupts if i.timing.get("kind") == "wait"]
        dynamic = [i for i in run.interrupts if not i.static and i.timing.get("kind") != "wait"]
        if not dynamic and timers:
            clock.set(max(i.timing["due_at"] for i in timers))
            report = graph.tick()
            assert report.fired and not report.errors, report.to_json()
            run = graph.state("t")
            continue
        if not dynamic:
            run = graph.invoke(None, thread="t")
            continue
        if all(asked[(i.node, i.label)] == 0 for i in dynamic) and next(choices, False):
            clock.advance(HOUR + 1)
            report = graph.tick()
            assert [f["thread"] for f in report.fired] == ["t"], report.to_json()
            fired += len(dynamic)
            for i in dynamic:
                asked[(i.node, i.label)] += 1
            run = graph.state("t")
            continue
        for i in dynamic:
            bad = (refuse or {}).get((i.node, i.label))
            if bad is not None:
                before = _snapshot(graph, files)
                try:
                    graph.invoke(Command(resume={i.id: bad}), thread="t")
                except ResumeError as refused:
                    assert "not this one" in str(refused)
                else:
                    raise AssertionError(f"{i.id}: {bad!r} broke its `where` rule and was accepted")
                assert _snapshot(graph, files) == before
        values = {}
        for i in dynamic:
            key = (i.node, i.label)
            values[i.id] = script.value(model, i.node, i.label, asked[key])
            asked[key] += 1
        run = graph.invoke(Command(resume=values), thread="t")
    raise AssertionError("the run did not finish within the call budget")


def _snapshot(graph: Graph, files: Path | None) -> Any:
    history = [c.to_json() for c in graph.store.history("t")]
    if files is None:
        return history
    return history, {p.name: p.read_bytes() for p in sorted(files.parent.iterdir())
                     if p.name.startswith(files.name) and not p.name.endswith("-shm")}


def _baseline(ir: dict[str, Any], model: FlowModel, script: Answers, given_input: dict[str, Any]) -> Any:
    run, _ = _ran(ir, model, script, given_input)
    return run


def _ran(ir: dict[str, Any], model: FlowModel, script: Answers, given_input: dict[str, Any]) -> tuple[Any, set[str]]:
    """The run without the clauses, and the nodes it ran."""
    graph = Graph.from_ir(ir, store="memory:", clock=FakeClock())
    run, _ = _drive(graph, model, script, given_input, FakeClock())
    assert run.status == "done", run.error
    return run, {name for c in graph.store.history("t") for name in c.frontier}


@given(flow_models(statics=False), inputs, answers)
def test_answers_refused_by_a_where_rule_change_nothing(model, given_input, script):
    """Every bound interrupt gets ``where d != BAD "not this one"``; each is
    first answered BAD (refused, the SQLite file byte-identical), then as
    by hand: the run ends as it does without the rules."""
    _, ir = compile_model(model)
    expected = _baseline(ir, model, script, given_input)
    ruled = copy.deepcopy(ir)
    refuse = {}
    for node, step in _interrupts(ruled):
        if step["bind"] is None:
            continue
        bad = "never given" if (step["schema"] or {}).get("type") == "string" else 10**6
        step["where"] = {"cond": bin_("!=", L(step["bind"]), lit(bad)), "message": "not this one"}
        refuse[(node, step["label"])] = bad
    assume(refuse)
    event(f"{len(refuse)} ruled interrupt(s)")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "runs.db"
        graph = Graph.from_ir(ruled, store=SqliteStore(db), clock=FakeClock())
        run, _ = _drive(graph, model, script, given_input, FakeClock(), refuse=refuse, files=db)
        assert run.state == expected.state
        assert replay(graph, graph.store.history("t"), thread="t").compatible
        graph.store.close()


@given(flow_models(statics=False), inputs, answers, st.lists(st.booleans(), min_size=1, max_size=8))
def test_a_deadline_answer_ends_the_run_as_the_same_answer_by_hand(model, given_input, script, fire):
    """Every interrupt gets ``within 1h answer V`` (V: what the script answers
    at its first ask); at pauses drawn by ``fire`` the deadlines fire
    instead of a person answering. The run ends the same; its history
    replays; the audit names each firing."""
    _, ir = compile_model(model)
    expected = _baseline(ir, model, script, given_input)
    timed = copy.deepcopy(ir)
    for node, step in _interrupts(timed):
        step["within"] = {"ms": HOUR, "answer": lit(script.value(model, node, step["label"], 0))}
    clock = FakeClock()
    graph = Graph.from_ir(timed, store="memory:", clock=clock)
    run, fired = _drive(graph, model, script, given_input, clock, fire=fire)
    note(f"deadlines fired: {fired}")
    event("deadlines fired" if fired else "no deadline fired")
    assert run.status == "done" and run.state == expected.state
    audit = graph.audit("t")
    assert sum(e["what"] == "deadline" for e in audit) == fired
    assert sum(e["what"] == "answered" and e["by"] == "fermata:deadline" for e in audit) == fired
    assert replay(graph, graph.store.history("t"), thread="t").compatible


@given(flow_models(statics=False), inputs, answers, st.data())
def test_a_timer_changes_no_state_and_replays(model, given_input, script, data):
    """A ``wait`` put anywhere in a node pauses the run until ``tick`` finds
    it due; the run then ends as it does without the timer."""
    _, ir = compile_model(model)
    expected, ran = _ran(ir, model, script, given_input)
    waited = copy.deepcopy(ir)
    flow = next(iter(waited["flows"].values()))
    # A node the run reaches and whose body runs (a fan-out over an empty
    # list finishes without running its body: a timer there is never reached).
    candidates = sorted(n for n in ran if "for" not in flow["nodes"][n])
    assume(candidates)
    name = data.draw(st.sampled_from(candidates), label="node")
    steps = flow["nodes"][name]["steps"]
    at = data.draw(st.integers(0, len(steps)), label="position")
    steps.insert(at, wait("timer", for_ms=data.draw(st.integers(1, 3 * HOUR), label="for_ms")))
    clock = FakeClock()
    graph = Graph.from_ir(waited, store="memory:", clock=clock)
    run, _ = _drive(graph, model, script, given_input, clock)
    assert run.status == "done" and run.state == expected.state
    assert any(e["what"] == "timer" for e in graph.audit("t"))
    assert replay(graph, graph.store.history("t"), thread="t").compatible
