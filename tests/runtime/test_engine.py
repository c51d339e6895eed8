"""Supersteps: isolation, write order, routing, joins, the step limit, checkpoints."""

from __future__ import annotations

import pytest

from fermata.runtime import InvalidUpdateError, StepLimitError
from tests.runtime.irbuild import (
    BOOL,
    INT,
    LIST,
    MAP,
    STR,
    F,
    L,
    add,
    append,
    bin_,
    chain,
    fld,
    flow,
    let,
    lit,
    lst,
    make_graph,
    node,
    rec,
    set_,
    tmpl,
)


def test_a_chain_runs_to_the_end(store) -> None:
    run = make_graph(chain(5), store).invoke({}, thread="t")
    assert (run.status, run.state, run.output, run.step) == ("done", {"x": 5}, {"x": 5}, 5)
    assert run.interrupts == [] and run.error is None


def test_siblings_see_the_state_at_step_start_and_their_own_writes(store) -> None:
    doc = flow(fields=[fld("x", INT, 1), fld("seen_a", INT, 0), fld("seen_b", INT, 0)],
               nodes=[node("split"),
                      node("a", set_("x", lit(100)), set_("seen_a", F("x"))),
                      node("b", set_("seen_b", F("x")))],
               edges={"start": ["split"], "split": ["a", "b"]})
    run = make_graph(doc, store).invoke({}, thread="t")
    # `a` sees its own write; `b` ran in the same step and saw the step-start value.
    assert run.state == {"x": 100, "seen_a": 100, "seen_b": 1}


def test_appends_combine_in_node_name_order(store) -> None:
    doc = flow(fields=[fld("log", LIST(STR), []), fld("n", INT, 0), fld("s", STR, ""),
                       fld("m", MAP(INT), {"k": 0})],
               nodes=[node("split"),
                      node("b", append("log", lst(lit("b"))), append("n", lit(2)), append("s", lit("b")),
                           append("m", rec(k=lit(2), y=lit(2)))),
                      node("a", append("log", lst(lit("a1"))), append("log", lst(lit("a2"))),
                           append("n", lit(1)), append("s", lit("a")), append("m", rec(k=lit(1), x=lit(1))))],
               edges={"start": ["split"], "split": ["b", "a"]})
    run = make_graph(doc, store).invoke({}, thread="t")
    assert run.state == {"log": ["a1", "a2", "b"], "n": 3, "s": "ab", "m": {"k": 2, "x": 1, "y": 2}}


def test_a_node_sees_its_own_appends(store) -> None:
    doc = flow(fields=[fld("log", LIST(STR), ["0"]), fld("size", INT, 0)],
               nodes=[node("a", append("log", lst(lit("1"))), set_("size", {"k": "fn", "n": "len", "a": [F("log")]}))],
               edges={"start": ["a"]})
    assert make_graph(doc, store).invoke({}, thread="t").state == {"log": ["0", "1"], "size": 2}


def test_two_nodes_replacing_one_field_fail_the_run(store) -> None:
    doc = flow(fields=[fld("x", INT, 0)],
               nodes=[node("split"), node("a", set_("x", lit(1))), node("b", set_("x", lit(2)))],
               edges={"start": ["split"], "split": ["a", "b"]})
    graph = make_graph(doc, store)
    with pytest.raises(InvalidUpdateError, match="`a` and `b` both `set x =` in step 2"):
        graph.invoke({}, thread="t")
    state = graph.state("t")
    assert state.status == "failed" and state.error["kind"] == "invalid_update"
    assert state.state == {"x": 0}  # nothing of the conflicting step was applied


@pytest.mark.parametrize(("replacer", "extender"), [("a", "b"), ("b", "a")])
def test_one_node_replacing_a_field_another_extends_fails_the_run(store, replacer, extender) -> None:
    # Applied in name order, `=` then `+=` keeps both and `+=` then `=` loses
    # the `+=`: the result would hang on the nodes' names.
    doc = flow(fields=[fld("log", LIST(STR), ["0"])],
               nodes=[node("split"), node(replacer, set_("log", lst(lit("new")))),
                      node(extender, append("log", lst(lit("more"))))],
               edges={"start": ["split"], "split": ["a", "b"]})
    graph = make_graph(doc, store)
    with pytest.raises(InvalidUpdateError) as caught:
        graph.invoke({}, thread="t")
    assert str(caught.value).startswith(
        f"nodes `a` and `b` both write `log` in step 2: `{replacer}` replaces it (`set log =`) "
        f"and `{extender}` adds to it (`set log +=`)")
    assert (caught.value.field, caught.value.nodes) == ("log", ["a", "b"])
    state = graph.state("t")
    assert state.status == "failed" and state.error["kind"] == "invalid_update"
    assert state.error["node"] == "b" and state.state == {"log": ["0"]}  # nothing of the step applied


def test_one_node_may_replace_and_extend_a_field(store) -> None:
    doc = flow(fields=[fld("log", LIST(STR), ["0"]), fld("n", INT, 0)],
               nodes=[node("split"), node("a", set_("log", lst(lit("new"))), append("log", lst(lit("a")))),
                      node("b", append("n", lit(1)))],
               edges={"start": ["split"], "split": ["a", "b"]})
    assert make_graph(doc, store).invoke({}, thread="t").state == {"log": ["new", "a"], "n": 1}


def test_one_node_may_replace_a_field_twice(store) -> None:
    doc = flow(fields=[fld("x", INT, 0)], nodes=[node("a", set_("x", lit(1)), set_("x", lit(2)))],
               edges={"start": ["a"]})
    assert make_graph(doc, store).invoke({}, thread="t").state == {"x": 2}


def test_routing_uses_the_nodes_own_view(store) -> None:
    # `a` sets flag; `b` (same step) does not: each route sees only its node's writes.
    doc = flow(fields=[fld("flag", BOOL, False), fld("log", LIST(STR), [])],
               nodes=[node("split"), node("a", set_("flag", lit(True))), node("b"),
                      node("yes_a", append("log", lst(lit("yes_a")))),
                      node("no_b", append("log", lst(lit("no_b")))),
                      node("yes_b", append("log", lst(lit("yes_b"))))],
               edges={"start": ["split"], "split": ["a", "b"],
                      "a": [(["yes_a"], F("flag")), (["end"], None)],
                      "b": [(["yes_b"], F("flag")), (["no_b"], None)]})
    run = make_graph(doc, store).invoke({}, thread="t")
    assert run.state["log"] == ["no_b", "yes_a"]


def test_routing_groups_take_the_first_true_branch_and_otherwise(store) -> None:
    def doc(x: int):
        return flow(fields=[fld("x", INT, x), fld("out", STR, "")],
                    nodes=[node("a"), node("big", set_("out", lit("big"))),
                           node("mid", set_("out", lit("mid"))), node("small", set_("out", lit("small")))],
                    edges={"start": ["a"],
                           "a": [(["big"], bin_(">", F("x"), lit(10))), (["mid"], bin_(">", F("x"), lit(5))),
                                 (["small"], None)]})
    assert make_graph(doc(20), store).invoke({}, thread="1").state["out"] == "big"
    assert make_graph(doc(7), store).invoke({}, thread="2").state["out"] == "mid"
    assert make_graph(doc(1), store).invoke({}, thread="3").state["out"] == "small"


def test_a_route_condition_that_is_not_a_bool_fails_the_node(store) -> None:
    doc = flow(fields=[fld("x", {}, None, optional=True)], nodes=[node("a"), node("b")],
               edges={"start": ["a"], "a": [(["b"], F("x")), (["end"], None)]})
    run = make_graph(doc, store).invoke({"x": "yes"}, thread="t")
    assert run.status == "failed" and run.error["node"] == "a"
    assert "must be a bool" in run.error["message"] and run.error["line"] == 1


def test_a_node_reached_from_several_sources_runs_once(store) -> None:
    doc = flow(fields=[fld("n", INT, 0)],
               nodes=[node("split"), node("a"), node("b"), node("c", append("n", lit(1)))],
               edges={"start": ["split"], "split": ["a", "b"], "a": ["c"], "b": ["c"]})
    run = make_graph(doc, store).invoke({}, thread="t")
    assert run.state["n"] == 1
    assert [e["nodes"] for e in run.events if e["event"] == "step_start"] == [["split"], ["a", "b"], ["c"]]


def test_a_join_waits_for_every_source(store) -> None:
    # `a` finishes in step 2, `slow` only in step 3: the join fires after both.
    doc = flow(fields=[fld("log", LIST(STR), [])],
               nodes=[node("split"), node("a", append("log", lst(lit("a")))),
                      node("pre"), node("slow", append("log", lst(lit("slow")))),
                      node("c", append("log", lst(lit("c"))))],
               edges={"start": ["split"], "split": ["a", "pre"], "pre": ["slow"]},
               joins=[(["a", "slow"], "c")])
    graph = make_graph(doc, store)
    run = graph.invoke({}, thread="t")
    assert run.state["log"] == ["a", "slow", "c"]
    steps = [e["nodes"] for e in run.events if e["event"] == "step_start"]
    assert steps == [["split"], ["a", "pre"], ["slow"], ["c"]]
    # The join's progress was in the checkpoint between the arrivals.
    assert [h.step for h in graph.history("t")] == [0, 1, 2, 3, 4]
    assert store.history("t")[2].joins == {"a,slow->c": ["a"]}
    assert store.history("t")[4].joins == {}


def test_separate_edges_fire_per_arrival_but_a_join_once(store) -> None:
    # `c` is reached by plain edges from `a` (step 2) and `slow` (step 3): it runs twice;
    # the join target `j` runs once.
    doc = flow(fields=[fld("c_runs", INT, 0), fld("j_runs", INT, 0)],
               nodes=[node("split"), node("a"), node("pre"), node("slow"),
                      node("c", append("c_runs", lit(1))), node("j", append("j_runs", lit(1)))],
               edges={"start": ["split"], "split": ["a", "pre"], "pre": ["slow"], "a": ["c"], "slow": ["c"]},
               joins=[(["a", "slow"], "j")])
    run = make_graph(doc, store).invoke({}, thread="t")
    assert run.state == {"c_runs": 2, "j_runs": 1}


def test_a_join_fires_again_after_every_source_finishes_again(store) -> None:
    doc = flow(fields=[fld("round", INT, 0), fld("fired", INT, 0)],
               nodes=[node("split", append("round", lit(1))), node("a"), node("b"),
                      node("c", append("fired", lit(1)))],
               edges={"start": ["split"], "split": ["a", "b"],
                      "c": [(["split"], bin_("<", F("round"), lit(3))), (["end"], None)]},
               joins=[(["a", "b"], "c")])
    assert make_graph(doc, store).invoke({}, thread="t").state == {"round": 3, "fired": 3}


def test_the_step_limit_names_the_last_step_and_stores_the_failure(store) -> None:
    doc = flow(fields=[fld("x", INT, 0)], nodes=[node("spin", set_("x", add(F("x"), lit(1))))],
               edges={"start": ["spin"], "spin": ["spin"]})
    graph = make_graph(doc, store)
    with pytest.raises(StepLimitError, match=r"step limit of 5 reached.*ran `spin`") as caught:
        graph.invoke({}, thread="t", step_limit=5)
    assert caught.value.nodes == ["spin"]
    run = graph.state("t")
    assert (run.status, run.state["x"], run.error["kind"]) == ("failed", 5, "step_limit")
    # Continuing runs another step_limit steps from where it stopped.
    with pytest.raises(StepLimitError):
        graph.invoke(None, thread="t", step_limit=3)
    assert graph.state("t").state["x"] == 8


def test_the_default_step_limit_is_1000(store) -> None:
    doc = flow(fields=[fld("x", INT, 0)], nodes=[node("spin", set_("x", add(F("x"), lit(1))))],
               edges={"start": ["spin"], "spin": ["spin"]})
    graph = make_graph(doc, store)
    with pytest.raises(StepLimitError):
        graph.invoke({}, thread="t")
    assert graph.state("t").state["x"] == 1000


def test_a_checkpoint_per_step_records_only_changed_fields(store) -> None:
    doc = flow(fields=[fld("x", INT, 0), fld("big", LIST(INT), list(range(100)))],
               nodes=[node("a", set_("x", lit(1))), node("b", set_("x", lit(2)))],
               edges={"start": ["a"], "a": ["b"]})
    make_graph(doc, store).invoke({}, thread="t")
    history = store.history("t")
    assert [(c.seq, c.step, c.status, c.frontier) for c in history] == [
        (0, 0, "running", ["a"]), (1, 1, "running", ["b"]), (2, 2, "done", [])]
    assert store.changed["t"] == [None, ["x"], ["x"]]


def test_locals_templates_and_records_in_one_node(store) -> None:
    doc = flow(fields=[fld("name", STR), fld("greeting", STR, ""), fld("card", MAP(STR), {})],
               nodes=[node("a", let("who", F("name")), set_("greeting", tmpl("hi {{ who }} ({{ name }})")),
                           set_("card", rec(to=L("who"), text=F("greeting"))))],
               edges={"start": ["a"]}, input=["name"])
    run = make_graph(doc, store).invoke({"name": "Ada"}, thread="t")
    assert run.state["card"] == {"to": "Ada", "text": "hi Ada (Ada)"}


def test_events_are_plain_deterministic_dicts(store) -> None:
    doc = flow(fields=[fld("x", INT, 0)], nodes=[node("a", set_("x", lit(1)))], edges={"start": ["a"]})
    first = make_graph(doc, store).invoke({}, thread="t1", events="full").events
    second = make_graph(doc, store).invoke({}, thread="t1b", events="full").events
    assert [e for e in first if e["event"] != "run_start"] == [e for e in second if e["event"] != "run_start"]
    assert first == [
        {"event": "run_start", "thread": "t1"},
        {"event": "step_start", "step": 1, "nodes": ["a"]},
        {"event": "node_start", "node": "a", "step": 1},
        {"event": "node_end", "node": "a", "step": 1, "writes": [["x", "=", 1]]},
        {"event": "step_end", "step": 1, "state_changes": {"x": 1}},
        {"event": "done", "output": {"x": 1}},
    ]


def test_stream_yields_what_invoke_collects(store) -> None:
    graph = make_graph(chain(3), store)
    streamed = list(graph.stream({}, thread="s"))
    invoked = make_graph(chain(3), store).invoke({}, thread="i", events="full").events
    assert [e for e in streamed if e["event"] != "run_start"] == [e for e in invoked if e["event"] != "run_start"]
    assert graph.state("s").status == "done"


def test_a_spec_runtime_error_fails_the_run_naming_the_line(store) -> None:
    doc = flow(fields=[fld("x", INT, 0)],
               nodes=[node("a", set_("x", bin_("/", lit(1), F("x")), line=12), line=10)],
               edges={"start": ["a"]})
    run = make_graph(doc, store).invoke({}, thread="t")
    assert run.status == "failed"
    assert run.error["message"] == "division by zero"
    assert (run.error["node"], run.error["line"], run.error["column"], run.error["kind"]) == ("a", 12, 5, "runtime")
    assert run.error["path"] == "test.flow"


def test_a_checked_set_validates_its_value(store) -> None:
    doc = flow(fields=[fld("raw", {}, None, optional=True), fld("n", INT, 0)],
               nodes=[node("a", set_("n", F("raw"), check=True, line=4))], edges={"start": ["a"]})
    graph = make_graph(doc, store)
    assert graph.invoke({"raw": 5}, thread="ok").state["n"] == 5
    run = graph.invoke({"raw": "five"}, thread="bad")
    assert run.status == "failed" and run.error["line"] == 4
    assert 'value for `n` does not match its type: expected int, got str "five"' in run.error["message"]
