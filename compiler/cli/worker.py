"""``fermata worker``: apply submitted work and carry runs forward.

    fermata worker --store postgresql://app@db/flows flows/ --concurrency 4

Loads every flow of the given files and folders (``.flow`` files and
compiled IR ``.json``), then runs ``--concurrency`` workers in this process
(each with its own store connection) until SIGTERM or SIGINT: the step in
flight finishes, its checkpoint is written, the run's lease is released, and
the process exits 0. What a worker does is ``runtime/worker.py``.

Logs go to stdout, one JSON object per line (``--log json``, the default
when stdout is not a terminal) or one readable line per event (``--log
text``); on a terminal, text logs end with a progress line counting what
the workers did so far.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from .common import EXIT_OK, UsageError, require_file, terminal_safe
from .compile import call_policy_for, compile_or_report


def flow_files(paths: list[str]) -> list[Path]:
    """The ``.flow`` and IR ``.json`` files of ``paths`` (folders searched
    recursively, hidden ones skipped), each once, in a stable order."""
    found: dict[Path, None] = {}
    for text in paths:
        path = Path(text)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and child.suffix in (".flow", ".json") and not hidden:
                    found.setdefault(child, None)
        else:
            require_file(text)
            found.setdefault(path, None)
    return list(found)


def _irs(files: list[Path], named: set[Path], allow: list[str]) -> list[tuple[Path, dict[str, Any]]]:
    """Each file's IR (compiled once for every worker of the process). A
    ``.json`` found in a folder that is not an IR is passed over; one named
    on the command line is an error."""
    from fermata.runtime.errors import FermataError

    from ..loading import is_ir_file, load_ir_file

    loaded = []
    for path in files:
        if is_ir_file(path):
            try:
                ir = load_ir_file(path)
            except FermataError as exc:
                if path in named:
                    raise UsageError(str(exc)) from None
                continue
        else:
            compiled = compile_or_report(str(path), call_policy_for(path, allow))
            if compiled is None:
                raise UsageError(f"{path} has errors (listed above): fix them or leave it out")
            ir = compiled
        loaded.append((path, ir))
    return loaded


def _graphs(irs: list[tuple[Path, dict[str, Any]]], store: Any, allow: list[str]) -> list[Any]:
    from ..loading import build_graph

    return [build_graph(ir, path, name, store, call_policy_for(path, allow))
            for path, ir in irs for name in sorted(ir["flows"])]


# The events the progress line counts, in the order it shows them.
_PROGRESS = ("claimed", "advanced", "paused", "done", "failed", "fired", "busy", "lease_lost")


class _Printer:
    """One line per event on stdout, whole lines only (workers are threads).
    With ``progress`` (text on a terminal) a last line, rewritten in place,
    counts the events so far: what a person watching wants at a glance."""

    def __init__(self, form: str, out: Any = None, progress: bool = False):
        self.form = form
        self.out = out or sys.stdout
        self.progress = progress and form == "text"
        self.counts = dict.fromkeys(_PROGRESS, 0)
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        if self.form == "json":
            line = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        else:
            rest = " ".join(f"{key}={value}" for key, value in event.items()
                            if key not in ("ts", "worker", "event", "thread"))
            line = terminal_safe(f"{event['event']:<10} {event.get('thread', '-')}  {rest}".rstrip())
        with self.lock:
            if not self.progress:
                self.out.write(line + "\n")
            else:
                if event["event"] in self.counts:
                    self.counts[event["event"]] += 1
                status = "  ".join(f"{kind} {count}" for kind, count in self.counts.items() if count)
                # Clear the progress line, print the event, then the line again.
                self.out.write(f"\r\x1b[K{line}\n{status or 'waiting for work'}")
            self.out.flush()


def run_worker(args: argparse.Namespace) -> int:
    from fermata.runtime.errors import StoreError
    from fermata.runtime.stores import open_store
    from fermata.runtime.worker import Worker

    paths = list(args.paths) + list(args.flow_file) or ["."]
    files = flow_files(paths)
    irs = _irs(files, {Path(p) for p in paths}, args.allow_call)
    if not irs:
        raise UsageError(f"no .flow or IR files in {', '.join(paths)}: name the flows this worker runs")
    tty = sys.stdout.isatty()
    log = _Printer(args.log or ("text" if tty else "json"), progress=tty)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    stores: list[Any] = []
    try:
        workers = []
        for index in range(args.concurrency):
            try:
                store = open_store(args.store)
            except StoreError as exc:
                raise UsageError(str(exc)) from None
            stores.append(store)
            workers.append(Worker(_graphs(irs, store, args.allow_call), lease_ttl=args.lease, log=log, stop=stop))
            if index == 0:
                log({"ts": round(time.time(), 3), "event": "started", "worker": workers[0].owner,
                     "store": getattr(store, "where", args.store),
                     "flows": sorted({g.name for g in workers[0].graphs.values()}),
                     "ir_hashes": sorted(workers[0].graphs), "concurrency": args.concurrency})
        threads = [threading.Thread(target=_work, args=(worker, args), name=f"worker-{i}", daemon=True)
                   for i, worker in enumerate(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)   # a bare join() would keep signals from being handled
        log({"ts": round(time.time(), 3), "event": "exited", "worker": workers[0].owner,
             "reason": "signal" if stop.is_set() else "idle"})
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for store in stores:
            store.close()
    return EXIT_OK


def _work(worker: Any, args: argparse.Namespace) -> None:
    wait = worker.queue.waiter(worker.stop)
    try:
        worker.run(wait, poll_max=args.poll_max, exit_when_idle=args.exit_when_idle)
    finally:
        close = getattr(wait, "close", None)
        if close is not None:
            close()
