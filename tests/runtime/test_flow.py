"""The Graph API: input, threads, spec changes, history and fork."""

from __future__ import annotations

import copy
import re

import pytest

from fermata.runtime import Command, FermataError, Graph, InputError, SpecChangedError
from tests.runtime.irbuild import (
    INT,
    STR,
    F,
    bin_,
    fld,
    flow,
    lit,
    make_graph,
    node,
    set_,
)
from tests.runtime.support import refundish


def test_input_is_validated_listing_every_problem(store) -> None:
    graph = make_graph(refundish(), store)
    with pytest.raises(InputError) as caught:
        graph.invoke({"reason": 5, "risk": 0.1, "bogus": 1}, thread="t")
    assert caught.value.problems == [
        "missing required field `amount`",
        "`reason`: expected str, got int 5",
        "field `risk` is not an input of flow `refund` (inputs: amount, reason)",
        "unknown field `bogus`",
    ]
    assert store.appends == 0 and graph.state("t") is None
    with pytest.raises(InputError, match="must be a dict"):
        graph.invoke(["amount"], thread="t")


def test_ints_are_accepted_for_floats_and_output_is_the_output_fields(store) -> None:
    graph = make_graph(refundish(), store)
    run = graph.invoke({"amount": 250}, thread="t")
    assert run.state == {"amount": 250, "reason": "", "risk": 0.25, "approved": False, "log": [], "note": None}
    run = graph.invoke(Command(resume=True), thread="t")
    assert run.output == {"approved": True, "log": ["reviewed", "paid"]}


def test_input_on_a_paused_thread_is_rejected(store) -> None:
    graph = make_graph(refundish(), store)
    graph.invoke({"amount": 250}, thread="t")
    before = store.dump("t")
    with pytest.raises(InputError, match="resume it with"):
        graph.invoke({"amount": 1}, thread="t")
    assert store.dump("t") == before


def test_input_on_a_finished_thread_starts_a_new_run_from_its_state(store) -> None:
    graph = make_graph(refundish(), store)
    graph.invoke({"amount": 250}, thread="t")
    done = graph.invoke(Command(resume=False), thread="t")
    assert done.status == "done"
    run = graph.invoke({"reason": "again"}, thread="t")  # `amount` is not required again
    assert run.status == "interrupted" and run.state["reason"] == "again" and run.state["log"] == ["reviewed"]
    assert run.step > done.step  # step numbers keep growing on a thread
    assert graph.invoke(Command(resume=True), thread="t").output["log"] == ["reviewed", "reviewed", "paid"]


def test_invoke_none_needs_a_run_and_is_a_no_op_when_done(store) -> None:
    graph = make_graph(refundish(), store)
    with pytest.raises(InputError, match="no run on thread"):
        graph.invoke(None, thread="t")
    graph.invoke({"amount": 1}, thread="t")
    graph.invoke(Command(resume=False), thread="t")
    appends = store.appends
    assert graph.invoke(None, thread="t").status == "done" and store.appends == appends


def test_a_thread_id_is_required(store) -> None:
    with pytest.raises(FermataError, match="thread id is required"):
        make_graph(refundish(), store).invoke({"amount": 1})


def test_state_reads_the_latest_checkpoint(store) -> None:
    graph = make_graph(refundish(), store)
    assert graph.state("t") is None
    run = graph.invoke({"amount": 1}, thread="t")
    state = graph.state("t")
    assert (state.status, state.checkpoint_id, state.interrupts, state.events) == \
        (run.status, run.checkpoint_id, run.interrupts, [])
    state.state["log"].append("caller edits")  # a copy: the stored run is unaffected
    assert graph.state("t").state["log"] == []


def test_history_lists_every_checkpoint_oldest_first(store) -> None:
    graph = make_graph(refundish(), store)
    graph.invoke({"amount": 1}, thread="t")
    graph.invoke(Command(resume=True), thread="t")
    history = graph.history("t")
    assert [(h.checkpoint_id, h.step, h.status, h.next) for h in history] == [
        ("00000000", 0, "running", ["assess"]),
        ("00000001", 1, "running", ["review"]),
        ("00000002", 2, "interrupted", ["review"]),
        ("00000003", 2, "running", ["pay"]),
        ("00000004", 3, "done", []),
    ]
    assert [i.id for i in history[2].pending] == ["review:approval"]
    assert history[1].state["risk"] == 0.001


def test_fork_copies_a_checkpoint_into_a_new_thread_with_an_update(store) -> None:
    graph = make_graph(refundish(), store)
    graph.invoke({"amount": 1}, thread="t")
    paused = graph.history("t")[2]
    forked = graph.fork("t", paused.checkpoint_id, thread="t2", update={"reason": "forked"})
    assert forked.thread == "t2" and forked.status == "interrupted" and forked.state["reason"] == "forked"
    assert forked.checkpoint_id == "00000000"
    # Each thread goes its own way.
    assert graph.invoke(Command(resume=False), thread="t2").output["log"] == ["reviewed"]
    assert graph.invoke(Command(resume=True), thread="t").output["log"] == ["reviewed", "paid"]
    # From an earlier checkpoint, the fork re-runs from there.
    early = graph.fork("t", "00000001", thread="t3", update={"amount": 500})
    assert early.next == ["review"]
    assert graph.invoke(None, thread="t3").state["risk"] == 0.001  # assess already ran before the fork


def test_fork_errors(store) -> None:
    graph = make_graph(refundish(), store)
    graph.invoke({"amount": 1}, thread="t")
    with pytest.raises(FermataError, match="no checkpoint `99`"):
        graph.fork("t", "99", thread="x")
    with pytest.raises(FermataError, match="already exists"):
        graph.fork("t", 0, thread="t")
    with pytest.raises(InputError, match="expected float"):
        graph.fork("t", 0, thread="y", update={"amount": "lots"})
    assert graph.state("y") is None


def test_a_compatible_spec_change_continues_and_re_pins_the_thread(store) -> None:
    old = refundish()
    graph = make_graph(old, store)
    graph.invoke({"amount": 1}, thread="t")
    new = copy.deepcopy(old)
    flow_ir = new["flows"]["refund"]
    flow_ir["fields"].append(fld("extra", INT, 7))
    flow_ir["nodes"]["pay"]["steps"].append(set_("extra", lit(8)))
    new_graph = make_graph(new, store)
    assert store.thread("t").ir_hash == graph.ir_hash != new_graph.ir_hash
    run = new_graph.invoke(Command(resume=True), thread="t")
    assert run.status == "done" and run.state["extra"] == 8
    assert store.thread("t").ir_hash == new_graph.ir_hash


def test_an_incompatible_spec_change_is_refused_naming_what_changed(store) -> None:
    old = refundish()
    graph = make_graph(old, store)
    graph.invoke({"amount": 1}, thread="t")
    new = copy.deepcopy(old)
    new["flows"]["refund"]["nodes"]["review"]["steps"][0]["label"] = "sign_off"
    before = store.dump("t")
    with pytest.raises(SpecChangedError, match="pending interrupt `review:approval` no longer exists"):
        make_graph(new, store).invoke(Command(resume=True), thread="t")
    gone = copy.deepcopy(old)
    del gone["flows"]["refund"]["nodes"]["review"]
    gone["flows"]["refund"]["routes"]["assess"]["branches"][0]["targets"] = ["pay"]
    del gone["flows"]["refund"]["routes"]["review"]
    with pytest.raises(SpecChangedError, match="node `review` is pending and no longer exists"):
        make_graph(gone, store).invoke(None, thread="t")
    required = copy.deepcopy(old)
    required["flows"]["refund"]["fields"].append(fld("must", INT))
    with pytest.raises(SpecChangedError, match="new required field"):
        make_graph(required, store).invoke(Command(resume=True), thread="t")
    assert store.dump("t") == before


def test_another_flow_cannot_take_over_a_thread(store) -> None:
    make_graph(refundish(), store).invoke({"amount": 1}, thread="t")
    other = flow("other", fields=[fld("x", INT, 0)], nodes=[node("a")], edges={"start": ["a"]})
    with pytest.raises(SpecChangedError, match="runs flow `refund`, not `other`"):
        make_graph(other, store).invoke(None, thread="t")


def test_from_ir_picks_a_flow(store) -> None:
    doc = refundish()
    doc["flows"]["second"] = {**doc["flows"]["refund"], "name": "second"}
    with pytest.raises(FermataError, match=r"holds 2 flows .*choose one with flow="):
        Graph.from_ir(doc, store=store)
    assert Graph.from_ir(doc, flow="second", store=store).name == "second"
    with pytest.raises(FermataError, match="no flow `nope`"):
        Graph.from_ir(doc, flow="nope", store=store)
    with pytest.raises(FermataError, match="not a Fermata IR"):
        Graph.from_ir({"flows": {}}, store=store)


def test_from_ir_can_validate_against_the_ir_schema(store) -> None:
    doc = refundish()
    doc["flows"]["refund"]["nodes"]["pay"]["steps"].append({"k": "teleport", "line": 1, "column": 1})
    with pytest.raises(FermataError, match=re.escape("does not follow spec/ir.schema.json")):
        Graph.from_ir(doc, store=store, validate=True)


def test_graph_exposes_its_ir_and_source(store) -> None:
    graph = Graph.from_ir(refundish(), store=store, source="examples/refund.flow")
    graph.invoke({"amount": 1}, thread="t")
    assert graph.ir["name"] == "refund" and graph.name == "refund"
    assert store.thread("t").source == "examples/refund.flow" and store.thread("t").flow == "refund"


def test_stream_rejects_a_bad_call_before_the_first_event(store) -> None:
    graph = make_graph(refundish(), store)
    with pytest.raises(InputError):
        graph.stream({"nope": 1}, thread="t")  # raised by the call itself, not on iteration


def test_stream_yields_the_failed_event_then_raises(store) -> None:
    from fermata.runtime import StepLimitError

    doc = flow(fields=[fld("x", INT, 0)], nodes=[node("spin")], edges={"start": ["spin"], "spin": ["spin"]})
    events = []
    with pytest.raises(StepLimitError):
        for event in make_graph(doc, store).stream({}, thread="t", step_limit=2):
            events.append(event["event"])
    assert events[-1] == "failed" and events.count("step_start") == 2


def test_a_failing_start_route_can_be_fixed_and_retried(store) -> None:
    doc = flow(fields=[fld("go", {}, None, optional=True), fld("x", INT, 0)],
               nodes=[node("a", set_("x", lit(1)))], edges={"start": [(["a"], F("go")), (["end"], None)]})
    graph = make_graph(doc, store)
    run = graph.invoke({"go": "yes"}, thread="t")
    assert run.status == "failed" and run.error["node"] == "start" and "must be a bool" in run.error["message"]
    run = graph.invoke(Command(update={"go": True}), thread="t")
    assert run.status == "done" and run.state["x"] == 1


def test_the_default_store_is_in_memory() -> None:
    from fermata.runtime.store.memory import MemoryStore

    graph = Graph.from_ir(refundish())
    assert type(graph.store) is MemoryStore
    assert graph.invoke({"amount": 1}, thread="t").status == "interrupted"
    assert graph.invoke(Command(resume=True), thread="t").status == "done"


# ------------------------------------------------------------ invoke's events


def _rewriting_loop():
    """One node looping ``n`` times, each time writing a new copy of ``pad``
    (a big string) to ``blob``: what a flow whose large field changes every
    step looks like."""
    spin = node("spin", set_("x", bin_("+", F("x"), lit(1))), set_("blob", bin_("+", lit("v"), F("pad"))))
    return flow("loop", fields=[fld("n", INT, 1), fld("pad", STR, ""), fld("x", INT, 0), fld("blob", STR, "")],
                nodes=[spin], edges={"start": ["spin"],
                       "spin": [(["spin"], bin_("<", F("x"), F("n"))), (["end"], None)]})


def _big_strings(value, size: int) -> int:
    """How many strings of at least ``size`` characters ``value`` reaches."""
    if isinstance(value, str):
        return int(len(value) >= size)
    if isinstance(value, dict):
        return sum(_big_strings(v, size) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(_big_strings(v, size) for v in value)
    return 0


def test_invoke_keeps_no_step_values_in_its_events(store) -> None:
    # Regression (#17): invoke kept every event with its values, so the run it
    # returned held one copy of a changed field per step (33 MB -> 990 MB of
    # RSS over 1,000 steps of a 1 MB field). The values it keeps must not
    # depend on the number of steps: only the final output reaches the big values.
    graph = make_graph(_rewriting_loop(), store)
    pad = "p" * 1000
    kept = {n: _big_strings(graph.invoke({"n": n, "pad": pad}, thread=f"t{n}").events, 1000) for n in (3, 60)}
    assert kept == {3: 2, 60: 2}   # `done`'s output: pad and blob
    run = graph.invoke({"n": 3, "pad": pad}, thread="again")
    step = ["step_start", "node_start", "node_end", "step_end"]
    assert [e["event"] for e in run.events] == ["run_start", *step * 3, "done"]
    assert [e for e in run.events if e["event"] in ("node_end", "step_end")][:2] == [
        {"event": "node_end", "node": "spin", "step": 1, "fields": ["x", "blob"]},
        {"event": "step_end", "step": 1, "changed": ["x", "blob"]}]


def test_invoke_keeps_every_value_when_asked_to(store) -> None:
    graph = make_graph(_rewriting_loop(), store)
    pad = "p" * 1000
    full = graph.invoke({"n": 5, "pad": pad}, thread="full", events="full").events
    streamed = list(graph.stream({"n": 5, "pad": pad}, thread="streamed"))
    assert [e for e in full if e["event"] != "run_start"] == [e for e in streamed if e["event"] != "run_start"]
    assert _big_strings(full, 1000) == 5 * 2 + 2
    assert graph.invoke({"n": 5, "pad": pad}, thread="none", events="none").events == []


def test_invoke_refuses_an_unknown_events_mode(store) -> None:
    with pytest.raises(FermataError, match="events="):
        make_graph(_rewriting_loop(), store).invoke({}, thread="t", events="some")
    assert store.thread("t") is None


def test_graph_is_the_old_name_of_flow():
    # Version 2 renamed the user-facing handle (issue #12); code that says Graph still runs.
    from fermata import runtime
    from fermata.runtime.flow import Flow, Graph
    from fermata.runtime.program import CompiledFlow, Program

    assert runtime.Graph is runtime.Flow is Graph is Flow
    assert CompiledFlow is Program
