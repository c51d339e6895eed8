"""Typed records: statuses are StrEnums that store as the bare strings, and
one JSON of a run, used by the CLI and the server."""

from __future__ import annotations

import json
from typing import Any

from fermata.runtime import Command
from fermata.runtime.records import NodeStatus, RunStatus, StaticWhen, state_json
from tests.runtime.irbuild import (
    BOOL,
    FLOAT,
    L,
    fld,
    flow,
    interrupt,
    make_graph,
    node,
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
