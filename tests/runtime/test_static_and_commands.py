"""Static interrupts at step boundaries; Command(update=..., goto=...)."""

from __future__ import annotations

import pytest

from fermata.runtime import Command, ResumeError
from tests.runtime import calls_fixture as fx
from tests.runtime.irbuild import (
    INT,
    LIST,
    STR,
    F,
    L,
    append,
    call,
    fld,
    flow,
    interrupt,
    lit,
    lst,
    make_graph,
    node,
    set_,
    tmpl,
)

FX = "tests.runtime.calls_fixture"


def line_flow(before=(), after=()):
    names = ["a", "b", "c"]
    return flow(fields=[fld("log", LIST(STR), []), fld("n", INT, 0)],
                nodes=[node(n, append("log", lst(lit(n)))) for n in names],
                edges={"start": ["a"], "a": ["b"], "b": ["c"]}, before=list(before), after=list(after))


def test_interrupt_before_pauses_before_the_step(store) -> None:
    graph = make_graph(line_flow(before=["b"]), store)
    run = graph.invoke({}, thread="t")
    assert run.status == "interrupted" and run.state["log"] == ["a"] and run.next == ["b"]
    (pending,) = run.interrupts
    assert (pending.id, pending.node, pending.label, pending.payload, pending.schema) == \
        ("b:before", "b", "before", None, None)
    run = graph.invoke(None, thread="t")
    assert run.status == "done" and run.state["log"] == ["a", "b", "c"]


def test_interrupt_before_the_first_node_pauses_at_the_start(store) -> None:
    graph = make_graph(line_flow(before=["a"]), store)
    run = graph.invoke({}, thread="t")
    assert [i.id for i in run.interrupts] == ["a:before"] and run.step == 0 and run.state["log"] == []
    assert graph.invoke(None, thread="t").status == "done"


def test_interrupt_after_pauses_after_the_step(store) -> None:
    graph = make_graph(line_flow(after=["b"]), store)
    run = graph.invoke({}, thread="t")
    assert [i.id for i in run.interrupts] == ["b:after"] and run.state["log"] == ["a", "b"]
    assert graph.invoke(None, thread="t").state["log"] == ["a", "b", "c"]


def test_after_and_before_at_one_boundary_are_one_pause(store) -> None:
    graph = make_graph(line_flow(before=["c"], after=["b"]), store)
    run = graph.invoke({}, thread="t")
    assert [i.id for i in run.interrupts] == ["b:after", "c:before"]
    run = graph.invoke(None, thread="t")  # one resume passes both, once
    assert run.status == "done" and run.state["log"] == ["a", "b", "c"]
    statuses = [h.status for h in graph.history("t")]
    assert statuses.count("interrupted") == 1


def test_a_static_pause_accepts_an_id_map_of_its_ids(store) -> None:
    graph = make_graph(line_flow(before=["b"]), store)
    run = graph.invoke({}, thread="t")
    with pytest.raises(ResumeError, match="no pending interrupt `x:before`"):
        graph.invoke(Command(resume={"x:before": None}), thread="t")
    assert graph.invoke(Command(resume={run.interrupts[0].token: None}), thread="t").status == "done"


@pytest.mark.parametrize("resume", ["any value", 0, False, {"approved": False}, [None]])
def test_a_value_sent_to_a_static_gate_is_refused_and_nothing_stored(store, resume) -> None:
    graph = make_graph(line_flow(before=["b"]), store)
    run = graph.invoke({}, thread="t")
    token = run.interrupts[0].token
    before = store.dump("t"), store.appends
    for command in (Command(resume=resume), Command(resume={"b:before": resume}),
                    Command(resume={token: resume}), Command(resume=resume, update={"n": 1}, goto="c")):
        with pytest.raises(ResumeError, match=r"`b:before` is a static interrupt: it takes no answer"):
            graph.invoke(command, thread="t")
        assert (store.dump("t"), store.appends) == before
    run = graph.invoke(None, thread="t")  # a value-less continue passes the gate
    assert run.status == "done" and run.state["log"] == ["a", "b", "c"]


def test_null_is_no_answer_so_it_passes_a_static_gate(store) -> None:
    # `fermata resume --id b:before` (no --value) sends {"b:before": None}.
    for thread, command in (("id", Command(resume={"b:before": None})), ("bare", Command(resume=None))):
        graph = make_graph(line_flow(before=["b"]), store)
        graph.invoke({}, thread=thread)
        assert graph.invoke(command, thread=thread).state["log"] == ["a", "b", "c"]


def test_a_refusal_names_every_static_gate_of_the_boundary(store) -> None:
    graph = make_graph(line_flow(before=["c"], after=["b"]), store)
    graph.invoke({}, thread="t")
    with pytest.raises(ResumeError) as caught:
        graph.invoke(Command(resume="go"), thread="t")
    assert "`b:after`, `c:before`" in str(caught.value) and "invoke(None)" in str(caught.value)


def test_a_static_pause_in_a_loop_pauses_each_time(store) -> None:
    doc = flow(fields=[fld("n", INT, 0)],
               nodes=[node("a", append("n", lit(1)))],
               edges={"start": ["a"], "a": [(["a"], {"k": "bin", "op": "<", "l": F("n"), "r": lit(3)}),
                                            (["end"], None)]},
               before=["a"])
    graph = make_graph(doc, store)
    pauses = 0
    run = graph.invoke({}, thread="t")
    while run.status == "interrupted":
        pauses += 1
        run = graph.invoke(None, thread="t")
    assert (pauses, run.state["n"]) == (3, 3)


def test_update_applies_typed_writes_before_continuing(store) -> None:
    graph = make_graph(line_flow(before=["b"]), store)
    graph.invoke({}, thread="t")
    run = graph.invoke(Command(update={"n": 7, "log": ["edited"]}), thread="t")
    assert run.state == {"n": 7, "log": ["edited", "b", "c"]}


def test_a_bad_update_is_rejected_and_nothing_written(store) -> None:
    graph = make_graph(line_flow(before=["b"]), store)
    graph.invoke({}, thread="t")
    before = store.dump("t")
    with pytest.raises(ResumeError) as caught:
        graph.invoke(Command(update={"n": "seven", "nope": 1}), thread="t")
    assert caught.value.problems == ['`n`: expected int, got str "seven"', "unknown field `nope`"]
    with pytest.raises(ResumeError, match="unknown node"):
        graph.invoke(Command(goto="zzz"), thread="t")
    assert store.dump("t") == before


def test_goto_replaces_the_next_frontier_at_a_boundary(store) -> None:
    graph = make_graph(line_flow(before=["b"]), store)
    graph.invoke({}, thread="t")
    run = graph.invoke(Command(goto="c"), thread="t")
    assert run.state["log"] == ["a", "c"]


def test_goto_with_a_resume_replaces_what_the_resumed_step_leads_to(store) -> None:
    doc = flow(fields=[fld("log", LIST(STR), [])],
               nodes=[node("ask", interrupt("q", None, STR, bind="v"), append("log", lst(L("v")))),
                      node("normal", append("log", lst(lit("normal")))),
                      node("special", append("log", lst(lit("special"))))],
               edges={"start": ["ask"], "ask": ["normal"]})
    graph = make_graph(doc, store)
    graph.invoke({}, thread="t")
    run = graph.invoke(Command(resume="hi", goto=["special"], update={"log": ["u"]}), thread="t")
    assert run.state["log"] == ["u", "hi", "special"]


def test_goto_survives_a_repause_in_the_same_step(store) -> None:
    doc = flow(fields=[fld("log", LIST(STR), [])],
               nodes=[node("split"),
                      node("a", interrupt("qa", None, STR, bind="v"), append("log", lst(L("v")))),
                      node("b", interrupt("qb", None, STR, bind="v"), append("log", lst(L("v")))),
                      node("normal", append("log", lst(lit("normal")))),
                      node("special", append("log", lst(lit("special"))))],
               edges={"start": ["split"], "split": ["a", "b"], "a": ["normal"], "b": ["normal"]})
    graph = make_graph(doc, store)
    graph.invoke({}, thread="t")
    run = graph.invoke(Command(resume={"a:qa": "A"}, goto="special"), thread="t")
    assert [i.id for i in run.interrupts] == ["b:qb"]
    run = graph.invoke(Command(resume="B"), thread="t")
    assert run.state["log"] == ["A", "B", "special"]


def test_update_is_seen_by_the_re_run_node(store) -> None:
    doc = flow(fields=[fld("name", STR, "x"), fld("out", STR, "")],
               nodes=[node("a", interrupt("q", tmpl("hi {{ name }}")), set_("out", tmpl("{{ name }}!")))],
               edges={"start": ["a"]})
    graph = make_graph(doc, store)
    graph.invoke({}, thread="t")
    run = graph.invoke(Command(resume=None, update={"name": "Ada"}), thread="t")
    assert run.state["out"] == "Ada!"


def test_update_without_resume_keeps_dynamic_interrupts_pending(store) -> None:
    doc = flow(fields=[fld("name", STR, "x")],
               nodes=[node("a", call(f"{FX}:tick", lit("a")), interrupt("q", tmpl("hi {{ name }}")))],
               edges={"start": ["a"]})
    graph = make_graph(doc, store)
    graph.invoke({}, thread="t")
    run = graph.invoke(Command(update={"name": "Ada"}), thread="t")
    assert run.status == "interrupted" and run.interrupts[0].payload == "hi Ada"
    assert fx.CALLS["tick:a"] == 2


def test_update_and_goto_on_a_finished_run(store) -> None:
    graph = make_graph(line_flow(), store)
    graph.invoke({}, thread="t")
    run = graph.invoke(Command(update={"n": 1}), thread="t")
    assert run.status == "done" and run.state["n"] == 1
    run = graph.invoke(Command(goto="c"), thread="t")
    assert run.status == "done" and run.state["log"] == ["a", "b", "c", "c"]
