"""The printer: printing then parsing gives the same tree, for generated
expressions and types and for real specs, and no comment is ever lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, note

from fermata.compiler import ast
from fermata.compiler.parser import parse, parse_or_raise
from fermata.compiler.printer import expr_text, print_module, type_text

from .strategies import expressions, types

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted([*ROOT.glob("examples/*.flow"), *ROOT.glob("spec/diagnostics/*.flow"),
                ROOT / "tests/compiler/fixtures/language_example.flow"])


@given(expressions)
def test_expressions_print_with_the_parentheses_they_need(expr):
    text = expr_text(expr)
    note(text)
    edge = parse_or_raise(f"flow f {{ a -> b when {text} }}").flows[0].edges[0]
    assert edge.condition == expr


@given(types)
def test_types_print_and_parse_back(type_):
    text = type_text(type_)
    note(text)
    assert parse_or_raise(f"type T = {text}").types[0].type == type_


def _parses(path: Path) -> ast.Module | None:
    module, _ = parse(path.read_text(), str(path))
    return module


@pytest.mark.parametrize("path", [p for p in SPECS if _parses(p) is not None], ids=lambda p: p.name)
def test_real_specs_round_trip_with_every_comment(path):
    module = _parses(path)
    printed = print_module(module)
    again = parse_or_raise(printed)
    assert again == module
    assert [c.text for c in again.comments] == [c.text for c in module.comments]
    assert print_module(again) == printed


def test_comments_stay_where_they_were_written():
    text = (
        "# header\n\n"
        "flow f {\n"
        "    node a {\n"
        "        set x = 1  # why one\n"
        "        # before the end\n"
        "    }\n\n"
        "    start -> a\n"
        "    # about the exit\n"
        "    a -> end\n"
        "}\n"
    )
    assert print_module(parse_or_raise(text)) == text


def test_long_lists_and_edges_wrap_one_item_per_line():
    items = ", ".join(f'"item number {i}"' for i in range(8))
    targets = ", ".join(f"node_with_a_long_name_{i}" for i in range(6))
    printed = print_module(parse_or_raise(f"flow f {{ node a {{ set log += [{items}] }} a -> {targets} }}"))
    assert '        set log += [\n            "item number 0",\n' in printed
    assert "    a -> node_with_a_long_name_0,\n        node_with_a_long_name_1,\n" in printed
    assert all(len(line) <= 100 for line in printed.splitlines())
