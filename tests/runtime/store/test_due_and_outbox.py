"""The due index and the outbox, on every backend: kept by the append, in
its transaction; read without decoding any checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fermata.runtime.checkpoint import Checkpoint, Store, ThreadInfo
from fermata.runtime.clock import FakeClock
from fermata.runtime.errors import StoreConflictError
from tests.runtime.clauses import HOUR, approval_flow, with_clauses
from tests.runtime.irbuild import make_graph
from tests.runtime.store.postgres_db import reset_schema
from tests.runtime.store.support import cp, info


def asked(node: str, label: str, **timing: Any) -> dict[str, Any]:
    return {"id": f"{node}:{label}", "node": node, "label": label, "index": 0, "payload": None,
            "schema": None, "token": f"{node}:{label}#0", **timing}


def of(flow: str, thread: str) -> ThreadInfo:
    return info(thread).replace(flow=flow)


def event(thread: str, seq: int, kind: str) -> dict[str, Any]:
    return {"key": f"{thread}/{seq}/0", "event": kind, "thread": thread, "flow": "f", "seq": seq,
            "at": "2026-01-01T00:00:00.000Z", "payload": {"n": seq}}


def paused(seq: int, *pending: dict[str, Any], events: list[dict[str, Any]] = ()) -> Checkpoint:  # type: ignore[assignment]
    checkpoint = cp(seq, {}, status="interrupted", pending=list(pending))
    checkpoint.outbox = list(events)
    return checkpoint


def test_the_due_index_lists_what_falls_due_in_time_order(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.append(of("refund", "r1"), paused(0, asked("review", "approval", asked_at="2026-01-01T00:00:00.000Z",
                                                    deadline_at="2026-01-03T00:00:00.000Z",
                                                    deadline={"goto": "x"}, remind_every_ms=HOUR * 12,
                                                    reminded=0)), None)
    store.append(of("hire", "h1"), paused(0, asked("cool", "off", kind="wait", asked_at="2026-01-01T00:00:00.000Z",
                                                   due_at="2026-01-02T00:00:00.000Z")), None)
    store.append(of("hire", "h2"), paused(0, asked("a", "plain")), None)   # nothing falls due
    due = store.due("2026-01-05T00:00:00.000Z")
    assert [(d.thread, d.flow, d.due_at, d.kind, d.id) for d in due] == [
        ("r1", "refund", "2026-01-01T12:00:00.000Z", "reminder", "review:approval"),
        ("h1", "hire", "2026-01-02T00:00:00.000Z", "wait", "cool:off"),
        ("r1", "refund", "2026-01-03T00:00:00.000Z", "deadline", "review:approval")]
    assert [d.kind for d in store.due("2026-01-02T00:00:00.000Z")] == ["reminder", "wait"]
    assert [d.thread for d in store.due("2026-01-05T00:00:00.000Z", flow="hire")] == ["h1"]
    first = store.due("2026-01-05T00:00:00.000Z", limit=1)
    assert [d.kind for d in store.due("2026-01-05T00:00:00.000Z", after=first[0].key)] == ["wait", "deadline"]
    # A reminder sent moves the next one; an answered question leaves the index.
    store.append(of("refund", "r1"), paused(1, asked("review", "approval", asked_at="2026-01-01T00:00:00.000Z",
                                                    deadline_at="2026-01-03T00:00:00.000Z",
                                                    deadline={"goto": "x"}, remind_every_ms=HOUR * 12,
                                                    reminded=1)), [])
    assert [d.due_at for d in store.due("2026-01-05T00:00:00.000Z") if d.kind == "reminder"] == [
        "2026-01-02T00:00:00.000Z"]
    store.append(of("refund", "r1"), cp(2, {}, status="done"), [])
    assert [d.thread for d in store.due("2026-01-05T00:00:00.000Z")] == ["h1"]


def test_outbox_events_are_appended_with_their_checkpoint(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.append(info("t"), paused(0, asked("a", "q"), events=[event("t", 0, "interrupt.created")]), None)
    done = cp(1, {}, status="done")
    done.outbox = [event("t", 1, "run.done")]
    store.append(info("t"), done, [])
    # A conflicting append (another process appended seq 1 first) writes no event either.
    late = cp(1, {}, status="failed")
    late.outbox = [event("t", 9, "run.failed")]
    with pytest.raises(StoreConflictError):
        store.append(info("t"), late, [])
    events = store.outbox()  # type: ignore[attr-defined]
    assert [(e["event"], e["key"], e["payload"]) for e in events] == [
        ("interrupt.created", "t/0/0", {"n": 0}), ("run.done", "t/1/0", {"n": 1})]
    assert events[0]["id"] < events[1]["id"]
    assert store.outbox(after=events[0]["id"]) == events[1:]  # type: ignore[attr-defined]
    assert store.outbox(limit=1) == events[:1]  # type: ignore[attr-defined]
    assert store.ack([events[0]["id"], 10**9]) == 1  # type: ignore[attr-defined]
    assert store.outbox() == events[1:]  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        store.outbox(limit=0)  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_two_handles_on_one_postgres_database_fire_a_deadline_once(postgres_database: str) -> None:
    from fermata.runtime.leases import LeaseKeeper
    from fermata.runtime.store.postgres import PostgresStore

    reset_schema(postgres_database)
    clock = FakeClock("2026-03-01T09:00:00.000Z")
    doc = with_clauses(approval_flow(), "review", "approval", within={"ms": 2 * HOUR, "goto": "escalate"})
    first = make_graph(doc, PostgresStore(postgres_database), clock=clock)
    second = make_graph(doc, PostgresStore(postgres_database), clock=clock)
    try:
        first.invoke({"amount": 5.0}, thread="t")
        assert [d.thread for d in second.store.due("2026-03-01T11:00:00.000Z")] == ["t"]
        clock.advance(3 * HOUR)
        held = LeaseKeeper(first.store, "t").take()
        assert second.tick().busy == ["t"]
        held.release()
        assert [f["thread"] for f in second.tick().fired] == ["t"]
        assert first.tick().fired == []
        assert first.state("t").state["log"] == ["escalated"]
        assert [e["event"] for e in first.store.outbox()] == ["interrupt.created", "interrupt.expired", "run.done"]
        assert first.store.due("2100-01-01T00:00:00.000Z") == []
    finally:
        first.store.close()
        second.store.close()


def test_a_version_3_sqlite_file_gains_the_due_index_and_outbox(tmp_path: Path) -> None:
    import sqlite3

    from fermata.runtime.store.sqlite import SqliteStore

    path = tmp_path / "runs.db"
    with SqliteStore(path) as store:
        store.append(info("t"), cp(0, {}), None)
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE due; DROP TABLE outbox; UPDATE meta SET value = '3' WHERE key = 'version';")
    conn.close()
    with SqliteStore(path, create=False) as reader:   # reads it as it is, changes nothing
        assert reader.latest("t") is not None
        with pytest.raises(Exception, match="store migrate"):
            reader.due("2026-01-01T00:00:00.000Z")
    with SqliteStore(path) as writer:                 # a writer migrates it
        assert writer.due("2026-01-01T00:00:00.000Z") == [] and writer.outbox() == []
        writer.append(info("t"), paused(1, asked("a", "q", kind="wait", asked_at="2026-01-01T00:00:00.000Z",
                                                 due_at="2026-01-01T00:00:01.000Z")), [])
        assert [d.kind for d in writer.due("2026-01-01T00:00:01.000Z")] == ["wait"]


def test_due_rows_another_handle_wrote_are_dropped_by_this_ones_next_append(
        shared_store: Callable[[], Store]) -> None:
    """A handle that left a run with nothing due skips deleting due rows on its
    next append, but only while its own row is the newest: rows another
    handle wrote since are dropped when the run goes on."""
    one, two = shared_store(), shared_store()
    timer = asked("cool", "off", kind="wait", asked_at="2026-01-01T00:00:00.000Z", due_at="2026-01-02T00:00:00.000Z")
    one.append(info("t"), cp(0, {}), None)
    one.append(info("t"), cp(1, {}), [])
    assert two.latest("t") is not None
    two.append(info("t"), paused(2, timer), [])
    assert [d.kind for d in one.due("2026-01-05T00:00:00.000Z")] == ["wait"]
    assert one.latest("t") is not None
    one.append(info("t"), cp(3, {}), [])
    assert one.due("2026-01-05T00:00:00.000Z") == [] and two.due("2026-01-05T00:00:00.000Z") == []


def test_only_a_paused_run_has_anything_due(make_store: Callable[..., Store]) -> None:
    """A run that failed while a sibling paused keeps its pending question,
    but nothing falls due until a retry pauses it again."""
    store = make_store()
    timer = asked("cool", "off", kind="wait", asked_at="2026-01-01T00:00:00.000Z", due_at="2026-01-02T00:00:00.000Z")
    store.append(info("t"), paused(0, timer), None)
    store.append(info("t"), cp(1, {}, status="failed", pending=[timer]), [])
    assert store.due("2026-01-05T00:00:00.000Z") == []
    store.append(info("t"), paused(2, timer), [])
    assert [d.kind for d in store.due("2026-01-05T00:00:00.000Z")] == ["wait"]
