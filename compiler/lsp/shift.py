"""Moving positions after an edit that adds or removes lines.

An edit re-parses one stretch of a flow (``incremental.py``); everything
written after that stretch is unchanged text, only further down (or up) the
file. Rather than re-parse it, its positions are moved: a :class:`Shift`
says where the unchanged text begins in the old version (``line``,
``column``, ``offset``) and in the new one, and maps any old position at or
after that point to the new one (the column changes only on the line where
the unchanged text begins; lines and character offsets change by a
constant).

The tree is moved *in place*: the tree's nodes are frozen dataclasses, but
the language server's index refers to them (a symbol's declaration, an
expression's env, a node's scope), and copying them would mean rebuilding
the index. A moved tree belongs to the new analysis only: the analysis it
came from is consumed (``incremental.reanalyze`` says so). Spans are not
part of a node's equality or hash (``ast._span``), so moving them changes
neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields, replace

from ..diagnostics.diagnostic import Diagnostic, Label
from ..syntax import ast

Point = tuple[int, int]

_PLANS: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _plan(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The fields of ``cls`` holding a span, and those that may hold nodes."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = (tuple(f.name for f in fields(cls) if f.type == "Span"), ast._child_fields(cls))
    return plan


class Shift:
    """Old positions at or after ``(line, column)`` -> new positions."""

    __slots__ = ("chars", "column", "columns", "line", "lines", "offset")

    def __init__(self, old: tuple[int, int, int], new: tuple[int, int, int]):
        self.line, self.column, self.offset = old
        self.lines = new[0] - old[0]
        self.columns = new[1] - old[1]
        self.chars = new[2] - old[2]

    @property
    def point(self) -> Point:
        return self.line, self.column

    @property
    def is_identity(self) -> bool:
        return not (self.lines or self.columns or self.chars)

    def moves(self, point: Point) -> bool:
        return point >= (self.line, self.column)

    def map_point(self, point: Point) -> Point:
        line, column = point
        if (line, column) < (self.line, self.column):
            return point
        return line + self.lines, column + self.columns if line == self.line else column

    def span(self, span: ast.Span) -> ast.Span:
        """``span`` with each end moved if it lies at or after the point."""
        if not span.line:
            return span
        line, column, end_line, end_column, start, end = span
        here = (self.line, self.column)
        if (line, column) >= here:
            if line == self.line:
                column += self.columns
            line += self.lines
            start += self.chars
        if (end_line, end_column) >= here:
            if end_line == self.line:
                end_column += self.columns
            end_line += self.lines
            end += self.chars
        return ast.Span(line, column, end_line, end_column, start, end)

    # ------------------------------------------------------------------ tree

    def tree(self, roots: Iterable[ast.Node]) -> None:
        """Move every span below ``roots`` (which lie wholly after the point), in place.

        The hot loop of an edit that adds a line (every construct after it):
        spans are written through the nodes' ``__dict__`` (frozen dataclasses
        refuse ``setattr``) and made with ``tuple.__new__``."""
        line_at, lines, columns, chars = self.line, self.lines, self.columns, self.chars
        make, span_type, node_type = tuple.__new__, ast.Span, ast.Node
        stack: list[ast.Node] = list(roots)
        while stack:
            node = stack.pop()
            span_names, child_names = _plan(type(node))
            values = node.__dict__
            for name in span_names:
                line, column, end_line, end_column, start, end = values[name]
                if not line:
                    continue
                if line == line_at:
                    column += columns
                if end_line == line_at:
                    end_column += columns
                values[name] = make(span_type, (line + lines, column, end_line + lines, end_column,
                                                start + chars, end + chars))
            for name in child_names:
                value = values[name]
                if isinstance(value, tuple):
                    stack += [item for item in value if isinstance(item, node_type)]
                elif isinstance(value, node_type):
                    stack.append(value)

    def diagnostic(self, diagnostic: Diagnostic) -> Diagnostic:
        labels = tuple(Label(self.span(label.span), label.message) for label in diagnostic.labels)
        return replace(diagnostic, span=self.span(diagnostic.span), labels=labels)

    def diagnostics(self, diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
        if self.is_identity:
            return list(diagnostics)
        return [self.diagnostic(d) for d in diagnostics]


def offsets_only(chars: int) -> Shift:
    """A shift of character offsets alone (a stretch parsed with a shorter prefix)."""
    return Shift((0, 0, 0), (0, 0, chars))
