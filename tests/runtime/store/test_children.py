"""Child runs on every store backend (memory, SQLite, PostgreSQL): the child
thread, the inbox listing its question once (on the parent), refused
answers changing nothing, due deadlines found through the parent, and a
run continued from another handle on the store (another process)."""

from __future__ import annotations

from collections.abc import Callable

from fermata.runtime import Command, Graph, ResumeError
from fermata.runtime.checkpoint import Store
from fermata.runtime.clock import FakeClock, format_time
from tests.runtime.children_ir import drafting_doc, newsletter_doc, with_children
from tests.runtime.clauses import HOUR, with_clauses
from tests.runtime.irbuild import lit

CHILD = "t1/1/compose#0"
APPROVE = {"approve": True}


def test_a_child_run_pauses_answers_and_finishes(make_store: Callable[..., Store]) -> None:
    store = make_store()
    graph = Graph.from_ir(newsletter_doc(), store=store)
    run = graph.invoke({"topic": "tea"}, thread="t1")
    assert [i.id for i in run.interrupts] == ["compose/review:decision"]
    runs = {r.thread: (r.flow, r.status) for r in store.list_runs()}
    assert runs == {"t1": ("newsletter", "interrupted"), CHILD: ("drafting", "interrupted")}
    # The inbox: once, on the parent (where answering continues both runs).
    assert [(p.thread, p.id) for p in store.pending_interrupts()] == [("t1", "compose/review:decision")]
    before = (store.rows("t1"), store.rows(CHILD))
    try:
        graph.invoke(Command(resume={"approve": "no"}), thread="t1")
        raise AssertionError("a bad answer was accepted")
    except ResumeError:
        pass
    assert (store.rows("t1"), store.rows(CHILD)) == before
    run = graph.invoke(Command(resume=APPROVE), thread="t1")
    assert run.status == "done" and run.state["article"] == "tea draft 1"
    assert store.pending_interrupts() == []
    assert {r.thread: r.status for r in store.list_runs()} == {"t1": "done", CHILD: "done"}


def test_another_process_answers_and_the_child_continues(shared_store: Callable[[], Store]) -> None:
    first = Graph.from_ir(newsletter_doc(), store=shared_store())
    first.invoke({"topic": "tea"}, thread="t1")
    second = Graph.from_ir(newsletter_doc(), store=shared_store())
    run = second.invoke(Command(resume={"compose/review:decision": {"approve": False}}), thread="t1")
    assert run.interrupts[0].payload == "Approve tea draft 2?"
    run = first.invoke(Command(resume=APPROVE), thread="t1")
    assert run.status == "done" and run.state["rounds"] == 2


def test_a_childs_deadline_is_due_on_the_parent_only(make_store: Callable[..., Store]) -> None:
    clock = FakeClock()
    child = with_clauses(drafting_doc(), "review", "decision", within={"ms": HOUR, "answer": lit(APPROVE)})
    doc = with_children(newsletter_doc(), drafting=child)
    store = make_store()
    graph = Graph.from_ir(doc, store=store, clock=clock)
    graph.invoke({"topic": "tea"}, thread="t1")
    due = store.due(format_time(clock() + HOUR))
    assert [(row.thread, row.id) for row in due] == [("t1", "compose/review:decision")]
    clock.advance(HOUR)
    assert [f["thread"] for f in graph.tick().fired] == ["t1"]
    assert graph.state("t1").status == "done"  # type: ignore[union-attr]
    assert store.due(format_time(clock() + HOUR)) == []


def test_the_outbox_announces_a_childs_question_once(make_store: Callable[..., Store]) -> None:
    store = make_store()
    Graph.from_ir(newsletter_doc(), store=store).invoke({"topic": "tea"}, thread="t1")
    created = [(e["thread"], e["payload"]["id"]) for e in store.outbox() if e["event"] == "interrupt.created"]
    assert created == [("t1", "compose/review:decision")]
