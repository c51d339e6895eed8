"""``fermata worker`` as real processes, on SQLite and PostgreSQL: two
workers share the work and never advance one run at once, nor do a worker
and an ``invoke`` of another process; SIGTERM finishes
the step in flight and exits 0; a worker killed with SIGKILL (inside a step,
after a ``once`` payment) has its run taken over from the last checkpoint,
and the payment is not made again.

The test knows a worker is inside a step without sleeping: the step's
``hook`` writes the worker's pid to a FIFO the test is blocked reading
(tests/runtime/worker_fixture.py)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fermata.runtime import Command, Graph, RunBusyError
from tests.runtime.store.postgres_db import fresh_database, reset_schema, server_url
from tests.runtime.worker_fixture import approval, effects, timed_effects

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    server_url()
    with fresh_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}"
    url: str = request.getfixturevalue("postgres_url")
    reset_schema(url)
    return url


def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir(exist_ok=True)
    (folder / "approval.json").write_text(json.dumps(approval()))
    return folder


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERMATA_TEST_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def worker(folder: Path, url: str, *extra: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "fermata.compiler.cli", "worker", str(folder), "--store", url,
                             "--log", "json", *extra],
                            cwd=REPO, env=environment(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(child: subprocess.Popen[str]) -> list[dict[str, Any]]:
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


def hold_inside(tmp_path: Path, at: str, **env: str) -> tuple[dict[str, str], Path]:
    fifo = tmp_path / f"inside-{at}"
    os.mkfifo(fifo)
    return {"FERMATA_TEST_HOOK_FIFO": str(fifo), "FERMATA_TEST_HOOK_AT": at, **env}, fifo


def paused_run(tmp_path: Path, url: str) -> tuple[Graph, Path, str]:
    folder = flows(tmp_path)
    ledger = tmp_path / "ledger"
    graph = Graph.from_ir(approval(), store=url)
    graph.submit({"ledger": str(ledger)}, thread="t")
    finish(worker(folder, url, "--exit-when-idle"))
    run = graph.state("t")
    assert run is not None and run.status == "interrupted"
    return graph, folder, str(ledger)


def test_two_workers_share_the_work_and_never_advance_one_run_at_once(store_url: str, tmp_path: Path) -> None:
    folder = flows(tmp_path)
    ledger = str(tmp_path / "ledger")
    graph = Graph.from_ir(approval(), store=store_url)
    threads = [f"r{i:02d}" for i in range(16)]
    for thread in threads:
        graph.submit({"ledger": ledger}, thread=thread)
    slow = {"FERMATA_TEST_EFFECT_S": "0.02"}
    logs = [finish(child) for child in [worker(folder, store_url, "--exit-when-idle", **slow) for _ in range(2)]]
    for thread in threads:
        graph.submit(Command(resume=True), thread=thread)
    logs += [finish(child) for child in [worker(folder, store_url, "--exit-when-idle", **slow) for _ in range(2)]]
    for thread in threads:
        run = graph.state(thread)
        assert run is not None and run.status == "done", thread
    done = effects(ledger)
    keys = [key for _, key, _ in done]
    assert len(keys) == len(set(keys)) == 2 * len(threads)          # every once effect exactly once
    by_thread: dict[str, list[tuple[float, float]]] = {}
    for _, key, _, start, end in timed_effects(ledger):
        by_thread.setdefault(key.split("/")[0], []).append((start, end))
    for spans in by_thread.values():                                 # one advancer at a time
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    claimed = [e for log in logs for e in log if e["event"] == "claimed"]
    assert len(claimed) == 2 * len(threads)                          # each submission claimed once
    assert not [e for log in logs for e in log if e["event"] in ("failed", "refused", "error")]


def test_sigterm_finishes_the_step_and_exits_cleanly(store_url: str, tmp_path: Path) -> None:
    graph, folder, ledger = paused_run(tmp_path, store_url)
    graph.submit(Command(resume=True), thread="t")
    env, fifo = hold_inside(tmp_path, "after-review", FERMATA_TEST_HOOK_HOLD="0.3")
    child = worker(folder, store_url, **env)
    pid = int(fifo.read_text().strip())                              # blocks until it is inside the step
    assert pid == child.pid
    child.send_signal(signal.SIGTERM)
    log = finish(child)                                              # exit code 0
    assert [e["event"] for e in log][-3:] == ["advanced", "stopped", "exited"]
    run = graph.state("t")
    assert run is not None and run.status == "running" and run.next == ["pay"] and run.state["approved"]
    assert graph.store.lease("t") is None
    finish(worker(folder, store_url, "--exit-when-idle"))
    run = graph.state("t")
    assert run is not None and run.status == "done"
    assert sorted(tag for _, _, tag in effects(ledger)) == ["pay", "prepare"]


@pytest.mark.parametrize("at", ["after-review", "after-pay"])
def test_a_killed_worker_s_run_is_taken_over_and_pays_once(store_url: str, tmp_path: Path, at: str) -> None:
    graph, folder, ledger = paused_run(tmp_path, store_url)
    answer = graph.submit(Command(resume=True), thread="t")
    env, fifo = hold_inside(tmp_path, at)
    child = worker(folder, store_url, "--lease", "600", **env)
    int(fifo.read_text().strip())
    child.kill()                                                     # SIGKILL: nothing runs after it
    child.communicate(timeout=60)
    # Its lease and claim are live for 600 s more; its process is gone from
    # this host, so another worker takes the run over at once.
    log = finish(worker(folder, store_url, "--exit-when-idle"))
    run = graph.state("t")
    assert run is not None and run.status == "done" and run.state["paid"] is True
    assert graph.submission(answer.id).status == "applied"
    pays = [pid for pid, _, tag in effects(ledger) if tag == "pay"]
    assert len(pays) == 1                                            # the payment was saved before the kill
    kinds = [e.get("kind") for e in log if e["event"] == "claimed"]
    assert kinds == (["command"] if at == "after-review" else ["orphan"])


def test_an_invoke_while_a_worker_advances_the_run_is_refused(store_url: str, tmp_path: Path) -> None:
    graph, folder, ledger = paused_run(tmp_path, store_url)
    graph.submit(Command(resume=True), thread="t")
    env, fifo = hold_inside(tmp_path, "after-pay")
    child = worker(folder, store_url, **env)
    int(fifo.read_text().strip())                                    # the worker is inside `pay`
    before = [c.to_json() for c in graph.store.history("t")]
    with pytest.raises(RunBusyError, match="busy"):
        graph.invoke(None, thread="t")
    assert [c.to_json() for c in graph.store.history("t")] == before  # the loser wrote nothing
    child.kill()
    child.communicate(timeout=60)
    finish(worker(folder, store_url, "--exit-when-idle"))
    run = graph.state("t")
    assert run is not None and run.status == "done"
    assert sorted(tag for _, _, tag in effects(ledger)) == ["pay", "prepare"]
