"""The stretch of a flow an edit touched, parsed (or repaired) on its own.

A flow's body is a list of members, and the parser is in the same state
after any number of them; so a run of members parses alone, inside a
synthetic text that puts it where it is: the flow's own header (``flow NAME
{``, copied at its real line and column), newlines and spaces up to the
stretch, the stretch, and ``}``. Lines and columns come out real; character
offsets are moved by a constant (``shift.offsets_only``).

For a stretch that does not parse (a half-typed node), the syntax error and
the repair (``recovery.py``) are those of the whole file when the parser
fails inside the stretch, and the stretch starts with a member that parses
(the parser's state there is the whole file's: the stretch is widened by
one member for that): the parser reads the same tokens in the same states
up to the failure. When the failure, or any repair's, lies past the
stretch, the whole file decides: the caller takes the full path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..diagnostics.diagnostic import Diagnostic
from ..syntax import ast
from ..syntax.parser import parse
from .positions import LineIndex
from .recovery import repair
from .shift import offsets_only

SYNTAX_ERRORS = ("F001", "F002", "F003", "F004", "F005")


@dataclass
class Stretch:
    """The members ``first..last`` (``last < first``: none, a gap) of the
    ``index``-th flow, between old offsets ``start`` and ``end``; its
    ``{`` at ``opening``."""

    index: int
    flow: ast.Flow
    first: int
    last: int
    start: int
    end: int
    opening: int
    bounds: list[tuple[int, int]] = field(repr=False, default_factory=list)

    @property
    def old_members(self) -> tuple[ast.FlowMember, ...]:
        return self.flow.members[self.first:self.last + 1]

    def widened(self) -> Stretch:
        """The stretch with the member before it (if any), so that it starts with one that parses."""
        if self.first == 0:
            return self
        first = self.first - 1
        start = self.bounds[first - 1][1] if first > 0 else self.opening + 1
        return Stretch(self.index, self.flow, first, self.last, start, self.end, self.opening, self.bounds)


@dataclass
class Parsed:
    members: list[ast.FlowMember]
    comments: list[ast.Comment]
    # A repaired stretch: the text's syntax error, the stretch as repaired, the lines blanked.
    error: Diagnostic | None = None
    repaired: str | None = None
    blanked_lines: set[int] = field(default_factory=set)


def find_stretch(module: ast.Module, lines: LineIndex, first: int, last: int) -> Stretch | None:
    """The stretch of one flow's members holding the old text ``[first, last)``."""
    for index, flow in enumerate(module.flows):
        span = flow.span
        start = lines.offset_of(span.line, span.column)
        close = lines.offset_of(span.end_line, span.end_column) - 1   # the flow's `}`
        if not start <= first <= close:
            continue
        after_name = (start if not flow.name_span.line
                      else lines.offset_of(flow.name_span.end_line, flow.name_span.end_column))
        opening = lines.text.find("{", after_name)
        if opening < 0 or first <= opening or last > close:
            return None  # the flow's header or closing brace
        bounds = [(lines.offset_of(m.span.line, m.span.column), lines.offset_of(m.span.end_line, m.span.end_column))
                  for m in flow.members]
        touched = [i for i, (s, e) in enumerate(bounds) if e >= first and s <= last]
        if touched:
            low, high = touched[0], touched[-1]
        else:
            low = next((i for i, (s, _e) in enumerate(bounds) if s > last), len(bounds))
            high = low - 1
        if low == 0 and flow.doc is not None:
            return None  # the flow's docstring comes first, and has no span of its own
        start_at = bounds[low - 1][1] if low > 0 else opening + 1
        end_at = bounds[high + 1][0] if high + 1 < len(bounds) else close
        return Stretch(index, flow, low, high, start_at, end_at, opening, bounds)
    return None


def _head(text: str, lines: LineIndex, stretch: Stretch, start: int) -> str | None:
    """The synthetic text before the stretch at ``start``: the flow's header in place, then blanks."""
    span = stretch.flow.span
    if not span.line:
        return None
    flow_at = lines.offset_of(span.line, span.column)
    head = "\n" * (span.line - 1) + " " * (span.column - 1) + text[flow_at:stretch.opening + 1]
    brace_line, brace_column = lines.line_column(stretch.opening)
    line, column = lines.line_column(start)
    if line == brace_line:
        return head + " " * (column - brace_column - 1)
    return head + "\n" * (line - brace_line) + " " * (column - 1)


def _members(synthetic: str, head: str, start: int, path: str) -> Parsed | None:
    module, diagnostics = parse(synthetic, path)
    if module is None or diagnostics or len(module.items) != 1:
        return None
    flow = module.items[0]
    if not isinstance(flow, ast.Flow) or flow.doc is not None:
        return None
    comments = [c for c in module.comments if c.span.start >= len(head)]  # not those of the header
    offsets_only(start - len(head)).tree((*flow.members, *comments))
    return Parsed(list(flow.members), comments)


def parse_stretch(text: str, lines: LineIndex, stretch: Stretch, start: int, end: int,
                  path: str) -> Parsed | None:
    """The members and comments written in ``text[start:end]`` (new offsets), with their real positions."""
    head = _head(text, lines, stretch, start)
    if head is None:
        return None
    return _members(head + text[start:end] + "}", head, start, path)


def repair_stretch(text: str, lines: LineIndex, stretch: Stretch, start: int, end: int,
                   path: str) -> Parsed | None:
    """The stretch ``text[start:end]`` repaired, with the syntax error the
    whole text has; None when the whole text would decide otherwise."""
    head = _head(text, lines, stretch, start)
    if head is None:
        return None
    body = text[start:end]
    synthetic, limit = head + body + "}", len(head) + len(body)
    module, diagnostics = parse(synthetic, path)
    if module is not None or len(diagnostics) != 1 or diagnostics[0].code not in SYNTAX_ERRORS[:-1]:
        return None
    error = diagnostics[0]
    if not error.span.line or not len(head) <= error.span.start < limit:
        return None
    fixed = repair(synthetic, limit)
    if fixed is None or len(fixed.text) != len(synthetic) or not fixed.text.startswith(head):
        return None
    parsed = _members(fixed.text, head, start, path)
    if parsed is None:
        return None
    parsed.error = offsets_only(start - len(head)).diagnostic(error)
    parsed.repaired = fixed.text[len(head):limit]
    parsed.blanked_lines = fixed.blanked_lines
    return parsed
