"""Re-parsing only the edited node gives the analysis a full one gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fermata.compiler.lsp.analysis import DocumentAnalysis, analyze_document
from fermata.compiler.lsp.incremental import common_prefix, common_suffix, reanalyze
from fermata.compiler.syntax import ast
from fermata.compiler.syntax.parser import parse_or_raise

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(p.read_text(encoding="utf-8") for p in (REPO / "examples").glob("*.flow"))


def summary(doc: DocumentAnalysis) -> tuple[object, ...]:
    """What a client sees: diagnostics (positions by line and column) and
    every occurrence with what it names."""
    diagnostics = [(d.code, d.message, d.span[:4], d.help, tuple((lab.span[:4], lab.message) for lab in d.labels))
                   for d in doc.diagnostics]
    occurrences = sorted((o.span[:4], o.symbol.kind, o.symbol.name, o.symbol.span[:4], str(o.symbol.type),
                          o.is_definition) for line in doc.occurrences.values() for o in line)
    scopes = sorted((s.node.name, [(loc.symbol.name, loc.visible_from, loc.visible_to) for loc in s.locals])
                    for s in doc.node_scopes)
    return diagnostics, occurrences, scopes


def test_common_prefix_and_suffix():
    assert common_prefix("abcdef", "abXdef") == 2
    assert common_suffix("abcdef", "abXdef", 6) == 3
    assert common_prefix("abc", "abc") == 3
    assert common_suffix("aaa", "aaaa", 2) == 2


def test_an_edit_inside_a_node_is_reanalysed_incrementally():
    text = EXAMPLES[0]
    first = analyze_document(text, "u", "x")
    node = parse_or_raise(text).flows[0].nodes[0]
    at = first.lines.offset_of(node.span.end_line, node.span.end_column - 1)  # before its `}`
    edited = text[:at] + " set nope = 1 " + text[at:]
    again = reanalyze(first, edited, 2)
    assert again is not None
    assert "F128" in [d.code for d in again.diagnostics]
    assert summary(again) == summary(analyze_document(edited, "u", "x"))


def test_edits_that_add_lines_or_touch_a_header_take_the_full_path():
    text = EXAMPLES[0]
    first = analyze_document(text, "u", "x")
    node = parse_or_raise(text).flows[0].nodes[0]
    name_at = first.lines.offset_of(node.name_span.line, node.name_span.column)
    assert reanalyze(first, text[:name_at] + "x" + text[name_at:], 2) is None
    body_at = first.lines.offset_of(node.span.end_line, node.span.end_column - 1)
    assert reanalyze(first, text[:body_at] + "\n" + text[body_at:], 2) is None


@pytest.mark.slow
@given(example=st.sampled_from(EXAMPLES), where=st.floats(0, 1), width=st.integers(0, 6),
       insert=st.sampled_from(["", "x", "1", " + 1", ".", "}", "{", '"', "set risk = 2", "let q = 3",
                               "{{ x }}", "\U0001F600", "é"]),
       rounds=st.integers(1, 3))
def test_incremental_and_full_analysis_agree(example: str, where: float, width: int, insert: str,
                                             rounds: int):
    uri, path = "file:///x.flow", "x.flow"
    text = example
    doc = analyze_document(text, uri, path)
    for _ in range(rounds):
        at = int(where * len(text))
        cut = text[at:at + width]
        if "\n" in cut:
            cut = cut[:cut.index("\n")]
        text = text[:at] + insert + text[at + len(cut):]
        doc = analyze_document(text, uri, path, previous=doc)
        assert summary(doc) == summary(analyze_document(text, uri, path))
        assert isinstance(doc.module, ast.Module) or doc.module is None
