"""Per-step cost of each store: one run of a 1,000-node chain (one
checkpoint per step), on memory, SQLite and PostgreSQL.

    python bench/store_bench.py [--repeat 3] [--postgres postgresql://user@host/postgres]

PostgreSQL is measured in a fresh database created for the run and dropped
after it (from --postgres or $FERMATA_TEST_POSTGRES; skipped without one).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fermata.compiler.pipeline import compile_source
from fermata.runtime import Graph
from fermata.runtime.checkpoint import Store
from fermata.runtime.store.memory import MemoryStore
from fermata.runtime.store.sqlite import SqliteStore

STEPS = 1000


def chain_spec(n: int) -> str:
    lines = ["flow chain {", "    state {", "        x: int = 0", "    }"]
    lines += [f"    node n{i} {{ set x = x + 1 }}" for i in range(n)]
    lines.append("    start -> n0")
    lines += [f"    n{i} -> n{i + 1}" for i in range(n - 1)]
    lines += [f"    n{n - 1} -> end", "}"]
    return "\n".join(lines) + "\n"


@contextmanager
def postgres_database(admin: str) -> Iterator[str]:
    import psycopg

    name = f"fermata_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def per_step_us(ir: dict[str, object], make: Callable[[], Store], repeat: int) -> float:
    best = float("inf")
    for attempt in range(repeat):
        store = make()
        graph = Graph.from_ir(ir, store=store)
        started = time.perf_counter()
        run = graph.invoke({}, thread=f"t{attempt}", step_limit=STEPS + 10)
        elapsed = time.perf_counter() - started
        assert run.status == "done" and run.state["x"] == STEPS
        store.close()
        best = min(best, elapsed)
    return best / STEPS * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("FERMATA_TEST_POSTGRES"))
    args = parser.parse_args()
    ir = compile_source(chain_spec(STEPS), "chain.flow")
    results = {"memory": per_step_us(ir, MemoryStore, args.repeat)}
    with tempfile.TemporaryDirectory() as folder:
        files = iter(range(10**6))
        results["sqlite"] = per_step_us(ir, lambda: SqliteStore(Path(folder) / f"r{next(files)}.db"), args.repeat)
    if args.postgres:
        from fermata.runtime.store.postgres import PostgresStore

        with postgres_database(args.postgres) as url:
            results["postgresql"] = per_step_us(ir, lambda: PostgresStore(url), args.repeat)
    else:
        print("postgresql: skipped (pass --postgres URL or set FERMATA_TEST_POSTGRES)", file=sys.stderr)
    for name, cost in results.items():
        print(f"{name:<11} {cost:8.1f} us per step ({STEPS}-node chain, best of {args.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
