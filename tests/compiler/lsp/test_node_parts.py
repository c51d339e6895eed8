"""A flow checked node by node gives `fermata check`'s diagnostics, edit after edit."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fermata.compiler.lsp import node_parts
from fermata.compiler.lsp.analysis import DocumentAnalysis, analyze_document
from fermata.compiler.pipeline import analyze

# Nodes whose findings lean on the rest: a name another node declares (the
# "a local of node `a`" note), a misspelt field ("did you mean"), the state's
# types and constraints, the call policy, templates, a record key, an
# interrupt without `expect`, a suppression, edges with conditions.
SPEC = '''type Review = {ok: bool, note: str?}

flow f {
    state {
        count: int = 0
        name: str(min 1) = "x"
        flag: bool = false
        log: list[str] = []
        review: Review?
    }
    input count, name
    output count
    node a {
        let v = count + 1
        set count = v
        set log += ["a {{ v }}"]
    }
    node b {
        let r = interrupt ask "ok at {{ count }}?"
        set flag = r.ok
        let q = {"{{ count }}": 1}
    }
    node c {
        call "os:system"(name)
        set name = ""
        if flag { let w = 2 }
        set count = w  # fermata: ignore[F130]
    }
    node d {
        set count = v + cnt
        set flag = true
    }
    start -> a
    a -> b when flag
    a -> c otherwise
    b -> c
    c -> d
    d -> end
}
'''

# Whole lines, each written at the end of a line where it belongs: the text still parses.
STEPS = ["\n        let v = 1", "\n        let cnt = 2", "\n        let w = v", "\n        set count = zz",
         "\n        set name = \"\"", "\n        let r2 = interrupt ask \"again?\"", "\n        call \"os:path\"()",
         "\n        set log += [\"{{ w }}\"]", "  # fermata: ignore[F120]", "\n        set flag = {\"{{ v }}\": 1}",
         "\n        if flag { set count = cnt }"]
# Steps half typed: the text does not parse, and the syntax error has a hint.
BROKEN_STEPS = ["\n        call pkg.mod()", "\n        let u = call 5", "\n        if v = 1 { }"]
IN_NODES = ["let v = count + 1", "set flag = r.ok", "set name = \"\"", "set flag = true",
            "let q = {\"{{ count }}\": 1}", "if flag { let w = 2 }"]
MEMBERS = ["\n    node e {\n        set count = v\n    }", "\n    node a {\n        let cnt = 1\n    }", "\n    d -> e",
           "\n    e -> end when cnt > 1", "\n    b -> d when {\"{{ x }}\": 1} == {}"]
BETWEEN_MEMBERS = ["    d -> end", "    a -> c otherwise"]
FIELDS = ["\n        cnt: int = 0", "\n        extra: str(max 0) = \"x\"", "\n        v: int = 0"]
IN_STATE = ["count: int = 0", "review: Review?"]
# Anything anywhere: most of these leave text that does not parse, and back.
EDITS = ["", "x", "1", "v", "}", "{", '"', "\n", *STEPS, *MEMBERS]


def diagnostics(doc: DocumentAnalysis) -> list[dict[str, object]]:
    return [d.to_json() for d in doc.diagnostics]


def split(doc: DocumentAnalysis) -> bool:
    """Whether the document's flows are all checked node by node."""
    return doc.parts is not None and all(part.nodes is not None for part in doc.parts.flows)


def test_the_spec_is_checked_node_by_node():
    doc = analyze_document(SPEC, "file:///x.flow", "x.flow")
    assert split(doc)
    assert {d.code for d in doc.diagnostics} >= {"F120", "F346", "F435", "F440", "F452"}
    assert diagnostics(doc) == [d.to_json() for d in analyze(SPEC, "x.flow").diagnostics]


def edited(text: str, anchor: str, insert: str) -> str:
    at = text.index(anchor) + len(anchor)
    return text[:at] + insert + text[at:]


def test_an_edit_rechecks_its_node_and_the_nodes_whose_notes_it_changes(monkeypatch: pytest.MonkeyPatch):
    checked: list[str] = []

    class Counting(node_parts.NodeCheck):
        def run(self) -> None:
            checked.append(self.node.name)
            super().run()

    doc = analyze_document(SPEC, "file:///x.flow", "x.flow")
    monkeypatch.setattr(node_parts, "NodeCheck", Counting)
    # A `let` of a name no node declared: `d`'s unknown `cnt` is now "a local of node `a`".
    text = edited(SPEC, "let v = count + 1", "\n        let cnt = 2")
    doc = analyze_document(text, "file:///x.flow", "x.flow", previous=doc)
    assert checked == ["a", "d"] and split(doc)
    assert diagnostics(doc) == [d.to_json() for d in analyze(text, "x.flow").diagnostics]
    assert any("local of node `a`" in " ".join(d.notes) for d in doc.diagnostics if d.code == "F120")
    # A line in `b`: `b` alone, the later nodes' findings moved down a line.
    checked.clear()
    text = edited(text, "set flag = r.ok", "\n        set count = zz")
    doc = analyze_document(text, "file:///x.flow", "x.flow", previous=doc)
    assert checked == ["b"] and split(doc)
    assert diagnostics(doc) == [d.to_json() for d in analyze(text, "x.flow").diagnostics]
    # A field: every node is checked against the new state (`cnt` is known now).
    checked.clear()
    text = edited(text, "count: int = 0", "\n        cnt: int = 0")
    doc = analyze_document(text, "file:///x.flow", "x.flow", previous=doc)
    assert sorted(checked) == ["a", "b", "c", "d"]
    assert diagnostics(doc) == [d.to_json() for d in analyze(text, "x.flow").diagnostics]
    messages = [d.message for d in doc.diagnostics]
    assert "unknown name `cnt`" not in messages and "local `cnt` has the name of a state field" in messages


@pytest.mark.parametrize("anchor, insert", [
    ("call ", "x"),                              # the call target is a string
    ("node d {", "\n        count = 1"),          # every step starts with a keyword
    ("a -> b when flag", " = true"),              # to compare, use `==`
    ("node a {", "\n        retry 3"),            # a node's settings go before its `{`
])
def test_a_half_typed_stretch_has_the_syntax_error_and_hint_of_check(anchor: str, insert: str):
    """The stretch is parsed without the `type` above the flow; its syntax
    error, help included, is still the whole file's."""
    from fermata.compiler.lsp.incremental import reanalyze

    text = edited(SPEC, anchor, insert)
    doc = reanalyze(analyze_document(SPEC, "file:///x.flow", "x.flow"), text, 2)
    assert doc is not None and not doc.parsed   # the stretch alone, repaired
    (expected,) = analyze(text, "x.flow").diagnostics
    assert expected.help and [d for d in diagnostics(doc) if d["code"] == "F001"] == [expected.to_json()]


def test_a_new_check_pass_makes_flows_checked_whole(monkeypatch: pytest.MonkeyPatch):
    from fermata.compiler import checks

    real = checks._passes
    monkeypatch.setattr(checks, "_passes", lambda: (*real(), lambda context: None))
    doc = analyze_document(SPEC, "file:///x.flow", "x.flow")
    assert doc.parts is not None and not split(doc)
    assert diagnostics(doc) == [d.to_json() for d in analyze(SPEC, "x.flow").diagnostics]


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(edits=st.lists(st.one_of(st.tuples(st.sampled_from(IN_NODES), st.just(0), st.sampled_from(STEPS)),
                                st.tuples(st.sampled_from(IN_NODES), st.just(0), st.sampled_from(BROKEN_STEPS)),
                                st.tuples(st.sampled_from(BETWEEN_MEMBERS), st.just(0), st.sampled_from(MEMBERS)),
                                st.tuples(st.sampled_from(IN_STATE), st.just(0), st.sampled_from(FIELDS)),
                                st.tuples(st.floats(0, 1), st.integers(0, 12), st.sampled_from(EDITS))),
                      min_size=1, max_size=8))
def test_node_by_node_and_full_checks_agree(edits: list[tuple[float | str, int, str]]):
    """After any edits (a node's body, new nodes and edges, the state, text
    that does not parse in between), the incremental diagnostics are
    `fermata check`'s (and a text that does not parse has its syntax error)."""
    text = SPEC
    doc = analyze_document(text, "file:///x.flow", "x.flow")
    for where, width, insert in edits:
        if isinstance(where, str):   # the end of this text's line, if it is still there
            at = text.find("\n", text.find(where)) if where in text else len(text) // 2
        else:
            at = int(where * len(text))
        text = text[:at] + insert + text[at + width:]
        doc = analyze_document(text, "file:///x.flow", "x.flow", previous=doc, defer_index=True)
        expected = [d.to_json() for d in analyze(text, "x.flow").diagnostics]
        if doc.parsed:
            assert diagnostics(doc) == expected
        else:  # the syntax error, help included (a stretch parsed without the `type` above it),
            # then its repair's findings (test_incremental.py)
            assert [d for d in diagnostics(doc) if d in expected] == expected


CATALOGUE = sorted((Path(__file__).resolve().parents[3] / "spec" / "diagnostics").glob("*.flow"))


@pytest.mark.parametrize("path", CATALOGUE, ids=[p.stem for p in CATALOGUE])
def test_each_catalogue_example_edited_node_by_node_is_checked_as_a_whole(path: Path):
    """Every diagnostic's example (each of its own kind), a line added at the
    top of each node in turn: the edited node is checked anew, the others
    keep their findings, moved down a line; and the line taken out again."""
    text = path.read_text(encoding="utf-8")
    doc = analyze_document(text, "file:///x.flow", "x.flow")
    if doc.module is None or not doc.parsed:
        return   # (the syntax errors' examples)
    for node in [n for f in doc.module.flows for n in f.nodes if n.span.line]:
        opening = text.index("{", node.span.start) + 1
        for version in (text[:opening] + "\n" + text[opening:], text):
            doc = analyze_document(version, "file:///x.flow", "x.flow", previous=doc)
            assert diagnostics(doc) == [d.to_json() for d in analyze(version, "x.flow").diagnostics]
