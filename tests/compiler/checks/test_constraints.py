"""The constrained-type pass (F340–F346): each code where it belongs, near
misses that stay clean, and constraints on declared, optional and nested types."""

from __future__ import annotations

import pytest

from fermata.compiler.pipeline import analyze

CODES = ("F340", "F341", "F342", "F343", "F344", "F345", "F346")


def diagnostics(state: str, steps: str = "set n = n", types: str = "") -> list[tuple[str, int, str]]:
    """Every diagnostic of a one-node flow with ``state`` (plus `n: int = 0`)."""
    text = (f"{types}\nflow f {{\n    state {{\n        n: int = 0\n        {state}\n    }}\n"
            f"    node a {{\n        {steps}\n    }}\n    start -> a\n    a -> end\n}}\n")
    found = analyze(text, "t.flow").diagnostics
    return [(d.code, d.span.line, d.message) for d in found]


def _diagnostics(text: str, path: str):
    return analyze(text, path).diagnostics


def codes(state: str, steps: str = "set n = n", types: str = "") -> list[str]:
    return [code for code, _line, _message in diagnostics(state, steps, types)]


@pytest.mark.parametrize("state", [
    'a: str(min 1, max 500) = "x"',
    "a: int(min -5, max 5) = -5",
    "a: float(min 0.5) = 1",
    'a: str(pattern "^[A-Z]{3}-[0-9]+$")?',
    'a: str(format "email")?',
    'a: str(format "date-time")?',
    "a: list[str](max 10) = []",
    'a: list[str(min 1)](min 1) = ["x"]',
    "a: str(min 1)?",
    "a: {reason: str(min 1), day: str(format \"date\")?}?",
    "a: map[int(min 0)] = {x: 1}",
    'a: str(min 0, max 0) = ""',
    "a: int(min 3, max 3) = 3",
])
def test_well_formed_constraints_are_clean(state):
    assert codes(state) == []


def test_min_max_pattern_format_stay_names_elsewhere():
    steps = "let min = 1\n        let pattern = max(min, 2)\n        set n = pattern"
    assert codes('format: str = ""', steps) == []


@pytest.mark.parametrize(("state", "message"), [
    ('a: int(pattern "x")?', "`int` takes no `pattern` constraint"),
    ('a: list[int](format "uuid")?', "`list[int]` takes no `format` constraint"),
    ("a: bool(min 1)?", "`bool` takes no constraints"),
    ("a: map[str](max 1)?", "`map[str]` takes no constraints"),
    ("a: {x: int}(min 1)?", "`{x: int}` takes no constraints"),
    ('a: "b"(min 1)?', "`\"b\"` takes no constraints"),
    ("a: any(min 1)", "`any` takes no constraints"),
    ("a: (str?)(min 1)", "`str?` takes no constraints"),
    ("a: str(minimum 1)?", "unknown constraint `minimum`"),
    ('a: str(min "1")?', "`min` takes a number"),
    ("a: str(pattern 1)?", "`pattern` takes a string"),
])
def test_F340_a_constraint_the_type_does_not_take(state, message):
    found = diagnostics(state)
    assert [(c, m) for c, _line, m in found] == [("F340", message)]
    assert found[0][1] == 5


def test_F340_suggests_the_word_meant():
    found = _diagnostics("flow f { state { a: str(lenght 3)? } node b { set a = null }\n"
                             "start -> b\nb -> end }", "t.flow")
    assert [d.code for d in found] == ["F340"]
    assert found[0].help == "did you mean `max`?" or "`min`" in (found[0].help or "")


def test_F341_min_above_max_here_and_with_a_declared_types_bounds():
    assert codes("a: int(min 10, max 1)?") == ["F341"]
    assert codes("a: list[int](min 3, max 2)?") == ["F341"]
    found = diagnostics("a: Reason(max 2)?", types="type Reason = str(min 5)")
    assert [(c, m) for c, _l, m in found] == [
        ("F341", "`min 5` is above `max 2`: no value fits `Reason(max 2)`")]
    assert codes("a: Reason(max 9)?", types="type Reason = str(min 5)") == []


def test_F341_silences_F346_on_a_type_no_value_fits():
    assert codes("a: int(min 10, max 1) = 5", "set a = 4") == ["F341"]


@pytest.mark.parametrize("state", ["a: str(min -1)?", "a: str(max 2.5)?", "a: list[int](min -2)?"])
def test_F342_lengths_and_counts_are_whole_and_not_negative(state):
    assert codes(state) == ["F342"]


def test_F342_does_not_apply_to_number_values():
    assert codes("a: int(min -1, max 2.5)?") == []


@pytest.mark.parametrize("pattern", ["[", "(?P<x>a)", "(?i)abc", r"\\Aa"])
def test_F343_bad_or_python_only_patterns(pattern):
    assert codes(f'a: str(pattern "{pattern}")?') == ["F343"]


def test_F344_unknown_format_with_a_suggestion():
    found = _diagnostics('flow f { state { a: str(format "datetime")? } node b { set a = null }\n'
                             "start -> b\nb -> end }", "t.flow")
    assert [d.code for d in found] == ["F344"]
    assert found[0].help == 'did you mean `date-time`?'


def test_F345_a_constraint_given_twice_points_at_the_first():
    found = _diagnostics("flow f { state { a: str(max 1, min 0, max 2)? } node b { set a = null }\n"
                             "start -> b\nb -> end }", "t.flow")
    assert [d.code for d in found] == ["F345"]
    assert found[0].labels[0].message == "first given here"


@pytest.mark.parametrize(("state", "steps", "message"), [
    ('a: str(min 1) = ""', "set n = n", 'the default of `a` breaks `str(min 1)`: `a` needs at least 1 character'),
    ("a: int(max 5) = 6", "set n = n", "the default of `a` breaks `int(max 5)`: `a` allows at most 5"),
    ("a: int(min 0) = -1", "set n = n", "the default of `a` breaks `int(min 0)`: `a` needs at least 0"),
    ('a: list[str](max 1) = ["x", "y"]', "set n = n",
     "the default of `a` breaks `list[str](max 1)`: `a` allows at most 1 item"),
    ('a: {r: str(pattern "^a")}?', 'set a = {r: "b"}',
     '`set a` breaks `{r: str(pattern "^a")}?`: `a.r` does not match the pattern "^a"'),
    ('a: list[str(format "uuid")] = ["nope"]', "set n = n",
     'the default of `a` breaks `list[str(format "uuid")]`: `a[0]` is not a valid uuid'),
    ('a: str(max 2)?', 'set a = "long"', '`set a` breaks `str(max 2)?`: `a` allows at most 2 characters'),
    ('a: Reason?', 'set a = ""', '`set a` breaks `Reason?`: `a` needs at least 1 character'),
])
def test_F346_constants_that_break_constraints(state, steps, message):
    found = diagnostics(state, steps, types="type Reason = str(min 1)")
    assert [(c, m) for c, _l, m in found] == [("F346", message)]


@pytest.mark.parametrize(("state", "steps"), [
    ('a: str(min 1)?', 'set a = "{{ n }}"'),      # a template: known only at run time
    ('a: str(min 1)?', "set a = null"),
    ('a: int(min 1) = 1', "set a += 5"),           # `+=` is checked at run time
    ('a: str(min 1) = 3', "set n = n"),            # the wrong type: F310's alone
])
def test_F346_only_for_known_constants_of_the_right_type(state, steps):
    assert "F346" not in codes(state, steps)


def test_constraints_inside_expect_types_are_checked():
    steps = 'let d = interrupt ask "?" expect {why: str(min 3, max 1)}\n        set n = len(d.why)'
    assert codes("", steps) == ["F341"]


def test_an_unknown_base_type_is_F126s_alone():
    assert codes("a: Nope(min 1)?") == ["F126"]
