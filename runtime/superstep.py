"""What a superstep comes to once its nodes have finished: THE step semantics.

The engine (running a thread) and ``replay`` (checking a recorded run against
a new version of its flow) both complete steps with these functions, so a
replay judges a run by exactly the code that would run it, as Temporal's
replayer runs the worker's own code.

Completing a step, given each node's writes and route, in node-name order
(LangGraph's deterministic order):

* writes: ``set f = v`` replaces, ``set f += v`` combines with the value so
  far (several nodes' ``+=`` combine in name order, documented; what they
  give a field with constraints together is checked against its type). A ``=``
  beside another node's write to the same field is an
  :class:`InvalidUpdateError`: the nodes' names would decide which survives.
* routes: the union of the nodes' targets;
* joins: each finished node is counted for the joins it is a source of; a
  join whose sources have all arrived fires (adds its target) and is reset.

The static pauses of a boundary (``interrupt after`` the nodes that ran,
``interrupt before`` the nodes about to run) and the route of ``start`` are
here too, for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .errors import InvalidUpdateError, StepFailure
from .plain import Plain
from .program import Program
from .records import StaticWhen, Write
from .values import combine

_EMPTY: dict[str, Any] = {}


class AddFailure(Exception):
    """Node ``node``'s ``set field += value`` could not be combined with the
    value so far (mismatched values from two nodes): ``failure`` says why."""

    def __init__(self, node: str, field: str, value: Any, failure: StepFailure):
        super().__init__(failure.message)
        self.node = node
        self.field = field
        self.value = value
        self.failure = failure


class StepOutcome(Plain):
    """A completed step: what it changes and where the run goes next."""

    __slots__ = ("joins", "targets", "updates", "writers")

    updates: dict[str, Any]      # field -> new value (only the fields written)
    targets: set[str]            # routed to, joins that fired included
    joins: dict[str, list[str]]  # join progress after the step (a new dict when it changed)
    writers: dict[str, str]      # field -> the last node (in name order) that wrote it

    def __init__(self, updates: dict[str, Any], targets: set[str], joins: dict[str, list[str]],
                 writers: dict[str, str]) -> None:
        self.updates = updates
        self.targets = targets
        self.joins = joins
        self.writers = writers

    def frontier(self, goto: list[str] | None) -> list[str]:
        """The next step's nodes: a pending ``Command(goto=...)`` replaces the route."""
        return goto if goto is not None else sorted(self.targets)


def complete_step(flow: Program, values: Mapping[str, Any], nodes: Iterable[str],
                  results: Mapping[str, tuple[list[Write], list[str]]], joins: dict[str, list[str]],
                  step: int) -> StepOutcome:
    """Complete step ``step``, whose ``nodes`` (sorted) finished with
    ``results[name] = (writes, next)``, on state ``values`` with join
    progress ``joins`` (neither is changed).

    Raises :class:`InvalidUpdateError` for conflicting writes and
    :class:`AddFailure` for a ``+=`` that cannot combine."""
    updates: dict[str, Any] = {}
    replaced_by: dict[str, str] = {}
    extended_by: dict[str, str] = {}
    combined: set[str] = set()        # constrained fields several nodes `+=` to
    writers: dict[str, str] = {}
    targets: set[str] = set()
    joins_by_source = flow.joins_by_source
    copied = False
    for name in nodes:
        writes, routed = results[name]
        for field, op, value in writes:
            writers[field] = name
            if op == "=":
                other = replaced_by.setdefault(field, name)
                if other != name:
                    raise InvalidUpdateError(field, [other, name], step)
                adder = extended_by.get(field, name)
                if adder != name:
                    raise InvalidUpdateError(field, [adder, name], step, extended_by=adder)
                updates[field] = value
            else:
                other = replaced_by.get(field, name)
                if other != name:
                    raise InvalidUpdateError(field, [other, name], step, extended_by=name)
                if extended_by.setdefault(field, name) != name and field in flow.constrained_fields:
                    combined.add(field)
                try:
                    updates[field] = combine(updates[field] if field in updates else values[field], value)
                except StepFailure as failure:
                    raise AddFailure(name, field, value, failure) from None
        targets.update(routed)
        if name in joins_by_source:
            if not copied:  # never mutate what a checkpoint may hold
                joins, copied = dict(joins), True
            arrive(flow, name, joins, targets)
    if combined:   # rare (several nodes `+=` one constrained field): most steps sort nothing
        for field in sorted(combined):
            _check_combined(flow, field, updates[field], writers[field])
    return StepOutcome(updates, targets, joins, writers)


def _check_combined(flow: Program, field: str, value: Any, last: str) -> None:
    """Each node checked its own ``+=`` against the field's type; what
    several of them add together may still break a constraint
    (``list[T](max 10)``, ``int(max 5)``): :class:`AddFailure` if it does."""
    problems = flow.schemas.violations(flow.field_schemas[field], value)
    if problems:
        raise AddFailure(last, field, value, StepFailure(
            f"the value the nodes' `+=` give `{field}` together does not match its type: "
            + "; ".join(problems)))


def arrive(flow: Program, name: str, joins: dict[str, list[str]], targets: set[str]) -> None:
    """Node ``name`` finished: count it for its joins (in ``joins``, changed
    in place); add the targets of the joins that are complete to ``targets``."""
    for join in flow.joins_by_source.get(name, ()):
        seen = set(joins.get(join.key, ()))
        seen.add(name)
        if seen >= join.sources:
            targets.add(join.target)
            joins.pop(join.key, None)
        else:
            joins[join.key] = sorted(seen)


def static_pauses(flow: Program, ran: Iterable[str], frontier: Iterable[str]) -> list[tuple[str, StaticWhen]]:
    """The static pauses of the boundary after ``ran`` and before
    ``frontier``: ``interrupt after`` first, then ``interrupt before``."""
    pauses: list[tuple[str, StaticWhen]] = []
    if flow.interrupt_after:
        pauses += [(n, StaticWhen.AFTER) for n in ran if n in flow.interrupt_after]
    if flow.interrupt_before:
        pauses += [(n, StaticWhen.BEFORE) for n in frontier if n in flow.interrupt_before]
    return pauses


class StateView:
    """The view ``start``'s route is evaluated on: the state, nothing else."""

    __slots__ = ("locals", "overlay", "state")

    def __init__(self, state: dict[str, Any]):
        self.state = state
        self.overlay = _EMPTY
        self.locals = _EMPTY


def route_start(flow: Program, values: dict[str, Any]) -> list[str]:
    """The first step's nodes, as ``start``'s route gives them (raises the
    route's :class:`StepFailure`)."""
    return sorted(set(flow.start_route(StateView(values))))
