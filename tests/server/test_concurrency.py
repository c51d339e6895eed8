"""Concurrent requests on PostgreSQL: each request and each run being
advanced has a store connection of its own (``server/stores.py``), so a run
whose write waits on the database does not hold up requests about other runs.
Skipped with one line without ``$FERMATA_TEST_POSTGRES``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runtime.store.postgres_db import fresh_database
from tests.server.support import Server, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with fresh_database() as store:
        running = start_server(tmp_path_factory.mktemp("concurrency"), store=store)
        yield running
        running.stop()


def start_review(server: Server, title: str) -> dict[str, Any]:
    with server.client("carol") as c:
        r = c.post("/api/flows/review/runs?wait=20", json={"input": {"title": title, "amount": 1}})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def lock_waiters(conn: Any) -> int:
    """Sessions of this database waiting for a lock another session holds."""
    row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'").fetchone()
    return int(row[0])


def test_a_run_whose_write_waits_does_not_hold_up_requests_about_other_runs(server: Server) -> None:
    import psycopg

    stuck, other = start_review(server, "stuck"), start_review(server, "other")
    answered: list[httpx.Response] = []

    def answer_stuck() -> None:
        with server.client("alice") as c:
            answered.append(c.post(f"/api/runs/{stuck['thread']}/answers?wait=30",
                                   json={"id": "ask:approval", "value": {"approved": True}}))

    with psycopg.connect(server.store) as blocker:
        # Hold the stuck run's row, as a long transaction of another process
        # would: the answer's checkpoint waits for it inside its transaction.
        blocker.execute("SELECT 1 FROM fermata.threads WHERE thread = %s FOR UPDATE", (stuck["thread"],))
        answering = threading.Thread(target=answer_stuck)
        answering.start()
        with psycopg.connect(server.store, autocommit=True) as watcher:
            deadline = time.monotonic() + 20
            while lock_waiters(watcher) == 0:
                assert time.monotonic() < deadline, "the answer never reached its write"
                time.sleep(0.02)
        # The answer is now inside a transaction that waits. Other requests
        # go on, on connections of their own (with one shared connection
        # they would wait for the blocker, which waits for them: a timeout).
        with server.client("alice", timeout=10) as c:
            seen = c.get(f"/api/runs/{other['thread']}")
            inbox = c.get("/api/inbox")
            done = c.post(f"/api/runs/{other['thread']}/answers?wait=10",
                          json={"id": "ask:approval", "value": {"approved": False}})
        assert seen.status_code == 200 and seen.json()["status"] == "interrupted"
        assert inbox.status_code == 200
        assert any(q["thread"] == stuck["thread"] for q in inbox.json()["items"])   # not answered yet
        assert done.status_code == 200 and done.json()["status"] == "done", done.text
        assert not answered                                    # still waiting for the blocker
        blocker.rollback()
    answering.join(30)
    assert answered and answered[0].status_code == 200, answered
    assert answered[0].json()["status"] == "done"
    assert answered[0].json()["output"]["approved"] is True


def test_many_requests_at_once_each_get_their_answer(server: Server, tmp_path: Path) -> None:
    runs = [start_review(server, f"r{i}") for i in range(12)]
    results: dict[str, int] = {}

    def answer(thread: str) -> None:
        with server.client("alice") as c:
            r = c.post(f"/api/runs/{thread}/answers?wait=30", json={"id": "ask:approval", "value": {"approved": True}})
            results[thread] = r.status_code
            assert c.get(f"/api/runs/{thread}").json()["status"] == "done"

    threads = [threading.Thread(target=answer, args=(run["thread"],)) for run in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {run["thread"]: 200 for run in runs}
    with server.client("alice") as c:
        for run in runs:
            audit = c.get(f"/api/runs/{run['thread']}").json()["audit"]
            assert [e["by"] for e in audit if e["what"] == "answered"] == ["alice"]
