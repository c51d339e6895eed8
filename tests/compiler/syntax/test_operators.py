"""compiler/syntax/operators.py is the one precedence table: the parser
groups by it, and the printer and the diagram print back exactly the
grouping it gives (so their text parses to the same tree)."""

from __future__ import annotations

import itertools

import pytest

from fermata.compiler.codegen.diagram import expr_to_text
from fermata.compiler.lower.lowering import _ExprLowering
from fermata.compiler.syntax import ast
from fermata.compiler.syntax.operators import BINARY, COMPARISONS, PREFIX
from fermata.compiler.syntax.parser import parse_or_raise
from fermata.compiler.syntax.printer import expr_text


def _expr(text: str) -> ast.Expr:
    condition = parse_or_raise(f"flow f {{\n    a -> b when {text}\n}}\n").flows[0].edges[0].condition
    assert condition is not None
    return condition


def _shape(expr: ast.Expr) -> object:
    """The grouping of an expression, spans aside."""
    if isinstance(expr, ast.Binary):
        return (expr.op, _shape(expr.left), _shape(expr.right))
    if isinstance(expr, ast.Unary):
        return (expr.op, _shape(expr.operand))
    assert isinstance(expr, ast.Name)
    return expr.name


# Every pair of binary operators that may stand side by side (comparisons do not chain).
_PAIRS = [(first, second) for first, second in itertools.product(BINARY, BINARY)
          if not (first in COMPARISONS and second in COMPARISONS)]


@pytest.mark.parametrize(("first", "second"), _PAIRS)
def test_two_operators_group_as_the_table_says(first, second):
    shape = _shape(_expr(f"x {first} y {second} z"))
    (first_power, associativity), (second_power, _) = BINARY[first], BINARY[second]
    left_first = first_power > second_power or (first_power == second_power and associativity == "left")
    assert shape == ((second, (first, "x", "y"), "z") if left_first else (first, "x", (second, "y", "z")))


@pytest.mark.parametrize(("first", "second"), _PAIRS)
@pytest.mark.parametrize("group_right", [False, True])
def test_the_printer_and_the_diagram_keep_the_grouping(first, second, group_right):
    text = f"x {first} (y {second} z)" if group_right else f"(x {first} y) {second} z"
    parsed = _expr(text)
    assert _shape(_expr(expr_text(parsed))) == _shape(parsed)
    assert _shape(_expr(expr_to_text(_ExprLowering({}).lower(parsed)))) == _shape(parsed)


@pytest.mark.parametrize("prefix", list(PREFIX))
@pytest.mark.parametrize("op", list(BINARY))
def test_a_prefix_operator_takes_the_operators_binding_tighter(prefix, op):
    spaced = f"{prefix} " if prefix == "not" else prefix
    shape = _shape(_expr(f"{spaced}x {op} y"))
    if BINARY[op][0] > PREFIX[prefix]:
        assert shape == (prefix, (op, "x", "y"))
    else:
        assert shape == (op, (prefix, "x"), "y")
