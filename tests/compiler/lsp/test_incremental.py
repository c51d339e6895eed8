"""Re-parsing only the edited node gives the analysis a full one gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fermata.compiler.diagnostics.diagnostic import Diagnostic
from fermata.compiler.lsp import recovery
from fermata.compiler.lsp.analysis import DocumentAnalysis, analyze_document
from fermata.compiler.lsp.incremental import common_prefix, common_suffix, reanalyze
from fermata.compiler.pipeline import analyze
from fermata.compiler.syntax import ast
from fermata.compiler.syntax.parser import parse_or_raise

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(p.read_text(encoding="utf-8") for p in (REPO / "examples").glob("*.flow"))


def summary(doc: DocumentAnalysis | list[Diagnostic]) -> tuple[object, ...]:
    """What a client sees: diagnostics (positions by line and column) and
    every occurrence with what it names."""
    diagnostics = [(d.code, d.message, d.span[:4], d.help, tuple((lab.span[:4], lab.message) for lab in d.labels))
                   for d in (doc if isinstance(doc, list) else doc.diagnostics)]
    if isinstance(doc, list):
        return (diagnostics,)
    occurrences = sorted((o.span[:4], o.symbol.kind, o.symbol.name, o.symbol.span[:4], str(o.symbol.type),
                          o.is_definition) for line in doc.occurrences.values() for o in line)
    scopes = sorted((s.node.name, [(loc.symbol.name, loc.visible_from, loc.visible_to) for loc in s.locals])
                    for s in doc.node_scopes)
    exprs = sorted((e.start, e.end, e.expr.span[:4]) for e in doc.exprs)   # (hover on `a.b`, completion after `.`)
    return diagnostics, occurrences, scopes, exprs


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


def full(text: str) -> DocumentAnalysis:
    return analyze_document(text, "u", "x")


def check_same(text: str, edited: str) -> DocumentAnalysis:
    """``edited`` re-analysed from ``text``'s analysis: incremental, and as a full analysis would."""
    again = reanalyze(full(text), edited, 2)
    assert again is not None
    assert summary(again) == summary(full(edited))
    assert [d.to_json() for d in again.diagnostics] == [d.to_json() for d in analyze(edited, "x").diagnostics]
    return again


def test_an_edit_that_adds_or_removes_lines_is_reanalysed_incrementally():
    text = EXAMPLES[0]
    node = parse_or_raise(text).flows[0].nodes[0]
    at = full(text).lines.offset_of(node.span.end_line, node.span.end_column - 1)
    check_same(text, text[:at] + "\n        let q = nope\n\n" + text[at:])       # F-error on a new line
    line_end = text.rindex("\n", 0, at)               # the node's last line before its `}`
    line_start = text.rindex("\n", 0, line_end)
    check_same(text, text[:line_start] + text[line_end:])                      # a line taken out
    check_same(text, text[:at] + "\n" + text[at:])


def test_adding_and_removing_nodes_and_edges_is_reanalysed_incrementally():
    text = EXAMPLES[0]
    flow = parse_or_raise(text).flows[0]
    lines = full(text).lines
    after_first = lines.offset_of(flow.nodes[0].span.end_line, flow.nodes[0].span.end_column)
    new_node = "\n\n    node extra {\n        set nope = 1\n    }"
    again = check_same(text, text[:after_first] + new_node + text[after_first:])
    assert "F128" in [d.code for d in again.diagnostics]  # `set nope`: no such field
    edge = flow.edges[0]
    edge_end = lines.offset_of(edge.span.end_line, edge.span.end_column)
    check_same(text, text[:edge_end] + "\n    extra -> end" + text[edge_end:])  # an edge to a missing node
    edge_start = lines.offset_of(edge.span.line, edge.span.column)
    check_same(text, text[:edge_start] + text[edge_end + 1:])                       # an edge taken out
    node = flow.nodes[-1]
    check_same(text, text[:lines.offset_of(node.span.line, node.span.column)]
               + text[lines.offset_of(node.span.end_line, node.span.end_column):])  # a node taken out
    name_at = lines.offset_of(node.name_span.line, node.name_span.column)
    check_same(text, text[:name_at] + "x" + text[name_at:])                          # a node renamed


def test_typing_in_a_half_typed_node_repairs_the_stretch_only():
    text = EXAMPLES[0]
    at = text.index("set summary = s") + len("set summary = ")
    half = text[:at] + text[at + 1:]            # `set summary = ` and the node's next line
    again = reanalyze(full(text), half, 2)
    assert again is not None and again.recovered and not again.parsed
    assert summary(again) == summary(full(half))
    assert [d.code for d in again.diagnostics if d.code.startswith("F0")] == ["F001"]
    # Typing on: from the repaired analysis, incrementally again, until it parses.
    more = half[:at] + "s" + half[at:]
    last = reanalyze(again, more, 3)
    assert last is not None and last.parsed and not last.recovered
    assert summary(last) == summary(full(more)) == summary(full(text))


def test_a_half_typed_stretch_whose_error_lies_past_it_takes_the_full_path():
    text = EXAMPLES[0]
    flow = parse_or_raise(text).flows[0]
    lines = full(text).lines
    node = flow.nodes[0]
    brace = lines.offset_of(node.span.end_line, node.span.end_column - 1)
    unclosed = text[:brace] + text[brace + 1:]  # the node's `}` gone: the parser fails further on
    assert reanalyze(full(text), unclosed, 2) is None


def test_an_edit_on_a_line_with_a_long_string_takes_the_full_path():
    text = EXAMPLES[0]
    at = text.index('in order."""') + len("in order.")
    opened = text[:at] + "x" + text[at:]   # `."x""`: the docstring now runs on past its node
    assert reanalyze(full(text), opened, 2) is None
    assert summary(analyze_document(opened, "u", "x", previous=full(text))) == summary(full(opened))


def test_edits_outside_a_flows_body_take_the_full_path():
    text = EXAMPLES[0]
    flow = parse_or_raise(text).flows[0]
    lines = full(text).lines
    name_at = lines.offset_of(flow.name_span.line, flow.name_span.column)
    assert reanalyze(full(text), text[:name_at] + "x" + text[name_at:], 2) is None
    assert reanalyze(full(text), "type Extra = str\n" + text, 2) is None
    assert reanalyze(full(text), text + "\nflow other {\n}\n", 2) is None


EDITS = ["", "x", "1", " + 1", ".", "}", "{", '"', "set risk = 2", "let q = 3", "{{ x }}", "\U0001F600", "é",
         "\n", "\n\n", "\n        let w = 1\n", "\n    node z {\n        set nope = 1\n    }\n",
         "\n    z -> end\n", "\n    state {\n        extra: int = 0\n    }\n", "# note\n", "\n    a ->"]


@pytest.fixture(scope="module")
def unhurried_recovery():
    """Recovery stops at a time budget, so on a busy machine two analyses of
    one broken text may differ; the property is about the same work done."""
    budget = recovery.TIME_BUDGET
    recovery.TIME_BUDGET = 60.0
    yield
    recovery.TIME_BUDGET = budget


# Several flows in one file: an edit re-checks one, and moves the others.
SAMPLES = [*EXAMPLES, EXAMPLES[0] + "\n" + EXAMPLES[2] + "\n" + EXAMPLES[3]]


@pytest.mark.slow
@pytest.mark.usefixtures("unhurried_recovery")
@given(example=st.sampled_from(SAMPLES),
       edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 12), st.sampled_from(EDITS)),
                      min_size=1, max_size=4))
def test_incremental_and_full_analysis_agree(example: str, edits: list[tuple[float, int, str]]):
    """After any edit sequence (lines added and taken out included), the
    incremental analysis is the full one: same index, same diagnostics as
    `fermata check`'s pipeline."""
    uri, path = "file:///x.flow", "x.flow"
    text = example
    doc = analyze_document(text, uri, path)
    for where, width, insert in edits:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + width:]
        doc = analyze_document(text, uri, path, previous=doc, defer_index=True)   # as the server does
        expected = analyze_document(text, uri, path)
        assert summary(doc.diagnostics) == summary(expected.diagnostics)           # published before ...
        assert summary(doc.settle()) == summary(expected)                           # ... the index is made
        if doc.parsed:  # (a text that does not parse also shows its repair's diagnostics: recovery.py)
            assert [d.to_json() for d in doc.diagnostics] == [d.to_json() for d in analyze(text, path).diagnostics]
        assert isinstance(doc.module, ast.Module) or doc.module is None


def test_an_edit_in_one_flow_of_several_checks_that_flow_alone(monkeypatch: pytest.MonkeyPatch):
    """Only the edited flow is checked, and in it only the edited node's body."""
    from fermata.compiler.lsp import node_parts

    text = SAMPLES[-1]
    first = full(text)
    assert first.parts is not None and len(first.parts.flows) == 3
    second = parse_or_raise(text).flows[1]
    at = first.lines.offset_of(second.nodes[0].span.end_line, second.nodes[0].span.end_column - 1)
    edited = text[:at] + "\n        set nope = 1\n" + text[at:]
    flows_checked: list[str] = []
    nodes_checked: list[str] = []
    real_graph = node_parts.graph.check

    def counting_graph(context):
        flows_checked.extend(f.name for f in context.module.flows)
        return real_graph(context)

    class CountingNodeCheck(node_parts.NodeCheck):
        def run(self) -> None:
            nodes_checked.append(self.node.name)
            super().run()

    monkeypatch.setattr(node_parts.graph, "check", counting_graph)
    monkeypatch.setattr(node_parts, "NodeCheck", CountingNodeCheck)
    again = reanalyze(first, edited, 2)
    assert again is not None and flows_checked == [second.name] and nodes_checked == [second.nodes[0].name]
    assert summary(again) == summary(full(edited))
    assert "F128" in [d.code for d in again.diagnostics]
