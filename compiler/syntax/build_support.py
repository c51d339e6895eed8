"""What the AST builder (``ast_builder.py``) works with besides the nodes:
the :class:`Part` of a construct that is not a node of its own, the spans of
reductions' children, and the limits of number literals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from . import ast

new_span = tuple.__new__  # Span(...) without the Python-level __new__, for the hot rules


class Part(NamedTuple):
    """A piece of a construct that is not a node of its own (a docstring, a
    node option, an edge guard, a block...), with its span."""

    kind: str
    value: Any
    span: ast.Span


EMPTY = Part("empty", None, ast.NO_SPAN)  # a stray `;`
new_part = tuple.__new__  # Part(...) without the Python-level __new__, for the hot rules


def span_of(child: Any) -> ast.Span:
    span: ast.Span = child[2] if child.__class__ is tuple else child.span
    return span  # a token, or a node / Part


# The IR is JSON, read by other tools too: its integers stay within 64 bits
# (what SQLite, Go, Java and Rust readers hold).
MAX_INT = 2**63 - 1
MAX_INT_TEXT = str(MAX_INT)


def too_large(digits: str) -> bool:
    """Whether a run of digits is over the IR's largest integer, compared as
    text: `int()` of a very long text is refused by Python (over 4,300
    digits) and quadratic before that."""
    digits = digits.lstrip("0")
    return len(digits) > len(MAX_INT_TEXT) or (len(digits) == len(MAX_INT_TEXT) and digits > MAX_INT_TEXT)


def shown(number: str) -> str:
    """A number literal for a message: a long one by its ends and length."""
    if len(number) <= 30:
        return f"`{number}`"
    return f"`{number[:12]}...{number[-6:]}` ({len(number)} characters)"


def between(first: Any, last: Any) -> ast.Span:
    """From the start of ``first`` to the end of ``last``."""
    return cover(span_of(first), span_of(last))


def cover(a: ast.Span, b: ast.Span) -> ast.Span:
    """From the start of ``a`` to the end of ``b``. (The hottest rules, one or
    more per node of a spec, write this tuple out themselves: a call costs as
    much as building the span.)"""
    return new_span(ast.Span, (a[0], a[1], b[2], b[3], a[4], b[5]))


def whole(children: Sequence[Any]) -> ast.Span:
    present = [c for c in children if c is not None and c is not EMPTY]
    return between(present[0], present[-1]) if present else ast.NO_SPAN


def built_nodes(children: Sequence[Any]) -> tuple[Any, ...]:
    """The built children, without tokens, placeholders and stray `;`."""
    return tuple([c for c in children if c is not None and c.__class__ is not tuple and c is not EMPTY])
