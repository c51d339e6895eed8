"""Syntax tree nodes (re-exported by ``ast.py``, where they are used from):
written types, expressions and durations, the values written inside a
construct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .ast_base import Node, Span, span_field

# --------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class NamedType(Node):
    """``str int float bool any`` or a ``type`` declared in the file."""

    name: str
    span: Span = span_field()


@dataclass(frozen=True)
class ListType(Node):
    item: Type
    span: Span = span_field()


@dataclass(frozen=True)
class MapType(Node):
    """``map[T]``: string keys, values of ``T``."""

    value: Type
    span: Span = span_field()


@dataclass(frozen=True)
class OptionalType(Node):
    """``T?``: a ``T`` or null."""

    inner: Type
    span: Span = span_field()


@dataclass(frozen=True)
class RecordField(Node):
    name: str
    type: Type
    span: Span = span_field()


@dataclass(frozen=True)
class RecordType(Node):
    """``{a: T, b: U?}``; fields of an optional type may be left out."""

    fields: tuple[RecordField, ...]
    span: Span = span_field()


@dataclass(frozen=True)
class LiteralUnion(Node):
    """``"low" | "mid" | "high"``."""

    values: tuple[str, ...]
    span: Span = span_field()


@dataclass(frozen=True)
class Constraint(Node):
    """One ``WORD VALUE`` of a constrained type: ``min 1``, ``pattern "^a"``.
    The word is kept as written; which words a type takes is the checker's
    business (``checks/constraints.py``), so the grammar reserves none."""

    name: str
    value: str | int | float
    span: Span = span_field()


@dataclass(frozen=True)
class ConstrainedType(Node):
    """``T(min 1, max 500)``: a type narrowed by constraints (JSON Schema's
    ``minLength``, ``maximum``, ``pattern``...)."""

    base: Type
    constraints: tuple[Constraint, ...]
    span: Span = span_field()


Type = NamedType | ListType | MapType | OptionalType | RecordType | LiteralUnion | ConstrainedType


# --------------------------------------------------------------------------
# Expressions
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal(Node):
    """A number, string, ``true``/``false`` or ``null``.

    Strings hold their decoded text; a string with ``{{ ... }}`` in it is a
    template (``is_template``) rendered at run time.
    """

    value: str | int | float | bool | None
    span: Span = span_field()

    @property
    def is_template(self) -> bool:
        return isinstance(self.value, str) and ("{{" in self.value or "{%" in self.value)


@dataclass(frozen=True)
class Name(Node):
    """A state field or a local."""

    name: str
    span: Span = span_field()


@dataclass(frozen=True)
class ListExpr(Node):
    items: tuple[Expr, ...]
    span: Span = span_field()


@dataclass(frozen=True)
class RecordEntry(Node):
    key: str
    value: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class RecordExpr(Node):
    entries: tuple[RecordEntry, ...]
    span: Span = span_field()


@dataclass(frozen=True)
class Member(Node):
    """``obj.name``."""

    obj: Expr
    name: str
    span: Span = span_field()


@dataclass(frozen=True)
class Index(Node):
    """``obj[index]``."""

    obj: Expr
    index: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class Unary(Node):
    """``not x`` (op ``"not"``) or ``-x`` (op ``"-"``)."""

    op: str
    operand: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class Binary(Node):
    """``left op right``; op is one of ``or and == != < <= > >= in ?? + - * / %``."""

    op: str
    left: Expr
    right: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class FuncCall(Node):
    """A call of a built-in function: ``len(x)``, ``round(x, 2)``..."""

    name: str
    args: tuple[Expr, ...]
    span: Span = span_field()
    name_span: Span = span_field()


Expr = Literal | Name | ListExpr | RecordExpr | Member | Index | Unary | Binary | FuncCall


@dataclass(frozen=True)
class Duration(Node):
    """``500ms``, ``2s``, ``5m``, ``1h`` as written; ``text`` keeps the source."""

    text: str
    span: Span = span_field()

    UNITS: ClassVar[dict[str, int]] = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}

    @property
    def milliseconds(self) -> int | None:
        """The duration in milliseconds, or None when the text is malformed."""
        digits = self.text.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        unit = self.text[len(digits):]
        if not digits.isdigit() or unit not in self.UNITS:
            return None
        # Leading zeros stripped: `int()` refuses more than 4,300 digits.
        return int(digits.lstrip("0") or "0") * self.UNITS[unit]
