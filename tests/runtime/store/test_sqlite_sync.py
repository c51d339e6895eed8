"""Which SQLite writes pay an fsync at ``synchronous=FULL``: every checkpoint,
but not a lease (after a power loss every holder is gone)."""

from __future__ import annotations

from pathlib import Path

from fermata.runtime.store.sqlite import SqliteStore
from tests.runtime.store.support import cp, info


def levels_at_writes(store: SqliteStore) -> list[tuple[str, str]]:
    """Record (the connection's synchronous level, the statement) of each write."""
    seen: list[tuple[str, str]] = []
    level = ["FULL" if store._synchronous == "FULL" else "NORMAL"]

    def trace(statement: str) -> None:
        if statement.startswith("PRAGMA synchronous = "):
            level[0] = statement.rsplit(" ", 1)[1]
        elif statement.split(" ", 1)[0] in ("INSERT", "UPDATE", "DELETE", "COMMIT"):
            seen.append((level[0], statement.split(" (", 1)[0]))

    store._conn.set_trace_callback(trace)
    return seen


def test_at_full_a_lease_commits_at_normal_and_a_checkpoint_at_full(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "runs.db", synchronous="FULL") as store:
        seen = levels_at_writes(store)
        assert store.acquire("t", "me:1:1", 60)
        store.renew("t", "me:1:1", 60)
        store.append(info(), cp(0, {"x": 0}), None)
        store.release("t", "me:1:1")
        assert store._conn.execute("PRAGMA synchronous").fetchone() == (2,)    # FULL again after each
    leases = [level for level, statement in seen if "leases" in statement]
    assert leases and set(leases) == {"NORMAL"}
    assert ("FULL", "COMMIT") in seen and ("NORMAL", "COMMIT") not in seen


def test_at_normal_nothing_changes_the_level(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "runs.db") as store:
        seen = levels_at_writes(store)
        assert store.acquire("t", "me:1:1", 60)
        store.append(info(), cp(0, {"x": 0}), None)
        store.release("t", "me:1:1")
    assert seen and {level for level, _ in seen} == {"NORMAL"}
