"""Constrained types (``str(min 1, max 500)``): codes F340–F346.

Every ``T(...)`` written in the module (in `type` declarations, state
fields and `expect` types) is checked against the vocabulary of
``compiler/constraints.py``: the words its base type takes, the kind of
value each takes, bounds that leave room for a value, portable patterns and
known formats. Then constants whose values are known here, state defaults,
`set` of a constant and constants in a `run`'s input, are checked against
the constraints of their field's type (F346), so `reason: str(min 1) = ""` fails at `fermata check`
rather than on the first run.

Unknown names, unresolved types and values of the wrong type are other
passes' (F126, F127, F300, F310); this one looks only at constraints.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from fermata.spec.formats import FORMATS

from ..diagnostics import codes
from ..diagnostics.diagnostic import DiagnosticSink, Label, did_you_mean
from ..semantics import constraints as C
from ..semantics import inference as I
from ..semantics import types as T
from ..syntax import ast
from ..syntax.printer import string_literal, type_text
from .context import CheckContext
from .runs import runs_in, signature, visible_flows
from .steps import interrupt_of
from .typecheck import named_types

CODES = codes.reported_by(codes.CONSTRAINTS)  # the registry's view: compiler/diagnostics/codes.py


def check(context: CheckContext) -> None:
    module = context.module
    _check_run_inputs(context.sink, module)   # the child's types may be another file's
    written = list(_constrained_types(module))
    if not written:
        return  # nothing constrained anywhere: the common case costs one walk of the types
    named = named_types(module)
    for node in written:
        _check_written(context.sink, node, named)
    for flow in module.flows:
        fields = {f.name: T.resolve(f.type, named) for f in flow.state_fields}
        if not any(T.has_constraints(t) for t in fields.values()):
            continue
        for f in flow.state_fields:
            if f.default is not None:
                _check_constant(context.sink, f.default, fields[f.name], f.name, f"the default of `{f.name}`")
        for decl in flow.nodes:
            for step in decl.all_steps:
                if isinstance(step, ast.Set) and step.op == "=" and step.field in fields:
                    _check_constant(context.sink, step.value, fields[step.field], step.field,
                                    f"`set {step.field}`")


def _constrained_types(module: ast.Module) -> Iterator[ast.ConstrainedType]:
    """Every ``T(...)`` written in the module, outermost first."""
    roots: list[ast.Type] = [decl.type for decl in module.types]
    for flow in module.flows:
        roots += [f.type for f in flow.state_fields]
        roots += [i.expect for node in flow.nodes for step in node.all_steps
                  if (i := interrupt_of(step)) is not None and i.expect is not None]
    for root in roots:
        for part in root.walk():
            if isinstance(part, ast.ConstrainedType):
                yield part


# --------------------------------------------------------------------------
# Written constraints
# --------------------------------------------------------------------------


def _check_written(sink: DiagnosticSink, node: ast.ConstrainedType, named: Mapping[str, T.FType]) -> None:
    base = T.resolve(node.base, named)
    kind = T.constraint_kind(base)
    if kind is None:
        _not_constrainable(sink, node, base)
        return
    words = C.WORDS[kind]
    first: dict[str, ast.Constraint] = {}
    for c in node.constraints:
        if c.name not in words:
            _unknown_word(sink, c, base, kind)
            continue
        if c.name in first:
            sink.error("F345", f"`{c.name}` is given twice", c.span,
                       labels=[Label(first[c.name].span, "first given here")],
                       help=f"keep one `{c.name}`")
            continue
        first[c.name] = c
        _check_value(sink, c, words[c.name], base)
    _check_bounds(sink, node, base, first, words)


def _not_constrainable(sink: DiagnosticSink, node: ast.ConstrainedType, base: T.FType) -> None:
    if isinstance(base, T.OptionalT) and T.constraint_kind(base.inner) is not None:
        help = f"constrain the type inside: `{base.inner}(...)?`"
    else:
        help = "constraints narrow `str` (length, pattern, format), `int` and `float` (value) " \
               "and `list[T]` (item count)"
    if base == T.ANY and isinstance(node.base, ast.NamedType) and node.base.name != "any":
        return  # an unknown or unresolved type: F126/F127 said so
    sink.error("F340", f"`{base}` takes no constraints", _constraints_span(node), help=help)


def _unknown_word(sink: DiagnosticSink, c: ast.Constraint, base: T.FType, kind: str) -> None:
    words = C.WORDS[kind]
    takes = ", ".join(f"`{w}`" for w in words)
    if c.name in C.ALL_WORDS:
        message = f"`{base}` takes no `{c.name}` constraint"
    else:
        message = f"unknown constraint `{c.name}`"
    help = did_you_mean(c.name, words) or f"`{base}` takes {takes}"
    sink.error("F340", message, c.span, help=help)


def _check_value(sink: DiagnosticSink, c: ast.Constraint, keyword: str, base: T.FType) -> None:
    value = c.value
    if keyword in ("pattern", "format"):
        if not isinstance(value, str):
            sink.error("F340", f"`{c.name}` takes a string", c.span,
                       help=f'write `{c.name} "..."`')
            return
        if keyword == "pattern":
            problem = C.pattern_problem(value)
            if problem is not None:
                sink.error("F343", f"the pattern {_quoted(value)} is not portable: {problem}", c.span,
                           notes=[("patterns are JSON Schema's (ECMA-262) regular expressions; "
                                   "strings take JSON escapes, so `\\d` is written \"\\\\d\"")],
                           help="write it with the constructs JSON Schema and Python share")
        elif value not in FORMATS:
            sink.error("F344", f"unknown format {_quoted(value)}", c.span,
                       help=did_you_mean(value, FORMATS) or f"the formats are {C.format_names()}")
        return
    if isinstance(value, str):
        sink.error("F340", f"`{c.name}` takes a number", c.span, help=f"write e.g. `{c.name} 1`")
        return
    if keyword in C.COUNTS and (value < 0 or not float(value).is_integer() or math.isinf(value)):
        what = "length" if keyword in ("minLength", "maxLength") else "item count"
        sink.error("F342", f"`{c.name} {value}` is not a {what}: it must be a whole number of at least 0",
                   c.span, help=f"write a whole number, e.g. `{c.name} {max(0, math.ceil(value))}`")


def _check_bounds(sink: DiagnosticSink, node: ast.ConstrainedType, base: T.FType,
                  given: Mapping[str, ast.Constraint], words: Mapping[str, str]) -> None:
    """F341 when no value fits: `min` above `max`, here or with the
    constraints the base type (a declared name) already has."""
    if "min" not in words or ("min" not in given and "max" not in given):
        return  # bounds of the base type alone were checked where they were written
    lower_kw, upper_kw = words["min"], words["max"]
    lower = _bound(given.get("min"), base, lower_kw, max)
    upper = _bound(given.get("max"), base, upper_kw, min)
    if lower is None or upper is None or lower <= upper:
        return
    sink.error("F341", f"`min {lower}` is above `max {upper}`: no value fits `{type_text(node)}`",
               _constraints_span(node), help="swap them, or fix the one that is wrong")


def _bound(c: ast.Constraint | None, base: T.FType, keyword: str, pick: Any) -> Any:
    own = c.value if c is not None and not isinstance(c.value, str) else None
    inherited = [v for k, v in base.constraints if k == keyword]
    found = [v for v in [own, *inherited] if v is not None]
    return pick(found) if found else None


def _constraints_span(node: ast.ConstrainedType) -> ast.Span:
    first, last = node.constraints[0].span, node.constraints[-1].span
    return ast.Span(first.line, first.column, last.end_line, last.end_column, first.start, last.end)


def _quoted(text: str) -> str:
    return f"`{string_literal(text)}`"


# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------


def _check_constant(sink: DiagnosticSink, expr: ast.Expr, target: T.FType, name: str, what: str) -> None:
    """F346 when ``expr`` is a constant of a type assignable to ``target``
    (other mismatches are the type checker's) that breaks its constraints."""
    if not T.has_constraints(target) or C.contradictory(T.strip_optional(target).constraints):
        return  # F341 said no value fits
    value = _constant(expr)
    if value is _NOT_CONSTANT or not T.assignable(I.infer(expr, I.Env()), target):
        return
    problems = T.constant_problems(value, target, name)
    if problems:
        sink.error("F346", f"{what} breaks `{target}`: " + "; ".join(problems), expr.span,
                   help="give a value that meets the constraints, or loosen the type")


def _check_run_inputs(sink: DiagnosticSink, module: ast.Module) -> None:
    """F346 for a constant in a `run`'s input that breaks the child's field type."""
    found = [run for flow in module.flows for run in runs_in(flow)]
    if not found:
        return
    flows = visible_flows(module)
    named = named_types(module)
    for run in found:
        child = flows.get(run.flow)
        if child is None:
            continue   # F141
        wanted = signature(child, named)
        for entry in run.input.entries:
            if entry.key in wanted.inputs:
                _check_constant(sink, entry.value, wanted.fields[entry.key], entry.key,
                                f"input field `{entry.key}` of `run {run.flow}`")


_NOT_CONSTANT = object()


def _constant(expr: ast.Expr) -> Any:
    """The JSON value of a constant expression, else :data:`_NOT_CONSTANT`."""
    if isinstance(expr, ast.Literal):
        return _NOT_CONSTANT if expr.is_template else expr.value
    if isinstance(expr, ast.ListExpr):
        items = [_constant(i) for i in expr.items]
        return _NOT_CONSTANT if any(i is _NOT_CONSTANT for i in items) else items
    if isinstance(expr, ast.RecordExpr):
        entries = {e.key: _constant(e.value) for e in expr.entries}
        return _NOT_CONSTANT if any(v is _NOT_CONSTANT for v in entries.values()) else entries
    if isinstance(expr, ast.Unary) and expr.op == "-" and isinstance(expr.operand, ast.Literal) \
            and isinstance(expr.operand.value, (int, float)) and not isinstance(expr.operand.value, bool):
        return -expr.operand.value
    return _NOT_CONSTANT
