"""Several processes on one SQLite file: interrupt cycles per second and
cycle latency with 1, 2 and 4 processes.

    python bench/multiprocess_bench.py [--seconds 3] [--procs 1,2,4] [--modes fast,step]
        [--rounds 1] [--before PYTHON] [--before-path DIR]

Each process runs interrupt cycles (start -> pause at an interrupt ->
resume with an answer -> done) on threads of its own, all in one SQLite
file, for ``--seconds`` after every process is ready. Printed per process
count: total cycles/s, and the cycle latency's p50, p99 and max over every
cycle of every process (ms). Modes: ``fast`` (every commit at
synchronous=NORMAL) and ``step`` (every commit at FULL, one fsync each).

``--before PYTHON`` (and/or ``--before-path DIR``, prepended to PYTHONPATH:
a folder holding a ``fermata`` package of other code) measures a second
Fermata in the same run, in turns with this one (A, B, A, B, ...), so the
two see the same machine. Every measurement runs in a fresh process with a
fresh file; an error a cycle meets (``database is locked``, a busy run) is
counted and printed, not hidden.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The cycle's flow; tests/runtime/store/test_sqlite_processes.py runs it too (it loads it from here).
SPEC = '''flow cycle {
    state {
        amount: float
        approved: bool = false
        log: list[str] = []
    }
    input amount
    node assess { set log += ["assessed"] }
    node review {
        let ok = interrupt approval "Approve {{ amount }}?" expect bool
        set approved = ok
    }
    node pay { set log += ["paid"] }
    start -> assess
    assess -> review
    review -> pay when approved
    review -> end otherwise
    pay -> end
}
'''

LEVEL = {"fast": "NORMAL", "step": "FULL"}


# ------------------------------------------------------------------ one measurement (in its own process)


def _cycles(path: str, mode: str, ir: dict[str, Any], index: int, seconds: float, barrier: Any,
            results: Any) -> None:
    from fermata.runtime import Command, Graph
    from fermata.runtime.store.sqlite import SqliteStore

    store = SqliteStore(path, synchronous=LEVEL[mode])
    graph = Graph.from_ir(ir, store=store, durability=mode)
    for i in range(20):            # warm up (imports, caches) before the clock starts
        graph.invoke({"amount": 1.0}, thread=f"w{index}-{i}")
        graph.invoke(Command(resume=True), thread=f"w{index}-{i}")
    latencies: list[float] = []
    errors: dict[str, int] = {}
    barrier.wait()
    end = time.perf_counter() + seconds
    n = 0
    while True:
        began = time.perf_counter()
        if began >= end:
            break
        thread = f"p{index}-{n}"
        n += 1
        try:
            run = graph.invoke({"amount": 5.0}, thread=thread)
            assert run.status == "interrupted", run.status
            run = graph.invoke(Command(resume=True), thread=thread)
            assert run.status == "done", run.status
        except Exception as exc:  # noqa: BLE001 - counted and printed: the figure says how many failed
            key = f"{type(exc).__name__}: {str(exc)[:80]}"
            errors[key] = errors.get(key, 0) + 1
            continue
        latencies.append((time.perf_counter() - began) * 1e3)
    store.close()
    results.put((latencies, errors))


def measure(mode: str, processes: int, seconds: float) -> dict[str, Any]:
    from fermata.compiler.pipeline import compile_source
    from fermata.runtime.store.sqlite import SqliteStore

    ir = compile_source(SPEC, "cycle.flow")
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "runs.db")
        SqliteStore(path).close()             # the schema, before the processes race for it
        barrier = ctx.Barrier(processes + 1)
        results = ctx.Queue()
        children = [ctx.Process(target=_cycles, args=(path, mode, ir, i, seconds, barrier, results))
                    for i in range(processes)]
        for child in children:
            child.start()
        barrier.wait()
        began = time.perf_counter()
        collected = [results.get() for _ in children]
        elapsed = time.perf_counter() - began
        for child in children:
            child.join()
            if child.exitcode != 0:
                raise SystemExit(f"a bench process failed (exit code {child.exitcode})")
    latencies = sorted(x for got, _ in collected for x in got)
    errors: dict[str, int] = {}
    for _, got in collected:
        for key, count in got.items():
            errors[key] = errors.get(key, 0) + count
    return {"cycles": len(latencies), "seconds": max(elapsed, seconds), "p50": _pct(latencies, 50),
            "p99": _pct(latencies, 99), "max": latencies[-1] if latencies else 0.0, "errors": errors}


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(len(values) * p / 100))]


# ------------------------------------------------------------------ the orchestrator


def _one(python: str, pythonpath: str | None, mode: str, processes: int, seconds: float) -> dict[str, Any]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([python, __file__, "--one", mode, str(processes), str(seconds)], env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"measurement failed ({python}):\n{out.stderr}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--procs", default="1,2,4")
    parser.add_argument("--modes", default="fast,step")
    parser.add_argument("--rounds", type=int, default=1, help="measurements per figure (in turns)")
    parser.add_argument("--before", help="the Python of a second Fermata to measure in turns ('before')")
    parser.add_argument("--before-path", help="a folder prepended to PYTHONPATH for 'before'")
    parser.add_argument("--one", nargs=3, metavar=("MODE", "N", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), float(args.one[2]))))
        return 0
    sides = [("after", sys.executable, None)]
    if args.before or args.before_path:
        sides.insert(0, ("before", args.before or sys.executable, args.before_path))
    procs = [int(n) for n in args.procs.split(",")]
    print(f"interrupt cycles (start -> pause -> resume -> done) on one SQLite file, {args.seconds:g} s "
          f"per measurement, {args.rounds} round(s), {os.cpu_count()} CPUs; latency in ms")
    print(f"{'code':7} {'mode':5} {'procs':>5} {'cycles/s':>9} {'p50':>7} {'p99':>7} {'max':>8}  errors")
    for mode in args.modes.split(","):
        got: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for _ in range(args.rounds):
            for n in procs:
                for name, python, path in sides:
                    got.setdefault((name, n), []).append(_one(python, path, mode, n, args.seconds))
        for n in procs:
            for name, _, _ in sides:
                runs = got[(name, n)]
                rates = [r["cycles"] / r["seconds"] for r in runs]
                spread = (f" (min {min(rates):,.0f} max {max(rates):,.0f})" if len(rates) > 1 else "")
                errors: dict[str, int] = {}
                for r in runs:
                    for key, count in r["errors"].items():
                        errors[key] = errors.get(key, 0) + count
                print(f"{name:7} {mode:5} {n:5} {statistics.median(rates):9,.0f} "
                      f"{statistics.median(r['p50'] for r in runs):7.2f} "
                      f"{statistics.median(r['p99'] for r in runs):7.2f} "
                      f"{max(r['max'] for r in runs):8.2f}  {sum(errors.values()) or '-'}{spread}")
                for key, count in errors.items():
                    print(f"        {count} x {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
