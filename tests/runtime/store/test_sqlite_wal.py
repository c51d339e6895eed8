"""The WAL folded into the database file by a thread of the store's own
(runtime/store/sqlite_wal.py), not by the commit that crosses SQLite's
threshold: what it folds is in the database file proper, the writing
connection checkpoints by itself only past the safety net, and close()
stops the thread."""

from __future__ import annotations

import gc
import shutil
import sqlite3
import threading
import time
from pathlib import Path

from fermata.runtime.store.sqlite import SqliteStore
from fermata.runtime.store.sqlite_wal import SAFETY_NET_PAGES
from tests.runtime.store.support import cp, info


def folders() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("fermata-wal-folder")]


def wait_for(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():   # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_the_writing_connection_checkpoints_by_itself_only_past_the_safety_net(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "runs.db") as store:
        assert store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == SAFETY_NET_PAGES


def newest_in_the_file_alone(path: Path) -> int | None:
    """The newest seq of thread `t` in the database file alone (its WAL left
    behind, as if lost), read from a copy by a plain connection; None while
    a fold is still writing it (a torn copy)."""
    alone = path.parent / "alone" / path.name
    alone.parent.mkdir(exist_ok=True)
    shutil.copyfile(path, alone)
    try:
        conn = sqlite3.connect(alone)
        try:
            row = conn.execute("SELECT last_seq FROM threads WHERE thread = 't'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    finally:
        alone.unlink()
    return int(row[0]) if row is not None else None


def folding_store(path: Path, every_pages: int, appends: int) -> SqliteStore:
    """A store at ``path`` that folds every ``every_pages`` pages, after
    ``appends`` checkpoints of thread `t` (values ``{"x": seq}``)."""
    store = SqliteStore(path)
    store._wal.every_pages = every_pages
    for seq in range(appends):
        store.append(info(), cp(seq, {"x": seq}), None if seq == 0 else ["x"])
    return store


def test_what_the_folder_checkpointed_is_in_the_database_file_itself(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    before = len(folders())
    with folding_store(path, every_pages=1, appends=40) as store:      # a fold after every commit
        assert len(folders()) == before + 1          # one thread, started by the first fold
        # No commit of this store checkpoints (the safety net is far): the
        # last append reaches the database file through the folder alone.
        assert wait_for(lambda: newest_in_the_file_alone(path) == 39)
        assert store._wal.folds >= 1


def test_close_stops_the_folder_thread(tmp_path: Path) -> None:
    before = len(folders())
    store = folding_store(tmp_path / "runs.db", every_pages=4, appends=10)
    assert len(folders()) == before + 1
    store.close()
    assert len(folders()) == before
    with SqliteStore(tmp_path / "runs.db") as again:      # and nothing was lost
        assert again.latest("t").values == {"x": 9}     # type: ignore[union-attr]


def test_a_store_dropped_without_close_leaves_no_folder_thread(tmp_path: Path) -> None:
    before = len(folders())
    store = folding_store(tmp_path / "runs.db", every_pages=4, appends=10)
    assert len(folders()) == before + 1
    del store
    gc.collect()
    assert wait_for(lambda: len(folders()) == before)
