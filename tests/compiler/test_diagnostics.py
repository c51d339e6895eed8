"""Diagnostics as data: suggestions by edit distance, the error carrying every
diagnostic, JSON shape."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from fermata.compiler.ast import Span
from fermata.compiler.diagnostics import CompileError, Diagnostic, DiagnosticSink, did_you_mean, edit_distance


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
