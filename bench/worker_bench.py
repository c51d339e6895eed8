"""Workers' figures, side by side with LangGraph's PostgresSaver, in one run.

    python bench/worker_bench.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
        [--quick] [--cycles 500] [--kills 200] [--paused 100000] [--only 0,1,2,3,4,5]
        [--before OTHER_PYTHON] [--repeat 2]

0. What one interrupt cycle costs the server (bench/worker_counts.py): WAL
   syncs, commits and statements per cycle, Fermata and LangGraph, and what
   one commit costs with and without the WAL flush. With ``--before``, the
   Fermata of that interpreter (another checkout's venv) is counted too.
1. Interrupt cycles per second (start, pause, answer, done: the refund flow
   of bench/vs_langgraph.py) with 1, 2 and 4 worker processes on PostgreSQL
   and on SQLite, and LangGraph (`PostgresSaver`) doing the same cycle in
   1, 2 and 4 processes. Each Fermata process submits its share of new runs
   (`flow.submit`) and works the queue until it is empty, then (all runs
   paused) submits its share of answers and works the queue again: the
   clock includes the submissions. LangGraph has no queue, so each process
   invokes its share directly. With ``--before``, the Fermata PG figure of
   that interpreter is measured in turns with this one's (``--repeat``
   rounds; min/median/max over them).
2. Per-step cost on PostgreSQL (a 200-node chain, one checkpoint per step)
   vs `PostgresSaver` at its default durability ("async": checkpoints are
   written while the next step runs) and at Fermata's ("sync": written
   before the next step). Both on one server, `synchronous_commit` as shown.
3. Recovery time: from SIGKILL of a worker inside a step to another worker
   running that step again; (a) the killed worker was on this host (its
   lease is let go as soon as its process is seen gone), (b) it was on
   another host (simulated: the lease's owner is renamed to another host's
   before the kill, so the lease must expire).
4. ``--paused`` paused runs in PostgreSQL (bulk-copied from a real paused
   run): table sizes, and the inbox query of one label with its EXPLAIN.
5. The SIGKILL campaign of bench/worker_campaign.py (``--kills``) on
   PostgreSQL and SQLite.

Every PostgreSQL figure uses a fresh database, dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vs_langgraph import fermata_chain, fermata_refund, lg_chain, lg_config, lg_refund
from worker_campaign import campaign, database

CTX = multiprocessing.get_context("fork")


# ------------------------------------------------------------------ 0. what a cycle costs the server


def counts(pg: str, tmp: Path, runs: int, before: str | None) -> None:
    import subprocess

    import worker_counts

    with database(pg, tmp) as url:
        cost = worker_counts.commit_cost(url)
    print(f"\n0. what a cycle costs the server: per run, the least of 2 tries of {runs} runs; a fresh database "
          "each (server default synchronous_commit=on)")
    for setting, (low, mid, high, syncs) in cost.items():
        print(f"   one-row commit, synchronous_commit={setting:<3}: min {low:6.0f} us, median {mid:6.0f}, "
              f"max {high:6.0f} ({syncs:.2f} WAL syncs per commit, 200 commits)")
    sides: list[tuple[str, dict[str, dict[str, float]]]] = []
    for name, python in ([("Fermata (before)", before)] if before else []) + [("Fermata", sys.executable)]:
        with database(pg, tmp) as url:
            out = subprocess.run([python, str(Path(worker_counts.__file__)), url, "--runs", str(runs)],
                                 capture_output=True, text=True, check=True, timeout=900)
            sides.append((name, json.loads(out.stdout.splitlines()[-1])))
    worker_counts.count_statements()
    for mode in ("sync", "async"):
        with database(pg, tmp) as url:
            sides.append((f"LangGraph {mode}" + (" (default)" if mode == "async" else ""),
                          worker_counts.langgraph_counts(url, runs, mode)))
    print(f"   {'per cycle':<44} {'WAL syncs':>9} {'commits':>8} {'statements':>11} {'client CPU ms':>14}")
    totals = {}
    for name, phases in sides:
        for phase, found in phases.items():
            print(f"   {name + ': ' + phase:<44} {found['wal_syncs']:9.2f} {found['commits']:8.2f} "
                  f"{found['statements']:11.2f} {found['client_cpu_ms']:14.2f}")
        totals[name] = worker_counts.total(phases)
        found = totals[name]
        print(f"   {name + ': cycle':<44} {found['wal_syncs']:9.2f} {found['commits']:8.2f} "
              f"{found['statements']:11.2f} {found['client_cpu_ms']:14.2f}")
    ours, theirs = totals["Fermata"]["wal_syncs"], totals["LangGraph sync"]["wal_syncs"]
    print(f"   bound where the WAL flush dominates: LangGraph syncs / Fermata syncs = {theirs:.1f} / {ours:.1f} "
          f"= {theirs / ours:.1f}x per process")
    ours, theirs = totals["Fermata"]["client_cpu_ms"], totals["LangGraph sync"]["client_cpu_ms"]
    print(f"   where the client's CPU dominates: LangGraph / Fermata = {theirs:.2f} / {ours:.2f} ms "
          f"= {theirs / ours:.1f}x")


# ------------------------------------------------------------------ 1. cycles per second


def _cycle_share(url: str, ir: dict[str, Any], runs: int, tag: str, middle: Any, barrier: Any, index: int,
                 processes: int) -> None:
    from fermata.runtime import Command, Graph
    from fermata.runtime.worker import Worker

    graph = Graph.from_ir(ir, store=url)
    worker = Worker([graph])
    mine = [f"{tag}-{i}" for i in range(index, runs, processes)]
    barrier.wait()
    for i, thread in enumerate(mine):
        graph.submit({"amount": 500.0 + i}, thread=thread)
    while worker.run_once():
        pass
    middle.wait(600)   # every run paused (each process worked the queue until it was empty)
    for thread in mine:
        graph.submit(Command(resume=True), thread=thread)
    while worker.run_once():
        pass
    graph.store.close()


def _timed(target: Any, processes: int, *args: Any) -> float:
    """Seconds from the moment ``processes`` children are ready until the last ends."""
    barrier = CTX.Barrier(processes + 1)
    extra = (CTX.Barrier(processes),) if target is _cycle_share else ()
    children = [CTX.Process(target=target, args=(*args, *extra, barrier, i, processes)) for i in range(processes)]
    for child in children:
        child.start()
    barrier.wait()
    began = time.perf_counter()
    for child in children:
        child.join()
        assert child.exitcode == 0, child.exitcode
    return time.perf_counter() - began


def fermata_cycles(url: str, workers: int, runs: int, tag: str) -> float:
    from fermata.runtime import Graph

    ir = fermata_refund()
    Graph.from_ir(ir, store=url).store.close()   # the schema, before the processes start
    seconds = _timed(_cycle_share, workers, url, ir, runs, tag)
    graph = Graph.from_ir(ir, store=url)
    finished = [graph.state(f"{tag}-{i}") for i in range(runs)]
    assert all(run is not None and run.status == "done" for run in finished)
    graph.store.close()
    return runs / seconds


def _before_cycles(python: str, url: str, workers: int, runs: int, tag: str) -> float:
    """``fermata_cycles`` run by another interpreter (another checkout's Fermata)."""
    import subprocess

    out = subprocess.run([python, __file__, "--cycles-probe", url, str(workers), str(runs), tag],
                         capture_output=True, text=True, check=True, timeout=900)
    return float(out.stdout.split()[-1])


def _lg_share(url: str, runs: int, tag: str, durability: str, barrier: Any, index: int, processes: int) -> None:
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.types import Command as LGCommand

    with PostgresSaver.from_conn_string(url) as saver:
        app = lg_refund(saver)
        mine = [f"{tag}-{i}" for i in range(index, runs, processes)]
        barrier.wait()
        for thread in mine:
            app.invoke({"amount": 500.0, "risk": 0.0, "approved": False, "log": []}, lg_config(thread),
                       durability=durability)
        for thread in mine:
            out = app.invoke(LGCommand(resume=True), lg_config(thread), durability=durability)
            assert out["log"][-1] == "paid"


def lg_cycles(url: str, processes: int, runs: int, tag: str, durability: str = "sync") -> float:
    return runs / _timed(_lg_share, processes, url, runs, tag, durability)


def _commit(url: str, setting: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{url.rsplit("/", 1)[1]}" SET synchronous_commit = {setting}')
    return url


def cycles(pg: str | None, tmp: Path, runs: int, commit: str = "on", before: str | None = None,
           repeat: int = 1) -> None:
    print(f"\n1. interrupt cycles/s (submit, start, pause, submit answer, done), {runs} runs per figure, "
          f"PostgreSQL synchronous_commit={commit}, {repeat} round(s) in turns: min/median/max")
    names = (["Fermata PG (before)"] if before else []) + ["Fermata PG", "Fermata SQLite", "LangGraph PG sync",
                                                            "LangGraph PG async"]
    found: dict[tuple[int, str], list[float]] = {}
    for round_ in range(repeat):
        for n in (1, 2, 4):
            tag = f"{n}r{round_}"
            if pg is not None:
                if before:
                    with database(pg, tmp) as url:
                        found.setdefault((n, names[0]), []).append(
                            _before_cycles(before, _commit(url, commit), n, runs, f"b{tag}"))
                with database(pg, tmp) as url:
                    found.setdefault((n, "Fermata PG"), []).append(fermata_cycles(_commit(url, commit), n, runs,
                                                                                  f"p{tag}"))
                with database(pg, tmp) as url:
                    _lg_setup(_commit(url, commit))
                    found.setdefault((n, "LangGraph PG sync"), []).append(lg_cycles(url, n, runs, f"l{tag}", "sync"))
                    found.setdefault((n, "LangGraph PG async"), []).append(
                        lg_cycles(url, n, runs, f"a{tag}", "async"))
            found.setdefault((n, "Fermata SQLite"), []).append(
                fermata_cycles(f"sqlite:///{tmp / f'cycles{tag}.db'}", n, runs, f"s{tag}"))
    print(f"   {'':<20} " + " ".join(f"{f'{n} process' + ('es' if n > 1 else ''):>17}" for n in (1, 2, 4)))
    for name in names:
        cells = []
        for n in (1, 2, 4):
            got = sorted(found.get((n, name), []))
            cells.append(f"{got[0]:5.0f} {statistics.median(got):5.0f} {got[-1]:5.0f}" if got else f"{'-':>17}")
        print(f"   {name:<20} " + " ".join(cells))
    if pg is not None:
        ratios = []
        for n in (1, 2, 4):
            ours, lg = statistics.median(found[(n, "Fermata PG")]), statistics.median(found[(n, "LangGraph PG sync")])
            lg_async = statistics.median(found[(n, "LangGraph PG async")])
            ratios.append(f"{n}: {ours / lg:.1f}x ({ours / lg_async:.1f}x its default)")
        print("   Fermata PG / LangGraph PG sync, medians: " + ", ".join(ratios))
        print("   durability read back: " + durability_read_back(pg, tmp, commit))
    print(f"   {os.cpu_count()} CPU(s) on this machine; LangGraph 'async' is its default durability.")


def durability_read_back(pg: str, tmp: Path, commit: str) -> str:
    """What each side's transactions actually run with, asked of the server."""
    from fermata.runtime.store.postgres import PostgresStore

    with database(pg, tmp) as url:
        _commit(url, commit)
        store = PostgresStore(url)
        shown = {}
        for durable in (True, False):
            with store._transaction(durable) as tx:
                shown[durable] = tx.execute("SHOW synchronous_commit").fetchone()[0]
        store.close()
        from langgraph.checkpoint.postgres import PostgresSaver

        with PostgresSaver.from_conn_string(url) as saver:
            lg = saver.conn.execute("SHOW synchronous_commit").fetchone()
            lg_value = lg["synchronous_commit"] if isinstance(lg, dict) else lg[0]
    return (f"Fermata durable commits (submit, pause, done) synchronous_commit={shown[True]}, others "
            f"{shown[False]}; LangGraph (every commit) {lg_value}; Fermata SQLite: WAL, synchronous=NORMAL, "
            "FULL for durable commits")


def _lg_setup(url: str) -> None:
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(url) as saver:
        saver.setup()


# ------------------------------------------------------------------ 2. per-step cost


def per_step(pg: str, tmp: Path, quick: bool) -> None:
    n, repeat = (100, 2) if quick else (200, 3)
    print(f"\n2. per-step cost on PostgreSQL, a {n}-node chain (best of {repeat}), us/step")
    print(f"   {'synchronous_commit':<19} {'Fermata':>8} {'LG sync':>8} {'LG async (default)':>19}")
    for setting in ("on", "off"):
        fm, lg = _per_step(pg, tmp, n, repeat, setting)
        print(f"   {setting:<19} {fm:>8.0f} {lg['sync']:>8.0f} {lg['async']:>19.0f}   "
              f"(LangGraph / Fermata: {lg['sync'] / fm:.1f}x, {lg['async'] / fm:.1f}x)")
    print("   Fermata writes each checkpoint before the next step (= LangGraph durability='sync'); 'async' writes")
    print("   it while the next step runs. synchronous_commit=off: commits do not wait for the WAL flush (both).")


def _per_step(pg: str, tmp: Path, n: int, repeat: int, setting: str) -> tuple[float, dict[str, float]]:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver

    from fermata.runtime import Graph

    with database(pg, tmp) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{url.rsplit("/", 1)[1]}" SET synchronous_commit = {setting}')
        ir = fermata_chain(n)
        fm = []
        for attempt in range(repeat):
            graph = Graph.from_ir(ir, store=url)
            began = time.perf_counter()
            graph.invoke({}, thread=f"chain{attempt}", step_limit=n + 10)
            fm.append((time.perf_counter() - began) / n * 1e6)
            graph.store.close()
        _lg_setup(url)
        lg: dict[str, list[float]] = {"async": [], "sync": []}
        with PostgresSaver.from_conn_string(url) as saver:
            app = lg_chain(n, saver)
            for mode, times in lg.items():
                for attempt in range(repeat):
                    began = time.perf_counter()
                    app.invoke({"x": 0}, lg_config(f"lg-{mode}-{attempt}"), durability=mode)
                    times.append((time.perf_counter() - began) / n * 1e6)
    return min(fm), {mode: min(times) for mode, times in lg.items()}


# ------------------------------------------------------------------ 3. recovery


HOLD = """
flow hold {
    state {
        marker: str
        x: int = 0
    }
    input marker
    node slow {
        let t = call "worker_bench:hold"(marker)
        set x = x + 1
    }
    start -> slow
    slow -> end
}
"""


def hold(marker: str) -> str:
    """The first call blocks (its worker is killed in it); later ones return.
    Each call appends ``pid time`` to the marker file."""
    first = not os.path.exists(marker)
    with open(marker, "a", encoding="utf-8") as out:
        out.write(f"{os.getpid()} {time.time()}\n")
    if first:
        time.sleep(3600)
    return "held"


def _serve(url: str, ir: dict[str, Any], lease_s: float) -> None:
    import threading

    from fermata.runtime import Graph
    from fermata.runtime.worker import Worker

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker = Worker([Graph.from_ir(ir, store=url)], lease_ttl=lease_s, stop=stop)
    worker.run(worker.queue.waiter(stop), poll_max=0.1)


def recovery(url: str, tmp: Path, lease_s: float, remote: bool) -> float:
    from fermata.compiler.pipeline import compile_source
    from fermata.runtime import Graph

    ir = compile_source(HOLD, "hold.flow")
    marker = tmp / f"marker-{remote}-{time.monotonic_ns()}"
    graph = Graph.from_ir(ir, store=url)
    workers = [CTX.Process(target=_serve, args=(url, ir, lease_s)) for _ in range(2)]
    for worker in workers:
        worker.start()
    graph.submit({"marker": str(marker)}, thread="held")
    while not marker.exists():
        time.sleep(0.005)
    pid = int(marker.read_text().split()[0])
    if remote:   # the holder is on another host: only the lease's expiry can free the run
        _rename_owner(graph.store, "held")
    os.kill(pid, signal.SIGKILL)
    killed = time.time()
    next(w for w in workers if w.pid == pid).join()   # reaped, as its parent (a shell, systemd) would
    while len(marker.read_text().splitlines()) < 2:
        time.sleep(0.005)
    resumed = float(marker.read_text().splitlines()[1].split()[1])
    for worker in workers:
        if worker.pid != pid:
            worker.terminate()
        worker.join(30)
    graph.store.close()
    return resumed - killed


def _rename_owner(store: Any, thread: str) -> None:
    from fermata.runtime.store.postgres import PostgresStore

    if isinstance(store, PostgresStore):
        store._run("UPDATE fermata.leases SET owner = 'elsewhere:1:1' WHERE thread = %s", (thread,))
    else:
        with store._transaction() as tx:
            tx.execute("UPDATE leases SET owner = 'elsewhere:1:1' WHERE thread = ?", (thread,))


def recoveries(pg: str | None, tmp: Path, lease_s: float) -> None:
    print(f"\n3. recovery: SIGKILL of a worker inside a step -> another worker runs the step again "
          f"(lease {lease_s:g} s, idle poll <= 0.1 s)")
    stores = [("SQLite", lambda: _sqlite(tmp))] + ([("PostgreSQL", lambda: database(pg, tmp))] if pg else [])
    for name, make in stores:
        for remote in (False, True):
            with make() as url:
                seconds = recovery(url, tmp, lease_s, remote)
            where = "another host (the lease expires)" if remote else "this host (its process is gone)"
            print(f"   {name:<10} killed worker on {where:<34} {seconds:6.2f} s "
                  f"({seconds / lease_s:.2f} lease periods)")


class _sqlite:
    def __init__(self, tmp: Path):
        self.path = tmp / f"recovery-{time.monotonic_ns()}.db"

    def __enter__(self) -> str:
        return f"sqlite:///{self.path}"

    def __exit__(self, *exc: object) -> None:
        return None


# ------------------------------------------------------------------ 4. many paused runs


def paused(pg: str, tmp: Path, count: int) -> None:
    import psycopg

    from fermata.runtime import Graph

    with database(pg, tmp) as url:
        graph = Graph.from_ir(fermata_refund(), store=url)
        graph.invoke({"amount": 500.0}, thread="seed")
        graph.store.close()
        labels = ["approval", "legal", "finance", "ops"]
        with psycopg.connect(url, autocommit=True) as conn:
            began = time.perf_counter()
            conn.execute(
                "INSERT INTO fermata.threads (thread, flow, ir_hash, source, source_hash, created, last_seq, "
                "full_seq, full_bytes, since_count, since_bytes, status) SELECT 'run' || lpad(g::text, 7, '0'), "
                "flow, ir_hash, source, source_hash, created, last_seq, full_seq, full_bytes, since_count, "
                "since_bytes, status FROM fermata.threads, generate_series(1, %s) g WHERE thread = 'seed'",
                (count,))
            conn.execute("INSERT INTO fermata.checkpoints (thread_id, seq, kind, body) SELECT t.id, c.seq, c.kind, "
                         "c.body FROM fermata.threads t, fermata.checkpoints c JOIN fermata.threads s "
                         "ON s.id = c.thread_id AND s.thread = 'seed' WHERE t.thread <> 'seed'")
            conn.execute("INSERT INTO fermata.pending (thread_id, id, node, label) SELECT t.id, 'review:' || l, "
                         "'review', l FROM (SELECT id, CASE WHEN id %% 1000 = 0 THEN 'audit' "
                         "ELSE (%s::text[])[1 + id %% 4] END AS l FROM fermata.threads WHERE thread <> 'seed') t",
                         (labels,))
            conn.execute("VACUUM ANALYZE fermata.threads")
            conn.execute("VACUUM ANALYZE fermata.pending")
            conn.execute("VACUUM ANALYZE fermata.checkpoints")
            built = time.perf_counter() - began
            sizes = conn.execute(
                "SELECT c.relname, pg_size_pretty(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = 'fermata' AND c.relkind = 'r' ORDER BY "
                "pg_total_relation_size(c.oid) DESC").fetchall()
            plans = {}
            for label in ("legal", "audit"):
                query = ("SELECT t.thread, t.flow, p.id, p.node, p.label FROM fermata.threads t "
                         "JOIN fermata.pending p ON p.thread_id = t.id WHERE t.status = 'interrupted' "
                         f"AND p.label = '{label}' ORDER BY t.thread, p.id LIMIT 100")
                plans[label] = [row[0] for row in
                                conn.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + query)]
        from fermata.runtime.store.postgres import PostgresStore

        store = PostgresStore(url)
        timing = {}
        for label in plans:
            times = []
            for _ in range(20):
                began = time.perf_counter()
                page = store.pending_interrupts(label=label, limit=100)
                times.append((time.perf_counter() - began) * 1e3)
            began = time.perf_counter()
            deeper = store.pending_interrupts(label=label, after=page[-1].key, limit=100)
            timing[label] = (sorted(times)[len(times) // 2], (time.perf_counter() - began) * 1e3, len(deeper))
        store.close()
    print(f"\n4. {count:,} paused runs in PostgreSQL (bulk-copied from one real paused run in {built:.1f} s; "
          "labels: 4 common, 1 rare)")
    for name, size in sizes:
        print(f"   {name:<14} {size}")
    for label, share in (("legal", "1 in 4 runs"), ("audit", "1 in 1,000 runs")):
        first, second, entries = timing[label]
        print(f"   inbox of label `{label}` ({share}), a page of 100: median {first:.2f} ms (of 20); "
              f"next page {second:.2f} ms ({entries} entries). EXPLAIN ANALYZE:")
        for line in plans[label]:
            print(f"     {line}")


# ------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("FERMATA_TEST_POSTGRES"),
                        help="an admin URL to create the benchmark's databases from")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--cycles", type=int, default=500, help="runs per cycles/s figure")
    parser.add_argument("--commit", default="on", help="PostgreSQL synchronous_commit for section 1 (on,off: both)")
    parser.add_argument("--paused", type=int, default=100_000)
    parser.add_argument("--lease", type=float, default=2.0, help="workers' lease for the recovery figure")
    parser.add_argument("--only", help="comma-separated sections to run (0-5)")
    parser.add_argument("--before", help="another interpreter (another checkout's venv) whose Fermata sections "
                                         "0 and 1 measure too, in turns with this one's")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of section 1")
    parser.add_argument("--count-runs", type=int, default=50, help="runs per count of section 0")
    parser.add_argument("--cycles-probe", nargs=4, metavar=("URL", "PROCESSES", "RUNS", "TAG"),
                        help=argparse.SUPPRESS)   # one Fermata PG figure of section 1 (for --before)
    args = parser.parse_args(argv)
    if args.cycles_probe:
        logging.getLogger("fermata.store").setLevel(logging.ERROR)
        url, processes, runs, tag = args.cycles_probe
        print(fermata_cycles(url, int(processes), int(runs), tag))
        return 0
    logging.getLogger("fermata.store").setLevel(logging.ERROR)   # "created the schema" of each fresh database
    sections = set((args.only or "0,1,2,3,4,5").split(","))
    import langgraph.version as lg_version
    import psycopg

    print(f"Python {sys.version.split()[0]}, psycopg {psycopg.__version__}, "
          f"langgraph {getattr(lg_version, '__version__', '?')}, {os.cpu_count()} CPU(s), "
          f"load average {os.getloadavg()[0]:.1f} at start")
    if args.postgres is None:
        print("(no --postgres or $FERMATA_TEST_POSTGRES: the PostgreSQL figures are left out)")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        if "0" in sections and args.postgres:
            counts(args.postgres, tmp, 20 if args.quick else args.count_runs, args.before)
        if "1" in sections:
            for commit in args.commit.split(","):
                cycles(args.postgres, tmp, 100 if args.quick else args.cycles, commit, args.before, args.repeat)
        if "2" in sections and args.postgres:
            per_step(args.postgres, tmp, args.quick)
        if "3" in sections:
            recoveries(args.postgres, tmp, args.lease)
        if "4" in sections and args.postgres:
            paused(args.postgres, tmp, 10_000 if args.quick else args.paused)
        if "5" in sections:
            print(f"\n5. SIGKILL campaign ({args.kills} kills, 3 workers, bench/worker_campaign.py)")
            runs = max(100, args.kills)
            for name, store in ([("PostgreSQL", args.postgres)] if args.postgres else []) + [("SQLite", None)]:
                with database(store, tmp) as url:
                    report = campaign(url, runs, args.kills, folder=tmp)
                print(f"   {name:<10} {report.summary()}")
                (tmp / "ledger").unlink(missing_ok=True)
    print(f"\n({time.perf_counter() - began:.0f} s, load average {os.getloadavg()[0]:.1f} at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
