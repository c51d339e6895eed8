"""What one interrupt cycle costs PostgreSQL, counted by the server: WAL
syncs (``pg_stat_wal.wal_sync``: each is one wait for the disk), commits
(``pg_stat_database.xact_commit``: each statement outside a transaction
counts one, read-only ones included), statements (counted in psycopg) and
the client's CPU time (this process's: the flow, the library, psycopg),
for Fermata (this interpreter's) and LangGraph's PostgresSaver; and what a
commit costs with and without the WAL flush.

    python bench/worker_counts.py URL [--runs 50]   # one JSON line: Fermata's counts

(``worker_bench.py`` section 0 runs it with the interpreter of each
version it compares, and counts LangGraph in-process.)

``pg_stat_wal`` is the whole server's: another database syncing meanwhile
adds to the count (the background WAL writer adds a few per second too), so
the counts are the least of ``tries``. A backend reports its counters when it
exits, so each phase runs on connections of its own, closed after it.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

Counts = dict[str, float]
STATEMENTS: collections.Counter[str] = collections.Counter()


def count_statements() -> None:
    """Count every statement psycopg sends from this process (executemany: one)."""
    import psycopg

    execute, many = psycopg.Cursor.execute, psycopg.Cursor.executemany

    def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        STATEMENTS["n"] += 1
        return execute(self, query, *args, **kwargs)

    def counted_many(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        STATEMENTS["n"] += 1
        return many(self, query, *args, **kwargs)

    psycopg.Cursor.execute = counted  # type: ignore[method-assign]
    psycopg.Cursor.executemany = counted_many  # type: ignore[method-assign]


def _server(url: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        (syncs,) = conn.execute("SELECT wal_sync FROM pg_stat_wal").fetchone() or (0,)
        (commits,) = conn.execute("SELECT xact_commit FROM pg_stat_database "
                                  "WHERE datname = current_database()").fetchone() or (0,)
    return int(syncs), int(commits)


def measure(url: str, phases: list[tuple[str, Callable[[int], None]]], runs: int, tries: int) -> dict[str, Counts]:
    """Per phase and per run: the least WAL syncs, commits, statements of ``tries``."""
    best: dict[str, Counts] = {}
    for attempt in range(tries):
        for name, phase in phases:
            time.sleep(1.1)   # counters of earlier backends reported
            syncs, commits = _server(url)
            STATEMENTS.clear()
            cpu = time.process_time()
            phase(attempt)
            cpu = time.process_time() - cpu
            time.sleep(1.1)
            syncs2, commits2 = _server(url)
            # The two reads of _server are two commits of this database.
            found = {"wal_syncs": (syncs2 - syncs) / runs, "commits": (commits2 - commits - 2) / runs,
                     "statements": STATEMENTS["n"] / runs, "client_cpu_ms": cpu / runs * 1e3}
            mine = best.setdefault(name, found)
            for key, value in found.items():
                mine[key] = min(mine[key], value)
    return best


def fermata_counts(url: str, runs: int, tries: int = 2) -> dict[str, Counts]:
    from vs_langgraph import fermata_refund

    from fermata.runtime import Command, Graph
    from fermata.runtime.worker import Worker

    ir = fermata_refund()

    def submit(answer: bool) -> Callable[[int], None]:
        def phase(attempt: int) -> None:
            graph = Graph.from_ir(ir, store=url)
            for i in range(runs):
                graph.submit(Command(resume=True) if answer else {"amount": 500.0}, thread=f"c{attempt}-{i}")
            graph.store.close()
        return phase

    def drain(attempt: int) -> None:
        worker = Worker([Graph.from_ir(ir, store=url)])
        while worker.run_once():
            pass
        worker.store.close()

    counts = measure(url, [("submit start", submit(False)), ("worker: start -> pause", drain),
                           ("submit answer", submit(True)), ("worker: answer -> done", drain)], runs, tries)
    graph = Graph.from_ir(ir, store=url)
    assert all((graph.state(f"c{a}-{i}") or {}).status == "done"   # type: ignore[union-attr]
               for a in range(tries) for i in range(runs))
    graph.store.close()
    return counts


def langgraph_counts(url: str, runs: int, durability: str, tries: int = 2) -> dict[str, Counts]:
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.types import Command as LGCommand
    from vs_langgraph import lg_config, lg_refund

    with PostgresSaver.from_conn_string(url) as saver:
        saver.setup()

    def invoke(answer: bool) -> Callable[[int], None]:
        def phase(attempt: int) -> None:
            with PostgresSaver.from_conn_string(url) as saver:
                app = lg_refund(saver)
                for i in range(runs):
                    thread = lg_config(f"{durability}{attempt}-{i}")
                    if answer:
                        app.invoke(LGCommand(resume=True), thread, durability=durability)
                    else:
                        app.invoke({"amount": 500.0, "risk": 0.0, "approved": False, "log": []}, thread,
                                   durability=durability)
        return phase

    return measure(url, [("invoke: start -> pause", invoke(False)), ("invoke: answer -> done", invoke(True))],
                   runs, tries)


def commit_cost(url: str, n: int = 200) -> dict[str, tuple[float, float, float, float]]:
    """A one-row UPDATE committed ``n`` times at synchronous_commit on and
    off: (min, median, max) us per commit, and WAL syncs per commit."""
    import psycopg

    found = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS commit_probe (id int PRIMARY KEY, n int NOT NULL)")
        conn.execute("INSERT INTO commit_probe VALUES (1, 0) ON CONFLICT DO NOTHING")
        for setting in ("on", "off"):
            conn.execute(f"SET synchronous_commit = {setting}")
            conn.execute("SELECT pg_stat_force_next_flush()")
            time.sleep(1.1)
            syncs = _server(url)[0]
            times = []
            for _ in range(n):
                began = time.perf_counter()
                conn.execute("UPDATE commit_probe SET n = n + 1 WHERE id = 1")
                times.append((time.perf_counter() - began) * 1e6)
            conn.execute("SELECT pg_stat_force_next_flush()")
            time.sleep(1.1)
            found[setting] = (min(times), statistics.median(times), max(times), (_server(url)[0] - syncs) / n)
        conn.execute("DROP TABLE commit_probe")
    return found


def total(counts: dict[str, Counts]) -> Counts:
    keys = ("wal_syncs", "commits", "statements", "client_cpu_ms")
    return {key: sum(phase[key] for phase in counts.values()) for key in keys}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="a database with (or for) a Fermata store")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    import logging

    logging.getLogger("fermata.store").setLevel(logging.ERROR)
    count_statements()
    print(json.dumps(fermata_counts(args.url, args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
