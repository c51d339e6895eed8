"""The command line's reading and printing helpers (``compiler/cli/common.py``)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fermata.compiler.cli.common import (
    UsageError,
    dump_json,
    loads_strict,
    parse_json_text,
    terminal_safe,
)

# Written out here, not imported: the test states what must never print raw.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


@pytest.mark.parametrize(("text", "shown"), [
    ("plain text, ünïcödé ✓", "plain text, ünïcödé ✓"),
    ("keeps\nnewlines\tand tabs", "keeps\nnewlines\tand tabs"),
    ("\x1b[2Jclear", "\\x1b[2Jclear"),
    ("bell\x07 nul\x00 cr\r del\x7f", "bell\\x07 nul\\x00 cr\\x0d del\\x7f"),
    ("c1 csi\x9b31m next-line\x85", "c1 csi\\x9b31m next-line\\x85"),
    ("half a pair \ud800", "half a pair \\ud800"),
    ("admin\u202e\u2066 fdp.exe", "admin\\u202e\\u2066 fdp.exe"),   # bidi overrides reorder text
    ("mark\u200f\u061c", "mark\\u200f\\u061c"),
])
def test_terminal_safe(text: str, shown: str) -> None:
    assert terminal_safe(text) == shown


@given(st.text())
def test_terminal_safe_leaves_no_control_character_and_encodes(text: str) -> None:
    safe = terminal_safe(text)
    assert not RAW_CONTROL.search(safe)
    safe.encode("utf-8")


@pytest.mark.slow
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=20))
def test_dump_json_is_safe_and_means_the_same(value: object) -> None:
    text = dump_json(value, indent=2)
    assert not RAW_CONTROL.search(text)
    assert json.loads(text) == value


@pytest.mark.parametrize(("text", "says"), [
    ("NaN", "NaN is not a JSON value"),
    ('{"a": [Infinity]}', "Infinity is not a JSON value"),
    ("-Infinity", "-Infinity is not a JSON value"),
    ("1e999", "the number 1e999 is too large"),
    ('"\\ud800"', "the string holds a lone surrogate \\ud800"),
    ('{"a": {"b": ["ok", "x\\uDC00"]}}', "the string at `a.b[1]` holds a lone surrogate \\udc00"),
    ('{"\\ud83d": 1}', "the key `\\ud83d` holds a lone surrogate \\ud83d"),
])
def test_loads_strict_refuses_what_json_does_not_allow(text: str, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        loads_strict(text)
    assert str(caught.value).startswith(says)


def test_loads_strict_takes_what_json_allows() -> None:
    # A surrogate *pair* is one character; large finite numbers are numbers.
    assert loads_strict('{"emoji": "\\ud83d\\ude00", "big": 1e308, "int": 12345678901234567890}') == {
        "emoji": "\U0001f600", "big": 1e308, "int": 12345678901234567890}


def test_parse_json_text_names_what_it_reads() -> None:
    with pytest.raises(UsageError, match=r"^--value is not valid JSON: it is empty$"):
        parse_json_text("  \n", "--value")
    with pytest.raises(UsageError, match=r"^--value is nested too deeply to be read$"):
        parse_json_text("[" * 100_000 + "]" * 100_000, "--value")
