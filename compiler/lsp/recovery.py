"""Syntax error recovery for the editor.

The parser stops at the first syntax error (``parser.py``), which is right
for `fermata check` but would leave an editor blind while a line is half
typed. Here a text that does not parse is *repaired* into one that does,
by edits that keep every other character where it was, so the repaired
text's diagnostics and tree point at the right places in the real one:

- the file ends early (an unclosed `{`): append a `}`;
- a token cannot come where it is: turn the blank before it into a `}`
  (a node or block left open: the usual missing brace), or blank the
  token's line, or the rest of that line, or the line before it (a
  statement left unfinished, `a -> `, fails at the next line's token).

Each repair is tried with the fast parser alone (no error message is built)
and kept if the text then parses, or fails later than before; a handful of
rounds, within a time budget, so a hopeless text costs little. What the
editor then shows: the real syntax error, plus every diagnostic of the
repaired text except those on blanked lines.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..diagnostics.diagnostic import DiagnosticSink
from ..syntax import ast
from ..syntax.ast_builder import ParseState, current_parse
from ..syntax.lalr import END, ParseFailure
from ..syntax.lexer import LexFailure
from ..syntax.parser import lexer_and_driver

MAX_ROUNDS = 8
TIME_BUDGET = 0.25  # seconds; past it, what was repaired so far is used or nothing


@dataclass
class Repair:
    text: str
    blanked_lines: set[int] = field(default_factory=set)  # 1-based


def failure_offset(text: str) -> int | None:
    """Where the fast parser gives up on ``text`` (a code-point offset; the
    text's length for an early end), or None when it parses."""
    lexer, driver = lexer_and_driver()
    reset = current_parse.set(ParseState(DiagnosticSink("<probe>")))
    last: list[int] = [0]

    def tracked(tokens: list[tuple[str, str, ast.Span]]) -> Iterator[tuple[str, str, ast.Span]]:
        for token in tokens:
            last[0] = token[2].start if token[0] != END else len(text)
            yield token

    try:
        tokens, _comments = lexer.tokens(text)
        tokens.append((END, "", ast.NO_SPAN))
        driver.parse(tracked(tokens))  # type: ignore[arg-type]  # any iterable of tokens will do
    except LexFailure as failure:
        return failure.position
    except ParseFailure:
        return last[0]
    finally:
        current_parse.reset(reset)
    return None


def repair(text: str, limit: int | None = None) -> Repair | None:
    """A text of the same layout as ``text`` that parses, or None.

    With ``limit``, None as soon as the parser fails at or after that offset,
    for ``text`` or a candidate: the language server repairs a stretch of a
    file on its own (``incremental.py``), and past the stretch the file's
    own text, not the stretch's end, decides which repair wins."""
    deadline = time.perf_counter() + TIME_BUDGET
    current = Repair(text)
    failed_at = failure_offset(text)
    for _round in range(MAX_ROUNDS):
        if failed_at is None:
            return current
        if time.perf_counter() > deadline or (limit is not None and failed_at >= limit):
            return None
        best: tuple[Repair, int | None] | None = None
        for candidate in _candidates(current, failed_at):
            offset = failure_offset(candidate.text)
            if limit is not None and offset is not None and offset >= limit:
                return None
            if offset is None:
                best = (candidate, None)
                break
            if offset > failed_at and (best is None or (best[1] is not None and offset > best[1])):
                best = (candidate, offset)
        if best is None:
            return None
        current, failed_at = best
    return current if failed_at is None else None


def _candidates(current: Repair, offset: int) -> Iterator[Repair]:
    text = current.text
    if not text[offset:].strip():
        yield Repair(text + "}", set(current.blanked_lines))
        return
    if offset > 0 and text[offset - 1] in " \t":
        yield Repair(text[:offset - 1] + "}" + text[offset:], set(current.blanked_lines))
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end == -1 else line_end
    line = text.count("\n", 0, offset) + 1
    blank = " " * (line_end - line_start)
    yield Repair(text[:line_start] + blank + text[line_end:], current.blanked_lines | {line})
    if offset > line_start:
        yield Repair(text[:offset] + " " * (line_end - offset) + text[line_end:],
                     current.blanked_lines | {line})
    # A statement left unfinished (`a -> `) is noticed only at the next
    # line's first token: blank the last line with text before this one.
    previous_end = text.rfind("\n", 0, line_start)
    while previous_end > 0:
        previous_start = text.rfind("\n", 0, previous_end) + 1
        if text[previous_start:previous_end].strip():
            previous_line = text.count("\n", 0, previous_start) + 1
            yield Repair(text[:previous_start] + " " * (previous_end - previous_start) + text[previous_end:],
                         current.blanked_lines | {previous_line})
            break
        previous_end = previous_start - 1
