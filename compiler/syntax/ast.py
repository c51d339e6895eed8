"""The syntax tree of a `.flow` file: frozen dataclasses, one per construct.

Every node carries a :class:`Span`. Spans are excluded from equality so that
two trees compare structurally: ``parse(print(tree)) == tree`` holds even
though the printed text puts things at other positions.

This module holds node classes only; parsing is in ``parser.py``, printing in
``printer.py`` and checks in ``checks/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import ClassVar, NamedTuple


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


def _span() -> Span:
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
    span: Span = _span()


# --------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class NamedType(Node):
    """``str int float bool any`` or a ``type`` declared in the file."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class ListType(Node):
    item: Type
    span: Span = _span()


@dataclass(frozen=True)
class MapType(Node):
    """``map[T]``: string keys, values of ``T``."""

    value: Type
    span: Span = _span()


@dataclass(frozen=True)
class OptionalType(Node):
    """``T?``: a ``T`` or null."""

    inner: Type
    span: Span = _span()


@dataclass(frozen=True)
class RecordField(Node):
    name: str
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class RecordType(Node):
    """``{a: T, b: U?}``; fields of an optional type may be left out."""

    fields: tuple[RecordField, ...]
    span: Span = _span()


@dataclass(frozen=True)
class LiteralUnion(Node):
    """``"low" | "mid" | "high"``."""

    values: tuple[str, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Constraint(Node):
    """One ``WORD VALUE`` of a constrained type: ``min 1``, ``pattern "^a"``.
    The word is kept as written; which words a type takes is the checker's
    business (``checks/constraints.py``), so the grammar reserves none."""

    name: str
    value: str | int | float
    span: Span = _span()


@dataclass(frozen=True)
class ConstrainedType(Node):
    """``T(min 1, max 500)``: a type narrowed by constraints (JSON Schema's
    ``minLength``, ``maximum``, ``pattern``...)."""

    base: Type
    constraints: tuple[Constraint, ...]
    span: Span = _span()


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
    span: Span = _span()

    @property
    def is_template(self) -> bool:
        return isinstance(self.value, str) and ("{{" in self.value or "{%" in self.value)


@dataclass(frozen=True)
class Name(Node):
    """A state field or a local."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class ListExpr(Node):
    items: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class RecordEntry(Node):
    key: str
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class RecordExpr(Node):
    entries: tuple[RecordEntry, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Member(Node):
    """``obj.name``."""

    obj: Expr
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Index(Node):
    """``obj[index]``."""

    obj: Expr
    index: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Unary(Node):
    """``not x`` (op ``"not"``) or ``-x`` (op ``"-"``)."""

    op: str
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Binary(Node):
    """``left op right``; op is one of ``or and == != < <= > >= in ?? + - * / %``."""

    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class FuncCall(Node):
    """A call of a built-in function: ``len(x)``, ``round(x, 2)``..."""

    name: str
    args: tuple[Expr, ...]
    span: Span = _span()
    name_span: Span = _span()


Expr = Literal | Name | ListExpr | RecordExpr | Member | Index | Unary | Binary | FuncCall


# --------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class KwArg(Node):
    name: str
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Call(Node):
    """``call [once] "pkg.mod:fn"[(args)]``.

    ``args is None`` is the state-in/updates-out form: ``fn(state)`` returns a
    dict of field updates. Otherwise ``fn(*args, **kwargs)``.
    """

    target: str
    args: tuple[Expr, ...] | None
    kwargs: tuple[KwArg, ...] = ()
    once: bool = False
    span: Span = _span()
    target_span: Span = _span()


@dataclass(frozen=True)
class Where(Node):
    """``where EXPR ["message"]``: a rule the answer must satisfy."""

    condition: Expr
    message: str | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Deadline(Node):
    """``within DUR -> NODE`` (``target``) or ``within DUR answer EXPR`` (``answer``)."""

    duration: Duration
    target: Ref | None = None
    answer: Expr | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Interrupt(Node):
    """``interrupt LABEL [PAYLOAD] [expect T]`` inside a node, with its
    human-task clauses (``to`` is empty when not given)."""

    label: str
    payload: Expr | None = None
    expect: Type | None = None
    span: Span = _span()
    label_span: Span = _span()
    where: Where | None = None
    to: tuple[Expr, ...] = ()
    within: Deadline | None = None
    remind_every: Duration | None = None

    @property
    def has_clauses(self) -> bool:
        return (self.where is not None or bool(self.to) or self.within is not None
                or self.remind_every is not None)


@dataclass(frozen=True)
class Wait(Node):
    """``wait LABEL for DUR`` (``duration``) or ``wait LABEL until EXPR`` (``until``):
    a durable timer, paused like an interrupt with id ``node:LABEL``."""

    label: str
    duration: Duration | None = None
    until: Expr | None = None
    span: Span = _span()
    label_span: Span = _span()


@dataclass(frozen=True)
class Run(Node):
    """``run FLOW {input}``: a child run of flow ``flow`` (``draft``, or
    ``review.draft`` through ``use ... as review``) with that input; as the
    value of a ``let``, the child's output record."""

    flow: str
    input: RecordExpr
    span: Span = _span()
    flow_span: Span = _span()


@dataclass(frozen=True)
class Let(Node):
    """``let name = EXPR | call ... | interrupt ... | run ...``."""

    name: str
    value: Expr | Call | Interrupt | Run
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class Set(Node):
    """``set field = EXPR`` (op ``"="``) or ``set field += EXPR`` (op ``"+="``)."""

    field: str
    op: str
    value: Expr
    span: Span = _span()
    field_span: Span = _span()


@dataclass(frozen=True)
class If(Node):
    condition: Expr
    then: tuple[Step, ...]
    otherwise: tuple[Step, ...] | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Fail(Node):
    message: Expr
    span: Span = _span()


Step = Let | Set | Call | Interrupt | If | Fail | Wait | Run


# --------------------------------------------------------------------------
# Flow members
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Duration(Node):
    """``500ms``, ``2s``, ``5m``, ``1h`` as written; ``text`` keeps the source."""

    text: str
    span: Span = _span()

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


@dataclass(frozen=True)
class StateField(Node):
    name: str
    type: Type
    default: Expr | None = None
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class StateBlock(Node):
    fields: tuple[StateField, ...]
    span: Span = _span()


@dataclass(frozen=True)
class InputList(Node):
    names: tuple[Ref, ...]
    span: Span = _span()


@dataclass(frozen=True)
class OutputList(Node):
    names: tuple[Ref, ...]
    span: Span = _span()


@dataclass(frozen=True)
class FanOut(Node):
    """``for VAR in ITEMS [key KEY]`` of a fan-out node: one instance per
    element of ``items``, with ``var`` bound to it; ``key`` names instances."""

    var: str
    items: Expr
    key: Expr | None = None
    span: Span = _span()
    var_span: Span = _span()


@dataclass(frozen=True)
class NodeDecl(Node):
    name: str
    steps: tuple[Step, ...]
    doc: str | None = None
    retry: int | None = None
    backoff: Duration | None = None
    timeout: Duration | None = None
    span: Span = _span()
    name_span: Span = _span()
    fan_out: FanOut | None = None   # last, so positional constructions stay valid

    @cached_property
    def all_steps(self) -> tuple[Step, ...]:
        """Every step, those inside `if`/`else` bodies included, in source
        order (cached: most checks go through them)."""
        found: list[Step] = []
        pending = list(reversed(self.steps))
        while pending:
            step = pending.pop()
            found.append(step)
            if isinstance(step, If):
                pending += reversed((*step.then, *(step.otherwise or ())))
        return tuple(found)


@dataclass(frozen=True)
class Edge(Node):
    """``a, b -> c, d [when EXPR | otherwise]``.

    ``start`` and ``end`` appear as ordinary :class:`Ref` names.
    """

    sources: tuple[Ref, ...]
    targets: tuple[Ref, ...]
    condition: Expr | None = None
    otherwise: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class StaticInterrupt(Node):
    """``interrupt before a, b`` (when ``"before"``) or ``interrupt after ...``."""

    when: str
    nodes: tuple[Ref, ...]
    span: Span = _span()


FlowMember = StateBlock | InputList | OutputList | NodeDecl | Edge | StaticInterrupt


@dataclass(frozen=True)
class Flow(Node):
    name: str
    members: tuple[FlowMember, ...]
    doc: str | None = None
    span: Span = _span()
    name_span: Span = _span()

    # Typed views of ``members``; the tuple keeps source order for the printer.
    # Cached: the checks ask for them often, and a flow never changes.
    @cached_property
    def state_blocks(self) -> tuple[StateBlock, ...]:
        return tuple(m for m in self.members if isinstance(m, StateBlock))

    @cached_property
    def state_fields(self) -> tuple[StateField, ...]:
        return tuple(f for block in self.state_blocks for f in block.fields)

    @cached_property
    def inputs(self) -> InputList | None:
        return next((m for m in self.members if isinstance(m, InputList)), None)

    @cached_property
    def outputs(self) -> OutputList | None:
        return next((m for m in self.members if isinstance(m, OutputList)), None)

    @cached_property
    def nodes(self) -> tuple[NodeDecl, ...]:
        return tuple(m for m in self.members if isinstance(m, NodeDecl))

    @cached_property
    def edges(self) -> tuple[Edge, ...]:
        return tuple(m for m in self.members if isinstance(m, Edge))

    @cached_property
    def static_interrupts(self) -> tuple[StaticInterrupt, ...]:
        return tuple(m for m in self.members if isinstance(m, StaticInterrupt))


@dataclass(frozen=True)
class TypeDecl(Node):
    name: str
    type: Type
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class Use(Node):
    """``use "other.flow" [as alias]``."""

    path: str
    alias: str | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Comment(Node):
    """A ``#`` comment, kept for the formatter; ``text`` includes the ``#``."""

    text: str
    span: Span = _span()


@dataclass(frozen=True)
class Module(Node):
    """A whole `.flow` file."""

    items: tuple[TypeDecl | Flow | Use, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False, repr=False)
    span: Span = _span()
    # What the `use` lines bring in (compiler/modules.py fills them in):
    # declarations of other files, renamed `ns.X` for `use ... as ns`, every
    # span set to the `use` line's. Not part of the text: the printer and
    # equality ignore them.
    imported_types: tuple[TypeDecl, ...] = field(default=(), compare=False, repr=False)
    imported_flows: tuple[Flow, ...] = field(default=(), compare=False, repr=False)
    # Where each imported type is declared (absolute path, name span), for
    # an editor's go-to-definition: the spans above are all the `use` line's.
    imported_locations: dict[str, tuple[str, Span]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def flows(self) -> tuple[Flow, ...]:
        return tuple(i for i in self.items if isinstance(i, Flow))

    @property
    def types(self) -> tuple[TypeDecl, ...]:
        return tuple(i for i in self.items if isinstance(i, TypeDecl))

    @property
    def all_types(self) -> tuple[TypeDecl, ...]:
        """The imported `type` declarations, then this file's: what names resolve against."""
        return self.imported_types + self.types

    @property
    def uses(self) -> tuple[Use, ...]:
        return tuple(i for i in self.items if isinstance(i, Use))
