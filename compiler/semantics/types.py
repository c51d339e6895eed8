"""The compile-time type model (LANGUAGE.md, "Typing rules").

:class:`FType` values are frozen and hashable: primitives, ``list[T]``,
``map[T]``, ``T?``, records and literal unions. ``str()`` prints them in the
language's own syntax, so messages read "expected `bool`, found `int`".

Two details go beyond the surface syntax:

- A string literal has the one-value literal union as its type (``"low"``),
  which is what makes it assignable to a union that names it; it is still a
  ``str`` everywhere a ``str`` is wanted. A template string is a plain ``str``.
- ``[]`` is a list of :data:`NEVER`, the type with no values, so it is
  assignable to every list type (and printed as ``[]``); ``{}`` is the record
  without fields, assignable to every map and to records with no required field.
- A constrained type (``str(min 1)``) is its base type with ``constraints``
  (JSON Schema ``(keyword, value)`` pairs, ``constraints.py``). Like
  ``alias``, they are left out of equality: statically ``str(min 1)`` and
  ``str`` are assignable both ways, and where a value is not known to meet
  a target's constraints (:func:`implies`) the runtime checks it, as it
  checks ``any``. A constant that breaks a constraint is the checker's F346.

Typing expressions is in ``inference.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ..syntax import ast
from . import constraints as C

# --------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FType:
    """Base of every type. ``alias`` is the declared name a type was reached
    through (`Decision`); it is shown in messages and ignored by equality."""

    alias: str | None = field(default=None, compare=False, repr=False, kw_only=True)
    # `(("minLength", 1),)` for `str(min 1)`: not part of equality (see above).
    constraints: C.Pairs = field(default=(), compare=False, repr=False, kw_only=True)

    def __str__(self) -> str:
        return self.alias or self.written()

    def written(self) -> str:
        """The type as written, ignoring the alias: `str(min 1)`."""
        return self.spell() + C.spelled(self.constraints) if self.constraints else self.spell()

    def spell(self) -> str:  # the structure, ignoring the alias
        raise NotImplementedError


@dataclass(frozen=True)
class Prim(FType):
    """``str int float bool any``, the type of ``null``, and ``never`` (no values)."""

    name: str

    def spell(self) -> str:
        return self.name


@dataclass(frozen=True)
class ListT(FType):
    item: FType

    def spell(self) -> str:
        return "[]" if self.item == NEVER else f"list[{self.item}]"


@dataclass(frozen=True)
class MapT(FType):
    """``map[T]``: string keys, values of ``T``."""

    value: FType

    def spell(self) -> str:
        return f"map[{self.value}]"


@dataclass(frozen=True)
class OptionalT(FType):
    """``T?``: a ``T`` or null. Build it with :func:`optional`, which keeps it flat."""

    inner: FType

    def spell(self) -> str:
        inner = str(self.inner)
        return f"({inner})?" if isinstance(self.inner, UnionT) and not self.inner.alias else f"{inner}?"


@dataclass(frozen=True)
class RecordT(FType):
    """``{a: T, b: U?}``. A field of an optional type may be missing (it reads
    as null); every other field is required."""

    fields: tuple[tuple[str, FType], ...]

    @property
    def field_types(self) -> dict[str, FType]:
        return dict(self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(name for name, t in self.fields if not is_optional(t))

    @property
    def optional_fields(self) -> tuple[str, ...]:
        return tuple(name for name, t in self.fields if is_optional(t))

    def spell(self) -> str:
        return "{" + ", ".join(f"{name}: {t}" for name, t in self.fields) + "}"


@dataclass(frozen=True)
class UnionT(FType):
    """A literal union ``"low" | "mid" | "high"``; a string literal is the
    union of its one value. Values keep their written order for printing;
    equality ignores it."""

    values: tuple[str, ...]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnionT) and set(self.values) == set(other.values)

    def __hash__(self) -> int:
        return hash(frozenset(self.values))

    def spell(self) -> str:
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in self.values)


ANY = Prim("any")
STR = Prim("str")
INT = Prim("int")
FLOAT = Prim("float")
BOOL = Prim("bool")
NULL = Prim("null")
NEVER = Prim("never")  # the item type of `[]`: assignable to everything

PRIMITIVES: dict[str, FType] = {"str": STR, "int": INT, "float": FLOAT, "bool": BOOL, "any": ANY}
NUMBERS = (INT, FLOAT)


def optional(t: FType) -> FType:
    """``t?``, kept flat: ``any?`` is ``any``, ``null?`` is ``null``, ``T??`` is ``T?``."""
    if t == ANY or t == NULL or isinstance(t, OptionalT):
        return t
    if t == NEVER:
        return NULL
    return OptionalT(t)


def is_optional(t: FType) -> bool:
    return isinstance(t, OptionalT) or t == NULL


def strip_optional(t: FType) -> FType:
    return t.inner if isinstance(t, OptionalT) else t


def is_number(t: FType) -> bool:
    return t in NUMBERS


def is_text(t: FType) -> bool:
    """``str`` or a literal union (whose values are strings)."""
    return t == STR or isinstance(t, UnionT)


def literal(value: str) -> UnionT:
    return UnionT((value,))


def contains_any(t: FType) -> bool:
    """Whether a value of ``t`` may hold something only checkable at run time."""
    if t == ANY:
        return True
    if isinstance(t, (ListT,)):
        return contains_any(t.item)
    if isinstance(t, MapT):
        return contains_any(t.value)
    if isinstance(t, OptionalT):
        return contains_any(t.inner)
    if isinstance(t, RecordT):
        return any(contains_any(ft) for _, ft in t.fields)
    return False


def widen(t: FType) -> FType:
    """``t`` with literal unions shown as ``str``: how a value is described in a
    message when the expected type has nothing to do with literal unions.
    A declared name (`Decision`) is kept: it says more than its structure."""
    if t.alias or not mentions_union(t):
        return t
    if isinstance(t, UnionT):
        return STR
    if isinstance(t, ListT):
        return ListT(widen(t.item))
    if isinstance(t, MapT):
        return MapT(widen(t.value))
    if isinstance(t, OptionalT):
        return OptionalT(widen(t.inner))
    if isinstance(t, RecordT):
        return RecordT(tuple((n, widen(ft)) for n, ft in t.fields))
    return t


def mentions_union(t: FType) -> bool:
    if isinstance(t, UnionT):
        return True
    if isinstance(t, (ListT, MapT, OptionalT)):
        return mentions_union(_inner(t))
    if isinstance(t, RecordT):
        return any(mentions_union(ft) for _, ft in t.fields)
    return False


def shown(value: FType, target: FType) -> str:
    """How ``value`` is named in "expected `target`, found `value`"."""
    return str(value if mentions_union(target) else widen(value))


def _inner(t: ListT | MapT | OptionalT) -> FType:
    return t.item if isinstance(t, ListT) else t.value if isinstance(t, MapT) else t.inner


# --------------------------------------------------------------------------
# Assignability and joins
# --------------------------------------------------------------------------


def assignable(value: FType, target: FType) -> bool:
    """Whether a value of type ``value`` may be stored where ``target`` is expected.

    ``any`` flows both ways (the runtime checks it); ``int`` widens to
    ``float``; ``T`` and ``null`` fit ``T?``; a literal union fits ``str`` and
    any union naming all its values; a record fits a record type when every
    required field is there, every field it has is known and each fits; a
    record whose fields all fit ``T`` fits ``map[T]``; ``[]`` fits every list.
    Values are copied, never shared mutably, so containers are covariant.
    """
    if value == ANY or target == ANY or value == NEVER:
        return True
    if value == target:
        return True
    if isinstance(target, OptionalT):
        if value == NULL:
            return True
        return assignable(strip_optional(value), target.inner)
    if isinstance(value, OptionalT) or value == NULL:
        return False
    if value == INT and target == FLOAT:
        return True
    if isinstance(value, UnionT):
        if target == STR:
            return True
        return isinstance(target, UnionT) and set(value.values) <= set(target.values)
    if isinstance(value, ListT) and isinstance(target, ListT):
        return assignable(value.item, target.item)
    if isinstance(value, MapT) and isinstance(target, MapT):
        return assignable(value.value, target.value)
    if isinstance(value, RecordT) and isinstance(target, MapT):
        return all(assignable(ft, target.value) for _, ft in value.fields)
    if isinstance(value, RecordT) and isinstance(target, RecordT):
        return record_problem(value, target) is None
    return False


def record_problem(value: RecordT, target: RecordT) -> str | None:
    """Why a record of type ``value`` does not fit ``target`` (None if it does)."""
    wanted = target.field_types
    have = value.field_types
    for name in have:
        if name not in wanted:
            return f"unknown field `{name}`"
    for name in target.required:
        if name not in have:
            return f"missing field `{name}`"
    for name, t in have.items():
        if not assignable(t, wanted[name]):
            return f"field `{name}` is `{shown(t, wanted[name])}`, not `{wanted[name]}`"
    return None


def join(a: FType, b: FType) -> FType | None:
    """The narrowest type both ``a`` and ``b`` fit, or None when there is none
    (``int`` and ``str``). Records with different fields join into a record
    where a field present in only one of them is optional. Constraints are
    kept only where both sides are known to meet them."""
    joined = _join(a, b)
    if joined is None or not has_constraints(joined) or (implies(a, joined) and implies(b, joined)):
        return joined
    return strip_constraints(joined)


def _join(a: FType, b: FType) -> FType | None:
    if a == b:
        return a
    if a == NEVER:
        return b
    if b == NEVER:
        return a
    if a == ANY or b == ANY:
        return ANY
    if a == NULL or b == NULL:
        other = b if a == NULL else a
        return optional(other)
    if isinstance(a, OptionalT) or isinstance(b, OptionalT):
        inner = join(strip_optional(a), strip_optional(b))
        return None if inner is None else optional(inner)
    if isinstance(a, UnionT) and isinstance(b, UnionT):
        return UnionT(tuple(dict.fromkeys(a.values + b.values)))
    if assignable(a, b):
        return b
    if assignable(b, a):
        return a
    if isinstance(a, ListT) and isinstance(b, ListT):
        item = join(a.item, b.item)
        return None if item is None else ListT(item)
    if isinstance(a, MapT) and isinstance(b, MapT):
        value = join(a.value, b.value)
        return None if value is None else MapT(value)
    if isinstance(a, RecordT) and isinstance(b, RecordT):
        fa, fb = a.field_types, b.field_types
        joined: list[tuple[str, FType]] = []
        for name in dict.fromkeys([*fa, *fb]):
            if name in fa and name in fb:
                t = join(fa[name], fb[name])
                if t is None:
                    return None
            else:
                t = optional(fa.get(name) or fb[name])
            joined.append((name, t))
        return RecordT(tuple(joined))
    return None


def comparable(a: FType, b: FType) -> bool:
    """Whether ``a == b`` can ever be true: the types have values in common."""
    if a == ANY or b == ANY or a == NEVER or b == NEVER:
        return True
    if a == NULL or b == NULL:
        other = b if a == NULL else a
        return other == NULL or isinstance(other, OptionalT)
    a, b = strip_optional(a), strip_optional(b)
    if is_number(a) and is_number(b):
        return True
    if isinstance(a, UnionT) and isinstance(b, UnionT):
        return bool(set(a.values) & set(b.values))
    if isinstance(a, ListT) and isinstance(b, ListT):
        return comparable(a.item, b.item)
    if isinstance(a, (MapT, RecordT)) and isinstance(b, (MapT, RecordT)):
        return True  # key sets decide at run time
    return assignable(a, b) or assignable(b, a)


# --------------------------------------------------------------------------
# Resolving written types
# --------------------------------------------------------------------------


def resolve(node: ast.Type, named: Mapping[str, FType]) -> FType:
    """The :class:`FType` of a written type. Unknown names are ``any``: the
    checker reports them, and lowering only sees checked modules."""
    if isinstance(node, ast.NamedType):
        if node.name in PRIMITIVES:
            return PRIMITIVES[node.name]
        if node.name in named:
            return replace(named[node.name], alias=node.name)
        return ANY
    if isinstance(node, ast.ListType):
        return ListT(resolve(node.item, named))
    if isinstance(node, ast.MapType):
        return MapT(resolve(node.value, named))
    if isinstance(node, ast.OptionalType):
        return optional(resolve(node.inner, named))
    if isinstance(node, ast.RecordType):
        fields: dict[str, FType] = {}
        for f in node.fields:
            fields.setdefault(f.name, resolve(f.type, named))  # a repeated name is reported; first wins
        return RecordT(tuple(fields.items()))
    if isinstance(node, ast.LiteralUnion):
        return UnionT(tuple(dict.fromkeys(node.values)))
    if isinstance(node, ast.ConstrainedType):
        base = resolve(node.base, named)
        words = C.WORDS.get(constraint_kind(base) or "", {})
        # Constraints the type does not take, or of the wrong kind of value,
        # are reported by the checker and left out here.
        pairs = [(words[c.name], c.value) for c in node.constraints
                 if c.name in words and C.usable(words[c.name], c.value)]
        if not pairs:
            return base
        return replace(base, alias=None, constraints=C.normalized([*base.constraints, *pairs]))
    return ANY


def constraint_kind(t: FType) -> str | None:
    """Which constraints ``t`` takes: "str", "number", "list", or None."""
    if t == STR:
        return "str"
    if t in NUMBERS:
        return "number"
    if isinstance(t, ListT):
        return "list"
    return None


# --------------------------------------------------------------------------
# Constraints
# --------------------------------------------------------------------------


def has_constraints(t: FType) -> bool:
    """Whether ``t`` or any type inside it is constrained."""
    if t.constraints:
        return True
    if isinstance(t, (ListT, MapT, OptionalT)):
        return has_constraints(_inner(t))
    if isinstance(t, RecordT):
        return any(has_constraints(ft) for _, ft in t.fields)
    return False


def strip_constraints(t: FType) -> FType:
    """``t`` without constraints anywhere (and without its alias, which
    named the constrained type)."""
    if not has_constraints(t):
        return t
    if isinstance(t, ListT):
        return ListT(strip_constraints(t.item))
    if isinstance(t, MapT):
        return MapT(strip_constraints(t.value))
    if isinstance(t, OptionalT):
        return OptionalT(strip_constraints(t.inner))
    if isinstance(t, RecordT):
        return RecordT(tuple((n, strip_constraints(ft)) for n, ft in t.fields))
    return replace(t, alias=None, constraints=())


def implies(value: FType, target: FType) -> bool:
    """Whether every value of type ``value`` meets every constraint of
    ``target``, at every depth: when it does not, a write of such a value to
    a ``target`` is checked at run time. Literal strings are judged by their
    values; other types by their own constraints (``str(min 2)`` implies
    ``str(min 1)``; equal patterns and formats imply each other)."""
    if not has_constraints(target) or value == NEVER:
        return True
    if value == ANY:
        return False
    if isinstance(target, OptionalT):
        return value == NULL or implies(strip_optional(value), target.inner)
    if isinstance(value, OptionalT) or value == NULL:
        return False  # not assignable: reported by the type checker
    if target.constraints:
        if isinstance(value, UnionT):
            if any(C.broken(target.constraints, v) for v in value.values):
                return False
        elif not all(C.implied_by(value.constraints, k, v) for k, v in target.constraints):
            return False
    if isinstance(target, ListT):
        return isinstance(value, ListT) and implies(value.item, target.item)
    if isinstance(target, MapT):
        if isinstance(value, RecordT):
            return all(implies(ft, target.value) for _, ft in value.fields)
        return isinstance(value, MapT) and implies(value.value, target.value)
    if isinstance(target, RecordT):
        wanted = target.field_types
        return isinstance(value, RecordT) and all(
            implies(ft, wanted[n]) for n, ft in value.fields if n in wanted)
    return True


def constant_problems(value: object, t: FType, path: str = "") -> list[str]:
    """How the JSON constant ``value`` (of a type assignable to ``t``) breaks
    the constraints in ``t``, one phrase each: "`reason` needs at least 1
    character" (``path`` names ``value``: a field, ``tags[0]``...)."""
    if not has_constraints(t) or (value is None and is_optional(t)):
        return []
    t = strip_optional(t)
    problems = [f"`{path}` {p}" if path else f"the value {p}" for p in C.broken(t.constraints, value)]
    if isinstance(t, ListT) and isinstance(value, list):
        for i, item in enumerate(value):
            problems += constant_problems(item, t.item, f"{path}[{i}]")
    elif isinstance(t, (MapT, RecordT)) and isinstance(value, dict):
        wanted = t.field_types if isinstance(t, RecordT) else {}
        for key, item in value.items():
            item_type = t.value if isinstance(t, MapT) else wanted.get(key)
            if item_type is not None:
                problems += constant_problems(item, item_type, f"{path}.{key}" if path else str(key))
    return problems
