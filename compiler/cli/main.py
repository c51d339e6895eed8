"""``fermata``: the command line, the toolchain's front door.

This module only parses arguments and dispatches; each command lives in a
``cmd_*`` module that is imported when that command runs, so ``fermata
check`` never pays for the runtime's imports and the reverse.

Exit codes, for every command: 0 success (a paused run is a success),
1 the command's finding (errors found, a failed run, files to reformat),
2 bad usage or bad input, 3 an internal failure (a bug: please report it).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from fermata.spec.version import fermata_version as _version

from .common import (
    DEFAULT_STORE,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
)

# What `fermata runs --status` accepts: runtime.records.RunStatus's values.
RUN_STATUSES = ("running", "interrupted", "done", "failed", "cancelled")


def _add_store(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default=os.environ.get("FERMATA_STORE", DEFAULT_STORE),
                   help=f"where runs are kept (default: $FERMATA_STORE or {DEFAULT_STORE}; "
                        "also memory:)")


def _add_allow_call(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-call", action="append", default=[], metavar="PATTERN",
                   help="also allow calls matching PATTERN (`pkg.mod`, `pkg.mod:fn`, a glob; "
                        "repeatable), beyond [tool.fermata.calls] in pyproject.toml; only an "
                        "exact `pkg.mod:fn` overrides the deny-list")


def _add_durability(p: argparse.ArgumentParser) -> None:
    # The names are Durability's (runtime/records.py), spelled out here so
    # that parsing the command line imports no runtime.
    p.add_argument("--durability", choices=("observable", "step", "fast"), default="observable",
                   help="which checkpoints are forced to disk (fsync): observable = pauses, the end, "
                        "once results, accepted answers (default); step = every one; fast = none "
                        "(see docs/guide/durability.md)")


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def positive_int(text: str) -> int:
    """``--step-limit``: a run needs at least one step to do anything."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {value}")
    return value


def seconds(text: str) -> float:
    """``--lease``, ``--poll-max``: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def thread_id(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("a thread id cannot be empty")
    return text


def _check(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: .)")
    p.add_argument("--format", choices=["pretty", "text", "json", "sarif", "github"],
                   help="output format (default: pretty on a terminal, text otherwise)")
    p.add_argument("--strict", action="store_true", help="warnings fail the check too")
    p.add_argument("--resolve", action="store_true",
                   help="also import every `call` target to check that it exists "
                        "(runs the imported modules' top-level code)")
    _add_allow_call(p)


def _fmt(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: .)")
    p.add_argument("--check", action="store_true",
                   help="change nothing; list the files that would change and exit 1 if any")
    p.add_argument("--diff", action="store_true", help="change nothing; print a unified diff")


def _compile(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    p.add_argument("--target", choices=["ir", "python"], default="ir",
                   help="ir: the JSON IR; python: a module that needs only fermata.runtime")
    p.add_argument("--flow", help="which flow, for --target python when the file holds several")


def _graph(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    p.add_argument("--flow", help="which flow, when the file holds several")


def _run(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a .flow file or a compiled IR (.json)")
    p.add_argument("--input", metavar="JSON|@FILE", help="the input fields as a JSON object")
    p.add_argument("--thread", type=thread_id, metavar="ID",
                   help="the run's id (default: a new one, printed); a thread that holds a run "
                        "is refused, see --again")
    p.add_argument("--again", action="store_true",
                   help="start a new run on a thread whose run is done (it keeps its history)")
    p.add_argument("--flow", help="which flow, when the file holds several")
    p.add_argument("--step-limit", type=positive_int, default=1000, metavar="N")
    _add_allow_call(p)
    _add_store(p)
    _add_durability(p)
    _add_json(p)


def _resume(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", metavar="FILE",
                   help="the flow (default: the file the run started from)")
    p.add_argument("--thread", type=thread_id, required=True, metavar="ID")
    p.add_argument("--value", metavar="JSON|@FILE", help="the answer, as JSON")
    p.add_argument("--id", metavar="INTERRUPT_ID",
                   help="which pending interrupt the value answers (`node:label` or a token)")
    p.add_argument("--flow", help="which flow, when the file holds several")
    p.add_argument("--step-limit", type=positive_int, default=1000, metavar="N")
    _add_allow_call(p)
    _add_store(p)
    _add_durability(p)
    _add_json(p)


def _replay(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="the new .flow file (or compiled IR)")
    p.add_argument("--store", default=None, metavar="URL", help="a store holding recorded runs")
    p.add_argument("--thread", type=thread_id, action="append", default=[], metavar="ID",
                   help="replay only this run (repeatable; default: every run of the flow)")
    p.add_argument("--history", action="append", default=[], metavar="FILE.json",
                   help="a history exported with `fermata history --thread ID --json` (repeatable)")
    p.add_argument("--format", choices=["text", "json", "github"], default="text")
    p.add_argument("--flow", help="which flow, when the file holds several")
    p.add_argument("--stub-calls", action="store_true",
                   help="do not run plain `call`s: a node is replayed up to its first plain call "
                        "(their results are not recorded) and reported as checked that far")
    _add_allow_call(p)


def _one_thread(p: argparse.ArgumentParser) -> None:
    """``state`` and ``history``."""
    p.add_argument("--thread", type=thread_id, required=True, metavar="ID")
    _add_store(p)
    _add_json(p)


def _tick(p: argparse.ArgumentParser) -> None:
    p.add_argument("--now", metavar="ISO8601", help="the time to fire at (default: now)")
    _add_store(p)
    _add_json(p)


def _no_arguments(p: argparse.ArgumentParser) -> None:
    """``lsp``."""


def _threads(p: argparse.ArgumentParser) -> None:
    _add_store(p)
    _add_json(p)


def _store(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["init", "migrate"])
    p.add_argument("url", metavar="URL", help="sqlite:///path.db or postgresql://user@host/db")


def _runs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--flow", help="only runs of this flow")
    # RunStatus's values, written out: parsing arguments must not import the
    # runtime (a test holds the two equal).
    p.add_argument("--status", choices=RUN_STATUSES)
    _add_page(p)


def _inbox(p: argparse.ArgumentParser) -> None:
    p.add_argument("--flow", help="only runs of this flow")
    p.add_argument("--label", help="only interrupts with this label")
    _add_page(p)


def _add_page(p: argparse.ArgumentParser) -> None:
    """``runs`` and ``inbox``: one page of a store's index."""
    p.add_argument("--limit", type=positive_int, default=100, help="entries per page (default 100)")
    p.add_argument("--after", metavar="KEY", help="the page after this key (printed at a page's end)")
    _add_store(p)
    _add_json(p)


def _worker(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH", help=".flow or IR files, or folders of them (default: .)")
    p.add_argument("--flow", dest="flow_file", action="append", default=[], metavar="FILE",
                   help="a .flow or IR file to serve (repeatable; the same as a PATH)")
    p.add_argument("--concurrency", type=positive_int, default=1, metavar="N",
                   help="workers in this process, each with its own store connection (default 1)")
    p.add_argument("--lease", type=seconds, default=30.0, metavar="SECONDS",
                   help="how long a run's lease lasts unrenewed (default 30): a killed worker's runs "
                        "are taken over after this at the latest")
    p.add_argument("--poll-max", type=seconds, default=1.0, metavar="SECONDS",
                   help="longest wait between polls when idle (on PostgreSQL a NOTIFY wakes it at once)")
    p.add_argument("--exit-when-idle", action="store_true", help="exit when there is nothing to do (batch, cron)")
    p.add_argument("--log", choices=["json", "text"], help="json: one object per line (default off a terminal)")
    _add_allow_call(p)
    _add_store(p)


def _serve(p: argparse.ArgumentParser) -> None:
    p.add_argument("flow_dir", nargs="?", default=".", metavar="FLOW_DIR", help="where the .flow files are")
    _add_store(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--users", metavar="users.toml", help="identities, roles and token hashes")
    p.add_argument("--proxy-header", metavar="NAME", help="trust this header (set by your proxy) to name the user")
    p.add_argument("--secure-cookies", action="store_true", help="mark cookies Secure (behind HTTPS)")
    p.add_argument("--workers", type=int, default=4, help="threads advancing runs")
    p.add_argument("--worker", action=argparse.BooleanOptionalAction, default=True,
                   help="advance runs in this process, and apply what others submitted (default); "
                   "--no-worker: submit starts and answers for `fermata worker`s to apply")
    p.add_argument("--webhooks", metavar="FILE", help="a TOML file of [webhooks.NAME] tables (or put them in --users)")
    p.add_argument("--webhook-log", metavar="PATH", help="the delivery log's SQLite file (default: beside a SQLite "
                   "store, else fermata-webhooks.db here)")
    p.add_argument("--tick", type=float, default=5.0, metavar="SECONDS",
                   help="fire due deadlines, reminders and timers this often (0: never; default 5)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument("--hash-token", action="store_true", help="print a new token and its hash, and exit")


# Every command: its one-line help and what adds its arguments, in the order
# `fermata --help` lists them.
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "check": ("validate .flow files and report every problem", _check),
    "fmt": ("rewrite .flow files in canonical form", _fmt),
    "compile": ("compile a .flow file to its IR, or to a Python module (--target python)", _compile),
    "graph": ("draw a flow as a Mermaid or Graphviz diagram", _graph),
    "run": ("start a run; it goes on until done, failed or paused", _run),
    "resume": ("answer a paused run's interrupts and continue it", _resume),
    "replay": ("check a changed spec against recorded runs", _replay),
    "state": ("show a run's latest state and pending interrupts", _one_thread),
    "history": ("list every checkpoint of a run", _one_thread),
    "tick": ("fire every due deadline, reminder and wait timer (run it from cron)", _tick),
    "lsp": ("serve the language server over stdio (for editors; needs the `lsp` extra)", _no_arguments),
    "threads": ("list the runs in a store", _threads),
    "store": ("create (init) or upgrade (migrate) a store's schema", _store),
    "runs": ("list a store's runs by flow and status (from its run index)", _runs),
    "inbox": ("list the interrupts paused runs wait on", _inbox),
    "worker": ("apply submitted runs and answers (flow.submit); carry runs forward", _worker),
    "serve": ("serve flows over HTTP: a JSON API and a web inbox to answer in", _serve),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or with ``command``'s subparser alone.

    ``main`` passes the command that argv names: building one subparser
    rather than all seventeen saves several milliseconds of every command's
    start-up (each costs an ArgumentParser, formatters and gettext look-ups),
    and parses and prints exactly the same, as the other subparsers could
    not have been reached (usage lines show COMMAND, never the choices)."""
    parser = argparse.ArgumentParser(
        prog="fermata",
        description="Check, compile and run declarative workflow specs (.flow files).",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_text, add_arguments) in COMMANDS.items():
        if command is None or name == command:
            add_arguments(sub.add_parser(name, help=help_text, formatter_class=_HelpFormatter))
    return parser


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, given the width as ``shutil.get_terminal_size``
    finds it (``$COLUMNS``, else the terminal, else 80) without importing
    ``shutil``, which argparse does for every parser it builds, help or not,
    and which imports zlib, bz2 and lzma: ~1.7 ms of every start-up."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         terminal_columns() - 2 if width is None else width)


def terminal_columns() -> int:
    """The terminal's width in columns, as ``shutil.get_terminal_size().columns``."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        columns = os.get_terminal_size(sys.__stdout__.fileno()).columns   # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):   # no stdout, closed, detached, not a terminal
        columns = 0
    return columns or 80


class _VersionAction(argparse.Action):
    """``--version``, reading the installed metadata only when asked (importing
    importlib.metadata costs every other command ~20 ms of start-up)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: object):
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"fermata {_version()}")
        parser.exit()



def _command(name: str) -> Callable[[argparse.Namespace], int]:
    if name == "check":
        from .check import run_check

        return run_check
    if name == "fmt":
        from .fmt import run_fmt

        return run_fmt
    if name == "replay":
        from .replay import run_replay

        return run_replay
    if name == "tick":
        from .tick import run_tick

        return run_tick
    if name == "serve":
        from fermata.server.serve import run_serve

        return run_serve
    if name in ("store", "runs", "inbox"):
        from . import store as cmd_store

        return getattr(cmd_store, f"run_{name}")  # type: ignore[no-any-return]
    if name == "worker":
        from .worker import run_worker

        return run_worker
    if name == "lsp":
        return _run_lsp
    if name in ("compile", "graph"):
        from . import compile as cmd_compile

        return cmd_compile.run_compile if name == "compile" else cmd_compile.run_graph
    from . import run as cmd_run

    runner: Callable[[argparse.Namespace], int] = getattr(cmd_run, f"run_{name}")
    return runner


def _run_lsp(args: argparse.Namespace) -> int:
    try:
        from ..lsp.server import main as serve
    except ModuleNotFoundError as exc:
        # `pygls.lsp` when pygls is missing, as Python names the first
        # module it could not find: compare the top-level package.
        if (exc.name or "").split(".")[0] not in ("pygls", "lsprotocol"):
            raise
        raise UsageError("the language server needs the `lsp` extra: pip install 'fermata[lsp]'") from None
    return serve()


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # Only the named command's subparser; anything else (`--help`, `--version`,
    # a misspelt command) needs the whole parser to list or refuse it.
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse has printed the usage error (exit 2) or --help/--version
        # (exit 0); return the code so that callers of ``main`` get an int
        # either way, as from every command.
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    from .common import terminal_safe  # messages quote file names, thread ids, values

    try:
        return _command(args.command)(args)
    except UsageError as exc:
        print(terminal_safe(f"fermata {args.command}: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `fermata history ... | head`
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no raw tracebacks
        if _is_fermata_error(exc):
            # A refusal (a busy or corrupt store, a run that cannot go on) that the
            # command did not phrase itself: still the user's to act on, not our bug.
            print(terminal_safe(f"fermata {args.command}: error: {exc}"), file=sys.stderr)
            return EXIT_USAGE
        print(terminal_safe(f"fermata {args.command}: internal error: {type(exc).__name__}: {exc}"),
              file=sys.stderr)
        if os.environ.get("FERMATA_DEBUG"):
            import traceback  # here: its import costs every command ~1 ms of start-up

            traceback.print_exc()
        else:
            print("this is a bug in fermata; rerun with FERMATA_DEBUG=1 for the traceback "
                  "and please report it", file=sys.stderr)
        return EXIT_INTERNAL


def console() -> NoReturn:
    """The ``fermata`` command (and ``python -m fermata.compiler.cli.main``):
    :func:`main` with the process's arguments, then exit with its code.

    What is still alive is frozen first (``gc.freeze``), so that the
    interpreter's collections at exit skip it: they took ~7 ms of a ~60 ms
    ``fermata resume`` (#17), looking for garbage in a process about to end.
    Exit still tears the modules down, which closes files and runs atexit
    handlers; only objects caught in reference cycles are left to the
    operating system. In-process callers of :func:`main` (tests, tools) are
    unaffected."""
    code = main()
    gc.freeze()
    sys.exit(code)


def _is_fermata_error(exc: BaseException) -> bool:
    # Looked up, not imported: `fermata check` never loads the runtime, and
    # when the runtime is not loaded no FermataError can have been raised.
    errors = sys.modules.get("fermata.runtime.errors")
    return errors is not None and isinstance(exc, errors.FermataError)


if __name__ == "__main__":  # pragma: no cover
    console()
