"""JSON Schema's ``pattern`` (an ECMA-262 regular expression) on Python's ``re``.

Both engines read the portable subset the checker allows (F343) alike, with
four exceptions that would let a value through that JSON Schema refuses:

- ``\\d``, ``\\w`` and ``\\b`` are ASCII in ECMA-262; in Python they also take
  other scripts' digits and letters (``"١٢٣"`` matches ``^\\d+$``);
- ``$`` matches only at the very end in ECMA-262; in Python also before a
  final newline (``"123\\n"`` matches ``^[0-9]+$``);
- ``.`` excludes ``\\r``, U+2028 and U+2029 in ECMA-262, not in Python;
- ``\\s`` includes Unicode spaces (U+00A0, U+3000...) in ECMA-262, which
  Python's ASCII mode, needed for the first point, leaves out.

:func:`compile_pattern` rewrites those four (outside ``[...]`` classes for
``$`` and ``.``, where they are literal anyway) and compiles with
``re.ASCII``, so the runtime, the checker's constant check and a browser's
``<input pattern>`` agree. One difference stays: ``\\S`` inside a class is
Python's ASCII one (it also takes U+00A0); writing ``[^\\s...]`` avoids it.

A leaf module: the compiler and the runtime both use it.
"""

from __future__ import annotations

import re
from functools import lru_cache

# ECMA-262's WhiteSpace and LineTerminator code points: its `\s`.
_SPACE = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_LINE_TERMINATORS = "\\n\\r\\u2028\\u2029"
# The rewrite of each construct, outside a class and inside one (None: as written).
_ESCAPES: dict[str, tuple[str, str | None]] = {
    "s": (f"[{_SPACE}]", _SPACE),
    "S": (f"[^{_SPACE}]", None),
}
_OUTSIDE = {"$": "\\Z", ".": f"[^{_LINE_TERMINATORS}]"}


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled to match as ECMA-262 does (see the module's
    docstring); raises ``re.error`` when Python cannot read it."""
    return re.compile(ecma_to_python(pattern), re.ASCII)


def matches(pattern: str, value: str) -> bool:
    """Whether ``value`` contains a match of ``pattern`` (JSON Schema's
    ``pattern`` keyword is unanchored)."""
    return compile_pattern(pattern).search(value) is not None


def ecma_to_python(pattern: str) -> str:
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            escape = pattern[i + 1]
            outside, inside = _ESCAPES.get(escape, (None, None))
            rewritten = inside if in_class else outside
            out.append(rewritten if rewritten is not None else pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            # `[]...]` and `[^]...]`: Python reads that `]` as a literal, not the end.
            opening = "[^" if pattern.startswith("[^", i) else "["
            if pattern.startswith("]", i + len(opening)):
                out.append(opening + "]")
                i += len(opening) + 1
                continue
        elif c in _OUTSIDE:
            out.append(_OUTSIDE[c])
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)
