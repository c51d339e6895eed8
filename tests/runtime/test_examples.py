"""The shipped examples, end to end.

``refund`` is also written here by hand as IR (as ``compiler/lower/lowering.py``
lowers it), so the runtime's side is tested even before the compiler is
importable; the ``.flow`` files themselves run once it is.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from fermata.runtime import Command, Graph
from tests.runtime.irbuild import (
    BOOL,
    FLOAT,
    LIST,
    OPT,
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
    interrupt,
    lit,
    lst,
    make_graph,
    node,
    set_,
    tmpl,
)
from tests.runtime.support import EXAMPLES, example_ir

pytestmark = pytest.mark.usefixtures("example_packages")


def refund_ir() -> dict[str, Any]:
    decision = {"$ref": "#/$defs/Decision"}
    return flow(
        "refund",
        fields=[fld("amount", FLOAT), fld("reason", STR, ""), fld("risk", FLOAT, 0.0),
                fld("approved", BOOL, False), fld("log", LIST(STR), []),
                fld("decision", OPT(decision), optional=True)],
        input=["amount", "reason"], output=["approved", "log"],
        defs={"Decision": RECORD({"approved": BOOL}, {"comment": STR})},
        nodes=[
            node("assess", call("refunds.logic:score", F("amount"), F("reason"), bind="r", line=20),
                 set_("risk", L("r"), check=True, line=21), append("log", lst(tmpl("risk {{ risk }}")), line=22),
                 line=19),
            node("review",
                 interrupt("approval", tmpl("Approve a refund of {{ amount }} (risk {{ risk }})?"), decision,
                           bind="d", line=27),
                 set_("decision", L("d"), line=28), set_("approved", get(L("d"), "approved"), line=29),
                 append("log", lst(lit("reviewed")), line=30), line=25),
            node("pay", call("refunds.logic:pay", F("amount"), once=True, line=34),
                 append("log", lst(tmpl("paid {{ amount }}")), line=35),
                 retry=3, backoff_ms=1000, timeout_ms=30000, line=33),
            node("reject", append("log", lst(lit("rejected"))), line=38),
        ],
        edges={"start": ["assess"],
               "assess": [(["review"], bin_("or", bin_(">", F("risk"), lit(0.5)), bin_(">", F("amount"), lit(100)))),
                          (["pay"], None)],
               "review": [(["pay"], F("approved")), (["reject"], None)],
               "pay": ["end"], "reject": ["end"]},
        before=["pay"])


def refund_scenario(graph: Graph) -> None:
    from refunds import logic

    paid = len(logic.PAYMENTS)
    run = graph.invoke({"amount": 250, "reason": "parcel never arrived"}, thread="r1")
    assert run.status == "interrupted"
    (approval,) = run.interrupts
    assert approval.id == "review:approval"
    assert approval.payload == "Approve a refund of 250 (risk 0.65)?"
    run = graph.invoke(Command(resume={"approved": True, "comment": "looks fine"}), thread="r1")
    assert [i.id for i in run.interrupts] == ["pay:before"]
    run = graph.invoke(None, thread="r1")
    assert run.status == "done"
    assert run.output == {"approved": True, "log": ["risk 0.65", "reviewed", "paid 250"]}
    assert run.state["decision"] == {"approved": True, "comment": "looks fine"}
    assert len(logic.PAYMENTS) == paid + 1

    small = graph.invoke({"amount": 20}, thread="r2")  # low risk: straight to `interrupt before pay`
    assert [i.id for i in small.interrupts] == ["pay:before"]
    assert graph.invoke(None, thread="r2").output == {"approved": False, "log": ["risk 0.02", "paid 20"]}


def test_refund_by_hand_written_ir(store) -> None:
    refund_scenario(make_graph(refund_ir(), store))


def _compiled(name: str, store: Any) -> Graph:
    ir = example_ir(name)
    return Graph.from_ir(ir, store=store, validate=True, source=f"examples/{name}.flow")


def test_refund_flow(store) -> None:
    refund_scenario(_compiled("refund", store))


def test_document_review_flow(store) -> None:
    graph = _compiled("document_review", store)
    run = graph.invoke({"title": "Q3", "body": "numbers went up " * 10}, thread="d")
    (editor,) = run.interrupts
    assert editor.id == "review:editor" and editor.payload["title"] == "Q3"
    run = graph.invoke(Command(resume={"approved": True, "notes": "tighten"}), thread="d")
    assert [i.id for i in run.interrupts] == ["review:legal"]
    run = graph.invoke(Command(resume={"verdict": "approve"}), thread="d")
    assert run.status == "done"
    assert run.output["verdict"] == "approve" and run.output["editor_notes"] == "tighten"
    assert run.output["history"] == ["summarized", "legal: approve", "published"]


def test_research_flow(store) -> None:
    graph = _compiled("research", store)
    run = graph.invoke({"question": "why?"}, thread="q")
    (pick,) = run.interrupts
    assert pick.id == "synthesize:pick_angle" and len(pick.payload["web"]) == 3
    run = graph.invoke(Command(resume="practical"), thread="q")
    assert run.status == "done" and run.output["angle"] == "practical"
    assert run.output["notes"][:3] == ["question: why?", "papers: 2 hits", "web: 3 hits"]


def test_revise_flow(store) -> None:
    graph = _compiled("revise", store)
    run = graph.invoke({"topic": "tea", "max_rounds": 2}, thread="v")
    run = graph.invoke(Command(resume={"accepted": False, "comments": "shorter"}), thread="v")
    assert run.interrupts[0].payload.startswith("Round 2 of 2: Draft 2 on tea (addresses: shorter)")
    run = graph.invoke(Command(resume={"accepted": False}), thread="v")
    assert run.status == "failed" and run.error["message"] == "no draft accepted after 2 rounds"
    assert run.error["kind"] == "fail" and run.error["node"] == "give_up"


def test_moderation_flow(store) -> None:
    graph = _compiled("moderation", store)
    posts = [{"id": "p1", "text": "hello"}, {"id": "p2", "text": "Free offer"},
             {"id": "p3", "text": "buy spam"}, {"id": "p4", "text": "click here, winner"},
             {"id": "p5", "text": "limited offer"}]
    run = graph.invoke({"posts": posts}, thread="m")
    assert [(i.id, i.payload["text"]) for i in run.interrupts] == [
        ("review[p2]:verdict", "Free offer"), ("review[p4]:verdict", "click here, winner"),
        ("review[p5]:verdict", "limited offer")]
    run = graph.invoke(Command(resume={"review[p4]:verdict": {"keep": False}}), thread="m")
    assert [i.id for i in run.interrupts] == ["review[p2]:verdict", "review[p5]:verdict"]
    run = graph.invoke(Command(resume={"review[p2]:verdict": {"keep": True},
                                       "review[p5]:verdict": {"keep": True, "note": "fine"}}), thread="m")
    assert run.status == "done"
    assert run.output == {"kept": ["p1", "p2", "p5"], "removed": ["p3", "p4"], "published": 3}


def test_moderation_without_uncertain_posts_publishes_at_once(store) -> None:
    run = _compiled("moderation", store).invoke({"posts": [{"id": "p1", "text": "hi"}]}, thread="m")
    assert run.status == "done" and run.output == {"kept": ["p1"], "removed": [], "published": 1}


def test_examples_dir_is_importable() -> None:
    assert str(EXAMPLES) in sys.path
