"""Start-up: how long `fermata run` takes to reach the first interrupt,
`fermata resume` to answer it and `fermata check` to check the spec, beside
`python -c pass`.

    python bench/startup_bench.py                    # ~1 minute
    python bench/startup_bench.py --repeat 30
    python bench/startup_bench.py --before /work/main/.venv/bin/python

Every figure is a whole process (wall clock, min / median / max over
``--repeat`` runs, bytecode cached in a folder of the benchmark's own), on a one-node flow that asks a yes/no
question and asks again while the answer is no, so one thread can be resumed
any number of times. "IR cache off" compiles the spec in every process
(``FERMATA_IR_CACHE=off``); "warm" finds its IR in the cache. ``--before``
adds the same rows for another interpreter's Fermata (an older checkout),
measured in the same run, interleaved with this one's.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

SPEC = """\
flow ask {
    state {
        ok: bool = false
        n: int = 0
    }
    output ok
    node review {
        let d = interrupt approval "Approve?" expect bool
        set ok = d
        set n = n + 1
    }
    start -> review
    review -> review when not ok
    review -> end otherwise
}
"""


def fermata_command(python: str) -> list[str]:
    """The `fermata` console script beside ``python`` (as a user runs it)."""
    script = Path(python).parent / "fermata"
    return [str(script)] if script.exists() else [python, "-m", "fermata.compiler.cli.main"]


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_new_thread(command: list[str], prefix: str, counter: Iterator[int], env: dict[str, str],
                   cwd: Path) -> float:
    """``command`` on a thread of its own (a run starts only on a free thread)."""
    return timed([*command, "--thread", f"{prefix}-{next(counter)}"], env, cwd)


class Rows:
    """Named lists of seconds, measured round-robin so that a busy moment
    of the machine is spread over every row rather than landing on one."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.probes: dict[str, Callable[[], float]] = {}
        self.samples: dict[str, list[float]] = {}

    def add(self, name: str, probe: Callable[[], float]) -> None:
        self.order.append(name)
        self.probes[name] = probe
        self.samples[name] = []

    def run(self, repeat: int) -> None:
        for name in self.order:   # warm-up: bytecode written, caches filled, not counted
            self.probes[name]()
        for _ in range(repeat):
            for name in self.order:
                self.samples[name].append(self.probes[name]())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--before", metavar="PYTHON", help="another interpreter whose Fermata to compare")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="fermata-startup-"))
    (work / "ask.flow").write_text(SPEC, encoding="utf-8")
    # Bytecode cached (as after any install), in a folder of its own so that
    # no source tree is written to; the warm-up run writes it.
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    rows = Rows()
    rows.add("python -c pass", lambda: timed([sys.executable, "-c", "pass"], base, work))
    versions = [("this", sys.executable)] + ([("before", args.before)] if args.before else [])
    counter = iter(range(10**9))
    for label, python in versions:
        fermata = fermata_command(python)
        store = f"sqlite:///{work / f'{label}.db'}"
        for cache in ("off", "warm"):
            if label == "before" and cache == "warm":
                continue   # an older Fermata may have no cache: one row, whatever it does
            env = {**base, "FERMATA_IR_CACHE": "off" if cache == "off" else str(work / f"cache-{label}")}
            if label == "before":
                env.pop("FERMATA_IR_CACHE")
            thread = f"{label}-{cache}"
            subprocess.run([*fermata, "run", "ask.flow", "--thread", thread, "--store", store],
                           env=env, cwd=work, check=True, stdout=subprocess.DEVNULL)
            suffix = f"({label})" if label == "before" else f"(IR cache {cache})"
            rows.add(f"fermata run {suffix}", functools.partial(
                run_new_thread, [*fermata, "run", "ask.flow", "--store", store], f"{label}-{cache}", counter,
                env, work))
            rows.add(f"fermata resume {suffix}", functools.partial(
                timed, [*fermata, "resume", "--thread", thread, "--value", "false", "--store", store], env, work))
        # `check` never reads the IR cache: one row, whatever the cache.
        rows.add("fermata check" + (" (before)" if label == "before" else ""), functools.partial(
            timed, [*fermata, "check", "ask.flow"], base, work))
    rows.run(args.repeat)

    floor = min(rows.samples["python -c pass"])
    print(f"start-up, whole processes, {args.repeat} runs each (ms)")
    print(f"{'':34} {'min':>7} {'median':>7} {'max':>7}  {'min / python -c pass':>20}")
    for name in rows.order:
        seconds = rows.samples[name]
        low, mid, high = min(seconds) * 1e3, statistics.median(seconds) * 1e3, max(seconds) * 1e3
        print(f"{name:34} {low:7.1f} {mid:7.1f} {high:7.1f}  {min(seconds) / floor:19.1f}x")


if __name__ == "__main__":
    main()
