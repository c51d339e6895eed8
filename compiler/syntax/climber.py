"""Precedence climbing for the AST builder (``ast_builder.py``): the grammar
gives an expression as a flat sequence of operands and operators, and
:class:`Climber` gives it the tree a precedence-level grammar would."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import ast, operators
from .build_support import between, cover
from .lexer import Token

if TYPE_CHECKING:
    from .ast_builder import AstBuilder

# Binding power and associativity: compiler/syntax/operators.py.
_BINARY = operators.BINARY
_PREFIX = operators.PREFIX


class Climber:
    """Precedence climbing over the flat sequence the grammar produces
    (operands with their prefix operators, joined by binary operators), giving
    the tree a precedence-level grammar would. An operator token right after
    an operand is binary; any other is a prefix."""

    def __init__(self, builder: AstBuilder, children: Sequence[Any]):
        self.builder = builder
        # ("prefix", token) / ("operand", node) / ("binary", token)
        self.items: list[tuple[str, Any]] = []
        after_operand = False
        for child in children:
            if child.__class__ is tuple:
                self.items.append(("binary" if after_operand else "prefix", child))
                after_operand = False
            else:
                self.items.append(("operand", child))
                after_operand = True
        self.position = 0

    def expression(self) -> ast.Expr:
        return self._climb(0)

    def _peek_binary(self) -> Token | None:
        if self.position < len(self.items) and self.items[self.position][0] == "binary":
            return self.items[self.position][1]  # type: ignore[no-any-return]
        return None

    def _climb(self, minimum: int) -> ast.Expr:
        kind, value = self.items[self.position]
        self.position += 1
        if kind == "prefix":
            operator = value[1]
            power = _PREFIX[operator]
            if power < minimum:
                self.builder.sink.error(
                    "F012", f"`{operator}` cannot stand here without parentheses", value[2],
                    help=f"`{operator}` binds looser than the operator before it: write `({operator} ...)`")
            operand = self._climb(power)
            left: ast.Expr = self.builder._nest(ast.Unary(operator, operand, between(value, operand)), operand)
        else:
            left = value
        while (op := self._peek_binary()) is not None:
            power, associativity = _BINARY[op[1]]
            if power < minimum:
                break
            self.position += 1
            right = self._climb(power if associativity == "right" else power + 1)
            left = self.builder._nest(ast.Binary(op[1], left, right, cover(left.span, right.span)), left, right)
            following = self._peek_binary()
            if associativity == "none" and following is not None and _BINARY[following[1]][0] == power:
                self.builder.sink.error(
                    "F011", f"comparisons do not chain: `{op[1]}` then `{following[1]}`", following[2],
                    help="write `a < b and b < c`")
                self.position += 1
                self._climb(power + 1)  # skip the rest of the chain; it is reported once
        return left
