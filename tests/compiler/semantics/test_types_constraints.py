"""Constrained types in the type model: equality, printing, implication,
joins, constants, and resolving written types."""

from __future__ import annotations

import pytest

from fermata.compiler.checks.typecheck import named_types
from fermata.compiler.semantics import types as T
from fermata.compiler.syntax.parser import parse


def typed(text: str, decls: str = "") -> T.FType:
    module, problems = parse(f"{decls}\ntype X = {text}")
    assert module is not None and not problems
    return T.resolve(module.types[-1].type, named_types(module))


def test_constraints_are_not_part_of_equality_but_are_printed():
    t = typed("str(min 1, max 500)")
    assert t == T.STR and hash(t) == hash(T.STR)
    assert str(t) == "str(min 1, max 500)"
    assert T.is_text(t) and T.assignable(t, T.STR) and T.assignable(T.STR, t)
    assert str(typed("list[str(pattern \"^a\")](max 10)?")) == 'list[str(pattern "^a")](max 10)?'


def test_a_declared_name_shows_as_itself_and_written_shows_its_structure():
    module, _ = parse("type Reason = str(min 1)")
    reason = named_types(module)["Reason"]
    assert str(reason) == "Reason" and reason.written() == "str(min 1)"


def test_constraining_a_declared_type_keeps_both_constraints_at_their_tightest():
    t = typed("Reason(max 5, min 0)", "type Reason = str(min 1, max 500)")
    assert t.constraints == (("minLength", 1), ("maxLength", 5))


def test_invalid_constraints_are_left_out_of_the_type():
    assert typed('str(pattern "(?P<x>a)", format "phone", min -1, max 3)').constraints == (("maxLength", 3),)
    assert typed("bool(min 1)").constraints == ()


@pytest.mark.parametrize(("value", "target", "implied"), [
    ("str", "str", True),
    ("str", "str(min 1)", False),
    ("str(min 2)", "str(min 1)", True),
    ("str(min 1)", "str(min 2)", False),
    ("str(min 1)", "str(max 5)", False),
    ("str(min 1, max 5)", "str(max 9)", True),
    ('str(pattern "^a")', 'str(pattern "^a")', True),
    ('str(pattern "^a")', 'str(pattern "^b")', False),
    ("int(min 0, max 3)", "float(min 0)", True),
    ("list[str](max 3)", "list[str](max 3)", True),
    ("list[str]", "list[str(min 1)]", False),
    ("list[str(min 2)](max 1)", "list[str(min 1)]?", True),
    ("{a: str(min 1), b: int}", "{a: str(min 1), b: int(max 1)?}", False),
    ("{a: str(min 1)}", "{a: str(min 1), b: int(max 1)?}", True),
    ("{a: str(min 1)}", "map[str(min 1)]", True),
    ("map[str]", "map[str(min 1)]", False),
    ("any", "str(min 1)", False),
    ("any", "str", True),
])
def test_implies(value, target, implied):
    assert T.implies(typed(value), typed(target)) is implied


def test_literals_imply_what_their_values_meet():
    assert T.implies(T.literal("ab"), typed("str(min 1, max 2)"))
    assert not T.implies(T.literal(""), typed("str(min 1)"))
    assert T.implies(T.UnionT(("low", "high")), typed('str(pattern "^[a-z]+$")'))
    assert T.implies(T.NULL, typed("str(min 1)?")) and T.implies(T.NEVER, typed("str(min 1)"))


def test_a_join_keeps_constraints_only_where_both_sides_meet_them():
    reason = typed("str(min 1, max 3)")
    assert str(T.join(reason, reason)) == "str(min 1, max 3)"
    assert str(T.join(reason, T.STR)) == "str"
    assert str(T.join(T.literal("ab"), reason)) == "str(min 1, max 3)"
    assert str(T.join(T.literal("abcd"), reason)) == "str"
    assert str(T.join(T.NULL, reason)) == "str(min 1, max 3)?"
    tags = typed("list[str(min 1)]")
    assert str(T.join(tags, T.ListT(T.STR))) == "list[str]"


def test_strip_constraints_everywhere_inside():
    t = typed("{a: list[str(min 1)](max 2)?, b: map[int(min 0)]}")
    assert T.has_constraints(t)
    stripped = T.strip_constraints(t)
    assert not T.has_constraints(stripped) and stripped == t and str(stripped) == "{a: list[str]?, b: map[int]}"


def test_constant_problems_name_the_place_of_each():
    t = typed('{tags: list[str(min 1)](max 2), day: str(format "date")?, n: map[int(max 1)]}')
    value = {"tags": ["", "x", "y"], "day": "2026-02-30", "n": {"k": 5}}
    assert T.constant_problems(value, t, "v") == [
        "`v.tags` allows at most 2 items", "`v.tags[0]` needs at least 1 character",
        "`v.day` is not a valid date", "`v.n.k` allows at most 1"]
    assert T.constant_problems({"tags": [], "day": None, "n": {}}, t) == []
    assert T.constant_problems("", typed("str(min 1)")) == ["the value needs at least 1 character"]


def test_constraint_kind():
    assert [T.constraint_kind(typed(t)) for t in ("str", "int", "float", "list[int]", "bool", "map[int]", "str?")] \
        == ["str", "number", "number", "list", None, None, None]
