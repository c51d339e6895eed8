"""``fermata fmt``: idempotent, meaning-preserving, comment-preserving, and
the command's --check / --diff contract for CI and pre-commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from fermata.compiler.cli.main import main
from fermata.compiler.syntax.fmt import format_source
from fermata.compiler.syntax.parser import parse

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(ROOT.glob("examples/*.flow"))

MESSY = '''# Refunds.
type Decision={approved:bool,comment:str?}
flow refund{"""Doc."""
state{amount:float;log:list[str]=[]   # the log
}
input amount
node review retry 2 {let d=interrupt approval "ok?" expect Decision
  if d.approved{set log+=["yes"]}else{set log+=["no"]} }
start->review;review->end
}
'''


def test_messy_source_becomes_canonical():
    result = format_source(MESSY)
    assert result.changed
    assert result.text == '''# Refunds.
type Decision = {approved: bool, comment: str?}

flow refund {
    """Doc."""

    state {
        amount: float
        log: list[str] = []  # the log
    }

    input amount

    node review retry 2 {
        let d = interrupt approval "ok?" expect Decision
        if d.approved {
            set log += ["yes"]
        } else {
            set log += ["no"]
        }
    }

    start -> review
    review -> end
}
'''


@pytest.mark.slow
@given(st.sampled_from(EXAMPLES), st.data())
def test_formatting_is_idempotent_and_keeps_meaning_and_comments(path, data):
    text = path.read_text()
    lines = text.split("\n")
    # Indent some lines oddly and add blank lines: tokens and comments stay.
    for _ in range(data.draw(st.integers(0, 6))):
        i = data.draw(st.integers(0, len(lines) - 1))
        lines[i] = data.draw(st.sampled_from(["", "  ", "\t", "        "])) + lines[i].lstrip()
        if data.draw(st.booleans()):
            lines.insert(i, "")
    messy = "\n".join(lines)
    note(messy)
    before, _ = parse(messy)
    first = format_source(messy)
    assert first.text is not None
    after, _ = parse(first.text)
    assert after == before
    assert [c.text for c in after.comments] == [c.text for c in before.comments]
    assert format_source(first.text).text == first.text


def test_check_lists_files_that_would_change_and_exits_1(tmp_path, capsys):
    messy, clean = tmp_path / "messy.flow", tmp_path / "clean.flow"
    messy.write_text(MESSY)
    clean.write_text(format_source(MESSY).text)
    assert main(["fmt", "--check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"would reformat {messy.as_posix()}" in out and "clean.flow" not in out
    assert messy.read_text() == MESSY  # --check never writes


def test_diff_prints_a_unified_diff_and_writes_nothing(tmp_path, capsys):
    messy = tmp_path / "messy.flow"
    messy.write_text(MESSY)
    assert main(["fmt", "--diff", str(messy)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"--- a/{messy.as_posix()}") and "+    input amount" in out
    assert messy.read_text() == MESSY


def test_fmt_rewrites_in_place_and_then_is_clean(tmp_path):
    messy = tmp_path / "messy.flow"
    messy.write_text(MESSY)
    assert main(["fmt", str(tmp_path)]) == 0
    assert messy.read_text() == format_source(MESSY).text
    assert main(["fmt", "--check", str(tmp_path)]) == 0


def test_a_file_that_does_not_parse_is_reported_and_left_alone(tmp_path, capsys):
    broken = tmp_path / "broken.flow"
    broken.write_text("flow f { node a {")
    assert main(["fmt", str(broken)]) == 2
    assert "F005" in capsys.readouterr().err
    assert broken.read_text() == "flow f { node a {"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_formatted(path):
    assert not format_source(path.read_text()).changed
