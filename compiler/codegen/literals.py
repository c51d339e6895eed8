"""JSON data as Python source text, deterministically.

``py_literal`` writes any JSON value (what the IR is made of) as a Python
expression that evaluates to an equal value: dicts keep their key order (the
runtime can observe it, e.g. through ``keys()``, and the IR's order is
already deterministic), floats use ``repr`` (which round-trips exactly), and
strings are ASCII-only (other characters escaped), so a generated module
never holds a character a linter would call ambiguous or an editor would
mangle. ``docstring`` does the same for docstrings.

The layout is the one ruff-format (and black) would give, so a generated
module passes ``ruff format --check``: containers go on one line when that
line fits in ``width`` columns, else one item per line with a trailing
comma; strings take double quotes unless single ones need fewer escapes; a
string too long for its line is split after whitespace into a parenthesized
implicit concatenation, which evaluates to the same string. The same value
at the same place always gives the same text.
"""

from __future__ import annotations

import math
import re
import textwrap
from typing import Any

INDENT = 4
WIDTH = 88

_SIMPLE_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(char: str, quote: str = '"') -> str:
    if char in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[char]
    if char == quote:
        return "\\" + char
    if " " <= char <= "~":
        return char
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def py_string(text: str) -> str:
    """An ASCII-only Python string literal equal to ``text``: in double quotes
    unless the text holds more double quotes than single ones (the choice
    ruff-format and black make: the fewest escaped quotes)."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    return quote + "".join(_escape_char(c, quote) for c in text) + quote


def docstring_text(text: str) -> str:
    """``text`` made safe inside a triple-quoted docstring: backslashes, quote
    runs, control and non-ASCII characters escaped, trailing spaces dropped."""
    out = []
    for char in text:
        if char in ("\n", '"'):
            out.append(char)
        else:
            out.append(_escape_char(char))
    # Trailing spaces go first: a quote they followed must still be escaped
    # when it ends the text, or it would run into the closing quotes.
    stripped = "\n".join(line.rstrip() for line in "".join(out).split("\n"))
    body, last = (stripped[:-1], '\\"') if stripped.endswith('"') else (stripped, "")
    return body.replace('"""', '\\"\\"\\"') + last


def docstring(text: str, indent: int = 0, *, width: int = WIDTH) -> str:
    """``text`` as a whole docstring (quotes included) whose lines after the
    first are indented by ``indent``: on one line when it fits, else with
    over-long lines wrapped at spaces and the closing quotes on a line of
    their own (the layout pydocstyle and ruff-format expect). The text's own
    line breaks are kept: its first line is the summary. Indented lines
    (code samples) are never wrapped."""
    room = max(width - indent - 3, 20)
    lines: list[str] = []
    for line in docstring_text(text).split("\n"):
        if len(line) <= room or line[:1].isspace():
            lines.append(line)
        else:
            lines += textwrap.wrap(line, room, break_long_words=False, break_on_hyphens=False)
    if len(lines) == 1 and indent + len(lines[0]) + 6 <= width:
        return f'"""{lines[0]}"""'
    pad = " " * indent
    rest = "".join(f"\n{pad}{line}" if line else "\n" for line in lines[1:])
    return f'"""{lines[0]}{rest}\n{pad}"""'


def _scalar(value: Any) -> str:
    if value is None:
        return "None"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a JSON number: {value!r}")
        return repr(value)
    if isinstance(value, str):
        return py_string(value)
    raise TypeError(f"not JSON data: {type(value).__name__}")


def _one_line(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_one_line(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)}: {_one_line(v)}" for k, v in value.items()) + "}"
    return _scalar(value)


def _key(key: Any) -> str:
    # JSON keys are strings; int keys are allowed for the module's LINE_MAP.
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    if not isinstance(key, str):
        raise TypeError(f"not a JSON object key: {key!r}")
    return py_string(key)


def py_literal(value: Any, indent: int = 0, *, width: int = WIDTH, prefix: int = 0) -> str:
    """``value`` as Python source.

    ``indent`` is the indentation of the line the literal starts on: lines
    after the first are indented relative to it. ``prefix`` is how many
    columns precede the literal on its first line (a ``"key": `` for
    instance), counted when deciding whether it fits on one line.
    """
    flat = _one_line(value)
    if indent + prefix + len(flat) <= width:
        return flat
    if isinstance(value, str):
        return _split_string(value, indent, width) or flat
    if not isinstance(value, (list, dict)) or not value:
        return flat
    inner = indent + INDENT
    pad = " " * inner
    if isinstance(value, list):
        items = [pad + py_literal(v, inner, width=width, prefix=1) + "," for v in value]
        return "[\n" + "\n".join(items) + "\n" + " " * indent + "]"
    lines = []
    for key, item in value.items():
        head = f"{_key(key)}: "
        lines.append(pad + head + py_literal(item, inner, width=width, prefix=len(head) + 1) + ",")
    return "{\n" + "\n".join(lines) + "\n" + " " * indent + "}"


# Where a long string may be cut: after a run of whitespace, before the next word.
_CUT = re.compile(r"(?<=\s)(?=\S)")


def _split_string(text: str, indent: int, width: int) -> str | None:
    """``text`` as ``("part " "part")``, one part per line, each fitting in
    ``width`` when it can (a single long word stays whole); None when the
    text has no place to cut."""
    words = _CUT.split(text)
    if len(words) < 2:
        return None
    inner = indent + INDENT
    parts: list[str] = []
    current = ""
    for word in words:
        if current and inner + len(py_string(current + word)) > width:
            parts.append(current)
            current = ""
        current += word
    parts.append(current)
    if len(parts) < 2:
        return None
    pad = " " * inner
    return "(\n" + "".join(f"{pad}{py_string(part)}\n" for part in parts) + " " * indent + ")"
