"""The superstep analyses of a flow's graph (F204, F205, F216, F218): a part
of the graph checks (``graph.py``), whose flow check they are a base of.

They run the flow abstractly: a state is the
frontier (the set of nodes of one superstep) plus each join's progress; a
step runs every frontier node, may take any branch of each routing group (or
none without `otherwise`), fires complete joins, and gives the next frontier.
Conditions are not evaluated, so two branches whose conditions exclude each
other across nodes may still be counted together: F204 and F205 are warnings.
F216 (a `set f =` and a `set f +=` in one superstep) is an error all the same:
the run would not fail, its result would silently depend on the nodes' names
(writes apply in name order); where the conditions do exclude each other,
the finding can be silenced on its line.
The exploration is exhaustive up to :data:`MAX_STATES` abstract states; past
that bound the conflicts found so far are kept and F204 (which needs the whole
space to say "never") is skipped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..diagnostics.diagnostic import DiagnosticSink, Label
from ..syntax import ast
from .graph_model import END, START, Edge, Join, names_list, ref_names

MAX_STATES = 4096
MAX_NEXT_FRONTIERS = 1024


@dataclass
class _Exploration:
    complete: bool = True
    fired: set[int] = field(default_factory=set)   # indices of joins that fired
    # (first, second, field) -> the frontiers leading to a step running both:
    conflicts: dict[tuple[str, str, str], list[frozenset[str]]] = field(default_factory=dict)  # `=`, `=`
    mixed: dict[tuple[str, str, str], list[frozenset[str]]] = field(default_factory=dict)      # `=`, `+=`


class Supersteps:
    """What nodes may run in one superstep, and the writes that meet there.
    Reads the model its subclass (``graph.FlowCheck``) builds."""

    sink: DiagnosticSink
    nodes: dict[str, ast.NodeDecl]
    order: dict[str, int]
    routes: dict[str, list[Edge]]
    joins: list[Join]

    def _route_options(self, source: str) -> list[frozenset[str]]:
        raise NotImplementedError

    def _reachable(self) -> set[str]:
        raise NotImplementedError

    def _check_fan_out_writes(self) -> None:
        """A fan-out node's instances run in one superstep: a `set f =` in it
        is made by every instance, so with two items or more the run fails
        (two replacements of one field), or, beside a `set f +=` of the same
        node, depends on the order of the list. Sibling nodes' writes are
        F205/F216's; this is the fan-out's own."""
        for name, node in self.nodes.items():
            if node.fan_out is None:
                continue
            for field_name, step in _written_fields(node, "=").items():
                self.sink.warning(
                    "F218", f"every instance of fan-out `{name}` replaces `{field_name}`", _set_span(step),
                    notes=[(f"`{name}` runs once per item of `{node.fan_out.var}`'s list, all in one "
                            "superstep; two `set f =` writes in one superstep fail the run")],
                    help=f"collect per-item results with `set {field_name} += [...]`, or write "
                         f"`{field_name}` in a node after `{name}`")

    # ------------------------------------------------------------- supersteps

    def _check_supersteps(self) -> None:
        if not self.joins and all(len(o - {END}) <= 1 for n in [START, *self.nodes]
                                  for o in self._route_options(n)):
            # Every superstep runs one node: no two writes can meet and there
            # is no join to fire. (Most flows; exploring would cost a state
            # per node.)
            return
        replaces = {name: _written_fields(node, "=") for name, node in self.nodes.items()}
        appends = {name: _written_fields(node, "+=") for name, node in self.nodes.items()}
        explored = self._explore(replaces, appends)
        for (replacer, appender, field_name), witness in self._in_order(explored.mixed):
            path = _path_text(witness, replacer, appender)
            self.sink.error(
                "F216", f"`{replacer}` replaces `{field_name}` while `{appender}` adds to it, "
                "in one superstep", _set_span(appends[appender][field_name]),
                labels=[Label(_set_span(replaces[replacer][field_name]),
                              f"`{replacer}` replaces `{field_name}` here")],
                notes=[f"for example: {path}",
                       "writes of one superstep are applied in the order of the nodes' names, "
                       "so the result would depend on how the nodes are named"],
                help=f"make both writes `set {field_name} += ...`, or order the nodes with an edge")
        for (first, second, field_name), witness in self._in_order(explored.conflicts):
            path = _path_text(witness, first, second)
            self.sink.warning(
                "F205", f"`{first}` and `{second}` can run in one superstep and both replace "
                f"`{field_name}`", _set_span(replaces[second][field_name]),
                labels=[Label(_set_span(replaces[first][field_name]),
                              f"`{first}` also replaces `{field_name}` here")],
                notes=[f"for example: {path}",
                       "two `set f =` writes in one superstep fail the run; `+=` writes combine"],
                help=f"make both writes `set {field_name} += ...`, or order the nodes with an edge")
        if not explored.complete:
            return
        reachable = self._reachable()
        reported: set[int] = set()
        for index, join in enumerate(self.joins):
            edge = join.edge.node
            if index in explored.fired or not join.sources <= reachable or id(edge) in reported:
                continue
            reported.add(id(edge))   # `a, b -> c, d` is one edge, one warning
            sources = sorted(join.sources, key=self.order.__getitem__)
            notes = ["a join fires once every source has finished since it last fired"]
            rival = self._alternative_of(join.sources)
            if rival:
                notes.append(rival)
            self.sink.warning(
                "F204", f"join `{ref_names(edge.sources, ', ')} -> {ref_names(edge.targets, ', ')}` "
                "never fires: its sources never all run", edge.span, notes=notes,
                help="join nodes that all run on one path, e.g. the targets of one fan-out "
                     f"`x -> {', '.join(sources)}`")

    def _alternative_of(self, sources: frozenset[str]) -> str | None:
        """Name the routing group whose branches split the join's sources."""
        for source, edges in self.routes.items():
            branches = [set(e.targets) & sources for e in edges if e.conditional]
            hit = [b for b in branches if b]
            if len(hit) > 1 and len(set().union(*hit)) > 1:
                split = sorted(set().union(*hit), key=self.order.__getitem__)
                return (f"{names_list(split)} are alternative branches of the routing group "
                        f"of `{source}`")
        return None

    def _in_order(self, found: Mapping[tuple[str, str, str], list[frozenset[str]]]
                  ) -> list[tuple[tuple[str, str, str], list[frozenset[str]]]]:
        return sorted(found.items(),
                      key=lambda item: (self.order[item[0][1]], self.order[item[0][0]], item[0][2]))

    def _explore(self, replaces: Mapping[str, Mapping[str, ast.Set]],
                 appends: Mapping[str, Mapping[str, ast.Set]]) -> _Exploration:
        result = _Exploration()
        options = {name: [o - {END} for o in self._route_options(name)]
                   for name in [START, *self.nodes]}
        empty_progress = tuple(frozenset[str]() for _ in self.joins)
        State = tuple[frozenset[str], tuple[frozenset[str], ...]]
        parent: dict[State, State | None] = {}
        queue: deque[State] = deque()
        for frontier in _dedupe(options[START]):
            state = (frontier, empty_progress)
            if frontier and state not in parent:
                parent[state] = None
                queue.append(state)
        while queue:
            state = queue.popleft()
            frontier, progress = state
            self._record_conflicts(state, parent, replaces, appends, result)
            fired: set[str] = set()
            next_progress = []
            for index, (join, seen) in enumerate(zip(self.joins, progress, strict=False)):
                seen = seen | (frontier & join.sources)
                if seen >= join.sources:
                    result.fired.add(index)
                    fired.add(join.target)
                    seen = frozenset()
                next_progress.append(seen)
            # The nodes with one route option all add theirs: one union, not
            # a copy of the growing set per node (quadratic in a wide fan-out).
            unions: set[frozenset[str]] = {frozenset(fired).union(
                *(options[name][0] for name in frontier if len(options[name]) == 1))}
            for name in sorted(n for n in frontier if len(options[n]) > 1):
                unions = {u | o for u in unions for o in options[name]}
                if len(unions) > MAX_NEXT_FRONTIERS:
                    result.complete = False
                    unions = set(sorted(unions, key=sorted)[:MAX_NEXT_FRONTIERS])
            for following in (sorted(unions, key=sorted) if len(unions) > 1 else unions):
                new = (following, tuple(next_progress))
                if not following or new in parent:
                    continue
                if len(parent) >= MAX_STATES:
                    result.complete = False
                    return result
                parent[new] = state
                queue.append(new)
        return result

    def _record_conflicts(self, state: tuple[frozenset[str], tuple[frozenset[str], ...]],
                          parent: Mapping[Any, Any], replaces: Mapping[str, Mapping[str, ast.Set]],
                          appends: Mapping[str, Mapping[str, ast.Set]], result: _Exploration) -> None:
        """Record, for each field written by two nodes of this step, the first
        of its replacing nodes with every other writer (not every pair: n
        writers of one field give n - 1 findings, not n * n)."""
        if len(state[0]) < 2:
            return  # one node alone conflicts with nothing
        replacers: dict[str, list[str]] = {}
        appenders: dict[str, list[str]] = {}
        for name in sorted(state[0], key=self.order.__getitem__):
            for field_name in replaces[name]:
                replacers.setdefault(field_name, []).append(name)
            for field_name in appends[name]:
                appenders.setdefault(field_name, []).append(name)
        for field_name, names in replacers.items():
            # A node that also replaces the field is in F205's pairs already
            # (and two replacements fail the run whatever is added).
            adders = [a for a in appenders.get(field_name, ()) if a not in names]
            pairs = [(result.conflicts, names[0], second) for second in names[1:]]
            pairs += [(result.mixed, names[0], adder) for adder in adders]
            if adders:  # the other replacers against the first adder
                pairs += [(result.mixed, other, adders[0]) for other in names[1:]]
            for found, first, second in pairs:
                if (first, second, field_name) not in found:
                    found[first, second, field_name] = _witness(state, parent)


def _written_fields(node: ast.NodeDecl, op: str) -> dict[str, ast.Set]:
    """The first `set f <op>` of each field a node may write with ``op``."""
    found: dict[str, ast.Set] = {}
    for step in node.all_steps:
        if isinstance(step, ast.Set) and step.op == op:
            found.setdefault(step.field, step)
    return found


def _set_span(step: ast.Set) -> ast.Span:
    return step.field_span.or_else(step.span)


def _path_text(witness: list[frozenset[str]], first: str, second: str) -> str:
    """`start -> {a} -> {b, c}`: the frontiers to the step running ``first``
    and ``second``; a wide one is cut short (a 8,000-way fan-out would print
    8,000 names in every finding)."""
    def frontier(nodes: frozenset[str], last: bool) -> str:
        if len(nodes) <= _WIDEST_SHOWN:
            return "{" + ", ".join(sorted(nodes)) + "}"
        if last:
            return "{" + f"{first}, {second} and {len(nodes) - 2} more" + "}"
        return "{" + f"{len(nodes)} nodes" + "}"
    return " -> ".join(["start", *(frontier(f, i == len(witness) - 1) for i, f in enumerate(witness))])


_WIDEST_SHOWN = 8


def _witness(state, parent) -> list[frozenset[str]]:  # type: ignore[no-untyped-def]
    """The frontiers from the first step to ``state``."""
    frontiers = []
    current = state
    while current is not None:
        frontiers.append(current[0])
        current = parent[current]
    return frontiers[::-1]


def _dedupe(options: Iterable[frozenset[str]]) -> list[frozenset[str]]:
    return list(dict.fromkeys(options))
