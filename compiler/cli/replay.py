"""``fermata replay``: check a changed spec against recorded runs before it merges.

    fermata replay examples/refund.flow --store sqlite:///.fermata/runs.db
    fermata replay examples/refund.flow --history examples/runs/refund-approved.json --format github

Runs come from a store (every run of the file's flows, or the ``--thread``s
named) and from histories exported with ``fermata history --thread ID
--json`` (fixtures a repository keeps, so CI needs no database). Each is
replayed on the new spec by ``fermata.runtime.replay`` (plain ``call``s run
again, as on a resume; ``call once`` results come from the history, never
from calling); the result is one line per run. Exit 0: every run is
compatible; 1: some run is not; 2: bad usage (no such file, store or
thread, a spec that does not compile).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..diagnostics.render import github_data as _github_data
from ..diagnostics.render import github_property as _github_property
from .common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    dump_json,
    parse_json_text,
    read_user_file,
    require_file,
    write_out,
)


@dataclass
class RecordedRun:
    """One run to replay: where it came from, its thread info and history."""

    origin: str | None      # the history file; None for a run read from the store
    info: Any               # fermata.runtime.ThreadInfo
    checkpoints: list[Any]  # fermata.runtime.Checkpoint, oldest first


def run_replay(args: argparse.Namespace) -> int:
    from fermata.runtime import FermataError
    from fermata.runtime.replay import replay

    from ..loading import add_import_root, load_ir_file
    from .compile import call_policy_for, compile_or_report

    path = Path(args.file)
    require_file(args.file)
    threads = list(getattr(args, "thread", None) or [])
    histories = list(getattr(args, "history", None) or [])
    store_url = getattr(args, "store", None)
    if threads and store_url is None:
        raise UsageError("--thread picks runs of a store: give --store URL too")
    if store_url is None and not histories:
        raise UsageError("nothing to replay: name a store (--store URL) or recorded histories "
                         "(--history FILE.json, from `fermata history --thread ID --json`)")
    # Plain calls run during a replay (unless --stub-calls): under the same policy as `run`.
    policy = call_policy_for(path, getattr(args, "allow_call", None))
    if path.suffix == ".json":
        try:
            ir: dict[str, Any] | None = load_ir_file(path)
        except FermataError as exc:  # not JSON, not an IR file
            raise UsageError(str(exc)) from None
    else:
        ir = compile_or_report(args.file, policy)
    if ir is None:
        return EXIT_USAGE
    # Plain calls run during a replay: find the flow's Python package as `run` does.
    add_import_root(path.resolve().parent)
    flows = set(ir["flows"])
    chosen = getattr(args, "flow", None)
    if chosen is not None and chosen not in flows:
        raise UsageError(f"no flow `{chosen}` in {args.file} (it has: {', '.join(sorted(flows))})")
    wanted = {chosen} if chosen else flows

    runs = [_read_history(file) for file in histories]
    if store_url is not None:
        runs = _from_store(store_url, threads, wanted) + runs
    for run in runs:
        if run.info.flow not in wanted:
            what = f"{run.origin}: thread" if run.origin else "thread"
            raise UsageError(f"{what} `{run.info.thread}` is a run of flow `{run.info.flow}`, "
                             f"which {args.file} does not define"
                             + (f" (--flow {chosen})" if chosen else ""))

    graphs: dict[str, Any] = {}
    results = []
    for run in runs:
        name = run.info.flow
        if name not in graphs:
            graphs[name] = _graph(ir, name, path, policy)
        results.append((run, replay(graphs[name], run.checkpoints, thread=run.info.thread,
                                    stub_calls=bool(getattr(args, "stub_calls", False)))))

    spec = path.as_posix()
    fmt = getattr(args, "format", None) or "text"
    if fmt == "json":
        out = dump_json([_as_json(run, result, spec) for run, result in results], indent=2) + "\n"
    elif fmt == "github":
        out = render_github(results, spec)
    else:
        out = render_text(results, spec)
    if not runs and fmt != "json":
        where = store_url or "the given histories"
        out = f"no recorded runs of {_flows(wanted)} in {where}\n"
    write_out(out)
    return EXIT_FINDINGS if any(not result.compatible for _, result in results) else EXIT_OK


def _graph(ir: dict[str, Any], flow: str, path: Path, policy: Any) -> Any:
    from fermata.runtime import FermataError, Flow

    try:
        # An IR file may be hand-written: check its shape, as `fermata run` does.
        return Flow.from_ir(ir, flow=flow, source=path.as_posix(), validate=path.suffix == ".json",
                             call_policy=policy)
    except FermataError as exc:
        raise UsageError(f"{path.as_posix()}: {exc}") from None
    except RecursionError:
        raise UsageError(f"{path.as_posix()} is nested too deeply to be read") from None


# --------------------------------------------------------------------------
# Reading recorded runs
# --------------------------------------------------------------------------


def _from_store(url: str, threads: list[str], flows: set[str]) -> list[RecordedRun]:
    from fermata.runtime.stores import open_store

    _require_store_file(url)
    try:
        store = open_store(url, create=False)   # a replay only reads: never turn a file into a store
    except Exception as exc:  # noqa: BLE001 - StoreError: a bad URL or not a store
        raise UsageError(str(exc)) from None
    try:
        if threads:
            infos = []
            for thread in dict.fromkeys(threads):
                info = store.thread(thread)
                if info is None:
                    raise UsageError(f"no run `{thread}` in {url} (see `fermata threads --store {url}`)")
                infos.append(info)
        else:
            infos = [info for info in store.threads() if info.flow in flows]
        return [RecordedRun(None, info, store.history(info.thread)) for info in infos]
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - a corrupt or foreign store
        raise UsageError(str(exc)) from None
    finally:
        store.close()


def _require_store_file(url: str) -> None:
    """Opening a SQLite store creates its file: a replay must only read one."""
    if not url.startswith("sqlite:"):
        return
    rest = url[len("sqlite:"):]
    if rest.startswith("//") and not rest.startswith("///"):
        return  # a host: open_store explains what is wrong
    file = rest.removeprefix("///")
    if file and not Path(file).is_file():
        raise UsageError(f"no such store: {url} (no file {file})")


def _read_history(file: str) -> RecordedRun:
    from fermata.runtime.errors import FermataError
    from fermata.runtime.replay import load_history

    path = Path(file)
    data = parse_json_text(read_user_file(file, "history", regular=False), f"history {file}")
    try:
        info, checkpoints = load_history(data)
    except FermataError as exc:
        raise UsageError(f"{file}: {exc}") from None
    except RecursionError:
        raise UsageError(f"history {file} is nested too deeply to be read") from None
    return RecordedRun(path.as_posix(), info, checkpoints)


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def describe(run: RecordedRun, result: Any) -> str:
    """``thread t1: compatible`` or ``thread t1: incompatible at step 3,
    node review: recorded ..., replayed ...``."""
    head = f"thread {result.thread}" + (f" ({run.origin})" if run.origin else "")
    divergence = result.divergence
    if divergence is None:
        text = f"{head}: compatible"
        if result.gaps:
            count = len(result.gaps)
            where = ", ".join(f"{g.node} at step {g.step}" for g in result.gaps[:3])
            more = ", ..." if count > 3 else ""
            text += (f" ({count} node run{'s' if count != 1 else ''} checked only as far as the history "
                     f"records: {where}{more})")
        return text
    node = f", node {divergence.node}" if divergence.node else ""
    return f"{head}: incompatible at step {divergence.step}{node}: {divergence.message}"


def render_text(results: list[tuple[RecordedRun, Any]], spec: str) -> str:
    lines = []
    for run, result in results:
        line = describe(run, result)
        divergence = result.divergence
        if divergence is not None and divergence.line:
            line += f" ({spec}:{divergence.line})"
        lines.append(line)
    if results:
        bad = sum(1 for _, r in results if not r.compatible)
        lines.append(f"replayed {len(results)} run{'s' if len(results) != 1 else ''}: "
                     f"{len(results) - bad} compatible, {bad} incompatible")
    return "".join(line + "\n" for line in lines)


def render_github(results: list[tuple[RecordedRun, Any]], spec: str) -> str:
    """One ``::error`` annotation per incompatible run, on the new spec's line."""
    out = []
    for run, result in results:
        divergence = result.divergence
        if divergence is None:
            continue
        props = [("file", spec)]
        if divergence.line:
            props.append(("line", str(divergence.line)))
        props.append(("title", "replay"))
        rendered = ",".join(f"{key}={_github_property(value)}" for key, value in props)
        out.append(f"::error {rendered}::{_github_data(describe(run, result))}\n")
    bad = sum(1 for _, r in results if not r.compatible)
    if results:
        out.append(f"replayed {len(results)} run{'s' if len(results) != 1 else ''}: "
                   f"{len(results) - bad} compatible, {bad} incompatible\n")
    return "".join(out)


def _as_json(run: RecordedRun, result: Any, spec: str) -> dict[str, Any]:
    data: dict[str, Any] = result.to_json()
    data["history"] = run.origin
    data["recorded_ir_hash"] = run.info.ir_hash
    data["spec"] = spec
    return data


def _flows(names: set[str]) -> str:
    return ", ".join(f"flow `{n}`" for n in sorted(names))
