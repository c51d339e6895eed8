"""How fast is `fermata check`? Chains of 100, 1,000 and 10,000 nodes.

Each chain node holds one `set`; the spec is parsed, checked and lowered to
IR from text, as `fermata check` + `fermata compile` do. Also measured: the
whole-process time of `fermata check` on a 50-line spec (Python start-up and
imports included), and, when langgraph is installed, the time LangGraph takes
to build and `compile()` the same 1,000-node chain in Python, for comparison.

    python bench/check_bench.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fermata.compiler.pipeline import compile_source


def chain_spec(n: int) -> str:
    lines = ["flow chain {", "    state {", "        x: int = 0", "    }"]
    for i in range(n):
        lines.append(f"    node n{i} {{ set x = x + {i % 7 + 1} }}")
    lines.append("    start -> n0")
    lines += [f"    n{i} -> n{i + 1}" for i in range(n - 1)]
    lines.append(f"    n{n - 1} -> end")
    lines.append("}")
    return "\n".join(lines) + "\n"


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def check_and_lower(text: str) -> None:
    """What `fermata compile` does: parse, check, and lower to the IR."""
    compile_source(text, "chain.flow")


def langgraph_chain_builder(n: int):
    """A function building and compiling the chain in LangGraph, or None."""
    try:
        from typing import TypedDict

        from langgraph.graph import END, START, StateGraph
    except ImportError:
        return None

    class State(TypedDict):
        x: int

    def build() -> None:
        graph = StateGraph(State)
        for i in range(n):
            graph.add_node(f"n{i}", lambda s, i=i: {"x": s["x"] + i % 7 + 1})
        graph.add_edge(START, "n0")
        for i in range(n - 1):
            graph.add_edge(f"n{i}", f"n{i + 1}")
        graph.add_edge(f"n{n - 1}", END)
        graph.compile()

    return build


def side_by_side(repeat: int, ours, theirs) -> tuple[float, float]:
    """Best of ``repeat`` for each, timed in turns, so that both see the same
    machine (a shared 2-core machine's speed drifts by a third over a minute)."""
    mine, other = [], []
    for _ in range(repeat):
        mine.append(best_of(1, ours))
        other.append(best_of(1, theirs))
    return min(mine), min(other)


def process_seconds(spec: Path, repeat: int) -> float:
    cmd = [sys.executable, "-m", "fermata.compiler.cli.main", "check", "--format", "text", str(spec)]
    # As installed: bytecode cached (pip compiles it; a shell may forbid writing it).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, check=True, capture_output=True, env=env)  # warm the bytecode cache
    return best_of(repeat, lambda: subprocess.run(cmd, check=True, capture_output=True, env=env))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    print(f"{'nodes':>7} {'lines':>7} {'check+IR (ms)':>14} {'µs/node':>9}")
    for n in (100, 1_000, 10_000):
        text = chain_spec(n)
        seconds = best_of(args.repeat if n < 10_000 else max(1, args.repeat // 2),
                          functools.partial(check_and_lower, text))
        print(f"{n:>7} {text.count(chr(10)):>7} {seconds * 1e3:>14.1f} {seconds / n * 1e6:>9.1f}")

    build = langgraph_chain_builder(1_000)
    if build is not None:
        text = chain_spec(1_000)
        ours, theirs = side_by_side(max(args.repeat, 10), lambda: check_and_lower(text), build)
        print(f"1,000-node chain, timed in turns: fermata check+IR {ours * 1e3:.1f} ms, "
              f"langgraph build + compile() {theirs * 1e3:.1f} ms ({ours / theirs:.2f}x)")
    else:
        print("langgraph: not installed (pip install 'fermata[langgraph]') — comparison skipped")

    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "small.flow"
        spec.write_text((Path(__file__).resolve().parent.parent / "examples" / "refund.flow")
                        .read_text(encoding="utf-8"), encoding="utf-8")
        lines = spec.read_text().count("\n")
        seconds = process_seconds(spec, args.repeat)
        print(f"whole process: `fermata check` on a {lines}-line spec: {seconds * 1e3:.0f} ms "
              f"(best of {args.repeat})")
        baseline = best_of(args.repeat, lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
        print(f"  (a bare `python -c pass` takes {baseline * 1e3:.0f} ms here)")


if __name__ == "__main__":
    main()
