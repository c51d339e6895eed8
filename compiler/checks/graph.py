"""Graph checks: the edges, routing groups, joins and static interrupts of a flow.

Codes F200–F299, listed in :data:`CODES`, and F101 (an unknown node: a name
error, so numbered with the declaration codes).

Structural faults (F101, F206–F215) are reported first and their edges left
out of the model the flow-level analyses use, so one fault gives one error.

Reachability (F201) and termination (F202, F203) read the edges only: every
branch of a routing group counts, and a join's target counts once all its
sources are reachable. A node without outgoing edges ends its path of the run,
so it is reported once (F202) and not again as "never reaches `end`". A
non-terminating region is reported once, at the cycle it ends in, printed as a
chain `a -> b -> a`.

The superstep analyses (F204, F205, F216, F218) are ``supersteps.py``'s, a
base of this pass's flow check; the model both read is ``graph_model.py``'s.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence, Set

from ..diagnostics import codes
from ..diagnostics.diagnostic import DiagnosticSink, Label, Suggestions, did_you_mean
from ..syntax import ast
from .clauses import deadline_target
from .components import (
    closure,
    entry_components,
    exit_components,
    shortest_cycle,
    strong_components,
)
from .context import CheckContext
from .graph_model import END, START, Edge, Join, always_true, names_list, ref_names
from .supersteps import Supersteps

# Every code this pass reports: severity and catalogue title.
CODES = codes.reported_by(codes.GRAPH)  # the registry's view: compiler/diagnostics/codes.py


def check(context: CheckContext) -> None:
    for flow in context.module.flows:
        FlowCheck(context.sink, flow).run()


class FlowCheck(Supersteps):
    def __init__(self, sink: DiagnosticSink, flow: ast.Flow):
        self.sink = sink
        self.flow = flow
        self.nodes: dict[str, ast.NodeDecl] = {}
        for node in flow.nodes:
            self.nodes.setdefault(node.name, node)
        self.order = {name: i for i, name in enumerate(self.nodes)}
        self.edges: list[Edge] = []
        self.routes: dict[str, list[Edge]] = {}   # single-source edges by source
        self.joins: list[Join] = []
        self.has_edges_out: set[str] = set()
        self.has_edges_in: set[str] = set()
        # `within DUR -> NODE` of an interrupt: node -> the deadline targets.
        self.deadlines: dict[str, list[str]] = {}
        self._reached: set[str] | None = None
        self._successor_map: dict[str, set[str]] | None = None
        self._options: dict[str, list[frozenset[str]]] = {}
        self._node_suggestions: dict[bool, Suggestions] = {}
        # Targets of edges dropped for a fault already reported: calling them
        # unreachable as well would report that fault twice.
        self.orphaned: set[str] = set()

    def run(self) -> None:
        self._check_edge_ends()
        self._check_deadlines()
        for source, edges in self.routes.items():
            self._check_routing(source, edges)
        self._check_static_interrupts()
        if not self.nodes:
            return  # F112 (declarations) says it; nothing here would add to it
        if START not in self.routes:
            self.sink.error("F200", f"flow `{self.flow.name}` has no edge from `start`",
                            _name_span(self.flow),
                            help=f"add `start -> {next(iter(self.nodes))}` for the first node to run")
            unconnected: set[str] = set()
        else:
            unconnected = self._check_reachable()
        self._check_outgoing(unconnected)
        self._check_termination()
        self._check_supersteps()
        self._check_looping_join_sources()
        self._check_fan_out_writes()

    # ------------------------------------------------------------- edge ends

    def _check_edge_ends(self) -> None:
        for node in self.flow.edges:
            is_join = len(node.sources) > 1
            sources = self._valid_ends(node.sources, is_join, as_source=True)
            targets = self._valid_ends(node.targets, is_join, as_source=False)
            broken = len(sources) != len(node.sources) or len(targets) != len(node.targets)
            edge = Edge(node, tuple(sources), tuple(targets), broken,
                         conditional=node.condition is not None or node.otherwise)
            self.edges.append(edge)
            for ref in node.sources:
                self.has_edges_out.add(ref.name)
            for ref in node.targets:
                self.has_edges_in.add(ref.name)
            if broken:
                self.orphaned.update(targets)
            if is_join:
                if edge.conditional:
                    span = node.condition.span if node.condition is not None else node.span
                    self.sink.error(
                        "F215", "a join cannot have a condition", span.or_else(node.span),
                        help="join without a condition and route from its target instead: "
                             f"`{ref_names(node.sources, ', ')} -> {ref_names(node.targets, ', ')}`, "
                             f"then `{node.targets[0].name} -> ... when ...`")
                    self.orphaned.update(targets)
                    continue
                if len(sources) == len(node.sources):
                    for target in targets:
                        if target != END:
                            self.joins.append(Join(edge, frozenset(sources), target))
            elif sources:
                self.routes.setdefault(sources[0], []).append(edge)

    def _check_deadlines(self) -> None:
        """A deadline `within DUR -> NODE` is an edge of the interrupt's node
        for every check here: when it fires, the node is abandoned and NODE
        runs instead of the node's own edges, so it is one more route option
        of the node, never taken together with the others. `end` is a
        target (the run stops waiting and finishes); `start` is not."""
        for name, node in self.nodes.items():
            for step in node.all_steps:
                ref = deadline_target(step)
                if ref is None:
                    continue
                self.has_edges_out.add(name)
                self.has_edges_in.add(ref.name)
                valid = self._valid_ends([ref], is_join=False, as_source=False, what="a deadline")
                self.deadlines.setdefault(name, []).extend(valid)

    def _suggest_node(self, name: str, as_source: bool) -> str | None:
        """The node (or `start` / `end`) ``name`` is likely a typo of: one
        index per flow and side, not one per unknown name."""
        index = self._node_suggestions.get(as_source)
        if index is None:
            index = self._node_suggestions[as_source] = Suggestions(
                [*self.nodes, START if as_source else END])
        return index.closest(name)

    def _valid_ends(self, refs: Sequence[ast.Ref], is_join: bool, as_source: bool,
                    what: str = "an edge") -> list[str]:
        valid = []
        for ref in refs:
            name = ref.name
            if as_source and name == END:
                self.sink.error("F206", "an edge cannot leave `end`", ref.span,
                                help="`end` finishes the run; start the edge from a node")
            elif not as_source and name == START:
                self.sink.error("F207", f"{what} cannot lead into `start`", ref.span,
                                help="`start` only begins a run; point the edge at the first node")
            elif is_join and ((as_source and name == START) or (not as_source and name == END)):
                side = "wait for" if as_source else "fire"
                self.sink.error("F208", f"a join cannot {side} `{name}`", ref.span,
                                help="a join waits for nodes and fires a node; "
                                + ("use `start -> ...` for what runs first" if as_source
                                   else "give each source its own `... -> end` edge"))
            elif name in self.nodes or name == (START if as_source else END):
                valid.append(name)
            else:
                meant = self._suggest_node(name, as_source)
                self.sink.error("F101", f"unknown node `{name}` in {what}", ref.span,
                                labels=[Label(ref.span, f"not a node of flow `{self.flow.name}`")],
                                help=f"did you mean `{meant}`?" if meant
                                else f"declare it with `node {name} {{ ... }}`")
                if not as_source and meant in self.nodes:
                    # A typo for `meant`: calling `meant` unreachable would report it twice.
                    self.orphaned.add(meant)
        return valid

    # ---------------------------------------------------------- routing groups

    def _check_routing(self, source: str, edges: list[Edge]) -> None:
        """A source's edges are all unconditional or one routing group, whose
        `otherwise` (at most one) comes last."""
        first = edges[0]
        mixed = next((e for e in edges if e.conditional != first.conditional), None)
        if mixed is not None:
            plain, _ = (first, mixed) if not first.conditional else (mixed, first)
            self.sink.error(
                "F209", f"`{source}` mixes conditional and unconditional edges", mixed.node.span,
                labels=[Label(first.node.span, "the first edge of the other kind")],
                notes=["a node's outgoing edges are either all unconditional or one routing group"],
                help="fold the unconditional targets into the branches "
                     f"(e.g. `{source} -> {ref_names(plain.node.targets, ', ')} otherwise`), "
                     f"or route from a separate node")
            return
        if not first.conditional:
            return
        group = edges
        otherwise: Edge | None = None
        always: Edge | None = None
        for edge in group:
            if otherwise is not None:
                if edge.node.otherwise:
                    self.sink.error("F210", f"routing group of `{source}` has a second `otherwise`",
                                    edge.node.span,
                                    labels=[Label(otherwise.node.span, "first `otherwise` here")],
                                    help="keep one `otherwise` edge, the last of the group")
                else:
                    self.sink.error("F210", f"`otherwise` must be the last branch of `{source}`",
                                    otherwise.node.span,
                                    labels=[Label(edge.node.span, "this branch comes after it")],
                                    help="move the `otherwise` edge after every `when` edge "
                                         "of the group")
                return
            if always is not None:
                self.sink.warning("F211", "this branch is never taken", edge.node.span,
                                  labels=[Label(always.node.span, "this condition is always true")],
                                  notes=["branches are tried in order and the first true one wins"],
                                  help="remove the branch or the always-true condition")
                return
            if edge.node.otherwise:
                otherwise = edge
            elif always_true(edge.node.condition) and always is None:
                always = edge
        if otherwise is None and always is None:
            last = group[-1]
            self.sink.warning(
                "F212", f"routing group of `{source}` has no `otherwise`", last.node.span,
                notes=[f"when no condition holds, `{source}` leads nowhere and that path of the run "
                       "stops"],
                help=f"say where the run goes then, e.g. `{source} -> end otherwise`")

    # ------------------------------------------------------- static interrupts

    def _check_static_interrupts(self) -> None:
        first: dict[tuple[str, str], ast.Span] = {}
        for statement in self.flow.static_interrupts:
            for ref in statement.nodes:
                where = statement.when
                if ref.name in (START, END):
                    alternative = "the first node" if ref.name == START else "the last node"
                    self.sink.error("F213", f"cannot interrupt {where} `{ref.name}`", ref.span,
                                    help=f"interrupt {where} {alternative} instead")
                elif ref.name not in self.nodes:
                    self.sink.error("F101", f"unknown node `{ref.name}` in `interrupt {where}`",
                                    ref.span,
                                    labels=[Label(ref.span, f"not a node of flow `{self.flow.name}`")],
                                    help=did_you_mean(ref.name, self.nodes)
                                    or f"declare it with `node {ref.name} {{ ... }}`")
                elif (where, ref.name) in first:
                    self.sink.warning("F214", f"node `{ref.name}` is listed twice in "
                                      f"`interrupt {where}`", ref.span,
                                      labels=[Label(first[where, ref.name], "first listed here")],
                                      help=f"remove the second `{ref.name}`")
                first.setdefault((where, ref.name), ref.span)

    # ----------------------------------------------------------- reachability

    def _successors(self, name: str) -> Set[str]:
        """Every node `name` may lead to, through any branch or join."""
        if self._successor_map is None:
            # All at once: asking the joins node by node is nodes x joins.
            successors: dict[str, set[str]] = {
                n: {t for e in self.routes.get(n, ()) for t in e.targets if t != END}
                | {t for t in self.deadlines.get(n, ()) if t != END} for n in self.nodes}
            for join in self.joins:
                for source in join.sources:
                    if source in successors:
                        successors[source].add(join.target)
            self._successor_map = successors
        return self._successor_map.get(name, _NONE)  # shared: callers only read it

    def _reachable(self) -> set[str]:
        """Nodes some path from `start` reaches; a join's target once all its
        sources are reached. Every branch counts: conditions are not evaluated."""
        if self._reached is None:
            reached = {START}
            queue = deque([START])
            # A join fires once its last source is reached: count down, not
            # test every join's sources each time (an 8,000-way join was
            # 8,000 * 8,000 set tests).
            missing = [len(j.sources) for j in self.joins]
            joins_of: dict[str, list[int]] = {}
            for index, join in enumerate(self.joins):
                for source in join.sources:
                    joins_of.setdefault(source, []).append(index)
            while queue:
                name = queue.popleft()
                found = [t for e in self.routes.get(name, ()) for t in e.targets]
                found += self.deadlines.get(name, ())
                for index in joins_of.get(name, ()):
                    missing[index] -= 1
                    if missing[index] == 0:
                        found.append(self.joins[index].target)
                for target in found:
                    if target != END and target not in reached:
                        reached.add(target)
                        queue.append(target)
            self._reached = reached - {START}
        return self._reached

    def _check_reachable(self) -> set[str]:
        """F201 once per unreachable region, at its entry; returns the nodes
        without any edge, which F202 must not report again."""
        reached = self._reachable()
        unreachable = [n for n in self.nodes if n not in reached]
        unreachable_set = set(unreachable)
        succ = {n: self._successors(n) & unreachable_set for n in unreachable}
        unconnected: set[str] = set()
        for component in entry_components(unreachable, succ):
            if component & self.orphaned:
                continue
            name = min(component, key=self.order.__getitem__)
            downstream = sorted(closure([name], succ) - {name}, key=self.order.__getitem__)
            notes = [f"{names_list(downstream)} {'is' if len(downstream) == 1 else 'are'} "
                     "unreachable through it too"] if downstream else []
            if name not in self.has_edges_in and name not in self.has_edges_out:
                unconnected.add(name)
                help = (f"connect it: an edge into it (e.g. `start -> {name}`) and one out of it "
                        f"(e.g. `{name} -> end`), or delete it")
            else:
                help = f"add an edge into `{name}` from a reachable node, or delete it"
            self.sink.error("F201", f"node `{name}` is unreachable from `start`",
                            _name_span(self.nodes[name]), notes=notes, help=help)
        return unconnected

    # ------------------------------------------------------------ termination

    def _check_outgoing(self, unconnected: set[str]) -> None:
        for name, node in self.nodes.items():
            if name in self.has_edges_out or name in unconnected:
                continue
            self.sink.error("F202", f"node `{name}` has no outgoing edge", _name_span(node),
                            help=f"add `{name} -> end`, or an edge to the node that runs next")

    def _route_options(self, source: str) -> list[frozenset[str]]:
        """The target sets one finish of `source` may schedule (`end` included)."""
        options = self._options.get(source)
        if options is None:
            options = self._options[source] = self._find_route_options(source)
        return options

    def _find_route_options(self, source: str) -> list[frozenset[str]]:
        options = self._edge_route_options(source)
        # A deadline firing replaces the node's own edges with its target.
        return options + [frozenset({t}) for t in self.deadlines.get(source, ())]

    def _edge_route_options(self, source: str) -> list[frozenset[str]]:
        edges = self.routes.get(source, [])
        if len(edges) == 1 and not edges[0].conditional:
            return [frozenset(edges[0].targets)]  # one plain edge: most nodes
        plain = frozenset(t for e in edges if not e.conditional for t in e.targets)
        options: list[frozenset[str]] = []
        for edge in (e for e in edges if e.conditional):
            options.append(plain | frozenset(edge.targets))
            if edge.exhaustive:
                return options
        options.append(plain)   # no branch taken (or no routing group at all)
        return options

    def _check_termination(self) -> None:
        """F203: a region the run can enter but never leave, reported once, at
        the cycle it ends in. A node whose path may stop (an edge to `end`, a
        routing group without `otherwise`, no route at all: F202's case or a
        join source only) or whose edges are broken (already reported)
        terminates; so does every node leading to one that terminates."""
        only_end = frozenset({END})
        stops = {n for n in self.nodes
                 if any(END in o or o <= only_end for o in self._route_options(n))  # may end or stop
                 or any(e.broken for e in self.routes.get(n, ()))}
        predecessors: dict[str, set[str]] = {n: set() for n in self.nodes}
        for name in self.nodes:
            for target in self._successors(name):
                predecessors[target].add(name)
        terminating = closure(stops, predecessors)
        live = self._reachable() if START in self.routes else set(self.nodes)
        stuck = [n for n in self.nodes if n not in terminating and n in live]
        stuck_set = set(stuck)
        succ = {n: self._successors(n) & stuck_set for n in stuck}
        stuck_predecessors: dict[str, set[str]] = {n: set() for n in stuck}
        for name, targets in succ.items():
            for target in targets:
                stuck_predecessors[target].add(name)
        for component in exit_components(stuck, succ):
            name = min(component, key=self.order.__getitem__)
            chain = shortest_cycle(name, {n: succ[n] & component for n in component}, self.order.__getitem__)
            into = sorted(closure(component, stuck_predecessors) - component, key=self.order.__getitem__)
            notes = ["no edge leaves the cycle, so the run loops until its step limit"]
            if into:
                notes.append(f"{names_list(into)} only lead{'s' if len(into) == 1 else ''} "
                             "into this cycle")
            self.sink.error("F203", f"the cycle `{' -> '.join(chain)}` never reaches `end`",
                            _name_span(self.nodes[name]),
                            labels=[Label(_name_span(self.nodes[n]), f"`{n}` is part of the cycle")
                                    for n in sorted(component - {name}, key=self.order.__getitem__)],
                            notes=notes,
                            help=f"add a conditional exit, e.g. `{chain[-2]} -> end when ...`")

    # --------------------------------------------------- joins over loops

    def _check_looping_join_sources(self) -> None:
        """F217: a join source on a cycle that does not pass through the
        join's target. The join counts the source's first pass and fires
        then; the loop's later passes count toward a next firing. Only the
        components holding a join's sources are searched again, without its
        targets."""
        if not self.joins:
            return
        everything = list(self.nodes)
        succ = {n: self._successors(n) for n in everything}
        owner: dict[str, int] = {}
        components = strong_components(everything, succ)
        for index, component in enumerate(components):
            for name in component:
                owner[name] = index
        by_edge: dict[int, list[Join]] = {}
        for join in self.joins:
            by_edge.setdefault(id(join.edge), []).append(join)
        for joins in by_edge.values():
            edge = joins[0].edge
            targets = {j.target for j in joins}
            looping = [s for s in joins[0].sources if s in owner and (
                len(components[owner[s]]) > 1 or s in succ[s])]
            if not looping:
                continue
            region = set().union(*(components[owner[s]] for s in looping)) - targets
            inner = {n: succ[n] & region for n in region}
            inner_owner: dict[str, set[str]] = {}
            for component in strong_components(sorted(region, key=self.order.__getitem__), inner):
                for name in component:
                    inner_owner[name] = component
            target_names = ", ".join(f"`{t}`" for t in sorted(targets, key=self.order.__getitem__))
            for ref in edge.node.sources:
                source = ref.name
                if source not in region or ref.name not in looping:
                    continue
                component = inner_owner[source]
                if len(component) == 1 and source not in inner[source]:
                    continue
                looping.remove(source)  # a source named twice: one warning
                chain = shortest_cycle(source, {n: inner[n] & component for n in component}, self.order.__getitem__)
                self.sink.warning(
                    "F217", f"join source `{source}` loops back to itself without the join "
                    f"firing {target_names}", ref.span,
                    notes=[f"the loop: `{' -> '.join(chain)}`",
                           "a join fires once every source has finished since it last fired: "
                           f"it fires after the first pass of `{source}`, and each later pass "
                           "counts toward another firing"],
                    help=f"join the node the loop exits to instead of `{source}`, so the join "
                         "waits for the loop's last pass")


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


_NONE: frozenset[str] = frozenset()


def _name_span(node: ast.Flow | ast.NodeDecl) -> ast.Span:
    return node.name_span.or_else(node.span)
