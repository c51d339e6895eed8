"""The base of the syntax tree (``ast.py``): source spans, the node class
every construct derives from, and the limits and reserved words of the
language.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import NamedTuple


class Span(NamedTuple):
    """A source range. Lines and columns are 1-based; ``end_column`` is exclusive.

    ``start`` and ``end`` are character offsets into the file text. A named
    tuple rather than a frozen dataclass: the parser makes one per token and
    per construct, and a tuple is built six times faster.
    """

    line: int
    column: int
    end_line: int
    end_column: int
    start: int = 0
    end: int = 0

    def cover(self, other: Span) -> Span:
        """The smallest span holding both ``self`` and ``other``."""
        first, last = (self, other) if self <= other else (other, self)
        end = max(self, other, key=lambda s: (s.end_line, s.end_column))
        return Span(first.line, first.column, end.end_line, end.end_column,
                    first.start, max(self.end, other.end, last.end))

    def or_else(self, fallback: Span) -> Span:
        """``self``, or ``fallback`` where ``self`` is no place in the source
        (a part the parser did not record, as in a tree built by hand)."""
        return self if self.line else fallback


NO_SPAN = Span(0, 0, 0, 0)


def span_field() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


class Node:
    """Base of every tree node: child iteration and a readable dump."""

    span: Span

    def child_list(self) -> list[Node]:
        """The nodes directly below this one, in source order."""
        found: list[Node] = []
        for name in _child_fields(type(self)):
            value = getattr(self, name)
            if isinstance(value, Node):
                found.append(value)
            elif isinstance(value, tuple):
                found += [item for item in value if isinstance(item, Node)]
        return found

    def walk(self) -> Iterator[Node]:
        """This node and all its descendants, depth first, in source order."""
        # A stack, not nested generators: every check walks the whole tree,
        # and a generator per level costs a resume per level per node.
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            yield node
            below = node.child_list()
            if below:
                below.reverse()
                stack += below


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
# Field annotations (strings: this module defers them) that never hold a node.
_LEAF_ANNOTATIONS = frozenset({"Span", "str", "bool", "str | None", "int | None", "tuple[str, ...]",
                               "str | int | float | bool | None", "str | int | float"})


def _child_fields(cls: type) -> tuple[str, ...]:
    """The fields of ``cls`` that may hold nodes (cached, as
    ``dataclasses.fields`` is slow and checks walk every tree often)."""
    names = _CHILD_FIELDS.get(cls)
    if names is None:
        names = _CHILD_FIELDS[cls] = tuple(
            f.name for f in fields(cls) if f.type not in _LEAF_ANNOTATIONS)
    return names


# How deep a tree may nest (F013, refused by the parser and, through `type`
# names, by the type checker): every later stage (checks, lowering, the
# printer, the runtime's evaluator) recurses along the tree within Python's
# 1,000 frames, and generated Python nests up to three brackets per level
# within Python's 200. Hand-written specs nest a few levels.
MAX_DEPTH = 50


# The reserved words of the language (LANGUAGE.md, "Lexical").
KEYWORDS = frozenset((
    "flow type state input output node let set call once interrupt expect before after start end "
    "when otherwise if else fail retry backoff timeout use as true false null and or not in "
    # Version 2: keywords only inside their clauses (spec/fermata.lark's header).
    "where to within answer remind every wait for until run").split())


# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref(Node):
    """A name written at a place of its own (an edge end, an input entry...)."""

    name: str
    span: Span = span_field()
