"""``flow.cancel``: a run ended where it stands, on every store, and who
started a run (``invoke(..., by=...)``) in its audit trail."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from fermata.compiler import load
from fermata.runtime import Command, FermataError, RunBusyError
from fermata.runtime.cancel import RunCancelledError
from fermata.runtime.clock import FakeClock
from fermata.runtime.leases import LeaseKeeper

SPEC = """
type Decision = {approved: bool}

flow t {
    state {
        what: str
        approved: bool = false
    }
    input what
    output approved

    node ask {
        let d = interrupt approval "Approve {{ what }}?" expect Decision
            to "finance"
            within 48h -> end
        set approved = d.approved
    }

    start -> ask
    ask -> end
}
"""


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def flow(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "t.flow").write_text(SPEC, encoding="utf-8")
    with contextlib.ExitStack() as stack:
        if request.param == "postgres":
            from tests.runtime.store.postgres_db import fresh_database

            store = stack.enter_context(fresh_database())
        else:
            store = "memory:" if request.param == "memory" else f"sqlite:///{tmp_path / 'runs.db'}"
        graph = load(tmp_path / "t.flow", store=store, clock=FakeClock("2026-12-01T09:00:00.000Z"))
        yield graph
        close = getattr(graph.store, "close", None)
        if close is not None:
            close()


def test_cancel_ends_the_run_withdraws_its_question_and_records_who(flow) -> None:  # type: ignore[no-untyped-def]
    run = flow.invoke({"what": "a laptop"}, thread="r1", by="carol")
    token = run.interrupts[0].token
    assert [p.thread for p in flow.store.pending_interrupts()] == ["r1"]
    assert [d.thread for d in flow.store.due("9999")] == ["r1"]
    cancelled = flow.cancel("r1", by="dana", reason="bought elsewhere")
    assert cancelled.status == "cancelled" and cancelled.interrupts == [] and cancelled.next == []
    assert cancelled.state == run.state
    assert flow.store.pending_interrupts() == [] and flow.store.due("9999") == []
    assert [r.status for r in flow.store.list_runs()] == ["cancelled"]
    trail = flow.audit("r1")
    assert [e["what"] for e in trail] == ["started", "asked", "cancelled"]
    assert trail[0]["by"] == "carol" and trail[0]["at"] == "2026-12-01T09:00:00.000Z"
    assert trail[-1] == {"what": "cancelled", "checkpoint_id": cancelled.checkpoint_id, "step": cancelled.step,
                         "by": "dana", "at": "2026-12-01T09:00:00.000Z", "reason": "bought elsewhere",
                         "withdrawn": ["ask:approval"]}
    events = [e["event"] for e in flow.store.outbox()]
    assert events == ["interrupt.created", "run.cancelled"]
    assert flow.history("r1")[-1].status == "cancelled"
    stored = len(flow.history("r1"))
    with pytest.raises(RunCancelledError, match="cancelled by `dana`"):
        flow.invoke(Command(resume={token: {"approved": True}}, by="x", roles=["finance"]), thread="r1")
    with pytest.raises(RunCancelledError):
        flow.invoke(None, thread="r1")
    with pytest.raises(RunCancelledError):
        flow.invoke({"what": "again"}, thread="r1")
    with pytest.raises(RunCancelledError):
        flow.cancel("r1")
    assert flow.tick_thread("r1", now="2100-01-01T00:00:00.000Z").fired == []
    assert len(flow.history("r1")) == stored     # nothing was stored by the refused calls


def test_a_done_run_is_not_cancelled_and_an_unknown_one_is_an_error(flow) -> None:  # type: ignore[no-untyped-def]
    flow.invoke({"what": "x"}, thread="r1")
    flow.invoke(Command(resume={"approved": True}, by="f", roles=["finance"]), thread="r1")
    with pytest.raises(FermataError, match="is done"):
        flow.cancel("r1")
    with pytest.raises(FermataError, match="no run on thread `nope`"):
        flow.cancel("nope")


def test_a_run_being_advanced_is_busy_not_cancelled(flow) -> None:  # type: ignore[no-untyped-def]
    flow.invoke({"what": "x"}, thread="r1")
    lease = LeaseKeeper(flow.store, "r1").take()
    try:
        with pytest.raises(RunBusyError):
            flow.cancel("r1", by="dana")
    finally:
        lease.release()
    assert flow.state("r1").status == "interrupted"


def test_a_run_started_without_by_records_no_starter(flow) -> None:  # type: ignore[no-untyped-def]
    flow.invoke({"what": "x"}, thread="r1")
    assert "started" not in flow.store.latest("r1").extra
    assert [e["what"] for e in flow.audit("r1")] == ["asked"]


def test_a_cancelled_run_takes_no_submission(flow) -> None:  # type: ignore[no-untyped-def]
    flow.invoke({"what": "x"}, thread="r1")
    flow.cancel("r1", by="dana")
    for payload in (None, Command(update={"approved": True}), {"what": "again"}):
        with pytest.raises(RunCancelledError):
            flow.submit(payload, thread="r1")


def test_fermata_history_shows_who_started_and_who_cancelled(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from fermata.compiler.cli.main import main

    (tmp_path / "t.flow").write_text(SPEC, encoding="utf-8")
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    flow = load(tmp_path / "t.flow", store=store, clock=FakeClock("2026-12-01T09:00:00.000Z"))
    flow.invoke({"what": "x"}, thread="r1", by="carol")
    flow.cancel("r1", by="dana", reason="not needed")
    assert main(["history", "--thread", "r1", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "started at 2026-12-01T09:00:00.000Z by carol" in out
    assert "cancelled at 2026-12-01T09:00:00.000Z by dana, withdrew ask:approval: not needed" in out
    assert "cancelled" in out.splitlines()[-2]


def test_a_cancelled_run_replays_cleanly(flow) -> None:  # type: ignore[no-untyped-def]
    from fermata.runtime.replay import replay

    flow.invoke({"what": "x"}, thread="r1")
    flow.cancel("r1", by="dana")
    result = replay(flow, flow.store.history("r1"), "r1")
    assert result.divergences == [] and result.gaps == [] and result.checkpoints == 3
