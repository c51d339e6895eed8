"""Memory of one long call: RSS growth over the steps of a flow whose 1 MB
field changes at every step.

    python bench/memory_bench.py                 # 1,000 steps, a few minutes
    python bench/memory_bench.py --steps 200

Each case runs in a fresh process (so one case's garbage is not another's
baseline), on a SQLite file in a temporary folder: a one-node loop that
sets ``blob`` to a new 1 MB string at every step. Reported: the process's
resident set before the call, after it (the returned value still held, as
a caller holds it), and the peak (``ru_maxrss``). Cases: Fermata's
``invoke`` (events summarised, the default), ``invoke(events="full")``
(what ``invoke`` kept before #17), ``stream`` (events consumed and
dropped), and LangGraph's ``invoke`` with its SqliteSaver when installed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

MB = 1 << 20


def rss_mb() -> float:
    """The resident set now (``/proc/self/statm``: pages)."""
    import os

    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux


def fermata_loop_ir(steps: int) -> dict[str, Any]:
    """``spin`` sets ``x = x + 1`` and ``blob = "v" + pad`` (a new 1 MB string) while ``x < steps``."""
    def bin_(op: str, left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
        return {"k": "bin", "op": op, "l": left, "r": right}

    def set_(field: str, value: dict[str, Any]) -> dict[str, Any]:
        return {"k": "set", "field": field, "op": "=", "value": value, "check": False, "line": 1, "column": 5}

    def fld(name: str, schema: dict[str, Any], default: Any) -> dict[str, Any]:
        return {"name": name, "schema": schema, "has_default": True, "default": default, "optional": False,
                "line": 1}

    def field(name: str) -> dict[str, Any]:
        return {"k": "field", "n": name}

    def lit(value: Any) -> dict[str, Any]:
        return {"k": "lit", "v": value}

    spin = {"name": "spin", "doc": None, "line": 1, "retry": 0, "backoff_ms": 0, "timeout_ms": None,
            "steps": [set_("x", bin_("+", field("x"), lit(1))), set_("blob", bin_("+", lit("v"), field("pad")))]}
    route = {"branches": [{"when": bin_("<", field("x"), lit(steps)), "targets": ["spin"], "line": 1},
                         {"when": None, "targets": ["end"], "line": 1}]}
    fields = [fld("x", {"type": "integer"}, 0), fld("pad", {"type": "string"}, ""),
              fld("blob", {"type": "string"}, "")]
    return {"fermata_ir": 1, "source": {"path": "loop.flow", "sha256": "0" * 64}, "flows": {"loop": {
        "name": "loop", "doc": None, "line": 1, "defs": {}, "fields": fields, "input": ["pad"],
        "required_input": [], "output": ["x"], "nodes": {"spin": spin},
        "routes": {"start": {"branches": [{"when": None, "targets": ["spin"], "line": 1}]}, "spin": route},
        "joins": [], "interrupt_before": [], "interrupt_after": []}}}


def case(name: str, steps: int, folder: Path) -> dict[str, float]:
    """Run one case in this process; the figures in MB."""
    pad = "p" * MB
    if name == "langgraph invoke":
        import sqlite3
        from typing import TypedDict

        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.graph import END, START, StateGraph

        class State(TypedDict):
            x: int
            pad: str
            blob: str

        graph = StateGraph(State)
        graph.add_node("spin", lambda s: {"x": s["x"] + 1, "blob": "v" + s["pad"]})
        graph.add_edge(START, "spin")
        graph.add_conditional_edges("spin", lambda s: "spin" if s["x"] < steps else END, ["spin", END])
        conn = sqlite3.connect(str(folder / "lg.db"), check_same_thread=False)
        saver = SqliteSaver(conn)
        saver.setup()
        conn.execute("PRAGMA synchronous = NORMAL")
        app = graph.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "t"}, "recursion_limit": steps + 10}
        before = rss_mb()
        result: Any = app.invoke({"x": 0, "pad": pad, "blob": ""}, config)
    else:
        from fermata.runtime import Graph

        graph = Graph.from_ir(fermata_loop_ir(steps), store=f"sqlite:///{folder / 'fermata.db'}")
        before = rss_mb()
        if name == "fermata stream":
            for _event in graph.stream({"pad": pad}, thread="t", step_limit=steps + 10):
                pass
            result = graph.state("t")
        else:
            events = "full" if name.endswith('"full")') else "summary"
            result = graph.invoke({"pad": pad}, thread="t", step_limit=steps + 10, events=events)
    after = rss_mb()
    assert result is not None
    return {"before": before, "after": after, "peak": peak_mb()}


CASES = ["fermata invoke", 'fermata invoke(events="full")', "fermata stream", "langgraph invoke"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--case", help=argparse.SUPPRESS)   # the child process's one case
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(case(args.case, args.steps, Path(args.folder))))
        return
    print(f"RSS over one call of {args.steps:,} steps, a 1 MB field changed at each step, SQLite store (MB)")
    print(f"{'':32} {'before':>8} {'after':>8} {'growth':>8} {'peak':>8}")
    for name in CASES:
        with tempfile.TemporaryDirectory(prefix="fermata-mem-") as folder:
            done = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--case", name,
                                   "--folder", folder], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            reason = "not installed" if "No module named 'langgraph" in done.stderr else "failed"
            print(f"{name:32} {reason}: {done.stderr.strip().splitlines()[-1] if done.stderr else ''}")
            continue
        got = json.loads(done.stdout)
        print(f"{name:32} {got['before']:8.0f} {got['after']:8.0f} {got['after'] - got['before']:8.0f} "
              f"{got['peak']:8.0f}", flush=True)


if __name__ == "__main__":
    main()
