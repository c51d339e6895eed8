"""Suppression comments: ``# fermata: ignore[F201, F305]``.

A suppression written after code applies to diagnostics reported on its own
line; one alone on its line applies to the next line holding code (lines
holding only comments are skipped, so several suppressions can be stacked
above one line; blank lines are not). A diagnostic's line is the first line
of its primary span. Free text may follow the ``]`` after a space, as the
reason: ``# fermata: ignore[F205] both writes are idempotent``.

A suppression that silences nothing is reported as F901, a malformed one
(no codes, an unknown directive, an unknown code) as F902. Syntax errors
(F0xx) cannot be suppressed: the rest of the file was not understood, so
there is nothing sound to keep quiet about. Neither can F9xx: they are about
the suppressions themselves.

Comments are found by a small tokenizer that knows the language's strings
(``"..."`` with backslash escapes, ``\"\"\"...\"\"\"`` without), as
``spec/fermata.lark`` defines them, so a ``#`` inside a
string is never taken for a comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..syntax.ast import Span
from . import codes
from .diagnostic import Diagnostic, Severity, Suggestions, did_you_mean

# Every code this module reports: severity and catalogue title.
CODES = codes.reported_by(codes.SUPPRESS)  # the registry's view: compiler/diagnostics/codes.py

EXAMPLE = "`# fermata: ignore[F201]`"

# `fermata:` then a word: only a word followed by `[` or by nothing, or the
# word `ignore` itself, makes a directive. So `# fermata: ignroe[F201]` is a
# malformed directive while `# fermata: the refund flow` is just a comment.
_PREFIX = re.compile(r"\s*fermata\s*:\s*")
_WORD = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)\s*")
_CODE_SHAPE = re.compile(r"F\d{3}")


# --------------------------------------------------------------------------
# Comments
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Comment:
    """One ``#`` comment: where its ``#`` is, its text after the ``#`` (no
    line break), and whether code precedes it on its line."""

    line: int
    column: int
    offset: int
    text: str
    trailing: bool


def scan(text: str) -> tuple[list[Comment], set[int]]:
    """The comments of ``text`` and the numbers of the lines holding code.

    A string that is never closed runs to the end of its line (``"``) or of
    the file (``\"\"\"``), as the parser will report; a triple-quoted string
    counts as code on every line it covers.
    """
    comments: list[Comment] = []
    code_lines: set[int] = set()
    line, line_start, i, n = 1, 0, 0, len(text)

    def newline(at: int) -> None:
        nonlocal line, line_start
        line += 1
        line_start = at + 1

    while i < n:
        ch = text[i]
        if ch == "\n":
            newline(i)
            i += 1
        elif ch in " \t\r\f\v":
            i += 1
        elif ch == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            comments.append(Comment(line, i - line_start + 1, i,
                                    text[i + 1:end].rstrip("\r"), line in code_lines))
            i = end
        elif text.startswith('"""', i):
            code_lines.add(line)
            i += 3
            # No escapes in a triple-quoted string: the first `"""` ends it
            # (the grammar's LONG_STRING).
            while i < n and not text.startswith('"""', i):
                if text[i] == "\n":
                    newline(i)
                    code_lines.add(line)
                i += 1
            i += 3
        elif ch == '"':
            code_lines.add(line)
            i += 1
            while i < n and text[i] not in '"\n':
                i += 2 if text[i] == "\\" and i + 1 < n and text[i + 1] != "\n" else 1
            if i < n and text[i] == '"':
                i += 1
        else:
            code_lines.add(line)
            i += 1
    return comments, code_lines


# --------------------------------------------------------------------------
# Directives
# --------------------------------------------------------------------------


@dataclass
class _Code:
    code: str
    span: Span
    target: int   # the line whose diagnostics it silences
    used: bool = False


def _span(comment: Comment, start: int, end: int) -> Span:
    """The span of ``comment.text[start:end]`` (one line: comments have no
    breaks); ``start`` -1 is the ``#`` itself."""
    column = comment.column + 1 + start
    return Span(comment.line, column, comment.line, column + max(end - start, 1),
                comment.offset + 1 + start, comment.offset + 1 + max(end, start + 1))


class _Targets:
    """The line each suppression comment silences: its own line for a
    trailing comment, else the first line below it that is not only a
    comment. Remembered for every line walked over, so a block of n comment
    lines costs n steps, not n * n (20,000 suppressions took 15 s)."""

    def __init__(self, code_lines: set[int], comment_lines: set[int], last_line: int):
        self.code_lines = code_lines
        self.comment_lines = comment_lines
        self.last_line = last_line
        self.below: dict[int, int] = {}   # line -> the first line from it on that is not only a comment

    def of(self, comment: Comment) -> int:
        if comment.trailing:
            return comment.line
        return self._first_not_comment(comment.line + 1)

    def _first_not_comment(self, line: int) -> int:
        walked = []
        while (line not in self.below and line in self.comment_lines
               and line not in self.code_lines and line <= self.last_line):
            walked.append(line)
            line += 1
        target = self.below.get(line, line)
        for each in walked:
            self.below[each] = target
        return target


class _Parser:
    """Turns comments into suppressed codes, reporting malformed ones."""

    def __init__(self, path: str, known: Iterable[str]):
        self.path = path
        self.known = frozenset(known)
        self._known_index: Suggestions | None = None   # built once, for the first unknown code
        self.codes: list[_Code] = []
        self.problems: list[Diagnostic] = []

    def suggest_code(self, code: str) -> str | None:
        if self._known_index is None:
            self._known_index = Suggestions(sorted(self.known))
        return self._known_index.closest(code)

    def _malformed(self, message: str, span: Span, help: str | None = None) -> None:
        self.problems.append(Diagnostic("F902", message, span, Severity.WARNING, self.path,
                                        help=help))

    def directive(self, comment: Comment, target: int) -> None:
        text = comment.text
        prefix = _PREFIX.match(text)
        if prefix is None:
            return
        word = _WORD.match(text, prefix.end())
        if word is None:
            if prefix.end() >= len(text.rstrip()):
                self._malformed("empty `fermata:` comment", _span(comment, -1, len(text.rstrip())),
                                help=f"write {EXAMPLE}")
            return
        name, after = word.group(1), word.end()
        opens = after < len(text) and text[after] == "["
        if name != "ignore":
            if opens or after >= len(text.rstrip()):
                self._malformed(f"unknown directive `{name}`",
                                _span(comment, word.start(1), word.end(1)),
                                help=(did_you_mean(name, ["ignore"]) or
                                      f"the only directive is `ignore`, e.g. {EXAMPLE}"))
            return
        whole = _span(comment, -1, len(text.rstrip()))  # from the `#`
        if not opens:
            self._malformed("`ignore` without the codes to suppress", whole,
                            help=f"name them in brackets, e.g. {EXAMPLE}")
            return
        close = text.find("]", after)
        if close < 0:
            self._malformed("`ignore[` is never closed with `]`", whole,
                            help=f"write {EXAMPLE}")
            return
        if close + 1 < len(text) and not text[close + 1].isspace():
            self._malformed("unexpected text after `]`", _span(comment, close + 1, len(text.rstrip())),
                            help="separate a reason from the `]` with a space")
            return
        self._codes(comment, after + 1, close, target)

    def _codes(self, comment: Comment, start: int, close: int, target: int) -> None:
        inner = comment.text[start:close]
        if not inner.strip():
            self._malformed("`ignore[]` names no code", _span(comment, start - 1, close + 1),
                            help=f"name the codes to suppress, e.g. {EXAMPLE}")
            return
        position = start
        for part in inner.split(","):
            lead = len(part) - len(part.lstrip())
            code = part.strip()
            where = _span(comment, position + lead, position + lead + len(code))
            position += len(part) + 1
            if not code:
                self._malformed("empty code in `ignore[...]`", where, help="remove the extra comma")
            elif code.startswith("F0") and code in self.known:
                self._malformed(f"`{code}` is a syntax error and cannot be suppressed", where,
                                help="fix the syntax: nothing after a syntax error is checked soundly")
            elif code.startswith("F9") and code in self.known:
                self._malformed(f"`{code}` cannot be suppressed", where,
                                help="fix or delete the suppression comment it reports")
            elif code not in self.known:
                shape = "" if _CODE_SHAPE.fullmatch(code) else " (codes look like `F201`)"
                self._malformed(f"unknown diagnostic code `{code}`{shape}", where,
                                help=_did_you_mean(self.suggest_code(code)))
            else:
                self.codes.append(_Code(code, where, target))


def _suppressible(d: Diagnostic) -> bool:
    return not d.code.startswith(("F0", "F9")) and d.span.line > 0


def apply_suppressions(diagnostics: Sequence[Diagnostic], text: str,
                       path: str | None = None, *, resolved: bool = False) -> list[Diagnostic]:
    """``diagnostics`` without the suppressed ones, plus F901/F902 for the
    suppression comments of ``text``. ``path`` names the file in F901/F902
    (default: the path of the first diagnostic). Without ``resolved``
    (``check --resolve``) the call-target codes were not looked for, so a
    suppression of one is not reported unused."""
    diagnostics = list(diagnostics)
    if "fermata" not in text:  # the common case: no directive, nothing to tokenize
        return diagnostics
    comments, code_lines = scan(text)
    candidates = [c for c in comments if _PREFIX.match(c.text)]
    if not candidates:
        return diagnostics
    from .catalogue import known_codes  # lazily: loading the catalogue reads files

    if path is None:
        path = diagnostics[0].path if diagnostics else "<string>"
    parser = _Parser(path, known_codes())
    comment_lines = {c.line for c in comments}
    last_line = text.count("\n") + 1
    targets = _Targets(code_lines, comment_lines, last_line)
    for comment in candidates:
        parser.directive(comment, targets.of(comment))

    by_line: dict[tuple[int, str], list[_Code]] = {}
    for entry in parser.codes:
        by_line.setdefault((entry.target, entry.code), []).append(entry)
    kept: list[Diagnostic] = []
    for d in diagnostics:
        matches = by_line.get((d.span.line, d.code), []) if _suppressible(d) else []
        for entry in matches:
            entry.used = True
        if not matches:
            kept.append(d)

    kept.extend(parser.problems)
    # After a syntax error the checks did not run (or ran on part of the
    # file): a suppression may well be needed once the syntax is fixed.
    if not any(d.code.startswith("F0") for d in diagnostics):
        for entry in parser.codes:
            if not entry.used and (resolved or entry.code not in codes.reported_by(codes.RESOLVE)):
                kept.append(Diagnostic(
                    "F901", f"unused suppression: no `{entry.code}` reported on line {entry.target}",
                    entry.span, Severity.WARNING, path,
                    help="delete it, or move it to the line the diagnostic is reported at"))
    return kept


def _did_you_mean(match: str | None) -> str | None:
    return f"did you mean `{match}`?" if match else None
