"""Fermata's runtime and stores side by side with LangGraph.

    python bench/vs_langgraph.py            # ~1-2 minutes
    python bench/vs_langgraph.py --quick    # ~20 seconds, smaller runs

Measured (every figure for both systems, same machine, same process):

1. per-step cost of a chain of trivial nodes (`x = x + 1`), in memory
   (Fermata's MemoryStore vs LangGraph without checkpointer, and vs its
   InMemorySaver) and in SQLite (Fermata's SqliteStore vs LangGraph's
   SqliteSaver from langgraph-checkpoint-sqlite);
2. the same per-step cost at 100 / 1,000 / 5,000 nodes, and with every edge
   conditional (Fermata's must stay flat);
3. one interrupt -> resume -> done cycle with SQLite (goal: < 1 ms);
4. bytes stored per step while a 1 MB list field stays unchanged (goal: < 1 KB);
5. the SQLite file holding 10,000 paused runs (goal: < 5 MB).

Both SQLite stores run with journal_mode=WAL and synchronous=NORMAL (LangGraph's
SqliteSaver turns WAL on itself; its connection is given synchronous=NORMAL
here so neither pays an fsync per step). Fermata graphs are built with
``Graph.from_ir`` from IR dicts (no parser involved). Timings are the best
of a few repeats; each step of a Fermata run writes one checkpoint.
"""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fermata.runtime import Command, Graph
from fermata.runtime.sqlite_store import SqliteStore
from fermata.runtime.stores import MemoryStore

# ------------------------------------------------------------------ Fermata IR

INT = {"type": "integer"}
FLOAT = {"type": "number"}
BOOL = {"type": "boolean"}
STR = {"type": "string"}


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


def _lit(v: Any) -> dict[str, Any]:
    return {"k": "lit", "v": v}


def _field(n: str) -> dict[str, Any]:
    return {"k": "field", "n": n}


def _bin(op: str, left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    return {"k": "bin", "op": op, "l": left, "r": right}


def _set(field: str, value: dict[str, Any], op: str = "=") -> dict[str, Any]:
    return {"k": "set", "field": field, "op": op, "value": value, "check": False, "line": 1, "column": 5}


def _fld(name: str, schema: dict[str, Any], default: Any = ...) -> dict[str, Any]:
    has = default is not ...
    return {"name": name, "schema": schema, "has_default": has, "default": default if has else None,
            "optional": False, "line": 1}


def _node(name: str, *steps: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "doc": None, "line": 1, "retry": 0, "backoff_ms": 0, "timeout_ms": None,
            "steps": list(steps)}


def _route(*branches: tuple[list[str], dict[str, Any] | None]) -> dict[str, Any]:
    return {"branches": [{"when": when, "targets": targets, "line": 1} for targets, when in branches]}


def ir(name: str, fields: list[dict[str, Any]], nodes: list[dict[str, Any]],
       routes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    names = [f["name"] for f in fields]
    return {"fermata_ir": 1, "source": {"path": f"{name}.flow", "sha256": "0" * 64}, "flows": {name: {
        "name": name, "doc": None, "line": 1, "defs": {}, "fields": fields, "input": names,
        "required_input": [f["name"] for f in fields if not f["has_default"]], "output": names,
        "nodes": {n["name"]: n for n in nodes}, "routes": routes, "joins": [],
        "interrupt_before": [], "interrupt_after": []}}}


def fermata_chain(n: int, conditional: bool = False) -> dict[str, Any]:
    """``n`` nodes in a line, each `set x = x + 1`; with ``conditional``,
    every edge is `n_i -> n_i+1 when x >= 0, else end`."""
    nodes = [_node(f"n{i}", _set("x", _bin("+", _field("x"), _lit(1)))) for i in range(n)]
    routes = {"start": _route((["n0"], None))}
    for i in range(n):
        target = [f"n{i + 1}"] if i + 1 < n else ["end"]
        routes[f"n{i}"] = (_route((target, _bin(">=", _field("x"), _lit(0))), (["end"], None))
                           if conditional else _route((target, None)))
    return ir("chain", [_fld("x", INT, 0)], nodes, routes)


def fermata_loop(steps: int) -> dict[str, Any]:
    """One node looping ``steps`` times; a `big` list field it never touches."""
    spin = _node("spin", _set("x", _bin("+", _field("x"), _lit(1))))
    routes = {"start": _route((["spin"], None)),
              "spin": _route((["spin"], _bin("<", _field("x"), _lit(steps))), (["end"], None))}
    return ir("loop", [_fld("x", INT, 0), _fld("big", _list(INT), [])], [spin], routes)


def fermata_refund() -> dict[str, Any]:
    """assess -> review (asks a human: approve?) -> pay | end."""
    interrupt = {"k": "interrupt", "label": "approval", "payload": None, "schema": BOOL, "bind": "ok",
                 "line": 1, "column": 5}
    nodes = [_node("assess", _set("risk", _bin("/", _field("amount"), _lit(1000)))),
             _node("review", interrupt, _set("approved", {"k": "local", "n": "ok"}),
                   _set("log", {"k": "list", "items": [_lit("reviewed")]}, op="+=")),
             _node("pay", _set("log", {"k": "list", "items": [_lit("paid")]}, op="+="))]
    routes = {"start": _route((["assess"], None)), "assess": _route((["review"], None)),
              "review": _route((["pay"], _field("approved")), (["end"], None))}
    fields = [_fld("amount", FLOAT), _fld("risk", FLOAT, 0.0), _fld("approved", BOOL, False),
              _fld("log", _list(STR), [])]
    return ir("refund", fields, nodes, routes)


# ------------------------------------------------------------------ LangGraph


def lg_available() -> tuple[bool, bool]:
    try:
        import langgraph  # noqa: F401
    except ImportError:
        return False, False
    try:
        import langgraph.checkpoint.sqlite  # noqa: F401
    except ImportError:
        return True, False
    return True, True


def lg_chain(n: int, checkpointer: Any = None, conditional: bool = False) -> Any:
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class State(TypedDict):
        x: int

    graph = StateGraph(State)
    for i in range(n):
        graph.add_node(f"n{i}", lambda s: {"x": s["x"] + 1})
    graph.add_edge(START, "n0")
    for i in range(n):
        target = f"n{i + 1}" if i + 1 < n else END
        if conditional:
            graph.add_conditional_edges(f"n{i}", lambda s, t=target: t if s["x"] >= 0 else END,
                                        [target] if target == END else [target, END])
        else:
            graph.add_edge(f"n{i}", target)
    return graph.compile(checkpointer=checkpointer)


def lg_loop(steps: int, checkpointer: Any) -> Any:
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class State(TypedDict):
        x: int
        big: list[int]

    graph = StateGraph(State)
    graph.add_node("spin", lambda s: {"x": s["x"] + 1})
    graph.add_edge(START, "spin")
    graph.add_conditional_edges("spin", lambda s: "spin" if s["x"] < steps else END, ["spin", END])
    return graph.compile(checkpointer=checkpointer)


def lg_refund(checkpointer: Any) -> Any:
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    class State(TypedDict):
        amount: float
        risk: float
        approved: bool
        log: list[str]

    def review(s: State) -> dict[str, Any]:
        ok = interrupt(None)
        return {"approved": ok, "log": s["log"] + ["reviewed"]}

    graph = StateGraph(State)
    graph.add_node("assess", lambda s: {"risk": s["amount"] / 1000})
    graph.add_node("review", review)
    graph.add_node("pay", lambda s: {"log": s["log"] + ["paid"]})
    graph.add_edge(START, "assess")
    graph.add_edge("assess", "review")
    graph.add_conditional_edges("review", lambda s: "pay" if s["approved"] else END, ["pay", END])
    graph.add_edge("pay", END)
    return graph.compile(checkpointer=checkpointer)


def lg_sqlite(path: Path) -> tuple[Any, sqlite3.Connection]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(str(path), check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()                                    # turns WAL on
    conn.execute("PRAGMA synchronous = NORMAL")      # as Fermata's store
    return saver, conn


def lg_config(thread: str, limit: int = 10**6) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}, "recursion_limit": limit}


# ------------------------------------------------------------------ helpers


def best(repeat: int, fn: Callable[[int], Any]) -> float:
    """Best wall time of ``repeat`` calls of ``fn(i)``."""
    times = []
    for i in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return min(times)


def fresh(directory: Path, name: str) -> Path:
    path = directory / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def file_bytes(path: Path) -> int:
    """The database as it stands, WAL included."""
    return sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if os.path.exists(p))


def checkpointed_size(path: Path) -> int:
    """The database file alone after folding the WAL into it (what it occupies at rest)."""
    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return file_bytes(path)


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str]] = []

    def add(self, what: str, fermata: float, langgraph: float | None, unit: str, goal: str = "",
            lower: float | None = None) -> None:
        """``lower``: Fermata must be at most this (absolute goal)."""
        ratio = f"{langgraph / fermata:,.1f}x" if langgraph and fermata else "-"
        verdict = ""
        if lower is not None:
            verdict = "met" if fermata < lower else "MISSED"
        elif goal.startswith(">="):
            need = float(goal[2:].rstrip("x"))
            verdict = "met" if langgraph and langgraph / fermata >= need else "MISSED"
        self.rows.append((what, f"{_fmt(fermata)} {unit}",
                          f"{_fmt(langgraph)} {unit}" if langgraph is not None else "n/a",
                          ratio, f"{goal} {verdict}".strip()))
        print(f"  {what}: Fermata {_fmt(fermata)} {unit}, LangGraph "
              f"{_fmt(langgraph) if langgraph is not None else 'n/a'} ({ratio})", flush=True)

    def print(self) -> None:
        header = ("measure", "Fermata", "LangGraph", "LangGraph/Fermata", "goal")
        widths = [max(len(r[i]) for r in [header, *self.rows]) for i in range(5)]
        line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
        print("\n" + line(header))
        print("  ".join("-" * w for w in widths))
        for row in self.rows:
            print(line(row))


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


# ------------------------------------------------------------------ measures


def per_step(table: Table, tmp: Path, quick: bool, have_lg_sqlite: bool) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    n, repeat = (300, 3) if quick else (1000, 5)
    print(f"chain of {n} trivial nodes, per step (best of {repeat})")
    graph = Graph.from_ir(fermata_chain(n), store=MemoryStore())
    fm = best(repeat, lambda i: graph.invoke({}, thread=f"m{i}", step_limit=10**6)) / n * 1e6
    plain = lg_chain(n)
    lg = best(repeat, lambda i: plain.invoke({"x": 0}, lg_config(f"m{i}"))) / n * 1e6
    table.add(f"per step, memory ({n} nodes) vs no checkpointer", fm, lg, "us", ">=10x")
    saver = lg_chain(n, InMemorySaver())
    lg_mem = best(repeat, lambda i: saver.invoke({"x": 0}, lg_config(f"s{i}"))) / n * 1e6
    table.add(f"per step, memory ({n} nodes) vs InMemorySaver", fm, lg_mem, "us", ">=10x")

    store = SqliteStore(fresh(tmp, "fermata-chain.db"))
    graph = Graph.from_ir(fermata_chain(n), store=store)
    fm_sql = best(repeat, lambda i: graph.invoke({}, thread=f"q{i}", step_limit=10**6)) / n * 1e6
    store.close()
    if have_lg_sqlite:
        saver_obj, conn = lg_sqlite(fresh(tmp, "lg-chain.db"))
        app = lg_chain(n, saver_obj)
        lg_runs = max(1, repeat // 2)
        lg_sql = best(lg_runs, lambda i: app.invoke({"x": 0}, lg_config(f"q{i}"))) / n * 1e6
        conn.close()
        table.add(f"per step, SQLite ({n} nodes) vs SqliteSaver", fm_sql, lg_sql, "us", ">=10x")
    else:
        table.add(f"per step, SQLite ({n} nodes) vs InMemorySaver (no SqliteSaver)", fm_sql, lg_mem, "us",
                  ">=10x")


def scaling(table: Table, quick: bool) -> None:
    sizes = (100, 1000) if quick else (100, 1000, 5000)
    print(f"per step by graph size {sizes}, memory store vs no checkpointer")
    flat: dict[bool, list[float]] = {False: [], True: []}
    for conditional in (False, True):
        for n in sizes:
            repeat = 3 if n <= 1000 else 2
            graph = Graph.from_ir(fermata_chain(n, conditional), store=MemoryStore())
            fm = best(repeat, lambda i: graph.invoke({}, thread=f"t{i}", step_limit=10**6)) / n * 1e6
            app = lg_chain(n, conditional=conditional)
            lg = best(repeat, lambda i: app.invoke({"x": 0}, lg_config(f"t{i}"))) / n * 1e6
            kind = "conditional edges" if conditional else "plain edges"
            table.add(f"per step, {n:,} nodes, {kind}", fm, lg, "us")
            flat[conditional].append(fm)
    for conditional, values in flat.items():
        spread = max(values) / min(values)
        print(f"  Fermata per-step spread across sizes ({'conditional' if conditional else 'plain'}): "
              f"{spread:.2f}x ({'flat' if spread < 1.5 else 'NOT flat'})")


def interrupt_cycle(table: Table, tmp: Path, quick: bool, have_lg_sqlite: bool) -> None:
    runs = 200 if quick else 1000
    print(f"interrupt -> resume -> done with SQLite, {runs} runs")
    store = SqliteStore(fresh(tmp, "fermata-cycle.db"))
    graph = Graph.from_ir(fermata_refund(), store=store)
    start = time.perf_counter()
    for i in range(runs):
        assert graph.invoke({"amount": 250.0}, thread=f"t{i}").status == "interrupted"
    pause = (time.perf_counter() - start) / runs
    start = time.perf_counter()
    for i in range(runs):
        assert graph.invoke(Command(resume=True), thread=f"t{i}").status == "done"
    resume = (time.perf_counter() - start) / runs
    store.close()
    lg_pause = lg_resume = None
    if have_lg_sqlite:
        from langgraph.types import Command as LangGraphCommand

        saver, conn = lg_sqlite(fresh(tmp, "lg-cycle.db"))
        app = lg_refund(saver)
        lg_runs = max(50, runs // 5)
        start = time.perf_counter()
        for i in range(lg_runs):
            app.invoke({"amount": 250.0, "risk": 0.0, "approved": False, "log": []}, lg_config(f"t{i}"))
        lg_pause = (time.perf_counter() - start) / lg_runs
        start = time.perf_counter()
        for i in range(lg_runs):
            result = app.invoke(LangGraphCommand(resume=True), lg_config(f"t{i}"))
        assert result["log"] == ["reviewed", "paid"]
        lg_resume = (time.perf_counter() - start) / lg_runs
        conn.close()
    table.add("start -> pause (SQLite)", pause * 1e6, lg_pause and lg_pause * 1e6, "us")
    table.add("resume -> done (SQLite)", resume * 1e6, lg_resume and lg_resume * 1e6, "us")
    table.add("whole cycle start -> pause -> resume -> done (SQLite)", (pause + resume) * 1e3,
              lg_pause and lg_resume and (lg_pause + lg_resume) * 1e3, "ms", "< 1 ms", lower=1.0)


def unchanged_big_field(table: Table, tmp: Path, quick: bool, have_lg_sqlite: bool) -> None:
    """Bytes a step adds to the SQLite file while a 1 MB list field stays as
    it is. Same measure for both systems: (growth of a run of 1 + k steps -
    growth of a run of 1 step) / k, the file checkpointed (WAL folded in)
    after each run, so the input's first checkpoint cancels out and the
    snapshots Fermata takes along the way are counted."""
    big = list(range(10**6, 10**6 + 125_000))           # 1,000,000 bytes of JSON
    steps = 4000 if quick else 8000                     # Fermata snapshots a 1 MB state every ~3,400 steps
    print(f"bytes stored per step, a 1 MB list field unchanged ({steps:,} Fermata steps)")
    path = fresh(tmp, "fermata-big.db")
    SqliteStore(path).close()
    sizes = [checkpointed_size(path)]
    times = []
    for thread, length in (("one", 1), ("many", 1 + steps)):
        store = SqliteStore(path)
        graph = Graph.from_ir(fermata_loop(length), store=store)
        start = time.perf_counter()
        graph.invoke({"big": big}, thread=thread, step_limit=10**6)
        times.append(time.perf_counter() - start)
        rows = store.rows(thread)
        store.close()
        sizes.append(checkpointed_size(path))
    per_step_bytes = ((sizes[2] - sizes[1]) - (sizes[1] - sizes[0])) / steps
    fulls = [seq for seq, (kind, _) in enumerate(rows) if kind == "full"]
    print(f"  Fermata: a step's delta row is {len(rows[5][1])} bytes ({rows[5][1]}); full snapshots at "
          f"seq {fulls}; {(times[1] - times[0]) / steps * 1e6:.0f} us per step (validating the 1 MB "
          f"input takes {times[0] * 1e3:.0f} ms once per invoke)")
    lg_bytes = None
    if have_lg_sqlite:
        lg_steps = 5 if quick else 20
        path = fresh(tmp, "lg-big.db")
        saver, conn = lg_sqlite(path)
        conn.commit()
        sizes = [checkpointed_size(path)]
        for thread, length in (("one", 1), ("many", 1 + lg_steps)):
            lg_loop(length, saver).invoke({"x": 0, "big": big}, lg_config(thread))
            conn.commit()
            sizes.append(checkpointed_size(path))
        conn.close()
        lg_bytes = ((sizes[2] - sizes[1]) - (sizes[1] - sizes[0])) / lg_steps
    table.add("bytes stored per step, 1 MB list unchanged", per_step_bytes, lg_bytes, "B", "< 1 KB",
              lower=1024)


def paused_runs(table: Table, tmp: Path, quick: bool, have_lg_sqlite: bool) -> None:
    runs = 10_000
    print(f"SQLite file holding {runs:,} paused runs")
    path = fresh(tmp, "fermata-paused.db")
    store = SqliteStore(path)
    graph = Graph.from_ir(fermata_refund(), store=store)
    for i in range(runs):
        graph.invoke({"amount": float(i)}, thread=f"run-{i:05d}")
    store.close()
    fm_mb = checkpointed_size(path) / 1e6
    lg_mb = None
    if have_lg_sqlite:
        lg_runs = 500 if quick else 2000
        path = fresh(tmp, "lg-paused.db")
        saver, conn = lg_sqlite(path)
        app = lg_refund(saver)
        for i in range(lg_runs):
            app.invoke({"amount": float(i), "risk": 0.0, "approved": False, "log": []}, lg_config(f"run-{i:05d}"))
        conn.close()
        lg_mb = checkpointed_size(path) / 1e6 * runs / lg_runs
        print(f"  LangGraph: {lg_runs:,} runs measured, scaled to {runs:,}")
    table.add(f"file size, {runs:,} paused runs", fm_mb, lg_mb, "MB", "< 5 MB", lower=5.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (~20 s)")
    args = parser.parse_args(argv)
    have_lg, have_lg_sqlite = lg_available()
    if not have_lg:
        print("langgraph is not installed: pip install 'fermata[langgraph]' langgraph-checkpoint-sqlite")
        return 2
    import langgraph.version as lg_version

    print(f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
          f"langgraph {getattr(lg_version, '__version__', '?')}"
          + ("" if have_lg_sqlite else " (langgraph-checkpoint-sqlite missing: SQLite rows compare "
                                       "against InMemorySaver)"))
    table = Table()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        per_step(table, tmp, args.quick, have_lg_sqlite)
        scaling(table, args.quick)
        interrupt_cycle(table, tmp, args.quick, have_lg_sqlite)
        unchanged_big_field(table, tmp, args.quick, have_lg_sqlite)
        paused_runs(table, tmp, args.quick, have_lg_sqlite)
    table.print()
    print(f"\n({time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
