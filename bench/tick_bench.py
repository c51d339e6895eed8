"""Cost of ``tick()`` over many paused runs: 10,000 runs wait on a question
with a deadline, 1% of them are due. A tick must find those through the
store's due index, not by decoding every run.

    python bench/tick_bench.py [--runs 10000] [--postgres postgresql://user@host/postgres]

Prints, per store: the time of a tick that finds nothing due (the index
query alone), of the tick that fires the due runs (per run fired), and how
many runs' checkpoints each tick decoded. PostgreSQL is measured in a fresh
database created for the run and dropped after it (from --postgres or
$FERMATA_TEST_POSTGRES; skipped without one).

The deadline clause is injected into the IR of a version-1 flow (the
compiler does not yet emit it from the ``within`` clause).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fermata.compiler.pipeline import compile_source
from fermata.runtime import Graph
from fermata.runtime.checkpoint import Store
from fermata.runtime.clock import FakeClock
from fermata.runtime.store.sqlite import SqliteStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
from store_bench import postgres_database

SPEC = """
flow approve {
    state {
        amount: float = 0.0
        approved: bool = false
    }
    node review {
        let d = interrupt approval "Approve {{ amount }}?" expect bool
        set approved = d
    }
    node escalate { set approved = false }
    start -> review
    review -> end when approved
    review -> escalate otherwise
    escalate -> end
}
"""
MINUTE = 60_000
DEADLINE = 48 * 60 * MINUTE


def flow_ir() -> dict[str, Any]:
    """The flow, its interrupt given ``within 48h -> escalate``."""
    ir: dict[str, Any] = compile_source(SPEC, "approve.flow")
    step = ir["flows"]["approve"]["nodes"]["review"]["steps"][0]
    assert step["k"] == "interrupt"
    step["within"] = {"ms": DEADLINE, "goto": "escalate"}
    return ir


def counting(store_class: type[Any]) -> tuple[type[Any], list[str]]:
    """``store_class`` counting the runs whose latest checkpoint it decodes."""
    decoded: list[str] = []

    class Counting(store_class):  # type: ignore[misc]
        def _rows_latest(self, thread: str) -> Any:
            decoded.append(thread)
            return super()._rows_latest(thread)

    return Counting, decoded


def measure(name: str, make: Callable[[], Store], decoded: list[str], runs: int) -> None:
    clock = FakeClock("2026-01-01T00:00:00.000Z")
    store = make()
    graph = Graph.from_ir(flow_ir(), store=store, clock=clock)
    due = max(1, runs // 100)
    started = time.perf_counter()
    # The first `due` runs are asked an hour before the others: only they
    # are past their deadline at the tick below.
    for n in range(runs):
        if n == due:
            clock.advance(60 * MINUTE)
        graph.invoke({"amount": float(n)}, thread=f"run{n:06d}", events="none")
    setup = time.perf_counter() - started
    clock.set("2026-01-03T00:30:00.000Z")   # 48h30m after the first runs, 47h30m after the rest

    decoded.clear()
    idle_ms = float("inf")
    for _ in range(5):   # the best of five: the index query alone
        started = time.perf_counter()
        report = graph.tick(now="2026-01-02T12:00:00.000Z")   # nothing due yet
        idle_ms = min(idle_ms, (time.perf_counter() - started) * 1000)
        assert report.fired == []
    idle_decoded = len(decoded)

    decoded.clear()
    started = time.perf_counter()
    report = graph.tick()
    fire_ms = (time.perf_counter() - started) * 1000
    assert len(report.fired) == due and not report.errors, report.to_json()
    print(f"{name:<10} {runs} paused runs ({setup:.1f} s to create), {due} due")
    print(f"{'':<10} tick, nothing due: {idle_ms:8.2f} ms   runs decoded: {idle_decoded}")
    print(f"{'':<10} tick, {due} due:    {fire_ms:8.1f} ms   ({fire_ms / due:.2f} ms per run fired)   "
          f"runs decoded: {len(set(decoded))} of {runs}")
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--postgres", default=os.environ.get("FERMATA_TEST_POSTGRES"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sqlite_class, decoded = counting(SqliteStore)
        measure("sqlite", lambda: sqlite_class(Path(folder) / "runs.db"), decoded, args.runs)
    if args.postgres:
        from fermata.runtime.store.postgres import PostgresStore

        postgres_class, decoded = counting(PostgresStore)
        with postgres_database(args.postgres) as url:
            measure("postgresql", lambda: postgres_class(url), decoded, args.runs)
    else:
        print("postgresql: skipped (no --postgres URL and no $FERMATA_TEST_POSTGRES)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
