"""Answers per second through `fermata serve`, beside LangGraph's `invoke`.

    python bench/serve_bench.py                      # SQLite; PostgreSQL too when $FERMATA_TEST_POSTGRES is set
    python bench/serve_bench.py --answers 200 --clients 8

For each store (SQLite file; PostgreSQL, a fresh database, when
``$FERMATA_TEST_POSTGRES`` names a server) and each number of server
processes (1 and 4, all on the one store, each on its own port of
127.0.0.1), and one ``serve --no-worker`` with one ``fermata worker
--concurrency 4`` that applies what it submits: runs of a one-question flow are started and left paused, then
a bounded local load generator (``--clients`` threads, each with its own
keep-alive connection, spread over the processes) answers each with
``POST /api/runs/THREAD/answers?wait=30``, which returns when the run is
done. Printed: answers/s over the whole batch, and p50 / p99 / max latency
of one answer (the request's wall time, as the client sees it). The server
runs at its default durability (``observable``: the done checkpoint is
forced to disk).

Beside it, the same cycle's second half without HTTP: LangGraph's
``invoke(Command(resume=...))`` in-process on its SqliteSaver (and
Fermata's own in-process ``invoke``, as served and at ``durability="fast"``,
which like LangGraph's SqliteSaver at synchronous=NORMAL forces nothing to
disk), one thread. ``langgraph dev`` (the
LangGraph API server) is not installed here (it needs ``langgraph-cli
[inmem]`` and a licence key for the server image), so its HTTP API is not
measured. Everything runs on this machine and only ever talks to
127.0.0.1; keep the whole run under ~3 minutes (``--answers``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

FLOW = '''
flow review {
    state {
        title: str
        approved: bool = false
    }
    input title
    output approved

    node ask {
        let ok = interrupt approval "Approve {{ title }}?" expect bool
        set approved = ok
    }

    start -> ask
    ask -> end
}
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def servers(flows: Path, store: str, count: int, log: Path, workers: int = 0) -> Iterator[list[str]]:
    """``count`` serve processes; with ``workers``, they are ``--no-worker``
    and one ``fermata worker --concurrency WORKERS`` advances the runs."""
    procs, urls = [], []
    env = {**os.environ, "FERMATA_SERVER_SECRET": "bench"}
    try:
        if workers:
            out = (log.parent / f"{log.stem}-worker.log").open("wb")
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "fermata.compiler.cli.main", "worker", str(flows), "--store", store,
                 "--concurrency", str(workers), "--log", "json"], stdout=out, stderr=subprocess.STDOUT, env=env))
        for i in range(count):
            port = free_port()
            out = (log.parent / f"{log.stem}-{i}.log").open("wb")
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "fermata.compiler.cli.main", "serve", str(flows), "--store", store,
                 "--port", str(port), "--log-level", "warning", "--tick", "0",
                 *(["--no-worker"] if workers else [])],
                stdout=out, stderr=subprocess.STDOUT, env=env))
            urls.append(f"http://127.0.0.1:{port}")
        procs_of_servers = procs[1:] if workers else procs
        for url, proc in zip(urls, procs_of_servers, strict=True):
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    logs = "\n".join(p.read_text(errors="replace") for p in log.parent.glob(f"{log.stem}-*.log"))
                    raise RuntimeError(f"a server exited:\n{logs[-3000:]}")
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("a server did not start within 60 s")
                time.sleep(0.1)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_runs(urls: list[str], count: int, clients: int) -> list[str]:
    threads: list[str] = []
    lock = threading.Lock()

    def work(k: int) -> None:
        with httpx.Client(base_url=urls[k % len(urls)], timeout=60) as c:
            for i in range(k, count, clients):
                r = c.post("/api/flows/review/runs?wait=30", json={"input": {"title": f"t{i}"}})
                assert r.status_code == 201, r.text
                with lock:
                    threads.append(r.json()["thread"])

    pool = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return threads


def answer_all(urls: list[str], threads: list[str], clients: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []

    def work(k: int) -> None:
        mine: list[float] = []
        with httpx.Client(base_url=urls[k % len(urls)], timeout=60) as c:
            for thread in threads[k::clients]:
                began = time.perf_counter()
                r = c.post(f"/api/runs/{thread}/answers?wait=30", json={"id": "ask:approval", "value": True})
                mine.append((time.perf_counter() - began) * 1e3)
                if r.status_code != 200 or r.json()["status"] != "done":
                    errors.append(f"{r.status_code} {r.text[:200]}")
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    began = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} answers failed, e.g. {errors[0]}")
    return len(threads) / elapsed, latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(name: str, rate: float, lat: list[float]) -> str:
    return (f"  {name:<44} {rate:8.1f} answers/s   p50 {statistics.median(lat):7.2f} ms   "
            f"p99 {pct(lat, 0.99):7.2f} ms   max {max(lat):7.2f} ms")


@contextlib.contextmanager
def postgres_database(admin: str) -> Iterator[str]:
    import psycopg

    name = f"fermata_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rpartition("/")[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------ in-process, no HTTP


def langgraph_cycle(tmp: Path, runs: int) -> tuple[float, list[float]]:
    from typing import TypedDict

    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Command, interrupt

    class State(TypedDict):
        title: str
        approved: bool

    graph = StateGraph(State)
    graph.add_node("ask", lambda s: {"approved": interrupt(f"Approve {s['title']}?")})
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    conn = sqlite3.connect(str(tmp / "langgraph.db"), check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()
    conn.execute("PRAGMA synchronous = NORMAL")
    app = graph.compile(checkpointer=saver)
    for i in range(runs):
        app.invoke({"title": f"t{i}", "approved": False}, {"configurable": {"thread_id": f"t{i}"}})
    lat = []
    began = time.perf_counter()
    for i in range(runs):
        t0 = time.perf_counter()
        out = app.invoke(Command(resume=True), {"configurable": {"thread_id": f"t{i}"}})
        lat.append((time.perf_counter() - t0) * 1e3)
        assert out["approved"] is True
    rate = runs / (time.perf_counter() - began)
    conn.close()
    return rate, lat


def fermata_cycle(flows: Path, store: str, runs: int, durability: str = "observable") -> tuple[float, list[float]]:
    from fermata.compiler import load
    from fermata.runtime import Command

    flow = load(flows / "review.flow", store=store, durability=durability)
    for i in range(runs):
        flow.invoke({"title": f"t{i}"}, thread=f"t{i}")
    lat = []
    began = time.perf_counter()
    for i in range(runs):
        t0 = time.perf_counter()
        run = flow.invoke(Command(resume=True), thread=f"t{i}")
        lat.append((time.perf_counter() - t0) * 1e3)
        assert run.status == "done"
    return runs / (time.perf_counter() - began), lat


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=200, help="answers per configuration (default 200)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--worker-threads", type=int, default=4,
                        help="also a row of 1 `serve --no-worker` + `fermata worker --concurrency N` "
                        "per store (0: not)")
    args = parser.parse_args()
    print(f"fermata serve: {args.answers} answers per row, {args.clients} client threads, "
          f"POST .../answers?wait=30 (returns when the run is done); {os.cpu_count()} CPUs")
    stores: list[str] = ["sqlite"]
    admin = os.environ.get("FERMATA_TEST_POSTGRES")
    if admin:
        stores.append("postgres")
    else:
        print("  (PostgreSQL skipped: set FERMATA_TEST_POSTGRES=postgresql://user@host:5432/postgres)")
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as tmp_name:
        tmp = Path(tmp_name)
        flows = tmp / "flows"
        flows.mkdir()
        (flows / "review.flow").write_text(FLOW, encoding="utf-8")
        setups = [(count, 0) for count in args.processes] + ([(1, args.worker_threads)] if args.worker_threads else [])
        for kind in stores:
            for count, workers in setups:
                with contextlib.ExitStack() as stack:
                    if kind == "sqlite":
                        store = f"sqlite:///{tmp / f'serve-{count}-{workers}.db'}"
                    else:
                        assert admin is not None
                        store = stack.enter_context(postgres_database(admin))
                    urls = stack.enter_context(servers(flows, store, count, tmp / f"{kind}-{count}-{workers}",
                                                       workers))
                    threads = start_runs(urls, args.answers, args.clients)
                    rate, lat = answer_all(urls, threads, args.clients)
                    name = (f"{kind}, 1 serve --no-worker + worker x{workers}" if workers else
                            f"{kind}, {count} server process{'es' if count > 1 else ''}")
                    print(row(name, rate, lat), flush=True)
        print(f"in-process, no HTTP, one thread, {args.answers} resumes (Command(resume=True) -> done):")
        print(row("LangGraph invoke, SqliteSaver (NORMAL)", *langgraph_cycle(tmp, args.answers)))
        print(row("Fermata invoke, SQLite (as served: observable)",
                  *fermata_cycle(flows, f"sqlite:///{tmp / 'inproc.db'}", args.answers)))
        print(row("Fermata invoke, SQLite, durability fast",
                  *fermata_cycle(flows, f"sqlite:///{tmp / 'inproc-fast.db'}", args.answers, "fast")))
        if admin:
            with postgres_database(admin) as url:
                print(row("Fermata invoke, PostgreSQL", *fermata_cycle(flows, url, args.answers)))
    print("langgraph dev (LangGraph's HTTP API server) is not available here: not measured")
    return 0


if __name__ == "__main__":
    sys.exit(main())
