"""Positions: the compiler's and the Language Server Protocol's.

The compiler counts lines and columns from 1 and columns in code points
(:class:`~fermata.compiler.syntax.ast.Span`); LSP counts both from 0 and columns in
UTF-16 code units (the protocol's default encoding, and the only one every
client supports). A character outside the Basic Multilingual Plane (an emoji,
many CJK extension characters) is one code point but two UTF-16 units, so a
column after it differs by one per such character.
"""

from __future__ import annotations

from typing import NamedTuple

from ..syntax.ast import Span


class Position(NamedTuple):
    """An LSP position: 0-based line, 0-based UTF-16 column."""

    line: int
    character: int


class Range(NamedTuple):
    start: Position
    end: Position


UTF16, UTF8, UTF32 = "utf-16", "utf-8", "utf-32"


def _width(ch: str, encoding: str) -> int:
    """Code units of one character in ``encoding``."""
    if encoding == UTF8:
        return len(ch.encode("utf-8", "surrogatepass"))
    if encoding == UTF32:
        return 1
    return 2 if ord(ch) > 0xFFFF else 1


def utf16_length(text: str, encoding: str = UTF16) -> int:
    """How many code units ``text`` takes in ``encoding`` (UTF-16 unless
    the client negotiated another)."""
    if text.isascii():
        return len(text)
    return sum(_width(ch, encoding) for ch in text)


class LineIndex:
    """Converts positions for one text. Lines end at ``\\n``, as the
    compiler's lexer counts them (a ``\\r`` before it stays on the line,
    where it is whitespace to both)."""

    def __init__(self, text: str, encoding: str = UTF16):
        self.text = text
        self.encoding = encoding
        self.lines = text.split("\n")
        starts = [0]
        for line in self.lines[:-1]:
            starts.append(starts[-1] + len(line) + 1)
        self.starts = starts

    def line_text(self, line: int) -> str:
        """Line ``line`` (1-based), or "" past the end."""
        return self.lines[line - 1] if 1 <= line <= len(self.lines) else ""

    # ------------------------------------------------------------ to LSP

    def position(self, line: int, column: int) -> Position:
        """The LSP position of 1-based ``line``, ``column`` (code points)."""
        if line < 1:
            return Position(0, 0)
        if line > len(self.lines):
            last = len(self.lines)
            return Position(last - 1, utf16_length(self.lines[-1], self.encoding))
        text = self.lines[line - 1]
        before = text[: max(column - 1, 0)]
        return Position(line - 1, utf16_length(before, self.encoding))

    def range(self, span: Span) -> Range:
        """The LSP range of ``span``; a span without a position (0) is the
        file's first character, where an editor can still show it."""
        if not span.line:
            return Range(Position(0, 0), Position(0, 1 if self.text else 0))
        return Range(self.position(span.line, span.column), self.position(span.end_line, span.end_column))

    # ---------------------------------------------------------- from LSP

    def column(self, position: Position) -> tuple[int, int]:
        """The compiler's 1-based (line, code-point column) of an LSP
        position; a position inside a surrogate pair or past a line's end
        is clamped."""
        line = min(max(position.line, 0), len(self.lines) - 1)
        text = self.lines[line]
        if text.isascii():
            return line + 1, min(max(position.character, 0), len(text)) + 1
        units = 0
        for index, ch in enumerate(text):
            width = _width(ch, self.encoding)
            if units + width > position.character:
                return line + 1, index + 1
            units += width
        return line + 1, len(text) + 1

    def offset(self, position: Position) -> int:
        """The code-point offset into the text of an LSP position."""
        line, column = self.column(position)
        return self.starts[line - 1] + column - 1

    def offset_of(self, line: int, column: int) -> int:
        """The code-point offset of a 1-based line and column."""
        if line < 1:
            return 0
        if line > len(self.lines):
            return len(self.text)
        return self.starts[line - 1] + min(column - 1, len(self.lines[line - 1]))

    def line_column(self, offset: int) -> tuple[int, int]:
        """The 1-based line and column of a code-point offset."""
        import bisect

        offset = min(max(offset, 0), len(self.text))
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1
