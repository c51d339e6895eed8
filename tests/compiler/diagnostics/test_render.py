"""Renderers: pretty (carets aligned under tabs, wide and combining
characters, end of file), one line, JSON, GitHub workflow commands, SARIF
2.1.0, and when colour is used."""

from __future__ import annotations

import io
import json
import re
import unicodedata

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fermata.compiler.diagnostics import render
from fermata.compiler.diagnostics.diagnostic import Diagnostic, Label, Severity
from fermata.compiler.pipeline import analyze
from fermata.compiler.syntax.ast import Span
from tests.compiler.support import validate_sarif

ANSI = re.compile(r"\x1b\[[0-9;]*m")


COUT = Span(7, 13, 7, 17)


def diag(code: str = "F128", message: str = "unknown field `cout`",
         span: Span = COUT, *, severity: Severity = Severity.ERROR,
         path: str = "t.flow", help: str | None = None, labels: tuple[Label, ...] = (),
         notes: tuple[str, ...] = ()) -> Diagnostic:
    return Diagnostic(code, message, span, severity, path, labels, help, notes)


def width(text: str) -> int:
    """Terminal columns of ``text`` as a person sees them (no tabs here)."""
    return sum(0 if unicodedata.combining(ch)
               else 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def rows(block: str) -> list[str]:
    return block.rstrip("\n").split("\n")


def caret_under(block: str, line_number: int) -> tuple[str, str]:
    """The source row of ``line_number`` and the caret row under it."""
    lines = rows(block)
    i = next(i for i, row in enumerate(lines) if re.match(rf"\s*{line_number} \|", row))
    return lines[i], lines[i + 1]


SOURCE = """\
flow f {
    state {
        count: int = 0
    }
    node a {
        let y = 1
        set cout = 1
    }
}
"""


# ------------------------------------------------------------ colour


class FakeStream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class ClosedStream:
    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")


@pytest.fixture
def plain_env(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


def test_colour_on_a_terminal_only(plain_env):
    assert render.use_color(FakeStream(tty=True)) is True
    assert render.use_color(FakeStream(tty=False)) is False
    assert render.use_color(object()) is False  # no isatty at all
    assert render.use_color(ClosedStream()) is False


@pytest.mark.parametrize("value", ["1", ""])
def test_no_color_wins_even_when_empty_and_even_on_a_terminal(plain_env, monkeypatch, value):
    monkeypatch.setenv("NO_COLOR", value)
    assert render.use_color(FakeStream(tty=True)) is False
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert render.use_color(FakeStream(tty=True)) is False


def test_force_color_turns_it_on_off_a_terminal(plain_env, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert render.use_color(FakeStream(tty=False)) is True
    monkeypatch.setenv("FORCE_COLOR", "")
    assert render.use_color(FakeStream(tty=False)) is False


def test_coloured_and_plain_output_differ_only_by_escapes():
    d = diag(help="did you mean `count`?")
    plain = render.render_pretty([d], {"t.flow": SOURCE}, color=False)
    coloured = render.render_pretty([d], {"t.flow": SOURCE}, color=True)
    assert "\x1b[" not in plain
    assert "\x1b[1;31merror[F128]" in coloured
    assert ANSI.sub("", coloured) == plain


# ------------------------------------------------------------ pretty


def test_pretty_snapshot():
    d = diag(help="did you mean `count`?")
    assert render.render_pretty([d], {"t.flow": SOURCE}) == (
        "error[F128]: unknown field `cout`\n"
        " --> t.flow:7:13\n"
        "  |\n"
        "7 |         set cout = 1\n"
        "  |             ^^^^\n"
        "  |\n"
        "  = help: did you mean `count`?\n"
    )


def test_pretty_warning_with_a_label_on_an_earlier_line_and_a_note():
    d = diag("F122", "local `y` is declared twice", Span(7, 13, 7, 17), severity=Severity.WARNING,
             labels=(Label(Span(6, 13, 6, 14), "first declared here"),),
             notes=("locals cannot change",))
    assert render.render_pretty([d], {"t.flow": SOURCE}) == (
        "warning[F122]: local `y` is declared twice\n"
        " --> t.flow:7:13\n"
        "  |\n"
        "6 |         let y = 1\n"
        "  |             - first declared here\n"
        "7 |         set cout = 1\n"
        "  |             ^^^^\n"
        "  |\n"
        "  = note: locals cannot change\n"
    )


def test_pretty_shows_the_line_between_two_marks_and_elides_longer_gaps():
    near = diag(labels=(Label(Span(5, 5, 5, 9), "in this node"),))
    lines = rows(render.render_pretty([near], {"t.flow": SOURCE}))
    assert "6 |         let y = 1" in lines and "..." not in lines
    far = diag(labels=(Label(Span(1, 1, 1, 5), "in this flow"),))
    lines = rows(render.render_pretty([far], {"t.flow": SOURCE}))
    assert "..." in lines
    assert not any(row.startswith((" 4 |", "4 |")) for row in lines)


def test_the_gutter_widens_for_two_digit_line_numbers():
    text = "\n" * 11 + "    set cout = 1\n"
    block = render.render_pretty([diag(span=Span(12, 9, 12, 13))], {"t.flow": text})
    assert rows(block)[1:5] == ["  --> t.flow:12:9", "   |", "12 |     set cout = 1",
                                "   |         ^^^^"]


def test_tabs_keep_carets_aligned():
    text = "flow f {\n\tnode a {\n\t\tset cout = 1\n\t}\n}\n"
    block = render.render_pretty([diag(span=Span(3, 7, 3, 11))], {"t.flow": text})
    source, carets = caret_under(block, 3)
    assert "\t" not in block
    assert source.index("cout") == carets.index("^")
    assert carets.count("^") == 4


@pytest.mark.parametrize("line, word", [
    ('    set s = "日本語" + 1', "1"),          # wide characters before the span
    ('    set s = "e\u0301te\u0301" + x', "x"),  # combining accents take no column
    ('    set s = "ﾃｽﾄ🎵" + y', "y"),            # half-width katakana, an emoji
    ('    set 名前 = 1', "名前"),                # the span itself is wide
])
def test_unicode_keeps_carets_aligned(line: str, word: str):
    start = line.rindex(word)
    span = Span(1, start + 1, 1, start + 1 + len(word))
    block = render.render_pretty([diag(span=span)], {"t.flow": line + "\n"})
    source, carets = caret_under(block, 1)
    prefix = source[: source.rindex(word)]
    assert width(prefix) == carets.index("^")
    assert carets.count("^") == width(word)


def test_an_error_at_end_of_file_renders():
    text = "flow f {\n    node a {\n        set x = 1\n"
    found = analyze(text, "t.flow").diagnostics
    assert found and found[0].code.startswith("F0")
    block = render.render_pretty(found, {"t.flow": text})
    assert "end of file" in block
    assert "^" in block
    # A span past the last line is drawn as an empty line with one caret.
    block = render.render_pretty([diag(span=Span(9, 1, 9, 1))], {"t.flow": "flow f {\n"})
    assert rows(block)[3:5] == ["9 |", "  | ^"]


def test_a_span_past_the_end_of_its_line_gets_one_caret_after_it():
    block = render.render_pretty([diag(span=Span(1, 9, 1, 30))], {"t.flow": "flow f {\n"})
    assert rows(block)[3:5] == ["1 | flow f {", "  |         ^"]


def test_a_multi_line_span_marks_its_first_line_to_the_end():
    block = render.render_pretty([diag(span=Span(5, 5, 8, 6))], {"t.flow": SOURCE})
    _, carets = caret_under(block, 5)
    assert carets.endswith("^" * len("node a {"))


def test_control_characters_cannot_drive_the_terminal():
    text = "flow f {\x1b[2J\r\n    set cout = 1\n"
    d = diag("F002", "unexpected character `\x1b`", Span(1, 9, 1, 10), help="line\nbreak")
    block = render.render_pretty([d], {"t.flow": text})
    assert "\x1b" not in block and "\r" not in block
    assert "\ufffd" in block
    assert "= help: line\n" in block and "break" in block


def test_without_its_source_a_diagnostic_still_renders():
    block = render.render_pretty([diag()], {})
    assert rows(block)[:2] == ["error[F128]: unknown field `cout`", " --> t.flow:7:13"]
    assert "^" not in block


def test_blocks_are_separated_by_a_blank_line_and_none_render_as_nothing():
    block = render.render_pretty([diag(), diag(span=Span(6, 9, 6, 12))], {"t.flow": SOURCE})
    assert "\n\nerror[F128]" in block
    assert render.render_pretty([], {}) == ""


@pytest.mark.parametrize("found, expected", [
    ([], "no problems found"),
    ([diag()], "error: 1 error found"),
    ([diag(severity=Severity.WARNING)], "warning: 1 warning found"),
    ([diag(), diag(), diag(severity=Severity.WARNING, path="u.flow")],
     "error: 2 errors and 1 warning found in 2 files"),
])
def test_summary(found, expected):
    assert render.summary(found) == expected


SPAN_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=60)


@given(st.lists(SPAN_TEXT, min_size=1, max_size=5), st.data())
def test_every_span_renders(lines, data):
    # Whatever the span, the block has a header, a location and one primary
    # underline at least, and nothing breaks.
    text = "\n".join(lines)
    line = data.draw(st.integers(1, len(lines) + 1))
    column = data.draw(st.integers(1, 70))
    end_line = data.draw(st.integers(line, line + 2))
    end_column = data.draw(st.integers(1, 70))
    d = diag(span=Span(line, column, end_line, end_column),
             labels=(Label(Span(1, 1, 1, 2), "here"),))
    block = render.render_pretty([d], {"t.flow": text}, color=data.draw(st.booleans()))
    assert ANSI.sub("", block).startswith("error[F128]: unknown field `cout`\n")
    assert "^" in block


# ------------------------------------------------------------ one line, JSON


def test_text_is_one_line_each_with_1_based_columns():
    found = [diag(span=Span(1, 1, 1, 5)),
             diag("F124", "local `y` is\nnever used", Span(6, 13, 6, 14), severity=Severity.WARNING)]
    assert render.render_text(found) == (
        "t.flow:1:1: error[F128]: unknown field `cout`\n"
        "t.flow:6:13: warning[F124]: local `y` is never used\n")
    assert render.render_text([]) == ""


def test_json_holds_every_field():
    d = diag(help="did you mean `count`?", labels=(Label(Span(3, 9, 3, 14), "declared here"),),
             notes=("a note",))
    document = json.loads(render.render_json([d]))
    assert document == {"version": 1, "diagnostics": [{
        "code": "F128", "severity": "error", "message": "unknown field `cout`", "path": "t.flow",
        "line": 7, "column": 13, "end_line": 7, "end_column": 17,
        "labels": [{"message": "declared here", "line": 3, "column": 9, "end_line": 3,
                    "end_column": 14}],
        "help": "did you mean `count`?", "notes": ["a note"]}]}
    assert json.loads(render.render_json([])) == {"version": 1, "diagnostics": []}


def test_json_keeps_non_ascii_text_readable():
    out = render.render_json([diag(message="unknown field `名前`")])
    assert "名前" in out and json.loads(out)["diagnostics"][0]["message"] == "unknown field `名前`"


# ------------------------------------------------------------ GitHub


def test_github_annotations():
    found = [diag(help="did you mean `count`?"),
             diag("F124", "local `y` is never used", Span(6, 13, 6, 14), severity=Severity.WARNING)]
    assert render.render_github(found) == (
        "::error file=t.flow,line=7,col=13,endLine=7,endColumn=17,title=F128::"
        "unknown field `cout`%0Ahelp: did you mean `count`?\n"
        "::warning file=t.flow,line=6,col=13,endLine=6,endColumn=14,title=F124::"
        "local `y` is never used\n")


def test_github_escapes_data_and_properties():
    d = diag(message="100% sure\r\nsecond: line, really", path="dir,with:odd%name\n.flow")
    line = render.render_github([d])
    assert line.count("\n") == 1 and line.endswith("\n")
    properties, message = line.rstrip("\n").removeprefix("::error ").split("::", 1)
    # Data: % first (so the escapes are not escaped again), then CR and LF;
    # `:` and `,` stay readable in the message.
    assert message == "100%25 sure%0D%0Asecond: line, really"
    # Properties: also `:` and `,`, which would otherwise end a value.
    assert properties.split(",")[0] == "file=dir%2Cwith%3Aodd%25name%0A.flow"
    assert properties.endswith(",title=F128")


def test_github_without_a_position_names_only_the_file():
    line = render.render_github([diag(span=Span(0, 0, 0, 0))])
    assert line.startswith("::error file=t.flow,title=F128::")


# ------------------------------------------------------------ SARIF


def test_the_subset_schema_can_fail():
    log = json.loads(render.render_sarif([diag()], []))
    validate_sarif(log)
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startColumn"] = 0
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(log)
    log = json.loads(render.render_sarif([diag()], []))
    log["runs"][0]["results"][0]["severity"] = "error"  # not a SARIF property
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(log)


def test_sarif_results_and_rules():
    from fermata.compiler.diagnostics.catalogue import rules_for_sarif

    found = [diag(help="did you mean `count`?", labels=(Label(Span(3, 9, 3, 14), "declared here"),)),
             diag("F124", "local `y` is never used", Span(6, 13, 6, 14), severity=Severity.WARNING,
                  path="sub dir/u.flow")]
    log = json.loads(render.render_sarif(found, rules_for_sarif()))
    validate_sarif(log)
    assert log["$schema"].endswith("sarif-schema-2.1.0.json") and log["version"] == "2.1.0"
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "fermata"
    first, second = run["results"]
    assert (first["ruleId"], first["level"], second["ruleId"], second["level"]) == (
        "F128", "error", "F124", "warning")
    assert first["message"]["text"] == "unknown field `cout`\nhelp: did you mean `count`?"
    location = first["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": "t.flow", "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": 7, "startColumn": 13, "endLine": 7, "endColumn": 17}}
    assert first["relatedLocations"] == [{
        "id": 0, "message": {"text": "declared here"},
        "physicalLocation": {"artifactLocation": {"uri": "t.flow", "uriBaseId": "%SRCROOT%"},
                             "region": {"startLine": 3, "startColumn": 9, "endLine": 3,
                                        "endColumn": 14}}}]
    assert second["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "sub%20dir/u.flow"


def test_sarif_adds_a_rule_for_a_code_the_catalogue_lacks():
    log = json.loads(render.render_sarif([diag("F999", "made up"), diag()], []))
    validate_sarif(log)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert sorted(rule["id"] for rule in rules) == ["F128", "F999"]


def test_sarif_paths():
    log = json.loads(render.render_sarif(
        [diag(path="./a.flow"), diag(path="/abs/b c.flow"), diag(path="C:\\x\\y.flow")], []))
    validate_sarif(log)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in log["runs"][0]["results"]]
    assert uris == [{"uri": "a.flow", "uriBaseId": "%SRCROOT%"}, {"uri": "file:///abs/b%20c.flow"},
                    {"uri": "file:///C:/x/y.flow"}]


def test_sarif_without_a_position_has_no_region():
    log = json.loads(render.render_sarif([diag(span=Span(0, 0, 0, 0))], []))
    validate_sarif(log)
    assert "region" not in log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]


def test_a_label_on_the_primary_span_follows_its_carets():
    from fermata.compiler.diagnostics.diagnostic import Diagnostic, Label
    from fermata.compiler.diagnostics.render import render_pretty
    from fermata.compiler.syntax.ast import Span

    span = Span(1, 6, 1, 12, 5, 11)
    d = Diagnostic("F101", "unknown node `reveiw` in an edge", span, path="f.flow",
                   labels=(Label(span, "not a node of flow `f`"),))
    out = render_pretty([d], {"f.flow": "a -> reveiw\n"}, color=False)
    assert "  |      ^^^^^^ not a node of flow `f`\n" in out
    assert "------" not in out


def test_github_escaping_is_written_once_for_check_and_replay():
    from fermata.compiler.cli import replay as cmd_replay
    from fermata.compiler.diagnostics.render import github_data, github_property

    assert cmd_replay._github_data is github_data and cmd_replay._github_property is github_property
    assert github_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert github_property("a:b,c%") == "a%3Ab%2Cc%25"
