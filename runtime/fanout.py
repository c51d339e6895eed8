"""Fan-out nodes (`node N for X in EXPR [key EXPR]`): one instance per element.

A fan-out node is one node of the graph and one entry of the frontier; in the
step that runs it, it becomes one *instance* per element of its list, named
``N[key]`` (with ``key``) or ``N[position]``. What is decided here, once per
step (SEMANTICS.md, "Fan-out instances"):

* the list is evaluated on the state at step start, when the fan-out starts,
  and kept in the checkpoint (``extra["fanout"][N]``, see :class:`FanOut`), so
  a resume binds each instance to the same element and names it the same,
  whatever ``Command(update=...)`` did to the field since;
* keys are unique: a duplicate fails the run, naming both positions;
* instances are progress records of their own (``nodes["N[k]"]``) and
  their interrupts are ``N[k]:label``: an instance that pauses pauses only
  itself, a finished instance never runs again;
* when every instance has finished, the step completes with the instances'
  writes in instance order, then ``N`` itself with no writes and the route
  (``superstep.complete_step``, the one copy of step semantics, which also
  reports ``=`` conflicts between instances): edges fire once, joins count
  ``N`` once. The route is evaluated on the state at step start plus every
  instance's writes; an empty list finishes at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from .errors import EvalError, StepFailure
from .expressions import compile_expr
from .plain import Frozen
from .values import combine, format_value

if TYPE_CHECKING:
    from .record_types import FanOutRecord

_EMPTY: dict[str, Any] = {}


def base_node(name: str) -> str:
    """The node an instance name (``review[a17]``) belongs to; a plain node
    name is its own (node names never hold ``[``)."""
    return name.split("[", 1)[0]


def instance_name(node: str, key: Any) -> str:
    return f"{node}[{format_value(key)}]"


class FanOut(Frozen):
    """A started fan-out: its elements and their instance names, in list order."""

    __slots__ = ("items", "names")

    items: Final[list[Any]]
    names: Final[list[str]]

    def __init__(self, items: list[Any], names: list[str]) -> None:
        self.items = items
        self.names = names

    def to_json(self) -> FanOutRecord:
        return {"items": self.items, "names": self.names}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> FanOut:
        return FanOut(list(data["items"]), list(data["names"]))

    def instances(self) -> list[tuple[str, Any]]:
        return list(zip(self.names, self.items, strict=True))


class _View:
    """A view (``expressions.View``): ``state`` with ``overlay`` and ``locals``
    on top. Never written to: expressions only read."""

    __slots__ = ("locals", "overlay", "state")

    def __init__(self, state: dict[str, Any], overlay: dict[str, Any] = _EMPTY,
                 locals: dict[str, Any] = _EMPTY):
        self.state = state
        self.overlay = overlay
        self.locals = locals


class FanOutSpec:
    """A node's `for` clause, compiled."""

    def __init__(self, node: str, line: int, ir: Mapping[str, Any]):
        self.node = node
        self.line = line
        self.var: str = ir["var"]
        self.items = compile_expr(ir["in"])
        self.key = None if ir["key"] is None else compile_expr(ir["key"])

    def start(self, state: dict[str, Any]) -> FanOut:
        """Evaluate the list and name the instances (raises :class:`StepFailure`
        for a value that is not a list, a bad key or a duplicate key)."""
        try:
            items = self.items(_View(state))
        except StepFailure as failure:
            raise failure.locate(self.line, None) from None
        if type(items) is not list:
            raise EvalError(f"node `{self.node}` fans out over a list, found {_kind(items)}", line=self.line)
        names: list[str] = []
        first_at: dict[str, int] = {}
        for position, item in enumerate(items):
            key: Any = position
            if self.key is not None:
                try:
                    key = self.key(_View(state, _EMPTY, {self.var: item}))
                except StepFailure as failure:
                    raise failure.locate(self.line, None) from None
                if type(key) is not str and type(key) is not int:
                    raise EvalError(f"the key of `{self.node}` must be a str or an int, found {_kind(key)} "
                                    f"for the item at position {position}", line=self.line)
            name = instance_name(self.node, key)
            if name in first_at:
                raise EvalError(f"duplicate key {format_value(key)!r} in the fan-out of `{self.node}`: "
                                f"the items at positions {first_at[name]} and {position} both name "
                                f"instance `{name}`; keys must be unique", line=self.line)
            first_at[name] = position
            names.append(name)
        return FanOut(items, names)

    def bindings(self, item: Any) -> dict[str, Any]:
        return {self.var: item}


def fan_view(state: dict[str, Any], writes: list[list[Any]]) -> _View:
    """The view a fan-out's edges are evaluated on: the state at step start
    with every instance's writes applied in instance order (a ``+=`` that
    cannot combine is left to the step's completion to report)."""
    overlay: dict[str, Any] = {}
    for field, op, value in writes:
        if op == "=":
            overlay[field] = value
        else:
            try:
                overlay[field] = combine(overlay[field] if field in overlay else state[field], value)
            except StepFailure:
                pass
    return _View(state, overlay)


def _kind(value: Any) -> str:
    from .values import type_name

    return f"a {type_name(value)}" if value is not None else "null"
