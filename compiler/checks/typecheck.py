"""Names and types: every expression, step, default and declared type of a
module is checked against LANGUAGE.md's "Typing rules".

Codes F120–F139 (names), F300–F319 (types) and F430–F439 (templates,
reported by ``checks/templates.py`` on this pass's behalf). The types are in
``compiler/semantics/types.py``; inference and the built-in functions in
``compiler/semantics/inference.py`` (lowering runs the same inference, silently). This
pass walks the module, keeps track of what is in scope (``scopes.py``), and
explains names that are not; the written types and `type` declarations are
``written_types.py``'s.

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

from collections.abc import Iterable, Mapping

from ..diagnostics import codes
from ..diagnostics.diagnostic import DiagnosticSink, Label, Suggestions, did_you_mean
from ..semantics import inference as I
from ..semantics import types as T
from ..syntax import ast
from . import clauses, runs
from .context import CheckContext
from .scopes import Checker, Local, Names, Scope, let_span, locals_by_node
from .written_types import TypeDeclarations, check_type

# Every code this pass reports (with those ``inference.Inferer`` reports for it):
# severity and catalogue title.
CODES = codes.reported_by(codes.TYPES)  # the registry's view: compiler/diagnostics/codes.py

_APPEND_RULE = "`+=` appends to lists, adds to numbers, concatenates strings and merges maps"


def check(context: CheckContext) -> None:
    sink, module = context.sink, context.module
    declarations = TypeDeclarations(sink, module.all_types)
    named = declarations.resolve()
    flows = runs.visible_flows(module)
    for flow in module.flows:
        flow_check = FlowCheck(sink, flow, named, set(declarations.decls), locals_by_node(flow))
        flow_check.flows = flows
        flow_check.run()


def resolve_named_types(decls: Iterable[ast.TypeDecl]) -> dict[str, T.FType]:
    """The types ``type`` declarations name, resolved in dependency order
    (linear: one pass over the strongly connected components); names on a
    cycle or nested too deeply are left out, so references read them as
    ``any``. What this pass checks with, and what lowering uses, silently."""
    return TypeDeclarations(DiagnosticSink(), decls).resolve()


def named_types(module: ast.Module) -> dict[str, T.FType]:
    """The resolved `type` declarations of ``module``, as the checker sees
    them (for tools: the language server's hover and completion); what
    cannot be resolved is left out, and reads as `any`."""
    return TypeDeclarations(DiagnosticSink(), module.all_types).resolve()


# --------------------------------------------------------------------------
# A flow
# --------------------------------------------------------------------------


class FlowCheck:
    """What every node of one flow is checked against (its fields, named
    types, declared locals). Public because the language server checks a
    flow's nodes one by one with it (``lsp/node_parts.py``)."""

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
            NodeCheck(self, node).run()
        names = Names(self.sink, self.flow, None, self.other_locals)
        for edge in self.flow.edges:
            if edge.condition is not None:
                checker = Checker(names, Scope(dict(self.fields)))
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


class NodeCheck:
    """The type check of one node's body, under its flow's :class:`FlowCheck`."""

    def __init__(self, flow: FlowCheck, node: ast.NodeDecl):
        self.flow = flow
        self.sink = flow.sink
        self.node = node
        self.names = Names(flow.sink, flow.flow, node, flow.other_locals)
        self.silenced: set[int] = set()  # lets already reported (F122, F123): no F124 as well

    def run(self) -> None:
        scope = Scope(dict(self.flow.fields))
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
            self.sink.warning("F124", f"local `{let.name}` is never used", let_span(let),
                              help=help + f"name it `_{let.name}` to keep it unused on purpose")

    def checker(self, scope: Scope) -> Checker:
        return Checker(self.names, scope)

    def block(self, steps: Iterable[ast.Step], scope: Scope) -> None:
        for step in steps:
            self.step(step, scope)

    def step(self, step: ast.Step, scope: Scope) -> None:
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

    def fan_out(self, fan: ast.FanOut, scope: Scope) -> None:
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
            scope.declare(fan.var, Local(var, item_type))
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

    def let(self, let: ast.Let, scope: Scope) -> None:
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
            self.sink.error("F123", f"local `{name}` has the name of a state field", let_span(let),
                            labels=[Label(decl.name_span.or_else(decl.span), "the field is declared here")],
                            help=f"rename the local, e.g. `let new_{name} = ...`; to change the field, "
                                 f"use `set {name} = ...`")
            self.silenced.add(id(let))
            return
        if name in scope.locals:
            first = scope.locals[name].let
            self.sink.error("F122", f"local `{name}` is declared twice", let_span(let),
                            labels=[Label(let_span(first), "first declared here")],
                            help="locals cannot be reassigned: give the second one another name")
            self.silenced.add(id(let))
            return
        scope.declare(name, Local(let, t))

    # ------------------------------------------------------------------ set

    def set(self, step: ast.Set, scope: Scope) -> None:
        checker = self.checker(scope)
        name = step.field
        target = self.flow.fields.get(name)
        span = step.field_span.or_else(step.span)
        if target is None:
            checker.infer(step.value)
            if name in scope.locals:
                self.names.mark_read(name, scope)  # F128 says all there is to say about it
                self.sink.error("F128", f"`{name}` is a local, not a state field", span,
                                labels=[Label(let_span(scope.locals[name].let), "declared here")],
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

    def append(self, step: ast.Set, target: T.FType, checker: Checker) -> None:
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

    def merge(self, step: ast.Set, target: T.RecordT, checker: Checker) -> None:
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

    def call(self, call: ast.Call, scope: Scope) -> T.FType:
        checker = self.checker(scope)
        for arg in call.args or ():
            checker.infer(arg)
        for kwarg in call.kwargs:
            checker.infer(kwarg.value)
        return T.ANY  # call results are `any`, checked at run time where typed

    def run_child(self, run: ast.Run, scope: Scope) -> T.FType:
        """`run FLOW {input}`: the input against the child's input fields;
        the child's output record (`any` for an unknown flow: F141 is the
        runs pass's)."""
        checker = self.checker(scope)
        child = self.flow.flows.get(run.flow)
        if child is None:
            checker.infer(run.input)
            return T.ANY
        return runs.check_input(self.sink, run, runs.signature(child, self.flow.named), checker)

    def interrupt(self, interrupt: ast.Interrupt, scope: Scope, let: ast.Let | None = None) -> T.FType:
        if interrupt.payload is not None:
            self.checker(scope).infer(interrupt.payload)
        answer: T.FType = T.ANY
        if interrupt.expect is not None:
            check_type(self.sink, interrupt.expect, self.flow.declared)
            answer = T.resolve(interrupt.expect, self.flow.named)
        if interrupt.has_clauses:
            def with_answer() -> Checker:
                inner = scope.child()
                if let is not None:
                    inner.declare(let.name, Local(let, answer))
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
