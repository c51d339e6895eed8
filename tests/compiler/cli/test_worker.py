"""``fermata worker`` in this process: it finds the flows of its paths,
applies what was submitted, logs one JSON object per event, and refuses bad
usage with exit code 2. (Workers as real processes, signals and kills:
tests/runtime/test_worker_processes.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fermata.compiler import load
from fermata.compiler.cli.main import main
from fermata.compiler.cli.worker import flow_files
from fermata.runtime import Command

EXPENSE = """
flow expense {
    state {
        amount: float
        approved: bool = false
    }
    input amount
    output approved
    node review {
        let ok = interrupt approval "Pay {{ amount }}?" expect bool
        set approved = ok
    }
    start -> review
    review -> end
}
"""


def test_a_worker_applies_submissions_and_logs_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "expense.flow").write_text(EXPENSE)
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    flow = load(folder / "expense.flow", store=store)
    flow.submit({"amount": 5.0}, thread="e1")
    assert main(["worker", str(folder), "--store", store, "--exit-when-idle", "--log", "json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in events] == ["started", "claimed", "paused", "exited"]
    assert events[0]["flows"] == ["expense"] and events[0]["ir_hashes"] == [flow.ir_hash]
    assert events[2]["thread"] == "e1" and events[2]["interrupts"] == ["review:approval"]
    flow.submit(Command(resume=True), thread="e1")
    assert main(["worker", "--flow", str(folder / "expense.flow"), "--store", store, "--exit-when-idle",
                 "--log", "text"]) == 0
    assert "done       e1" in capsys.readouterr().out
    run = flow.state("e1")
    assert run is not None and run.output == {"approved": True}


def test_flow_files_are_found_in_folders_once_and_hidden_ones_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.flow").write_text(EXPENSE)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text("{}")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.flow").write_text(EXPENSE)
    (tmp_path / "notes.txt").write_text("")
    found = flow_files([str(tmp_path), str(tmp_path / "a.flow")])
    assert found == [tmp_path / "a.flow", tmp_path / "sub" / "b.json"]


def test_bad_usage_is_refused_with_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    (tmp_path / "empty").mkdir()
    assert main(["worker", str(tmp_path / "empty"), "--store", store]) == 2
    assert "no .flow or IR files" in capsys.readouterr().err
    (tmp_path / "data.json").write_text("[1]")
    assert main(["worker", str(tmp_path / "data.json"), "--store", store]) == 2
    assert "not a Fermata IR file" in capsys.readouterr().err
    assert main(["worker", str(tmp_path / "missing.flow"), "--store", store]) == 2
    (tmp_path / "ok.flow").write_text(EXPENSE)
    assert main(["worker", str(tmp_path / "ok.flow"), "--store", store, "--lease", "0"]) == 2
    assert "positive number of seconds" in capsys.readouterr().err
    assert main(["worker", str(tmp_path / "ok.flow"), "--store", "nosuch://x", "--exit-when-idle"]) == 2
    assert "unknown store" in capsys.readouterr().err


def test_on_a_terminal_text_logs_end_with_a_progress_line() -> None:
    import io

    from fermata.compiler.cli.worker import _Printer

    out = io.StringIO()
    log = _Printer("text", out, progress=True)
    log({"event": "claimed", "thread": "t1", "worker": "w"})
    log({"event": "paused", "thread": "t1\x1b[2J", "worker": "w"})
    log({"event": "claimed", "thread": "t2", "worker": "w"})
    text = out.getvalue()
    assert text.endswith("claimed 2  paused 1")                      # the last line: counts so far
    assert text.count("\r\x1b[K") == 3                              # rewritten before each event
    assert "\\x1b[2J" in text and "t1\x1b[2J" not in text           # event text is terminal-safe
    plain = io.StringIO()
    _Printer("text", plain, progress=False)({"event": "claimed", "thread": "t1"})
    assert plain.getvalue() == "claimed    t1\n"                     # piped: plain lines only
