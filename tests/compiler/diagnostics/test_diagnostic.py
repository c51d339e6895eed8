"""Diagnostics as data: suggestions by edit distance, the error carrying every
diagnostic, JSON shape."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fermata.compiler.diagnostics import diagnostic as diagnostics
from fermata.compiler.diagnostics.diagnostic import (
    CompileError,
    Diagnostic,
    DiagnosticSink,
    Suggestions,
    bounded_edit_distance,
    did_you_mean,
    edit_distance,
)
from fermata.compiler.syntax.ast import Span


@pytest.mark.parametrize("a, b, distance", [
    ("", "", 0), ("abc", "", 3), ("", "abc", 3), ("count", "count", 0),
    ("cout", "count", 1), ("cuont", "count", 1), ("nmae", "name", 1), ("kitten", "sitting", 3),
    ("ab", "ba", 1), ("abc", "ca", 3),
])
def test_edit_distance(a, b, distance):
    assert edit_distance(a, b) == distance == edit_distance(b, a)


@given(st.text(max_size=8), st.text(max_size=8))
def test_edit_distance_is_a_bounded_symmetric_measure(a, b):
    d = edit_distance(a, b)
    assert d == edit_distance(b, a)
    assert abs(len(a) - len(b)) <= d <= max(len(a), len(b))
    assert (d == 0) == (a == b)


def test_did_you_mean_picks_the_closest_and_stays_quiet_when_nothing_is_close():
    assert did_you_mean("cuont", ["count", "amount"]) == "did you mean `count`?"
    assert did_you_mean("Approved", ["approved", "log"]) == "did you mean `approved`?"
    assert did_you_mean("zzz", ["count", "amount"]) is None


@given(st.text("abcAB_", max_size=9), st.text("abcAB_", max_size=9), st.integers(0, 10))
def test_the_bounded_distance_is_the_distance_within_its_bound(a, b, bound):
    d = edit_distance(a, b)
    assert bounded_edit_distance(a, b, bound) == (d if d <= bound else None)


def _closest_by_brute_force(name: str, candidates: list[str]) -> str | None:
    # The rule, compared with every candidate (what `closest` did before it was bounded).
    near = [(edit_distance(name.lower(), c.lower()), c) for c in set(candidates)]
    near = [(d, c) for d, c in near if d <= max(1, len(name) // 3)]
    return min(near)[1] if near else None


@given(st.text("abcdAB_", min_size=1, max_size=12),
       st.lists(st.text("abcdAB_", min_size=1, max_size=12), max_size=30))
def test_suggestions_pick_what_comparing_every_candidate_picks(name, candidates):
    assert Suggestions(candidates).closest(name) == _closest_by_brute_force(name, candidates)


def test_suggestions_grow_and_forget_their_answers():
    suggestions = Suggestions(["amount"])
    assert suggestions.closest("cuont") is None
    suggestions.add("count")
    assert suggestions.closest("cuont") == "count"


def test_a_long_misspelt_name_costs_a_bounded_amount(monkeypatch):
    # One 4,000-character misspelt name against a 4,000-character field took
    # 12 s: a name over MAX_SUGGESTED_LENGTH gets no suggestion (no distance).
    cells = _count_distance_work(monkeypatch)
    long = "q" * 4000
    assert did_you_mean(long + "x", [long, "amount"]) is None
    assert cells() == 0
    assert did_you_mean("q" * 40 + "x", ["q" * 40]) == f"did you mean `{'q' * 40}`?"


def test_many_candidates_of_one_length_are_compared_up_to_a_cap(monkeypatch):
    # n misspelt names among n declared ones: n * n distances before (400 took
    # 15 s). Now at most MAX_COMPARED distances per question, however many
    # candidates have the name's length.
    compared = _count_distance_work(monkeypatch)
    names = [f"v{i:04}" for i in range(5000)]
    suggestions = Suggestions(names)
    for i in range(50):
        suggestions.closest(f"w{i:04}")
    assert compared() <= 50 * diagnostics.MAX_COMPARED


def _count_distance_work(monkeypatch) -> Callable[[], int]:
    calls = [0]
    real = diagnostics.bounded_edit_distance

    def counting(a: str, b: str, bound: int) -> int | None:
        calls[0] += 1
        return real(a, b, bound)

    monkeypatch.setattr(diagnostics, "bounded_edit_distance", counting)
    return lambda: calls[0]


def test_compile_error_names_the_first_error_and_counts_the_rest():
    sink = DiagnosticSink("refund.flow")
    sink.warning("F124", "unused local `x`", Span(2, 5, 2, 6))
    sink.error("F120", "unknown name `cout`", Span(3, 9, 3, 13))
    sink.error("F300", "type mismatch", Span(4, 1, 4, 2))
    error = CompileError(sink.items)
    assert str(error) == "refund.flow:3:9: error[F120]: unknown name `cout` (and 1 more error)"
    assert len(error.diagnostics) == 3


def test_json_has_every_field():
    d = Diagnostic("F101", "unknown node `x`", Span(1, 2, 1, 3), path="a.flow", help="did you mean `y`?")
    assert d.to_json() == {"code": "F101", "severity": "error", "message": "unknown node `x`", "path": "a.flow",
                           "line": 1, "column": 2, "end_line": 1, "end_column": 3, "labels": [],
                           "help": "did you mean `y`?", "notes": []}
