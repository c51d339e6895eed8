"""The declarations pass: each code with a spec that triggers it and a near
miss that does not, the catalogue fixtures, and the examples."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fermata.compiler.checks import declarations, graph, steps
from fermata.compiler.diagnostics.diagnostic import Diagnostic
from tests.compiler.checks.support import check_fixture, run_passes

REPO = Path(__file__).resolve().parents[3]
MY_PASSES = (declarations, graph, steps)

NODES = """
    node step {
        set count += 1
    }
    start -> step
    step -> end
"""


def run(text: str, passes=(declarations,)) -> list[Diagnostic]:
    return run_passes(text, passes)


def codes(text: str) -> list[str]:
    return [d.code for d in run(text)]


def flow(members: str, name: str = "f", nodes: str = NODES) -> str:
    """A flow of the given members plus one node `step` that adds to `count`."""
    return f"flow {name} {{\n{textwrap.indent(textwrap.dedent(members).strip(), '    ')}\n{nodes}}}\n"


STATE = """
state {
    count: int = 0
    name: str = ""
}
"""


def only(text: str, code: str) -> Diagnostic:
    found = run(text)
    assert [d.code for d in found] == [code], found
    return found[0]


def line_of(text: str, needle: str, nth: int = 0) -> int:
    return [i for i, line in enumerate(text.splitlines(), 1) if needle in line][nth]


# -------------------------------------------------------------- duplicates


def test_duplicate_flow_points_at_the_second_with_a_label_at_the_first():
    text = flow(STATE, "twice") + flow(STATE, "twice")
    d = only(text, "F100")
    assert d.span.line == line_of(text, "flow twice", 1)
    assert d.labels[0].span.line == 1 and "first declared" in d.labels[0].message


def test_two_flows_with_different_names():
    assert codes(flow(STATE, "one") + flow(STATE, "two")) == []


def test_duplicate_type():
    text = 'type Level = "low" | "high"\ntype Level = int\n' + flow(STATE)
    d = only(text, "F102")
    assert d.span.line == 2 and d.labels[0].span.line == 1
    assert codes('type Level = "low" | "high"\ntype Grade = int\n' + flow(STATE)) == []


def test_duplicate_node():
    nodes = NODES + "    node step {\n        set count += 2\n    }\n"
    text = flow(STATE, nodes=nodes)
    d = only(text, "F103")
    assert d.span.line == line_of(text, "node step", 1)
    assert d.labels[0].span.line == line_of(text, "node step")


def test_duplicate_state_field():
    text = flow("state {\n    count: int = 0\n    count: int = 1\n}")
    d = only(text, "F104")
    assert d.span.line == line_of(text, "count: int = 1")
    assert codes(flow("state {\n    count: int = 0\n    counts: int = 1\n}")) == []


# ------------------------------------------------------ blocks and lists


def test_second_state_block():
    text = flow(STATE + "state {\n    total: int = 0\n}")
    d = only(text, "F105")
    assert d.span.line == line_of(text, "state {", 1)
    assert d.span.end_column - d.span.column == len("state")


def test_second_input_and_output():
    text = flow(STATE + "input count\ninput name\noutput count\noutput name")
    found = run(text)
    assert [(d.code, d.span.line) for d in found] == [
        ("F106", line_of(text, "input name")), ("F107", line_of(text, "output name"))]


def test_one_input_and_one_output_list():
    assert codes(flow(STATE + "input count, name\noutput count, name")) == []


def test_unknown_input_and_output_suggest_a_field():
    text = flow(STATE + "input cout\noutput nam")
    found = run(text)
    assert [d.code for d in found] == ["F108", "F109"]
    assert found[0].help == "did you mean `count`?" and found[1].help == "did you mean `name`?"
    assert found[0].span.line == line_of(text, "input cout")


def test_unknown_input_far_from_every_field():
    d = only(flow(STATE + "input zzzzzz"), "F108")
    assert "declare `zzzzzz`" in (d.help or "")


def test_field_listed_twice():
    text = flow(STATE + "output count, name, count")
    d = only(text, "F110")
    assert d.severity.value == "warning"
    assert d.span.column > d.labels[0].span.column


# ---------------------------------------------------- required, never given


REQUIRED = """
state {
    count: int = 0
    name: str
}
"""


def test_required_field_neither_input_nor_set_warns():
    text = flow(REQUIRED + "input count")
    d = only(text, "F111")
    assert d.severity.value == "warning" and d.span.line == line_of(text, "name: str")


@pytest.mark.parametrize("near_miss", [
    REQUIRED + "input count, name",               # an input
    REQUIRED,                                     # no `input`: every field is one
    REQUIRED.replace("name: str", "name: str?") + "input count",    # optional
    REQUIRED.replace("name: str", 'name: str = ""') + "input count",  # a default
    REQUIRED.replace("name: str", "name: any") + "input count",     # `any` admits null
])
def test_required_field_near_misses(near_miss: str):
    assert codes(flow(near_miss)) == []


def test_required_field_set_by_a_node_or_maybe_by_a_state_call():
    sets = NODES.replace("set count += 1", 'set count += 1\n        if count > 1 {\n'
                                           '            set name = "x"\n        }')
    assert codes(flow(REQUIRED + "input count", nodes=sets)) == []
    state_call = NODES.replace("set count += 1", 'call "pkg.mod:update"')
    assert codes(flow(REQUIRED + "input count", nodes=state_call)) == []
    # a call with arguments cannot write state: the warning stays
    arg_call = NODES.replace("set count += 1", 'call "pkg.mod:update"(count)')
    assert codes(flow(REQUIRED + "input count", nodes=arg_call)) == ["F111"]


# ----------------------------------------------------------------- no nodes


def test_flow_without_nodes():
    text = flow(STATE, nodes="")
    assert only(text, "F112").span.line == 1
    # the graph pass does not pile on: no `start` edge is F112's fault too
    assert run(text, MY_PASSES) and [d.code for d in run(text, MY_PASSES)] == ["F112"]


# -------------------------------------------------------- examples, fixtures


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("*.flow")), ids=lambda p: p.name)
def test_examples_are_clean(path: Path):
    assert run(path.read_text(encoding="utf-8"), (declarations,)) == []


@pytest.mark.parametrize("code, severity, title",
                         [pytest.param(c, s, t, id=c) for c, (s, t) in sorted(declarations.CODES.items())])
def test_fixture(code: str, severity: str, title: str):
    check_fixture(code, severity, title, MY_PASSES)
