"""The constraint vocabulary: bounds, implication, what a constant breaks, portable patterns."""

from __future__ import annotations

import pytest

from fermata.compiler.semantics import constraints as C


def test_normalized_keeps_the_tightest_bound_once_and_every_pattern_in_order():
    pairs = C.normalized([("maxLength", 9), ("pattern", "b"), ("minLength", 1), ("maxLength", 5),
                          ("minLength", 3), ("pattern", "a"), ("pattern", "b")])
    assert pairs == (("minLength", 3), ("maxLength", 5), ("pattern", "b"), ("pattern", "a"))


def test_spelled_as_the_language_writes_it():
    assert C.spelled((("minLength", 1), ("maxLength", 500))) == "(min 1, max 500)"
    assert C.spelled((("minimum", -2.5), ("pattern", 'a"b'))) == '(min -2.5, pattern "a\\"b")'


@pytest.mark.parametrize(("have", "keyword", "wanted", "implied"), [
    ((("minLength", 2),), "minLength", 1, True),
    ((("minLength", 1),), "minLength", 2, False),
    ((("maxItems", 3),), "maxItems", 5, True),
    ((("maxItems", 6),), "maxItems", 5, False),
    ((("pattern", "^a"),), "pattern", "^a", True),
    ((("pattern", "^a"),), "pattern", "^b", False),
    ((("format", "email"),), "format", "email", True),
    ((), "minimum", 0, False),
    ((("maximum", 1),), "minimum", 0, False),  # an upper bound says nothing of the lower
])
def test_implied_by(have, keyword, wanted, implied):
    assert C.implied_by(have, keyword, wanted) is implied


def test_broken_names_each_problem_and_ignores_other_kinds():
    pairs = (("minLength", 2), ("maxLength", 3), ("pattern", "^[a-z]+$"))
    assert C.broken(pairs, "abc") == []
    assert C.broken(pairs, "A") == ["needs at least 2 characters", 'does not match the pattern "^[a-z]+$"']
    assert C.broken(pairs, 12345) == []  # JSON Schema: string keywords ignore numbers
    assert C.broken((("minimum", 0), ("maximum", 1.5)), 2) == ["allows at most 1.5"]
    assert C.broken((("minimum", 0),), True) == []  # a bool is not a number
    assert C.broken((("maxItems", 1),), [1, 2]) == ["allows at most 1 item"]
    assert C.broken((("format", "date"),), "2026-02-30") == ["is not a valid date"]


def test_contradictory_bounds():
    assert C.contradictory((("minimum", 2), ("maximum", 1)))
    assert not C.contradictory((("minimum", 1), ("maximum", 1)))
    assert not C.contradictory((("minLength", 5),))


@pytest.mark.parametrize(("keyword", "value", "usable"), [
    ("minLength", 0, True), ("minLength", -1, False), ("maxItems", 2.5, False), ("maxItems", 2.0, True),
    ("minimum", -2.5, True), ("minimum", "1", False), ("pattern", 3, False), ("pattern", "[", False),
    ("format", "phone", False), ("format", "uuid", True),
])
def test_usable(keyword, value, usable):
    assert C.usable(keyword, value) is usable


@pytest.mark.parametrize("pattern", [
    "^[A-Z]{3}-[0-9]+$", r"^\d+(\.\d+)?$", "([0-9]{4})-\\1", "(?:a|b)+", "(?=x)y", "(?<=a)b", r"[(?P<]",
    r"\(\?P<", r"a\\Z".replace("\\\\", "\\\\\\\\"), "[\\]]", "a{2,3}?",
])
def test_portable_patterns_pass(pattern):
    assert C.pattern_problem(pattern) is None


@pytest.mark.parametrize(("pattern", "why"), [
    ("[", "not a valid regular expression"),
    ("a(", "not a valid regular expression"),
    ("(?P<year>[0-9]{4})", "named groups are Python-only"),
    ("(?P<y>a)(?P=y)", "named groups are Python-only"),
    ("(?i)abc", "inline flags"),
    ("(?i:abc)", "inline flags"),
    ("a(?#note)", "comments are Python-only"),
    ("(?>ab)", "atomic groups"),
    ("a*+", "possessive"),
    (r"\Aabc", r"`\A` is Python-only"),
    (r"abc\Z", r"`\Z` is Python-only"),
    ("(a)?(?(1)b|c)", "conditional groups"),
])
def test_python_only_patterns_are_refused(pattern, why):
    problem = C.pattern_problem(pattern)
    assert problem is not None and why in problem
