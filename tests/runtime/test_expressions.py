"""Expressions compile to closures with the language's runtime semantics."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fermata.runtime.errors import EvalError
from fermata.runtime.expressions import compile_condition, compile_expr
from tests.runtime.irbuild import (
    F,
    L,
    add,
    bin_,
    fn,
    get,
    index,
    lit,
    lst,
    neg,
    not_,
    rec,
    tmpl,
)
from tests.runtime.support import View


def ev(ir: dict[str, Any], **state: Any) -> Any:
    return compile_expr(ir)(View(state))


def fails(ir: dict[str, Any], match: str, **state: Any) -> None:
    with pytest.raises(EvalError, match=match):
        ev(ir, **state)


def test_fields_read_the_overlay_first_then_the_state() -> None:
    view = View({"x": 1, "y": 2}, overlay={"x": 10}, local={"x": 99})
    assert compile_expr(F("x"))(view) == 10
    assert compile_expr(F("y"))(view) == 2
    assert compile_expr(L("x"))(view) == 99


def test_an_unbound_local_is_an_error() -> None:
    fails(L("nope"), "local `nope`")


def test_constructors_build_new_values_each_time() -> None:
    expr = compile_expr(lst(lit(1), rec(a=lit("x"))))
    first, second = expr(View()), expr(View())
    assert first == [1, {"a": "x"}]
    assert first is not second


@pytest.mark.parametrize("op, left, right, expected", [
    ("+", 1, 2, 3), ("+", 1, 0.5, 1.5), ("+", "a", "b", "ab"), ("+", [1], [2], [1, 2]),
    ("-", 5, 2, 3), ("*", 3, 4, 12), ("/", 3, 2, 1.5), ("/", 4, 2, 2.0), ("%", 7, 3, 1),
    ("==", 1, 1.0, True), ("==", True, 1, False), ("==", [1, {"a": 2}], [1.0, {"a": 2}], True),
    ("!=", "a", "b", True), ("==", None, None, True), ("==", {"a": 1}, {"a": 1, "b": 2}, False),
    ("<", 1, 2, True), ("<=", 2, 2, True), (">", "b", "a", True), (">=", 1, 2.5, False),
    ("in", 2, [1, 2.0], True), ("in", "ell", "hello", True), ("in", "k", {"k": 1}, True),
    ("in", "z", {"k": 1}, False), ("in", True, [1], False),
])
def test_binary_operators(op: str, left: Any, right: Any, expected: Any) -> None:
    result = ev(bin_(op, lit(left) if not isinstance(left, (list, dict)) else F("l"),
                     lit(right) if not isinstance(right, (list, dict)) else F("r")), l=left, r=right)
    assert result == expected and type(result) is type(expected)


def test_int_division_gives_a_float() -> None:
    assert type(ev(bin_("/", lit(4), lit(2)))) is float


@pytest.mark.parametrize("op, left, right, match", [
    ("/", 1, 0, "division by zero"), ("%", 1, 0, "modulo by zero"),
    ("+", "a", 1, "cannot combine str and int"), ("+", True, 1, "cannot combine bool and int"),
    ("-", "a", "b", "needs numbers"), ("*", "ab", 2, "needs numbers"),
    ("<", 1, "a", "compares numbers or strings"), ("<", True, False, "compares numbers"),
    ("in", 1, "abc", "cannot look for a int in a str"),
])
def test_wrong_runtime_types_are_errors(op: str, left: Any, right: Any, match: str) -> None:
    fails(bin_(op, lit(left), lit(right)), match)


def test_and_or_short_circuit_and_need_bools() -> None:
    boom = bin_("/", lit(1), lit(0))
    assert ev(bin_("and", lit(False), boom)) is False
    assert ev(bin_("or", lit(True), boom)) is True
    assert ev(bin_("and", lit(True), lit(False))) is False
    assert ev(bin_("or", lit(False), lit(True))) is True
    fails(bin_("and", lit(1), lit(True)), "`and` needs bools")
    fails(bin_("or", lit(False), lit("x")), "`or` needs bools")


def test_null_default_short_circuits() -> None:
    assert ev(bin_("??", F("x"), bin_("/", lit(1), lit(0))), x=5) == 5
    assert ev(bin_("??", F("x"), lit("d")), x=None) == "d"


def test_not_and_negation() -> None:
    assert ev(not_(lit(False))) is True
    assert ev(neg(lit(2.5))) == -2.5
    fails(not_(lit(0)), "`not` needs a bool")
    fails(neg(lit("a")), "needs a number")


def test_member_access() -> None:
    assert ev(get(F("d"), "a"), d={"a": 1}) == 1
    assert ev(get(F("d"), "missing"), d={"a": 1}) is None  # an optional record field
    fails(get(F("d"), "a"), "cannot read `.a` of a null", d=None)
    fails(get(F("d"), "a"), "of a list", d=[1])


def test_indexing() -> None:
    assert ev(index(F("l"), lit(1)), l=[10, 20]) == 20
    assert ev(index(F("l"), lit(-1)), l=[10, 20]) == 20
    assert ev(index(F("m"), lit("k")), m={"k": "v"}) == "v"
    fails(index(F("l"), lit(2)), "index 2 out of range for a list of length 2", l=[1, 2])
    fails(index(F("l"), lit("0")), "list index must be an int", l=[1])
    fails(index(F("m"), lit("z")), "not in the map", m={"k": 1})
    fails(index(F("s"), lit(0)), "cannot index a str", s="abc")


@pytest.mark.parametrize("name, args, expected", [
    ("len", ["abc"], 3), ("len", [[1, 2]], 2), ("len", [{"a": 1}], 1),
    ("lower", ["AbC"], "abc"), ("upper", ["abc"], "ABC"), ("trim", ["  a b "], "a b"),
    ("contains", ["hello", "ell"], True), ("startswith", ["hello", "he"], True),
    ("keys", [{"b": 1, "a": 2}], ["b", "a"]), ("values", [{"b": 1, "a": 2}], [1, 2]),
    ("round", [2.5], 2.0), ("round", [2.567, 2], 2.57), ("round", [3], 3.0),
    ("min", [1, 2.5], 1), ("max", [1, 2.5], 2.5), ("abs", [-3], 3),
    ("str", [True], "true"), ("str", [None], "null"), ("str", [0.5], "0.5"), ("str", [3], "3"),
    ("str", ["s"], "s"), ("str", [[1, "a"]], '[1, "a"]'), ("str", [{"a": False}], '{"a": false}'),
    ("int", ["42"], 42), ("int", [3.9], 3), ("float", ["1.5"], 1.5), ("float", [2], 2.0),
])
def test_functions(name: str, args: list[Any], expected: Any) -> None:
    state = {f"a{i}": a for i, a in enumerate(args)}
    result = ev(fn(name, *[F(f"a{i}") for i in range(len(args))]), **state)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("name, args, match", [
    ("len", [3], "`len` needs"), ("lower", [1], "`lower` needs a str"),
    ("int", ["x1"], "cannot read 'x1' as an int"), ("float", [None], "cannot convert a null"),
    ("keys", [[1]], "`keys` needs a map"), ("round", ["1"], "`round` needs"),
])
def test_function_errors(name: str, args: list[Any], match: str) -> None:
    fails(fn(name, *[lit(a) for a in args]), match)


def test_conditions_must_be_bools() -> None:
    cond = compile_condition(F("x"), "the condition")
    assert cond(View({"x": True})) is True
    with pytest.raises(EvalError, match="the condition must be a bool, got int 1"):
        cond(View({"x": 1}))


def test_templates_are_expressions() -> None:
    assert ev(tmpl("n={{ n }}"), n=2) == "n=2"


@given(st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_arithmetic_matches_python_on_ints(a: int, b: int) -> None:
    assert ev(add(lit(a), lit(b))) == a + b
    if b:
        assert ev(bin_("/", lit(a), lit(b))) == a / b
        assert ev(bin_("%", lit(a), lit(b))) == a % b


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=10)


@given(json_values)
def test_every_value_equals_itself(value: Any) -> None:
    assert ev(bin_("==", F("v"), F("v")), v=value) is True
