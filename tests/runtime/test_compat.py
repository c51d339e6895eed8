"""One compatibility check, shared by a resume (``Graph``) and ``replay``."""

from __future__ import annotations

import copy

import pytest
from fermata.runtime import Command, SpecChangedError
from fermata.runtime.compat import incompatibilities
from fermata.runtime.replay import static_problems

from tests.runtime.irbuild import (
    BOOL,
    FLOAT,
    LIST,
    STR,
    F,
    append,
    fld,
    flow,
    interrupt,
    lit,
    lst,
    make_graph,
    node,
)


def reviewed(*, before: list[str] = ()) -> dict:  # type: ignore[assignment]
    return flow("refund",
                fields=[fld("amount", FLOAT), fld("approved", BOOL, False), fld("log", LIST(STR), [])],
                nodes=[node("review", interrupt("approval", None, BOOL, bind="ok"), append("log", lst(lit("r")))),
                       node("pay", append("log", lst(lit("paid"))))],
                edges={"start": ["review"], "review": [(["pay"], F("approved")), (["end"], None)],
                       "pay": ["end"]},
                before=before, input=["amount"])


def test_a_resume_refuses_exactly_what_replay_reports_as_blocking(store) -> None:
    old = reviewed()
    make_graph(old, store).invoke({"amount": 1.0}, thread="t")
    new = copy.deepcopy(old)
    new["flows"]["refund"]["nodes"]["review"]["steps"][0]["label"] = "sign_off"
    changed = make_graph(new, store)
    latest = store.latest("t")
    blocking = [p.message for p in incompatibilities(changed.compiled, latest) if p.blocks_resume]
    assert blocking == [("pending interrupt `review:approval` no longer exists "
                        "(node `review` has no interrupt `approval`)")]
    assert [d.message for d in static_problems(changed.compiled, latest)] == blocking
    with pytest.raises(SpecChangedError) as refused:
        changed.invoke(Command(resume=True), thread="t")
    assert str(refused.value).endswith("  - " + blocking[0])


def test_a_static_pause_no_longer_declared_is_reported_by_replay_but_passed_by_a_resume(store) -> None:
    old = reviewed(before=["review"])
    make_graph(old, store).invoke({"amount": 1.0}, thread="t")
    assert store.latest("t").pending[0]["id"] == "review:before"
    new = make_graph(reviewed(), store)
    problems = incompatibilities(new.compiled, store.latest("t"))
    assert [(p.node, p.message, p.blocks_resume) for p in problems] == [
        ("review", "pending `interrupt before review` is no longer declared", False)]
    assert [d.kind for d in static_problems(new.compiled, store.latest("t"))] == ["removed"]
    run = new.invoke(None, thread="t")
    assert run.status == "interrupted" and [i.id for i in run.interrupts] == ["review:approval"]
