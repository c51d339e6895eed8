"""The human-task clauses end to end: written in a `.flow` file, checked and
lowered by the compiler, run by the runtime (the other runtime tests inject
the IR; these hold the two halves to one contract)."""

from __future__ import annotations

import re

import pytest

from fermata.compiler import load
from fermata.runtime import Command, ResumeError
from fermata.runtime.clock import FakeClock

SPEC = """
type Decision = {approved: bool, comment: str?}

flow t {
    state {
        approved: bool = false
        log: list[str] = []
    }

    node ask {
        let d = interrupt approval "Approve?" expect Decision
            where d.approved or d.comment != null "a rejection needs a comment"
            to "finance"
            within 48h -> escalate
            remind every 12h
        set approved = d.approved
    }

    node escalate {
        set log += ["escalated"]
        wait cool for 1h
        set log += ["cooled"]
    }

    node quick {
        let d = interrupt q "Quick?" expect bool within 1h -> end
        set approved = d
    }

    node auto {
        let d = interrupt late "Late?" expect Decision within 2h answer {approved: false, comment: "expired"}
        set log += ["auto {{ d.comment }}"]
    }

    start -> ask
    ask -> quick when approved
    ask -> auto otherwise
    escalate -> end
    quick -> end
    auto -> end
}
"""
HOUR = 3_600_000


@pytest.fixture
def flow(tmp_path):  # type: ignore[no-untyped-def]
    (tmp_path / "t.flow").write_text(SPEC, encoding="utf-8")
    clock = FakeClock("2026-12-01T09:00:00.000Z")
    return load(tmp_path / "t.flow", clock=clock), clock


def test_what_the_source_declares_is_recorded_and_enforced(flow) -> None:  # type: ignore[no-untyped-def]
    flow, _clock = flow
    run = flow.invoke({}, thread="a")
    [asked] = run.interrupts
    assert (asked.id, asked.asked_at, asked.to, asked.deadline_at) == (
        "ask:approval", "2026-12-01T09:00:00.000Z", ["finance"], "2026-12-03T09:00:00.000Z")
    before = flow.store.rows("a")
    with pytest.raises(ResumeError, match="a rejection needs a comment"):
        flow.invoke(Command(resume={"approved": False}, by="ann", roles=["finance"]), thread="a")
    with pytest.raises(ResumeError, match="may not answer"):
        flow.invoke(Command(resume={"approved": True}, by="mallory"), thread="a")
    assert flow.store.rows("a") == before


def test_a_deadline_goes_to_its_node_and_a_wait_resumes_by_itself(flow) -> None:  # type: ignore[no-untyped-def]
    flow, clock = flow
    flow.invoke({}, thread="a")
    clock.advance(49 * HOUR)
    flow.tick()
    waiting = flow.state("a")
    assert [i.id for i in waiting.interrupts] == ["escalate:cool"]
    with pytest.raises(ResumeError, match=re.escape("expired at 2026-12-03T09:00:00.000Z")):
        flow.invoke(Command(resume={"ask:approval": {"approved": True}}, by="ann", roles=["finance"]),
                    thread="a")
    clock.advance(2 * HOUR)
    flow.tick()
    done = flow.state("a")
    assert (done.status, done.state["log"]) == ("done", ["escalated", "cooled"])


def test_a_deadline_to_end_finishes_the_run(flow) -> None:  # type: ignore[no-untyped-def]
    flow, clock = flow
    flow.invoke({}, thread="b")
    run = flow.invoke(Command(resume={"approved": True}, by="ann", roles=["finance"]), thread="b")
    assert [i.id for i in run.interrupts] == ["quick:q"]
    clock.advance(2 * HOUR)
    flow.tick()
    assert flow.state("b").status == "done"


def test_a_deadline_answer_resumes_the_node_as_if_answered(flow) -> None:  # type: ignore[no-untyped-def]
    flow, clock = flow
    flow.invoke({}, thread="c")
    run = flow.invoke(Command(resume={"approved": False, "comment": "no"}, by="ann", roles=["finance"]),
                      thread="c")
    assert [i.id for i in run.interrupts] == ["auto:late"]
    clock.advance(3 * HOUR)
    flow.tick()
    done = flow.state("c")
    assert (done.status, done.state["log"]) == ("done", ["auto expired"])
