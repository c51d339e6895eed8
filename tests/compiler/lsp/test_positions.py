"""The compiler's 1-based code-point columns <-> LSP's 0-based UTF-16 ones."""

from __future__ import annotations

from fermata.compiler.diagnostics.render import render_lsp
from fermata.compiler.lsp.positions import UTF8, LineIndex, Position
from fermata.compiler.pipeline import analyze
from fermata.compiler.syntax.ast import Span

# U+1F600 is one code point but two UTF-16 units (four UTF-8 bytes).
EMOJI = "\U0001F600"


def test_ascii_columns_shift_by_one():
    index = LineIndex("flow f {\n    x\n}")
    assert index.position(2, 5) == Position(1, 4)
    assert index.column(Position(1, 4)) == (2, 5)


def test_a_non_bmp_character_counts_two_utf16_units():
    text = f'let s = "{EMOJI}{EMOJI} x"'
    index = LineIndex(text)
    x_column = text.index("x") + 1  # code points, 1-based
    assert index.position(1, x_column) == Position(0, x_column - 1 + 2)
    assert index.column(Position(0, x_column - 1 + 2)) == (1, x_column)


def test_a_position_inside_a_surrogate_pair_is_clamped_to_its_character():
    index = LineIndex(f"a{EMOJI}b")
    assert index.column(Position(0, 2)) == (1, 2)  # the emoji's second unit
    assert index.column(Position(0, 3)) == (1, 3)


def test_utf8_when_the_client_negotiates_it():
    index = LineIndex(f"{EMOJI}x", UTF8)
    assert index.position(1, 2) == Position(0, 4)
    assert index.column(Position(0, 4)) == (1, 2)


def test_positions_past_the_end_are_clamped():
    index = LineIndex("ab\ncd")
    assert index.column(Position(9, 9)) == (2, 3)
    assert index.position(7, 1) == Position(1, 2)
    assert index.range(Span(0, 0, 0, 0)).start == Position(0, 0)


def test_offsets_and_line_columns_round_trip():
    text = f"ab\n{EMOJI}cd\n\nef"
    index = LineIndex(text)
    for offset in range(len(text) + 1):
        line, column = index.line_column(offset)
        assert index.offset_of(line, column) == offset


def test_render_lsp_converts_a_diagnostic_after_non_bmp_characters():
    text = (
        "flow f {\n"
        "    state { log: list[str] = [] }\n"
        "    node a {\n"
        f'        set log += ["{EMOJI}{EMOJI} {{{{ nope }}}}"]\n'
        "    }\n"
        "    start -> a\n"
        "    a -> end\n"
        "}\n")
    diagnostics = [d for d in analyze(text).diagnostics if d.code == "F431"]
    assert diagnostics, "the unknown template name is reported"
    (rendered,) = render_lsp(diagnostics, text, "file:///f.flow")
    line = text.splitlines()[3]
    utf16_start = line.index("nope") + 2  # two emoji, one extra unit each
    assert rendered["range"]["start"] == {"line": 3, "character": utf16_start}
    assert rendered["range"]["end"] == {"line": 3, "character": utf16_start + 4}
    assert rendered["code"] == "F431" and rendered["severity"] == 1
    assert rendered["codeDescription"]["href"].endswith("#f431")


def test_render_lsp_keeps_labels_as_related_information_and_help_as_data():
    text = "flow f {\n    state { x: int }\n    state { y: int }\n    node a { }\n    start -> a\n    a -> end\n}\n"
    diagnostics = [d for d in analyze(text).diagnostics if d.labels]
    assert diagnostics
    rendered = render_lsp(diagnostics, text, "file:///f.flow")[0]
    related = rendered["relatedInformation"][0]
    assert related["location"]["uri"] == "file:///f.flow"
    assert related["message"] == diagnostics[0].labels[0].message
    assert rendered["data"] == {"help": diagnostics[0].help}
