"""The line map: which `.flow` line each generated line comes from.

Templates bracket every block generated from one spec construct (a field, a
node, a step, a route branch, a join) with :func:`begin` and :func:`end`
markers. After rendering, :func:`extract` removes the markers and assigns
each generated line the spec line of the innermost block open on it, the way
Jinja2's own code generator records ``debug_info`` for its templates.

The markers are NUL-delimited: ``py_literal`` escapes every control
character, so no generated text can contain one.
"""

from __future__ import annotations

import re

_MARK = re.compile("\x00(\\d+|/)\x00")


def begin(line: int) -> str:
    """Opens a block generated from spec line ``line`` (put it on the block's first line)."""
    return f"\x00{int(line)}\x00"


def end() -> str:
    """Closes the innermost open block (put it on the block's last line)."""
    return "\x00/\x00"


def only(line: int) -> str:
    """Marks one generated line as coming from spec line ``line``."""
    return begin(line) + end()


def extract(text: str) -> tuple[str, dict[int, int]]:
    """``text`` without markers, and its line map.

    The map is run-length encoded: ``{generated_line: spec_line}`` at each
    line where the spec line changes, ``0`` where lines stop coming from the
    spec; a line's spec line is the value at the greatest key not after it.
    """
    open_blocks: list[int] = []
    transitions: dict[int, int] = {}
    current = 0
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        spec = open_blocks[-1] if open_blocks else 0
        opened = False
        for match in _MARK.finditer(line):
            if match.group(1) == "/":
                if not open_blocks:
                    raise ValueError(f"generated line {number}: a block closed that was never opened")
                open_blocks.pop()
            else:
                open_blocks.append(int(match.group(1)))
                if not opened:
                    spec, opened = open_blocks[-1], True
        if spec != current:
            transitions[number] = spec
            current = spec
        lines[number - 1] = _MARK.sub("", line)
    if open_blocks:
        raise ValueError("generated text ends inside a block (a template misses `end()`)")
    return "\n".join(lines), transitions


def lookup(line_map: dict[int, int], generated_line: int) -> int | None:
    """The spec line of ``generated_line`` in a map made by :func:`extract`."""
    found = 0
    for start, spec in sorted(line_map.items()):
        if start > generated_line:
            break
        found = spec
    return found or None
