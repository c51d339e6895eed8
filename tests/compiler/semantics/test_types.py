"""The type model: printing, LANGUAGE.md's assignability rules, joins,
resolving written types."""

from __future__ import annotations

import pytest

from fermata.compiler.semantics import types as T
from fermata.compiler.syntax import ast
from fermata.compiler.syntax.parser import parse
from tests.compiler.support import DECISION, LEVEL

# ------------------------------------------------------------------ printing


@pytest.mark.parametrize("t, text", [
    (T.INT, "int"),
    (T.ListT(T.STR), "list[str]"),
    (T.MapT(T.ListT(T.FLOAT)), "map[list[float]]"),
    (T.optional(T.STR), "str?"),
    (DECISION, "{approved: bool, comment: str?}"),
    (LEVEL, '"low" | "mid" | "high"'),
    (T.optional(LEVEL), '("low" | "mid" | "high")?'),
    (T.ListT(T.NEVER), "[]"),
    (T.NULL, "null"),
])
def test_types_print_in_the_language_syntax(t: T.FType, text: str):
    assert str(t) == text


def test_a_declared_name_is_shown_but_ignored_by_equality():
    named = T.resolve(ast.NamedType("Decision"), {"Decision": DECISION})
    assert str(named) == "Decision" and str(T.optional(named)) == "Decision?"
    assert named == DECISION and hash(named) == hash(DECISION)


def test_types_are_hashable_values():
    assert len({T.ListT(T.INT), T.ListT(T.INT), T.UnionT(("a", "b")), T.UnionT(("b", "a"))}) == 2


def test_optional_stays_flat():
    assert T.optional(T.optional(T.INT)) == T.optional(T.INT)
    assert T.optional(T.ANY) == T.ANY and T.optional(T.NULL) == T.NULL


# ------------------------------------------------------------- assignability


@pytest.mark.parametrize("value, target", [
    (T.INT, T.FLOAT),                                     # int widens to float
    (T.INT, T.optional(T.INT)), (T.NULL, T.optional(T.STR)),  # T and null to T?
    (T.literal("low"), LEVEL),                            # a literal to a union naming it
    (T.UnionT(("low", "mid")), LEVEL),
    (T.literal("x"), T.STR), (LEVEL, T.STR),              # literals are strings
    (T.RecordT((("approved", T.BOOL),)), DECISION),       # a missing `T?` field reads as null
    (T.RecordT((("comment", T.NULL), ("approved", T.BOOL))), DECISION),
    (T.RecordT((("a", T.INT), ("b", T.INT))), T.MapT(T.INT)),   # record of T to map[T]
    (T.RecordT((("a", T.INT),)), T.MapT(T.FLOAT)),
    (T.ListT(T.NEVER), T.ListT(DECISION)),                # `[]` to any list
    (T.RecordT(()), T.MapT(T.STR)),                       # `{}` to any map
    (T.ListT(T.INT), T.ListT(T.FLOAT)),
    (T.ANY, T.INT), (T.INT, T.ANY), (T.ListT(T.ANY), T.ListT(T.STR)),  # any flows both ways
])
def test_assignable(value: T.FType, target: T.FType):
    assert T.assignable(value, target)


@pytest.mark.parametrize("value, target", [
    (T.FLOAT, T.INT),
    (T.optional(T.INT), T.INT), (T.NULL, T.INT),
    (T.STR, LEVEL), (T.literal("urgent"), LEVEL),
    (T.RecordT((("comment", T.STR),)), DECISION),                      # a required field missing
    (T.RecordT((("approved", T.BOOL), ("extra", T.INT))), DECISION),   # an unknown field
    (T.RecordT((("approved", T.STR),)), DECISION),
    (T.RecordT((("a", T.INT), ("b", T.STR))), T.MapT(T.INT)),
    (T.MapT(T.BOOL), DECISION),
    (T.ListT(T.STR), T.ListT(T.INT)),
    (T.BOOL, T.INT), (T.INT, T.BOOL), (T.INT, T.STR),
])
def test_not_assignable(value: T.FType, target: T.FType):
    assert not T.assignable(value, target)


def test_record_problem_names_the_field():
    assert T.record_problem(T.RecordT((("approved", T.BOOL), ("x", T.INT))), DECISION) == "unknown field `x`"
    assert T.record_problem(T.RecordT(()), DECISION) == "missing field `approved`"


def test_contains_any():
    assert T.contains_any(T.ANY) and T.contains_any(T.ListT(T.ANY))
    assert T.contains_any(T.RecordT((("a", T.optional(T.ANY)),)))
    assert not T.contains_any(DECISION) and not T.contains_any(T.ListT(T.NEVER))


@pytest.mark.parametrize("a, b, joined", [
    (T.INT, T.FLOAT, T.FLOAT),
    (T.literal("a"), T.literal("b"), T.UnionT(("a", "b"))),
    (T.literal("a"), T.STR, T.STR),
    (T.NULL, T.INT, T.optional(T.INT)),
    (T.NEVER, T.BOOL, T.BOOL),
    (T.ListT(T.INT), T.ListT(T.FLOAT), T.ListT(T.FLOAT)),
    (T.RecordT((("a", T.INT),)), T.RecordT((("a", T.INT), ("b", T.STR))),
     T.RecordT((("a", T.INT), ("b", T.optional(T.STR))))),
    (T.INT, T.STR, None),
    (T.ListT(T.INT), T.MapT(T.INT), None),
])
def test_join(a: T.FType, b: T.FType, joined: T.FType | None):
    assert T.join(a, b) == joined and T.join(b, a) == joined


# ------------------------------------------------------------------ resolve


def test_resolve_written_types():
    module, _ = parse('type X = {a: int, b: list[str]?, c: map["x" | "y"]}\nflow f { node n {} }\n')
    assert module is not None
    t = T.resolve(module.types[0].type, {})
    assert t == T.RecordT((("a", T.INT), ("b", T.optional(T.ListT(T.STR))),
                           ("c", T.MapT(T.UnionT(("x", "y"))))))
    assert t.required == ("a", "c") and t.optional_fields == ("b",)  # type: ignore[attr-defined]


def test_resolve_unknown_names_as_any():
    assert T.resolve(ast.ListType(ast.NamedType("Nope")), {}) == T.ListT(T.ANY)
