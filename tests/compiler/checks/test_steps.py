"""The steps pass: each code with a spec that triggers it and a near miss that
does not, the catalogue fixtures, and the examples."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fermata.compiler.checks import declarations, graph, steps
from fermata.compiler.diagnostics.diagnostic import Diagnostic
from fermata.compiler.syntax import ast
from tests.compiler.checks.support import FIXTURES, check_fixture, run_module, run_passes

REPO = Path(__file__).resolve().parents[3]
MY_PASSES = (declarations, graph, steps)


def run(text: str, passes=(steps,)) -> list[Diagnostic]:
    return run_passes(text, passes)


def node(body: str, header: str = "") -> str:
    """A flow whose one node `work` has the given settings and steps."""
    return ("flow f {\n    state {\n        x: int = 0\n        ok: bool = true\n    }\n"
            f"    node work{(' ' + header) if header else ''} {{\n"
            + textwrap.indent(textwrap.dedent(body).strip(), "        ")
            + "\n    }\n    start -> work\n    work -> end\n}\n")


def codes(text: str) -> list[str]:
    return [d.code for d in run(text)]


def only(text: str, code: str) -> Diagnostic:
    found = run(text)
    assert [d.code for d in found] == [code], found
    return found[0]


def line_of(text: str, needle: str, nth: int = 0) -> int:
    return [i for i, line in enumerate(text.splitlines(), 1) if needle in line][nth]


# ------------------------------------------------------------------- calls


@pytest.mark.parametrize("target, reason", [
    ("pkg.mod.fn", "no `:`"),
    ("pkg:mod:fn", "more than one `:`"),
    (":fn", "module is missing"),
    ("pkg.mod:", "function is missing"),
    ("pkg..mod:fn", "not a dotted module name"),
    ("pkg.mod:fn.attr", "not a function name"),
    ("pkg-x.mod:fn", "not a dotted module name"),
    ("pkg.mod:fn()", "not a function name"),
])
def test_malformed_call_target(target: str, reason: str):
    text = node(f'let y = call "{target}"(x)\nset x = y')
    d = only(text, "F400")
    assert reason in d.message and "package.module:function" in (d.help or "")
    assert d.span.line == line_of(text, "call")


@pytest.mark.parametrize("step", [
    'call "pkg.mod:fn"',             # state form
    'call once "pkg.mod:fn"',        # state form, journaled: allowed
    'call "mod:fn"(x, key=1)',
    'call once "a.b.c_d:_fn2"(x)',
])
def test_well_formed_calls(step: str):
    assert codes(node(step)) == []


def test_repeated_keyword_argument():
    text = node('call "pkg.mod:fn"(x, limit=1, other=2, limit=3)')
    d = only(text, "F408")
    assert "`limit`" in d.message and d.labels[0].span.column < d.span.column
    assert codes(node('call "pkg.mod:fn"(x, limit=1, other=2)')) == []


def test_calls_inside_if_branches_are_checked():
    assert codes(node('if ok {\n    call "bad"\n} else {\n    call "a:b"(x, k=1, k=2)\n}')) == [
        "F400", "F408"]


# ------------------------------------------------- retry, backoff, timeout


def test_retry_out_of_range():
    assert only(node("set x = 1", "retry 101"), "F403").span.line == line_of(node("", "retry 1"), "node")
    assert codes(node("set x = 1", "retry 100")) == []
    assert codes(node("set x = 1", "retry 0")) == []


def test_zero_durations():
    text = node("set x = 1", "retry 2 backoff 0ms timeout 0s")
    assert [d.code for d in run(text)] == ["F402", "F402"]
    assert codes(node("set x = 1", "retry 2 backoff 1ms timeout 1s")) == []


@pytest.mark.parametrize("text, suggestion", [("2w", None), ("1.5s", "`1500ms`"), ("10x", None)])
def test_malformed_duration_from_the_tree(text: str, suggestion: str | None):
    # The grammar may not let every malformed duration through: build the tree.
    module = ast.Module((ast.Flow("f", (ast.NodeDecl("work", (), timeout=ast.Duration(text)),)),))
    found = [d for d in run_module(module, (steps,)) if d.code == "F401"]
    assert len(found) == 1 and f"`{text}`" in found[0].message
    assert suggestion is None or suggestion in (found[0].help or "")


def test_backoff_without_retry():
    d = only(node("set x = 1", "backoff 1s"), "F404")
    assert d.severity.value == "warning"
    assert codes(node("set x = 1", "retry 0 backoff 1s")) == ["F404"]
    assert codes(node("set x = 1", "retry 1 backoff 1s")) == []


def test_runaway_exponential_backoff():
    d = only(node("set x = 1", "retry 40 backoff 1s"), "F405")
    assert "years" in d.message
    assert codes(node("set x = 1", "retry 10 backoff 1m")) == []   # last wait ~8.5 hours


# ------------------------------------------------------------- interrupts


def test_duplicate_interrupt_label_across_if_branches():
    text = node("""
        if ok {
            interrupt ask "first"
        } else {
            let y = interrupt ask "second" expect int
            set x = y
        }
    """)
    d = only(text, "F406")
    assert d.span.line == line_of(text, 'ask "second"')
    assert d.labels[0].span.line == line_of(text, 'ask "first"')


def test_distinct_labels_and_same_label_in_two_nodes():
    assert codes(node('interrupt ask "a"\ninterrupt tell "b"')) == []
    two = node('interrupt ask "a"').replace("    start -> work\n    work -> end\n",
                                            '    node other {\n        interrupt ask "b"\n    }\n'
                                            "    start -> work\n    work -> other\n    other -> end\n")
    assert codes(two) == []


def test_fail_is_fine_anywhere():
    assert codes(node('if ok {\n    fail "no"\n}\nfail "always"')) == []


# -------------------------------------------------------- examples, fixtures


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("*.flow")), ids=lambda p: p.name)
def test_examples_are_clean(path: Path):
    assert run(path.read_text(encoding="utf-8"), (steps,)) == []


@pytest.mark.parametrize("code, severity, title",
                         [pytest.param(c, s, t, id=c) for c, (s, t) in sorted(steps.CODES.items())
                          if (FIXTURES / f"{c}.flow").exists()])
def test_fixture(code: str, severity: str, title: str):
    check_fixture(code, severity, title, MY_PASSES)
