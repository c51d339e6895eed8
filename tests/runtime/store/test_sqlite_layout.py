"""Store format version 5: checkpoint rows in a rowid table (rows of 1-4 KB
no longer spill to overflow pages), and the migration of version-4 files."""

from __future__ import annotations

import base64
import hashlib
import random
import sqlite3
from pathlib import Path

import pytest

from fermata.runtime.errors import StoreError
from fermata.runtime.store.sqlite import SqliteStore
from fermata.runtime.store.sqlite_schema import OUTBOX_V4, SEQ_LIMIT, STORE_VERSION
from tests.runtime.store.support import canonical, cp, info

# The checkpoints and outbox tables of versions 1-4, as those versions created them.
V4_CHECKPOINTS = """
CREATE TABLE checkpoints_v4 (
    thread_id INTEGER NOT NULL REFERENCES threads (id),
    seq       INTEGER NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('full', 'delta')),
    body      NOT NULL,
    PRIMARY KEY (thread_id, seq)
) WITHOUT ROWID;
INSERT INTO checkpoints_v4 SELECT thread_id, seq, kind, body FROM checkpoints;
DROP TABLE checkpoints;
ALTER TABLE checkpoints_v4 RENAME TO checkpoints;
CREATE INDEX checkpoints_full ON checkpoints (thread_id, seq) WHERE kind = 'full';
DROP TABLE outbox;
""" + OUTBOX_V4 + """
UPDATE meta SET value = '4' WHERE key = 'version';
"""


def blob(rng: random.Random, size: int) -> str:
    return base64.b64encode(rng.randbytes(size * 3 // 4)).decode()


def fill(path: Path) -> dict[str, list[str]]:
    """Two threads of small and 1-3 KB rows (full snapshots and deltas); their histories."""
    rng = random.Random(7)
    with SqliteStore(path, snapshot_every=4) as store:
        for thread in ("a", "b"):
            for seq in range(12):
                values = {"n": seq, "big": blob(rng, 1024 * (1 + seq % 3)) if thread == "b" else "x"}
                store.append(info(thread), cp(seq, values), None if seq == 0 else ["n", "big"])
        return {thread: [canonical(c) for c in store.history(thread)] for thread in ("a", "b")}


def version_4_file(path: Path) -> dict[str, list[str]]:
    histories = fill(path)
    conn = sqlite3.connect(path)
    conn.executescript(V4_CHECKPOINTS)
    conn.close()
    return histories


def table_sql(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("SELECT sql FROM sqlite_master WHERE name = 'checkpoints'").fetchone()[0])
    finally:
        conn.close()


def test_a_new_file_keeps_checkpoints_in_a_rowid_table_keyed_by_thread_and_seq(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    fill(path)
    assert "WITHOUT ROWID" not in table_sql(path)
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT key, thread_id, seq FROM checkpoints ORDER BY key").fetchall()
        ids = dict(conn.execute("SELECT thread, id FROM threads").fetchall())
    finally:
        conn.close()
    assert rows == [((ids[t] << 32) + s, ids[t], s) for t in sorted(ids, key=ids.get) for s in range(12)]


def test_a_version_4_file_is_migrated_to_5_with_every_checkpoint_kept(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    histories = version_4_file(path)
    assert "WITHOUT ROWID" in table_sql(path)
    with SqliteStore(path) as store:               # a writer migrates when it opens the file
        assert store.migrate() == (STORE_VERSION, STORE_VERSION)
        for thread, expected in histories.items():
            assert [canonical(c) for c in store.history(thread)] == expected
            assert canonical(store.latest(thread)) == expected[-1]
            assert [canonical(store.get(thread, seq)) for seq in range(12)] == expected
        store.append(info("b"), cp(12, {"n": 12, "big": "y"}), ["n", "big"])
        assert store.latest("b").values == {"n": 12, "big": "y"}
    assert "WITHOUT ROWID" not in table_sql(path)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone() == (str(STORE_VERSION),)
        names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}
        assert "checkpoints_v4" not in names and "checkpoints_full" in names
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()


def test_a_version_4_file_opened_to_read_is_read_as_it_is_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    histories = version_4_file(path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with SqliteStore(path, create=False) as store:
        for thread, expected in histories.items():
            assert [canonical(c) for c in store.history(thread)] == expected
            assert canonical(store.get(thread, 5)) == expected[5]
            assert canonical(store.latest(thread)) == expected[-1]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert "WITHOUT ROWID" in table_sql(path)


def test_rows_of_1_to_4_kb_take_little_more_than_their_size_on_disk(tmp_path: Path) -> None:
    rng = random.Random(3)
    for size in (1024, 1536, 3072, 4096):
        path = tmp_path / f"r{size}.db"
        with SqliteStore(path) as store:
            for seq in range(200):
                store.append(info(), cp(seq, {"big": blob(rng, size)}), None if seq == 0 else ["big"])
            stored = store.stored_bytes()
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        # Version 4 took 4.4x (1 KB), 3.0x (1.5 KB), 1.5x (3 KB): overflow pages.
        assert path.stat().st_size < 1.45 * stored + 64 * 1024, size


def test_a_thread_past_the_keyable_seq_is_refused(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "runs.db") as store:
        store.append(info(), cp(0, {"n": 0}), None)
        store._conn.execute("UPDATE threads SET last_seq = ?", (SEQ_LIMIT - 1,))
        with pytest.raises(StoreError, match="2\\*\\*32 checkpoints"):
            store.append(info(), cp(SEQ_LIMIT, {"n": 1}), None)
