"""Patterns match as JSON Schema's ECMA-262 regular expressions do, not as
Python's `re` would: the four differences spec/patterns.py names."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fermata.compiler.semantics.constraints import pattern_problem
from fermata.runtime.schemas import Schemas
from fermata.spec.patterns import ecma_to_python, matches


@pytest.mark.parametrize(("pattern", "value", "python_says", "ecma_says"), [
    (r"^\d+$", "١٢٣", True, False),               # Arabic-Indic digits
    (r"^\w+$", "é", True, False),
    (r"\bé", "é", True, False),                  # no ASCII word boundary before é
    (r"^[0-9]+$", "123\n", True, False),          # Python's `$` also before a final newline
    (r"^a.b$", "a\rb", True, False),
    (r"^a.b$", "a\u2028b", True, False),
    (r"^\s$", "\u00a0", True, True),              # both: Python's Unicode \s (ASCII mode would lose it)
    (r"^[\s]$", "\u3000", True, True),
    (r"^\S+$", "a\u00a0", False, False),
])
def test_patterns_match_as_ecma_262_does(pattern: str, value: str, python_says: bool, ecma_says: bool) -> None:
    assert (re.search(pattern, value) is not None) is python_says
    assert matches(pattern, value) is ecma_says


@pytest.mark.parametrize("pattern", [r"^[a$.]+$", r"[]a]", r"[^]a]", r"\$\.", r"[\]$]"])
def test_dollar_and_dot_inside_a_class_or_escaped_stay_literal(pattern: str) -> None:
    python = ecma_to_python(pattern)
    # Only a `$` at the very end of a pattern outside a class becomes `\Z`.
    assert python.count(r"\Z") == (1 if pattern.endswith("+$") else 0)
    assert "[^\\n" not in python


def test_a_value_that_python_would_let_through_is_refused_at_run_time() -> None:
    schemas = Schemas({})
    schema = {"type": "string", "pattern": "^[0-9]+$"}
    assert schemas.violations(schema, "123") == []
    assert schemas.violations(schema, "123\n") == ['expected a string matching the pattern "^[0-9]+$", got "123\n"']
    assert schemas.violations({"type": "string", "pattern": r"^\d{4}$"}, "١٢٣٤") != []


def test_the_checker_reads_a_pattern_the_same_way() -> None:
    assert pattern_problem(r"^\d+$") is None
    assert pattern_problem("(") is not None


@given(st.text(alphabet="ab01 \n.$[]^\\-", max_size=12), st.text(alphabet="ab01 \n\r.$", max_size=8))
def test_on_ascii_text_without_line_ends_the_rewrite_agrees_with_python(pattern: str, value: str) -> None:
    # Where no difference applies (no newline or carriage return in the value),
    # the rewritten pattern accepts exactly what Python's `re` accepts.
    try:
        expected = re.search(pattern, value, re.ASCII) is not None
    except re.error:
        return
    if "\n" in value or "\r" in value:
        return
    assert matches(pattern, value) is expected
