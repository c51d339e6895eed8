"""Four processes on one SQLite file, each running interrupt cycles (start ->
pause -> resume -> done) on threads of its own: every cycle completes, and
no `database is locked` (nor any other error) reaches the caller."""

from __future__ import annotations

import importlib.util
import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from fermata.compiler.pipeline import compile_source
from fermata.runtime import Command, Graph
from fermata.runtime.store.outbox import KIND_CODES
from fermata.runtime.store.sqlite import SqliteStore

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]


def _bench_spec() -> str:
    """The cycle flow of bench/multiprocess_bench.py (one copy: the bench
    measures what this test checks)."""
    spec = importlib.util.spec_from_file_location("multiprocess_bench", ROOT / "bench" / "multiprocess_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.SPEC)


SPEC = _bench_spec()
PROCESSES = 4
CYCLES = 60


def cycles(path: str, ir: dict[str, Any], index: int, mode: str, barrier: Any, results: Any) -> None:
    problems: list[str] = []
    try:
        graph = Graph.from_ir(ir, store=SqliteStore(path), durability=mode)
        barrier.wait()
        for n in range(CYCLES):
            thread = f"p{index}-{n}"
            try:
                if graph.invoke({"amount": float(n)}, thread=thread).status != "interrupted":
                    problems.append(f"{thread}: did not pause")
                if graph.invoke(Command(resume=n % 2 == 0), thread=thread).status != "done":
                    problems.append(f"{thread}: did not finish")
            except Exception as exc:  # noqa: BLE001 - what surfaced is the finding
                problems.append(f"{thread}: {type(exc).__name__}: {exc}")
        graph.store.close()
    finally:
        results.put((index, problems))


@pytest.mark.parametrize("mode", ["fast", "observable"])
def test_four_processes_on_one_file_finish_every_cycle_without_a_lock_error(tmp_path: Path, mode: str) -> None:
    path = str(tmp_path / "runs.db")
    ir = compile_source(SPEC, "cycle.flow")
    SqliteStore(path).close()
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    children = [ctx.Process(target=cycles, args=(path, ir, i, mode, barrier, results)) for i in range(PROCESSES)]
    for child in children:
        child.start()
    got = dict(results.get(timeout=300) for _ in children)
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    assert got == {i: [] for i in range(PROCESSES)}
    conn = sqlite3.connect(path)
    try:
        done = conn.execute("SELECT count(*) FROM threads WHERE status = 'done'").fetchone()[0]
        finished = conn.execute("SELECT count(*) FROM outbox WHERE kind = ?",
                                (KIND_CODES.index("run.done"),)).fetchone()[0]
    finally:
        conn.close()
    assert done == PROCESSES * CYCLES
    assert finished == PROCESSES * CYCLES
