"""Dynamic interrupts: replay from node start, answers by index, tokens, once, nondeterminism."""

from __future__ import annotations

import pytest

from fermata.runtime import Command, NondeterminismError, ResumeError
from tests.runtime import calls_fixture as fx
from tests.runtime.irbuild import (
    BOOL,
    INT,
    LIST,
    RECORD,
    STR,
    F,
    L,
    append,
    bin_,
    call,
    fld,
    flow,
    get,
    if_,
    interrupt,
    lit,
    lst,
    make_graph,
    node,
    set_,
    tmpl,
)
from tests.runtime.support import FX, once_flow, parallel_flow

DECISION = RECORD({"approved": BOOL}, {"comment": STR})


def review_flow():
    """`prep` runs before; `review` ticks, then asks twice; `after` follows."""
    return flow(fields=[fld("amount", INT), fld("log", LIST(STR), []), fld("approved", BOOL, False),
                        fld("note", STR, "")],
                nodes=[node("prep", call(f"{FX}:tick", lit("prep"))),
                       node("review",
                            call(f"{FX}:tick", lit("review")),
                            interrupt("approval", tmpl("approve {{ amount }}?"), {"$ref": "#/$defs/Decision"},
                                      bind="d", line=7),
                            set_("approved", get(L("d"), "approved")),
                            append("log", lst(lit("approved?"))),
                            interrupt("note", None, STR, bind="n", line=9),
                            set_("note", L("n"))),
                       node("after", append("log", lst(lit("after"))))],
                edges={"start": ["prep"], "prep": ["review"], "review": ["after"]},
                input=["amount"], defs={"Decision": DECISION})


def test_a_node_pauses_then_replays_from_its_start_with_answers_by_index(store) -> None:
    graph = make_graph(review_flow(), store)
    run = graph.invoke({"amount": 250}, thread="t")
    assert run.status == "interrupted"
    (pending,) = run.interrupts
    assert (pending.id, pending.node, pending.label, pending.index) == ("review:approval", "review", "approval", 0)
    assert pending.payload == "approve 250?" and pending.schema == {"$ref": "#/$defs/Decision"}
    assert pending.token.startswith("review:approval#")
    assert fx.CALLS == {"tick:prep": 1, "tick:review": 1}
    assert run.state["log"] == []  # writes of a paused execution are discarded

    run = graph.invoke(Command(resume={"approved": True}), thread="t")
    assert [i.id for i in run.interrupts] == ["review:note"] and run.interrupts[0].index == 1
    assert fx.CALLS == {"tick:prep": 1, "tick:review": 2}  # replayed from the start; prep not re-run

    run = graph.invoke(Command(resume="fine"), thread="t")
    assert run.status == "done"
    assert run.state == {"amount": 250, "log": ["approved?", "after"], "approved": True, "note": "fine"}
    assert fx.CALLS == {"tick:prep": 1, "tick:review": 3}


def test_an_answer_can_be_given_by_id_or_by_token(store) -> None:
    graph = make_graph(review_flow(), store)
    run = graph.invoke({"amount": 1}, thread="t")
    run = graph.invoke(Command(resume={"review:approval": {"approved": False}}), thread="t")
    token = run.interrupts[0].token
    run = graph.invoke(Command(resume={token: "by token"}), thread="t")
    assert run.status == "done" and run.state["note"] == "by token"


def test_a_stale_token_is_rejected(store) -> None:
    # Each loop round pauses `ask` again: the first round's token must not answer the second.
    doc = flow(fields=[fld("answers", LIST(STR), [])],
               nodes=[node("ask", interrupt("q", None, STR, bind="a"), append("answers", lst(L("a"))))],
               edges={"start": ["ask"], "ask": [(["ask"], bin_("<", {"k": "fn", "n": "len", "a": [F("answers")]},
                                                                 lit(2))), (["end"], None)]})
    graph = make_graph(doc, store)
    first = graph.invoke({}, thread="t").interrupts[0].token
    second = graph.invoke(Command(resume={first: "one"}), thread="t").interrupts[0].token
    assert first != second
    before = store.dump("t")
    with pytest.raises(ResumeError, match=r"token `.*` is stale"):
        graph.invoke(Command(resume={first: "double submit"}), thread="t")
    assert store.dump("t") == before
    assert graph.invoke(Command(resume={second: "two"}), thread="t").state["answers"] == ["one", "two"]


def test_a_bad_answer_is_rejected_with_every_violation_and_nothing_written(store) -> None:
    graph = make_graph(review_flow(), store)
    graph.invoke({"amount": 1}, thread="t")
    before = store.dump("t")
    with pytest.raises(ResumeError) as caught:
        graph.invoke(Command(resume={"approved": "yes", "comment": 3, "extra": True}), thread="t")
    assert caught.value.problems == [
        '`review:approval`: `approved`: expected bool, got str "yes"',
        "`review:approval`: `comment`: expected str, got int 3",
        "`review:approval`: unknown field `extra`",
    ]
    assert store.dump("t") == before
    assert graph.state("t").status == "interrupted"
    assert fx.CALLS["tick:review"] == 1


def test_resume_errors_for_nothing_pending_and_unknown_ids(store) -> None:
    graph = make_graph(review_flow(), store)
    with pytest.raises(Exception, match="no run on thread"):
        graph.invoke(Command(resume=1), thread="none")
    graph.invoke({"amount": 1}, thread="t")
    with pytest.raises(ResumeError, match="no pending interrupt `review:nope`"):
        graph.invoke(Command(resume={"review:nope": 1}), thread="t")
    graph.invoke(Command(resume={"approved": True}), thread="t")
    graph.invoke(Command(resume="x"), thread="t")
    with pytest.raises(ResumeError, match=r"nothing is pending on thread `t` \(status done\)"):
        graph.invoke(Command(resume="again"), thread="t")


def test_parallel_interrupts_are_pending_together_and_resume_partially(store) -> None:
    graph = make_graph(parallel_flow(), store)
    run = graph.invoke({}, thread="t")
    assert [i.id for i in run.interrupts] == ["a:qa", "b:qb"]
    assert run.state["log"] == []  # `c` finished, but its writes wait for the step's end
    with pytest.raises(ResumeError, match=r"2 interrupts are pending .*`a:qa`, `b:qb`"):
        graph.invoke(Command(resume=1), thread="t")
    token_b = run.interrupts[1].token

    run = graph.invoke(Command(resume={"a:qa": 1}), thread="t")
    assert [i.id for i in run.interrupts] == ["b:qb"]
    assert run.interrupts[0].token == token_b  # re-paused at the same occurrence
    # Both interrupted nodes re-ran; the finished sibling `c` never did.
    assert fx.CALLS == {"tick:a": 2, "tick:b": 2, "tick:c": 1}

    run = graph.invoke(Command(resume={token_b: 2}), thread="t")
    assert run.status == "done"
    assert run.state == {"log": ["a=1", "b=2", "c", "done"], "x": 1}
    # `a` finished with its answer on the first resume: only `b` ran again.
    assert fx.CALLS == {"tick:a": 2, "tick:b": 3, "tick:c": 1}


def test_invoke_none_re_pauses_interrupted_nodes_at_the_same_token(store) -> None:
    graph = make_graph(parallel_flow(), store)
    tokens = [i.token for i in graph.invoke({}, thread="t").interrupts]
    again = graph.invoke(None, thread="t")
    assert [i.token for i in again.interrupts] == tokens
    assert fx.CALLS == {"tick:a": 2, "tick:b": 2, "tick:c": 1}


def test_an_unbound_interrupt_ignores_its_value(store) -> None:
    doc = flow(fields=[fld("x", INT, 0)],
               nodes=[node("a", interrupt("go", lit("continue?")), set_("x", lit(1)))], edges={"start": ["a"]})
    graph = make_graph(doc, store)
    assert graph.invoke({}, thread="t").interrupts[0].payload == "continue?"
    assert graph.invoke(Command(resume={"anything": ["at all"]}), thread="t").state == {"x": 1}


def test_an_answer_may_lead_past_later_interrupts(store) -> None:
    doc = flow(fields=[fld("verdict", STR, "")],
               nodes=[node("review", interrupt("editor", None, BOOL, bind="ok"),
                           if_(L("ok"), [interrupt("legal", None, STR, bind="v"), set_("verdict", L("v"))],
                               [set_("verdict", lit("rejected"))]))],
               edges={"start": ["review"]})
    graph = make_graph(doc, store)
    graph.invoke({}, thread="no")
    assert graph.invoke(Command(resume=False), thread="no").state["verdict"] == "rejected"
    graph.invoke({}, thread="yes")
    assert graph.invoke(Command(resume=True), thread="yes").interrupts[0].id == "review:legal"
    assert graph.invoke(Command(resume="approve"), thread="yes").state["verdict"] == "approve"


def test_once_calls_are_journaled_across_replays(store) -> None:
    graph = make_graph(once_flow(), store)
    run = graph.invoke({"amount": 5}, thread="t")
    assert run.interrupts[0].payload == {"receipt": "R-1", "amount": 5}
    run = graph.invoke(Command(resume=True), thread="t")
    assert run.state["receipt"] == {"receipt": "R-1", "amount": 5} and run.state["ok"] is True
    assert fx.CALLS == {"pay": 1, "tick:plain": 2}  # `once` is not repeated; a plain call is
    # The journal is dropped when the node finishes.
    assert all(not c.nodes for c in store.history("t")[-1:])


def test_the_journal_lives_in_the_checkpoint_so_another_process_can_replay(store) -> None:
    graph = make_graph(once_flow(), store)
    graph.invoke({"amount": 5}, thread="t")
    record = store.latest("t").nodes["pay"]
    assert record["once"][0]["target"] == f"{FX}:pay"
    assert record["once"][0]["result"] == {"receipt": "R-1", "amount": 5}
    fresh = make_graph(once_flow(), store)  # a new graph object, as another process would build
    assert fresh.invoke(Command(resume=True), thread="t").status == "done"
    assert fx.CALLS["pay"] == 1


def _swap(doc, node_name, steps):
    doc["flows"]["f"]["nodes"][node_name]["steps"] = steps
    return doc


def test_a_changed_interrupt_label_on_replay_is_nondeterminism(store) -> None:
    doc = flow(fields=[fld("x", INT, 0)],
               nodes=[node("a", interrupt("first", None, INT), interrupt("second", None, INT))],
               edges={"start": ["a"]})
    graph = make_graph(doc, store)
    graph.invoke({}, thread="t")
    graph.invoke(Command(resume=1), thread="t")  # now paused at `second` (index 1)
    # Simulate a node whose path depends on something outside the run: swap the
    # steps under the same node (the IR hash differs, but labels still exist).
    changed = _swap(doc, "a", [interrupt("second", None, INT), interrupt("first", None, INT)])
    with pytest.raises(NondeterminismError) as caught:
        make_graph(changed, store).invoke(Command(resume=2), thread="t")
    assert (caught.value.node, caught.value.index) == ("a", 0)
    assert "interrupt #0 was `first` and is now `second`" in str(caught.value)
    failed = store.latest("t")
    assert failed.status == "failed" and failed.error["kind"] == "nondeterminism"


def test_a_changed_once_call_on_replay_is_nondeterminism(store) -> None:
    graph = make_graph(once_flow(), store)
    graph.invoke({"amount": 5}, thread="t")
    doc = _swap(once_flow(), "pay", [call(f"{FX}:pay", lit(999), once=True, bind="r"),
                                     interrupt("confirm", L("r"), BOOL, bind="c")])
    with pytest.raises(NondeterminismError, match="once call #0 was"):
        make_graph(doc, store).invoke(Command(resume=True), thread="t")
    assert fx.CALLS["pay"] == 1


def test_finishing_before_a_recorded_interrupt_is_nondeterminism(store) -> None:
    doc = flow(fields=[fld("skip", BOOL, False)],
               nodes=[node("a", if_(not_skip(), [interrupt("q", None, INT)]))], edges={"start": ["a"]})
    graph = make_graph(doc, store)
    graph.invoke({}, thread="t")
    # Flip the state under the paused node: its replay no longer reaches `q`.
    with pytest.raises(NondeterminismError, match="interrupt #0 was `q` and is now never reached"):
        graph.invoke(Command(resume=1, update={"skip": True}), thread="t")


def branching_flow():
    """`a` asks `first` when `two`, then `p` or `q` depending on `flag`."""
    return flow(fields=[fld("flag", BOOL, False), fld("two", BOOL, False), fld("out", STR, "")],
                nodes=[node("a", if_(F("two"), [interrupt("first", None, STR)]),
                            if_(F("flag"), [interrupt("p", None, STR, bind="v")],
                                [interrupt("q", None, STR, bind="v")]),
                            set_("out", L("v")))],
                edges={"start": ["a"]})


def test_an_update_without_an_answer_asks_the_question_it_now_reaches(store) -> None:
    graph = make_graph(branching_flow(), store)
    assert [i.id for i in graph.invoke({}, thread="t").interrupts] == ["a:q"]
    # No answer is bound, so nothing can be misbound: ask the new question.
    run = graph.invoke(Command(update={"flag": True}), thread="t")
    assert run.status == "interrupted" and [i.id for i in run.interrupts] == ["a:p"]
    run = graph.invoke(Command(resume="to p"), thread="t")
    assert run.status == "done" and run.state["out"] == "to p"


def test_an_update_without_an_answer_may_let_the_node_finish(store) -> None:
    doc = flow(fields=[fld("skip", BOOL, False), fld("x", INT, 0)],
               nodes=[node("a", if_(not_skip(), [interrupt("q", None, INT)]), set_("x", lit(1)))],
               edges={"start": ["a"]})
    graph = make_graph(doc, store)
    graph.invoke({}, thread="t")
    run = graph.invoke(Command(update={"skip": True}), thread="t")
    assert run.status == "done" and run.state == {"skip": True, "x": 1}


def test_a_fork_with_an_update_asks_the_question_it_now_reaches(store) -> None:
    graph = make_graph(branching_flow(), store)
    paused = graph.invoke({}, thread="t")
    graph.fork("t", paused.checkpoint_id, thread="u", update={"flag": True})
    run = graph.invoke(None, thread="u")
    assert [i.id for i in run.interrupts] == ["a:p"]
    assert graph.invoke(Command(resume="forked"), thread="u").state["out"] == "forked"
    assert [i.id for i in graph.state("t").interrupts] == ["a:q"]  # the original is untouched


def test_an_update_may_change_unanswered_interrupts_only(store) -> None:
    graph = make_graph(branching_flow(), store)
    graph.invoke({"two": True}, thread="t")
    run = graph.invoke(Command(resume="one"), thread="t")
    assert [(i.id, i.index) for i in run.interrupts] == [("a:q", 1)]
    # #0 is answered and still reached the same way; #1 has no answer yet.
    run = graph.invoke(Command(update={"flag": True}), thread="t")
    assert [(i.id, i.index) for i in run.interrupts] == [("a:p", 1)]
    # An answer bound to an interrupt the node no longer reaches stays an error.
    with pytest.raises(NondeterminismError, match="interrupt #0 was `first` and is now `p`"):
        graph.invoke(Command(update={"two": False}), thread="t")
    assert graph.state("t").status == "failed"


def not_skip():
    return {"k": "not", "e": F("skip")}


def test_an_interrupt_payload_is_rendered_when_reached(store) -> None:
    doc = flow(fields=[fld("n", INT, 0)],
               nodes=[node("a", set_("n", lit(41)), interrupt("q", tmpl("n={{ n }}")))], edges={"start": ["a"]})
    assert make_graph(doc, store).invoke({}, thread="t").interrupts[0].payload == "n=41"
