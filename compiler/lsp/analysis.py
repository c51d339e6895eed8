"""One document version -> diagnostics and an index of what its names mean.

Built once per version (:func:`analyze_document`) and read by every request
handler, so a hover or a completion costs a lookup, not an analysis:

- ``diagnostics``: `fermata check`'s, from the compiler's own pipeline; for
  a text that does not parse, the syntax error plus the diagnostics of its
  repair (``recovery.py``);
- ``symbols``: every declaration (flow, node, type, state field, local,
  interrupt) with its name's span, type and docstring;
- ``occurrences``: every place a symbol's name is written, declarations
  included, by line; template names inside ``{{ }}`` included;
- ``scopes``: per node, the locals and where each is visible, and per
  expression the names' types there (for hover on `a.b` and completion
  after `.`).

The index is built from the AST by one walk that mirrors the type checker's
scoping rules (``checks/typecheck.py``): a local is visible after its `let`
to the end of its block; edge conditions see state fields only. A construct
added to the language adds a case to :class:`_Indexer`; handlers need not
change. The index is per document: the types a `use` brings in are symbols
that point at their file (``Symbol.elsewhere``).

After an edit, ``incremental.py`` updates a previous analysis instead of
making one anew, where that gives the same result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from fermata.spec.call_policy import CallPolicy

from ..diagnostics.diagnostic import Diagnostic, suggestion_budget
from ..pipeline import Analysis, _without_cycle_collection, analyze, analyze_parsed
from ..semantics import inference as I
from ..semantics import types as T
from ..syntax import ast
from .checking import CheckParts, check_parts
from .positions import UTF16, LineIndex
from .recovery import repair

# Symbol kinds.
FLOW, NODE, TYPE, FIELD, LOCAL, INTERRUPT = "flow", "node", "type", "field", "local", "interrupt"

Point = tuple[int, int]  # 1-based (line, column), comparable


@dataclass(eq=False)
class Symbol:
    """A declaration. Compared by identity: two locals named alike in two
    nodes are two symbols."""

    kind: str
    name: str
    span: ast.Span                 # the name where it is declared
    flow: str | None = None        # the flow holding it (None for types and flows)
    node: str | None = None        # the node holding it (locals, interrupts)
    type: T.FType | None = None
    doc: str | None = None
    decl: ast.Node | None = None
    # Declared in another file (brought in by `use`): that file and span.
    elsewhere: tuple[str, ast.Span] | None = None

    @property
    def detail(self) -> str:
        return "" if self.type is None else str(self.type)


@dataclass(frozen=True)
class Occurrence:
    span: ast.Span
    symbol: Symbol
    is_definition: bool = False


@dataclass
class LocalScope:
    """A local and the region where it can be read."""

    symbol: Symbol
    visible_from: Point
    visible_to: Point


@dataclass
class NodeScope:
    flow: str
    node: ast.NodeDecl
    start: Point
    end: Point
    locals: list[LocalScope] = field(default_factory=list)


@dataclass
class ExprEnv:
    """An expression written in the spec and what names meant there."""

    expr: ast.Expr
    env: I.Env
    start: Point
    end: Point


@dataclass
class FlowScope:
    flow: ast.Flow
    start: Point
    end: Point
    fields: dict[str, Symbol] = field(default_factory=dict)
    nodes: dict[str, Symbol] = field(default_factory=dict)


@dataclass
class DocumentAnalysis:
    uri: str
    version: int | None
    text: str
    lines: LineIndex
    analysis: Analysis
    module: ast.Module | None        # of the text, or of its repair
    recovered: bool = False          # the module is the repaired text's
    symbols: list[Symbol] = field(default_factory=list)
    occurrences: dict[int, list[Occurrence]] = field(default_factory=dict)  # by line
    flows: list[FlowScope] = field(default_factory=list)
    node_scopes: list[NodeScope] = field(default_factory=list)
    exprs: list[ExprEnv] = field(default_factory=list)
    types: dict[str, Symbol] = field(default_factory=dict)
    named: dict[str, T.FType] = field(default_factory=dict)
    # The checks' diagnostics flow by flow, when that is exact (``checking.py``):
    # an edit inside one flow re-checks that flow only.
    parts: CheckParts | None = None
    # For a repaired text (``recovered``): the repair, which the module is of.
    fixed_text: str | None = None
    # The index's update, when it was deferred (``incremental.reanalyze``).
    pending: Callable[[], None] | None = field(default=None, repr=False)

    def settle(self) -> DocumentAnalysis:
        """This analysis with its index up to date (what reads the index calls it first)."""
        update, self.pending = self.pending, None
        if update is not None:
            with _without_cycle_collection():
                update()
        return self
    flow_symbols: dict[str, Symbol] = field(default_factory=dict)   # what a `run` may name

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.analysis.diagnostics

    @property
    def parsed(self) -> bool:
        """Whether the text itself parsed (not only its repair)."""
        return self.analysis.module is not None

    # ------------------------------------------------------------ queries

    def occurrence_at(self, point: Point) -> Occurrence | None:
        for occ in self.occurrences.get(point[0], ()):
            if _contains(occ.span, point, inclusive_end=True):
                return occ
        return None

    def references(self, symbol: Symbol) -> list[Occurrence]:
        return [occ for line in sorted(self.occurrences) for occ in self.occurrences[line]
                if occ.symbol is symbol]

    def flow_at(self, point: Point) -> FlowScope | None:
        return next((f for f in self.flows if f.start <= point <= f.end), None)

    def node_at(self, point: Point) -> NodeScope | None:
        return next((n for n in self.node_scopes if n.start <= point <= n.end), None)

    def locals_at(self, point: Point) -> list[Symbol]:
        scope = self.node_at(point)
        if scope is None:
            return []
        return [loc.symbol for loc in scope.locals if loc.visible_from <= point <= loc.visible_to]

    def env_at(self, point: Point) -> I.Env:
        """What names mean at ``point``: the flow's fields and the locals
        visible there."""
        flow = self.flow_at(point)
        fields = {name: s.type or T.ANY for name, s in flow.fields.items()} if flow else {}
        locals_ = {s.name: s.type or T.ANY for s in self.locals_at(point)}
        return I.Env(fields=fields, locals=locals_)

    def expr_at(self, point: Point) -> tuple[ast.Expr, I.Env] | None:
        """The innermost expression written at ``point``, with its env."""
        best: tuple[ast.Expr, I.Env] | None = None
        for entry in self.exprs:
            if entry.start <= point <= entry.end:
                for node in entry.expr.walk():
                    if _contains(node.span, point, inclusive_end=True) and isinstance(node, _EXPR_TYPES):
                        best = (node, entry.env)  # walk is outer first: the last is innermost
        return best


_EXPR_TYPES = (ast.Literal, ast.Name, ast.ListExpr, ast.RecordExpr, ast.Member, ast.Index,
               ast.Unary, ast.Binary, ast.FuncCall)


def _contains(span: ast.Span, point: Point, inclusive_end: bool = False) -> bool:
    if not span.line:
        return False
    end = (span.end_line, span.end_column)
    return (span.line, span.column) <= point and (point <= end if inclusive_end else point < end)


def _start(span: ast.Span) -> Point:
    return (span.line, span.column)


def _end(span: ast.Span) -> Point:
    return (span.end_line, span.end_column)


# --------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------


def analyze_document(text: str, uri: str, path: str, version: int | None = None,
                     encoding: str = UTF16, previous: DocumentAnalysis | None = None,
                     call_policy: CallPolicy | None = None, defer_index: bool = False) -> DocumentAnalysis:
    """Diagnostics and index of one document version; never raises for any text.

    With ``previous`` (the analysis of the version before), an edit inside
    one flow re-parses the members it touched only (``incremental.py``);
    with ``defer_index`` too, the index is updated at ``settle()``."""
    if previous is not None and previous.lines.encoding == encoding:
        from .incremental import reanalyze

        updated = reanalyze(previous, text, version, call_policy, defer_index)
        if updated is not None:
            return updated
    analysis, parts = _analyze(text, path, call_policy)
    module, recovered, fixed_text = analysis.module, False, None
    if module is None and _is_syntax_error(analysis.diagnostics):
        fixed = repair(text)
        if fixed is not None:
            again, again_parts = _analyze(fixed.text, path, call_policy)
            if again.module is not None:
                module, recovered, parts, fixed_text = again.module, True, again_parts, fixed.text
                analysis = with_repair(analysis, again, fixed.blanked_lines)
    doc = DocumentAnalysis(uri, version, text, LineIndex(text, encoding), analysis, module, recovered)
    doc.parts, doc.fixed_text = parts, fixed_text
    if module is not None:
        with _without_cycle_collection():  # as the compiler's stages: many objects, no cycles
            _Indexer(doc).module(module)
    return doc


def with_repair(analysis: Analysis, repaired: Analysis, blanked_lines: set[int]) -> Analysis:
    """The syntax error of ``analysis`` (a text that does not parse), with
    the diagnostics of its repair but on the lines the repair blanked."""
    seen = {(d.code, d.span) for d in analysis.diagnostics}
    extra = [d for d in repaired.diagnostics
             if d.span.line not in blanked_lines and (d.code, d.span) not in seen
             and not d.code.startswith("F9")]  # suppression bookkeeping: the real text's
    return Analysis(analysis.path, analysis.text, None,
                    sorted([*analysis.diagnostics, *extra], key=Diagnostic.sort_key))


def _analyze(text: str, path: str, call_policy: CallPolicy | None) -> tuple[Analysis, CheckParts | None]:
    """``pipeline.analyze``, checking flow by flow where that is exact
    (``checking.py``), and keeping the parts for the next edit."""
    from ..pipeline import _finish
    from ..syntax.parser import parse

    with suggestion_budget(), _without_cycle_collection():
        module, diagnostics = parse(text, path)
    if module is None:
        return _finish(text, path, None, list(diagnostics), None, call_policy), None
    if diagnostics:  # the parser's warnings: rare, and the parts would not hold them
        return analyze(text, path, call_policy=call_policy), None
    with _without_cycle_collection():
        parts = check_parts(module, path, call_policy)
    if parts is None:
        return analyze_parsed(text, path, module, call_policy), None
    return _finish(text, path, module, parts.all, None, call_policy), parts


def _is_syntax_error(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.code in ("F001", "F002", "F003", "F004", "F005") for d in diagnostics)


def _name_span(primary: ast.Span, fallback: ast.Span, name: str) -> ast.Span:
    if primary.line:
        return primary
    return fallback


class _Indexer:
    def __init__(self, doc: DocumentAnalysis):
        from ..checks.runs import visible_flows

        self.doc = doc
        self.flows = visible_flows(doc.module) if doc.module is not None else {}   # what `run` may name
        self.flow_symbols = doc.flow_symbols

    def add(self, span: ast.Span, symbol: Symbol, definition: bool = False) -> None:
        if span.line:
            self.doc.occurrences.setdefault(span.line, []).append(Occurrence(span, symbol, definition))

    def declare(self, symbol: Symbol) -> Symbol:
        self.doc.symbols.append(symbol)
        self.add(symbol.span, symbol, definition=True)
        return symbol

    # ------------------------------------------------------------ module

    def module(self, module: ast.Module) -> None:
        from ..checks.typecheck import named_types

        doc = self.doc
        doc.named = named_types(module)
        for decl in module.types:
            if decl.name not in doc.types:
                doc.types[decl.name] = self.declare(Symbol(
                    TYPE, decl.name, _name_span(decl.name_span, decl.span, decl.name),
                    type=doc.named.get(decl.name), decl=decl))
        for decl in module.imported_types:
            # Not declared here: no occurrence at the `use` line, and not in
            # `doc.symbols` (which rename and the outline read).
            if decl.name not in doc.types:
                doc.types[decl.name] = Symbol(TYPE, decl.name, decl.span, type=doc.named.get(decl.name),
                                              decl=decl, elsewhere=module.imported_locations.get(decl.name))
        for decl in module.types:
            self.type_refs(decl.type)
        for flow in module.imported_flows:   # declared elsewhere: found, not listed (as imported types)
            self.flow_symbols[flow.name] = Symbol(FLOW, flow.name, flow.span, doc=flow.doc, decl=flow)
        for flow in module.flows:            # declared before any `run` names them
            self.flow_symbols[flow.name] = self.declare(Symbol(
                FLOW, flow.name, _name_span(flow.name_span, flow.span, flow.name), doc=flow.doc, decl=flow))
        for flow in module.flows:
            self.flow(flow)
        for occurrences in doc.occurrences.values():
            occurrences.sort(key=lambda o: (o.span.column, o.span.end_column))

    def type_refs(self, node: ast.Type | None) -> None:
        if node is None:
            return
        for part in node.walk():
            if isinstance(part, ast.NamedType) and part.name in self.doc.types:
                self.add(part.span, self.doc.types[part.name])

    # -------------------------------------------------------------- flow

    def flow(self, flow: ast.Flow) -> None:
        doc = self.doc
        scope = FlowScope(flow, _start(flow.span), _end(flow.span))
        doc.flows.append(scope)
        for f in flow.state_fields:
            self.type_refs(f.type)
            if f.name in scope.fields:
                continue
            scope.fields[f.name] = self.declare(Symbol(
                FIELD, f.name, _name_span(f.name_span, f.span, f.name), flow=flow.name,
                type=T.resolve(f.type, doc.named), decl=f))
        for node in flow.nodes:
            if node.name not in scope.nodes:
                scope.nodes[node.name] = self.declare(Symbol(
                    NODE, node.name, _name_span(node.name_span, node.span, node.name), flow=flow.name,
                    doc=node.doc, decl=node))
        for member in flow.members:
            self.member(scope, member)
        for node in flow.nodes:
            _NodeIndexer(self, scope, node).run()

    def member(self, scope: FlowScope, member: ast.FlowMember) -> None:
        """Index one member of a flow, but for a node's body (:class:`_NodeIndexer`)."""
        if isinstance(member, (ast.InputList, ast.OutputList)):
            for ref in member.names:
                if ref.name in scope.fields:
                    self.add(ref.span, scope.fields[ref.name])
        elif isinstance(member, (ast.StaticInterrupt, ast.Edge)):
            self.node_refs(scope, member)
            if isinstance(member, ast.Edge):
                self.condition(scope, member)
        elif isinstance(member, ast.StateBlock):
            for f in member.fields:
                if f.default is not None:
                    self.expr(f.default, I.Env(), {}, {})

    def condition(self, scope: FlowScope, edge: ast.Edge) -> None:
        """An edge's `when` condition (it sees state fields only)."""
        if edge.condition is not None:
            field_env = I.Env(fields={n: s.type or T.ANY for n, s in scope.fields.items()})
            self.expr(edge.condition, field_env, scope.fields, {})

    def node_refs(self, scope: FlowScope, member: ast.StaticInterrupt | ast.Edge) -> None:
        """The node names an edge or a static interrupt is written with."""
        refs = member.nodes if isinstance(member, ast.StaticInterrupt) else (*member.sources, *member.targets)
        for ref in refs:
            if ref.name in scope.nodes:
                self.add(ref.span, scope.nodes[ref.name])

    # -------------------------------------------------------- expressions

    def expr(self, expr: ast.Expr, env: I.Env, fields: dict[str, Symbol],
             locals_: dict[str, Symbol]) -> None:
        """Index the names of ``expr`` (templates included) and remember
        its env for hover and member completion."""
        if expr.span.line:
            self.doc.exprs.append(ExprEnv(expr, env, _start(expr.span), _end(expr.span)))
        for node in expr.walk():
            if isinstance(node, ast.Name):
                target = locals_.get(node.name) or fields.get(node.name)
                if target is not None:
                    self.add(node.span, target)
            elif isinstance(node, ast.Literal) and node.is_template:
                self.template(node, fields, locals_)

    def template(self, literal: ast.Literal, fields: dict[str, Symbol],
                 locals_: dict[str, Symbol]) -> None:
        for name, span in template_names(literal):
            target = locals_.get(name) or fields.get(name)
            if target is not None:
                self.add(span, target)


class _NodeIndexer:
    def __init__(self, owner: _Indexer, flow: FlowScope, node: ast.NodeDecl):
        self.owner = owner
        self.flow = flow
        self.node = node
        self.scope = NodeScope(flow.flow.name, node, _start(node.span), _end(node.span))
        owner.doc.node_scopes.append(self.scope)

    def run(self) -> None:
        fields = {n: s.type or T.ANY for n, s in self.flow.fields.items()}
        env = I.Env(fields=fields)
        locals_: dict[str, Symbol] = {}
        fan = self.node.fan_out
        if fan is not None:   # `for X in LIST [key K]`: X is a local of the whole node
            self.expr(fan.items, env, locals_)   # the list sees state fields only
            items = I.infer(fan.items, env)
            t = items.item if isinstance(items, T.ListT) else T.ANY
            if fan.var not in self.flow.fields:   # else F140: the field keeps the name
                symbol = self.owner.declare(Symbol(
                    LOCAL, fan.var, _name_span(fan.var_span, fan.span, fan.var),
                    flow=self.flow.flow.name, node=self.node.name, type=t, decl=fan))
                locals_ = {fan.var: symbol}
                self.scope.locals.append(LocalScope(symbol, _end(fan.var_span), _end(self.node.span)))
                env = I.Env(fields=fields, locals={fan.var: t})
            self.expr(fan.key, env, locals_)
        self.block(self.node.steps, env, locals_, _end(self.node.span))

    def block(self, steps: Iterable[ast.Step], env: I.Env, locals_: dict[str, Symbol], end: Point) -> None:
        locals_ = dict(locals_)
        for step in steps:
            env = self.step(step, env, locals_, end)

    def expr(self, expr: ast.Expr | None, env: I.Env, locals_: dict[str, Symbol]) -> None:
        if expr is not None:
            self.owner.expr(expr, env, self.flow.fields, locals_)

    def step(self, step: ast.Step, env: I.Env, locals_: dict[str, Symbol], end: Point) -> I.Env:
        """Index ``step``; the env for the steps after it."""
        doc = self.owner.doc
        if isinstance(step, ast.Let):
            value = step.value
            if isinstance(value, ast.Call):
                self.call(value, env, locals_)
                t: T.FType = T.ANY
            elif isinstance(value, ast.Interrupt):
                t = self.interrupt(value, env, locals_)
            elif isinstance(value, ast.Run):
                t = self.run_child(value, env, locals_)
            else:
                self.expr(value, env, locals_)
                t = I.infer(value, env)
            if step.name in locals_ or step.name in self.flow.fields:
                return env  # F122 / F123: the first declaration keeps the name
            symbol = self.owner.declare(Symbol(
                LOCAL, step.name, _name_span(step.name_span, step.span, step.name),
                flow=self.flow.flow.name, node=self.node.name, type=t, decl=step))
            locals_[step.name] = symbol
            self.scope.locals.append(LocalScope(symbol, _end(step.span), end))
            return I.Env(fields=env.fields, locals={**env.locals, step.name: t})
        if isinstance(step, ast.Set):
            target = self.flow.fields.get(step.field)
            if target is not None:
                self.owner.add(step.field_span, target)
            self.expr(step.value, env, locals_)
        elif isinstance(step, ast.Call):
            self.call(step, env, locals_)
        elif isinstance(step, ast.Interrupt):
            self.interrupt(step, env, locals_)
        elif isinstance(step, ast.If):
            self.expr(step.condition, env, locals_)
            branch_end = _end(step.span)
            self.block(step.then, I.when_true(step.condition, env), locals_, branch_end)
            if step.otherwise is not None:
                self.block(step.otherwise, I.when_false(step.condition, env), locals_, branch_end)
        elif isinstance(step, ast.Fail):
            self.expr(step.message, env, locals_)
        elif isinstance(step, ast.Wait):
            self.expr(step.until, env, locals_)
        elif isinstance(step, ast.Run):
            self.run_child(step, env, locals_)
        del doc
        return env

    def call(self, call: ast.Call, env: I.Env, locals_: dict[str, Symbol]) -> None:
        for arg in call.args or ():
            self.expr(arg, env, locals_)
        for kwarg in call.kwargs:
            self.expr(kwarg.value, env, locals_)

    def run_child(self, run: ast.Run, env: I.Env, locals_: dict[str, Symbol]) -> T.FType:
        """The flow name (go-to-definition, hover) and the input; the child's output type."""
        from ..checks.runs import signature

        self.expr(run.input, env, locals_)
        symbol = self.owner.flow_symbols.get(run.flow)
        if symbol is not None:
            self.owner.add(run.flow_span, symbol)
        child = self.owner.flows.get(run.flow)
        return T.ANY if child is None else signature(child, self.owner.doc.named).output

    def interrupt(self, interrupt: ast.Interrupt, env: I.Env, locals_: dict[str, Symbol]) -> T.FType:
        self.expr(interrupt.payload, env, locals_)
        # The clauses' names (the answer itself, in `where`, is not yet a
        # local here: it reads as unknown, as in a template).
        if interrupt.where is not None:
            self.expr(interrupt.where.condition, env, locals_)
        for assignee in interrupt.to:
            self.expr(assignee, env, locals_)
        if interrupt.within is not None:
            self.expr(interrupt.within.answer, env, locals_)
        self.owner.type_refs(interrupt.expect)
        t = T.ANY if interrupt.expect is None else T.resolve(interrupt.expect, self.owner.doc.named)
        span = interrupt.label_span if interrupt.label_span.line else interrupt.span
        self.owner.declare(Symbol(INTERRUPT, interrupt.label, span, flow=self.flow.flow.name,
                                  node=self.node.name, type=None if interrupt.expect is None else t,
                                  decl=interrupt))
        return t


# --------------------------------------------------------------------------
# Template names
# --------------------------------------------------------------------------

_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
# A name that is not an attribute (`a.b`), a filter (`x | upper`) or a string's text.
_TEMPLATE_NAME = re.compile(r"(?<![\w.|])(?<!\|\s)[A-Za-z_]\w*")
_TEMPLATE_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
_JINJA_WORDS = frozenset(("and or not in is if else elif for endfor endif true false none True False None "
                          "set endset with endwith loop range").split())


def template_names(literal: ast.Literal) -> list[tuple[str, ast.Span]]:
    """The names read inside the ``{{ }}`` and ``{% %}`` tags of a template
    literal, each with its span in the source (when the literal's text maps
    onto its value: no escapes)."""
    from ..checks.templates import _span_at

    value = literal.value if isinstance(literal.value, str) else ""
    found: list[tuple[str, ast.Span]] = []
    for tag in _TAG.finditer(value):
        inner = _TEMPLATE_STRING.sub(lambda m: " " * len(m.group()), tag.group())
        for match in _TEMPLATE_NAME.finditer(inner):
            name = match.group()
            if name in _JINJA_WORDS:
                continue
            span = _span_at(literal, tag.start() + match.start(), len(name))
            if span is not None:
                found.append((name, span))
    return found
