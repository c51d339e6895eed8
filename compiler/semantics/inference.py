"""Typing expressions: the built-in functions, inference and null narrowing.

One implementation serves inference and checking: :class:`Inferer` computes
the type of an expression and, given a sink, reports what is wrong on the way.
:func:`infer` is the silent form used by lowering; it never raises, and
whatever it cannot type is ``any``. :func:`when_true` / :func:`when_false`
narrow a ``T?`` name to ``T`` where a ``!= null`` test is known to hold. The
codes reported here are catalogued, with the rest of the type checker's, in
``checks/typecheck.py``. The built-ins' argument and result types are
``builtin_types.py``'s; the renderings and help lines of the messages
``explain.py``'s.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fermata.spec.builtins import builtins

from ..diagnostics.diagnostic import DiagnosticSink, Label, did_you_mean
from ..syntax import ast
from .builtin_types import argument_fits, result_type
from .explain import (
    condition_help,
    describe,
    is_template,
    key_span,
    listing,
    literal_help,
    mismatch_help,
    null_help,
    tail_span,
)
from .explain import source as source  # public here too: the language server reads it from this module
from .types import (
    ANY,
    BOOL,
    FLOAT,
    INT,
    NEVER,
    NULL,
    STR,
    FType,
    ListT,
    MapT,
    OptionalT,
    RecordT,
    UnionT,
    assignable,
    comparable,
    is_number,
    is_optional,
    is_text,
    join,
    literal,
    shown,
    strip_optional,
    widen,
)

# --------------------------------------------------------------------------
# Built-in functions
# --------------------------------------------------------------------------


# name -> (fewest arguments, most arguments, what each argument must be), from
# the table the runtime reads too (spec/builtins.json). Argument kinds: "str",
# "number", "int", "sized" (str, list, map), "map", "any".
BUILTINS: dict[str, tuple[int, int, tuple[str, ...]]] = {
    b.name: (b.required, b.most, b.params) for b in builtins().values()}

_KIND_WORDS = {"str": "a `str`", "number": "a number (`int` or `float`)", "int": "an `int`",
               "sized": "a `str`, list or map", "map": "a map or record", "any": "a value"}


def _signature(name: str) -> str:
    low, high, kinds = BUILTINS[name]
    words = {"sized": "str|list|map", "number": "number", "map": "map[T]"}
    args = [words.get(k, k) for k in kinds]
    if high > low:
        args[low] = "[" + ", ".join(args[low:]) + "]"
        args = args[:low + 1]
    return f"{name}({', '.join(args)})"


# --------------------------------------------------------------------------
# Inference
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Env:
    """What names mean at one point: the flow's state fields and the locals in
    scope (locals shadow fields)."""

    fields: Mapping[str, FType] = field(default_factory=dict)
    locals: Mapping[str, FType] = field(default_factory=dict)

    def lookup(self, name: str) -> FType | None:
        if name in self.locals:
            return self.locals[name]
        return self.fields.get(name)


def infer(expr: ast.Expr, env: Env) -> FType:
    """The type of ``expr``; total: anything it cannot type is ``any``."""
    return Inferer(env).infer(expr)


def infer_reporting(expr: ast.Expr, env: Env, sink: DiagnosticSink) -> FType:
    """:func:`infer`, reporting every fault of ``expr`` into ``sink`` on the way."""
    return Inferer(env, sink).infer(expr)


_ORDERING = ("<", "<=", ">", ">=")
_ARITHMETIC = ("-", "*", "/", "%")


class Inferer:
    """Types expressions against an :class:`Env`; with a sink it also reports
    every fault it meets, at the smallest span, and keeps going with ``any``
    so one fault gives one error.

    Subclasses hook :meth:`unknown_name` (to explain a name better),
    :meth:`read` (to see which locals are used) and :meth:`template` (to check
    the names inside a template string).
    """

    def __init__(self, env: Env, sink: DiagnosticSink | None = None):
        self.env = env
        self.sink = sink

    # ----------------------------------------------------------- reporting

    def error(self, code: str, message: str, span: ast.Span, **extra: object) -> None:
        if self.sink is not None:
            self.sink.error(code, message, span, **extra)  # type: ignore[arg-type]

    def warning(self, code: str, message: str, span: ast.Span, **extra: object) -> None:
        if self.sink is not None:
            self.sink.warning(code, message, span, **extra)  # type: ignore[arg-type]

    # --------------------------------------------------------------- hooks

    def unknown_name(self, node: ast.Name) -> None:
        candidates = [*self.env.fields, *self.env.locals]
        self.error("F120", f"unknown name `{node.name}`", node.span,
                   help=did_you_mean(node.name, candidates)
                   or f"declare `{node.name}` in `state`, or with `let` earlier in the node")

    def read(self, node: ast.Name) -> None:
        """``node`` names a field or a local in scope."""

    def template(self, node: ast.Literal) -> None:
        """``node`` is a template string."""

    # ---------------------------------------------------------- inference

    def infer(self, expr: ast.Expr) -> FType:
        method = _DISPATCH.get(type(expr))
        if method is None:
            return ANY
        return method(self, expr)

    def _literal(self, node: ast.Literal) -> FType:
        value = node.value
        if value is None:
            return NULL
        if isinstance(value, bool):
            return BOOL
        if isinstance(value, int):
            return INT
        if isinstance(value, float):
            return FLOAT
        if node.is_template:
            self.template(node)
            return STR
        return literal(value)

    def _name(self, node: ast.Name) -> FType:
        found = self.env.lookup(node.name)
        if found is None:
            self.unknown_name(node)
            return ANY
        self.read(node)
        return found

    def _listexpr(self, node: ast.ListExpr) -> FType:
        item: FType | None = NEVER
        for each in node.items:
            t = self.infer(each)
            item = None if item is None else join(item, t)
        # Items with nothing in common (`[1, "a"]`) make a list of `any`: a
        # JSON value still, checked at run time wherever a type is wanted.
        return ListT(ANY if item is None else item)

    def _recordexpr(self, node: ast.RecordExpr) -> FType:
        fields: dict[str, FType] = {}
        first: dict[str, ast.Span] = {}
        for entry in node.entries:
            t = self.infer(entry.value)
            if entry.key in first:
                self.error("F132", f"key `{entry.key}` appears twice in a record", key_span(entry),
                           labels=[Label(first[entry.key], "first given here")],
                           help=f"remove one of the two `{entry.key}` entries")
            first.setdefault(entry.key, key_span(entry))
            fields[entry.key] = t  # the last one wins at run time too
        return RecordT(tuple(fields.items()))

    def _member(self, node: ast.Member) -> FType:
        obj = self.infer(node.obj)
        return self.member_of(obj, node.name, tail_span(node.span, len(node.name)), node.obj)

    def member_of(self, obj: FType, name: str, name_span: ast.Span, obj_node: ast.Expr) -> FType:
        """The type of field ``name`` of a value of type ``obj`` (``obj.name``
        or ``obj["name"]``), reporting what makes it unreadable."""
        if obj == ANY or obj == NEVER:
            return ANY  # checked at run time
        what = describe(obj_node)
        if obj == NULL:
            self.error("F307", f"{what} is always null, so `.{name}` cannot be read from it", name_span)
            return ANY
        if isinstance(obj, OptionalT):
            text = source(obj_node)
            self.error("F307", f"{what} may be null, so `.{name}` cannot be read from it", name_span,
                       labels=[Label(obj_node.span, f"this is `{obj}`")],
                       help=(f"test it first: `if {text} != null {{ ... }}`, or give a default: "
                             f"`({text} ?? ...).{name}`") if isinstance(obj_node, ast.Name)
                       else "give a default first with `??`")
            inner = obj.inner
            if isinstance(inner, RecordT) and name in inner.field_types:
                return inner.field_types[name]  # go on as if tested, so one fault gives one error
            return ANY
        if isinstance(obj, RecordT):
            fields = obj.field_types
            if name in fields:
                return fields[name]
            self.error("F129", f"`{obj}` has no field `{name}`", name_span,
                       labels=[Label(obj_node.span, f"this is `{obj}`")],
                       help=did_you_mean(name, fields)
                       or (f"its fields are {listing(fields)}" if fields else "it has no fields"))
            return ANY
        if isinstance(obj, MapT):
            self.error("F308", f"`.{name}` cannot read a key of a map", name_span,
                       labels=[Label(obj_node.span, f"this is `{obj}`")],
                       help=f"index the map with the key: `{source(obj_node)}[\"{name}\"]`")
            return ANY
        self.error("F308", f"{what} is `{widen(obj)}`, which has no fields", name_span,
                   labels=[Label(obj_node.span, f"this is `{widen(obj)}`")])
        return ANY

    def _index(self, node: ast.Index) -> FType:
        obj = self.infer(node.obj)
        key = self.infer(node.index)
        if obj == ANY or obj == NEVER:
            return ANY
        if isinstance(obj, OptionalT) or obj == NULL:
            self.error("F307", f"{describe(node.obj)} may be null, so it cannot be indexed",
                       node.obj.span, labels=[], help="give a default first with `??`")
            return ANY
        if isinstance(obj, ListT):
            if key != INT and key != ANY:
                self.error("F309", f"a list index must be `int`, found `{widen(key)}`", node.index.span,
                           help="convert it with `int(...)`" if is_text(key) or key == FLOAT
                           else None)
            return obj.item if obj.item != NEVER else ANY
        if isinstance(obj, MapT):
            if not is_text(key) and key != ANY:
                self.error("F309", f"a map key must be `str`, found `{widen(key)}`", node.index.span)
            return obj.value
        if isinstance(obj, RecordT):
            if isinstance(key, UnionT) and len(key.values) == 1 and not is_template(node.index):
                return self.member_of(obj, key.values[0], node.index.span, node.obj)
            if not is_text(key) and key != ANY:
                self.error("F309", f"a record key must be `str`, found `{widen(key)}`", node.index.span)
            return ANY
        self.error("F308", f"{describe(node.obj)} is `{widen(obj)}`, which cannot be indexed",
                   node.obj.span,
                   help="only lists (by `int`), maps and records (by `str`) can be indexed")
        return ANY

    def _unary(self, node: ast.Unary) -> FType:
        operand = self.infer(node.operand)
        if node.op == "not":
            self.condition(node.operand, operand, "`not`")
            return BOOL
        if operand == ANY or is_number(operand):
            return operand
        self.error("F302", f"unary `-` needs a number, found `{widen(operand)}`", node.operand.span,
                   **null_help(operand))
        return ANY

    def condition(self, node: ast.Expr, t: FType, where: str) -> None:
        """Report F301 unless ``t`` can be a bool."""
        if t == BOOL or t == ANY or t == NEVER:
            return
        self.error("F301", f"{where} needs a `bool`, found `{widen(t)}`", node.span,
                   help=condition_help(node, t))

    def _binary(self, node: ast.Binary) -> FType:
        op = node.op
        left = self.infer(node.left)
        if op == "??":
            return self._default(node, left)
        if op == "and":
            # `d != null and d.ok`: the right side runs only when the left holds.
            right = self.narrowed(when_true(node.left, self.env)).infer(node.right)
        elif op == "or":
            right = self.narrowed(when_false(node.left, self.env)).infer(node.right)
        else:
            right = self.infer(node.right)
        if op in ("and", "or"):
            self.condition(node.left, left, f"`{op}`")
            self.condition(node.right, right, f"`{op}`")
            return BOOL
        if op in ("==", "!="):
            if not comparable(left, right):
                self._never_equal(node, left, right)
            return BOOL
        if op in _ORDERING:
            self._ordering(node, left, right)
            return BOOL
        if op == "in":
            return self._in(node, left, right)
        if op == "+":
            return self._plus(node, left, right)
        if op in _ARITHMETIC:
            return self._arithmetic(node, left, right)
        return ANY

    def narrowed(self, env: Env) -> Inferer:
        """This inferer over ``env`` (the same sink and hooks): for the parts
        of an expression that run only when a null test holds."""
        if env is self.env:
            return self
        twin = copy.copy(self)
        twin.env = env
        return twin

    def _bad_operand(self, node: ast.Binary, left: FType, right: FType,
                     fits: Callable[[FType], bool], rule: str) -> None:
        """Report an operator whose operands it does not take, pointing at the
        one operand at fault, or at the whole expression when both are."""
        bad = [(n, t) for n, t in ((node.left, left), (node.right, right)) if not (t == ANY or fits(t))]
        if len(bad) == 1:
            (at, t), = bad
            self.error("F302", f"`{node.op}` {rule}, found `{widen(t)}`", at.span, **null_help(t))
        elif bad:
            self.error("F302", f"`{node.op}` {rule}, found `{widen(left)}` and `{widen(right)}`",
                       node.span, **null_help(left if is_optional(left) else right))

    def _ordering(self, node: ast.Binary, left: FType, right: FType) -> None:
        rule = "compares numbers with numbers or strings with strings"
        def sortable(t: FType) -> bool:
            return is_number(t) or is_text(t)

        if not all(t == ANY or sortable(t) for t in (left, right)):
            self._bad_operand(node, left, right, sortable, rule)
        elif ANY not in (left, right) and is_number(left) != is_number(right):
            self.error("F302", f"`{node.op}` {rule}, found `{widen(left)}` and `{widen(right)}`",
                       node.span, help="convert one side first, e.g. with `int(...)` or `str(...)`")

    def _never_equal(self, node: ast.Binary, left: FType, right: FType) -> None:
        if NULL in (left, right):
            value, value_node = (right, node.right) if left == NULL else (left, node.left)
            self.error("F302", f"{describe(value_node)} is `{widen(value)}`, which is never null",
                       node.span, help=f"declare it as `{widen(value)}?` if it may be missing")
            return
        a, b = strip_optional(left), strip_optional(right)
        if isinstance(a, UnionT) and isinstance(b, UnionT):
            # `level == "hgih"`: the literal is the side with one value.
            union, lit, lit_node = (a, b, node.right) if len(b.values) == 1 else (b, a, node.left)
            if len(lit.values) == 1:
                self.error("F302", f"`{union}` is never {json.dumps(lit.values[0])}", lit_node.span,
                           help=literal_help(lit.values[0], union.values))
                return
        self.error("F302", f"`{node.op}` compares values that are never equal: "
                   f"`{shown(left, right)}` and `{shown(right, left)}`", node.span,
                   help="convert one side first, e.g. with `str(...)` or `int(...)`"
                   if {widen(a), widen(b)} <= {STR, INT, FLOAT} else None)

    def _in(self, node: ast.Binary, left: FType, right: FType) -> FType:
        if right == ANY or right == NEVER:
            return BOOL
        if isinstance(right, ListT):
            if not comparable(left, right.item):
                self.error("F302", f"`in` looks for `{shown(left, right.item)}` in a "
                           f"`{shown(right, left)}`", node.left.span,
                           help="the value and the list's items must be of one type")
            return BOOL
        if is_text(right) or isinstance(right, (MapT, RecordT)):
            if not (is_text(left) or left == ANY):
                kind = "a string" if is_text(right) else "a map's keys"
                self.error("F302", f"`in` looks for a `str` in {kind}, found `{widen(left)}`",
                           node.left.span, **null_help(left))
            return BOOL
        self.error("F302", f"`in` needs a list, a `str` or a map on its right, found `{widen(right)}`",
                   node.right.span, **null_help(right))
        return BOOL

    def _plus(self, node: ast.Binary, left: FType, right: FType) -> FType:
        if left == ANY or right == ANY:
            known = right if left == ANY else left
            return STR if is_text(known) else ANY
        if is_number(left) and is_number(right):
            return INT if left == right == INT else FLOAT
        if is_text(left) and is_text(right):
            return STR
        if isinstance(left, ListT) and isinstance(right, ListT):
            item = join(left.item, right.item)
            return ListT(ANY if item is None else item)
        if isinstance(left, ListT) and not is_optional(right):
            self.error("F302", f"`+` joins a list with a list, found `{widen(right)}`", node.right.span,
                       help=f"wrap the item in a list: `[{source(node.right)}]`")
            return left
        scalars = (INT, FLOAT, BOOL)
        if (is_text(left) and right in scalars) or (is_text(right) and left in scalars):
            other, other_node = (right, node.right) if is_text(left) else (left, node.left)
            self.error("F302", f"`+` joins a string only with a string, found `{widen(other)}`",
                       other_node.span,
                       help=f"convert it with `str({source(other_node)})`, or use a template: "
                            f"`\"... {{{{ {source(other_node)} }}}}\"`" if source(other_node) != "..."
                       else "convert it with `str(...)`, or use a template: `\"... {{ ... }}\"`")
            return STR
        kinds = (is_number, is_text, lambda t: isinstance(t, ListT))
        for fits in kinds:  # one side is right: point at the other
            if fits(left) or fits(right):
                self._bad_operand(node, left, right, fits,
                                  "adds numbers, or joins two strings or two lists")
                return ANY
        self._bad_operand(node, left, right, lambda t: False,
                          "adds numbers, or joins two strings or two lists")
        return ANY

    def _arithmetic(self, node: ast.Binary, left: FType, right: FType) -> FType:
        if not all(t == ANY or is_number(t) for t in (left, right)):
            self._bad_operand(node, left, right, is_number, "needs numbers")
            return FLOAT if node.op == "/" else ANY
        if node.op == "/":
            return FLOAT
        if ANY in (left, right):
            return ANY
        return INT if left == right == INT else FLOAT

    def _default(self, node: ast.Binary, left: FType) -> FType:
        """``a ?? b``: ``a: T?`` and ``b: T`` give ``T``."""
        if left == ANY:
            self.infer(node.right)
            return ANY
        if left == NULL:
            return self.infer(node.right)
        if not isinstance(left, OptionalT):
            right = self.infer(node.right)
            self.warning("F313", f"{describe(node.left)} is `{widen(left)}`, which is never null",
                         node.left.span, help=f"remove `?? {source(node.right)}`"
                         if source(node.right) != "..." else "remove the `??` and its default")
            return join(left, right) or left
        inner = left.inner
        if isinstance(node.right, (ast.ListExpr, ast.RecordExpr)):
            self.expect(node.right, inner, "F302", "the default after `??`")
            return inner
        right = self.infer(node.right)
        if assignable(right, inner):
            return inner
        if assignable(right, left):
            return left  # `a ?? b` with both `T?`: still `T?` (chains like `a ?? b ?? c`)
        self.error("F302", f"expected `{inner}` for the default after `??`, found `{shown(right, inner)}`",
                   node.right.span, **mismatch_help(node.right, right, inner))
        return inner

    def _funccall(self, node: ast.FuncCall) -> FType:
        args = [self.infer(a) for a in node.args]
        if node.name not in BUILTINS:
            self.error("F125", f"unknown function `{node.name}`", node.name_span.or_else(node.span),
                       help=did_you_mean(node.name, BUILTINS)
                       or f"the functions are {', '.join(f'`{n}`' for n in BUILTINS)}")
            return ANY
        low, high, kinds = BUILTINS[node.name]
        if not low <= len(args) <= high:
            count = f"{low}" if low == high else f"{low} or {high}"
            plural = "" if high == 1 else "s"
            self.error("F305", f"`{node.name}` takes {count} argument{plural}, found {len(args)}",
                       node.span, help=f"call it as `{_signature(node.name)}`")
            return result_type(node.name, args)
        # `kinds` also lists the optional parameters a call may leave out.
        for arg_node, t, kind in zip(node.args, args, kinds, strict=False):
            if not argument_fits(kind, t):
                self.error("F306", f"`{node.name}` needs {_KIND_WORDS[kind]}, found `{widen(t)}`",
                           arg_node.span, help=f"call it as `{_signature(node.name)}`",
                           **({} if not is_optional(t) else {"notes": ["give a default first with `??`"]}))
        return result_type(node.name, args)

    # ------------------------------------------------- checking against a type

    def expect(self, expr: ast.Expr, target: FType, code: str, subject: str) -> FType:
        """Type ``expr`` and report ``code`` unless it fits ``target``:
        "expected `int` for SUBJECT, found `str`".

        List and record literals are checked item by item, so the report
        points at the one item or entry at fault ("an item of `tags`").
        """
        base = strip_optional(target)
        if isinstance(expr, ast.ListExpr) and isinstance(base, ListT):
            items = [self.expect(item, base.item, code, f"an item of {subject}") for item in expr.items]
            joined: FType | None = NEVER
            for t in items:
                joined = None if joined is None else join(joined, t)
            return ListT(ANY if joined is None else joined)
        if isinstance(expr, ast.RecordExpr) and isinstance(base, RecordT):
            return self._expect_record(expr, base, code, subject)
        if isinstance(expr, ast.RecordExpr) and isinstance(base, MapT):
            fields = [(e.key, self.expect(e.value, base.value, code, f"key `{e.key}` of {subject}"))
                      for e in expr.entries]
            self._duplicate_keys(expr)
            return RecordT(tuple(dict(fields).items()))
        found = self.infer(expr)
        if not assignable(found, target):
            self.error(code, f"expected `{target}` for {subject}, found `{shown(found, target)}`",
                       expr.span, **mismatch_help(expr, found, target))
        return found

    def _expect_record(self, expr: ast.RecordExpr, target: RecordT, code: str, subject: str) -> FType:
        wanted = target.field_types
        fields: dict[str, FType] = {}
        for entry in expr.entries:
            if entry.key not in wanted:
                self.infer(entry.value)
                self.error(code, f"`{target}` has no field `{entry.key}`", key_span(entry),
                           help=did_you_mean(entry.key, wanted)
                           or (f"its fields are {listing(wanted)}" if wanted else "it has no fields"))
                continue
            fields[entry.key] = self.expect(entry.value, wanted[entry.key], code,
                                            f"field `{entry.key}` of {subject}")
        self._duplicate_keys(expr)
        missing = [name for name in target.required if name not in fields]
        if missing:
            names = listing(missing)
            self.error(code, f"the record for {subject} lacks {'field' if len(missing) == 1 else 'fields'} "
                       f"{names}, which `{target}` requires", expr.span,
                       help=f"add {', '.join(f'`{n}: ...`' for n in missing)}; "
                            "only fields of a `T?` type may be left out")
        return RecordT(tuple(fields.items()))

    def _duplicate_keys(self, expr: ast.RecordExpr) -> None:
        first: dict[str, ast.Span] = {}
        for entry in expr.entries:
            if entry.key in first:
                self.error("F132", f"key `{entry.key}` appears twice in a record", key_span(entry),
                           labels=[Label(first[entry.key], "first given here")],
                           help=f"remove one of the two `{entry.key}` entries")
            first.setdefault(entry.key, key_span(entry))


_DISPATCH: dict[type, Callable[[Inferer, Any], FType]] = {
    ast.Literal: Inferer._literal,
    ast.Name: Inferer._name,
    ast.ListExpr: Inferer._listexpr,
    ast.RecordExpr: Inferer._recordexpr,
    ast.Member: Inferer._member,
    ast.Index: Inferer._index,
    ast.Unary: Inferer._unary,
    ast.Binary: Inferer._binary,
    ast.FuncCall: Inferer._funccall,
}


# --------------------------------------------------------------------------
# Null tests narrow `T?` to `T`
# --------------------------------------------------------------------------


def when_true(cond: ast.Expr, env: Env) -> Env:
    """``env`` as it is where ``cond`` is known to hold: a name tested
    ``!= null`` is no longer optional (``if d != null { ... d.ok ... }``)."""
    return _narrow(cond, env, True)


def when_false(cond: ast.Expr, env: Env) -> Env:
    """``env`` where ``cond`` is known not to hold (an ``else``, the right of ``or``)."""
    return _narrow(cond, env, False)


def _narrow(cond: ast.Expr, env: Env, holds: bool) -> Env:
    if isinstance(cond, ast.Unary) and cond.op == "not":
        return _narrow(cond.operand, env, not holds)
    if isinstance(cond, ast.Binary):
        if cond.op == ("and" if holds else "or"):
            return _narrow(cond.right, _narrow(cond.left, env, holds), holds)
        if cond.op in ("==", "!=") and holds == (cond.op == "!="):
            for name, other in ((cond.left, cond.right), (cond.right, cond.left)):
                if isinstance(name, ast.Name) and isinstance(other, ast.Literal) and other.value is None:
                    return _without_null(env, name.name)
    return env


def _without_null(env: Env, name: str) -> Env:
    current = env.lookup(name)
    if not isinstance(current, OptionalT):
        return env
    if name in env.locals:
        return Env(fields=env.fields, locals={**env.locals, name: current.inner})
    return Env(fields={**env.fields, name: current.inner}, locals=env.locals)
