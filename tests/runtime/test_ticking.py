"""Deadlines, reminders and timers fired by `tick` (SEMANTICS.md, "Time")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fermata.runtime import Command, Graph, ResumeError, replay
from fermata.runtime.clock import FakeClock
from fermata.runtime.store.memory import MemoryStore
from fermata.runtime.store.sqlite import SqliteStore
from tests.runtime.clauses import (
    DECISION,
    HOUR,
    MINUTE,
    approval_flow,
    timer_flow,
    with_clauses,
)
from tests.runtime.irbuild import F, lit, make_graph, rec

START = "2026-03-01T09:00:00.000Z"
GOTO = {"ms": 2 * HOUR, "goto": "escalate"}


def graph_of(doc: dict[str, Any], store: Any = None, clock: FakeClock | None = None) -> Any:
    return make_graph(doc, store if store is not None else MemoryStore(), clock=clock or FakeClock(START))


def events(store: Any) -> list[tuple[str, str]]:
    return [(e["thread"], e["event"]) for e in store.outbox(limit=1000)]


def test_nothing_fires_before_the_deadline() -> None:
    clock = FakeClock(START)
    graph = graph_of(with_clauses(approval_flow(), "review", "approval", within=GOTO), clock=clock)
    run = graph.invoke({"amount": 5.0}, thread="t")
    assert run.interrupts[0].deadline_at == "2026-03-01T11:00:00.000Z"
    before = graph.store.rows("t")
    clock.advance(2 * HOUR - 1)
    report = graph.tick()
    assert report.fired == [] and graph.store.rows("t") == before


def test_a_deadline_goto_abandons_the_node_and_runs_its_target() -> None:
    clock = FakeClock(START)
    graph = graph_of(with_clauses(approval_flow(), "review", "approval", within=GOTO), clock=clock)
    graph.invoke({"amount": 5.0}, thread="t")
    clock.advance(3 * HOUR)
    report = graph.tick()
    assert [f["thread"] for f in report.fired] == ["t"] and report.fired[0]["status"] == "done"
    run = graph.state("t")
    # review's writes are discarded; escalate ran in its place.
    assert run.status == "done" and run.state["log"] == ["escalated"] and run.state["approved"] is None
    fired = [f for snap in graph.history("t") for f in snap.fired]
    assert fired == [{"id": "review:approval", "token": fired[0]["token"], "kind": "deadline",
                      "due_at": "2026-03-01T11:00:00.000Z", "fired_at": "2026-03-01T12:00:00.000Z",
                      "goto": "escalate"}]
    assert events(graph.store) == [("t", "interrupt.created"), ("t", "interrupt.expired"), ("t", "run.done")]
    # Ticking again fires nothing: the deadline applied once.
    assert graph.tick().fired == []


def test_an_answer_after_the_deadline_fired_is_refused_as_expired() -> None:
    clock = FakeClock(START)
    graph = graph_of(with_clauses(approval_flow(parallel=True), "review", "approval", within=GOTO), clock=clock)
    run = graph.invoke({"amount": 5.0}, thread="t")
    token = next(i.token for i in run.interrupts if i.id == "review:approval")
    clock.advance(2 * HOUR)
    graph.tick()
    # `second` still waits; escalate joins the frontier once the step completes.
    assert [i.id for i in graph.state("t").interrupts] == ["second:check"]
    before = graph.store.rows("t")
    for resume in ({"review:approval": {"approved": True}}, {token: {"approved": True}}):
        with pytest.raises(ResumeError, match=r"`review:approval` expired at 2026-03-01T11:00:00.000Z"):
            graph.invoke(Command(resume=resume), thread="t")
    assert graph.store.rows("t") == before
    run = graph.invoke(Command(resume={"second:check": True}), thread="t")
    assert run.status == "done" and run.state["log"] == ["checked", "escalated"]
    with pytest.raises(ResumeError, match="expired at"):
        graph.invoke(Command(resume={"approved": True}), thread="t")


def test_an_answer_before_the_deadline_fired_is_accepted() -> None:
    clock = FakeClock(START)
    graph = graph_of(with_clauses(approval_flow(), "review", "approval", within=GOTO), clock=clock)
    graph.invoke({"amount": 5.0}, thread="t")
    clock.advance(5 * HOUR)   # due, but no tick has fired it
    assert graph.invoke(Command(resume={"approved": True}), thread="t").state["log"] == ["reviewed"]
    assert graph.tick().fired == []


def test_a_deadline_answer_is_an_answer_by_fermata_deadline_at_deadline_at() -> None:
    clock = FakeClock(START)
    within = {"ms": HOUR, "answer": rec(approved=lit(False), comment=F("requester"))}
    graph = graph_of(with_clauses(approval_flow(), "review", "approval", within=within), clock=clock)
    graph.invoke({"amount": 5.0, "requester": "zoe"}, thread="t")
    clock.advance(4 * HOUR)
    graph.tick()
    run = graph.state("t")
    assert run.status == "done" and run.state["approved"] is False and run.state["log"] == ["reviewed"]
    answered = [a for snap in graph.history("t") for a in snap.answered]
    assert answered == [{"id": "review:approval", "token": answered[0]["token"], "by": "fermata:deadline",
                         "at": "2026-03-01T10:00:00.000Z", "value": {"approved": False, "comment": "zoe"}}]
    assert [e["what"] for e in graph.audit("t")] == ["asked", "answered", "deadline"]


def test_reminders_emit_events_and_change_no_state() -> None:
    clock = FakeClock(START)
    doc = with_clauses(approval_flow(), "review", "approval", within={"ms": 3 * HOUR + 1, "goto": "escalate"},
                       remind_every_ms=HOUR, to=[lit("finance")])
    graph = graph_of(doc, clock=clock)
    graph.invoke({"amount": 5.0}, thread="t")
    state_before = graph.state("t")
    clock.advance(HOUR)
    assert [f["kind"] for f in graph.tick().fired[0]["fired"]] == ["reminder"]
    assert graph.tick().fired == []             # sent once
    clock.advance(90 * MINUTE)                  # 2.5 h: the second period
    assert [f["reminder"] for f in graph.tick().fired[0]["fired"]] == [2]
    after = graph.state("t")
    assert (after.status, after.state, [i.token for i in after.interrupts]) == \
        (state_before.status, state_before.state, [i.token for i in state_before.interrupts])
    assert after.interrupts[0].asked_at == START
    reminders = [e for e in graph.store.outbox() if e["event"] == "interrupt.reminder"]
    assert [e["payload"]["to"] for e in reminders] == [["finance"], ["finance"]]
    clock.advance(HOUR)                         # 3.5 h: past the deadline, no third reminder
    assert [f["kind"] for f in graph.tick().fired[0]["fired"]] == ["deadline"]
    # The run is still answerable between reminders, and history shows them.
    assert [e["what"] for e in graph.audit("t")] == ["asked", "reminder", "reminder", "deadline"]


def test_a_wait_for_resumes_by_itself_when_due() -> None:
    clock = FakeClock(START)
    graph = graph_of(timer_flow(for_ms=24 * HOUR), clock=clock)
    run = graph.invoke({}, thread="t")
    assert run.status == "interrupted" and run.interrupts[0].id == "cool:cooling_off"
    assert run.interrupts[0].timing["due_at"] == "2026-03-02T09:00:00.000Z"
    with pytest.raises(ResumeError, match="is a timer"):
        graph.invoke(Command(resume=None), thread="t")
    # invoke(None) re-runs the node: it reaches the same timer, still due at the same time.
    assert graph.invoke(None, thread="t").interrupts[0].timing["due_at"] == "2026-03-02T09:00:00.000Z"
    clock.advance(24 * HOUR - 1)
    assert graph.tick().fired == []
    clock.advance(1)
    graph.tick()
    assert graph.state("t").state["log"] == ["before", "after"]
    assert [e["what"] for e in graph.audit("t")] == ["wait", "timer"]
    assert ("t", "timer.fired") in events(graph.store)


def test_a_wait_until_takes_an_iso_time_from_the_state() -> None:
    clock = FakeClock(START)
    graph = graph_of(timer_flow(until=F("when")), clock=clock)
    run = graph.invoke({"when": "2026-03-05T10:00:00+01:00"}, thread="t")
    assert run.interrupts[0].timing["due_at"] == "2026-03-05T09:00:00.000Z"
    bad = graph.invoke({"when": "next tuesday"}, thread="bad")
    assert bad.status == "failed" and "not an ISO 8601 date-time" in bad.error["message"]
    graph.tick(now="2026-03-05T09:00:00Z")
    assert graph.state("t").status == "done"


def test_tick_fires_only_its_own_flows_runs() -> None:
    store = MemoryStore()
    clock = FakeClock(START)
    timers = graph_of(timer_flow(for_ms=HOUR), store, clock)
    approvals = graph_of(with_clauses(approval_flow(), "review", "approval", within=GOTO), store, clock)
    timers.invoke({}, thread="a")
    approvals.invoke({"amount": 1.0}, thread="b")
    clock.advance(5 * HOUR)
    assert [f["thread"] for f in timers.tick().fired] == ["a"]
    assert store.latest("b").status == "interrupted"
    assert [f["thread"] for f in approvals.tick().fired] == ["b"]


def test_a_deadline_that_fired_replays_as_recorded() -> None:
    clock = FakeClock(START)
    doc = with_clauses(approval_flow(parallel=True), "review", "approval", within=GOTO, remind_every_ms=HOUR)
    graph = graph_of(doc, clock=clock)
    graph.invoke({"amount": 5.0}, thread="t")
    clock.advance(HOUR)
    graph.tick()
    clock.advance(HOUR)
    graph.tick()
    graph.invoke(Command(resume={"second:check": True}), thread="t")
    history = graph.store.history("t")
    later = graph_of(with_clauses(approval_flow(parallel=True), "review", "approval",
                                  within={"ms": 5 * HOUR, "goto": "escalate"}))
    result = replay(later, history, thread="t")
    assert result.compatible, result.divergences


def test_a_removed_deadline_target_is_incompatible() -> None:
    clock = FakeClock(START)
    graph = graph_of(with_clauses(approval_flow(), "review", "approval", within=GOTO), clock=clock)
    graph.invoke({"amount": 5.0}, thread="t")
    doc = with_clauses(approval_flow(), "review", "approval", within={"ms": HOUR, "goto": "second"})
    del doc["flows"]["approval"]["nodes"]["escalate"]
    del doc["flows"]["approval"]["routes"]["escalate"]
    changed = make_graph(doc, graph.store, clock=clock)
    result = replay(changed, graph.store.history("t"), thread="t")
    assert not result.compatible and "escalate" in result.divergence.message


def test_two_handles_on_one_sqlite_file_fire_a_deadline_once(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    clock = FakeClock(START)
    doc = with_clauses(approval_flow(), "review", "approval", within=GOTO)
    first = make_graph(doc, SqliteStore(path), clock=clock)
    first.invoke({"amount": 5.0}, thread="t")
    second = make_graph(doc, SqliteStore(path), clock=clock)
    clock.advance(3 * HOUR)
    # Both saw it due; the one that holds the run's lease fires, the other is turned away.
    from fermata.runtime.leases import LeaseKeeper

    held = LeaseKeeper(first.store, "t").take()
    assert second.tick().busy == ["t"]
    held.release()
    assert [f["thread"] for f in second.tick().fired] == ["t"]
    assert first.tick().fired == []
    assert [f["kind"] for snap in first.history("t") for f in snap.fired] == ["deadline"]
    assert [e["event"] for e in first.store.outbox()].count("interrupt.expired") == 1


def test_a_firing_planned_on_a_stale_read_applies_once(tmp_path: Path) -> None:
    """Two processes both read the run as due; the second takes the lease
    after the first fired: it re-reads the run under the lease and finds
    nothing due."""
    path = tmp_path / "runs.db"
    clock = FakeClock(START)
    doc = with_clauses(approval_flow(), "review", "approval", within=GOTO)
    first = make_graph(doc, SqliteStore(path), clock=clock)
    second = make_graph(doc, SqliteStore(path), clock=clock)
    first.invoke({"amount": 5.0}, thread="t")
    clock.advance(3 * HOUR)
    from fermata.runtime.ticking import Tick

    tick = Tick(clock())
    stale, _ = second._leased(tick, "t", 10)    # planned, lease held
    assert stale is not None
    stale.lease.release()
    first.tick()
    engine, lease = second._leased(tick, "t", 10)
    assert engine is None
    lease.release()
    assert len(first.store.history("t")) == len(second.store.history("t"))


def test_tick_reads_only_due_runs(tmp_path: Path) -> None:
    """The due index finds the due run: no other run's checkpoints are decoded."""
    clock = FakeClock(START)
    decoded: list[str] = []

    class Counting(SqliteStore):
        def _rows_latest(self, thread: str) -> Any:
            decoded.append(thread)
            return super()._rows_latest(thread)

    store = Counting(tmp_path / "runs.db")
    graph = make_graph(with_clauses(approval_flow(), "review", "approval", within=GOTO), store, clock=clock)
    for n in range(30):
        graph.invoke({"amount": 1.0}, thread=f"t{n:02d}")
        clock.advance(MINUTE)
    clock.set("2026-03-01T11:00:30.000Z")     # only t00 is due
    decoded.clear()
    report = graph.tick()
    assert [f["thread"] for f in report.fired] == ["t00"] and set(decoded) == {"t00"}


def test_the_outbox_is_read_in_order_and_acknowledged() -> None:
    clock = FakeClock(START)
    graph = graph_of(with_clauses(approval_flow(), "review", "approval", within=GOTO), clock=clock)
    graph.invoke({"amount": 5.0}, thread="t")
    graph.invoke(Command(resume={"approved": True}), thread="t")
    first = graph.store.outbox()
    assert [e["event"] for e in first] == ["interrupt.created", "run.done"]
    assert [e["key"] for e in first] == ["t/1/0", "t/2/0"]
    assert first[0]["payload"]["deadline_at"] == "2026-03-01T11:00:00.000Z"
    assert graph.store.outbox(after=first[0]["id"]) == first[1:]
    assert graph.store.ack([first[0]["id"]]) == 1 and graph.store.ack([first[0]["id"]]) == 0
    assert graph.store.outbox() == first[1:]


def test_a_failed_run_puts_run_failed_in_the_outbox() -> None:
    graph = graph_of(with_clauses(approval_flow(), "review", "approval", to=[F("amount")]))
    graph.invoke({"amount": 5.0}, thread="t")
    assert [e["event"] for e in graph.store.outbox()] == ["run.failed"]


def test_a_refused_answer_writes_no_event() -> None:
    graph = graph_of(with_clauses(approval_flow(), "review", "approval", to=[lit("finance")]))
    graph.invoke({"amount": 5.0}, thread="t")
    with pytest.raises(ResumeError):
        graph.invoke(Command(resume={"approved": True}, by="x"), thread="t")
    assert [e["event"] for e in graph.store.outbox()] == ["interrupt.created"]


def test_tick_report_and_now_argument() -> None:
    graph = graph_of(timer_flow(for_ms=HOUR))
    graph.invoke({}, thread="t")
    report = graph.tick(now="2026-03-01T10:00:00Z")
    assert report.to_json()["now"] == "2026-03-01T10:00:00.000Z" and report.fired[0]["status"] == "done"
    with pytest.raises(Exception, match="ISO 8601"):
        graph.tick(now=1.5)  # type: ignore[arg-type]


def test_a_deadline_answer_that_does_not_fit_is_reported_and_the_run_stays() -> None:
    within = {"ms": HOUR, "answer": lit("nope")}
    graph = graph_of(with_clauses(approval_flow(), "review", "approval", within=within))
    graph.invoke({"amount": 5.0}, thread="t")
    report = graph.tick(now="2026-03-02T00:00:00Z")
    assert "does not match its expected type" in report.errors["t"]
    assert graph.state("t").status == "interrupted"


def test_a_graph_built_without_a_clock_uses_the_default() -> None:
    graph = Graph.from_ir(timer_flow(for_ms=HOUR), store=MemoryStore())
    run = graph.invoke({}, thread="t")
    assert run.interrupts[0].asked_at is not None


@pytest.mark.parametrize("schema", [DECISION])
def test_interrupt_json_carries_the_times(schema: Any) -> None:
    graph = graph_of(with_clauses(approval_flow(), "review", "approval", within=GOTO, remind_every_ms=HOUR))
    shown = graph.invoke({"amount": 5.0}, thread="t").to_json()["interrupts"][0]
    assert shown["schema"] == schema
    assert {k: shown[k] for k in ("asked_at", "deadline_at", "remind_every_ms", "reminded")} == {
        "asked_at": START, "deadline_at": "2026-03-01T11:00:00.000Z", "remind_every_ms": HOUR, "reminded": 0}


def test_the_recorded_times_and_firings_follow_the_checkpoint_schema(tmp_path: Path) -> None:
    from tests.runtime.store.support import check_rows

    clock = FakeClock(START)
    within = {"ms": 3 * HOUR, "answer": rec(approved=lit(True))}
    doc = with_clauses(approval_flow(parallel=True), "review", "approval", within=within,
                       remind_every_ms=HOUR, to=[lit("finance")])
    graph = make_graph(doc, SqliteStore(tmp_path / "runs.db", snapshot_every=2), clock=clock)
    graph.invoke({"amount": 5.0}, thread="t")
    for _ in range(4):
        clock.advance(HOUR)
        graph.tick()
    graph.invoke(Command(resume={"second:check": True}, by="x"), thread="t")
    bodies = [body for _, body in check_rows(graph.store, "t")]
    assert any("fired" in body.get("extra", {}) for body in bodies)
    assert any("answered" in body.get("extra", {}) for body in bodies)
