"""The replay contract, searched for counterexamples (issue 4, properties 1-5).

Flows are generated as models, printed through the real AST printer and
compiled by the real compiler (``support.compile_model``), then run on the
real runtime. Run with ``HYPOTHESIS_PROFILE=thorough`` for thousands of
examples per property.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fermata.runtime import Command, Graph, NondeterminismError, ResumeError
from hypothesis import assume, given, note
from hypothesis import strategies as st

from . import instrument
from .drive import drive
from .model import (
    Answers,
    Ask,
    FlipBranch,
    FlowModel,
    NodeModel,
    answers,
    flow_models,
    inputs,
    walk_steps,
)
from .reference import Reference
from .support import (
    canonical,
    compile_model,
    loaded_graphs,
    memory_graphs,
    sqlite_graphs,
)

# Property searches and subprocess runs: the full suite runs them, not the inner loop.
pytestmark = pytest.mark.slow


@given(flow_models(), inputs, answers)
def test_resume_replays_the_node_from_its_start(model, given_input, script):
    """Property 1: a node execution that reaches m interrupts runs m + 1 times;
    a plain call after j interrupts runs m + 1 - j times; `once` calls run once;
    the i-th interrupt gets the i-th answer; finished siblings never re-run."""
    _, ir = compile_model(model)
    expected = Reference(model, script).run(given_input)
    trace = drive(memory_graphs(ir), model, script, given_input)
    assert dict(trace.hits) == dict(expected.plain_calls)
    assert dict(trace.once_hits) == dict(expected.once_calls)


@given(flow_models(), inputs, answers)
def test_resume_equals_pre_answered(model, given_input, script):
    """Property 3: pausing and resuming ends where the reference interpreter,
    handed every answer up front, ends; the interrupts surface in its order."""
    _, ir = compile_model(model)
    expected = Reference(model, script).run(given_input)
    trace = drive(memory_graphs(ir), model, script, given_input)
    assert trace.status == "done"
    assert trace.state == expected.state
    assert [p for p in trace.pauses if p] == [
        sorted(f"{node}:{label}" for node, label in reached) for reached in _pause_groups(expected)]


def _pause_groups(expected) -> list[list[tuple[str, str]]]:
    """Interrupts pending together at each pause when every resume answers all
    pending ones: in a step, node x's i-th interrupt is pending in the i-th
    pause of that step alongside every other node's i-th interrupt."""
    groups: list[list[tuple[str, str]]] = []
    for reached in expected.interrupts:
        per_node: dict[str, list[str]] = {}
        for node, label in reached:
            per_node.setdefault(node, []).append(label)
        depth = max(len(v) for v in per_node.values())
        for i in range(depth):
            groups.append([(n, labels[i]) for n, labels in sorted(per_node.items()) if i < len(labels)])
    return groups


@given(flow_models(), inputs, answers, st.data())
def test_every_way_of_running_gives_the_same_run(model, given_input, script, data):
    """Property 2: memory vs SQLite, a fresh `load()` per call, a bare value vs
    an id map, one answer per resume, and a crash before any store write all
    reach the same final state; the ways that replay nodes equally give the
    same event trace, and every way gives the same superstep trace."""
    source, ir = compile_model(model)
    baseline = drive(memory_graphs(ir), model, script, given_input)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        on_sqlite = drive(sqlite_graphs(ir, folder / "runs.db"), model, script, given_input)
        fresh_loads = drive(loaded_graphs(source, folder, f"sqlite:///{folder / 'loaded.db'}"),
                            model, script, given_input, fresh_each_call=True)
    bare = drive(memory_graphs(ir), model, script, given_input, by_id=False)
    one_by_one = drive(memory_graphs(ir), model, script, given_input, one_at_a_time=True)
    appends = len(baseline.history)
    crash_at = data.draw(st.integers(1, max(1, appends)), label="crash before store write #")
    crashed = drive(memory_graphs(ir), model, script, given_input, crash_at=crash_at)

    for other in (on_sqlite, fresh_loads, bare):
        assert other.events == baseline.events
        assert other.history == baseline.history
    for other in (on_sqlite, fresh_loads, bare, one_by_one, crashed):
        assert other.state == baseline.state
        assert other.steps() == baseline.steps()
    assert crashed.history[-1] == baseline.history[-1]


@st.composite
def _paused_on_typed_interrupt(draw):
    model = draw(flow_models(statics=False))
    typed = [(n.name, s) for n in model.nodes for s in walk_steps(n.steps)
             if isinstance(s, Ask) and s.kind != "none"]
    assume(typed)
    return model


# JSON does not tell 2.0 from 2: an integral float is an int (and is stored as one).
_NOT_INT = st.one_of(st.text(max_size=3), st.booleans(), st.none(), st.floats(allow_nan=False).filter(
    lambda f: not f.is_integer()), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))
_NOT_STR = st.one_of(st.integers(), st.booleans(), st.none(), st.lists(st.text(max_size=2), max_size=2),
                     st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))


@given(_paused_on_typed_interrupt(), inputs, answers, st.data())
def test_rejected_resume_changes_nothing(model, given_input, script, data):
    """Property 4: a value outside the `expect` schema raises ResumeError and
    leaves the SQLite file byte-identical; the run then resumes normally."""
    _, ir = compile_model(model)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "runs.db"
        graph = Graph.from_ir(ir, store=f"sqlite:///{db}")
        run = graph.invoke(given_input, thread="t")
        while run.status == "interrupted":
            typed = [i for i in run.interrupts if not i.static and i.schema]
            if typed:
                break
            run = graph.invoke(Command(resume={i.id: 0 for i in run.interrupts if not i.static})
                               if any(not i.static for i in run.interrupts) else None, thread="t")
        assume(run.status == "interrupted")
        target = typed[0]
        bad = data.draw(_NOT_INT if target.schema.get("type") == "integer" else _NOT_STR, label="bad")
        note(f"answering {target.id} (schema {target.schema}) with {bad!r}")
        stored = _files(db)
        history = [c.to_json() for c in graph.store.history("t")]
        with pytest.raises(ResumeError):
            graph.invoke(Command(resume={target.id: bad}), thread="t")
        assert _files(db) == stored
        assert [c.to_json() for c in graph.store.history("t")] == history
        graph.store.close()


def _files(db: Path) -> dict[str, bytes]:
    """The database and its write-ahead log. The `-shm` file is SQLite's
    shared-memory index of the log, which every reader updates: it holds no
    data, so it is left out."""
    return {p.name: p.read_bytes() for p in sorted(db.parent.iterdir())
            if p.name.startswith(db.name) and not p.name.endswith("-shm")}


@st.composite
def _flipping(draw):
    """A generated flow whose first node branches on a non-`once` call into
    two different interrupts, somewhere among its other steps."""
    model = draw(flow_models(max_interrupts=2, statics=False))
    first = model.nodes[0]
    position = draw(st.integers(1, len(first.steps)))
    flip = FlipBranch("k", "p0", "p1")
    steps = first.steps[:position] + (flip,) + first.steps[position:]
    return FlowModel((NodeModel(first.name, steps),) + model.nodes[1:], model.start, model.plain,
                     model.routes, model.joins, model.loop)


def _valid_answer(schema: dict[str, Any] | None) -> Any:
    return "x" if schema and schema.get("type") == "string" else 1


@given(_flipping(), inputs, answers)
def test_a_changed_replay_is_caught_never_misbound(model, given_input, script):
    """Property 5: when a replay reaches a different interrupt than the
    recorded one, the resume raises NondeterminismError."""
    _, ir = compile_model(model)
    instrument.reset()
    graph = Graph.from_ir(ir)
    run = graph.invoke(given_input, thread="t")
    first = model.nodes[0].name
    while run.status == "interrupted":
        mine = [i for i in run.interrupts if i.node == first and i.label in ("p0", "p1")]
        answers_now = {i.id: _valid_answer(i.schema) for i in run.interrupts if not i.static}
        if mine:
            with pytest.raises(NondeterminismError) as caught:
                graph.invoke(Command(resume=answers_now), thread="t")
            assert first in str(caught.value)
            return
        run = graph.invoke(Command(resume=answers_now) if answers_now else None, thread="t")
    raise AssertionError("the flipping node never paused at its flip interrupt")


def test_ways_of_running_agree_in_a_fresh_process(tmp_path):
    """Property 2, across processes: each resume of a generated flow in a new
    Python process (from the SQLite file) ends as one in-process run does."""
    import subprocess
    import sys

    from hypothesis import find

    model = find(flow_models(statics=False, loops=False, joins=False),
                 lambda m: sum(len(n.labels()) for n in m.nodes) >= 3 and len(m.nodes) >= 3)
    source, ir = compile_model(model, annotate=False)
    script = Answers((3, -1, 4, 1, 5))
    given_input = {"seed": 2}
    expected = drive(memory_graphs(ir), model, script, given_input)
    spec = tmp_path / "generated.flow"
    spec.write_text(source, encoding="utf-8")
    db = tmp_path / "runs.db"
    root = Path(__file__).resolve().parents[2]
    program = (
        "import json, sys\n"
        "from fermata.compiler import load\n"
        "from fermata.runtime import Command\n"
        "flow = load(sys.argv[1], store=sys.argv[2])\n"
        "payload = json.loads(sys.argv[3])\n"
        "call = payload if payload is None or 'seed' in payload else Command(resume=payload)\n"
        "run = flow.invoke(call, thread='t')\n"
        "print(json.dumps({'status': run.status, 'state': run.state,"
        " 'pending': [[i.id, i.node, i.label, i.static] for i in run.interrupts]}))\n"
    )
    asked: dict[tuple[str, str], int] = {}
    payload: Any = given_input
    for _ in range(50):
        done = subprocess.run([sys.executable, "-c", program, str(spec), f"sqlite:///{db}",
                               json.dumps(payload)], cwd=root, capture_output=True, text=True,
                              check=True)
        result = json.loads(done.stdout)
        if result["status"] == "done":
            assert canonical(result["state"]) == canonical(expected.state)
            return
        payload = {}
        for pid, node, label, static in result["pending"]:
            if static:
                continue
            count = asked.get((node, label), 0)
            payload[pid] = script.value(model, node, label, count)
            asked[(node, label)] = count + 1
        payload = payload or None
    raise AssertionError("did not finish")
