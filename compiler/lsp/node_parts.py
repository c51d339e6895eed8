"""A flow's checks split node by node, so that an edit re-checks the nodes it touched.

``checking.py`` checks a file flow by flow. In a flow of 1,000 nodes that
still re-runs every check of every node after each keystroke (~100 ms, most
of it the type checker walking the nodes' bodies), though an edit inside one
node changes the findings of that node only, and of the flow as a whole.
So a flow's diagnostics are kept in parts:

- per node: the findings whose cause lies in the node's body. They depend on
  the node's text, the flow's declarations (its `state`, `input` and
  `output` members), the file's types and the call policy (``depends``,
  compared by identity: an edit leaves the objects of what it did not touch
  in place), and, for the type checker's "`x` is a local of node `y`" note,
  on which node first declares each name the node does not know itself
  (``NodePart.asked``, compared each time). The passes are the type
  checker's node part (``typecheck.NodeCheck``) and :data:`NODE_PASSES`,
  which look at one node at a time: they are run on a flow of the nodes to
  check and no edges, and each finding goes to the node it lies in;
- the whole flow's, re-run after every edit: the declarations and the graph
  (duplicate names, reachability, termination, supersteps: they read every
  node), the type checker's flow part (state types and defaults, edge
  conditions: ``typecheck.FlowCheck`` of the flow without its nodes) and
  what :data:`NODE_PASSES` find outside nodes (in edge conditions).
  These are cheap: they do not walk the nodes' bodies (the graph reads
  only the writes and deadlines of each node).

`run` has no part: a file with a `run` is checked whole (``checking.eligible``).

It is exact by construction where these claims hold, and the claims are
checked as it goes: the check passes must be those listed here
(:func:`known_passes`; a new pass makes every flow checked whole until it
is placed here), a node's findings must lie inside it, the node passes'
findings outside nodes must not change with the nodes they are run with,
and the whole flow's findings outside the flow must be the file's own
(``rest``). Where one fails, the caller checks the flow whole. The
property is tested (``tests/compiler/lsp/test_node_parts.py``): after any
edits, these parts give the diagnostics of `fermata check`.

"Did you mean" suggestions spend a budget per file (``checking.py``): each
part records what it spent, never less than it did, so that the total
proves the budget was never exhausted.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from fermata.spec.call_policy import CallPolicy

from .. import checks
from ..checks import answers, calls, constraints, declarations, graph, runs, steps, typecheck
from ..checks.context import CheckContext
from ..checks.scopes import locals_by_node
from ..checks.typecheck import FlowCheck, NodeCheck, named_types
from ..diagnostics.diagnostic import MAX_COMPARED_PER_FILE, Diagnostic, DiagnosticSink, _budget
from ..semantics import types as T
from ..syntax import ast
from .shift import Shift

Pass = Callable[[CheckContext], None]

# Passes that look at one node at a time (and at the flow's declarations),
# in the order ``checks._passes`` runs them.
NODE_PASSES: tuple[Pass, ...] = (constraints.check, steps.check, answers.check, calls.check)

# The members of a flow that no node's findings depend on.
_GRAPH_MEMBERS = (ast.NodeDecl, ast.Edge, ast.StaticInterrupt)


def known_passes() -> bool:
    """Whether the checker's passes are those this module splits (else: whole flows)."""
    return tuple(checks._passes()) == (declarations.check, typecheck.check, runs.check, constraints.check,
                                steps.check, answers.check, graph.check, calls.check)


@dataclass
class NodePart:
    """One node's findings (unsuppressed) and what they were found with."""

    node: ast.NodeDecl
    diagnostics: list[Diagnostic]
    spent: float
    # The names its check looked up among the other nodes' locals, with the
    # answers (None: no node declares it); ``None``: it read them all.
    asked: dict[str, str | None] | None
    runs: bool   # the node starts a child run


@dataclass
class FlowPart:
    """A flow's findings (unsuppressed): those of the whole flow (``level``)
    and, when checked by parts, each node's; ``nodes`` is None when the
    flow was checked whole (``level`` holds everything then)."""

    level: list[Diagnostic]
    level_spent: float
    nodes: dict[int, NodePart] | None = None       # by id() of the node
    depends: tuple[object, ...] = ()                # what the node parts were found with
    has_runs: bool = False                           # (for a flow checked whole)
    order: list[int] = field(default_factory=list)  # the nodes' ids, in source order

    @property
    def diagnostics(self) -> list[Diagnostic]:
        if self.nodes is None:
            return self.level
        nodes = self.nodes
        return [*self.level, *(d for key in self.order for d in nodes[key].diagnostics)]

    @property
    def spent(self) -> float:
        return self.level_spent + (0.0 if self.nodes is None else sum(p.spent for p in self.nodes.values()))

    @property
    def runs(self) -> bool:
        return self.has_runs if self.nodes is None else any(p.runs for p in self.nodes.values())

    def shifted(self, shift: Shift) -> FlowPart:
        """This part with its positions moved by ``shift`` (in place: the
        analysis it belongs to is consumed by the edit)."""
        if shift.is_identity:
            return self
        self.level = shift.diagnostics(self.level)
        for part in (self.nodes or {}).values():
            if part.diagnostics:
                part.diagnostics = shift.diagnostics(part.diagnostics)
        return self


class _Asked(Mapping[str, str]):
    """The other nodes' locals (name -> the first node declaring it), noting
    which names a node's check looks up."""

    def __init__(self, owners: Mapping[str, str]):
        self.owners = owners
        self.asked: dict[str, str | None] | None = {}

    def __getitem__(self, name: str) -> str:
        owner = self.owners.get(name)
        if self.asked is not None:
            self.asked[name] = owner
        if owner is None:
            raise KeyError(name)
        return owner

    def __iter__(self) -> Iterator[str]:
        self.asked = None   # read whole: any change to it matters
        return iter(self.owners)

    def __len__(self) -> int:
        self.asked = None
        return len(self.owners)


def _left() -> float:
    budget = _budget.get()
    return budget[0] if budget is not None else float(MAX_COMPARED_PER_FILE)


def _inside(span: ast.Span, outer: ast.Span) -> bool:
    return bool(span.line) and (outer.line, outer.column) <= (span.line, span.column) and \
        (span.end_line, span.end_column) <= (outer.end_line, outer.end_column)


def _same(a: Sequence[object], b: Sequence[object]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _has_run(node: ast.NodeDecl) -> bool:
    return any(runs.run_of(step) is not None for step in node.all_steps)


def check_by_nodes(module: ast.Module, flow: ast.Flow, rest: list[Diagnostic], path: str,
                   call_policy: CallPolicy | None, previous: FlowPart | None) -> FlowPart | None:
    """``flow``'s findings by parts, re-checking only the nodes ``previous``
    (the flow's part before an edit, its positions moved) does not hold
    findings for; None where a claim of the module's docstring fails.
    Call within a ``suggestion_budget()``."""
    alone = replace(module, items=tuple(i for i in module.items if not isinstance(i, ast.Flow) or i is flow))
    declared_members = tuple(m for m in flow.members if not isinstance(m, _GRAPH_MEMBERS))
    depends = (*declared_members, *alone.all_types, call_policy, path)
    named = named_types(alone)
    declared = {t.name for t in alone.all_types}
    flows = runs.visible_flows(alone)
    owners = locals_by_node(flow)   # a local's name -> the first node declaring it

    def in_module(members: tuple[ast.FlowMember, ...]) -> ast.Module:
        part = replace(flow, members=members)
        return replace(alone, items=tuple(part if i is flow else i for i in alone.items))

    # 1. The whole flow's findings.
    left = _left()
    sink = DiagnosticSink(path)
    declarations.check(CheckContext(alone, sink, call_policy))
    without_nodes = tuple(m for m in flow.members if not isinstance(m, ast.NodeDecl))
    edges_only = in_module(without_nodes)
    flow_check = FlowCheck(sink, edges_only.flows[0], named, declared, owners)
    flow_check.flows = flows
    flow_check.run()
    for run_pass in NODE_PASSES:
        run_pass(CheckContext(edges_only, sink, call_policy))
    graph.check(CheckContext(alone, sink, call_policy))
    level = [d for d in sink.items if _inside(d.span, flow.span)]
    if any(d not in rest for d in sink.items if not _inside(d.span, flow.span)):
        return None
    level_spent = left - _left()

    # 2. The nodes: those ``previous`` holds (found with the same
    # declarations, and the same answers to what they asked) are kept.
    kept = previous.nodes if previous is not None and previous.nodes is not None \
        and _same(previous.depends, depends) else {}
    parts: dict[int, NodePart] = {}
    stale: list[ast.NodeDecl] = []
    for node in flow.nodes:
        part = kept.get(id(node))
        if part is not None and part.node is node and part.asked is not None and \
                all(owners.get(name) == owner for name, owner in part.asked.items()):
            parts[id(node)] = part
        else:
            stale.append(node)
    if stale:
        found = _check_nodes(flow, in_module, declared_members, stale, named, declared, flows, owners,
                             path, call_policy)
        if found is None:
            return None
        parts.update((id(p.node), p) for p in found)
    return FlowPart(level, level_spent, parts, depends, order=[id(n) for n in flow.nodes])


def _check_nodes(flow: ast.Flow, in_module: Callable[[tuple[ast.FlowMember, ...]], ast.Module],
                 declared_members: tuple[ast.FlowMember, ...], nodes: list[ast.NodeDecl],
                 named: Mapping[str, T.FType], declared: set[str], flows: Mapping[str, ast.Flow],
                 owners: Mapping[str, str], path: str,
                 call_policy: CallPolicy | None) -> list[NodePart] | None:
    """The parts of ``nodes`` (in source order), or None if a finding lies outside its node."""
    found: list[NodePart] = []
    # The type checker's node part, node by node (its budget spent, measured each).
    flow_check = FlowCheck(DiagnosticSink(path), flow, named, declared, owners)
    flow_check.flows = flows
    for node in nodes:
        sink = DiagnosticSink(path)
        asked = _Asked(owners)
        flow_check.sink, flow_check.other_locals = sink, asked
        left = _left()
        NodeCheck(flow_check, node).run()
        if not all(_inside(d.span, node.span) for d in sink.items):
            return None
        found.append(NodePart(node, sink.items, left - _left(), asked.asked, _has_run(node)))
    # The other node passes, for all the nodes at once; their findings
    # outside the nodes must be those of the declarations alone.
    left = _left()
    sink = DiagnosticSink(path)
    with_nodes = in_module((*declared_members, *nodes))
    for run_pass in NODE_PASSES:
        run_pass(CheckContext(with_nodes, sink, call_policy))
    spent = left - _left()
    alone = DiagnosticSink(path)
    for run_pass in NODE_PASSES:
        run_pass(CheckContext(in_module(declared_members), alone, call_policy))
    starts = [(n.span.line, n.span.column) for n in nodes]
    outside: list[Diagnostic] = []
    for d in sink.items:
        at = bisect.bisect_right(starts, (d.span.line, d.span.column)) - 1
        if at >= 0 and _inside(d.span, nodes[at].span):
            found[at].diagnostics.append(d)
        else:
            outside.append(d)
    if outside != alone.items:
        return None
    if spent:
        # Not known node by node: each is charged all of it (never too little).
        for part in found:
            part.spent += spent
    return found
