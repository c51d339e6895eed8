"""``fermata run``, ``resume``, ``state``, ``history`` and ``threads``.

Human output tells a person what happened and exactly what to type next;
``--json`` prints the same facts for scripts.
"""

from __future__ import annotations

import argparse
import io
import shlex
import sys
from pathlib import Path
from typing import Any

from fermata.runtime.records import RunStatus

from ..sample import sample_value
from .common import (
    DEFAULT_STORE,
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    dump_json,
    parse_json_arg,
    require_file,
    write_err,
    write_out,
)
from .compile import call_policy_for, compile_or_report


def _open_store(url: str, create: bool = True, thread: str | None = None) -> Any:
    """The store of ``url``; commands that only read (or continue a run)
    pass ``create=False``: a missing or empty file is refused, never turned
    into a store. ``thread``: the run the command is about, for the message."""
    from fermata.runtime.store.url import open_store  # not stores.py, which loads the memory store

    try:
        return open_store(url, create=create)
    except Exception as exc:  # noqa: BLE001 - StoreError and friends: a usage problem
        about = f"no run `{thread}` in {url}: " if thread is not None and "no store at" in str(exc) else ""
        raise UsageError(f"{about}{exc}") from None


def _load_graph(file: str, flow: str | None, store: Any, allow_calls: list[str] | None = None) -> Any:
    from fermata.runtime import FermataError

    from ..loading import build_graph, is_ir_file, load_ir_file

    path = Path(file)
    require_file(file)
    policy = call_policy_for(path, allow_calls)
    try:
        ir = load_ir_file(path) if is_ir_file(path) else compile_or_report(file, policy)
        if ir is None:
            return None
        flows = ir["flows"]
        if flow is None and len(flows) > 1:
            raise UsageError(f"{file} holds {len(flows)} flows ({', '.join(sorted(flows))}): "
                             "choose one with --flow")
        return build_graph(ir, path, flow, store, policy)
    except FermataError as exc:  # not an IR file, an unknown --flow: bad input, not a bug
        message = str(exc)
        raise UsageError(message if file in message else f"{file}: {message}") from None
    except RecursionError:  # an IR file nested deeper than its checks can follow
        raise UsageError(f"{file} is nested too deeply to be read") from None


# --------------------------------------------------------------------------
# Printing a run
# --------------------------------------------------------------------------


def run_to_json(run: Any) -> dict[str, Any]:
    """``run.to_json()``: the one JSON of a run (the server's too)."""
    return run.to_json()  # type: ignore[no-any-return]


def _dump(value: Any) -> str:
    return dump_json(value)


def resume_command(file: str | None, thread: str, store: str, interrupt: Any, several: bool,
                   defs: dict[str, Any]) -> str:
    parts = ["fermata", "resume"]
    if file:
        parts.append(file)
    parts += ["--thread", thread]
    if store != DEFAULT_STORE:
        parts += ["--store", store]
    if several:
        parts += ["--id", interrupt.id]
    if interrupt.schema is not None or not interrupt.id.endswith((":before", ":after")):
        parts += ["--value", _dump(sample_value(interrupt.schema, defs))]
    return " ".join(shlex.quote(p) for p in parts)


def print_run(run: Any, file: str | None, store: str, defs: dict[str, Any]) -> None:
    out = io.StringIO()  # written at the end, made safe for the terminal in one place
    head = f"thread {run.thread}"
    if run.status == RunStatus.DONE:
        out.write(f"{head}: done at step {run.step}\n")
        out.write("output:\n")
        out.write(_indent(dump_json(run.output, indent=2)) + "\n")
    elif run.status == RunStatus.INTERRUPTED:
        pending = list(run.interrupts)
        gates_only = all(i.static for i in pending)
        if gates_only:  # static gates take no answer: one value-less resume passes them all
            out.write(f"{head}: paused at step {run.step}, at a static interrupt (no answer needed)\n")
        else:
            out.write(f"{head}: paused at step {run.step}, waiting for "
                      f"{len(pending)} answer{'s' if len(pending) != 1 else ''}\n")
        _print_pending(pending, file, run.thread, store, defs, "continue with:", out)
    else:
        error = run.error or {}
        where = ""
        if error.get("line"):
            where = f"{error.get('path') or file or '<flow>'}:{error['line']}: "
        node = f"in node `{error['node']}`: " if error.get("node") else ""
        out.write(f"{head}: failed at step {run.step}\n  {where}{node}{error.get('message', '')}\n")
        if error.get("traceback"):
            out.write(_indent(error["traceback"].rstrip("\n")) + "\n")
        out.write(f"retry the failed step with: fermata resume {shlex.quote(file) + ' ' if file else ''}"
                  f"--thread {shlex.quote(run.thread)}"
                  f"{'' if store == DEFAULT_STORE else ' --store ' + shlex.quote(store)}\n")
        if run.interrupts:  # a sibling of the failed node paused: answering it retries the failed step too
            out.write(f"\nit also waits for {len(run.interrupts)} answer{'s' if len(run.interrupts) != 1 else ''}:\n")
            _print_pending(list(run.interrupts), file, run.thread, store, defs,
                           "answer and retry the failed step with:", out)
    write_out(out.getvalue())


def _print_pending(pending: list[Any], file: str | None, thread: str, store: str, defs: dict[str, Any],
                   heading: str, out: io.StringIO) -> None:
    """Each pending interrupt (payload, expected type), then the commands that answer them."""
    gates_only = all(i.static for i in pending)
    for interrupt in pending:
        out.write(f"\n  {interrupt.id}\n")
        if interrupt.payload is not None:
            payload = interrupt.payload if isinstance(interrupt.payload, str) else _dump(interrupt.payload)
            out.write(f"    {payload}\n")
        if interrupt.schema is not None:
            out.write(f"    expects: {_dump(interrupt.schema)}\n")
    out.write(f"\n{heading}\n")
    for interrupt in pending:
        several = len(pending) > 1 and not gates_only
        out.write("  " + resume_command(file, thread, store, interrupt, several, defs) + "\n")
        if not several:
            break


def _shown(source: str | None) -> str | None:
    """A run's flow file for people: relative to the current directory when
    it lies below it (runs record absolute paths; ``--json`` shows those)."""
    if not source:
        return source
    try:
        return Path(source).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return source


def _indent(text: str, by: str = "  ") -> str:
    return "\n".join(by + line for line in text.splitlines())


def _progress(graph: Any, payload: Any, thread: str, step_limit: int) -> Any:
    """Run, echoing progress to stderr when a person is watching."""
    if not sys.stderr.isatty():
        return graph.invoke(payload, thread=thread, step_limit=step_limit)
    for event in graph.stream(payload, thread=thread, step_limit=step_limit):
        kind = event.get("event")
        if kind == "step_start":
            sys.stderr.write(f"\x1b[2m· step {event['step']}: {', '.join(event['nodes'])}\x1b[0m\n")
        elif kind == "node_end":
            sys.stderr.write(f"\x1b[2m  ✓ {event['node']}\x1b[0m\n")
    return graph.state(thread)


def _finish(graph: Any, run: Any, args: argparse.Namespace, file: str | None) -> int:
    if args.json:
        write_out(dump_json(run_to_json(run), indent=2) + "\n")
    else:
        print_run(run, file, args.store, graph.ir.get("defs", {}) if hasattr(graph, "ir") else {})
    return EXIT_FINDINGS if run.status == RunStatus.FAILED else EXIT_OK


def _invoke(graph: Any, payload: Any, thread: str, args: argparse.Namespace, file: str | None) -> int:
    from fermata.runtime import (
        FermataError,
        InputError,
        ResumeError,
        SpecChangedError,
        StoreError,
    )

    try:
        run = _progress(graph, payload, thread, args.step_limit)
    except (InputError, ResumeError, SpecChangedError) as exc:  # rejected: nothing was stored
        write_err(f"fermata {args.command}: {exc}\n")
        return EXIT_USAGE
    except StoreError as exc:
        # Another process has the run (RunBusyError: nothing ran) or advanced
        # it first (a conflict: nothing was written), or the store cannot be
        # read or written: a conflict or an environment problem, not a finding.
        sys.stderr.write(f"fermata {args.command}: error: {exc}\n")
        return EXIT_USAGE
    except FermataError as exc:
        write_err(f"fermata {args.command}: {type(exc).__name__}: {exc}\n")
        run = graph.state(thread)
        if run is None or run.status != RunStatus.FAILED:
            return EXIT_FINDINGS
    return _finish(graph, run, args, file)


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------


def run_run(args: argparse.Namespace) -> int:
    payload = {} if args.input is None else parse_json_arg(args.input, "--input")
    if not isinstance(payload, dict):
        raise UsageError("--input must be a JSON object of field values")
    again = getattr(args, "again", False)
    if again and not args.thread:
        raise UsageError("--again starts a new run on an existing thread: name it with --thread ID")
    store = _open_store(args.store)
    graph = _load_graph(args.file, args.flow, store, getattr(args, "allow_call", None))
    if graph is None:
        return EXIT_USAGE
    graph.durability = args.durability
    import uuid  # here: its import costs every other command ~5 ms

    thread = args.thread or f"run-{uuid.uuid4().hex[:8]}"
    if args.thread:
        _check_thread_free(store.latest(thread), thread, args.store, again)
    if not args.thread and not args.json:
        from fermata.runtime import InputError

        try:  # a rejected input starts no run: name no thread for it
            graph.compiled.check_input(payload, fresh=True)
        except InputError as exc:
            write_err(f"fermata {args.command}: {exc}\n")
            return EXIT_USAGE
        # Named now, before a long run's progress, so it can be found meanwhile.
        sys.stderr.write(f"thread: {thread}\n")
    return _invoke(graph, payload, thread, args, args.file)


def _check_thread_free(latest: Any, thread: str, store: str, again: bool) -> None:
    """``run --thread T`` on a thread that holds a run: never silently start
    over (and pay for every call again). A finished run is started anew only
    with ``--again``; a run still in progress only ever continues."""
    if latest is None:
        return
    where = "" if store == DEFAULT_STORE else f" --store {shlex.quote(store)}"
    name = shlex.quote(thread)
    if latest.status == RunStatus.DONE:
        if again:
            return
        raise UsageError(f"thread `{thread}` already holds a finished run (done at step {latest.step}): "
                         f"see its result with `fermata state --thread {name}{where}`; start a new run "
                         "on it with --again, or choose another thread")
    what = {RunStatus.INTERRUPTED: "a paused run", RunStatus.FAILED: "a failed run"}.get(latest.status,
                                                                                    "a run in progress")
    how = "retry the failed step with" if latest.status == RunStatus.FAILED else "continue it with"
    raise UsageError(f"thread `{thread}` has a run in progress ({what}, status {latest.status}): "
                     f"{how} `fermata resume --thread {name}{where}`, or start a new run on another thread"
                     + (" (--again only restarts a finished run)" if again else ""))


def run_resume(args: argparse.Namespace) -> int:
    from fermata.runtime import Command

    store = _open_store(args.store, create=False, thread=args.thread)
    info = store.thread(args.thread)
    if info is None:
        raise UsageError(f"no run `{args.thread}` in {args.store} (see `fermata threads`)")
    file = args.file or _recorded_file(info)
    graph = _load_graph(file, args.flow or info.flow, store, getattr(args, "allow_call", None))
    if graph is None:
        return EXIT_USAGE
    graph.durability = args.durability
    value = parse_json_arg(args.value, "--value")
    if args.value is not None or args.id is not None:
        from fermata.runtime.command import expired_message

        latest = store.latest(args.thread)
        expired = expired_message({args.id: value} if args.id else value, latest) if latest else None
        if expired is not None:   # the question is gone: its deadline fired
            raise UsageError(f"run `{args.thread}`: {expired}")
    _check_resumable(graph.state(args.thread), args, value)
    if args.id is not None:
        command = Command(resume={args.id: value})
    elif args.value is not None:
        command = Command(resume=value)
    else:
        command = None  # continue past static interrupts, or retry a failed step
    return _invoke(graph, command, args.thread, args, file)


def _recorded_file(info: Any) -> str:
    """The flow file a run records, when ``resume`` is given none: its
    absolute path, refused unless its text is still what the run last
    started or resumed from (a changed file is only used when named, and
    then checked against the run like any changed spec)."""
    from ..loading import source_digest, uses_others

    thread, file = info.thread, info.source
    name_it = f"name the flow file: `fermata resume FILE --thread {thread}`"
    if not file:
        raise UsageError(f"run `{thread}` does not record its flow file: {name_it}")
    if not Path(file).is_absolute():
        # Recorded by an older Fermata, relative to a directory it did not
        # record: resolving it here could pick up another file of that name.
        raise UsageError(f"run `{thread}` records its flow file as the relative path {file}, "
                         f"which may not be the file it started from: {name_it}")
    if not Path(file).is_file():
        raise UsageError(f"run `{thread}` started from {file}, which no longer exists: {name_it}")
    if info.source_hash is not None:
        try:
            current = source_digest(Path(file))
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {file} (the flow file of run `{thread}`): {exc}") from None
        if current != info.source_hash:
            # A spec that `use`s others is hashed with them (loading.source_digest).
            what, hashed = ((f"{file} or a file it `use`s", "of it and its imports") if uses_others(Path(file))
                            else (file, "of the file"))
            raise UsageError(
                f"{what} has changed since run `{thread}` used it (sha256 {hashed} now "
                f"{current[:16]}, of the run's {info.source_hash[:16]}): refusing to resume it on "
                f"another text without being told; to continue on the changed file, {name_it} "
                "(the run is then checked against the change)")
    return str(file)


def _check_resumable(run: Any, args: argparse.Namespace, value: Any) -> None:
    """Refuse what the runtime would refuse, but in terms of this command's options."""
    from fermata.runtime.command import is_id_map

    thread = args.thread
    answering = args.value is not None or args.id is not None
    if run.status == RunStatus.DONE:
        raise UsageError(f"run `{thread}` is already done: there is nothing to resume "
                         f"(`fermata state --thread {thread}` shows its result)")
    pending = list(run.interrupts)
    if not pending:
        if answering:
            raise UsageError(f"run `{thread}` is {run.status} and waits for no answer: "
                             f"continue it with `fermata resume --thread {thread}` (no --value or --id)")
        return
    if run.status == RunStatus.FAILED and not answering:
        return  # retry the failed step; its paused siblings pause again
    waiting = [i for i in pending if not i.static]
    names = ", ".join(f"`{i.id}`" for i in pending)
    # A token (`node:label#...`) is left to the runtime, which tells a stale one from an unknown one.
    if args.id is not None and "#" not in args.id and args.id not in {i.id for i in pending}:
        raise UsageError(f"no pending interrupt `{args.id}` on run `{thread}` (pending: {names})")
    _refuse_values_for_static_gates(pending, waiting, args, value)
    if waiting and args.value is None:
        several = " and choose which with --id ID" if len(waiting) > 1 else ""
        raise UsageError(f"run `{thread}` waits for an answer to {names}: "
                         f"give it with --value JSON{several}")
    if len(waiting) > 1 and args.id is None and not is_id_map(value):
        raise UsageError(f"run `{thread}` waits for {len(waiting)} answers ({names}): choose which "
                         "one --value answers with --id ID")


def _refuse_values_for_static_gates(pending: list[Any], waiting: list[Any], args: argparse.Namespace,
                                    value: Any) -> None:
    """A static gate (`N:before`/`N:after`) is passed, never answered: a value
    sent to one would be lost. (JSON null means "no answer", as no --value does.)"""
    from fermata.runtime.command import is_id_map

    if args.value is None or value is None:
        return
    if args.id is not None:
        gates = [i for i in pending if i.static and args.id in (i.id, i.token)]
    elif not waiting and not is_id_map(value):
        gates = pending
    else:
        return  # the value is for a dynamic interrupt (an id map is checked by the runtime)
    if gates:
        names = ", ".join(f"`{i.id}`" for i in gates)
        what = "is a static interrupt: it takes" if len(gates) == 1 else "are static interrupts: they take"
        command = resume_command(args.file, args.thread, args.store, gates[0], False, {})
        raise UsageError(f"{names} {what} no answer, and the value would be lost (the run stays paused); "
                         f"continue past it with `{command}` (no --value)")


def run_state(args: argparse.Namespace) -> int:
    from fermata.runtime.records import state_json

    store = _open_store(args.store, create=False, thread=args.thread)
    info = store.thread(args.thread)
    latest = store.latest(args.thread) if info else None
    if info is None or latest is None:
        raise UsageError(f"no run `{args.thread}` in {args.store} (see `fermata threads`)")
    data = state_json(info, latest)
    if args.json:
        write_out(dump_json(data, indent=2) + "\n")
        return EXIT_OK
    write_out(f"thread {info.thread} ({info.flow}, {_shown(info.source) or 'no file'}): "
                     f"{latest.status} at step {latest.step}, checkpoint {latest.id}\n")
    write_out("state:\n" + _indent(dump_json(latest.values, indent=2)) + "\n")
    if latest.frontier:
        write_out(f"next: {', '.join(latest.frontier)}\n")
    for pending in latest.pending:
        write_out(f"pending: {pending.get('id')}\n")
    if latest.error:
        write_out(f"error: {latest.error.get('message')}\n")
    return EXIT_OK


def run_history(args: argparse.Namespace) -> int:
    from fermata.runtime.records import history_json

    store = _open_store(args.store, create=False, thread=args.thread)
    if store.thread(args.thread) is None:
        raise UsageError(f"no run `{args.thread}` in {args.store} (see `fermata threads`)")
    history = store.history(args.thread)
    if args.json:
        data = history_json(store.thread(args.thread), history)
        write_out(dump_json(data, indent=2) + "\n")
        return EXIT_OK
    from fermata.runtime.ticking import audit_trail

    trail: dict[str, list[dict[str, Any]]] = {}
    for entry in audit_trail(history):
        trail.setdefault(entry["checkpoint_id"], []).append(entry)
    for checkpoint in history:
        pending = ", ".join(p.get("id", "?") for p in checkpoint.pending)
        nxt = ", ".join(checkpoint.frontier)
        write_out(f"{checkpoint.id}  step {checkpoint.step:>4}  {checkpoint.status:<11}"
                         f"{'  next: ' + nxt if nxt else ''}{'  pending: ' + pending if pending else ''}\n")
        for entry in trail.get(checkpoint.id, ()):
            write_out(f"          {_audit_line(entry)}\n")
    return EXIT_OK


def _audit_line(entry: dict[str, Any]) -> str:
    """One event of the audit trail, for a person: who was asked, who
    answered what and when, what fired."""
    what = entry["what"]
    if what == "started":
        return f"started at {entry['at']} by {entry.get('by') or '(no identity)'}"
    if what == "cancelled":
        withdrawn = f", withdrew {', '.join(entry['withdrawn'])}" if entry.get("withdrawn") else ""
        reason = f": {entry['reason']}" if entry.get("reason") else ""
        return f"cancelled at {entry['at']} by {entry.get('by') or '(no identity)'}{withdrawn}{reason}"
    id_ = entry["id"]
    if what == "answered":
        return f"answered {id_} at {entry['at']} by {entry['by'] or '(no identity)'}: {_dump(entry['value'])}"
    if what == "asked":
        extras = [f"to {', '.join(entry['to'])}"] if "to" in entry else []
        if "deadline_at" in entry:
            action = entry.get("deadline") or {}
            then = f"-> {action['goto']}" if "goto" in action else f"answer {_dump(action.get('answer'))}"
            extras.append(f"deadline {entry['deadline_at']} {then}")
        if "remind_every_ms" in entry:
            extras.append(f"remind every {entry['remind_every_ms'] // 1000} s")
        return f"asked {id_} at {entry['at']}" + (f" ({'; '.join(extras)})" if extras else "")
    if what == "wait":
        return f"waiting {id_} since {entry['at']}, due at {entry.get('due_at')}"
    if what == "deadline":
        then = f"-> {entry['goto']}" if "goto" in entry else f"answered {_dump(entry.get('answer'))}"
        return f"deadline of {id_} (due {entry['due_at']}) fired at {entry['fired_at']}: {then}"
    if what == "reminder":
        return f"reminder #{entry.get('reminder')} of {id_} sent at {entry['fired_at']}"
    return f"timer {id_} (due {entry['due_at']}) fired at {entry['fired_at']}"


def run_threads(args: argparse.Namespace) -> int:
    from fermata.runtime import StoreError
    from fermata.runtime.records import summary_json

    store = _open_store(args.store, create=False)
    rows = []
    damaged = []
    for info in store.threads():
        try:
            latest = store.latest(info.thread)
        except StoreError as exc:  # one damaged run must not hide the others
            damaged.append(str(exc))
            continue
        rows.append(summary_json(info, latest))
    for problem in damaged:
        sys.stderr.write(f"fermata threads: damaged run: {problem}\n")
    if args.json:
        write_out(dump_json(rows, indent=2) + "\n")
        return EXIT_USAGE if damaged else EXIT_OK
    for row in rows:
        write_out(f"{row['thread']}  {row['flow']}  {row['status']}  step {row['step']}  "
                         f"{_shown(row['source']) or ''}\n")
    if not rows and not damaged:
        write_out(f"no runs in {args.store}\n")
    return EXIT_USAGE if damaged else EXIT_OK
