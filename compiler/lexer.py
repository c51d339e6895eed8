"""Text -> tokens, for the parser's fast path.

The terminals are the grammar's own (``spec/fermata.lark``, as Lark compiled
them), put together the way Lark's basic lexer does: one alternation tried in
Lark's order (priority, then longest possible match, then name), keywords
lexed as names and then retyped. What differs is only the cost: whitespace is
folded into the match before each token, a token is a plain tuple
``(type, text, span)`` rather than a ``lark.Token``, and the whole loop runs in
``re.finditer``. The lexer gives up on the first character no terminal
matches (``LexFailure``); the parser then asks Lark to describe the problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .ast import Span

Token = tuple[str, str, Span]

_WHITESPACE = "[ \\t\\f\\r\\n]"
_WHITESPACE_CHARS = " \t\f\r\n"
_new_span = tuple.__new__  # Span(...) without the Python-level __new__


class LexFailure(Exception):
    """No terminal matches at ``position``; ``tokens`` are those before it."""

    def __init__(self, position: int, tokens: list[Token] | None = None):
        super().__init__(position)
        self.position = position
        self.tokens = tokens if tokens is not None else []


def lexer_tables(terminals: Iterable[Any], ignore: Iterable[str], comment: str = "COMMENT") -> dict[str, Any]:
    """The lexer as plain data, from Lark's ``TerminalDef``s (made once, when
    the grammar's tables are generated). Of the ignored terminals, the
    comment terminal is kept aside for the formatter; the other must be the
    whitespace the lexer folds in front of every token."""
    terminals = list(terminals)
    plain = [t for t in terminals if t.pattern.type == "str"]
    keywords: dict[str, dict[str, str]] = {}
    soft: dict[str, str] = {}
    folded: set[str] = set()
    for regex_terminal in (t for t in terminals if t.pattern.type == "re"):
        pattern = re.compile(regex_terminal.pattern.to_regexp())
        for word in plain:
            if not pattern.fullmatch(word.pattern.value):
                continue
            if word.priority == regex_terminal.priority:
                keywords.setdefault(regex_terminal.name, {})[word.pattern.value] = word.name
                folded.add(word.name)
            elif word.priority < regex_terminal.priority:
                # A soft keyword: lexed as the name it also is (the regex
                # terminal wins), retyped by the parser where it is taken.
                soft[word.pattern.value] = word.name
                folded.add(word.name)
    skipped = set(ignore) - {comment}
    for name in skipped:
        terminal = next(t for t in terminals if t.name == name)
        if re.compile(terminal.pattern.to_regexp()).fullmatch(" \t\f\r\n") is None:
            raise ValueError(f"ignored terminal {name} is not the whitespace the lexer folds in")
    kept = [t for t in terminals if t.name not in folded and t.name not in skipped]
    kept.sort(key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
    alternatives = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in kept)
    return {
        # Whitespace never starts another token, so folding it in front of
        # every token matches what a separate whitespace token would. A
        # character no terminal takes is caught by BAD instead of being
        # skipped by finditer.
        "pattern": f"{_WHITESPACE}*(?:{alternatives}|(?P<BAD>[^ \\t\\f\\r\\n]))",
        "keywords": keywords,
        "soft_keywords": dict(sorted(soft.items())),
        # Only these may hold a newline (Lark's test: better too many than too few).
        "multiline": sorted(t.name for t in kept if _may_hold_newline(t.pattern.to_regexp())),
        "comment": comment,
    }


class Lexer:
    def __init__(self, tables: dict[str, Any]):
        """``tables`` as :func:`lexer_tables` makes them."""
        self.pattern = re.compile(tables["pattern"])
        self.type_of_group = [""] * (self.pattern.groups + 1)
        for name, index in self.pattern.groupindex.items():
            self.type_of_group[index] = name
        self.keywords: dict[str, dict[str, str]] = tables["keywords"]
        self.multiline = frozenset(tables["multiline"])
        self.comment: str = tables["comment"]

    def tokens(self, text: str) -> tuple[list[Token], list[Token]]:
        """The tokens of ``text`` and, apart, its comments."""
        tokens: list[Token] = []
        comments: list[Token] = []
        append = tokens.append
        type_of_group = self.type_of_group
        keywords = self.keywords
        unusual = self.multiline | {"BAD", self.comment}
        line, line_start, scanned = 1, 0, 0
        # The pattern folds whitespace in front of each token; whitespace
        # that ends the text has no token after it, so every position in it
        # would be tried and fail at the end: quadratic in its length. The
        # scan stops before it (only a comment can take it in: see below).
        stop = len(text.rstrip(_WHITESPACE_CHARS))
        for match in self.pattern.finditer(text, 0, stop):
            group: int = match.lastindex  # type: ignore[assignment]  # every alternative is a group
            start, end = match.span(group)
            if start != scanned:  # whitespace first: count its newlines
                newlines = text.count("\n", scanned, start)
                if newlines:
                    line += newlines
                    line_start = text.rindex("\n", scanned, start) + 1
            scanned = end
            kind = type_of_group[group]
            value = text[start:end]
            column = start - line_start + 1
            if kind in keywords:
                kind = keywords[kind].get(value, kind)
            elif kind in unusual:
                if kind == "BAD":
                    raise LexFailure(start, tokens)
                inside = value.count("\n")
                if inside:  # a triple-quoted string
                    last_line_start = text.rindex("\n", start, end) + 1
                    span = _new_span(Span, (line, column, line + inside, end - last_line_start + 1,
                                            start, end))
                    line, line_start = line + inside, last_line_start
                else:
                    span = _new_span(Span, (line, column, line, column + end - start, start, end))
                (comments if kind == self.comment else tokens).append((kind, value, span))
                continue
            append((kind, value, _new_span(Span, (line, column, line, column + end - start, start, end))))
        if comments and comments[-1][2].end == stop < len(text):
            comments[-1] = self._whole_last_comment(text, comments[-1])
        return tokens, comments

    @staticmethod
    def _whole_last_comment(text: str, comment: Token) -> Token:
        """The comment that ends the text with the spaces or tabs after it, up
        to the end of its line, as the lexer would have taken them."""
        _kind, _value, span = comment
        end = text.find("\n", span.end)
        end = len(text) if end < 0 else end
        return (comment[0], text[span.start:end],
                span._replace(end_column=span.column + end - span.start, end=end))


def _may_hold_newline(regex: str) -> bool:
    return ("\n" in regex or "\\n" in regex or "\\s" in regex or "[^" in regex
            or ("(?s" in regex and "." in regex))
