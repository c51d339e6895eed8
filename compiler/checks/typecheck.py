"""Names and types: every expression, step, default and declared type of a
module is checked against LANGUAGE.md's "Typing rules".

Codes F120–F139 (names), F300–F319 (types) and F430–F439 (templates,
reported by ``checks/templates.py`` on this pass's behalf). The types are in
``compiler/semantics/types.py``; inference and the built-in functions in
``compiler/semantics/inference.py`` (lowering runs the same inference, silently). This
pass walks the module, keeps track of what is in scope, and explains names
that are not.

Scoping, as this pass enforces it:

- Locals are per node: a `let` is visible to the later steps of its node,
  never to another node and never to edge conditions (which read the node's
  view of the state only).
- A `let` inside an `if` or `else` branch is visible only in that branch,
  after the `let`. Two branches may each declare a local of the same name.
- A name is declared once where it is visible: a `let` of a name already a
  local in scope is an error (F122), and so is a `let` named like a state
  field (F123), so a name in a node always means one thing and templates,
  whose view merges fields and locals, can never be ambiguous.
- A `!= null` test narrows a `T?` name to `T` where the test is known to hold:
  in the `if` branch, the `else` of an `== null` test, and the right side of
  `and`/`or`. A `set` of a field drops its narrowing for the later steps.

State defaults are constant expressions (literals, lists and records of
them, negative numbers), checked against the field's type.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from ..diagnostics import codes
from ..diagnostics.diagnostic import DiagnosticSink, Label, Suggestions, did_you_mean
from ..semantics import inference as I
from ..semantics import types as T
from ..syntax import ast
from ..syntax.ast import MAX_DEPTH
from . import clauses, runs, templates
from .components import shortest_cycle, strong_components
from .context import CheckContext

# Every code this pass reports (with those ``inference.Inferer`` reports for it):
# severity and catalogue title.
CODES = codes.reported_by(codes.TYPES)  # the registry's view: compiler/diagnostics/codes.py

_APPEND_RULE = "`+=` appends to lists, adds to numbers, concatenates strings and merges maps"

# Names people bring from other languages, with what to write instead.
_TYPE_HINTS = {
    "string": "str", "text": "str", "integer": "int", "number": "float", "double": "float",
    "boolean": "bool", "dict": "map[T]", "object": "map[T]", "array": "list[T]",
    "list": "list[T]", "map": "map[T]", "null": "T?", "none": "T?",
}


def check(context: CheckContext) -> None:
    sink, module = context.sink, context.module
    declarations = _TypeDeclarations(sink, module.all_types)
    named = declarations.resolve()
    flows = runs.visible_flows(module)
    for flow in module.flows:
        flow_check = _FlowCheck(sink, flow, named, set(declarations.decls), _locals_by_node(flow))
        flow_check.flows = flows
        flow_check.run()


def resolve_named_types(decls: Iterable[ast.TypeDecl]) -> dict[str, T.FType]:
    """The types ``type`` declarations name, resolved in dependency order
    (linear: one pass over the strongly connected components); names on a
    cycle or nested too deeply are left out, so references read them as
    ``any``. What this pass checks with, and what lowering uses, silently."""
    return _TypeDeclarations(DiagnosticSink(), decls).resolve()


def named_types(module: ast.Module) -> dict[str, T.FType]:
    """The resolved `type` declarations of ``module``, as the checker sees
    them (for tools: the language server's hover and completion); what
    cannot be resolved is left out, and reads as `any`."""
    return _TypeDeclarations(DiagnosticSink(), module.all_types).resolve()


# --------------------------------------------------------------------------
# Written types
# --------------------------------------------------------------------------


def _unknown_qualified(sink: DiagnosticSink, part: ast.NamedType, declared: set[str]) -> None:
    """F116: ``ns.Name`` where ``ns`` names no import, or its file declares no ``Name``."""
    namespace, _, name = part.name.partition(".")
    in_namespace = [d.partition(".")[2] for d in declared if d.startswith(namespace + ".")]
    if not in_namespace:
        sink.error("F116", f"unknown type `{part.name}`: no `use \"...\" as {namespace}` brings in a `{name}`",
                   part.span, help=f"import the file that declares it: `use \"path/to/file.flow\" as {namespace}`")
        return
    sink.error("F116", f"unknown type `{part.name}`: the file imported as `{namespace}` declares no type `{name}`",
               part.span, help=did_you_mean(name, in_namespace)
               or "its types are " + ", ".join(f"`{namespace}.{n}`" for n in sorted(in_namespace)))


def check_type(sink: DiagnosticSink, node: ast.Type, declared: Iterable[str]) -> None:
    """F126 for unknown names and F132 for repeated record fields in a written type."""
    declared = set(declared)
    for part in node.walk():
        if isinstance(part, ast.NamedType) and part.name not in T.PRIMITIVES \
                and part.name not in declared and "." in part.name:
            _unknown_qualified(sink, part, declared)
        elif isinstance(part, ast.NamedType) and part.name not in T.PRIMITIVES \
                and part.name not in declared:
            hint = _TYPE_HINTS.get(part.name.lower())
            sink.error("F126", f"unknown type `{part.name}`", part.span,
                       help=(f"write `{hint}`" if hint else None)
                       or did_you_mean(part.name, [*T.PRIMITIVES, *declared])
                       or f"declare it with `type {part.name} = ...`, or use one of "
                          "`str int float bool any`")
        elif isinstance(part, ast.RecordType):
            first: dict[str, ast.Span] = {}
            for f in part.fields:
                if f.name in first:
                    sink.error("F132", f"field `{f.name}` is declared twice in a record type",
                               _name_of_field(f), labels=[Label(first[f.name], "first declared here")],
                               help=f"remove one of the two `{f.name}` fields")
                first.setdefault(f.name, _name_of_field(f))


class _TypeDeclarations:
    """`type Name = T` declarations: their names, references and cycles."""

    def __init__(self, sink: DiagnosticSink, decls: Iterable[ast.TypeDecl]):
        self.sink = sink
        self.decls: dict[str, ast.TypeDecl] = {}
        for decl in decls:
            self.decls.setdefault(decl.name, decl)  # a duplicate is F102's; the first counts

    def refs(self, name: str) -> list[ast.NamedType]:
        return [n for n in self.decls[name].type.walk()
                if isinstance(n, ast.NamedType) and n.name in self.decls]

    def resolve(self) -> dict[str, T.FType]:
        for decl in self.decls.values():
            if decl.name in T.PRIMITIVES:
                self.sink.error("F131", f"`{decl.name}` is a built-in type and cannot be redeclared",
                                decl.name_span.or_else(decl.span),
                                help=f"name the type something else, e.g. `My{decl.name.title()}`")
            check_type(self.sink, decl.type, self.decls)
        graph = {name: [r.name for r in self.refs(name)] for name in self.decls}
        # Each component comes after those it refers to: the order to resolve in.
        components = strong_components(list(self.decls), graph)
        cyclic = self._report_cycles(components, graph)
        resolved: dict[str, T.FType] = {}
        depths: dict[str, int] = {}
        too_deep_reported = False
        for component in components:
            (name,) = component if len(component) == 1 else (None,)
            if name is None or name in cyclic or name in T.PRIMITIVES:
                continue
            decl = self.decls[name]
            depth = self._depth(decl.type, depths)
            if depth > MAX_DEPTH:
                # Deeper types would make every later stage recurse too far.
                # Left unresolved, like a cycle, so the names that refer to it
                # read it as `any`; reported once.
                if not too_deep_reported:
                    self.sink.error(
                        "F013", f"type `{name}` nests more than {MAX_DEPTH} levels deep "
                        "(each type it names counts as a level)", decl.name_span.or_else(decl.span),
                        help="flatten it: fewer levels of `type` names that only rename another")
                    too_deep_reported = True
                continue
            depths[name] = depth
            # Names left unresolved (cyclic, too deep or unknown, all reported) are `any`.
            resolved[name] = replace(T.resolve(decl.type, resolved), alias=name)
        return resolved

    def _depth(self, node: ast.Node, depths: Mapping[str, int]) -> int:
        """Levels of ``node``, a named type counting one more than its own
        (a written type is at most MAX_DEPTH levels: the parser saw to it)."""
        if isinstance(node, ast.NamedType):
            return 1 + depths.get(node.name, 0)
        if isinstance(node, ast.RecordField):  # one level with its type, as in the parser
            return self._depth(node.type, depths)
        return 1 + max((self._depth(child, depths) for child in node.child_list()), default=0)

    def _report_cycles(self, components: list[set[str]], graph: Mapping[str, list[str]]) -> set[str]:
        """F127 once per cycle, at the first declaration of it in the file;
        returns every name on a cycle."""
        order = {name: i for i, name in enumerate(self.decls)}
        cyclic: set[str] = set()
        for members in sorted(components, key=lambda c: min(order[n] for n in c)):
            component = sorted(members, key=order.__getitem__)
            first = component[0]
            if len(component) == 1 and first not in graph[first]:
                continue
            cyclic.update(component)
            chain = shortest_cycle(first, {n: [s for s in graph[n] if s in members] for n in members})
            ref = next(r for r in self.refs(first) if r.name == chain[1])
            decl = self.decls[first]
            self.sink.error(
                "F127", f"type `{first}` refers to itself: `{' -> '.join(chain)}`",
                decl.name_span.or_else(decl.span),
                labels=[Label(ref.span, f"`{first}` refers to `{chain[1]}` here")],
                notes=["a type compiles to a JSON Schema, which must be finite here"],
                help="break the cycle with `any` for the nested part, e.g. `children: list[any]`")
        return cyclic


# --------------------------------------------------------------------------
# Scopes
# --------------------------------------------------------------------------


@dataclass
class _Local:
    let: ast.Let
    type: T.FType


@dataclass
class _Scope:
    """What names mean in one block of steps (or an edge condition)."""

    fields: dict[str, T.FType]               # as narrowed here
    locals: dict[str, _Local] = field(default_factory=dict)
    parent: _Scope | None = None
    _suggestions: Suggestions | None = None   # built on the first unknown name

    def env(self) -> I.Env:
        # A view, not a copy: an env is made for every step, and copying
        # every local each time made a node of n `let`s cost n * n.
        return I.Env(fields=self.fields, locals=_LocalTypes(self.locals))

    def declare(self, name: str, local: _Local) -> None:
        self.locals[name] = local
        if self._suggestions is not None:
            self._suggestions.add(name)

    def suggest(self, name: str) -> str | None:
        """The visible name ``name`` is likely a typo of (one index per
        scope: n unknown names do not each list every name in scope)."""
        if self._suggestions is None:
            self._suggestions = Suggestions(self.visible)
        return self._suggestions.closest(name)

    def child(self, env: I.Env | None = None) -> _Scope:
        """A nested block's scope, with the narrowing of ``env`` applied."""
        scope = _Scope(dict(self.fields), dict(self.locals), self)
        if env is not None:
            scope.narrow(env)
        return scope

    def narrow(self, env: I.Env) -> None:
        """Take the (narrower) types of ``env`` for the names in scope."""
        self.fields.update(env.fields)
        for name, t in env.locals.items():
            if name in self.locals and self.locals[name].type != t:
                self.locals[name] = _Local(self.locals[name].let, t)

    def written(self, name: str, declared: T.FType) -> None:
        """A `set` of field ``name``: what a null test proved about it no
        longer holds, here or in any enclosing block."""
        scope: _Scope | None = self
        while scope is not None:
            scope.fields[name] = declared
            scope = scope.parent

    @property
    def visible(self) -> list[str]:
        return [*self.fields, *self.locals]


class _LocalTypes(Mapping[str, T.FType]):
    """The types of a scope's locals, read through to the scope's own dict."""

    __slots__ = ("_locals",)

    def __init__(self, locals: Mapping[str, _Local]):
        self._locals = locals

    def __getitem__(self, name: str) -> T.FType:
        return self._locals[name].type

    def __contains__(self, name: object) -> bool:
        return name in self._locals

    def __iter__(self) -> Iterator[str]:
        return iter(self._locals)

    def __len__(self) -> int:
        return len(self._locals)


def _locals_by_node(flow: ast.Flow) -> dict[str, str]:
    """Local name -> the first node declaring it, for "a local of node `x`" notes."""
    found: dict[str, str] = {}
    for node in flow.nodes:
        for step in node.all_steps:
            if isinstance(step, ast.Let):
                found.setdefault(step.name, node.name)
    return found


class _Checker(I.Inferer):
    """The shared inferer with scope-aware explanations of unknown names,
    read tracking and template checks."""

    def __init__(self, owner: _Names, scope: _Scope):
        super().__init__(scope.env(), owner.sink)
        self.owner = owner
        self.scope = scope

    def unknown_name(self, node: ast.Name) -> None:
        self.owner.unknown(node.name, node.span, self.scope, in_template=False)

    def read(self, node: ast.Name) -> None:
        self.owner.mark_read(node.name, self.scope)

    def template(self, node: ast.Literal) -> None:
        scope, owner = self.scope, self.owner
        templates.check_template(
            owner.sink, node, scope.visible,
            explain=lambda name, span: owner.unknown(name, span, scope, in_template=True),
            read=lambda name: owner.mark_read(name, scope))


class _Names:
    """Explains unknown names for one node (or a flow's edges) and records
    which locals are read."""

    def __init__(self, sink: DiagnosticSink, flow: ast.Flow, node: ast.NodeDecl | None,
                 other_locals: Mapping[str, str]):
        self.sink = sink
        self.flow = flow
        self.node = node
        self.other_locals = other_locals
        self.lets = [s for s in node.all_steps if isinstance(s, ast.Let)] if node else []
        self.seen = 0   # lets walked so far, in the order of `self.lets`
        # Name -> the positions of its `let`s in `self.lets`: an unknown name
        # is looked up, not searched for among every `let` of the node.
        self.let_positions: dict[str, list[int]] = {}
        for position, let in enumerate(self.lets):
            self.let_positions.setdefault(let.name, []).append(position)
        self.reads: set[int] = set()

    def mark_read(self, name: str, scope: _Scope) -> None:
        local = scope.locals.get(name)
        if local is not None:
            self.reads.add(id(local.let))

    def unknown(self, name: str, span: ast.Span, scope: _Scope, in_template: bool) -> bool:
        """Report an unknown name, saying why it is not visible when the node
        declares it elsewhere; always True (the name was explained)."""
        positions = self.let_positions.get(name, [])
        after = bisect.bisect_left(positions, self.seen)
        later = self.lets[positions[after]] if after < len(positions) else None
        if later is not None:
            self.reads.add(id(later))  # moving the `let` up fixes both: report one fault
            self.sink.error("F121", f"local `{name}` is used before its `let`", span,
                            labels=[Label(_let_span(later), f"`{name}` is declared here, later in the node")],
                            help=f"move `let {name} = ...` above its first use")
            return True
        earlier = self.lets[positions[0]] if positions and positions[0] < self.seen else None
        if earlier is not None:
            self.reads.add(id(earlier))
            self.sink.error("F130", f"local `{name}` is not visible here", span,
                            labels=[Label(_let_span(earlier), f"`{name}` is declared inside an `if` "
                                          "branch and visible only there")],
                            help=f"declare `{name}` before the `if`, or keep the value in a state "
                                 "field with `set`")
            return True
        notes = []
        owner = self.other_locals.get(name)
        if owner is not None and (self.node is None or owner != self.node.name):
            if self.node is None:
                notes.append(f"`{name}` is a local of node `{owner}`; edge conditions see state "
                             "fields only")
            else:
                notes.append(f"`{name}` is a local of node `{owner}`; locals are visible only in "
                             "their own node")
        meant = scope.suggest(name)
        suggestion = f"did you mean `{meant}`?" if meant else None
        if meant in scope.locals:
            self.reads.add(id(scope.locals[meant].let))  # a misspelt read: the local is not unused too
        if notes:
            help = (f"keep the value in a state field: declare `{name}` in `state` and `set` it in "
                    f"node `{owner}`")
        else:
            help = suggestion or (
                f"declare `{name}` in the `state` block"
                + ("" if self.node is None else ", or with `let` earlier in the node"))
        if in_template:
            self.sink.error("F431", f"unknown name `{name}` in a template", span, help=help, notes=notes)
            return True
        self.sink.error("F120", f"unknown name `{name}`", span, help=help, notes=notes)
        return True


# --------------------------------------------------------------------------
# A flow
# --------------------------------------------------------------------------


class _FlowCheck:
    def __init__(self, sink: DiagnosticSink, flow: ast.Flow, named: Mapping[str, T.FType],
                 declared: set[str], other_locals: Mapping[str, str]):
        self.sink = sink
        self.flow = flow
        self.named = named
        self.declared = declared  # every declared type name, resolved or not
        self.other_locals = other_locals
        self.flows: Mapping[str, ast.Flow] = {}   # what `run` may name (checks/runs.py)
        self.fields: dict[str, T.FType] = {}
        self._field_suggestions: Suggestions | None = None
        self.field_decls: dict[str, ast.StateField] = {}
        for f in flow.state_fields:
            if f.name not in self.fields:  # a duplicate is F104's; the first counts
                self.fields[f.name] = T.resolve(f.type, named)
                self.field_decls[f.name] = f

    def suggest_field(self, name: str) -> str | None:
        """The field ``name`` is likely a typo of (one index per flow)."""
        if self._field_suggestions is None:
            self._field_suggestions = Suggestions(self.fields)
        return self._field_suggestions.closest(name)

    def run(self) -> None:
        for f in self.flow.state_fields:
            check_type(self.sink, f.type, self.declared)
        for name, decl in self.field_decls.items():
            if decl.default is not None:
                self._default(decl, self.fields[name])
        for node in self.flow.nodes:
            _NodeCheck(self, node).run()
        names = _Names(self.sink, self.flow, None, self.other_locals)
        for edge in self.flow.edges:
            if edge.condition is not None:
                checker = _Checker(names, _Scope(dict(self.fields)))
                t = checker.infer(edge.condition)
                checker.condition(edge.condition, t, "`when`")

    def _default(self, decl: ast.StateField, field_type: T.FType) -> None:
        problem = _not_constant(decl.default)  # type: ignore[arg-type]
        if problem is not None:
            part, why = problem
            self.sink.error("F311", f"the default of `{decl.name}` {why}", part.span,
                            notes=["defaults are fixed values: literals, and lists and records of them"],
                            help="set the value in the first node instead, e.g. "
                                 f"`set {decl.name} = ...`")
            return
        checker = I.Inferer(I.Env(), self.sink)
        checker.expect(decl.default, field_type, "F310",  # type: ignore[arg-type]
                       f"the default of `{decl.name}`")


def _not_constant(expr: ast.Expr) -> tuple[ast.Expr, str] | None:
    """The first part of a default that is not a constant, and why."""
    if isinstance(expr, ast.Literal):
        if expr.is_template:
            return expr, "is a template, which is only rendered inside nodes"
        return None
    if isinstance(expr, ast.ListExpr):
        return next((p for p in map(_not_constant, expr.items) if p is not None), None)
    if isinstance(expr, ast.RecordExpr):
        return next((p for p in (_not_constant(e.value) for e in expr.entries) if p is not None), None)
    if isinstance(expr, ast.Unary) and expr.op == "-" and isinstance(expr.operand, ast.Literal) \
            and isinstance(expr.operand.value, (int, float)) and not isinstance(expr.operand.value, bool):
        return None
    if isinstance(expr, ast.Name):
        return expr, f"reads `{expr.name}`, but defaults cannot read other fields"
    return expr, "is not a constant"


# --------------------------------------------------------------------------
# A node
# --------------------------------------------------------------------------


class _NodeCheck:
    def __init__(self, flow: _FlowCheck, node: ast.NodeDecl):
        self.flow = flow
        self.sink = flow.sink
        self.node = node
        self.names = _Names(flow.sink, flow.flow, node, flow.other_locals)
        self.silenced: set[int] = set()  # lets already reported (F122, F123): no F124 as well

    def run(self) -> None:
        scope = _Scope(dict(self.flow.fields))
        if self.node.fan_out is not None:
            self.fan_out(self.node.fan_out, scope)
        self.block(self.node.steps, scope)
        for let in self.names.lets:
            if id(let) in self.names.reads or id(let) in self.silenced or let.name.startswith("_"):
                continue
            what = ("call" if isinstance(let.value, ast.Call)
                    else "interrupt" if isinstance(let.value, ast.Interrupt)
                    else "run" if isinstance(let.value, ast.Run) else None)
            help = (f"to ignore the {what}'s value, drop `let {let.name} =`; " if what else
                    "remove the `let`, or ")
            self.sink.warning("F124", f"local `{let.name}` is never used", _let_span(let),
                              help=help + f"name it `_{let.name}` to keep it unused on purpose")

    def checker(self, scope: _Scope) -> _Checker:
        return _Checker(self.names, scope)

    def block(self, steps: Iterable[ast.Step], scope: _Scope) -> None:
        for step in steps:
            self.step(step, scope)

    def step(self, step: ast.Step, scope: _Scope) -> None:
        if isinstance(step, ast.Let):
            self.let(step, scope)
        elif isinstance(step, ast.Set):
            self.set(step, scope)
        elif isinstance(step, ast.Call):
            self.call(step, scope)
        elif isinstance(step, ast.Interrupt):
            self.interrupt(step, scope)
        elif isinstance(step, ast.If):
            checker = self.checker(scope)
            checker.condition(step.condition, checker.infer(step.condition), "`if`")
            env = scope.env()
            self.block(step.then, scope.child(I.when_true(step.condition, env)))
            if step.otherwise is not None:
                self.block(step.otherwise, scope.child(I.when_false(step.condition, env)))
            # `if d == null { fail "..." }`: the steps after it run only when
            # the condition did not hold.
            if _always_fails(step.then) and not _always_fails(step.otherwise or ()):
                scope.narrow(I.when_false(step.condition, scope.env()))
            elif step.otherwise is not None and _always_fails(step.otherwise):
                scope.narrow(I.when_true(step.condition, scope.env()))
        elif isinstance(step, ast.Wait):
            clauses.check_wait(self.sink, step, lambda: self.checker(scope))
        elif isinstance(step, ast.Run):
            self.run_child(step, scope)
        elif isinstance(step, ast.Fail):
            t = self.checker(scope).infer(step.message)
            if not T.assignable(t, T.STR):
                self.sink.error("F312", f"`fail` needs a `str` message, found `{T.widen(t)}`",
                                step.message.span,
                                help="write the message as a string; a template can show values: "
                                     "`fail \"... {{ value }}\"`")

    # ------------------------------------------------------------------ fan-out

    def fan_out(self, fan: ast.FanOut, scope: _Scope) -> None:
        """`for X in ITEMS [key KEY]`: ITEMS is read at step start (state
        fields only), must be a list, and gives X its item type; KEY sees X
        and must be a `str` or an `int` (it names the instances)."""
        items = self.checker(scope).infer(fan.items)
        item_type: T.FType = T.ANY
        if isinstance(items, T.ListT):
            item_type = items.item
        elif items != T.ANY:
            self.sink.error("F330", f"a fan-out needs a list, found `{T.widen(items)}`", fan.items.span,
                            notes=["one instance of the node runs per element of the list"],
                            help=("read the list through `??` first, e.g. `for x in (items ?? [])`"
                                  if T.is_optional(items) else "fan out over a `list[T]` field"))
        var = ast.Let(fan.var, fan.items, fan.var_span, fan.var_span)
        if fan.var in self.flow.fields:
            decl = self.flow.field_decls[fan.var]
            self.sink.error("F140", f"fan-out variable `{fan.var}` has the name of a state field",
                            fan.var_span,
                            labels=[Label(decl.name_span.or_else(decl.span), "the field is declared here")],
                            help=f"rename the variable, e.g. `for each_{fan.var} in ...`")
        else:
            scope.declare(fan.var, _Local(var, item_type))
        if fan.key is not None:
            key = self.checker(scope).infer(fan.key)
            if key != T.ANY and not (T.assignable(key, T.STR) or T.assignable(key, T.INT)):
                self.sink.error("F331", f"a fan-out `key` must be a `str` or an `int`, found `{T.widen(key)}`",
                                fan.key.span,
                                notes=[("the key names each instance (`node[key]`) and its interrupts "
                                        "(`node[key]:label`); keys must be unique")],
                                help="use a field of the item that identifies it, e.g. `key "
                                     f"{fan.var}.id`")

    # ------------------------------------------------------------------ let

    def let(self, let: ast.Let, scope: _Scope) -> None:
        value = let.value
        if isinstance(value, ast.Call):
            t = self.call(value, scope)
        elif isinstance(value, ast.Interrupt):
            t = self.interrupt(value, scope, let)
        elif isinstance(value, ast.Run):
            t = self.run_child(value, scope)
        else:
            t = self.checker(scope).infer(value)
        self.names.seen += 1
        name = let.name
        if name in self.flow.fields:
            decl = self.flow.field_decls[name]
            self.sink.error("F123", f"local `{name}` has the name of a state field", _let_span(let),
                            labels=[Label(decl.name_span.or_else(decl.span), "the field is declared here")],
                            help=f"rename the local, e.g. `let new_{name} = ...`; to change the field, "
                                 f"use `set {name} = ...`")
            self.silenced.add(id(let))
            return
        if name in scope.locals:
            first = scope.locals[name].let
            self.sink.error("F122", f"local `{name}` is declared twice", _let_span(let),
                            labels=[Label(_let_span(first), "first declared here")],
                            help="locals cannot be reassigned: give the second one another name")
            self.silenced.add(id(let))
            return
        scope.declare(name, _Local(let, t))

    # ------------------------------------------------------------------ set

    def set(self, step: ast.Set, scope: _Scope) -> None:
        checker = self.checker(scope)
        name = step.field
        target = self.flow.fields.get(name)
        span = step.field_span.or_else(step.span)
        if target is None:
            checker.infer(step.value)
            if name in scope.locals:
                self.names.mark_read(name, scope)  # F128 says all there is to say about it
                self.sink.error("F128", f"`{name}` is a local, not a state field", span,
                                labels=[Label(_let_span(scope.locals[name].let), "declared here")],
                                help="`set` writes state fields and locals cannot change: use a new "
                                     f"`let`, or declare `{name}` in `state`")
            else:
                meant = self.flow.suggest_field(name)
                self.sink.error("F128", f"unknown field `{name}`", span,
                                help=(f"did you mean `{meant}`?" if meant else None)
                                or f"declare it in the `state` block: `{name}: T`")
            return
        if step.op == "=":
            checker.expect(step.value, target, "F300", f"`{name}`")
        else:
            self.append(step, target, checker)
        scope.written(name, target)

    def append(self, step: ast.Set, target: T.FType, checker: _Checker) -> None:
        """`set f += value`: lists extend, numbers add, strings concatenate,
        maps (and records) merge."""
        name, value = step.field, step.value
        span = step.field_span.or_else(step.span)
        subject = f"`+=` on `{name}`"
        if target == T.ANY:
            checker.infer(value)
        elif T.is_optional(target):
            checker.infer(value)
            self.sink.error("F303", f"`{name}` may be null, so `+=` cannot add to it", span,
                            help=f"give `{name}` a non-optional type and a default, or write "
                                 f"`set {name} = ({name} ?? ...) + ...`")
        elif isinstance(target, T.ListT) and not isinstance(value, ast.ListExpr):
            t = checker.infer(value)
            if T.assignable(t, target):
                return
            if t != T.ANY and T.assignable(t, target.item):
                message = f"`+=` on `{name}` appends a list, found `{T.shown(t, target.item)}`"
                help = f"append it as a one-item list: `[{I.source(value)}]`"
            else:
                message = f"expected `{target}` for {subject}, found `{T.shown(t, target)}`"
                help = None
            self.sink.error("F304", message, value.span, help=help)
        elif target in (T.INT, T.FLOAT, T.STR) or isinstance(target, (T.ListT, T.MapT)):
            checker.expect(value, target, "F304", subject)
        elif isinstance(target, T.RecordT):
            self.merge(step, target, checker)
        else:
            checker.infer(value)
            self.sink.error("F303", f"`+=` cannot add to `{name}`, a `{target}`", span,
                            notes=[_APPEND_RULE],
                            help=f"use `set {name} = ...`")

    def merge(self, step: ast.Set, target: T.RecordT, checker: _Checker) -> None:
        """`set record += {...}` replaces the fields it names, so each must be
        a field of the record, of its type."""
        wanted = target.field_types
        subject = f"`+=` on `{step.field}`"
        if isinstance(step.value, ast.RecordExpr):
            for entry in step.value.entries:
                if entry.key in wanted:
                    checker.expect(entry.value, wanted[entry.key], "F304",
                                   f"field `{entry.key}` of {subject}")
                    continue
                checker.infer(entry.value)
                self.sink.error("F304", f"`{target}` has no field `{entry.key}`", entry.span,
                                help=did_you_mean(entry.key, wanted)
                                or f"its fields are {', '.join(f'`{n}`' for n in wanted)}")
            return
        t = checker.infer(step.value)
        if t == T.ANY:
            return
        if not isinstance(t, T.RecordT) or any(n not in wanted or not T.assignable(ft, wanted[n])
                                               for n, ft in t.fields):
            self.sink.error("F304", f"expected fields of `{target}` for {subject}, "
                            f"found `{T.shown(t, target)}`", step.value.span)

    # --------------------------------------------------------- call, interrupt

    def call(self, call: ast.Call, scope: _Scope) -> T.FType:
        checker = self.checker(scope)
        for arg in call.args or ():
            checker.infer(arg)
        for kwarg in call.kwargs:
            checker.infer(kwarg.value)
        return T.ANY  # call results are `any`, checked at run time where typed

    def run_child(self, run: ast.Run, scope: _Scope) -> T.FType:
        """`run FLOW {input}`: the input against the child's input fields;
        the child's output record (`any` for an unknown flow: F141 is the
        runs pass's)."""
        checker = self.checker(scope)
        child = self.flow.flows.get(run.flow)
        if child is None:
            checker.infer(run.input)
            return T.ANY
        return runs.check_input(self.sink, run, runs.signature(child, self.flow.named), checker)

    def interrupt(self, interrupt: ast.Interrupt, scope: _Scope, let: ast.Let | None = None) -> T.FType:
        if interrupt.payload is not None:
            self.checker(scope).infer(interrupt.payload)
        answer: T.FType = T.ANY
        if interrupt.expect is not None:
            check_type(self.sink, interrupt.expect, self.flow.declared)
            answer = T.resolve(interrupt.expect, self.flow.named)
        if interrupt.has_clauses:
            def with_answer() -> _Checker:
                inner = scope.child()
                if let is not None:
                    inner.declare(let.name, _Local(let, answer))
                return self.checker(inner)

            clauses.check_interrupt(self.sink, interrupt, let.name if let is not None else None, answer,
                                    lambda: self.checker(scope), with_answer, scope.locals)
        return answer


def _always_fails(steps: Iterable[ast.Step]) -> bool:
    """Whether a block surely ends in `fail` (or an `if` whose branches all do)."""
    for step in steps:
        if isinstance(step, ast.Fail):
            return True
        if isinstance(step, ast.If) and step.otherwise is not None \
                and _always_fails(step.then) and _always_fails(step.otherwise):
            return True
    return False


# --------------------------------------------------------------------------
# Spans
# --------------------------------------------------------------------------


def _let_span(let: ast.Let) -> ast.Span:
    return let.name_span.or_else(let.span)


def _name_of_field(f: ast.RecordField) -> ast.Span:
    span = f.span
    if not span.line:
        return span
    return ast.Span(span.line, span.column, span.line, span.column + len(f.name),
                    span.start, span.start + len(f.name))
