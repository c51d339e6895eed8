"""The formats a constrained type may name, as compiler and runtime judge them."""

from __future__ import annotations

import pytest

from fermata.spec.formats import FORMATS, matches_format


@pytest.mark.parametrize(("name", "good", "bad"), [
    ("email", ["ada@example.com", "a.b+c@x"], ["", "ada", "a@", "@b", "a b@c.d", "a@b@c"]),
    ("uri", ["https://example.com/a?b=1#c", "urn:isbn:0451450523", "mailto:a@b.c", "x:%20"],
     ["", "example.com", "/relative/path", "1http://x", "http://a b", "http://x/%zz"]),
    ("date", ["2026-02-28", "2024-02-29"], ["2026-02-30", "2025-02-29", "2026-2-1", "26-01-01", "2026-13-01"]),
    ("date-time", ["2026-03-01T09:30:00Z", "2026-03-01t09:30:00.123+05:30", "2016-12-31T23:59:60Z"],
     ["2026-03-01T09:30:00", "2026-03-01 09:30:00Z", "2026-03-01T24:00:00Z", "2026-02-30T00:00:00Z",
      "2026-03-01T09:30:00+25:00"]),
    ("uuid", ["123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000"],
     ["123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400g", ""]),
])
def test_each_format_accepts_and_refuses(name, good, bad):
    check = FORMATS[name]
    assert [v for v in good if not check(v)] == []
    assert [v for v in bad if check(v)] == []


def test_an_unknown_format_accepts_everything_as_json_schema_says():
    assert matches_format("phone", "anything")
    assert not matches_format("uuid", "anything")
