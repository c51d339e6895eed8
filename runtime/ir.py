"""The IR's shape, typed (``spec/ir.schema.json`` is the contract; these
``TypedDict``s say the same to a type checker, at no cost at run time: an IR
document stays the plain dict ``json.loads`` gives).

Steps and expressions are kept as ``dict[str, Any]``: they are unions keyed
by ``"k"``, read by the step and expression compilers, which check ``k``.
"""

from __future__ import annotations

from typing import Any, TypedDict

Step = dict[str, Any]         # {"k": "let" | "set" | "call" | "interrupt" | "if" | "wait" | ..., "line", "column", ...}
Expr = dict[str, Any]         # {"k": ..., ...}


class WhereIR(TypedDict):
    """An interrupt step's optional ``"where"``: a rule on the answer."""

    cond: Expr                # reads the answer as {"k": "local", "n": <the step's bind>}
    message: str | None       # shown when the rule refuses an answer


class DeadlineIR(TypedDict, total=False):
    """An interrupt step's optional ``"within"``: ``ms`` and exactly one of
    ``goto`` (a node of the flow, or "end") and ``answer``."""

    ms: int
    goto: str
    answer: Expr              # reads the state, never the answer


class ClausesIR(TypedDict, total=False):
    """The optional keys an interrupt step may carry besides its own
    (``k label payload schema bind line column``)."""

    where: WhereIR
    to: list[Expr]            # each evaluates to a str or a list[str]
    within: DeadlineIR
    remind_every_ms: int


class WaitIR(TypedDict, total=False):
    """A ``{"k": "wait"}`` step: a durable timer, ``for_ms`` or ``until``."""

    k: str
    label: str
    for_ms: int
    until: Expr               # an ISO 8601 date-time string
    line: int
    column: int


class SourceIR(TypedDict):
    path: str
    sha256: str


class FieldIR(TypedDict):
    name: str
    schema: dict[str, Any]    # the field's JSON Schema
    has_default: bool
    default: Any
    optional: bool
    line: int


# `node N for X in EXPR [key EXPR]`: `var` is bound to each element (a local
# of the instance), `in` is the list, `key` names the instances (a str or int
# per element; null: by position). Functional form: `in` and `for` are Python
# keywords.
FanOutIR = TypedDict("FanOutIR", {"var": str, "in": Expr, "key": Expr | None})


class _NodeIRBase(TypedDict):
    name: str
    doc: str | None
    line: int
    retry: int
    backoff_ms: int
    timeout_ms: int | None
    steps: list[Step]


# Only a fan-out node has "for", so the IR (and hash) of every other node
# stays what it was.
_FanOutPart = TypedDict("_FanOutPart", {"for": FanOutIR}, total=False)


class NodeIR(_NodeIRBase, _FanOutPart):
    pass


class BranchIR(TypedDict):
    when: Expr | None         # None: `otherwise` (or an unconditional edge)
    targets: list[str]        # may include "end"
    line: int


class RouteIR(TypedDict):
    branches: list[BranchIR]  # the first whose `when` holds is taken


class JoinIR(TypedDict):
    sources: list[str]
    target: str
    line: int


class _FlowChildren(TypedDict, total=False):
    # Only on a flow with `run` steps: the flows they start (children.py). A
    # base of its own, as `NotRequired` is not seen in this module's
    # deferred annotations.
    children: dict[str, FlowIR]


class FlowIR(_FlowChildren):
    name: str
    doc: str | None
    line: int
    defs: dict[str, Any]
    fields: list[FieldIR]
    input: list[str]
    required_input: list[str]
    output: list[str]
    nodes: dict[str, NodeIR]
    routes: dict[str, RouteIR]  # by source node, and "start"
    joins: list[JoinIR]
    interrupt_before: list[str]
    interrupt_after: list[str]


class DocumentIR(TypedDict):
    """A compiled ``.flow`` file: ``fermata compile``'s output."""

    fermata_ir: int
    source: SourceIR
    flows: dict[str, FlowIR]
