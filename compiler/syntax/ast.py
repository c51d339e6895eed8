"""The syntax tree of a `.flow` file: frozen dataclasses, one per construct.

Every node carries a :class:`Span`. Spans are excluded from equality so that
two trees compare structurally: ``parse(print(tree)) == tree`` holds even
though the printed text puts things at other positions.

This module holds node classes only; parsing is in ``parser.py``, printing in
``printer.py`` and checks in ``checks/``. The flow members and declarations
are defined here; the base (spans, :class:`Node`) in ``ast_base.py``, written
types and expressions in ``ast_expressions.py`` and steps in ``ast_steps.py``,
all named from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

# The nodes of the other ast_* modules are this module's: the rest of the
# compiler (and tools) name them `ast.Let`, `ast.Expr`... One import per module
# (`X as X` marks a re-export), kept whole by the import sorter.
# isort: off
from .ast_base import (
    KEYWORDS as KEYWORDS,
    MAX_DEPTH as MAX_DEPTH,
    NO_SPAN as NO_SPAN,
    Node as Node,
    Ref as Ref,
    Span as Span,
    _child_fields as _child_fields,  # the language server reads it here (lsp/shift.py)
    span_field,  # this module's own
)
from .ast_expressions import (
    Binary as Binary,
    ConstrainedType as ConstrainedType,
    Constraint as Constraint,
    Duration as Duration,
    Expr as Expr,
    FuncCall as FuncCall,
    Index as Index,
    ListExpr as ListExpr,
    ListType as ListType,
    Literal as Literal,
    LiteralUnion as LiteralUnion,
    MapType as MapType,
    Member as Member,
    Name as Name,
    NamedType as NamedType,
    OptionalType as OptionalType,
    RecordEntry as RecordEntry,
    RecordExpr as RecordExpr,
    RecordField as RecordField,
    RecordType as RecordType,
    Type as Type,
    Unary as Unary,
)
from .ast_steps import (
    Call as Call,
    Deadline as Deadline,
    Fail as Fail,
    If as If,
    Interrupt as Interrupt,
    KwArg as KwArg,
    Let as Let,
    Run as Run,
    Set as Set,
    Step as Step,
    Wait as Wait,
    Where as Where,
)
# isort: on

# --------------------------------------------------------------------------
# Flow members
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class StateField(Node):
    name: str
    type: Type
    default: Expr | None = None
    span: Span = span_field()
    name_span: Span = span_field()


@dataclass(frozen=True)
class StateBlock(Node):
    fields: tuple[StateField, ...]
    span: Span = span_field()


@dataclass(frozen=True)
class InputList(Node):
    names: tuple[Ref, ...]
    span: Span = span_field()


@dataclass(frozen=True)
class OutputList(Node):
    names: tuple[Ref, ...]
    span: Span = span_field()


@dataclass(frozen=True)
class FanOut(Node):
    """``for VAR in ITEMS [key KEY]`` of a fan-out node: one instance per
    element of ``items``, with ``var`` bound to it; ``key`` names instances."""

    var: str
    items: Expr
    key: Expr | None = None
    span: Span = span_field()
    var_span: Span = span_field()


@dataclass(frozen=True)
class NodeDecl(Node):
    name: str
    steps: tuple[Step, ...]
    doc: str | None = None
    retry: int | None = None
    backoff: Duration | None = None
    timeout: Duration | None = None
    span: Span = span_field()
    name_span: Span = span_field()
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
    span: Span = span_field()


@dataclass(frozen=True)
class StaticInterrupt(Node):
    """``interrupt before a, b`` (when ``"before"``) or ``interrupt after ...``."""

    when: str
    nodes: tuple[Ref, ...]
    span: Span = span_field()


FlowMember = StateBlock | InputList | OutputList | NodeDecl | Edge | StaticInterrupt


@dataclass(frozen=True)
class Flow(Node):
    name: str
    members: tuple[FlowMember, ...]
    doc: str | None = None
    span: Span = span_field()
    name_span: Span = span_field()

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
    span: Span = span_field()
    name_span: Span = span_field()


@dataclass(frozen=True)
class Use(Node):
    """``use "other.flow" [as alias]``."""

    path: str
    alias: str | None = None
    span: Span = span_field()


@dataclass(frozen=True)
class Comment(Node):
    """A ``#`` comment, kept for the formatter; ``text`` includes the ``#``."""

    text: str
    span: Span = span_field()


@dataclass(frozen=True)
class Module(Node):
    """A whole `.flow` file."""

    items: tuple[TypeDecl | Flow | Use, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False, repr=False)
    span: Span = span_field()
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
