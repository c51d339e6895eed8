"""Generated flows: a small model, its Hypothesis strategy, and its `.flow` AST.

A :class:`FlowModel` is the generator's own description of a flow. It is
turned into a real AST (``to_module``) and printed by the real printer, so
every generated spec goes through the real parser, checker and lowering. The
same model drives the reference interpreter (``reference.py``) and the
LangGraph translation (``langgraph_flow.py``): three readings of one object.

Every generated flow is valid by construction:

- nodes ``a, b, c ...`` are reached from ``start`` through a parent chosen
  among earlier nodes, so each is reachable and every edge but the loop's
  points forward, so each reaches ``end``;
- a node's outgoing edges are unconditional (fan-out, joins) or one routing
  group over ``total`` that always ends with ``otherwise``;
- the only replace-written fields are per node (``v_a``), so no two nodes of a
  superstep replace the same field;
- the one optional loop is bounded by the ``laps`` counter;
- a fan-out node (``node a for it in [3, 1] [key it]``) adds its item to
  ``total`` and to ``log`` first (so instance order shows) and replaces no field (its instances would conflict), and
  is never the loop's counting node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal as Lit
from typing import Union

from fermata.compiler.syntax import ast
from hypothesis import strategies as st

INSTRUMENT = "tests.properties.instrument"
# Node names, some of them keywords (contextual: a node may be named so,
# keywords.py), so generated flows carry them through print, parse, IR,
# generated Python and runs.
NAMES = ("a", "retry", "type", "after", "timeout", "if", "once", "h")


# --------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Append:
    """``set log += ["text"]``."""

    text: str


@dataclass(frozen=True)
class Add:
    """``set total += N`` (or ``+= seed`` when ``amount`` is None)."""

    amount: int | None


@dataclass(frozen=True)
class SetOwn:
    """``set v_<node> = total + plus``: a replace-write only this node makes."""

    plus: int


@dataclass(frozen=True)
class Hit:
    """``call [once] "tests.properties.instrument:hit[_once]"("<node>", index)``."""

    index: int
    once: bool = False


@dataclass(frozen=True)
class Ask:
    """An interrupt. ``int``: ``let q = interrupt q {...} expect int; set total += q``;
    ``str``: ``... expect str; set log += [q]``; ``none``: ``interrupt q {...}``."""

    label: str
    kind: Lit["int", "str", "none"]


@dataclass(frozen=True)
class Branch:
    """``if total > threshold { then } else { otherwise }``."""

    threshold: int
    then: tuple["Step", ...]
    otherwise: tuple["Step", ...] | None


@dataclass(frozen=True)
class FlipBranch:
    """``let f = call "...:flip"(...)``, then ``if f == 0 { interrupt L1 } else { interrupt L2 }``:
    a branch on a non-``once`` call, which a replay takes differently."""

    key: str
    first: str
    second: str


Step = Union[Append, Add, SetOwn, Hit, Ask, Branch, FlipBranch]


@dataclass(frozen=True)
class NodeModel:
    name: str
    steps: tuple[Step, ...]
    retry: int | None = None
    fan: tuple[int, ...] | None = None   # a fan-out over these items (unique ints)
    keyed: bool = False                  # `key it`, else instances are named by position
    # LangGraph's `Send` subset: the item is added to `total` only (not logged:
    # LangGraph applies `Send` tasks' writes after the other nodes' of a step).
    send: bool = False

    def labels(self) -> list[str]:
        return [s.label for s in walk_steps(self.steps) if isinstance(s, Ask)]

    def instances(self) -> list[tuple[str, int]]:
        """``(instance name, item)`` of a fan-out node, in list order."""
        return [(f"{self.name}[{item if self.keyed else position}]", item)
                for position, item in enumerate(self.fan or ())]


def _sources(start: list[str], plain: dict[str, tuple[str, ...]],
             routes: dict[str, tuple[Route, ...]]) -> dict[str, list[str]]:
    """Node -> the nodes (and ``start``) with an edge into it, one per edge."""
    found: dict[str, list[str]] = {}
    for target in start:
        found.setdefault(target, []).append("start")
    for source, targets in plain.items():
        for target in targets:
            found.setdefault(target, []).append(source)
    for source, branches in routes.items():
        for target in {t for b in branches for t in b.targets}:
            found.setdefault(target, []).append(source)
    return found


def _sendable(name: str, sources: dict[str, list[str]], plain: dict[str, tuple[str, ...]],
              routes: dict[str, tuple[Route, ...]], joins: list[tuple[tuple[str, ...], str]],
              loop: Loop | None, statics: tuple[str, ...]) -> bool:
    """Where a fan-out and LangGraph's `Send` + reducer coincide: one edge
    in (two parents would each `Send` the whole list), unconditional edges
    out (LangGraph routes each `Send` task on its own state), no join, loop
    or static interrupt around it."""
    return (len(sources.get(name, [])) == 1 and name not in routes and name in plain
            and not any(name in s or name == t for s, t in joins)
            and (loop is None or name not in (loop.node, loop.back)) and name not in statics)


def _send_steps(steps: tuple[Step, ...]) -> tuple[Step, ...]:
    """Steps a `Send` task computes the same: no branch on `total` (a task
    sees only what was sent), no replacement, nothing appended to `log`
    (LangGraph orders `Send` writes after the step's other nodes')."""
    out: list[Step] = []
    for step in steps:
        if isinstance(step, SetOwn):
            out.append(Add(step.plus))
        elif isinstance(step, Ask):
            out.append(Ask(step.label, "none" if step.kind == "str" else step.kind))
        elif not isinstance(step, (Branch, Append)):
            out.append(step)
    return tuple(out)


def base_name(node: str) -> str:
    """The node of an instance name (``a[3]`` -> ``a``)."""
    return node.split("[", 1)[0]


def _no_replace(steps: tuple[Step, ...]) -> tuple[Step, ...]:
    """``steps`` with each ``set v_<node> =`` made a ``+=`` to ``total``: two
    instances of one fan-out replacing one field would be an error."""
    out: list[Step] = []
    for step in steps:
        if isinstance(step, SetOwn):
            out.append(Add(step.plus))
        elif isinstance(step, Branch):
            out.append(Branch(step.threshold, _no_replace(step.then),
                              None if step.otherwise is None else _no_replace(step.otherwise)))
        else:
            out.append(step)
    return tuple(out)


@dataclass(frozen=True)
class Route:
    """One branch of a routing group; ``threshold is None`` is ``otherwise``."""

    targets: tuple[str, ...]
    threshold: int | None


@dataclass(frozen=True)
class Loop:
    """Node ``node`` counts ``laps`` and routes back to ``back`` while ``laps < limit``."""

    node: str
    back: str
    limit: int


@dataclass(frozen=True)
class FlowModel:
    nodes: tuple[NodeModel, ...]
    start: tuple[str, ...]
    plain: dict[str, tuple[str, ...]] = field(default_factory=dict)     # node -> targets
    routes: dict[str, tuple[Route, ...]] = field(default_factory=dict)  # node -> routing group
    joins: tuple[tuple[tuple[str, ...], str], ...] = ()
    loop: Loop | None = None
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def node(self, name: str) -> NodeModel:
        return next(n for n in self.nodes if n.name == name)

    def owned_fields(self) -> list[str]:
        return [f"v_{n.name}" for n in self.nodes
                if any(isinstance(s, SetOwn) for s in walk_steps(n.steps))]

    def has_interrupts(self) -> bool:
        return bool(self.before or self.after) or any(n.labels() for n in self.nodes)


def walk_steps(steps: tuple[Step, ...]):
    for s in steps:
        yield s
        if isinstance(s, Branch):
            yield from walk_steps(s.then)
            yield from walk_steps(s.otherwise or ())


# --------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------


@st.composite
def _steps(draw, labels: list[str], depth: int = 0, max_steps: int = 4,
           once: bool = True) -> tuple[Step, ...]:
    """Random steps; ``labels`` is the node's pool of unused interrupt labels."""
    out: list[Step] = []
    for _ in range(draw(st.integers(0, max_steps))):
        kinds = ["append", "add", "own", "hit"] + (["once"] if once else [])
        if labels:
            kinds += ["ask", "ask"]
        if depth == 0:
            kinds.append("branch")
        kind = draw(st.sampled_from(kinds))
        if kind == "append":
            out.append(Append(draw(st.sampled_from(["x", "y", "z"]))))
        elif kind == "add":
            out.append(Add(draw(st.one_of(st.none(), st.integers(-3, 5)))))
        elif kind == "own":
            out.append(SetOwn(draw(st.integers(-2, 2))))
        elif kind in ("hit", "once"):
            out.append(Hit(draw(st.integers(1, 3)), once=kind == "once"))
        elif kind == "ask":
            out.append(Ask(labels.pop(0), draw(st.sampled_from(["int", "int", "str", "none"]))))
        else:
            then = draw(_steps(labels, depth + 1, 2, once))
            otherwise = draw(st.one_of(st.none(), _steps(labels, depth + 1, 2, once)))
            out.append(Branch(draw(st.integers(-2, 6)), then, otherwise))
    return tuple(out)


@st.composite
def _node(draw, name: str, max_interrupts: int, once: bool) -> NodeModel:
    labels = [f"q{i}" for i in range(draw(st.integers(0, max_interrupts)))]
    steps = draw(_steps(labels, once=once))
    # Node entry is always counted: the first step is a plain call.
    return NodeModel(name, (Hit(0),) + steps)


@st.composite
def flow_models(draw, max_nodes: int = 5, max_interrupts: int = 3,
                statics: bool = True, loops: bool = True, joins: bool = True,
                once: bool = True, fanouts: bool | str = True) -> FlowModel:
    """``fanouts="send"``: only fan-outs LangGraph's `Send` runs the same way."""
    count = draw(st.integers(1, max_nodes))
    names = list(NAMES[:count])
    nodes = [draw(_node(n, max_interrupts, once)) for n in names]

    # Each node after the first hangs off ``start`` or an earlier node.
    children: dict[str, list[str]] = {n: [] for n in ["start"] + names}
    children["start"].append(names[0])
    for i, name in enumerate(names[1:], start=1):
        parent = draw(st.sampled_from(["start"] + names[:i]))
        children[parent].append(name)
    for i, name in enumerate(names):  # a few extra forward edges (diamonds)
        later = names[i + 1:]
        if later and draw(st.integers(0, 3)) == 0:
            extra = draw(st.sampled_from(later))
            if extra not in children[name]:
                children[name].append(extra)

    loop = None
    if loops and count >= 2 and draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(1, count - 1))
        loop = Loop(names[at], draw(st.sampled_from(names[:at + 1])), draw(st.integers(1, 3)))

    routes: dict[str, tuple[Route, ...]] = {}
    plain: dict[str, tuple[str, ...]] = {}
    for name in names:
        targets = children[name] or ["end"]
        is_loop = loop is not None and loop.node == name
        if is_loop or (len(targets) >= 2 and draw(st.integers(0, 1)) == 0):
            branches: list[Route] = []
            rest = list(targets)
            while len(rest) > 1:
                take = draw(st.integers(1, len(rest) - 1))
                branches.append(Route(tuple(rest[:take]), draw(st.integers(-1, 6))))
                rest = rest[take:]
            if not is_loop and draw(st.booleans()) and "end" not in rest:
                branches.append(Route(("end",), draw(st.integers(-1, 6))))
            branches.append(Route(tuple(rest), None))
            routes[name] = tuple(branches)
        else:
            plain[name] = tuple(targets)

    join_list: list[tuple[tuple[str, ...], str]] = []
    if joins and loop is None and count >= 3 and draw(st.booleans()):
        # A join target keeps no other incoming edge, so it runs only when the
        # join fires; its sources are nodes with unconditional edges.
        routed = {t for rs in routes.values() for r in rs for t in r.targets}
        candidates = [t for t in names[2:] if t not in routed and t not in children["start"]]
        if candidates:
            target = draw(st.sampled_from(candidates))
            earlier = [n for n in names[:names.index(target)] if n in plain]
            if len(earlier) >= 2:
                sources = tuple(sorted(draw(st.lists(st.sampled_from(earlier), min_size=2,
                                                     max_size=3, unique=True))))
                for src in list(plain):
                    kept = tuple(t for t in plain[src] if t != target)
                    plain[src] = kept if kept or src in sources else ("end",)
                join_list.append((sources, target))

    before = after = ()
    if statics and draw(st.integers(0, 2)) == 0:
        before = tuple(sorted(draw(st.sets(st.sampled_from(names), max_size=2))))
        after = tuple(sorted(draw(st.sets(st.sampled_from(names), max_size=2))))

    if fanouts:
        send = fanouts == "send"
        sources = _sources(children["start"], plain, routes)
        for i, node in enumerate(nodes):
            if loop is not None and loop.node == node.name:
                continue
            if send and not _sendable(node.name, sources, plain, routes, join_list, loop, before + after):
                continue
            parent = sources.get(node.name, ["start"])[0]
            if send and parent != "start" and nodes[names.index(parent)].fan is not None:
                continue   # fed by a fan-out: each of its `Send` tasks would send the list again
            if draw(st.integers(0, 2)) == 0:
                items = tuple(draw(st.lists(st.integers(0, 6), unique=True, min_size=int(send), max_size=3)))
                steps = _send_steps(node.steps) if send else _no_replace(node.steps)
                nodes[i] = NodeModel(node.name, steps, node.retry, items, draw(st.booleans()), send)
    return FlowModel(tuple(nodes), tuple(children["start"]), plain, routes, tuple(join_list),
                     loop, before, after)


@dataclass(frozen=True)
class Answers:
    """Resume values handed out by (node, label, occurrence), known up front."""

    values: tuple[int, ...]

    def value(self, model: FlowModel, node: str, label: str, occurrence: int) -> object:
        base = base_name(node)   # a fan-out instance asks as its node does
        kind = next(s.kind for s in walk_steps(model.node(base).steps)
                    if isinstance(s, Ask) and s.label == label)
        position = model.names.index(base) * 7 + int(label[1:]) + sum(map(ord, node[len(base):]))
        number = self.values[(position + occurrence) % len(self.values)]
        return f"s{number}" if kind == "str" else number


answers = st.builds(Answers, st.lists(st.integers(-4, 9), min_size=1, max_size=5).map(tuple))
inputs = st.fixed_dictionaries({"seed": st.integers(-3, 6)},
                               optional={"total": st.integers(-2, 4)})


# --------------------------------------------------------------------------
# To the AST
# --------------------------------------------------------------------------


def _lit(value: object) -> ast.Literal:
    return ast.Literal(value)  # type: ignore[arg-type]


def _int(value: int) -> ast.Expr:
    return ast.Unary("-", _lit(-value)) if value < 0 else _lit(value)


def _total_above(threshold: int) -> ast.Expr:
    return ast.Binary(">", ast.Name("total"), _int(threshold))


def _payload(node: str, label: str) -> ast.Expr:
    return ast.RecordExpr((ast.RecordEntry("node", _lit(node)), ast.RecordEntry("label", _lit(label)),
                           ast.RecordEntry("total", ast.Name("total"))))


def _step_ast(node: str, step: Step) -> list[ast.Step]:
    if isinstance(step, Append):
        return [ast.Set("log", "+=", ast.ListExpr((_lit(step.text),)))]
    if isinstance(step, Add):
        value = ast.Name("seed") if step.amount is None else _int(step.amount)
        return [ast.Set("total", "+=", value)]
    if isinstance(step, SetOwn):
        return [ast.Set(f"v_{node}", "=", ast.Binary("+", ast.Name("total"), _int(step.plus)))]
    if isinstance(step, Hit):
        fn = "hit_once" if step.once else "hit"
        return [ast.Call(f"{INSTRUMENT}:{fn}", (_lit(node), _lit(step.index)), (), step.once)]
    if isinstance(step, Ask):
        if step.kind == "none":
            return [ast.Interrupt(step.label, _payload(node, step.label))]
        asked = ast.Let(step.label, ast.Interrupt(step.label, _payload(node, step.label),
                                                   ast.NamedType(step.kind)))
        if step.kind == "int":
            return [asked, ast.Set("total", "+=", ast.Name(step.label))]
        return [asked, ast.Set("log", "+=", ast.ListExpr((ast.Name(step.label),)))]
    if isinstance(step, Branch):
        then = tuple(s for inner in step.then for s in _step_ast(node, inner))
        otherwise = (None if step.otherwise is None
                     else tuple(s for inner in step.otherwise for s in _step_ast(node, inner)))
        return [ast.If(_total_above(step.threshold), then, otherwise)]
    if isinstance(step, FlipBranch):
        local = f"f_{step.key}"
        flip = ast.Let(local, ast.Call(f"{INSTRUMENT}:flip", (_lit(f"{node}.{step.key}"),)))
        first = ast.Interrupt(step.first, _payload(node, step.first))
        second = ast.Interrupt(step.second, _payload(node, step.second))
        return [flip, ast.If(ast.Binary("==", ast.Name(local), _lit(0)), (first,), (second,))]
    raise TypeError(step)


def _node_ast(model: FlowModel, node: NodeModel) -> ast.NodeDecl:
    steps = [s for step in node.steps for s in _step_ast(node.name, step)]
    if model.loop is not None and model.loop.node == node.name:
        steps.insert(1, ast.Set("laps", "+=", _lit(1)))
    fan_out = None
    if node.fan is not None:
        steps.insert(1, ast.Set("total", "+=", ast.Name("it")))
        if not node.send:
            steps.insert(2, ast.Set("log", "+=", ast.ListExpr((ast.FuncCall("str", (ast.Name("it"),)),))))
        fan_out = ast.FanOut("it", ast.ListExpr(tuple(_lit(i) for i in node.fan)),
                             ast.Name("it") if node.keyed else None)
    return ast.NodeDecl(node.name, tuple(steps), retry=node.retry, fan_out=fan_out)


def _refs(names: tuple[str, ...]) -> tuple[ast.Ref, ...]:
    return tuple(ast.Ref(n) for n in names)


def _edges(model: FlowModel) -> list[ast.Edge]:
    edges = [ast.Edge((ast.Ref("start"),), _refs(model.start))]
    for name in model.names:
        if name in model.plain and model.plain[name]:
            edges.append(ast.Edge((ast.Ref(name),), _refs(model.plain[name])))
        if model.loop is not None and model.loop.node == name:
            cond = ast.Binary("<", ast.Name("laps"), _lit(model.loop.limit))
            edges.append(ast.Edge((ast.Ref(name),), (ast.Ref(model.loop.back),), cond))
        for route in model.routes.get(name, ()):
            if route.threshold is None:
                edges.append(ast.Edge((ast.Ref(name),), _refs(route.targets), otherwise=True))
            else:
                edges.append(ast.Edge((ast.Ref(name),), _refs(route.targets),
                                      _total_above(route.threshold)))
    for sources, target in model.joins:
        edges.append(ast.Edge(_refs(sources), (ast.Ref(target),)))
    return edges


def to_module(model: FlowModel, flow_name: str = "generated") -> ast.Module:
    fields = [
        ast.StateField("seed", ast.NamedType("int")),
        ast.StateField("total", ast.NamedType("int"), _lit(0)),
        ast.StateField("log", ast.ListType(ast.NamedType("str")), ast.ListExpr(())),
    ]
    if model.loop is not None:
        fields.append(ast.StateField("laps", ast.NamedType("int"), _lit(0)))
    fields += [ast.StateField(f, ast.NamedType("int"), _lit(0)) for f in model.owned_fields()]
    members: list[ast.FlowMember] = [
        ast.StateBlock(tuple(fields)),
        ast.InputList((ast.Ref("seed"), ast.Ref("total"))),
    ]
    members += [_node_ast(model, n) for n in model.nodes]
    members += _edges(model)
    if model.before:
        members.append(ast.StaticInterrupt("before", _refs(model.before)))
    if model.after:
        members.append(ast.StaticInterrupt("after", _refs(model.after)))
    return ast.Module((ast.Flow(flow_name, tuple(members)),))


def to_source(model: FlowModel) -> str:
    from fermata.compiler.syntax.printer import print_module

    return print_module(to_module(model))
