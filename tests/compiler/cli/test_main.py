"""The command line's front door: argument parsing, dispatch and the exit
codes every command shares (0 ok, 1 findings, 2 bad usage, 3 internal)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap

import pytest

from fermata.compiler.cli import main as cli
from fermata.compiler.cli.common import (
    EXIT_FINDINGS,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
)
from fermata.compiler.cli.main import build_parser, main
from tests.compiler.support import clean_env, fermata_command

COMMANDS = ["check", "fmt", "compile", "graph", "run", "resume", "replay", "state", "history", "threads"]


@pytest.fixture(autouse=True)
def plain_env(monkeypatch):
    monkeypatch.delenv("FERMATA_DEBUG", raising=False)


def test_the_exit_codes():
    assert (EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL) == (0, 1, 2, 3)


def test_every_command_is_there(capsys):
    assert main(["--help"]) == EXIT_OK
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out, command


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(capsys, command):
    assert main([command, "--help"]) == EXIT_OK
    assert capsys.readouterr().out.startswith(f"usage: fermata {command}")


def test_version(capsys):
    assert main(["--version"]) == EXIT_OK
    assert capsys.readouterr().out.startswith("fermata ")


@pytest.mark.parametrize("argv, message", [
    ([], "required: COMMAND"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["check", "--bogus"], "unrecognized arguments: --bogus"),
    (["check", "--format", "xml"], "invalid choice: 'xml'"),
    (["compile"], "required: FILE"),
    (["graph", "x.flow", "--format", "png"], "invalid choice: 'png'"),
    (["resume"], "required: --thread"),
    (["run", "x.flow", "--step-limit", "many"], "invalid int value"),
])
def test_bad_arguments_exit_2(capsys, argv, message):
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("usage: fermata") and message in err


def test_check_defaults():
    args = build_parser().parse_args(["check"])
    assert (args.paths, args.format, args.strict, args.resolve) == ([], None, False, False)
    args = build_parser().parse_args(["check", "a.flow", "dir", "--format", "sarif", "--strict", "--resolve"])
    assert (args.paths, args.format, args.strict, args.resolve) == (["a.flow", "dir"], "sarif", True, True)


def test_compile_and_graph_defaults():
    args = build_parser().parse_args(["compile", "a.flow"])
    assert (args.file, args.output, args.target) == ("a.flow", None, "ir")
    assert build_parser().parse_args(["compile", "a.flow", "-o", "x.json"]).output == "x.json"
    args = build_parser().parse_args(["graph", "a.flow"])
    assert (args.file, args.format, args.flow) == ("a.flow", "mermaid", None)


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices[command]


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_a_command_alone_parses_and_prints_as_in_the_whole_parser(command):
    # `main` builds only the subparser of the command argv names (start-up).
    whole, alone = _subparser(build_parser(), command), _subparser(build_parser(command), command)
    assert alone.format_help() == whole.format_help()
    assert [(a.dest, a.default, a.type, a.required) for a in alone._actions] == \
        [(a.dest, a.default, a.type, a.required) for a in whole._actions]
    assert alone._defaults == whole._defaults


def test_store_default_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("FERMATA_STORE", "memory:")
    assert build_parser().parse_args(["threads"]).store == "memory:"
    monkeypatch.delenv("FERMATA_STORE")
    assert build_parser().parse_args(["threads"]).store == cli.DEFAULT_STORE


# ------------------------------------------------------------ dispatch


def fake_command(monkeypatch, behaviour):
    monkeypatch.setattr(cli, "_command", lambda name: behaviour)


def test_a_command_returns_its_exit_code(monkeypatch):
    fake_command(monkeypatch, lambda args: 7 if args.command == "threads" else 0)
    assert main(["threads"]) == 7


def test_a_usage_error_is_one_line(monkeypatch, capsys):
    def command(args):
        raise UsageError("no such file: x.flow")

    fake_command(monkeypatch, command)
    assert main(["graph", "x.flow"]) == EXIT_USAGE
    assert capsys.readouterr() == ("", "fermata graph: error: no such file: x.flow\n")


def test_an_internal_error_is_exit_3_and_hides_the_traceback(monkeypatch, capsys):
    def command(args):
        raise KeyError("oops")

    fake_command(monkeypatch, command)
    assert main(["compile", "x.flow"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("fermata compile: internal error: KeyError: 'oops'\n")
    assert "Traceback" not in err and "please report it" in err
    monkeypatch.setenv("FERMATA_DEBUG", "1")
    assert main(["compile", "x.flow"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "KeyError: 'oops'" in err


def test_a_fermata_error_no_command_caught_is_exit_2(monkeypatch, capsys):
    # FermataError is the runtime's refusal of something the user asked for (a store
    # that is busy or corrupt, say): exit 2 with its message, not "a bug in fermata".
    from fermata.runtime.stores import StoreError

    def command(args):
        raise StoreError("runs.db is locked by another process")

    fake_command(monkeypatch, command)
    assert main(["threads"]) == EXIT_USAGE
    assert capsys.readouterr() == ("", "fermata threads: error: runs.db is locked by another process\n")


def test_error_messages_show_escape_sequences_escaped(monkeypatch, capsys):
    def command(args):
        raise UsageError("no such file: \x1b[2J.flow")

    fake_command(monkeypatch, command)
    assert main(["graph", "x.flow"]) == EXIT_USAGE
    assert capsys.readouterr().err == "fermata graph: error: no such file: \\x1b[2J.flow\n"

    def internal(args):
        raise KeyError("\x9b31m")

    fake_command(monkeypatch, internal)
    assert main(["graph", "x.flow"]) == EXIT_INTERNAL
    assert "\x9b" not in capsys.readouterr().err


def test_interrupted_and_broken_pipe(monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    def broken_pipe(args):
        raise BrokenPipeError

    fake_command(monkeypatch, interrupted)
    assert main(["threads"]) == 130
    fake_command(monkeypatch, broken_pipe)
    assert main(["threads"]) == EXIT_OK


def test_check_does_not_load_the_runtime(tmp_path):
    # Commands import what they need when they run: `check` stays light.
    (tmp_path / "t.flow").write_text("flow f {\n}\n", encoding="utf-8")
    script = textwrap.dedent("""\
        import sys
        from fermata.compiler.cli.main import main
        code = main(["check", "--format", "json", sys.argv[1]])
        loaded = sorted(m for m in sys.modules if m.startswith(("fermata.runtime", "langgraph")))
        print(code, loaded, file=sys.stderr)
        """)
    done = subprocess.run(check=False, args=[sys.executable, "-c", script, str(tmp_path / "t.flow")],
                          capture_output=True, text=True, timeout=120, env=clean_env())
    assert done.stderr.strip().splitlines()[-1] in ("0 []", "1 []")


def test_graph_does_not_load_lark(tmp_path):
    # `fermata graph` parses with the fast tables; Lark is only for syntax errors.
    spec = tmp_path / "t.flow"
    spec.write_text("flow f {\n  state { n: int = 0 }\n  node a { set n = 1 }\n"
                    "  start -> a\n  a -> end\n}\n", encoding="utf-8")
    script = textwrap.dedent("""\
        import sys
        from fermata.compiler.cli.main import main
        code = main(["graph", sys.argv[1]])
        loaded = sorted(m for m in sys.modules if m == "lark" or m.startswith("lark."))
        print(code, loaded, file=sys.stderr)
        """)
    done = subprocess.run(check=False, args=[sys.executable, "-c", script, str(tmp_path / "t.flow")],
                          capture_output=True, text=True, timeout=120, env=clean_env())
    assert "flowchart" in done.stdout or "digraph" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "0 []"


# ------------------------------------------------------------ the console script


@pytest.mark.slow
def test_the_console_script_exit_codes(tmp_path):
    def fermata(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(check=False, args=[*fermata_command(), *argv], capture_output=True, text=True,
                              timeout=120, env=clean_env(), cwd=tmp_path)

    done = fermata("--version")
    assert done.returncode == EXIT_OK and done.stdout.startswith("fermata ")
    done = fermata("check", "--bogus")
    assert done.returncode == EXIT_USAGE and "unrecognized arguments" in done.stderr
    done = fermata("frobnicate")
    assert done.returncode == EXIT_USAGE
    done = fermata("compile", "missing.flow")
    assert done.returncode == EXIT_USAGE and done.stderr == "fermata compile: error: no such file: missing.flow\n"


def test_the_status_choices_are_the_run_statuses():
    # Written out in cli.py so that parsing arguments does not import the runtime.
    from fermata.compiler.cli.main import RUN_STATUSES
    from fermata.runtime.records import RunStatus

    assert tuple(status.value for status in RunStatus) == RUN_STATUSES


def test_the_console_entry_exits_with_mains_code_and_leaves_the_heap_to_the_exit(monkeypatch, capsys):
    import gc

    monkeypatch.setattr(sys, "argv", ["fermata", "--version"])
    before = gc.get_freeze_count()
    try:
        with pytest.raises(SystemExit) as exited:
            cli.console()
        assert exited.value.code == EXIT_OK
        assert gc.get_freeze_count() > before      # exit's collections will skip what is alive
    finally:
        gc.unfreeze()
    monkeypatch.setattr(sys, "argv", ["fermata", "no-such-command"])
    try:
        with pytest.raises(SystemExit) as exited:
            cli.console()
        assert exited.value.code == EXIT_USAGE
    finally:
        gc.unfreeze()
    assert "fermata" in capsys.readouterr().out


def test_the_installed_command_is_the_console_entry():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[3] / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["fermata"] == "fermata.compiler.cli.main:console"
