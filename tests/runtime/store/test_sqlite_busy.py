"""Waiting for another connection's write lock (runtime/store/sqlite_busy.py):
short, jittered sleeps instead of SQLite's 1-100 ms ones, bounded by the
store's timeout, and only for statements that did nothing when busy."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from fermata.runtime.errors import StoreError
from fermata.runtime.store import sqlite_busy
from fermata.runtime.store.sqlite import SqliteStore
from fermata.runtime.store.sqlite_busy import FIRST_PAUSE, LONGEST_PAUSE, retry_busy
from tests.runtime.store.support import cp, info


def hold_write_lock(path: Path, seconds: float, taken: threading.Event) -> None:
    """Another connection (as another process would) holding the write lock."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    taken.set()
    threading.Event().wait(seconds)       # not time.sleep: a test records the store's sleeps
    conn.execute("ROLLBACK")
    conn.close()


def test_a_write_waits_in_short_sleeps_for_the_lock_then_succeeds(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "runs.db"
    store = SqliteStore(path)
    store.append(info(), cp(0, {"x": 0}), None)
    pauses: list[float] = []
    real_sleep = time.sleep

    def recorded(seconds: float) -> None:
        pauses.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(sqlite_busy.time, "sleep", recorded)
    taken = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(path, 0.2, taken))
    holder.start()
    assert taken.wait(5)
    store.append(info(), cp(1, {"x": 1}), ["x"])      # waits for the holder, then writes
    holder.join()
    assert [c.values for c in store.history("t")] == [{"x": 0}, {"x": 1}]
    assert pauses, "the lock was held: the append had to wait"
    assert max(pauses) <= LONGEST_PAUSE * 1.5
    assert min(pauses) <= FIRST_PAUSE * 1.5
    store.close()


def test_a_lock_held_past_the_timeout_is_a_clear_error_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SqliteStore(path, timeout=0.1)
    store.append(info(), cp(0, {"x": 0}), None)
    taken = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(path, 1.0, taken))
    holder.start()
    assert taken.wait(5)
    began = time.monotonic()
    with pytest.raises(StoreError, match="stayed locked by another process"):
        store.append(info(), cp(1, {"x": 1}), ["x"])
    assert time.monotonic() - began < 0.9            # gave up at the timeout, not the holder's end
    holder.join()
    assert store.head("t") == 0
    store.append(info(), cp(1, {"x": 1}), ["x"])      # the store is usable once the lock is free
    assert store.head("t") == 1
    store.close()


def test_retry_busy_retries_only_busy_errors() -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise sqlite3.OperationalError("no such table: nowhere")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_busy(broken, 5.0)
    assert len(calls) == 1


def test_retry_busy_returns_what_the_action_returns_once_it_is_free() -> None:
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorname = "SQLITE_BUSY"      # type: ignore[attr-defined]
    left = [3]

    def action() -> str:
        if left[0]:
            left[0] -= 1
            raise busy
        return "done"

    assert retry_busy(action, 5.0) == "done"
    assert left == [0]
