"""Bad input on the command line: every case exits 2 with a message naming the
culprit, never 3 ("this is a bug in fermata").

Each case runs the real CLI in-process through :func:`main`. A case is the
argv (with ``{tmp}`` standing for the test's folder, where the files below
are laid out), what stdin holds, and the words the error must contain.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from fermata.compiler.cli.common import EXIT_OK, EXIT_USAGE
from fermata.compiler.cli.main import main
from tests.compiler.support import clean_env, fermata_command

REPO_ROOT = Path(__file__).resolve().parents[3]
REFUND_PATH = REPO_ROOT / "examples" / "refund.flow"  # its calls live beside it
REFUND = REFUND_PATH.read_text(encoding="utf-8")

NOT_UTF8 = b'{"amount": 1, "reason": "caf\xe9"}'
DEEP = "[" * 100_000 + "]" * 100_000


def lay_out(tmp: Path) -> None:
    """The files the cases name."""
    (tmp / "latin1.flow").write_bytes(REFUND.replace("refund", "r\xe9fund", 1).encode("latin-1"))
    (tmp / "latin1.json").write_bytes(NOT_UTF8)
    (tmp / "deep.json").write_text(DEEP, encoding="utf-8")
    (tmp / "nan_ir.json").write_text('{"fermata_ir": 1, "flows": NaN}', encoding="utf-8")
    (tmp / "odd_ir.json").write_text('{"fermata_ir": 1, "flows": 5}', encoding="utf-8")
    (tmp / "folder").mkdir()
    (tmp / "folder.flow").mkdir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp / "pipe.flow")


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    says: tuple[str, ...]    # words the error must hold (culprit and cause)
    stdin: bytes | None = None
    paused: bool = False     # first start run `t1` of refund.flow, paused at its review


STORE = "sqlite:///{tmp}/runs.db"
RUN = ("run", str(REFUND_PATH), "--store", STORE, "--thread", "t1")
RESUME = ("resume", "--thread", "t1", "--store", STORE)

CASES: dict[str, Case] = {
    # --input / --value text that is not UTF-8, from a file or stdin
    "input file not utf-8": Case((*RUN, "--input", "@{tmp}/latin1.json"),
                                 ("latin1.json", "not UTF-8", "line 1")),
    "value file not utf-8": Case((*RESUME, "--value", "@{tmp}/latin1.json"),
                                 ("latin1.json", "not UTF-8"), paused=True),
    "input stdin not utf-8": Case((*RUN, "--input", "@-"), ("stdin", "not UTF-8"), stdin=NOT_UTF8),
    "input stdin binary garbage": Case((*RUN, "--input", "@-"), ("stdin", "not UTF-8"),
                                       stdin=bytes(range(256))),
    "value stdin not utf-8": Case((*RESUME, "--value", "@-"), ("stdin", "not UTF-8"),
                                  stdin=NOT_UTF8, paused=True),
    # lone surrogates: JSON escapes that are no text
    "input lone surrogate": Case((*RUN, "--input", r'{"amount": 1, "reason": "\ud800"}'),
                                 ("--input", r"\ud800", "reason")),
    "input lone surrogate in a key": Case((*RUN, "--input", r'{"amount": 1, "\udc00": 2}'),
                                          ("--input", r"\udc00")),
    "value lone surrogate": Case((*RESUME, "--value", r'{"approved": true, "comment": "a\udfffb"}'),
                                 ("--value", r"\udfff", "comment"), paused=True),
    # not JSON, though Python's json module would take it
    "input NaN": Case((*RUN, "--input", '{"amount": NaN}'), ("--input", "NaN", "not valid JSON")),
    "input Infinity": Case((*RUN, "--input", '{"amount": Infinity}'), ("--input", "Infinity")),
    "input -Infinity": Case((*RUN, "--input", '{"amount": -Infinity}'), ("--input", "-Infinity")),
    "input 1e999": Case((*RUN, "--input", '{"amount": 1e999}'), ("--input", "1e999", "too large")),
    "value NaN": Case((*RESUME, "--value", '{"approved": NaN}'), ("--value", "NaN"), paused=True),
    "input null": Case((*RUN, "--input", "null"), ("--input must be a JSON object",)),
    "input list": Case((*RUN, "--input", "[]"), ("--input must be a JSON object",)),
    "input empty": Case((*RUN, "--input", ""), ("--input is not valid JSON", "empty")),
    "input empty stdin": Case((*RUN, "--input", "@-"), ("--input", "stdin", "empty"), stdin=b""),
    "input deeply nested": Case((*RUN, "--input", DEEP), ("--input", "nested too deeply")),
    "value invalid JSON": Case((*RESUME, "--value", "{yes"), ("--value is not valid JSON",), paused=True),
    "id naming nothing": Case((*RESUME, "--id", "nothing", "--value", "1"),
                              ("no pending interrupt `nothing`",), paused=True),
    # @file that cannot be read
    "input file missing": Case((*RUN, "--input", "@{tmp}/nope.json"), ("nope.json", "no such file")),
    "input file is a folder": Case((*RUN, "--input", "@{tmp}/folder"), ("folder", "is a folder")),
    "value file missing": Case((*RESUME, "--value", "@{tmp}/nope.json"), ("nope.json", "no such file"),
                               paused=True),
    # a .flow that is not UTF-8, for every command that reads one
    "run flow not utf-8": Case(("run", "{tmp}/latin1.flow", "--store", STORE), ("latin1.flow", "not UTF-8")),
    "resume flow not utf-8": Case(("resume", "{tmp}/latin1.flow", "--thread", "t1", "--store", STORE,
                                   "--value", '{"approved": true}'), ("latin1.flow", "not UTF-8"),
                                  paused=True),
    "compile flow not utf-8": Case(("compile", "{tmp}/latin1.flow"), ("latin1.flow", "not UTF-8")),
    "graph flow not utf-8": Case(("graph", "{tmp}/latin1.flow"), ("latin1.flow", "not UTF-8")),
    "replay flow not utf-8": Case(("replay", "{tmp}/latin1.flow", "--store", STORE),
                                  ("latin1.flow", "not UTF-8")),
    "check flow not utf-8": Case(("check", "{tmp}/latin1.flow"), ("latin1.flow", "not UTF-8")),
    "fmt flow not utf-8": Case(("fmt", "--check", "{tmp}/latin1.flow"), ("latin1.flow", "not UTF-8")),
    # FILE missing, a folder, or not a regular file
    "run file missing": Case(("run", "{tmp}/nope.flow", "--store", STORE), ("nope.flow", "no such file")),
    "run file is a folder": Case(("run", "{tmp}/folder.flow", "--store", STORE), ("folder.flow", "is a folder")),
    "compile file is a folder": Case(("compile", "{tmp}/folder.flow"), ("folder.flow", "is a folder")),
    "graph file is a folder": Case(("graph", "{tmp}/folder.flow"), ("folder.flow", "is a folder")),
    "replay file is a folder": Case(("replay", "{tmp}/folder.flow", "--store", STORE),
                                    ("folder.flow", "is a folder")),
    "resume file is a folder": Case(("resume", "{tmp}/folder.flow", "--thread", "t1", "--store", STORE),
                                    ("folder.flow", "is a folder"), paused=True),
    "run file is a pipe": Case(("run", "{tmp}/pipe.flow", "--store", STORE), ("pipe.flow", "not a regular file")),
    "compile file is a pipe": Case(("compile", "{tmp}/pipe.flow"), ("pipe.flow", "not a regular file")),
    "check file is a pipe": Case(("check", "{tmp}/pipe.flow"), ("pipe.flow", "not a regular file")),
    # IR files that are not what they claim
    "run IR nested too deeply": Case(("run", "{tmp}/deep.json", "--store", STORE),
                                     ("deep.json", "nested too deeply")),
    "run IR with NaN": Case(("run", "{tmp}/nan_ir.json", "--store", STORE), ("nan_ir.json", "NaN")),
    "run IR of the wrong shape": Case(("run", "{tmp}/odd_ir.json", "--store", STORE), ("odd_ir.json",)),
    "replay IR nested too deeply": Case(("replay", "{tmp}/deep.json", "--store", STORE),
                                        ("deep.json", "nested too deeply")),
    "replay IR of the wrong shape": Case(("replay", "{tmp}/odd_ir.json", "--store", STORE), ("odd_ir.json",)),
    # recorded histories for replay
    "history nested too deeply": Case(("replay", str(REFUND_PATH), "--history", "{tmp}/deep.json"),
                                      ("deep.json", "nested too deeply")),
    "history not utf-8": Case(("replay", str(REFUND_PATH), "--history", "{tmp}/latin1.json"),
                              ("latin1.json", "not UTF-8")),
    "history is a folder": Case(("replay", str(REFUND_PATH), "--history", "{tmp}/folder"),
                                ("folder", "is a folder")),
    # arguments
    "step limit zero": Case((*RUN, "--step-limit", "0"), ("--step-limit", "positive")),
    "step limit negative": Case((*RUN, "--step-limit", "-1"), ("--step-limit", "positive")),
    "resume step limit negative": Case((*RESUME, "--step-limit", "-5"), ("--step-limit", "positive")),
    "empty thread for run": Case(("run", str(REFUND_PATH), "--store", STORE, "--thread", ""),
                                 ("--thread", "empty")),
    "empty thread for state": Case(("state", "--thread", "", "--store", STORE), ("--thread", "empty")),
}


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # `run` adds the flow's folder
    monkeypatch.delenv("FERMATA_STORE", raising=False)
    monkeypatch.delenv("FERMATA_DEBUG", raising=False)


def fill(argv: tuple[str, ...], tmp: Path) -> list[str]:
    return [arg.replace("{tmp}", str(tmp)) for arg in argv]


def history_of(tmp: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["history", "--thread", "t1", "--store", STORE.format(tmp=tmp), "--json"]) == EXIT_OK
    return capsys.readouterr().out


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_exits_2_naming_the_culprit(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[name]
    if "pipe" in " ".join(case.argv) and not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    lay_out(tmp_path)
    before = None
    if case.paused:
        assert main(fill((*RUN, "--input", '{"amount": 250}'), tmp_path)) == EXIT_OK
        before = history_of(tmp_path, capsys)
    if case.stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(case.stdin), encoding="utf-8"))
    capsys.readouterr()
    code = main(fill(case.argv, tmp_path))
    err = capsys.readouterr().err
    assert code == EXIT_USAGE, err
    assert "internal error" not in err and "Traceback" not in err
    for words in case.says:
        assert words.replace("{tmp}", str(tmp_path)) in err, (words, err)
    if before is not None:  # a refused answer leaves the run as it was
        assert history_of(tmp_path, capsys) == before


def test_a_run_refused_before_it_starts_stores_no_thread(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    lay_out(tmp_path)
    store = STORE.format(tmp=tmp_path)
    for argv in (("--input", '{"amount": NaN}'), ("--input", r'{"amount": 1, "reason": "\ud800"}'),
                 ("--input", "null"), ("--step-limit", "0")):
        assert main(["run", str(REFUND_PATH), "--store", store, "--thread", "t1", *argv]) == EXIT_USAGE
    capsys.readouterr()
    # Refused before the store was opened: not even an empty store was created.
    assert main(["threads", "--store", store, "--json"]) == EXIT_USAGE
    assert "no store at" in capsys.readouterr().err


def test_a_pipe_as_input_file_still_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `--input @<(make-input)` hands over a pipe: @FILE reads any readable file.
    lay_out(tmp_path)
    read_end, write_end = os.pipe()
    os.write(write_end, b'{"amount": 20}')
    os.close(write_end)
    try:
        code = main([*fill(RUN, tmp_path), "--json", "--input", f"@/dev/fd/{read_end}"])
    finally:
        os.close(read_end)
    assert code == EXIT_OK, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["state"]["amount"] == 20


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_check_skips_a_pipe_named_like_a_spec_in_a_folder(tmp_path: Path) -> None:
    # Reading a FIFO blocks until someone writes: searching a folder must not hang on one.
    tree = tmp_path / "specs"
    tree.mkdir()
    (tree / "refund.flow").write_text(REFUND, encoding="utf-8")
    os.mkfifo(tree / "pipe.flow")
    for command in (["check"], ["fmt", "--check"]):
        done = subprocess.run([*fermata_command(), *command, str(tree)], capture_output=True, text=True,
                              timeout=60, env=clean_env(), check=False)
        assert done.returncode == EXIT_OK, done.stderr
        assert "pipe.flow" not in done.stdout + done.stderr
