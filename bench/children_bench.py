"""Child runs at scale: a fan-out whose every instance runs the drafting loop
(``examples/drafting.flow``) as a child run, each child pausing on its review
question; beside it, in turns, the same fan-out asking the question itself.

    python bench/children_bench.py                 # 200 instances, 3 turns
    python bench/children_bench.py --items 500 --turns 1

Both on SQLite (WAL, synchronous=NORMAL), in the same process. Measured per
turn: the time to reach the pause (every question pending), the bytes stored
then (checkpoint rows of every thread / the database file), the time to
answer every question in one command, and for single answers (one question
answered per command, ``--singles`` of them) the time and the bytes each adds:
with children, one answer writes the parent and that one child, never the
others. Times are given as min / median / max over the turns.
"""

from __future__ import annotations

import argparse
import copy
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fermata.compiler import compile_file
from fermata.runtime import Command, Graph
from fermata.runtime.sqlite_store import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
ROWS = "SELECT SUM(LENGTH(body)) FROM checkpoints"


def _at(step: dict[str, Any]) -> dict[str, Any]:
    return {**step, "line": 1, "column": 5}


def parent_ir(with_children: bool) -> dict[str, Any]:
    """``node compose for t in topics key t { let r = run drafting {topic: t};
    set articles += [r.draft] }`` (or, without children, the question asked
    by the instance itself), hand-built to the IR contract of `run`."""
    child = compile_file(ROOT / "examples" / "drafting.flow")
    drafting = copy.deepcopy(child["flows"]["drafting"])
    decision = drafting.get("defs", {})
    review = drafting["nodes"]["review"]["steps"][0]
    if with_children:
        topic = {"k": "record", "items": [["topic", {"k": "local", "n": "t"}]]}
        steps = [_at({"k": "run", "flow": "drafting", "input": topic, "bind": "r"}),
                 _at({"k": "set", "field": "articles", "op": "+=", "check": False,
                      "value": {"k": "list", "items": [{"k": "get", "o": {"k": "local", "n": "r"}, "n": "draft"}]}})]
    else:
        steps = [_at({**review, "payload": {"k": "tmpl", "src": "Approve {{ t }}?"}}),
                 _at({"k": "set", "field": "articles", "op": "+=", "check": False,
                      "value": {"k": "list", "items": [{"k": "local", "n": "t"}]}})]
    string = {"type": "string"}
    flow: dict[str, Any] = {
        "name": "batch", "doc": None, "line": 1, "defs": decision,
        "fields": [{"name": "topics", "schema": {"type": "array", "items": string}, "has_default": False,
                    "default": None, "optional": False, "line": 1},
                   {"name": "articles", "schema": {"type": "array", "items": string}, "has_default": True,
                    "default": [], "optional": False, "line": 1}],
        "input": ["topics"], "required_input": ["topics"], "output": ["articles"],
        "nodes": {"compose": {"name": "compose", "doc": None, "line": 1, "retry": 0, "backoff_ms": 0,
                              "timeout_ms": None, "steps": steps,
                              "for": {"var": "t", "in": {"k": "field", "n": "topics"},
                                      "key": {"k": "local", "n": "t"}}}},
        "routes": {"start": {"branches": [{"when": None, "targets": ["compose"], "line": 1}]},
                   "compose": {"branches": [{"when": None, "targets": ["end"], "line": 1}]}},
        "joins": [], "interrupt_before": [], "interrupt_after": [],
    }
    if with_children:
        flow["children"] = {"drafting": drafting}
    return {"fermata_ir": child["fermata_ir"], "source": child["source"], "flows": {"batch": flow}}


def file_bytes(path: Path) -> int:
    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def row_bytes(path: Path) -> int:
    conn = sqlite3.connect(str(path))
    try:
        return int(conn.execute(ROWS).fetchone()[0] or 0)
    finally:
        conn.close()


def one_turn(folder: Path, n: int, singles: int, with_children: bool) -> dict[str, float]:
    db = folder / f"{'children' if with_children else 'direct'}-{time.monotonic_ns()}.db"
    store = SqliteStore(db, synchronous="NORMAL")
    graph = Graph.from_ir(parent_ir(with_children), store=store)
    topics = [f"topic {i}" for i in range(n)]
    figures: dict[str, float] = {}
    start = time.perf_counter()
    run = graph.invoke({"topics": topics}, thread="all")
    figures["reach the pause (ms)"] = (time.perf_counter() - start) * 1000
    assert run.status == "interrupted" and len(run.interrupts) == n
    figures["bytes at the pause (rows)"] = row_bytes(db)
    figures["bytes at the pause (file)"] = file_bytes(db)
    start = time.perf_counter()
    run = graph.invoke(Command(resume={i.id: {"approve": True} for i in run.interrupts}), thread="all")
    figures[f"answer all {n} in one command (ms)"] = (time.perf_counter() - start) * 1000
    assert run.status == "done" and len(run.state["articles"]) == n
    run = graph.invoke({"topics": topics}, thread="one")
    ids = [i.id for i in run.interrupts][:singles]
    before_rows, before_file = row_bytes(db), file_bytes(db)
    start = time.perf_counter()
    for id_ in ids:
        graph.invoke(Command(resume={id_: {"approve": True}}), thread="one")
    figures["one answer (ms, mean)"] = (time.perf_counter() - start) * 1000 / len(ids)
    figures["bytes per single answer (rows)"] = (row_bytes(db) - before_rows) / len(ids)
    figures["bytes per single answer (file growth)"] = (file_bytes(db) - before_file) / len(ids)
    store.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--singles", type=int, default=10)
    parser.add_argument("--turns", type=int, default=3)
    args = parser.parse_args(argv)
    results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for turn in range(args.turns):
            for with_children in (True, False) if turn % 2 == 0 else (False, True):
                results[with_children].append(one_turn(Path(tmp), args.items, args.singles, with_children))
    print(f"{args.items} fan-out instances, {args.singles} single answers, {args.turns} turns (A/B interleaved); "
          "SQLite WAL/NORMAL")
    for with_children, turns in ((True, results[True]), (False, results[False])):
        print("with a child run per instance:" if with_children else "asking in the instance itself:")
        for key in turns[0]:
            values = sorted(t[key] for t in turns)
            print(f"  {key}: min {values[0]:,.1f} / median {statistics.median(values):,.1f} / max {values[-1]:,.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
