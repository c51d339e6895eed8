"""Help for the type checker's messages: short renderings of expressions
(:func:`source`, :func:`describe`), the spans of a name's parts, and the
`help` lines ``inference.py`` attaches to its findings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from ..diagnostics.diagnostic import did_you_mean
from ..syntax import ast
from .types import (
    BOOL,
    FLOAT,
    INT,
    NUMBERS,
    STR,
    FType,
    ListT,
    MapT,
    UnionT,
    assignable,
    is_number,
    is_optional,
    is_text,
    strip_optional,
)


def tail_span(span: ast.Span, length: int) -> ast.Span:
    """The last ``length`` characters of a span (the `name` of `obj.name`)."""
    if not span.line or span.end_column - length < 1:
        return span
    return ast.Span(span.end_line, span.end_column - length, span.end_line, span.end_column,
                    max(span.end - length, 0), span.end)


def key_span(entry: ast.RecordEntry) -> ast.Span:
    """The key of a record entry: its first ``len(key)`` characters (a bare key)."""
    span = entry.span
    if not span.line:
        return entry.value.span
    return ast.Span(span.line, span.column, span.line, span.column + len(entry.key),
                    span.start, span.start + len(entry.key))


def is_template(expr: ast.Expr) -> bool:
    return isinstance(expr, ast.Literal) and expr.is_template


def source(expr: ast.Expr) -> str:
    """A short rendering of simple expressions for help lines ("..." otherwise)."""
    if isinstance(expr, ast.Name):
        return expr.name
    if isinstance(expr, ast.Member):
        inner = source(expr.obj)
        return "..." if inner == "..." else f"{inner}.{expr.name}"
    if isinstance(expr, ast.Literal):
        return json.dumps(expr.value) if not isinstance(expr.value, bool) else str(expr.value).lower()
    if isinstance(expr, ast.ListExpr) and not expr.items:
        return "[]"
    return "..."


def describe(expr: ast.Expr) -> str:
    text = source(expr)
    return f"`{text}`" if text != "..." else "the value"


def listing(names: Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def literal_help(value: str, values: Sequence[str]) -> str:
    """Help for a string literal a union does not name: the closest value, or all of them."""
    best = did_you_mean(value, values)
    if best is not None:
        return best.replace("`", '`"', 1).replace("`?", '"`?')
    return f"use one of {', '.join(json.dumps(v, ensure_ascii=False) for v in values)}"


def null_help(t: FType) -> dict[str, object]:
    if is_optional(t):
        return {"help": "the value may be null: give a default first with `??`"}
    return {}


def condition_help(node: ast.Expr, t: FType) -> str | None:
    text = source(node)
    name = text if text != "..." else "the value"
    if is_number(t):
        return f"compare the number, e.g. `{name} > 0`"
    if is_text(t):
        return f"compare the string, e.g. `{name} != \"\"`"
    if isinstance(t, (ListT, MapT)):
        return f"test its length, e.g. `len({name}) > 0`"
    if is_optional(t):
        return f"test for null, e.g. `{name} != null`"
    return None


def mismatch_help(expr: ast.Expr, found: FType, target: FType) -> dict[str, object]:
    base = strip_optional(target)
    if isinstance(base, UnionT) and isinstance(found, UnionT) and len(found.values) == 1:
        return {"help": literal_help(found.values[0], base.values)}
    if isinstance(base, UnionT) and found == STR:
        return {"help": f"only the literals {', '.join(json.dumps(v) for v in base.values)} fit; "
                        "a computed string cannot be checked against them"}
    if is_optional(found) and assignable(strip_optional(found), target):
        return {"help": f"the value may be null: give a default, e.g. `{source(expr)} ?? ...`"
                if source(expr) != "..." else "the value may be null: give a default with `??`"}
    if found == FLOAT and base == INT:
        return {"help": "convert it with `int(...)` (which drops the fraction), or make the field `float`"}
    if is_text(found) and base in NUMBERS:
        return {"help": f"convert it with `{base}(...)`"}
    if base == STR and found in (INT, FLOAT, BOOL):
        return {"help": "convert it with `str(...)`, or use a template: `\"{{ ... }}\"`"}
    if isinstance(base, ListT) and assignable(found, base.item):
        return {"help": f"wrap it in a list: `[{source(expr)}]`"}
    return {}
