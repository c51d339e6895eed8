"""The write turn (runtime/store/sqlite_turn.py): writers of one SQLite file
take turns through a lock file beside it; a waiter gets the turn as soon as
it is given back, gives up with a clear error at its timeout, and a dead
holder's turn is free at once. The turn is never what keeps a write safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fermata.runtime.checkpoint import OnceResult
from fermata.runtime.errors import StoreError
from fermata.runtime.store import sqlite_turn
from fermata.runtime.store.sqlite import SqliteStore
from fermata.runtime.store.sqlite_turn import WriteTurn
from tests.runtime.store.support import cp, info


def test_the_turn_file_is_made_by_the_first_write_not_by_opening(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SqliteStore(path)
    assert not Path(f"{path}-turn").exists()
    store.append(info(), cp(0, {"x": 0}), None)
    assert Path(f"{path}-turn").exists()
    store.close()


def test_a_write_waits_for_the_turn_and_goes_on_when_it_is_given_back(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SqliteStore(path)
    store.append(info(), cp(0, {"x": 0}), None)
    # Another holder (flock treats each open file as its own holder, as another process).
    other = WriteTurn(str(path), timeout=5)
    wrote = threading.Event()

    def write() -> None:
        store.append(info(), cp(1, {"x": 1}), ["x"])
        wrote.set()

    with other:
        writer = threading.Thread(target=write)
        writer.start()
        assert not wrote.wait(0.2), "the write went ahead while another held the turn"
        reader = SqliteStore(path, create=False)      # not `store`: its writer holds it while waiting
        assert reader.head("t") == 0
        reader.close()
    writer.join(5)
    assert wrote.is_set()
    assert [c.values for c in store.history("t")] == [{"x": 0}, {"x": 1}]
    other.close()
    store.close()


def test_a_turn_held_past_the_timeout_is_a_clear_error_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SqliteStore(path, timeout=0.1)
    store.append(info(), cp(0, {"x": 0}), None)
    other = WriteTurn(str(path), timeout=5)
    with other:
        began = time.monotonic()
        with pytest.raises(StoreError, match="stayed locked by another process"):
            store.append(info(), cp(1, {"x": 1}), ["x"])
        assert time.monotonic() - began < 0.9
        with pytest.raises(StoreError, match="stayed locked"):
            store.save_once("t", OnceResult(0, "n", 0, {"target": "m:f", "args_hash": "h", "result": 1}))
    assert store.head("t") == 0
    assert store.once_results("t") == []
    store.append(info(), cp(1, {"x": 1}), ["x"])      # usable once the turn is free
    assert store.head("t") == 1
    other.close()
    store.close()


def test_a_holder_that_dies_leaves_the_turn_free(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SqliteStore(path, timeout=5)
    store.append(info(), cp(0, {"x": 0}), None)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from fermata.runtime.store.sqlite_turn import WriteTurn\n"
        "turn = WriteTurn(sys.argv[1], timeout=5)\n"
        "with turn:\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"), str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        began = time.monotonic()
        store.append(info(), cp(1, {"x": 1}), ["x"])
        assert time.monotonic() - began < 1.0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert store.head("t") == 1
    store.close()


def test_without_flock_or_a_turn_file_writers_wait_on_sqlite_alone(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_turn, "fcntl", None)
    store = SqliteStore(tmp_path / "a.db")
    store.append(info(), cp(0, {"x": 0}), None)
    assert not Path(f"{tmp_path / 'a.db'}-turn").exists()
    store.close()
    monkeypatch.undo()

    def refused(*args: object, **kwargs: object) -> int:
        raise PermissionError("read-only folder")

    store = SqliteStore(tmp_path / "b.db")
    monkeypatch.setattr(sqlite_turn.os, "open", refused)
    store.append(info(), cp(0, {"x": 0}), None)
    assert store.head("t") == 0
    store.close()


def test_a_reading_store_never_makes_the_turn_file(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    SqliteStore(path).close()
    reader = SqliteStore(path, create=False)
    assert reader.history("t") == []
    reader.close()
    assert not Path(f"{path}-turn").exists()
