"""The outbox keeps payloads that repeat their checkpoint as references
(runtime/store/outbox.py), and readers still get the very events the engine
built, on every backend; old stores stay readable."""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fermata.runtime import Command, Graph
from fermata.runtime.checkpoint import Checkpoint, Store
from fermata.runtime.clock import FakeClock
from fermata.runtime.errors import StoreError
from fermata.runtime.records import OutboxKind
from fermata.runtime.store.outbox import KIND_CODES, payload_ref, resolve
from fermata.runtime.store.sqlite import SqliteStore
from fermata.runtime.store.sqlite_schema import OUTBOX_V4, STORE_VERSION
from tests.runtime.children_ir import newsletter_doc
from tests.runtime.clauses import HOUR, approval_flow, timer_flow, with_clauses
from tests.runtime.irbuild import F, lit, make_graph
from tests.runtime.store.support import cp, info

START = "2026-03-01T09:00:00.000Z"


def recording(store: Store) -> list[dict[str, Any]]:
    """The events the engine hands ``store`` (a deep copy, as built), in order."""
    built: list[dict[str, Any]] = []
    append, append_final = store.append, store.append_final

    def record(checkpoint: Checkpoint) -> None:
        built.extend(copy.deepcopy(checkpoint.outbox))

    def on_append(info: Any, checkpoint: Checkpoint, *args: Any, **kwargs: Any) -> None:
        record(checkpoint)
        append(info, checkpoint, *args, **kwargs)

    def on_append_final(info: Any, checkpoint: Checkpoint, *args: Any, **kwargs: Any) -> None:
        record(checkpoint)
        append_final(info, checkpoint, *args, **kwargs)

    store.append = on_append   # type: ignore[method-assign]
    store.append_final = on_append_final   # type: ignore[method-assign]
    return built


def every_kind_of_event(store: Store) -> None:
    """Runs that write each kind of outbox event into ``store``."""
    clock = FakeClock(START)
    doc = with_clauses(approval_flow(parallel=True), "review", "approval", within={"ms": 3 * HOUR, "goto": "escalate"},
                       remind_every_ms=HOUR, to=[lit("finance")])
    approvals = make_graph(doc, store, clock=clock)
    run = approvals.invoke({"amount": 5.0}, thread="a")            # two questions in one checkpoint
    approvals.invoke({"amount": 7.0}, thread="c")
    approvals.cancel("c", by="dana", reason="bought elsewhere")
    clock.advance(HOUR)
    approvals.tick()                                                # a reminder
    clock.advance(2 * HOUR)
    approvals.tick()                                                # the deadline
    check = next(i for i in run.interrupts if i.id == "second:check")
    approvals.invoke(Command(resume={check.token: True}), thread="a")     # done
    failing = make_graph(with_clauses(approval_flow(), "review", "approval", to=[F("amount")]), store, clock=clock)
    failing.invoke({"amount": 5.0}, thread="f")                     # run.failed
    timers = make_graph(timer_flow(for_ms=HOUR), store, clock=clock)
    timers.invoke({}, thread="w")
    clock.advance(HOUR)
    timers.tick()                                                   # timer.fired
    Graph.from_ir(newsletter_doc(), store=store, clock=clock).invoke({"topic": "tea"}, thread="n")  # a child's question


def test_readers_get_exactly_the_events_the_engine_built(make_store: Callable[..., Store]) -> None:
    store = make_store()
    built = recording(store)
    every_kind_of_event(store)
    read = store.outbox(limit=1000)  # type: ignore[attr-defined]
    assert {e["event"] for e in read} == set(KIND_CODES) == {k.value for k in OutboxKind}
    assert [e["id"] for e in read] == sorted(e["id"] for e in read)
    # The same JSON text: keys in the same order, values of the same types.
    assert [json.dumps({k: v for k, v in e.items() if k != "id"}) for e in read] == [json.dumps(e) for e in built]
    assert [next(iter(e)) for e in read] == ["id"] * len(read)


def test_sqlite_keeps_each_event_as_a_few_integers_and_a_reference(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "runs.db") as store:
        every_kind_of_event(store)
        events = store.outbox(limit=1000)
    conn = sqlite3.connect(tmp_path / "runs.db")
    try:
        rows = conn.execute("SELECT kind, body FROM outbox ORDER BY id").fetchall()
    finally:
        conn.close()
    assert [KIND_CODES[kind] for kind, _ in rows] == [e["event"] for e in events]
    # Every payload of these runs repeats its checkpoint: none is stored again.
    assert all(body.startswith("[") for _, body in rows), rows
    created = [body for kind, body in rows if KIND_CODES[kind] == "interrupt.created"]
    assert sorted(created[:2]) == ['["p",0]', '["p",1]']


def test_a_payload_is_a_reference_only_when_it_rebuilds_exactly() -> None:
    entry = {"id": "a:q", "node": "a", "label": "q", "index": 0, "payload": {"n": 1}, "schema": None,
             "token": "a:q#0", "asked_at": START}
    checkpoint = cp(3, {"out": 1}, status="interrupted", pending=[entry])
    question = {"id": "a:q", "node": "a", "label": "q", "index": 0, "payload": {"n": 1}, "schema": None,
                "token": "a:q#0", "asked_at": START}
    ref = payload_ref("interrupt.created", question, checkpoint)
    assert ref == ["p", 0] and resolve(ref, checkpoint) == question
    # 1.0 == 1 in Python, not in JSON; key order counts too.
    assert payload_ref("interrupt.created", {**question, "payload": {"n": 1.0}}, checkpoint) is None
    assert payload_ref("interrupt.created", dict(reversed(question.items())), checkpoint) is None
    assert payload_ref("run.done", {"output": {"out": 1}}, checkpoint) == ["o", ["out"]]
    assert payload_ref("run.done", {"output": {"out": True}}, checkpoint) is None
    assert payload_ref("run.failed", {"error": {"message": "x"}}, checkpoint) is None   # not its error


def test_events_that_do_not_fit_are_kept_whole(make_store: Callable[..., Store]) -> None:
    """An event whose envelope is not the usual one (another thread's key,
    an extra key, a time not as Fermata writes it) is stored and read as it is."""
    store = make_store()
    odd = [{"key": "elsewhere/0/0", "event": "run.done", "thread": "t", "flow": "f", "seq": 0,
            "at": START, "payload": None},
           {"key": "t/0/1", "event": "run.done", "thread": "t", "flow": "f", "seq": 0, "at": START,
            "payload": {"ref": ["p", 0]}, "extra": 1},
           {"key": "t/0/2", "event": "custom", "thread": "t", "flow": "f", "seq": 0, "at": START, "payload": 2},
           {"key": "t/0/3", "event": "run.done", "thread": "t", "flow": "f", "seq": 0,
            "at": "2026-03-01T09:00:00.000001Z", "payload": 3},
           {"key": "t/0/4", "event": "run.done", "thread": "t", "flow": "f", "seq": 0, "at": START,
            "payload": {"output": {"x": 1}}},
           {"key": "t/0/5", "event": "run.done", "thread": "t", "flow": "f", "seq": 0,
            "at": "0999-01-01T00:00:00.000Z", "payload": 5},
           {"key": "t/0/6", "event": "run.done", "thread": "t", "flow": "f", "seq": 0,
            "at": "2026-02-30T00:00:00.000Z", "payload": 6}]
    checkpoint = cp(0, {"x": 1})
    checkpoint.outbox = copy.deepcopy(odd)
    store.append(info("t"), checkpoint, None)
    assert [{k: v for k, v in e.items() if k != "id"} for e in store.outbox()] == odd  # type: ignore[attr-defined]
    # One that would read back as a reference is refused, and nothing of its checkpoint is stored.
    refusing = cp(1, {"x": 2})
    refusing.outbox = [{"key": "t/1/0", "event": "run.done", "thread": "t", "flow": "f", "seq": 1, "at": START,
                        "ref": ["e"]}]
    with pytest.raises(StoreError, match="has a `ref` and no `payload`"):
        store.append(info("t"), refusing, ["x"])
    assert store.latest("t").seq == 0  # type: ignore[union-attr]


# ------------------------------------------------------------ a store written before references

# The outbox of store format versions 4 and 5 (and their index of pending
# interrupts by label), and a row as they wrote it.
V5_OUTBOX = """
CREATE INDEX pending_by_label ON pending (label);
DROP TABLE outbox;
""" + OUTBOX_V4 + """
UPDATE meta SET value = '5' WHERE key = 'version';
"""
V5_EVENT = {"key": "t/0/0", "event": "interrupt.created", "thread": "t", "flow": "f", "seq": 0, "at": START,
            "payload": {"id": "a:q", "node": "a", "label": "q", "index": 0, "payload": None, "schema": None,
                        "token": "a:q#0"}}


def version_5_file(path: Path) -> None:
    with SqliteStore(path) as store:
        store.append(info("t"), cp(0, {}, status="interrupted", pending=[V5_EVENT["payload"]]), None)
    conn = sqlite3.connect(path)
    conn.executescript(V5_OUTBOX)
    body = {k: v for k, v in V5_EVENT.items() if k not in ("key", "event", "thread")}
    for id_ in (1, 2):
        conn.execute("INSERT INTO outbox (key, thread, event, body) VALUES (?, ?, ?, ?)",
                     (f"t/0/{id_ - 1}", "t", "interrupt.created", json.dumps(body, separators=(",", ":"))))
    conn.execute("DELETE FROM outbox WHERE id = 2")      # acknowledged: its id is never given again
    conn.commit()
    conn.close()


def test_a_version_5_file_is_read_as_it_is_and_migrated_by_a_writer(tmp_path: Path) -> None:
    """Its events keep their ids (and ids are not given again); the unused
    index of pending interrupts by label is dropped."""
    path = tmp_path / "runs.db"
    version_5_file(path)
    expected = [{"id": 1, **V5_EVENT}]
    with SqliteStore(path, create=False) as reader:    # reads the old layout, changes nothing
        assert reader.outbox() == expected
        assert reader.latest("t") is not None
    with SqliteStore(path) as writer:                  # migrates
        assert writer.outbox() == expected
        paused = cp(1, {}, status="interrupted", pending=[V5_EVENT["payload"]])
        paused.outbox = [{**V5_EVENT, "key": "t/1/0", "seq": 1}]
        writer.append(info("t"), paused, [])
        events = writer.outbox()
        assert [e["id"] for e in events] == [1, 3] and events[1]["payload"] == V5_EVENT["payload"]
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone() == (str(STORE_VERSION),)
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        assert "outbox_v5" not in names and "pending_by_label" not in names
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()


@pytest.mark.postgres
def test_postgres_rows_written_before_references_are_read_as_they_were(postgres_database: str) -> None:
    from fermata.runtime.store.postgres import PostgresStore
    from tests.runtime.store.postgres_db import reset_schema

    reset_schema(postgres_database)
    with PostgresStore(postgres_database) as store:
        store.append(info("t"), cp(0, {}, status="interrupted", pending=[V5_EVENT["payload"]]), None)
        body = {k: v for k, v in V5_EVENT.items() if k not in ("key", "event", "thread")}
        store._run("INSERT INTO fermata.outbox (key, thread, event, body) VALUES (%s, %s, %s, %s)",
                   ("t/0/0", "t", "interrupt.created", json.dumps(body)))
        assert [{k: v for k, v in e.items() if k != "id"} for e in store.outbox()] == [V5_EVENT]


def test_a_missing_checkpoint_spoils_only_its_own_events(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "runs.db"
    with SqliteStore(path) as store:
        every_kind_of_event(store)
        whole = store.outbox(limit=1000)
    lost = next(e for e in whole if e["event"] == "interrupt.created")
    conn = sqlite3.connect(path)
    try:
        thread_id = conn.execute("SELECT id FROM threads WHERE thread = ?", (lost["thread"],)).fetchone()[0]
        conn.execute("DELETE FROM checkpoints WHERE key = ?", ((thread_id << 32) + lost["seq"],))
        conn.commit()
    finally:
        conn.close()
    with SqliteStore(path) as store:
        read = store.outbox(limit=1000)
    # Every event is still there, in order; only those of the lost checkpoint
    # (and of its thread's later ones, stored as deltas of it) say so
    # instead of carrying a payload; other runs' events are untouched.
    assert [e["id"] for e in read] == [e["id"] for e in whole]
    spoiled = [e for e in read if "unreadable" in e]
    assert spoiled and all(e["thread"] == lost["thread"] and e["seq"] >= lost["seq"] for e in spoiled)
    assert any(e["thread"] != lost["thread"] for e in read if "unreadable" not in e)
    assert all(e["payload"] is None and e["unreadable"] for e in spoiled)
    assert [e for e in read if "unreadable" not in e] == [e for e in whole if e["id"] not in {s["id"] for s in spoiled}]
    assert lost["key"] in caplog.text
