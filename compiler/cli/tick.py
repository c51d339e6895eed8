"""``fermata tick``: fire every due deadline, reminder and ``wait`` timer of
a store (run it from cron, every minute or so).

Due runs are found through the store's due index; each is fired with the
flow file it records (as ``fermata resume`` without FILE would load it),
under its lease, so several ``tick``s (or a tick and a worker) never fire
one deadline twice.
"""

from __future__ import annotations

import argparse
from typing import Any

from .common import EXIT_OK, EXIT_USAGE, UsageError, dump_json, write_err, write_out


def run_tick(args: argparse.Namespace) -> int:
    from fermata.runtime.ticking import Tick, TickReport

    from .run import _load_graph, _open_store, _recorded_file

    store = _open_store(args.store, create=False)
    try:
        tick = Tick.at(args.now, _system_clock())
    except ValueError as exc:
        raise UsageError(f"--now: {exc}") from None
    report = TickReport(tick.iso)
    graphs: dict[tuple[str, str], Any] = {}
    for thread in tick.due_threads(store, None):
        info = store.thread(thread)
        if info is None:
            continue
        try:
            file = _recorded_file(info)
            key = (file, info.flow)
            if key not in graphs:
                graphs[key] = _load_graph(file, info.flow, store)
        except UsageError as exc:
            report.errors[thread] = str(exc)
            continue
        graph = graphs[key]
        if graph is None:
            report.errors[thread] = f"{file} does not compile (see `fermata check {file}`)"
            continue
        one = graph.tick_thread(thread, tick.now)
        report.fired += one.fired
        report.busy += one.busy
        report.errors.update(one.errors)
    if args.json:
        write_out(dump_json(report.to_json(), indent=2) + "\n")
    else:
        for entry in report.fired:
            what = ", ".join(f"{f['kind']} {f['id']}" + (f" -> {f['goto']}" if "goto" in f else "")
                             for f in entry["fired"])
            write_out(f"{entry['thread']}: fired {what}; now {entry['status']}\n")
        for thread in report.busy:
            write_out(f"{thread}: busy (another process holds the run), left for the next tick\n")
        if not report.fired and not report.busy and not report.errors:
            write_out(f"nothing due at {report.now}\n")
    for thread, problem in sorted(report.errors.items()):
        write_err(f"fermata tick: {thread}: {problem}\n")
    return EXIT_USAGE if report.errors else EXIT_OK


def _system_clock() -> Any:
    from fermata.runtime.clock import default_clock

    return default_clock
