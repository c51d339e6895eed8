"""A fan-out of 1,000 items, each pausing on a question: Fermata beside LangGraph `Send`.

    python bench/fanout_bench.py             # 1,000 items (~1-2 minutes)
    python bench/fanout_bench.py --items 200 # smaller

Both sides run the same workflow on SQLite, in the same process:

- Fermata: ``node review for item in items key item.id { let v = interrupt
  verdict ... expect Verdict; set kept += [...] }`` then ``publish``;
- LangGraph: a conditional edge from START returning one ``Send("review",
  {"item": item})`` per item, ``review`` calling ``interrupt(...)`` and
  returning ``{"kept": [...]}`` into an ``operator.add`` reducer, then
  ``publish``.

Measured for each: the time to reach the pause (all items pending), the
bytes stored then, the time to answer every item in one command
(``Command(resume={id: value, ...})``), and for single answers (one item of
the batch answered per command, ``--singles`` of them): the time and the
bytes each adds. Bytes are the stored rows' payloads (Fermata: checkpoint
bodies; LangGraph: checkpoint, metadata and write blobs), and the database
file after folding its WAL in.

Durability, read back from each writing connection: both SQLite stores run
WAL with synchronous=NORMAL (LangGraph's SqliteSaver turns WAL on itself;
its connection is given synchronous=NORMAL, as bench/vs_langgraph.py does),
so neither pays an fsync per checkpoint.
"""

from __future__ import annotations

import argparse
import operator
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

from fermata.compiler import compile_source
from fermata.runtime import Command, Graph
from fermata.runtime.sqlite_store import SqliteStore

SPEC = """
type Item = {id: str, text: str}
type Verdict = {keep: bool}

flow batch {
    state {
        items: list[Item]
        kept: list[str] = []
        published: int = 0
    }

    node review for item in items key item.id {
        let v = interrupt verdict {id: item.id, text: item.text} expect Verdict
        if v.keep {
            set kept += [item.id]
        }
    }

    node publish {
        set published = len(kept)
    }

    start -> review
    review -> publish
    publish -> end
}
"""


def items(n: int) -> list[dict[str, str]]:
    return [{"id": f"p{i}", "text": f"post number {i}"} for i in range(n)]


def durability(conn: sqlite3.Connection) -> str:
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    level = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(conn.execute("PRAGMA synchronous").fetchone()[0])
    return f"{journal}/{level}"


def file_bytes(path: Path) -> int:
    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def row_bytes(path: Path, query: str) -> int:
    conn = sqlite3.connect(str(path))
    try:
        return int(conn.execute(query).fetchone()[0] or 0)
    finally:
        conn.close()


FERMATA_ROWS = "SELECT SUM(LENGTH(body)) FROM checkpoints"
LANGGRAPH_ROWS = ("SELECT (SELECT COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) FROM checkpoints)"
                  " + (SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes)")


class Measure:
    def __init__(self, name: str, durability: str):
        self.name = name
        self.durability = durability
        self.figures: dict[str, str] = {}

    def add(self, what: str, value: str) -> None:
        self.figures[what] = value
        print(f"  {self.name}: {what}: {value}", flush=True)


# ------------------------------------------------------------------ Fermata


def run_fermata(folder: Path, n: int, singles: int) -> Measure:
    ir = compile_source(SPEC, "batch.flow")
    db = folder / "fermata.db"
    store = SqliteStore(db, synchronous="NORMAL")
    conn = getattr(store, "_conn", None) or store.conn
    measure = Measure("Fermata", durability(conn))
    graph = Graph.from_ir(ir, store=store)

    start = time.perf_counter()
    run = graph.invoke({"items": items(n)}, thread="all")
    elapsed = time.perf_counter() - start
    assert run.status == "interrupted" and len(run.interrupts) == n
    measure.add("reach the pause", f"{elapsed * 1000:,.0f} ms")
    measure.add("bytes stored at the pause (rows / file)",
                f"{row_bytes(db, FERMATA_ROWS):,} / {file_bytes(db):,}")

    answers = {i.id: {"keep": k % 3 != 0} for k, i in enumerate(run.interrupts)}
    start = time.perf_counter()
    run = graph.invoke(Command(resume=answers), thread="all")
    elapsed = time.perf_counter() - start
    assert run.status == "done" and run.state["published"] == len([a for a in answers.values() if a["keep"]])
    measure.add(f"answer all {n} in one command", f"{elapsed * 1000:,.0f} ms")

    run = graph.invoke({"items": items(n)}, thread="one")
    before_rows, before_file = row_bytes(db, FERMATA_ROWS), file_bytes(db)
    start = time.perf_counter()
    for k in range(singles):
        graph.invoke(Command(resume={f"review[p{k}]:verdict": {"keep": True}}), thread="one")
    elapsed = time.perf_counter() - start
    rows = (row_bytes(db, FERMATA_ROWS) - before_rows) / singles
    growth = (file_bytes(db) - before_file) / singles
    measure.add(f"one answer of {n} (mean of {singles})", f"{elapsed / singles * 1000:,.1f} ms")
    measure.add("bytes per single answer (rows / file growth)", f"{rows:,.0f} / {growth:,.0f}")
    store.close()
    return measure


# ------------------------------------------------------------------ LangGraph


class State(TypedDict):
    items: list[dict[str, str]]
    kept: Annotated[list[str], operator.add]
    published: int


class ItemState(TypedDict):
    item: dict[str, str]


def langgraph_graph(checkpointer: Any) -> Any:
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Send, interrupt

    def fan_out(state: State) -> list[Any]:   # Sends (a string hint LangGraph could not resolve)
        return [Send("review", {"item": item}) for item in state["items"]]

    def review(state: ItemState) -> dict[str, Any]:
        item = state["item"]
        verdict = interrupt({"id": item["id"], "text": item["text"]})
        return {"kept": [item["id"]] if verdict["keep"] else []}

    def publish(state: State) -> dict[str, Any]:
        return {"published": len(state["kept"])}

    builder = StateGraph(State)
    builder.add_node("review", review)
    builder.add_node("publish", publish)
    builder.add_conditional_edges(START, fan_out, ["review"])
    builder.add_edge("review", "publish")
    builder.add_edge("publish", END)
    return builder.compile(checkpointer=checkpointer)


def run_langgraph(folder: Path, n: int, singles: int) -> Measure:
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.types import Command as LGCommand

    db = folder / "langgraph.db"
    conn = sqlite3.connect(str(db), check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()
    conn.execute("PRAGMA synchronous = NORMAL")
    measure = Measure("LangGraph", durability(conn))
    graph = langgraph_graph(saver)

    def config(thread: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread}, "recursion_limit": 10_000}

    start = time.perf_counter()
    graph.invoke({"items": items(n), "kept": [], "published": 0}, config("all"))
    elapsed = time.perf_counter() - start
    pending = graph.get_state(config("all")).interrupts
    assert len(pending) == n
    measure.add("reach the pause", f"{elapsed * 1000:,.0f} ms")
    measure.add("bytes stored at the pause (rows / file)",
                f"{row_bytes(db, LANGGRAPH_ROWS):,} / {file_bytes(db):,}")

    answers = {i.id: {"keep": int(i.value["id"][1:]) % 3 != 0} for i in pending}
    start = time.perf_counter()
    graph.invoke(LGCommand(resume=answers), config("all"))
    elapsed = time.perf_counter() - start
    final = graph.get_state(config("all"))
    assert not final.next and final.values["published"] == len([a for a in answers.values() if a["keep"]])
    measure.add(f"answer all {n} in one command", f"{elapsed * 1000:,.0f} ms")

    graph.invoke({"items": items(n), "kept": [], "published": 0}, config("one"))
    ids = {i.value["id"]: i.id for i in graph.get_state(config("one")).interrupts}
    before_rows, before_file = row_bytes(db, LANGGRAPH_ROWS), file_bytes(db)
    start = time.perf_counter()
    for k in range(singles):
        graph.invoke(LGCommand(resume={ids[f"p{k}"]: {"keep": True}}), config("one"))
    elapsed = time.perf_counter() - start
    left = len(graph.get_state(config("one")).interrupts)
    rows = (row_bytes(db, LANGGRAPH_ROWS) - before_rows) / singles
    growth = (file_bytes(db) - before_file) / singles
    measure.add(f"one answer of {n} (mean of {singles})", f"{elapsed / singles * 1000:,.1f} ms")
    measure.add("bytes per single answer (rows / file growth)", f"{rows:,.0f} / {growth:,.0f}")
    measure.add("still pending after the single answers", f"{left} (expected {n - singles})")
    conn.close()
    return measure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--singles", type=int, default=20, help="single answers to average over")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"fan-out of {args.items} items, each pausing on a question (SQLite, same process)")
        measures = [run_fermata(folder, args.items, args.singles)]
        try:
            import langgraph.checkpoint.sqlite  # noqa: F401
        except ImportError:
            print("  LangGraph: not installed (pip install -e '.[dev]' brings langgraph and its SQLite saver)")
        else:
            measures.append(run_langgraph(folder, args.items, args.singles))
    names = list(measures[0].figures)
    width = max(len(name) for name in names)
    print()
    header = f"{'measure'.ljust(width)}  " + "  ".join(
        f"{m.name} [{m.durability}]".rjust(26) for m in measures)
    print(header)
    print("-" * len(header))
    for name in names:
        print(f"{name.ljust(width)}  " + "  ".join(m.figures.get(name, "-").rjust(26) for m in measures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
