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


# ------------------------------------------------------------ deadlines (human-task clauses)


def with_deadline(within: dict | None, to: list | None = None, escalate: bool = True) -> dict:  # type: ignore[type-arg]
    """`reviewed()` whose interrupt has a deadline `within` (and `to`), with a
    node `escalate` unless ``escalate`` is False."""
    doc = reviewed()
    flow_ir = doc["flows"]["refund"]
    step = flow_ir["nodes"]["review"]["steps"][0]
    if within is not None:
        step["within"] = within
    if to is not None:
        step["to"] = to
    if escalate:
        flow_ir["nodes"]["escalate"] = node("escalate", append("log", lst(lit("escalated"))))
        flow_ir["routes"]["escalate"] = {"branches": [{"when": None, "targets": ["end"], "line": 1}]}
    return doc


def paused_with_deadline(store, deadline_at: str | None, thread: str = "t") -> object:  # type: ignore[no-untyped-def]
    """The paused run's checkpoint, its pending interrupt carrying the
    `deadline_at` the runtime records when the deadline is armed."""
    make_graph(with_deadline({"ms": 172_800_000, "goto": "escalate"}, [lit("finance")]), store).invoke(
        {"amount": 1.0}, thread=thread)
    latest = copy.deepcopy(store.latest(thread))
    if deadline_at is not None:
        latest.pending[0]["deadline_at"] = deadline_at
    else:   # as a run paused before deadlines existed records it
        latest.pending[0].pop("deadline_at", None)
        latest.pending[0].pop("deadline", None)
    return latest


def test_a_changed_deadline_duration_target_or_assignee_is_compatible(store) -> None:
    latest = paused_with_deadline(store, "2026-12-06T05:00:00.000Z")
    for within, to in [({"ms": 86_400_000, "goto": "escalate"}, [lit("finance")]),
                       ({"ms": 172_800_000, "goto": "end"}, [lit("ops"), F("log")]),
                       ({"ms": 3_600_000, "answer": lit(False)}, None)]:
        changed = make_graph(with_deadline(within, to), store)
        assert incompatibilities(changed.compiled, latest) == []  # type: ignore[arg-type]


def test_an_armed_deadline_whose_target_was_removed_is_not_compatible(store) -> None:
    latest = paused_with_deadline(store, "2026-12-06T05:00:00.000Z")
    removed = make_graph(with_deadline(None, escalate=False), store)
    problems = incompatibilities(removed.compiled, latest)  # type: ignore[arg-type]
    # The deadline recorded when the run paused stands (runtime/timers.py):
    # it would send the run to a node that is gone.
    assert [(p.node, p.message, p.blocks_resume) for p in problems] == [
        ("review", ("the deadline of pending interrupt `review:approval` goes to node `escalate`, "
                    "which no longer exists"), True)]
    # Without an armed deadline (a run paused before deadlines existed), nothing is lost.
    assert incompatibilities(removed.compiled, paused_with_deadline(store, None, "t2")) == []  # type: ignore[arg-type]
