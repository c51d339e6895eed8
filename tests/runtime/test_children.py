"""Child runs at run time (SEMANTICS.md, "Child runs"; runtime/children.py):
thread ids, surfaced questions, answers checked by the child before
anything is stored, the journaled output, failures and retries, fan-out
instances, nesting, fork, replay, history, the inbox and timers."""

from __future__ import annotations

from typing import Any

import pytest

from fermata.runtime import Command, Graph, ResumeError
from fermata.runtime.children import child_thread_id
from fermata.runtime.clock import FakeClock
from fermata.runtime.replay import replay
from fermata.runtime.store.memory import MemoryStore
from tests.runtime import calls_fixture as fx
from tests.runtime.children_ir import (
    drafting_doc,
    newsletter_doc,
    run_,
    with_children,
)
from tests.runtime.clauses import HOUR, with_clauses
from tests.runtime.irbuild import (
    BOOL,
    INT,
    LIST,
    STR,
    F,
    L,
    add,
    append,
    bin_,
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

CHILD = "t1/1/compose#0"
APPROVE = {"approve": True}
REVISE = {"approve": False}


def newsletter(store: Any = None, **kwargs: Any) -> Graph:
    return Graph.from_ir(newsletter_doc(), store=store if store is not None else MemoryStore(), **kwargs)


def drafting(store: Any) -> Graph:
    return Graph.from_ir(drafting_doc(), store=store)


def test_the_child_is_its_own_thread_and_its_question_surfaces_on_the_parent() -> None:
    store = MemoryStore()
    run = newsletter(store).invoke({"topic": "tea"}, thread="t1")
    assert run.status == "interrupted"
    [asked] = run.interrupts
    assert (asked.id, asked.node, asked.label) == ("compose/review:decision", "compose", "decision")
    assert asked.payload == "Approve tea draft 1?"
    assert asked.schema == {"type": "object", "properties": {"approve": {"type": "boolean"}},
                            "required": ["approve"], "additionalProperties": False}
    assert asked.asked_at is not None
    # The child: its own thread, flow and IR hash, paused at its own question.
    assert child_thread_id("t1", 1, "compose", 0) == CHILD
    info = store.thread(CHILD)
    assert info is not None and info.flow == "drafting"
    assert info.ir_hash == newsletter(store).compiled.children["drafting"].hash
    child = drafting(store).state(CHILD)
    assert child is not None and [i.id for i in child.interrupts] == ["review:decision"]
    assert asked.token == f"compose/{child.interrupts[0].token}"
    assert asked.child_thread == CHILD
    assert asked.to_json()["child"] == {"thread": CHILD, "flow": "drafting", "id": "review:decision",
                                        "token": child.interrupts[0].token}


def test_state_of_the_parent_lists_the_childs_pending_question() -> None:
    graph = newsletter()
    graph.invoke({"topic": "tea"}, thread="t1")
    state = graph.state("t1")
    assert state is not None and state.status == "interrupted"
    assert [i.to_json()["id"] for i in state.interrupts] == ["compose/review:decision"]


@pytest.mark.parametrize("answer", [
    lambda run: Command(resume=APPROVE),
    lambda run: Command(resume={"compose/review:decision": APPROVE}),
    lambda run: Command(resume={run.interrupts[0].token: APPROVE}),
], ids=["value", "id", "token"])
def test_answering_the_surfaced_id_answers_the_child_and_the_parent_gets_its_output(answer: Any) -> None:
    graph = newsletter()
    run = graph.invoke({"topic": "tea"}, thread="t1")
    run = graph.invoke(answer(run), thread="t1")
    assert run.status == "done"
    assert run.state == {"topic": "tea", "article": "tea draft 1", "rounds": 1, "published": True}
    child = graph.history(CHILD)[-1]
    assert child.status == "done" and child.state["approved"] is True


def test_the_drafting_loop_asks_again_until_approved_and_the_child_never_starts_twice() -> None:
    store = MemoryStore()
    graph = newsletter(store)
    graph.invoke({"topic": "tea"}, thread="t1")
    run = graph.invoke(Command(resume=REVISE), thread="t1")
    assert [i.payload for i in run.interrupts] == ["Approve tea draft 2?"]
    run = graph.invoke(Command(resume=REVISE), thread="t1")
    run = graph.invoke(Command(resume=APPROVE), thread="t1")
    assert run.status == "done" and run.state["rounds"] == 3 and run.state["article"] == "tea draft 3"
    # One child thread, started once (its first checkpoint is its only start).
    children = [r.thread for r in store.list_runs() if r.thread != "t1"]
    assert children == [CHILD]
    starts = [c for c in store.history(CHILD) if c.step == 0]
    assert len(starts) == 1


def test_a_refused_answer_changes_neither_thread() -> None:
    store = MemoryStore()
    graph = newsletter(store)
    graph.invoke({"topic": "tea"}, thread="t1")
    before = (store.rows("t1"), store.rows(CHILD))
    with pytest.raises(ResumeError) as refused:
        graph.invoke(Command(resume={"compose/review:decision": {"approve": "yes"}}), thread="t1")
    assert "`compose/review:decision`" in str(refused.value)
    assert refused.value.located == {"compose/review:decision": [("approve", 'expected bool, got str "yes"')]}
    with pytest.raises(ResumeError):
        graph.invoke(Command(resume={"compose/review:nope": APPROVE}), thread="t1")
    assert (store.rows("t1"), store.rows(CHILD)) == before


def test_the_childs_where_rule_is_checked_before_anything_is_stored() -> None:
    child = with_clauses(drafting_doc(), "review", "decision",
                         where={"cond": get(L("d"), "approve"), "message": "only approvals here"})
    doc = with_children(_parent(), drafting=child)
    store = MemoryStore()
    graph = Graph.from_ir(doc, store=store)
    graph.invoke({"topic": "tea"}, thread="t1")
    before = (store.rows("t1"), store.rows(CHILD))
    with pytest.raises(ResumeError, match="only approvals here"):
        graph.invoke(Command(resume=REVISE), thread="t1")
    assert (store.rows("t1"), store.rows(CHILD)) == before
    assert graph.invoke(Command(resume=APPROVE), thread="t1").status == "done"


def test_the_childs_to_clause_refuses_an_identity_it_does_not_name() -> None:
    child = with_clauses(drafting_doc(), "review", "decision", to=[lit("editor")])
    graph = Graph.from_ir(with_children(_parent(), drafting=child), store=MemoryStore())
    run = graph.invoke({"topic": "tea"}, thread="t1")
    assert run.interrupts[0].to == ["editor"]
    with pytest.raises(ResumeError, match="assigned to"):
        graph.invoke(Command(resume=APPROVE, by="mallory"), thread="t1")
    assert graph.invoke(Command(resume=APPROVE, by="editor"), thread="t1").status == "done"


def _parent(*before: dict[str, Any], retry: int = 0) -> dict[str, Any]:
    """newsletter's shape; ``before`` steps run in `compose` before the child."""
    return flow(
        "newsletter",
        fields=[fld("topic", STR), fld("article", STR, ""), fld("rounds", INT, 0), fld("published", BOOL, False)],
        nodes=[node("compose", *before, run_("drafting", rec(topic=F("topic")), bind="r"),
                    set_("article", get(L("r"), "draft")), set_("rounds", get(L("r"), "rounds")), retry=retry),
               node("publish", set_("published", lit(True)))],
        edges={"start": ["compose"], "compose": ["publish"], "publish": ["end"]},
        input=["topic"])


def test_the_parent_node_reruns_from_its_start_and_gets_the_journaled_output() -> None:
    doc = with_children(_parent(call("tests.runtime.calls_fixture:tick", lit("compose"))), drafting=drafting_doc())
    graph = Graph.from_ir(doc, store=MemoryStore())
    graph.invoke({"topic": "tea"}, thread="t1")
    assert fx.CALLS["tick:compose"] == 1
    run = graph.invoke(Command(resume=APPROVE), thread="t1")
    assert run.status == "done"
    # Re-run from its first step (the resume contract): the plain call ran again.
    assert fx.CALLS["tick:compose"] == 2
    # The output was journaled like a `call once` and kept for `fermata replay`.
    [checkpoint] = [c for c in graph.store.history("t1") if "completed" in c.extra]
    [entry] = checkpoint.extra["completed"]["compose"]["once"]
    assert entry["target"] == "run drafting" and entry["thread"] == CHILD
    assert entry["result"] == {"draft": "tea draft 1", "rounds": 1}


def test_a_failed_child_fails_the_parent_node_naming_the_child_and_a_retry_continues_it() -> None:
    child = flow("drafting", fields=[fld("topic", STR), fld("draft", STR, ""), fld("rounds", INT, 0)],
                 nodes=[node("write", call("tests.runtime.calls_fixture:tick", lit("once"), once=True),
                             call("tests.runtime.calls_fixture:flaky", lit("svc")),
                             set_("draft", tmpl("{{ topic }} ok")))],
                 edges={"start": ["write"], "write": ["end"]}, input=["topic"], output=["draft", "rounds"])
    store = MemoryStore()
    graph = Graph.from_ir(with_children(_parent(), drafting=child), store=store)
    fx.FLAKY["svc"] = 1
    run = graph.invoke({"topic": "tea"}, thread="t1")
    assert run.status == "failed"
    assert run.error is not None and run.error["node"] == "compose"
    assert f"child run `{CHILD}`" in run.error["message"] and "ConnectionError" in run.error["message"]
    assert store.latest(CHILD).status == "failed"  # type: ignore[union-attr]
    run = graph.invoke(None, thread="t1")
    assert run.status == "done" and run.state["article"] == "tea ok"
    # The child re-ran only its failed node, and its `once` call not at all.
    assert fx.CALLS["tick:once"] == 1 and fx.CALLS["flaky"] == 2
    assert [c.step for c in store.history(CHILD)].count(0) == 1


def test_retries_of_the_parent_node_continue_the_failed_child() -> None:
    child = flow("drafting", fields=[fld("topic", STR), fld("draft", STR, ""), fld("rounds", INT, 0)],
                 nodes=[node("write", call("tests.runtime.calls_fixture:flaky", lit("svc")),
                             set_("draft", lit("ok")))],
                 edges={"start": ["write"], "write": ["end"]}, input=["topic"], output=["draft", "rounds"])
    graph = Graph.from_ir(with_children(_parent(retry=2), drafting=child), store=MemoryStore())
    fx.FLAKY["svc"] = 2
    run = graph.invoke({"topic": "tea"}, thread="t1")
    assert run.status == "done" and run.state["article"] == "ok"
    assert fx.CALLS["flaky"] == 3


def test_a_child_input_that_does_not_fit_fails_the_parent_node() -> None:
    parent = _parent()
    parent["flows"]["newsletter"]["nodes"]["compose"]["steps"][0]["input"] = rec(topic=lit(3))
    graph = Graph.from_ir(with_children(parent, drafting=drafting_doc()), store=MemoryStore())
    run = graph.invoke({"topic": "tea"}, thread="t1")
    assert run.status == "failed" and run.error is not None
    assert "`run drafting`" in run.error["message"] and "`topic`" in run.error["message"]


def fanout_doc() -> dict[str, Any]:
    parent = flow(
        "batch",
        fields=[fld("topics", LIST(STR)), fld("articles", LIST(STR), [])],
        nodes=[{**node("compose", run_("drafting", rec(topic=L("t")), bind="r"),
                       append("articles", lst(get(L("r"), "draft")))),
                "for": {"var": "t", "in": F("topics"), "key": L("t")}}],
        edges={"start": ["compose"], "compose": ["end"]}, input=["topics"])
    return with_children(parent, drafting=drafting_doc())


def test_fan_out_instances_each_run_their_own_child() -> None:
    store = MemoryStore()
    graph = Graph.from_ir(fanout_doc(), store=store)
    run = graph.invoke({"topics": ["tea", "cake", "jam"]}, thread="b")
    assert [i.id for i in run.interrupts] == [
        "compose[tea]/review:decision", "compose[cake]/review:decision", "compose[jam]/review:decision"]
    cake_child = child_thread_id("b", 1, "compose[cake]", 0)
    cake_rows = store.rows(cake_child)
    # One by one: answering one instance touches no other child.
    run = graph.invoke(Command(resume={"compose[tea]/review:decision": APPROVE}), thread="b")
    assert [i.id for i in run.interrupts] == ["compose[cake]/review:decision", "compose[jam]/review:decision"]
    assert store.rows(cake_child) == cake_rows
    # The rest in one command.
    run = graph.invoke(Command(resume={"compose[cake]/review:decision": APPROVE,
                                       "compose[jam]/review:decision": REVISE}), thread="b")
    assert [i.id for i in run.interrupts] == ["compose[jam]/review:decision"]
    assert run.interrupts[0].payload == "Approve jam draft 2?"
    run = graph.invoke(Command(resume=APPROVE), thread="b")
    assert run.status == "done"
    assert run.state["articles"] == ["tea draft 1", "cake draft 1", "jam draft 2"]


def test_nested_children_keep_prefixing_and_answers_reach_the_grandchild() -> None:
    top = flow("top", fields=[fld("topic", STR), fld("result", STR, "")],
               nodes=[node("edit", run_("newsletter", rec(topic=F("topic")), bind="n"),
                           set_("result", get(L("n"), "article")))],
               edges={"start": ["edit"], "edit": ["end"]}, input=["topic"])
    doc = with_children(top, newsletter=newsletter_doc())
    store = MemoryStore()
    graph = Graph.from_ir(doc, store=store)
    run = graph.invoke({"topic": "tea"}, thread="g")
    assert [i.id for i in run.interrupts] == ["edit/compose/review:decision"]
    with pytest.raises(ResumeError, match="edit/compose/review:decision"):
        graph.invoke(Command(resume={"approve": 1}), thread="g")
    run = graph.invoke(Command(resume={"edit/compose/review:decision": APPROVE}), thread="g")
    assert run.status == "done" and run.state["result"] == "tea draft 1"
    assert store.latest("g/1/edit#0/1/compose#0").status == "done"  # type: ignore[union-attr]


def test_the_inbox_lists_a_childs_question_once_on_the_parent() -> None:
    store = MemoryStore()
    newsletter(store).invoke({"topic": "tea"}, thread="t1")
    listed = store.pending_interrupts()
    assert [(p.thread, p.id) for p in listed] == [("t1", "compose/review:decision")]


def test_fork_of_a_parent_forks_its_paused_child() -> None:
    store = MemoryStore()
    graph = newsletter(store)
    graph.invoke({"topic": "tea"}, thread="t1")
    latest = graph.history("t1")[-1]
    forked = graph.fork("t1", latest.checkpoint_id, thread="t2", update={"topic": "ignored by the child"})
    assert [i.id for i in forked.interrupts] == ["compose/review:decision"]
    before = store.rows(CHILD)
    run = graph.invoke(Command(resume=APPROVE), thread="t2")
    assert run.status == "done" and run.state["article"] == "tea draft 1"
    assert store.rows(CHILD) == before            # the original child is untouched
    assert store.latest("t2/1/compose#0").status == "done"  # type: ignore[union-attr]
    assert [p.get("parent") for p in store.get("t2/1/compose#0", 0).pending] == ["t2"]  # type: ignore[union-attr]
    assert graph.invoke(Command(resume=REVISE), thread="t1").interrupts[0].payload == "Approve tea draft 2?"


def test_replay_of_the_parent_and_of_the_child_agree_with_their_histories() -> None:
    store = MemoryStore()
    graph = newsletter(store)
    graph.invoke({"topic": "tea"}, thread="t1")
    graph.invoke(Command(resume=REVISE), thread="t1")
    graph.invoke(Command(resume=APPROVE), thread="t1")
    parent = replay(graph, store.history("t1"), "t1")
    assert parent.compatible, parent.to_json()
    child = replay(graph.compiled.children["drafting"], store.history(CHILD), CHILD)
    assert child.compatible and child.steps == 4, child.to_json()   # write, review, write, review
    # A parent whose `run` now gets another input does not replay as recorded.
    changed = newsletter_doc()
    changed["flows"]["newsletter"]["nodes"]["compose"]["steps"][0]["input"] = rec(topic=lit("coffee"))
    diverged = replay(Graph.from_ir(changed), store.history("t1"), "t1")
    assert not diverged.compatible
    assert [d.kind for d in diverged.divergences] == ["once"]


def test_a_deadline_inside_the_child_fires_on_a_tick_of_the_parent() -> None:
    clock = FakeClock()
    child = with_clauses(drafting_doc(), "review", "decision", within={"ms": HOUR, "answer": lit(APPROVE)})
    store = MemoryStore()
    graph = Graph.from_ir(with_children(_parent(), drafting=child), store=store, clock=clock)
    run = graph.invoke({"topic": "tea"}, thread="t1")
    assert run.interrupts[0].deadline_at is not None
    assert graph.tick().fired == []
    clock.advance(HOUR)
    report = graph.tick()
    assert [f["thread"] for f in report.fired] == ["t1"]
    run = graph.state("t1")
    assert run is not None and run.status == "done" and run.state["article"] == "tea draft 1"
    answered = [a for c in graph.history(CHILD) for a in c.answered]
    assert [a["by"] for a in answered] == ["fermata:deadline"]


def test_stream_and_submit_with_a_worker_drive_children_too() -> None:
    from fermata.runtime.worker import Worker

    store = MemoryStore()
    graph = newsletter(store)
    events = list(graph.stream({"topic": "tea"}, thread="t1"))
    assert events[-1]["event"] == "interrupt"
    assert [i["id"] for i in events[-1]["interrupts"]] == ["compose/review:decision"]
    graph.submit(Command(resume={"compose/review:decision": APPROVE}), thread="t1")
    worker = Worker([graph])
    worker.run_once()
    run = graph.state("t1")
    assert run is not None and run.status == "done"


def test_a_loop_runs_a_new_child_each_pass() -> None:
    parent = flow("looper", fields=[fld("n", INT, 0), fld("drafts", LIST(STR), [])],
                  nodes=[node("again", run_("drafting", rec(topic=tmpl("round {{ n }}")), bind="r"),
                              set_("n", add(F("n"), lit(1))), append("drafts", lst(get(L("r"), "draft"))))],
                  edges={"start": ["again"], "again": [(["again"], bin_("<", F("n"), lit(2))), (["end"], None)]},
                  input=[])
    store = MemoryStore()
    graph = Graph.from_ir(with_children(parent, drafting=drafting_doc()), store=store)
    graph.invoke({}, thread="L")
    graph.invoke(Command(resume=APPROVE), thread="L")
    run = graph.invoke(Command(resume=APPROVE), thread="L")
    assert run.status == "done" and run.state["drafts"] == ["round 0 draft 1", "round 1 draft 1"]
    assert sorted(r.thread for r in store.list_runs() if r.thread != "L") == ["L/1/again#0", "L/2/again#0"]


def test_the_drafting_example_runs_as_a_child() -> None:
    from fermata.compiler import load
    from tests.runtime.support import EXAMPLES

    child = load(str(EXAMPLES / "drafting.flow")).ir
    graph = Graph.from_ir(with_children(_parent(), drafting=child), store=MemoryStore())
    run = graph.invoke({"topic": "tea"}, thread="t1")
    assert [(i.id, i.payload) for i in run.interrupts] == [("compose/review:decision", "Approve tea draft 1?")]
    run = graph.invoke(Command(resume=REVISE), thread="t1")
    run = graph.invoke(Command(resume=APPROVE), thread="t1")
    assert run.status == "done" and run.state["article"] == "tea draft 2" and run.state["rounds"] == 2


def test_fork_of_a_parent_whose_child_failed_forks_the_failed_child() -> None:
    child = flow("drafting", fields=[fld("topic", STR), fld("draft", STR, ""), fld("rounds", INT, 0)],
                 nodes=[node("write", call("tests.runtime.calls_fixture:flaky", lit("svc")),
                             set_("draft", lit("ok")))],
                 edges={"start": ["write"], "write": ["end"]}, input=["topic"], output=["draft", "rounds"])
    store = MemoryStore()
    graph = Graph.from_ir(with_children(_parent(), drafting=child), store=store)
    fx.FLAKY["svc"] = 1
    failed = graph.invoke({"topic": "tea"}, thread="t1")
    assert failed.status == "failed"
    graph.fork("t1", failed.checkpoint_id, thread="t2")
    assert store.latest("t2/1/compose#0").status == "failed"  # type: ignore[union-attr]
    run = graph.invoke(None, thread="t2")
    assert run.status == "done" and run.state["article"] == "ok"
    assert store.latest(CHILD).status == "failed"  # type: ignore[union-attr]


def test_a_changed_parent_spec_may_go_on_while_its_child_is_paused() -> None:
    from fermata.runtime import SpecChangedError

    store = MemoryStore()
    newsletter(store).invoke({"topic": "tea"}, thread="t1")
    changed = newsletter_doc()
    changed["flows"]["newsletter"]["nodes"]["publish"]["steps"].append(set_("rounds", lit(99)))
    run = Graph.from_ir(changed, store=store).invoke(Command(resume=APPROVE), thread="t1")
    assert run.status == "done" and run.state["rounds"] == 99
    newsletter(store).invoke({"topic": "jam"}, thread="t3")
    dropped = newsletter_doc()
    del dropped["flows"]["newsletter"]["children"]
    dropped["flows"]["newsletter"]["nodes"]["compose"]["steps"] = [set_("article", lit("none"))]
    with pytest.raises(SpecChangedError, match="no longer runs"):
        Graph.from_ir(dropped, store=store).invoke(None, thread="t3")
    with pytest.raises(ResumeError, match="no longer carries"):
        Graph.from_ir(dropped, store=store).invoke(Command(resume=APPROVE), thread="t3")


def test_a_reminder_and_a_timer_inside_the_child_fire_on_ticks_of_the_parent() -> None:
    from tests.runtime.clauses import MINUTE, wait

    clock = FakeClock()
    child = with_clauses(drafting_doc(), "review", "decision", remind_every_ms=10 * MINUTE)
    child["flows"]["drafting"]["nodes"]["write"]["steps"].insert(0, wait("cool", for_ms=MINUTE))
    store = MemoryStore()
    graph = Graph.from_ir(with_children(_parent(), drafting=child), store=store, clock=clock)
    run = graph.invoke({"topic": "tea"}, thread="t1")
    assert [(i.id, i.timing.get("kind")) for i in run.interrupts] == [("compose/write:cool", "wait")]
    clock.advance(MINUTE)
    assert [f["thread"] for f in graph.tick().fired] == ["t1"]
    run = graph.state("t1")
    assert run is not None and [i.id for i in run.interrupts] == ["compose/review:decision"]
    clock.advance(10 * MINUTE)
    graph.tick()
    assert graph.tick().fired == []          # once per period
    reminders = [e for e in store.outbox() if e["event"] == "interrupt.reminder"]
    assert [(e["thread"], e["payload"]["id"]) for e in reminders] == [(CHILD, "review:decision")]
    run = graph.state("t1")
    assert run is not None and run.interrupts[0].timing["reminded"] == 1
    assert graph.invoke(Command(resume=APPROVE), thread="t1").status == "done"


def test_two_children_then_a_question_of_the_node_itself() -> None:
    parent = flow("pair", fields=[fld("joined", STR, "")],
                  nodes=[node("both", run_("drafting", rec(topic=lit("a")), bind="r1"),
                              run_("drafting", rec(topic=lit("b")), bind="r2"),
                              interrupt("final", tmpl("{{ r1.draft }} + {{ r2.draft }}?"), BOOL, bind="ok"),
                              set_("joined", tmpl("{{ r1.draft }} + {{ r2.draft }}: {{ ok }}")))],
                  edges={"start": ["both"], "both": ["end"]}, input=[])
    store = MemoryStore()
    graph = Graph.from_ir(with_children(parent, drafting=drafting_doc()), store=store)
    run = graph.invoke({}, thread="p")
    assert [i.child_thread for i in run.interrupts] == ["p/1/both#0"]
    run = graph.invoke(Command(resume=APPROVE), thread="p")
    assert [(i.id, i.child_thread) for i in run.interrupts] == [("both/review:decision", "p/1/both#1")]
    run = graph.invoke(Command(resume=APPROVE), thread="p")
    assert [(i.id, i.payload, i.child_thread) for i in run.interrupts] == [
        ("both:final", "a draft 1 + b draft 1?", None)]
    run = graph.invoke(Command(resume=True), thread="p")
    assert run.status == "done" and run.state["joined"] == "a draft 1 + b draft 1: true"
    assert [c.step for c in store.history("p/1/both#0")].count(0) == 1


def test_an_answer_given_meanwhile_on_the_child_thread_refuses_the_parents_stale_one() -> None:
    store = MemoryStore()
    graph = newsletter(store)
    run = graph.invoke({"topic": "tea"}, thread="t1")
    stale = run.interrupts[0].token
    drafting(store).invoke(Command(resume=REVISE), thread=CHILD)     # someone answered the child directly
    parent_rows = store.rows("t1")
    with pytest.raises(ResumeError, match="stale"):
        graph.invoke(Command(resume={stale: APPROVE}), thread="t1")
    assert store.rows("t1") == parent_rows
    run = graph.invoke(None, thread="t1")                             # the parent catches up
    assert run.interrupts[0].payload == "Approve tea draft 2?"
