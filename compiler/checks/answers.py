"""Answers and keys the runtime would take on trust.

F440: an interrupt without `expect` accepts any answer, and a wrong one fails
the run later, where only Python can repair it. A warning (an error under
`check --strict`) whose help suggests a type, guessed cheaply from how the
answer is used in its node: stored in a field (that field's type), tested
(`bool`), compared with a literal (the literal's type), its fields read
(a record of them).

F435: a record key is stored as written, so `{"{{ item.id }}": v}` would
make a key of the braces themselves, not of the item's id.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import codes
from ..syntax import ast
from ..syntax.printer import key_text, type_text
from .context import CheckContext
from .steps import interrupt_of

CODES = codes.reported_by(codes.ANSWERS)  # the registry's view: compiler/diagnostics/codes.py

_BOOLEAN_OPERATORS = ("and", "or")
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


def check(context: CheckContext) -> None:
    sink = context.sink
    for flow in context.module.flows:
        fields = {f.name: f.type for f in flow.state_fields}
        for node in flow.nodes:
            steps = node.all_steps
            for step in steps:
                interrupt = interrupt_of(step)
                if interrupt is None or interrupt.expect is not None:
                    continue
                name = step.name if isinstance(step, ast.Let) else None
                suggestion = suggested_type(name, steps, fields) if name is not None else None
                span = interrupt.label_span.or_else(interrupt.span)
                if suggestion is not None:
                    help_text = f"add `expect {suggestion}` (from how `{name}` is used), or the type you mean"
                elif name is not None:
                    help_text = "add `expect T` for the answer, e.g. `expect bool` or `expect {approved: bool, " \
                                "comment: str?}`"
                else:
                    help_text = "add `expect T` for the answer, e.g. `expect bool` for a yes or no"
                sink.warning("F440", f"interrupt `{interrupt.label}` has no `expect`: any answer is accepted",
                             span, help=help_text)
    for found in context.module.walk():
        if isinstance(found, ast.RecordExpr):
            for entry in found.entries:
                if "{{" in entry.key or "{%" in entry.key:
                    _templated_key(context, entry)


def _templated_key(context: CheckContext, entry: ast.RecordEntry) -> None:
    start = entry.span
    width = len(key_text(entry.key))
    span = ast.Span(start.line, start.column, start.line, start.column + width, start.start, start.start + width)
    context.sink.error("F435", "a record key is not a template: it would be stored with its braces", span,
                       help="keys are fixed names; to key by a value, build a list of records instead, "
                            "e.g. `[{id: item.id, value: v}]`")


def suggested_type(name: str, steps: tuple[ast.Step, ...], fields: dict[str, ast.Type]) -> str | None:
    """A type for the answer bound to local ``name``, guessed from its uses
    in ``steps``; None if they say nothing."""
    members: dict[str, str] = {}
    whole: str | None = None
    for expr, context in _uses(steps, fields):
        for parent, child in _parents(expr):
            if isinstance(child, ast.Name) and child.name == name:
                guess = _guess(parent, child, context)
                whole = whole or guess
            elif isinstance(child, ast.Member) and isinstance(child.obj, ast.Name) and child.obj.name == name:
                guess = _guess(parent, child, context)
                if members.get(child.name, "any") == "any":
                    members[child.name] = guess or "any"
    if members:
        return "{" + ", ".join(f"{key_text(k)}: {v}" for k, v in members.items()) + "}"
    return whole


def _uses(steps: tuple[ast.Step, ...], fields: dict[str, ast.Type]) -> Iterator[tuple[ast.Expr, str | None]]:
    """Each expression of ``steps`` with the type its whole value must have,
    where a step says (a `set`'s field type, `bool` for a condition)."""
    for step in steps:
        if isinstance(step, ast.Set):
            field = fields.get(step.field)
            yield step.value, type_text(field) if field is not None and step.op == "=" else None
        elif isinstance(step, ast.If):
            yield step.condition, "bool"
        elif isinstance(step, ast.Let):
            value = step.value
            if isinstance(value, ast.Call):
                yield from ((e, None) for e in [*(value.args or ()), *(kw.value for kw in value.kwargs)])
            elif isinstance(value, ast.Interrupt):
                if value.payload is not None:
                    yield value.payload, None
            elif isinstance(value, ast.Run):
                yield value.input, None
            else:
                yield value, None
        elif isinstance(step, ast.Fail):
            yield step.message, "str"
        elif isinstance(step, ast.Call):
            yield from ((e, None) for e in [*(step.args or ()), *(kw.value for kw in step.kwargs)])
        elif isinstance(step, ast.Run):
            yield step.input, None


def _parents(expr: ast.Expr) -> Iterator[tuple[ast.Node | None, ast.Node]]:
    stack: list[tuple[ast.Node | None, ast.Node]] = [(None, expr)]
    while stack:
        parent, node = stack.pop()
        yield parent, node
        stack += reversed([(node, child) for child in node.child_list()])


def _guess(parent: ast.Node | None, child: ast.Node, whole: str | None) -> str | None:
    """The type ``child`` must have, from ``parent`` (None: ``child`` is the
    whole expression, whose type is ``whole`` if known)."""
    if parent is None:
        return whole
    if isinstance(parent, ast.Unary) and parent.op == "not":
        return "bool"
    if isinstance(parent, ast.Binary):
        if parent.op in _BOOLEAN_OPERATORS:
            return "bool"
        other = parent.right if parent.left is child else parent.left
        if parent.op in _COMPARISONS and isinstance(other, ast.Literal) and other.value is not None:
            return {bool: "bool", int: "int", float: "float", str: "str"}[type(other.value)]
    return None
