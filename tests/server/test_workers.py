"""Several `serve` processes and a `fermata worker` on one PostgreSQL store:
one serve advances runs itself (the default), one hands every start and
answer to the workers (``--no-worker``). Skipped with one line without
``$FERMATA_TEST_POSTGRES``."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.runtime.store.postgres_db import fresh_database
from tests.server.support import Server, start_server

pytestmark = pytest.mark.slow


@dataclass
class Deployment:
    advancing: Server          # `serve` (advances runs, applies others' submissions)
    submitting: Server         # `serve --no-worker`
    store: str


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with fresh_database() as store:
        advancing = start_server(tmp_path_factory.mktemp("advancing"), store=store)
        submitting = start_server(tmp_path_factory.mktemp("submitting"), "--no-worker", store=store)
        log = tmp_path_factory.mktemp("worker") / "worker.log"
        with log.open("wb") as out:
            worker = subprocess.Popen([sys.executable, "-m", "fermata.compiler.cli.main", "worker",
                                       str(advancing.flows), "--store", store, "--log", "json"],
                                      stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
        try:
            yield Deployment(advancing, submitting, store)
        finally:
            worker.terminate()
            worker.wait(15)
            submitting.stop()
            advancing.stop()
        assert worker.returncode == 0, log.read_text(encoding="utf-8")


def wait_until(condition: Any, seconds: float = 20.0) -> bool:
    give_up = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > give_up:
            return False
        time.sleep(0.05)
    return True


def start(server: Server, title: str, wait: int = 20) -> Any:
    with server.client("carol") as c:
        return c.post(f"/api/flows/review/runs?wait={wait}", json={"input": {"title": title, "amount": 5}})


def answer(server: Server, thread: str, approved: bool, user: str = "alice", wait: int = 20) -> Any:
    with server.client(user) as c:
        return c.post(f"/api/runs/{thread}/answers?wait={wait}",
                      json={"id": "ask:approval", "value": {"approved": approved}})


def checked_history(server: Server, thread: str) -> dict[str, Any]:
    """The run's history, checked for a single advance: checkpoints 0..n
    once each, the question answered once, its node run once."""
    with server.client("alice") as c:
        history = c.get(f"/api/runs/{thread}/history").json()
        run = c.get(f"/api/runs/{thread}").json()
    seqs = [cp["seq"] for cp in history["checkpoints"]]
    assert seqs == list(range(len(seqs))), seqs
    assert run["state"]["log"] == ["decided"]
    return run  # type: ignore[no-any-return]


def test_a_run_started_through_the_submitting_server_is_applied_by_a_worker(deployment: Deployment) -> None:
    r = start(deployment.submitting, "via-worker")
    assert r.status_code == 201, r.text                 # ?wait followed the submission to the pause
    run = r.json()
    assert run["status"] == "interrupted"
    assert [(e["what"], e["by"]) for e in run["audit"] if e["what"] == "started"] == [("started", "carol")]


def test_answers_through_either_server_reach_the_run_once(deployment: Deployment) -> None:
    for starter, answerer in [(deployment.submitting, deployment.advancing),
                              (deployment.advancing, deployment.submitting)]:
        thread = start(starter, "either").json()["thread"]
        r = answer(answerer, thread, True)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "done" and r.json()["output"]["approved"] is True
        run = checked_history(deployment.advancing, thread)
        assert [e["by"] for e in run["audit"] if e["what"] == "answered"] == ["alice"]


def test_without_wait_a_submission_is_202_queued_and_is_applied(deployment: Deployment) -> None:
    r = start(deployment.submitting, "nowait", wait=0)
    # A worker may have applied it before the server looked once (wait=0):
    # then the run is there already (201); else the submission is queued.
    assert r.status_code in (201, 202), r.text
    body = r.json()
    if r.status_code == 202:
        assert body["status"] == "queued" and isinstance(body["submission"], int)
        assert r.headers["location"] == f"/api/submissions/{body['submission']}"
        with deployment.submitting.client("carol") as c:
            followed = wait_until(lambda: c.get(r.headers["location"]).json()["status"] == "applied")
        assert followed, "the queued start was never applied"
    answered = answer(deployment.submitting, body["thread"], False)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "done"


def test_a_question_for_a_role_is_answered_by_its_holder_through_the_workers(deployment: Deployment) -> None:
    with deployment.submitting.client("carol") as c:
        r = c.post("/api/flows/expense/runs?wait=20", json={"input": {"what": "taxi"}})
    assert r.status_code == 201, r.text
    thread = r.json()["thread"]
    with deployment.submitting.client("alice") as c:          # an answerer, not `finance`
        refused = c.post(f"/api/runs/{thread}/answers?wait=5", json={"id": "review:approval",
                                                                     "value": {"approved": True}})
    assert refused.status_code == 403
    with deployment.submitting.client("dave") as c:           # an answerer with `finance`
        r = c.post(f"/api/runs/{thread}/answers?wait=20", json={"id": "review:approval",
                                                                "value": {"approved": True}})
    assert r.status_code == 200, r.text                   # the worker took it: `by` and `roles` reached it
    assert r.json()["status"] == "done"
    assert [e["by"] for e in r.json()["audit"] if e["what"] == "answered"] == ["dave"]


def test_many_runs_at_once_through_both_servers_each_advance_once(deployment: Deployment) -> None:
    import psycopg

    servers = [deployment.submitting, deployment.advancing]
    threads = [start(servers[i % 2], f"many{i}").json()["thread"] for i in range(8)]
    results: dict[str, int] = {}

    def go(i: int, thread: str) -> None:
        results[thread] = answer(servers[(i + 1) % 2], thread, True).status_code

    workers = [threading.Thread(target=go, args=(i, t)) for i, t in enumerate(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert results == dict.fromkeys(threads, 200)
    for thread in threads:
        assert checked_history(deployment.submitting, thread)["status"] == "done"
    with psycopg.connect(deployment.store) as conn:
        rows = conn.execute("SELECT thread, kind, status FROM fermata.work WHERE thread = ANY(%s)",
                            (threads,)).fetchall()
    by_thread: dict[str, list[tuple[str, str]]] = {}
    for thread, kind, status in rows:
        by_thread.setdefault(thread, []).append((kind, status))
    for i, thread in enumerate(threads):   # what went through the submitting server, applied once
        expected = [("start_by", "applied")] if i % 2 == 0 else [("command", "applied")]
        assert by_thread.get(thread) == expected, (thread, by_thread.get(thread))
