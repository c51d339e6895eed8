"""Syntax tree nodes (re-exported by ``ast.py``, where they are used from):
the steps of a node and the clauses of their interrupts.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ast_base import Node, Ref, Span, span_field
from .ast_expressions import Duration, Expr, RecordExpr, Type

# --------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class KwArg(Node):
    name: str
    value: Expr
    span: Span = span_field()


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
    span: Span = span_field()
    target_span: Span = span_field()


@dataclass(frozen=True)
class Where(Node):
    """``where EXPR ["message"]``: a rule the answer must satisfy."""

    condition: Expr
    message: str | None = None
    span: Span = span_field()


@dataclass(frozen=True)
class Deadline(Node):
    """``within DUR -> NODE`` (``target``) or ``within DUR answer EXPR`` (``answer``)."""

    duration: Duration
    target: Ref | None = None
    answer: Expr | None = None
    span: Span = span_field()


@dataclass(frozen=True)
class Interrupt(Node):
    """``interrupt LABEL [PAYLOAD] [expect T]`` inside a node, with its
    human-task clauses (``to`` is empty when not given)."""

    label: str
    payload: Expr | None = None
    expect: Type | None = None
    span: Span = span_field()
    label_span: Span = span_field()
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
    span: Span = span_field()
    label_span: Span = span_field()


@dataclass(frozen=True)
class Run(Node):
    """``run FLOW {input}``: a child run of flow ``flow`` (``draft``, or
    ``review.draft`` through ``use ... as review``) with that input; as the
    value of a ``let``, the child's output record."""

    flow: str
    input: RecordExpr
    span: Span = span_field()
    flow_span: Span = span_field()


@dataclass(frozen=True)
class Let(Node):
    """``let name = EXPR | call ... | interrupt ... | run ...``."""

    name: str
    value: Expr | Call | Interrupt | Run
    span: Span = span_field()
    name_span: Span = span_field()


@dataclass(frozen=True)
class Set(Node):
    """``set field = EXPR`` (op ``"="``) or ``set field += EXPR`` (op ``"+="``)."""

    field: str
    op: str
    value: Expr
    span: Span = span_field()
    field_span: Span = span_field()


@dataclass(frozen=True)
class If(Node):
    condition: Expr
    then: tuple[Step, ...]
    otherwise: tuple[Step, ...] | None = None
    span: Span = span_field()


@dataclass(frozen=True)
class Fail(Node):
    message: Expr
    span: Span = span_field()


Step = Let | Set | Call | Interrupt | If | Fail | Wait | Run
