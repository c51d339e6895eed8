"""Answers with who and when, `to`, `where`, and the audit trail (SEMANTICS.md,
"Version 2 additions": Answers). Deadlines and timers: test_ticking.py."""

from __future__ import annotations

from typing import Any

import pytest

from fermata.runtime import Command, ResumeError
from fermata.runtime.clock import FakeClock
from fermata.runtime.store.memory import MemoryStore
from tests.runtime.clauses import HOUR, MINUTE, approval_flow, with_clauses
from tests.runtime.irbuild import F, L, bin_, get, lit, make_graph

WHERE = {"cond": bin_("or", get(L("d"), "approved"), bin_("!=", get(L("d"), "comment"), lit(None))),
         "message": "a rejection needs a comment"}


def graph_of(doc: dict[str, Any], clock: FakeClock | None = None) -> Any:
    return make_graph(doc, MemoryStore(), clock=clock or FakeClock())


def stored(graph: Any, thread: str) -> list[tuple[str, str]]:
    return graph.store.rows(thread)


def test_a_pending_interrupt_records_when_it_was_first_asked() -> None:
    clock = FakeClock("2026-03-01T09:00:00.000Z")
    graph = graph_of(approval_flow(parallel=True), clock)
    run = graph.invoke({"amount": 5.0}, thread="t")
    assert {i.id: i.asked_at for i in run.interrupts} == {
        "review:approval": "2026-03-01T09:00:00.000Z", "second:check": "2026-03-01T09:00:00.000Z"}
    clock.advance(90 * MINUTE)
    # Answering one re-runs the other node, which reaches its question again:
    # it was asked at 09:00, not now.
    run = graph.invoke(Command(resume={"second:check": True}), thread="t")
    assert [(i.id, i.asked_at) for i in run.interrupts] == [("review:approval", "2026-03-01T09:00:00.000Z")]


def test_an_answer_records_who_gave_it_and_when_even_without_to() -> None:
    clock = FakeClock("2026-03-01T09:00:00.000Z")
    graph = graph_of(approval_flow(), clock)
    graph.invoke({"amount": 5.0}, thread="t")
    clock.set("2026-03-01T10:30:00.250Z")
    run = graph.invoke(Command(resume={"approved": True}, by="alice"), thread="t")
    assert run.status == "done"
    answered = [a for snap in graph.history("t") for a in snap.answered]
    assert answered == [{"id": "review:approval", "token": answered[0]["token"], "by": "alice",
                         "at": "2026-03-01T10:30:00.250Z", "value": {"approved": True}}]


def test_to_refuses_an_identity_outside_it_and_stores_nothing() -> None:
    doc = with_clauses(approval_flow(), "review", "approval", to=[lit("finance"), F("requester")])
    graph = graph_of(doc)
    run = graph.invoke({"amount": 5.0, "requester": "carol"}, thread="t")
    assert run.interrupts[0].to == ["finance", "carol"]
    before = stored(graph, "t")
    for by, roles in (("mallory", ()), (None, ()), ("mallory", ("viewer",))):
        with pytest.raises(ResumeError, match="assigned to 'finance', 'carol'"):
            graph.invoke(Command(resume={"approved": True}, by=by, roles=roles), thread="t")
        assert stored(graph, "t") == before
    # A listed user, or someone holding a listed role, may answer.
    assert graph.invoke(Command(resume={"approved": True}, by="dave", roles=["finance"]),
                        thread="t").status == "done"
    run2 = graph.invoke({"amount": 1.0, "requester": "carol"}, thread="t2")
    assert run2.status == "interrupted"
    assert graph.invoke(Command(resume={"approved": False, "comment": "no"}, by="carol"), thread="t2").status == "done"


def test_to_must_evaluate_to_strings() -> None:
    doc = with_clauses(approval_flow(), "review", "approval", to=[F("amount")])
    run = graph_of(doc).invoke({"amount": 5.0}, thread="t")
    assert run.status == "failed" and "`to` must give a str or a list[str]" in run.error["message"]


def test_a_where_rule_refuses_an_answer_with_its_message_before_anything_is_stored() -> None:
    doc = with_clauses(approval_flow(), "review", "approval", where=WHERE)
    graph = graph_of(doc)
    graph.invoke({"amount": 5.0}, thread="t")
    before = stored(graph, "t")
    with pytest.raises(ResumeError, match="a rejection needs a comment") as refused:
        graph.invoke(Command(resume={"approved": False}), thread="t")
    assert refused.value.problems == ["`review:approval`: a rejection needs a comment"]
    assert stored(graph, "t") == before
    # Every schema violation is still reported (the rule is checked on well-typed answers only).
    with pytest.raises(ResumeError) as wrong:
        graph.invoke(Command(resume={"approved": "no", "extra": 1}), thread="t")
    assert len(wrong.value.problems) >= 2 and "comment" not in str(wrong.value)
    assert stored(graph, "t") == before
    run = graph.invoke(Command(resume={"approved": False, "comment": "too much"}), thread="t")
    assert run.status == "done" and run.state["approved"] is False


def test_a_where_rule_sees_the_state() -> None:
    rule = {"cond": bin_("or", get(L("d"), "approved"), bin_("<", F("amount"), lit(100))), "message": None}
    graph = graph_of(with_clauses(approval_flow(), "review", "approval", where=rule))
    graph.invoke({"amount": 500.0}, thread="big")
    with pytest.raises(ResumeError, match="breaks the interrupt's `where` rule"):
        graph.invoke(Command(resume={"approved": False}), thread="big")
    graph.invoke({"amount": 5.0}, thread="small")
    assert graph.invoke(Command(resume={"approved": False}), thread="small").status == "done"


def test_a_where_rule_that_cannot_be_evaluated_refuses_the_answer() -> None:
    rule = {"cond": bin_(">", get(L("d"), "comment"), lit(3)), "message": "m"}
    graph = graph_of(with_clauses(approval_flow(), "review", "approval", where=rule))
    graph.invoke({"amount": 5.0}, thread="t")
    with pytest.raises(ResumeError, match="could not be checked"):
        graph.invoke(Command(resume={"approved": True}), thread="t")


def test_by_must_be_a_string() -> None:
    graph = graph_of(approval_flow())
    graph.invoke({"amount": 5.0}, thread="t")
    with pytest.raises(ResumeError, match="identity string"):
        graph.invoke(Command(resume={"approved": True}, by=7), thread="t")  # type: ignore[arg-type]


def test_the_audit_trail_lists_questions_and_answers() -> None:
    clock = FakeClock("2026-03-01T09:00:00.000Z")
    doc = with_clauses(approval_flow(), "review", "approval", to=[lit("finance")],
                       within={"ms": 2 * HOUR, "goto": "escalate"}, remind_every_ms=HOUR)
    graph = graph_of(doc, clock)
    graph.invoke({"amount": 5.0}, thread="t")
    clock.advance(10 * MINUTE)
    graph.invoke(Command(resume={"approved": True}, by="erin", roles=["finance"]), thread="t")
    trail = graph.audit("t")
    assert [(e["what"], e["id"], e["at"]) for e in trail] == [
        ("asked", "review:approval", "2026-03-01T09:00:00.000Z"),
        ("answered", "review:approval", "2026-03-01T09:10:00.000Z")]
    assert trail[0]["to"] == ["finance"] and trail[0]["deadline_at"] == "2026-03-01T11:00:00.000Z"
    assert trail[0]["deadline"] == {"goto": "escalate"} and trail[0]["remind_every_ms"] == HOUR
    assert trail[1]["by"] == "erin" and trail[1]["value"] == {"approved": True}
