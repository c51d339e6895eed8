"""A SIGKILL campaign against `fermata worker` processes.

    python bench/worker_campaign.py [--store URL] [--runs 300] [--kills 200] [--workers 3]

A mixed workload (new runs, answers submitted as runs pause, a `call once`
in two of each run's steps, plain steps between) is applied by
``--workers`` worker processes while this script kills one of them with
SIGKILL every 10-80 ms (at random: in a `once` call, in a commit, in a
claim, idle) and starts a replacement, until ``--kills`` kills. Then the
survivors finish the work, and it checks:

* every run ended ``done``, with the state an undisturbed run ends with;
* every submission was applied (none lost, none refused, none open);
* no `once` effect happened twice, except where the process that made it
  first was killed before the result was saved (the only window the
  runtime cannot close, and that `idempotency_key()` is for);
* no two processes advanced one run at the same time (the effects of a
  thread never overlap in time).

Without ``--store``: a SQLite file in a temporary folder; with
``postgresql://...``: a fresh database created from it and dropped after.
tests/bench/test_worker_campaign.py runs a bounded version in CI.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLOW = """
flow campaign {
    state {
        ledger: str
        prepared: str = ""
        approved: bool = false
        paid: str = ""
        steps: int = 0
    }
    input ledger

    node prepare {
        let p = call once "worker_campaign:effect"(ledger, "prepare")
        set prepared = p
    }
    node count1 { set steps = steps + 1 }
    node review {
        let ok = interrupt approval "Approve?" expect bool
        set approved = ok
    }
    node count2 { set steps = steps + 1 }
    node pay {
        let r = call once "worker_campaign:effect"(ledger, "pay")
        set paid = r
    }

    start -> prepare
    prepare -> count1
    count1 -> review
    review -> count2
    count2 -> pay
    pay -> end
}
"""
FINAL = {"prepared": "prepare", "approved": True, "paid": "pay", "steps": 2}
EFFECT_S = float(os.environ.get("WORKER_CAMPAIGN_EFFECT_S", "0.002"))


def effect(ledger: str, tag: str) -> str:
    """The side effect: a line ``pid key tag start end`` in the ledger."""
    from fermata.runtime import idempotency_key

    start = time.time()
    if EFFECT_S:
        time.sleep(EFFECT_S)   # the call takes a while: kills land inside it too
    with open(ledger, "a", encoding="utf-8") as out:
        out.write(f"{os.getpid()} {idempotency_key()} {tag} {start} {time.time()}\n")
    return tag


def compiled() -> dict[str, Any]:
    from fermata.compiler.pipeline import compile_source

    ir: dict[str, Any] = compile_source(FLOW, "campaign.flow")
    return ir


@contextmanager
def database(url: str | None, folder: Path) -> Iterator[str]:
    """The store URL: a SQLite file in ``folder``, or a fresh PostgreSQL database."""
    if url is None or url.startswith("sqlite:"):
        yield url or f"sqlite:///{folder / 'runs.db'}"
        return
    import psycopg

    name = f"fermata_campaign_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _work(url: str, ir: dict[str, Any], lease_s: float) -> None:
    """A worker process (forked: imports done, its own store connection)."""
    import threading

    from fermata.runtime import Graph
    from fermata.runtime.worker import Worker

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    graph = Graph.from_ir(ir, store=url)
    worker = Worker([graph], lease_ttl=lease_s, stop=stop)
    worker.run(worker.queue.waiter(stop), poll_max=0.05)
    graph.store.close()


def _start(ctx: Any, url: str, ir: dict[str, Any], lease_s: float) -> Any:
    process = ctx.Process(target=_work, args=(url, ir, lease_s), daemon=True)
    process.start()
    return process


@dataclass
class Report:
    runs: int
    kills: int
    seconds: float
    done: int = 0
    wrong_state: list[str] = field(default_factory=list)
    open_work: int = 0
    refused: int = 0
    effects: int = 0
    repeated_by_killed: int = 0          # effects made again because the first maker was killed mid-call
    repeated_after_commit: list[str] = field(default_factory=list)
    overlaps: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.done == self.runs and not self.wrong_state and self.open_work == 0 and self.refused == 0
                and not self.repeated_after_commit and not self.overlaps)

    def summary(self) -> str:
        return (f"{self.kills} SIGKILLs over {self.runs} runs in {self.seconds:.1f} s: "
                f"{self.done}/{self.runs} done, {len(self.wrong_state)} with a wrong final state, "
                f"{self.open_work} submissions open, {self.refused} refused; {self.effects} once effects, "
                f"{self.repeated_by_killed} repeated after a kill inside the call, "
                f"{len(self.repeated_after_commit)} repeated after their result was saved, "
                f"{len(self.overlaps)} overlapping advancers -> {'OK' if self.ok else 'FAILED'}")


def campaign(url: str, runs: int, kills: int, workers: int = 3, seed: int = 1, lease_s: float = 5.0,
             folder: Path | None = None, deadline_s: float = 600.0) -> Report:
    from fermata.runtime import Command, Graph
    from fermata.runtime.records import WorkStatus

    sys.path.insert(0, str(Path(__file__).resolve().parent))   # `worker_campaign:effect` imports
    folder = folder or Path(tempfile.mkdtemp())
    ledger = str(folder / "ledger")
    ir = compiled()
    rng = random.Random(seed)
    ctx = multiprocessing.get_context("fork")
    graph = Graph.from_ir(ir, store=url)
    tickets = [graph.submit({"ledger": ledger}, thread=f"run{i:04d}").id for i in range(runs)]
    answered: set[str] = set()
    pool = [_start(ctx, url, ir, lease_s) for _ in range(workers)]
    killed: set[int] = set()
    began = time.monotonic()
    try:
        while time.monotonic() - began < deadline_s:
            answered |= _answer_paused(graph, answered, tickets, Command)
            if len(killed) < kills:
                time.sleep(rng.uniform(0.01, 0.08))
                victim = rng.randrange(len(pool))
                os.kill(pool[victim].pid, signal.SIGKILL)
                pool[victim].join()
                killed.add(pool[victim].pid)
                pool[victim] = _start(ctx, url, ir, lease_s)
            else:
                time.sleep(0.05)
                if len(answered) == runs and _all_done(graph, runs):
                    break
    finally:
        for process in pool:
            process.terminate()
        for process in pool:
            process.join(30)
    report = Report(runs, len(killed), time.monotonic() - began)
    _verify(report, graph, ledger, killed, tickets, WorkStatus)
    graph.store.close()
    return report


def _answer_paused(graph: Any, answered: set[str], tickets: list[int], command: Any) -> set[str]:
    """Submit the answer of every run that paused and was not answered yet."""
    new = set()
    after = None
    while True:
        page = graph.store.pending_interrupts(after=after, limit=500)
        for entry in page:
            if entry.thread not in answered:
                tickets.append(graph.submit(command(resume=True), thread=entry.thread).id)
                new.add(entry.thread)
        if len(page) < 500:
            return new
        after = page[-1].key


def _all_done(graph: Any, runs: int) -> bool:
    done = 0
    after = None
    while True:
        page = graph.store.list_runs(status="done", after=after, limit=1000)
        done += len(page)
        if len(page) < 1000:
            return done == runs
        after = page[-1].thread


def _verify(report: Report, graph: Any, ledger: str, killed: set[int], tickets: list[int], status: Any) -> None:
    for i in range(report.runs):
        run = graph.state(f"run{i:04d}")
        if run is not None and run.status == "done":
            report.done += 1
            if any(run.state[k] != v for k, v in FINAL.items()):
                report.wrong_state.append(run.thread)
    for ticket in tickets:
        work = graph.submission(ticket)
        report.open_work += work.status in (status.QUEUED, status.CLAIMED)
        report.refused += work.status == status.REFUSED
    by_key: dict[str, list[tuple[int, float, float]]] = {}
    by_thread: dict[str, list[tuple[float, float, int]]] = {}
    with open(ledger, encoding="utf-8") as text:
        for line in text:
            pid, key, _, start, end = line.split()
            by_key.setdefault(key, []).append((int(pid), float(start), float(end)))
            by_thread.setdefault(key.split("/")[0], []).append((float(start), float(end), int(pid)))
    report.effects = sum(len(v) for v in by_key.values())
    for key, made in by_key.items():
        made.sort(key=lambda m: m[1])
        earlier = made[:-1]
        report.repeated_by_killed += len(earlier)
        if any(pid not in killed for pid, _, _ in earlier):
            report.repeated_after_commit.append(key)
    for thread, spans in by_thread.items():
        spans.sort()
        for a, b in itertools.pairwise(spans):
            if b[0] < a[1]:
                report.overlaps.append(thread)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", help="postgresql://... (a fresh database is made from it) or sqlite:///...")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, database(args.store, Path(tmp)) as url:
        report = campaign(url, args.runs, args.kills, args.workers, args.seed, folder=Path(tmp))
    print(json.dumps(report.__dict__, default=list) if args.json else report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
