"""Lowering: a checked AST becomes the IR (``spec/IR.md``).

Runs only on modules without errors, so it trusts what the checker proved
and never reports anything itself. The one judgement it makes is where the
runtime must check a value that the compiler could not: a value of static
type ``any`` written to a typed field, or one not known to meet the field's
constraints (``str(min 1)``), gets ``"check": true``.

Everything produced is plain JSON data in a deterministic order, so compiling
the same source twice gives byte-identical output (``dumps``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from fermata.spec.ir import IR_VERSION

from ..checks import runs
from ..checks.steps import interrupt_of
from ..checks.typecheck import resolve_named_types
from ..semantics import constraints as C
from ..semantics import inference as I
from ..semantics import types as T
from ..syntax import ast
from ..syntax.ast import MAX_DEPTH

PRIMITIVE_SCHEMAS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "any": {},
}


def dumps(ir: Mapping[str, Any]) -> str:
    """The canonical text of an IR document: sorted keys, stable layout.

    Raises ValueError rather than write ``Infinity`` or ``NaN`` (a literal
    like ``1e400``), which no JSON reader but Python's accepts."""
    return json.dumps(ir, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def lower_module(module: ast.Module, text: str, path: str) -> dict[str, Any]:
    # Imported declarations too: the IR is one document, runnable alone.
    named_ast = {decl.name: decl.type for decl in module.all_types}
    named = resolve_named_types(module.all_types)
    children = _Children(runs.visible_flows(module), named_ast, named)
    return {
        "fermata_ir": IR_VERSION,
        "source": {"path": path, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()},
        "flows": {flow.name: _FlowLowering(flow, named_ast, named, children).lower() for flow in module.flows},
    }


class _Children:
    """The flows a `run` may name, each lowered once (a flow run from several
    places is written out in full at each: the IR of a flow is self-contained)."""

    def __init__(self, flows: Mapping[str, ast.Flow], named_ast: Mapping[str, ast.Type],
                 named: Mapping[str, T.FType]):
        self.flows = flows
        self.named_ast = named_ast
        self.named = named
        self.lowered: dict[str, dict[str, Any]] = {}
        self.lowering: list[str] = []   # the chain being lowered (the checker refused cycles: F142)

    def output_type(self, name: str) -> T.FType:
        flow = self.flows.get(name)
        return runs.signature(flow, self.named).output if flow is not None else T.ANY

    def lowered_flow(self, name: str) -> dict[str, Any]:
        found = self.lowered.get(name)
        if found is None:
            if name in self.lowering:
                raise ValueError("`run` cycle: " + " -> ".join([*self.lowering, name]))
            self.lowering.append(name)
            try:
                found = _FlowLowering(self.flows[name], self.named_ast, self.named, self).lower()
            finally:
                self.lowering.pop()
            self.lowered[name] = found
        return found


# --------------------------------------------------------------------------
# Types -> JSON Schema
# --------------------------------------------------------------------------


def type_schema(node: ast.Type, inline: Mapping[str, ast.Type] | None = None, *,
                named: Mapping[str, ast.Type] | None = None) -> dict[str, Any]:
    """The JSON Schema of a type; declared names become ``$ref``s into ``$defs``,
    or, with ``inline``, are written out in place (for schemas shown to people
    and tools on their own, like an interrupt's). ``named``: the declarations
    a constrained declared type (`Reason(max 5)`) is looked up in."""
    if isinstance(node, ast.NamedType):
        if node.name in PRIMITIVE_SCHEMAS:
            return dict(PRIMITIVE_SCHEMAS[node.name])
        if inline is not None and node.name in inline:
            # Recursive declarations are rejected by the checker, so this ends.
            return type_schema(inline[node.name], inline, named=named)
        return {"$ref": f"#/$defs/{node.name}"}
    if isinstance(node, ast.ListType):
        return {"type": "array", "items": type_schema(node.item, inline, named=named)}
    if isinstance(node, ast.MapType):
        return {"type": "object", "additionalProperties": type_schema(node.value, inline, named=named)}
    if isinstance(node, ast.OptionalType):
        return {"anyOf": [type_schema(node.inner, inline, named=named), {"type": "null"}]}
    if isinstance(node, ast.RecordType):
        return {
            "type": "object",
            "properties": {f.name: type_schema(f.type, inline, named=named) for f in node.fields},
            "required": [f.name for f in node.fields if not isinstance(f.type, ast.OptionalType)],
            "additionalProperties": False,
        }
    if isinstance(node, ast.LiteralUnion):
        return {"type": "string", "enum": list(node.values)}
    if isinstance(node, ast.ConstrainedType):
        return _constrained_schema(node, inline, named)
    raise TypeError(f"not a type node: {node!r}")


def _constrained_schema(node: ast.ConstrainedType, inline: Mapping[str, ast.Type] | None,
                        named: Mapping[str, ast.Type] | None) -> dict[str, Any]:
    """``str(min 1)`` is ``{"type": "string", "minLength": 1}``. Each keyword
    applies to values of its own JSON type only, so it may sit beside
    ``$ref`` or ``anyOf`` too."""
    base = type_schema(node.base, inline, named=named)
    # A type that takes no constraints (only in unchecked modules, which
    # editors show schemas of) keeps its schema.
    words = C.WORDS.get(_kind(node.base, {**(named or {}), **(inline or {})}) or "", {})
    own = [(words[c.name], c.value) for c in node.constraints if c.name in words]
    if any(keyword in base for keyword, _ in own):
        # A declared type's constraint of the same keyword stays in force.
        return {"allOf": [base], **dict(own)}
    return {**base, **dict(own)}


def _kind(node: ast.Type, named: Mapping[str, ast.Type]) -> str | None:
    """"str", "number" or "list": which constraints the base type takes."""
    for _ in range(len(named) + MAX_DEPTH):  # a cycle (F127) in an unchecked module ends too
        if isinstance(node, ast.ConstrainedType):
            node = node.base
        elif isinstance(node, ast.NamedType) and node.name in named:
            node = named[node.name]  # not recursive: the checker refused cycles
        else:
            break
    if isinstance(node, ast.ListType):
        return "list"
    if isinstance(node, ast.NamedType) and node.name in ("str", "int", "float"):
        return "str" if node.name == "str" else "number"
    return None


def _referenced_types(roots: Iterable[ast.Node], named: Mapping[str, ast.Type]) -> list[str]:
    """Declared type names reachable from ``roots``, sorted."""
    seen: set[str] = set()
    stack = [n for root in roots for n in root.walk() if isinstance(n, ast.NamedType)]
    while stack:
        ref = stack.pop()
        if ref.name in named and ref.name not in seen:
            seen.add(ref.name)
            stack.extend(n for n in named[ref.name].walk() if isinstance(n, ast.NamedType))
    return sorted(seen)


# --------------------------------------------------------------------------
# Constant defaults
# --------------------------------------------------------------------------


def constant_value(expr: ast.Expr) -> Any:
    """The JSON value of a constant expression (state defaults)."""
    if isinstance(expr, ast.Literal):
        return expr.value
    if isinstance(expr, ast.ListExpr):
        return [constant_value(item) for item in expr.items]
    if isinstance(expr, ast.RecordExpr):
        return {entry.key: constant_value(entry.value) for entry in expr.entries}
    if isinstance(expr, ast.Unary) and expr.op == "-":
        return -constant_value(expr.operand)
    raise ValueError("not a constant expression")


# --------------------------------------------------------------------------
# A flow
# --------------------------------------------------------------------------


class _FlowLowering:
    def __init__(self, flow: ast.Flow, named_ast: Mapping[str, ast.Type],
                 named: Mapping[str, T.FType], children: _Children | None = None):
        self.flow = flow
        self.named_ast = named_ast
        self.named = named
        self.children = children if children is not None else _Children({}, named_ast, named)
        self.field_types = {f.name: T.resolve(f.type, named) for f in flow.state_fields}

    def lower(self) -> dict[str, Any]:
        flow = self.flow
        fields = [self._field(f) for f in flow.state_fields]
        all_names = [f.name for f in flow.state_fields]
        # `input a, a` is only a warning (F110): the IR lists each name once.
        inputs = _unique(r.name for r in flow.inputs.names) if flow.inputs else all_names
        outputs = _unique(r.name for r in flow.outputs.names) if flow.outputs else all_names
        # Types are written only on fields and after `expect`.
        type_roots: list[ast.Type] = [f.type for f in flow.state_fields] + [
            interrupt.expect for node in flow.nodes for step in node.all_steps
            if (interrupt := interrupt_of(step)) is not None and interrupt.expect is not None]
        routes, joins = self._edges()
        lowered = {
            "name": flow.name,
            "doc": flow.doc,
            "line": flow.span.line,
            "defs": {name: type_schema(self.named_ast[name], named=self.named_ast)
                     for name in _referenced_types(type_roots, self.named_ast)},
            "fields": fields,
            "input": inputs,
            "required_input": [f["name"] for f in fields
                               if not f["has_default"] and not f["optional"] and f["name"] in inputs],
            "output": outputs,
            "nodes": {node.name: self._node(node) for node in flow.nodes},
            "routes": routes,
            "joins": joins,
            "interrupt_before": _unique(r.name for s in flow.static_interrupts
                                        if s.when == "before" for r in s.nodes),
            "interrupt_after": _unique(r.name for s in flow.static_interrupts
                                       if s.when == "after" for r in s.nodes),
        }
        # Only a flow with a `run` has the key: every other flow lowers to the same bytes as before.
        names = sorted({run.flow for run in runs.runs_in(flow)})
        if names:
            lowered["children"] = {name: self.children.lowered_flow(name) for name in names}
        return lowered

    def _field(self, field: ast.StateField) -> dict[str, Any]:
        optional = isinstance(field.type, ast.OptionalType) or (
            isinstance(field.type, ast.NamedType) and field.type.name == "any")
        has_default = field.default is not None
        return {
            "name": field.name,
            "schema": type_schema(field.type, named=self.named_ast),
            "has_default": has_default,
            # `T?` without a default starts as null, as LANGUAGE.md says.
            "default": constant_value(field.default) if field.default is not None else None,
            "optional": optional,
            "line": field.span.line,
        }

    # ----------------------------------------------------------------- edges

    def _edges(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        routes: dict[str, dict[str, Any]] = {}
        joins: list[dict[str, Any]] = []
        no_locals: dict[str, Any] = {}  # edge conditions read state fields only
        for edge in self.flow.edges:
            targets = [t.name for t in edge.targets]
            if len(edge.sources) > 1:
                for target in targets:
                    joins.append({"sources": [s.name for s in edge.sources], "target": target,
                                  "line": edge.span.line})
                continue
            source = edge.sources[0].name
            branches = routes.setdefault(source, {"branches": []})["branches"]
            if edge.condition is None and not edge.otherwise:
                plain = next((b for b in branches if b["when"] is None and not b.get("_otherwise")), None)
                if plain is None:
                    branches.append({"when": None, "targets": _unique(targets), "line": edge.span.line})
                else:
                    plain["targets"] = _unique(plain["targets"] + targets)
                continue
            when = (None if edge.otherwise or edge.condition is None
                    else _ExprLowering(no_locals).lower(edge.condition))
            branches.append({"when": when, "targets": _unique(targets), "line": edge.span.line,
                             "_otherwise": edge.otherwise})
        for route in routes.values():
            for branch in route["branches"]:
                branch.pop("_otherwise", None)
        return routes, joins

    # ----------------------------------------------------------------- nodes

    def _node(self, node: ast.NodeDecl) -> dict[str, Any]:
        lowering = _StepLowering(self.field_types, self.named, self.named_ast, self.children)
        fan_out: dict[str, Any] | None = None
        if node.fan_out is not None:
            fan = node.fan_out
            # The list is read at step start: state fields only.
            items = _ExprLowering({}).lower(fan.items)
            items_type = I.infer(fan.items, lowering.env)
            lowering.locals[fan.var] = items_type.item if isinstance(items_type, T.ListT) else T.ANY
            fan_out = {"var": fan.var, "in": items,
                       "key": None if fan.key is None else lowering.expr(fan.key)}
        steps = lowering.lower_block(node.steps)
        lowered: dict[str, Any] = {
            "name": node.name,
            "doc": node.doc,
            "line": node.span.line,
            "retry": node.retry or 0,
            "backoff_ms": (node.backoff.milliseconds or 0) if node.backoff else 0,
            "timeout_ms": node.timeout.milliseconds if node.timeout else None,
            "steps": steps,
        }
        if fan_out is not None:
            lowered["for"] = fan_out
        return lowered


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


# --------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------


class _StepLowering:
    """Lowers one node's steps, tracking the locals declared so far.

    A local is visible to every later step of the node (LANGUAGE.md); the
    checker has rejected uses before the `let`, so a name is a local exactly
    when an earlier step declared it.
    """

    def __init__(self, field_types: Mapping[str, T.FType], named: Mapping[str, T.FType],
                 named_ast: Mapping[str, ast.Type], children: _Children):
        self.field_types = field_types
        self.named = named
        self.named_ast = named_ast
        self.children = children
        self.locals: dict[str, T.FType] = {}

    @property
    def env(self) -> I.Env:
        return I.Env(fields=self.field_types, locals=dict(self.locals))

    def expr(self, node: ast.Expr) -> dict[str, Any]:
        return _ExprLowering(self.locals).lower(node)

    def lower_block(self, steps: Iterable[ast.Step]) -> list[dict[str, Any]]:
        return [self.step(s) for s in steps]

    def step(self, node: ast.Step) -> dict[str, Any]:
        where = {"line": node.span.line, "column": node.span.column}
        if isinstance(node, ast.Let):
            if isinstance(node.value, ast.Call):
                lowered = self._call(node.value, bind=node.name)
                self.locals[node.name] = T.ANY
                return {**lowered, **where}
            if isinstance(node.value, ast.Interrupt):
                lowered = self._interrupt(node.value, bind=node.name)
                self.locals[node.name] = (T.resolve(node.value.expect, self.named)
                                          if node.value.expect is not None else T.ANY)
                return {**lowered, **where}
            if isinstance(node.value, ast.Run):
                lowered = self._run(node.value, bind=node.name)
                self.locals[node.name] = self.children.output_type(node.value.flow)
                return {**lowered, **where}
            value_type = I.infer(node.value, self.env)
            lowered = {"k": "let", "name": node.name, "value": self.expr(node.value)}
            self.locals[node.name] = value_type
            return {**lowered, **where}
        if isinstance(node, ast.Set):
            field_type = self.field_types.get(node.field, T.ANY)
            value_type = I.infer(node.value, self.env)
            # Checked at run time: what the compiler could not prove, a value
            # of `any` inside or one not known to meet the field's
            # constraints (a `+=` may break a `max` whatever it adds).
            check = field_type != T.ANY and (
                T.contains_any(value_type) or not T.implies(value_type, field_type)
                or (node.op == "+=" and T.has_constraints(field_type)))
            return {"k": "set", "field": node.field, "op": node.op,
                    "value": self.expr(node.value), "check": check, **where}
        if isinstance(node, ast.Call):
            return {**self._call(node, bind=None), **where}
        if isinstance(node, ast.Interrupt):
            return {**self._interrupt(node, bind=None), **where}
        if isinstance(node, ast.If):
            cond = self.expr(node.condition)
            then = self.lower_block(node.then)
            otherwise = self.lower_block(node.otherwise or ())
            return {"k": "if", "cond": cond, "then": then, "else": otherwise, **where}
        if isinstance(node, ast.Fail):
            return {"k": "fail", "message": self.expr(node.message), **where}
        if isinstance(node, ast.Run):
            return {**self._run(node, bind=None), **where}
        if isinstance(node, ast.Wait):
            if node.duration is not None:
                return {"k": "wait", "label": node.label, "for_ms": node.duration.milliseconds or 0, **where}
            return {"k": "wait", "label": node.label, "until": self.expr(node.until), **where}  # type: ignore[arg-type]
        raise TypeError(f"not a step: {node!r}")

    def _call(self, node: ast.Call, bind: str | None) -> dict[str, Any]:
        return {
            "k": "call",
            "target": node.target,
            "args": None if node.args is None else [self.expr(a) for a in node.args],
            "kwargs": [[kw.name, self.expr(kw.value)] for kw in node.kwargs],
            "once": node.once,
            "bind": bind,
        }

    def _run(self, node: ast.Run, bind: str | None) -> dict[str, Any]:
        # The child's IR is under the flow's "children", by this same name.
        return {"k": "run", "flow": node.flow, "input": self.expr(node.input), "bind": bind}

    def _interrupt(self, node: ast.Interrupt, bind: str | None) -> dict[str, Any]:
        lowered: dict[str, Any] = {
            "k": "interrupt",
            "label": node.label,
            "payload": None if node.payload is None else self.expr(node.payload),
            "schema": None if node.expect is None else type_schema(node.expect, self.named_ast),
            "bind": bind,
        }
        # The human-task clauses are optional keys, present only when written
        # (a spec without them lowers to the same bytes as before).
        if node.where is not None and bind is not None:
            # The rule reads the answer as the local named by `bind`.
            rule = _ExprLowering({**self.locals, bind: None}).lower(node.where.condition)
            lowered["where"] = {"cond": rule, "message": node.where.message}
        if node.to:
            lowered["to"] = [self.expr(e) for e in node.to]
        if node.within is not None:
            deadline: dict[str, Any] = {"ms": node.within.duration.milliseconds or 0}
            if node.within.target is not None:
                deadline["goto"] = node.within.target.name
            else:
                deadline["answer"] = self.expr(node.within.answer)  # type: ignore[arg-type]
            lowered["within"] = deadline
        if node.remind_every is not None:
            lowered["remind_every_ms"] = node.remind_every.milliseconds or 0
        return lowered


# --------------------------------------------------------------------------
# Expressions
# --------------------------------------------------------------------------


def lower_expression(expr: ast.Expr, locals_in_scope: Mapping[str, Any]) -> dict[str, Any]:
    """One expression's IR; a name in ``locals_in_scope`` is a local, any other a field."""
    return _ExprLowering(locals_in_scope).lower(expr)


class _ExprLowering:
    def __init__(self, locals_in_scope: Mapping[str, Any]):
        self.locals = locals_in_scope  # a name is a local if declared earlier, else a field

    def lower(self, node: ast.Expr) -> dict[str, Any]:
        if isinstance(node, ast.Literal):
            if node.is_template:
                return {"k": "tmpl", "src": node.value}
            return {"k": "lit", "v": node.value}
        if isinstance(node, ast.Name):
            kind = "local" if node.name in self.locals else "field"
            return {"k": kind, "n": node.name}
        if isinstance(node, ast.ListExpr):
            return {"k": "list", "items": [self.lower(i) for i in node.items]}
        if isinstance(node, ast.RecordExpr):
            return {"k": "record", "items": [[e.key, self.lower(e.value)] for e in node.entries]}
        if isinstance(node, ast.Member):
            return {"k": "get", "o": self.lower(node.obj), "n": node.name}
        if isinstance(node, ast.Index):
            return {"k": "index", "o": self.lower(node.obj), "i": self.lower(node.index)}
        if isinstance(node, ast.Unary):
            return {"k": "not" if node.op == "not" else "neg", "e": self.lower(node.operand)}
        if isinstance(node, ast.Binary):
            return {"k": "bin", "op": node.op, "l": self.lower(node.left), "r": self.lower(node.right)}
        if isinstance(node, ast.FuncCall):
            return {"k": "fn", "n": node.name, "a": [self.lower(a) for a in node.args]}
        raise TypeError(f"not an expression: {node!r}")
