"""Typed records: statuses are StrEnums that store as the bare strings, and
one JSON of a run, used by the CLI and the server."""

from __future__ import annotations

import json
from typing import Any, NotRequired, Required, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from fermata.compiler.pipeline import compile_source
from fermata.runtime import Command, Graph
from fermata.runtime.clock import FakeClock
from fermata.runtime.record_types import CheckpointExtra, FiredRecord, NodeRecord, PendingInterrupt, RunError
from fermata.runtime.records import NodeStatus, RunStatus, StaticWhen, state_json
from tests.runtime.children_ir import newsletter_doc
from tests.runtime.clauses import HOUR, MINUTE, approval_flow, timer_flow, with_clauses
from tests.runtime.irbuild import (
    BOOL,
    FLOAT,
    INT,
    LIST,
    F,
    L,
    bin_,
    call,
    fail,
    fld,
    flow,
    index,
    interrupt,
    lit,
    make_graph,
    node,
    rec,
    set_,
)


def gated() -> dict[str, Any]:
    return flow("gate",
                fields=[fld("amount", FLOAT), fld("ok", BOOL, False)],
                nodes=[node("ask", interrupt("approval", None, BOOL, bind="d"), set_("ok", L("d")))],
                edges={"start": ["ask"], "ask": ["end"]}, before=["ask"], input=["amount"])


def test_statuses_are_the_bare_strings_in_memory_and_in_json() -> None:
    assert RunStatus.INTERRUPTED == "interrupted" and NodeStatus.FINISHED == "finished"
    assert json.dumps({"status": RunStatus.DONE, "label": StaticWhen.BEFORE}) == \
        '{"status": "done", "label": "before"}'
    assert {str(s) for s in RunStatus} == {"running", "interrupted", "done", "failed", "cancelled"}


def test_run_and_interrupt_to_json_is_what_state_json_shows(store) -> None:
    graph = make_graph(gated(), store)
    run = graph.invoke({"amount": 2.0}, thread="t")
    assert run.status == RunStatus.INTERRUPTED and run.interrupts[0].static
    shown = run.to_json()
    assert shown["interrupts"] == [i.to_json() for i in run.interrupts] == [
        {"id": "ask:before", "node": "ask", "label": "before", "index": 0, "payload": None, "schema": None,
         "token": run.interrupts[0].token, "asked_at": "2026-01-01T00:00:00.000Z"}]
    info, latest = store.thread("t"), store.latest("t")
    state = state_json(info, latest)
    for key in ("thread", "status", "step", "checkpoint_id", "state", "interrupts", "error"):
        assert state[key] == shown[key], key
    run = graph.invoke(None, thread="t")
    run = graph.invoke(Command(resume=True), thread="t")
    assert run.to_json()["output"] == {"amount": 2.0, "ok": True} and run.to_json()["status"] == "done"
    snapshots = graph.history("t")
    assert [s.to_json()["status"] for s in snapshots] == [c.status for c in store.history("t")]
    assert [[p["id"] for p in s.to_json()["pending"]] for s in snapshots] == [["ask:before"], ["ask:approval"], []]
    json.dumps([s.to_json() for s in snapshots])   # JSON all the way down


def test_what_the_engine_records_and_emits_holds_exact_strings(store) -> None:
    # Stores insist on an exact `str` status, and callers print events: the
    # engine writes the members' values, never the members themselves.
    run = make_graph(gated(), store).invoke({"amount": 2.0}, thread="t")
    assert type(run.status) is str and type(run.interrupts[0].label) is str
    assert run.events and all(type(e["event"]) is str for e in run.events)
    assert repr(run.events[-1]["event"]) == "'interrupt'"


# --------------------------------------------------------------------------
# What a run writes is what the TypedDicts declare
# --------------------------------------------------------------------------
#
# A TypedDict is checked by mypy where a record is built from literals, not
# where one is merged from another dict or read back from a store: these
# runs go through every kind of record (human-task clauses, a timer, a child
# run paused and failed, a failed node, a `once` journal, and every key of
# a checkpoint's `extra`) and hold each stored one against its declaration,
# keys and nested records.


def _undeclared(record: Any, hint: Any, where: str) -> list[str]:
    """What in ``record`` its type ``hint`` does not declare (a TypedDict,
    a list or a dict of one, or anything else: not looked into)."""
    if get_origin(hint) is list and is_typeddict(get_args(hint)[0]):
        return [p for n, item in enumerate(record) for p in _undeclared(item, get_args(hint)[0], f"{where}[{n}]")]
    if get_origin(hint) is dict and is_typeddict(get_args(hint)[1]):
        return [p for key, item in record.items() for p in _undeclared(item, get_args(hint)[1], f"{where}[{key}]")]
    if not is_typeddict(hint):
        return []
    fields = get_type_hints(hint)
    problems = [f"{where}: `{key}` is not declared by {hint.__name__}" for key in record.keys() - fields.keys()]
    problems += [f"{where}: `{key}` is required by {hint.__name__}" for key in _required(hint) - record.keys()]
    for key in record.keys() & fields.keys():
        problems += _undeclared(record[key], fields[key], f"{where}.{key}")
    return problems


def _required(hint: Any) -> set[str]:
    """The required keys of TypedDict ``hint``. Not ``__required_keys__``:
    Python 3.11 cannot see ``NotRequired`` in postponed annotations
    (``records.py`` has ``from __future__ import annotations``), and counts
    every key of a total TypedDict as required. (The class's totality
    stands for its bases' too: the records' TypedDicts share theirs.)"""
    hints = get_type_hints(hint, include_extras=True)
    return {key for key, type_ in hints.items()
            if get_origin(type_) is Required or (get_origin(type_) is not NotRequired and hint.__total__)}


def _checkpoints_undeclared(store: Any, thread: str) -> list[str]:
    problems = []
    for checkpoint in store.history(thread):
        where = f"{thread}@{checkpoint.seq}"
        problems += _undeclared(checkpoint.pending, list[PendingInterrupt], f"{where}.pending")
        for name, record in checkpoint.nodes.items():
            problems += _undeclared(record, NodeRecord, f"{where}.nodes[{name}]")
        if checkpoint.error is not None:
            problems += _undeclared(checkpoint.error, RunError, f"{where}.error")
        problems += _undeclared(checkpoint.extra, CheckpointExtra, f"{where}.extra")
    return problems


FAN_OUT = """
flow batch {
    state {
        items: list[str]
        seen: list[str] = []
    }
    node review for item in items {
        let ok = interrupt check "{{ item }}?" expect bool
        set seen += [item]
    }
    start -> review
    review -> end
}
"""


def _record_every_kind(store: Any) -> list[str]:
    """Runs that store every kind of record; the threads they made."""
    clock = FakeClock("2026-03-01T09:00:00.000Z")
    tasks = make_graph(with_clauses(approval_flow(parallel=True), "review", "approval", to=[lit("finance")],
                                    within={"ms": 3 * HOUR, "goto": "escalate"}, remind_every_ms=HOUR),
                       store, clock=clock)
    tasks.invoke({"amount": 5.0}, thread="tasks")
    tasks.invoke({"amount": 6.0}, thread="abandoned")   # its deadline fires with `second` still paused
    clock.advance(HOUR)
    tasks.tick()                                              # a reminder
    tasks.invoke(Command(resume={"second:check": True}), thread="tasks")
    timer = make_graph(timer_flow(for_ms=MINUTE), store, clock=clock)
    timer.invoke({}, thread="timer")
    clock.advance(3 * HOUR)
    tasks.tick()                                              # the deadline, and the timer
    once = flow("once", fields=[fld("n", INT, 0)],
                nodes=[node("pay", call("tests.runtime.calls_fixture:tick", lit("a"), once=True, bind="n"),
                            interrupt("confirm", None, BOOL, bind="ok"), set_("n", L("n"))),
                       node("crash", fail(lit("no")))],
                edges={"start": ["pay"], "pay": ["crash"], "crash": ["end"]})
    failing = make_graph(once, store, clock=clock)
    failing.invoke({}, thread="once")
    assert failing.invoke(Command(resume=True), thread="once").status == RunStatus.FAILED
    parent = Graph.from_ir(newsletter_doc(), store=store, clock=clock)
    parent.invoke({"topic": "tea"}, thread="child")
    assert parent.invoke(Command(resume={"compose/review:decision": {"approve": True}}),
                         thread="child").status == RunStatus.DONE
    # The bookkeeping in `extra` the runs above leave out: who started a
    # run, a goto waiting for the step in flight, a fan-out in flight, a
    # failed start route, a deadline that answers, a cancel.
    both = make_graph(approval_flow(parallel=True), store, clock=clock)
    both.invoke({"amount": 1.0}, thread="goto", by="carol")
    assert both.invoke(Command(resume={"second:check": True}, goto="escalate"),
                       thread="goto").status == RunStatus.INTERRUPTED
    both.invoke({"amount": 1.0}, thread="cancel")
    both.cancel("cancel", by="dana", reason="bought elsewhere")
    Graph.from_ir(compile_source(FAN_OUT), store=store).invoke({"items": ["a", "b"]}, thread="fan")
    routed = flow("routed", fields=[fld("xs", LIST(INT), [])], nodes=[node("a"), node("b")],
                  edges={"start": [(["a"], bin_("==", index(F("xs"), lit(5)), lit(1))), (["b"], None)],
                         "a": ["end"], "b": ["end"]})
    assert make_graph(routed, store, clock=clock).invoke({}, thread="route").status == RunStatus.FAILED
    answering = make_graph(with_clauses(approval_flow(), "review", "approval",
                                        within={"ms": HOUR, "answer": rec(approved=lit(False))}), store, clock=clock)
    answering.invoke({"amount": 2.0}, thread="answer")
    clock.advance(2 * HOUR)
    answering.tick()
    return [info.thread for info in store.threads()]


def test_every_record_a_run_stores_is_declared_by_its_typed_dict(store) -> None:
    threads = _record_every_kind(store)
    assert {"tasks", "timer", "once", "child", "child/1/compose#0", "abandoned", "goto", "cancel", "fan",
            "route", "answer"} <= set(threads)
    assert [p for thread in threads for p in _checkpoints_undeclared(store, thread)] == []
    # The test sees what it checks: a surfaced question, a child's own
    # question, a node's child, a once journal, an error, stamped timers.
    seen = [c for thread in threads for c in store.history(thread)]
    pending_keys = {key for c in seen for p in c.pending for key in p}
    assert {"child", "parent", "to", "deadline_at", "reminded", "due_at", "kind"} <= pending_keys
    assert any("child" in r for c in seen for r in c.nodes.values())
    assert any(r.get("once") for c in seen for r in c.nodes.values())
    assert any(c.error is not None for c in seen)


def test_a_record_with_an_undeclared_key_is_found() -> None:
    # The check above can fail: an extra key, a missing one, a nested one.
    entry = {"id": "a:b", "node": "a", "label": "b", "index": 0, "payload": None, "schema": None, "token": "t",
             "child": {"thread": "x", "flow": "f", "id": "b", "token": "t", "extra": 1}, "color": "red"}
    assert sorted(_undeclared([entry, {"id": "c:d"}], list[PendingInterrupt], "p")) == sorted([
        "p[0]: `color` is not declared by PendingInterrupt",
        "p[0].child: `extra` is not declared by ChildQuestion",
        *(f"p[1]: `{key}` is required by PendingInterrupt"
          for key in ("index", "label", "node", "payload", "schema", "token"))])
    assert sorted(_undeclared({"status": "failed", "error": {"message": "m"}}, NodeRecord, "n")) == [
        f"n.error: `{key}` is required by RunError"
        for key in sorted(("type", "kind", "node", "line", "column", "path", "traceback"))]


def test_a_run_stores_every_key_checkpoint_extra_declares(store) -> None:
    # What the test above checks covers all of `extra`: each key the
    # TypedDict declares was stored by one of the runs (a key declared and
    # never written would be checked by nothing), as was each optional key
    # of a fired deadline, reminder or timer.
    threads = _record_every_kind(store)
    seen = [c for thread in threads for c in store.history(thread)]
    assert {key for c in seen for key in c.extra} == set(get_type_hints(CheckpointExtra))
    fired_keys = {key for c in seen for fired in c.extra.get("fired", ()) for key in fired}
    assert fired_keys == set(get_type_hints(FiredRecord))
    assert [p for thread in threads for p in _checkpoints_undeclared(store, thread)] == []


def test_records_still_exports_the_record_types_loaded_when_first_asked_for() -> None:
    from fermata.runtime import record_types, records

    assert records.PendingInterrupt is PendingInterrupt
    assert records.CheckpointExtra is record_types.CheckpointExtra
    with pytest.raises(AttributeError, match="no attribute 'Nowhere'"):
        _ = records.Nowhere
    with pytest.raises(AttributeError, match="no attribute 'TypedDict'"):
        _ = records.TypedDict       # what record_types imports is not a record type
