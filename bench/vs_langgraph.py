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

# ruff: noqa: B023 - every lambda below is called at once, inside the loop that binds its variables
from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import statistics
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
        import langgraph
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


# ------------------------------------------------------------------ durability


def durability(conn: sqlite3.Connection) -> str:
    """What the connection that writes actually runs with, read back from it
    (never assumed): journal mode and synchronous level."""
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    level = conn.execute("PRAGMA synchronous").fetchone()[0]
    return f"{journal}/{_SYNC_NAMES.get(level, level)}"


_SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
LEVELS = ("NORMAL", "FULL")
# Fermata's durability mode at each equal level: "fast" never raises a
# commit to FULL (every commit at NORMAL, as LangGraph's), "step" commits
# every checkpoint at FULL. Its default, "observable" (NORMAL, FULL at the
# pause and the end), has rows of its own beside LangGraph at FULL.
MODE_AT = {"NORMAL": "fast", "FULL": "step"}


def fermata_sqlite(path: Path, level: str) -> tuple[SqliteStore, str]:
    store = SqliteStore(path, synchronous=level)
    conn = getattr(store, "_conn", None) or store.conn   # the store's own (writing) connection
    return store, durability(conn)


def lg_sqlite(path: Path, level: str = "NORMAL") -> tuple[Any, sqlite3.Connection, str]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(str(path), check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()                                    # turns WAL on
    conn.execute(f"PRAGMA synchronous = {level}")
    return saver, conn, durability(conn)


def lg_config(thread: str, limit: int = 10**6) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}, "recursion_limit": limit}


# ------------------------------------------------------------------ helpers


def timings(repeat: int, fn: Callable[[int], Any], per: float = 1.0) -> list[float]:
    """Wall time of each of ``repeat`` calls of ``fn(i)``, divided by ``per``."""
    times = []
    for i in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - start) / per)
    return times


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
    """Rows of min / median / max for both systems, each with the durability
    its figures were measured at."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, what: str, unit: str, fermata: list[float], f_durability: str,
            langgraph: list[float] | None, lg_durability: str, goal: str = "",
            below: float | None = None) -> None:
        """``below``: the goal Fermata's median must be under."""
        f_mid = statistics.median(fermata)
        lg_mid = statistics.median(langgraph) if langgraph else None
        ratio = f"{lg_mid / f_mid:,.1f}x" if lg_mid and f_mid else "-"
        verdict = ("met" if f_mid < below else "MISSED") if below is not None else ""
        self.rows.append((what, f_durability, _spread(fermata, unit), lg_durability if langgraph else "-",
                          _spread(langgraph, unit) if langgraph else "n/a", ratio, f"{goal} {verdict}".strip()))
        print(f"  {what}: Fermata [{f_durability}] {_spread(fermata, unit)}; LangGraph "
              f"[{lg_durability}] {_spread(langgraph, unit) if langgraph else 'n/a'} ({ratio})", flush=True)

    def print(self) -> None:
        header = ("measure", "Fermata durability", "Fermata min / median / max", "LangGraph durability",
                  "LangGraph min / median / max", "LG/F (medians)", "goal")
        widths = [max(len(r[i]) for r in [header, *self.rows]) for i in range(len(header))]

        def line(r: tuple[str, ...]) -> str:
            cells = enumerate(zip(r, widths, strict=True))
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in cells)

        print("\n" + line(header))
        print("  ".join("-" * w for w in widths))
        for row in self.rows:
            print(line(row))


def _spread(values: list[float] | None, unit: str) -> str:
    if not values:
        return "n/a"
    return f"{_fmt(min(values))} / {_fmt(statistics.median(values))} / {_fmt(max(values))} {unit}"


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def us(seconds: list[float]) -> list[float]:
    return [s * 1e6 for s in seconds]


# ------------------------------------------------------------------ measures


def commit_floor(table: Table, tmp: Path, quick: bool) -> None:
    """One minimal WAL commit of a tiny row, at each level: what no store
    that commits every step can go below on this disk."""
    commits = 100 if quick else 300
    print(f"commit floor: {commits} single-row WAL commits")
    for level in LEVELS:
        conn = sqlite3.connect(str(fresh(tmp, f"floor-{level}.db")), isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {level}")
        conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
        times = timings(commits, lambda i: conn.execute("INSERT INTO t (v) VALUES ('x')"))
        table.add(f"commit floor: one tiny-row commit at {level}", "us", us(times), durability(conn),
                  None, "-")
        conn.close()


def per_step_memory(table: Table, quick: bool) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    n, repeat = (300, 3) if quick else (1000, 5)
    print(f"chain of {n} trivial nodes, per step, in memory ({repeat} runs)")
    graph = Graph.from_ir(fermata_chain(n), store=MemoryStore())
    fm = us(timings(repeat, lambda i: graph.invoke({}, thread=f"m{i}", step_limit=10**6), n))
    plain = lg_chain(n)
    lg = us(timings(repeat, lambda i: plain.invoke({"x": 0}, lg_config(f"m{i}")), n))
    table.add(f"per step, chain of {n}, vs no checkpointer", "us", fm, "memory", lg, "none", ">=10x")
    saver = lg_chain(n, InMemorySaver())
    lg_mem = us(timings(repeat, lambda i: saver.invoke({"x": 0}, lg_config(f"s{i}")), n))
    table.add(f"per step, chain of {n}, vs InMemorySaver", "us", fm, "memory", lg_mem, "memory", ">=10x")


def per_step_sqlite(table: Table, tmp: Path, quick: bool) -> None:
    """The chain and the one-node loop, at equal NORMAL and equal FULL."""
    n, repeat = (200, 3) if quick else (500, 5)
    lg_repeat = 3
    print(f"per step with SQLite, {n} steps ({repeat} Fermata runs, {lg_repeat} LangGraph runs)")
    for level in (*LEVELS, "observable"):
        for shape in ("chain", "loop"):
            ir_doc = fermata_chain(n) if shape == "chain" else fermata_loop(n)
            payload: dict[str, Any] = {} if shape == "chain" else {"big": []}
            mode = MODE_AT.get(level, level)
            store, f_dur = fermata_sqlite(fresh(tmp, f"f-{shape}-{level}.db"), level if level in LEVELS else "NORMAL")
            graph = Graph.from_ir(ir_doc, store=store, durability=mode)
            fm = us(timings(repeat, lambda i: graph.invoke(payload, thread=f"q{i}", step_limit=10**6), n))
            store.close()
            lg_level = level if level in LEVELS else "FULL"     # observable: durable where LangGraph's FULL is
            saver, conn, lg_dur = lg_sqlite(fresh(tmp, f"lg-{shape}-{level}.db"), lg_level)
            app = lg_chain(n, saver) if shape == "chain" else lg_loop(n, saver)
            lg_input = {"x": 0} if shape == "chain" else {"x": 0, "big": []}
            lg = us(timings(lg_repeat, lambda i: app.invoke(lg_input, lg_config(f"q{i}")), n))
            conn.close()
            what = f"chain of {n}" if shape == "chain" else f"one-node loop x{n}"
            table.add(f"per step, SQLite, {what}", "us", fm, f"{f_dur} {mode}", lg, lg_dur)


def scaling(table: Table, quick: bool) -> None:
    sizes = (100, 1000) if quick else (100, 1000, 5000)
    print(f"per step by graph size {sizes}, memory store vs no checkpointer")
    flat: dict[bool, list[float]] = {False: [], True: []}
    for conditional in (False, True):
        for n in sizes:
            repeat = 3
            graph = Graph.from_ir(fermata_chain(n, conditional), store=MemoryStore())
            fm = us(timings(repeat, lambda i: graph.invoke({}, thread=f"t{i}", step_limit=10**6), n))
            app = lg_chain(n, conditional=conditional)
            lg = us(timings(repeat, lambda i: app.invoke({"x": 0}, lg_config(f"t{i}")), n))
            kind = "conditional edges" if conditional else "plain edges"
            table.add(f"per step, {n:,} nodes, {kind}", "us", fm, "memory", lg, "none")
            flat[conditional].append(statistics.median(fm))
    for conditional, values in flat.items():
        spread = max(values) / min(values)
        print(f"  Fermata per-step spread across sizes ({'conditional' if conditional else 'plain'}): "
              f"{spread:.2f}x ({'flat' if spread < 1.5 else 'NOT flat'})")


def interrupt_cycle(table: Table, tmp: Path, quick: bool) -> None:
    runs = 100 if quick else 300
    print(f"interrupt -> resume -> done with SQLite, {runs} runs per level")
    from langgraph.types import Command as LangGraphCommand

    for level in (*LEVELS, "observable"):
        mode = MODE_AT.get(level, level)
        store, f_dur = fermata_sqlite(fresh(tmp, f"fermata-cycle-{level}.db"), level if level in LEVELS else "NORMAL")
        f_dur = f"{f_dur} {mode}"
        graph = Graph.from_ir(fermata_refund(), store=store, durability=mode)
        pause = timings(runs, lambda i: graph.invoke({"amount": 250.0}, thread=f"t{i}"))
        resume = timings(runs, lambda i: graph.invoke(Command(resume=True), thread=f"t{i}"))
        assert graph.state(f"t{runs - 1}").status == "done"
        store.close()
        saver, conn, lg_dur = lg_sqlite(fresh(tmp, f"lg-cycle-{level}.db"), level if level in LEVELS else "FULL")
        app = lg_refund(saver)
        lg_runs = max(30, runs // 5)
        lg_pause = timings(lg_runs, lambda i: app.invoke(
            {"amount": 250.0, "risk": 0.0, "approved": False, "log": []}, lg_config(f"t{i}")))
        lg_resume = timings(lg_runs, lambda i: app.invoke(LangGraphCommand(resume=True), lg_config(f"t{i}")))
        conn.close()
        cycle = [(p + r) * 1e3 for p, r in zip(pause, resume, strict=True)]
        lg_cycle = [(p + r) * 1e3 for p, r in zip(lg_pause, lg_resume, strict=True)]
        table.add(f"start -> pause -> resume -> done, SQLite {level}", "ms", cycle, f_dur, lg_cycle, lg_dur,
                  "< 1 ms" if level == "NORMAL" else "", below=1.0 if level == "NORMAL" else None)


def big_field(table: Table, tmp: Path, quick: bool) -> None:
    """Bytes and time per step of a one-node loop beside a 1 MB field, left
    unchanged and changed at every step. Bytes: (growth of a run of 1 + k
    steps - growth of a run of 1 step) / k, the file checkpointed (WAL folded
    in) after each run, so the input's first checkpoint cancels out and the
    snapshots Fermata takes along the way are counted. The changed field is
    1 MB of base64 of random bytes (compression cannot make it vanish)."""
    import base64

    big = list(range(10**6, 10**6 + 125_000))           # 1,000,000 bytes of JSON
    pad = base64.b64encode(os.urandom(3 * (1 << 20) // 4)).decode()   # 1 MiB, ~incompressible
    for changed in (False, True):
        steps = (20 if quick else 50) if changed else (2000 if quick else 8000)
        lg_steps = (5 if quick else 20)
        label = "changed at each step" if changed else "unchanged"
        print(f"1 MB field {label}: bytes and time per step ({steps:,} Fermata steps, {lg_steps} LangGraph)")
        f_bytes, f_times, f_dur = _fermata_growth(tmp, changed, steps, big, pad)
        lg_bytes, lg_times, lg_dur = _lg_growth(tmp, changed, lg_steps, big, pad)
        table.add(f"bytes stored per step, 1 MB field {label}", "B", [f_bytes], f_dur, [lg_bytes], lg_dur,
                  "" if changed else "< 1 KB", below=None if changed else 1024)
        table.add(f"per step, 1 MB field {label}", "us", f_times, f_dur, lg_times, lg_dur)


def _fermata_loop_changing(steps: int) -> dict[str, Any]:
    """The one-node loop that also sets ``blob = str(x) + pad`` (a new 1 MB string) each step."""
    doc = fermata_loop(steps)
    flow = doc["flows"]["loop"]
    flow["fields"] += [_fld("pad", STR, ""), _fld("blob", STR, "")]
    flow["input"] = [f["name"] for f in flow["fields"]]
    flow["output"] = ["x"]
    flow["nodes"]["spin"]["steps"].append(
        _set("blob", _bin("+", {"k": "fn", "n": "str", "a": [_field("x")]}, _field("pad"))))
    return doc


def _fermata_growth(tmp: Path, changed: bool, steps: int, big: list[int], pad: str) -> tuple[float, list[float], str]:
    path = fresh(tmp, f"fermata-big-{changed}.db")
    SqliteStore(path).close()
    sizes = [checkpointed_size(path)]
    per_step: list[float] = []
    dur = ""
    for thread, length in (("one", 1), ("many", 1 + steps)):
        store, dur = fermata_sqlite(path, "NORMAL")
        dur += " fast"
        graph = Graph.from_ir(_fermata_loop_changing(length) if changed else fermata_loop(length), store=store,
                              durability="fast")
        payload = {"big": big, "pad": pad} if changed else {"big": big}
        start = time.perf_counter()
        graph.invoke(payload, thread=thread, step_limit=10**6)
        per_step.append(time.perf_counter() - start)
        store.close()
        sizes.append(checkpointed_size(path))
    # The first run's time is the invoke's fixed cost (input validation): taken off.
    step_time = [(per_step[1] - per_step[0]) / steps * 1e6]
    return ((sizes[2] - sizes[1]) - (sizes[1] - sizes[0])) / steps, step_time, dur


def _lg_growth(tmp: Path, changed: bool, steps: int, big: list[int], pad: str) -> tuple[float, list[float], str]:
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class State(TypedDict):
        x: int
        big: list[int]
        pad: str
        blob: str

    def app_of(length: int, saver: Any) -> Any:
        graph = StateGraph(State)
        if changed:
            graph.add_node("spin", lambda s: {"x": s["x"] + 1, "blob": str(s["x"] + 1) + s["pad"]})
        else:
            graph.add_node("spin", lambda s: {"x": s["x"] + 1})
        graph.add_edge(START, "spin")
        graph.add_conditional_edges("spin", lambda s: "spin" if s["x"] < length else END, ["spin", END])
        return graph.compile(checkpointer=saver)

    path = fresh(tmp, f"lg-big-{changed}.db")
    saver, conn, dur = lg_sqlite(path)
    conn.commit()
    sizes = [checkpointed_size(path)]
    per_step: list[float] = []
    for thread, length in (("one", 1), ("many", 1 + steps)):
        start = time.perf_counter()
        app_of(length, saver).invoke({"x": 0, "big": big, "pad": pad if changed else "", "blob": ""},
                                     lg_config(thread))
        per_step.append(time.perf_counter() - start)
        conn.commit()
        sizes.append(checkpointed_size(path))
    conn.close()
    step_time = [(per_step[1] - per_step[0]) / steps * 1e6]
    return ((sizes[2] - sizes[1]) - (sizes[1] - sizes[0])) / steps, step_time, dur


def paused_runs(table: Table, tmp: Path, quick: bool) -> None:
    runs = 2_000 if quick else 10_000
    print(f"SQLite file holding {runs:,} paused runs")
    path = fresh(tmp, "fermata-paused.db")
    store, f_dur = fermata_sqlite(path, "NORMAL")
    f_dur += " fast"
    graph = Graph.from_ir(fermata_refund(), store=store, durability="fast")
    for i in range(runs):
        graph.invoke({"amount": float(i)}, thread=f"run-{i:05d}")
    store.close()
    fm_mb = checkpointed_size(path) / 1e6 * 10_000 / runs
    lg_runs = 500 if quick else 2000
    path = fresh(tmp, "lg-paused.db")
    saver, conn, lg_dur = lg_sqlite(path)
    app = lg_refund(saver)
    for i in range(lg_runs):
        app.invoke({"amount": float(i), "risk": 0.0, "approved": False, "log": []}, lg_config(f"run-{i:05d}"))
    conn.close()
    lg_mb = checkpointed_size(path) / 1e6 * 10_000 / lg_runs
    print(f"  Fermata: {runs:,} runs, LangGraph: {lg_runs:,} runs measured, both scaled to 10,000")
    table.add("file size, 10,000 paused runs", "MB", [fm_mb], f_dur, [lg_mb], lg_dur, "< 5 MB", below=5.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS), metavar="SECTION",
                        help=f"run only these sections (repeatable): {', '.join(sorted(SECTIONS))}")
    args = parser.parse_args(argv)
    have_lg, have_lg_sqlite = lg_available()
    if not (have_lg and have_lg_sqlite):
        print("langgraph is not installed: pip install 'fermata[langgraph]' (with langgraph-checkpoint-sqlite)")
        return 2
    import langgraph.version as lg_version

    print(f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
          f"langgraph {getattr(lg_version, '__version__', '?')}")
    table = Table()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        for name, section in SECTIONS.items():
            if not args.only or name in args.only:
                section(table, tmp, args.quick)
    table.print()
    print(f"\n({time.perf_counter() - began:.0f} s)")
    return 0


SECTIONS: dict[str, Callable[[Table, Path, bool], None]] = {
    "floor": commit_floor,
    "memory": lambda table, tmp, quick: per_step_memory(table, quick),
    "sqlite": per_step_sqlite,
    "scaling": lambda table, tmp, quick: scaling(table, quick),
    "cycle": interrupt_cycle,
    "big": big_field,
    "paused": paused_runs,
}


if __name__ == "__main__":
    sys.exit(main())
