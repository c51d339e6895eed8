"""Lark's parse errors -> diagnostics a user can act on.

A raw LALR error says "unexpected token RBRACE, expected one of LET SET ...".
This module says instead what was found and what could come there, in the
language's own words ("expected a step or `}` to close node `review` opened at
line 12"), points at the opening bracket that is still open, and adds a hint
for the common mistakes in :data:`HINTS`, recognised by the parser state
the example fails in (not by string matching), whatever comes before it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import lark
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
)

from ..diagnostics import codes
from ..diagnostics.diagnostic import Diagnostic, Label, Severity
from . import grammar
from .ast import KEYWORDS, Span

CODES = codes.reported_by(codes.SYNTAX)  # the registry's view: compiler/diagnostics/codes.py


# Common mistakes, each recognised by a few failing examples (matched by the
# parser state they fail in, so one example covers a family: `_Where`).
HINTS: dict[str, list[str]] = {
    "to compare, use `==`; `=` only appears in `let`, `set` and defaults": [
        "flow f { node a { if x = 1 { } } }",
        "flow f { a -> b when x = 1 }",
        "flow f { node a { let y = x = 1 } }",
    ],
    "every step starts with a keyword: write `set x = ...` to change a field, `let x = ...` for a local": [
        "flow f { node a { x = 1 } }",
        "flow f { node a { x += 1 } }",
        "flow f { node a { x } }",
    ],
    "constraints come before `?`: write `str(min 1)?`": [
        "flow f { state { x: str?(min 1) } }",
        "type T = int?(max 1)",
        "flow f { node a { let d = interrupt q expect str?(min 1) } }",
        "type T = {a: str?(min 1)}",
    ],
    "a state field needs a type: `name: T` or `name: T = default`": [
        "flow f { state { x } }",
        "flow f { state { x = 1 } }",
    ],
    'the call target is a string: `call "package.module:function"(...)`': [
        "flow f { node a { call pkg.mod } }",
        "flow f { node a { let x = call pkg } }",
    ],
    "an edge is `source -> target`": [
        "flow f { a b }",
        "flow f { a, b c }",
    ],
    "a node's settings go before its `{`: `node name retry 3 timeout 30s { ... }`": [
        "flow f { node a { retry 3 } }",
    ],
}

# What each terminal is called in a message.
_TERMINAL_WORDS = {
    "NAME": "a name", "STRING": "a string", "LONG_STRING": "a string", "NUMBER": "a number",
    "DURATION": "a duration such as `30s`", "$END": "the end of the file",
    "LBRACE": "`{`", "RBRACE": "`}`", "LPAR": "`(`", "RPAR": "`)`", "LSQB": "`[`", "RSQB": "`]`",
    "COMMA": "`,`", "COLON": "`:`", "SEMICOLON": "`;`", "DOT": "`.`", "QMARK": "`?`", "VBAR": "`|`",
    "ASSIGN": "`=`", "PLUS_ASSIGN": "`+=`", "ARROW": "`->`", "EQ": "`==`", "NE": "`!=`", "LE": "`<=`",
    "GE": "`>=`", "LT": "`<`", "GT": "`>`", "NULL_OP": "`??`", "PLUS": "`+`", "MINUS": "`-`",
    "STAR": "`*`", "SLASH": "`/`", "PERCENT": "`%`",
}
_STEP_STARTS = {"LET", "SET", "CALL", "INTERRUPT", "IF", "FAIL", "WAIT", "RUN"}
_MEMBER_STARTS = {"STATE", "INPUT", "OUTPUT", "NODE"}
_ITEM_STARTS = {"FLOW", "TYPE", "USE"}
_EXPR_STARTS = {"NUMBER", "STRING", "LONG_STRING", "TRUE", "FALSE", "NULL", "LSQB", "LBRACE", "LPAR",
                "MINUS", "NOT"}
_BINARY_OPERATORS = {"EQ", "NE", "LE", "GE", "LT", "GT", "IN", "NULL_OP", "PLUS", "MINUS", "STAR",
                     "SLASH", "PERCENT", "AND", "OR", "DOT", "LSQB"}
_CLOSERS = {"LBRACE": ("RBRACE", "}"), "LPAR": ("RPAR", ")"), "LSQB": ("RSQB", "]")}


def _word(terminal: str) -> str:
    if terminal in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[terminal]
    if terminal.lower() in KEYWORDS or terminal.isupper():
        return f"`{terminal.lower()}`"
    return terminal


def describe_found(token: lark.Token) -> str:
    if token.type == "$END":
        return "end of file"
    text = str(token)
    if token.type in ("STRING", "LONG_STRING"):
        return "a string"
    if token.type == "NUMBER":
        return f"number `{text}`"
    if token.type == "DURATION":
        return f"duration `{text}`"
    if text in KEYWORDS:
        return f"keyword `{text}`"
    if token.type == "NAME":
        return f"name `{text}`"
    return f"`{text}`"


@dataclass(frozen=True)
class _Opener:
    """An open bracket and what it opened (``node `review```)."""

    token: lark.Token
    what: str

    @property
    def closer(self) -> tuple[str, str]:
        return _CLOSERS[self.token.type]


# What a block's `{` belongs to, by the keyword that last came before it.
_BLOCK_KEYWORDS = {"STATE": "the `state` block", "IF": "the `if` block", "ELSE": "the `else` block"}
# After one of these a `{` opens a record value, not a block.
_VALUE_BEFORE = frozenset({"ASSIGN", "LPAR", "LSQB", "COMMA", "COLON", "EXPECT", "VBAR", "PLUS", "MINUS",
                           "EQ", "NE", "IN", "NULL_OP", "AND", "OR", "NOT", "ARROW"})
_BRACKET_NAMES = {"LBRACE": "record", "LPAR": "parenthesis", "LSQB": "list"}


def _open_brackets(text: str, upto: int) -> list[_Opener]:
    """The brackets still open before offset ``upto``, outermost first, each
    with what it opened (``node `review```, ``the `if` block``, ``list``)."""
    tokens: list[Any] = []
    try:
        for token in grammar.lark_parser().lex(text):
            if _token_start(token)[2] >= upto:
                break
            tokens.append(token)
    except UnexpectedInput:
        pass  # a bad character after the error: the brackets before it are what count
    return _brackets_left_open(tokens)


class _FastToken(NamedTuple):
    """The fast lexer's token with the attributes of a ``lark.Token`` that
    :func:`_brackets_left_open` and a diagnostic's label read."""

    type: str
    value: str
    line: int
    column: int
    start_pos: int

    def __str__(self) -> str:
        return self.value


def _brackets_left_open(tokens: Iterable[Any]) -> list[_Opener]:
    stack: list[_Opener] = []
    previous: Any = None
    owner = "block"  # what the next block-opening `{` belongs to
    for token in tokens:
        kind = token.type
        # A keyword right after `flow`/`node` is the name (keywords are contextual).
        if (previous is not None and previous.type in ("FLOW", "NODE")
                and (kind == "NAME" or kind == str(token).upper())):
            owner = f"{previous.type.lower()} `{token}`"
        elif kind in _BLOCK_KEYWORDS:
            owner = _BLOCK_KEYWORDS[kind]
        elif kind == "INTERRUPT":
            owner = "record"  # `interrupt ask {...}`: a `{` after it is a payload
        if kind == "LBRACE" and owner != "record" and (previous is None or previous.type not in _VALUE_BEFORE):
            stack.append(_Opener(token, owner))
            owner = "block"
        elif kind in _CLOSERS:
            stack.append(_Opener(token, _BRACKET_NAMES[kind]))
        elif kind in ("RBRACE", "RPAR", "RSQB") and stack:
            stack.pop()
        previous = token
    return stack


def _expected_words(expected: Iterable[str], opener: _Opener | None) -> list[str]:
    expected = set(expected)
    words: list[str] = []
    if expected >= _STEP_STARTS:
        words.append("a step (`let`, `set`, `call`, `interrupt`, `if`, `fail`, `wait` or `run`)")
        # A docstring may open a node too, but naming it here only distracts.
        expected -= _STEP_STARTS | {"STRING", "LONG_STRING"}
    if expected >= _MEMBER_STARTS:
        words.append("`state`, `input`, `output`, a `node`, an edge or `interrupt before/after`")
        expected -= _MEMBER_STARTS | {"NAME", "START", "END", "INTERRUPT"}
    if expected >= _ITEM_STARTS:
        words.append("`flow` or `type`")
        expected -= _ITEM_STARTS
    if len(expected & _EXPR_STARTS) >= 5:
        words.append("an expression")
        expected -= _EXPR_STARTS | {"NAME"}
    if len(expected & _BINARY_OPERATORS) >= 5:
        words.append("an operator")
        expected -= _BINARY_OPERATORS
    closer_word = None
    if opener is not None and opener.closer[0] in expected:
        expected.discard(opener.closer[0])
        closer_word = (f"`{opener.closer[1]}` to close {opener.what} opened at line "
                       f"{opener.token.line}")
    expected.discard("SEMICOLON")
    words.extend(sorted({_word(t) for t in expected}))
    if closer_word:
        words.append(closer_word)
    return words


def _join(words: list[str]) -> str:
    if not words:
        return "something else"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _token_start(token: lark.Token) -> tuple[int, int, int]:
    """``(line, column, offset)`` of a token. Lark types each as optional (a
    token built by hand has none): a missing one counts as the text's start,
    so describing a syntax error never fails for want of a position."""
    return (token.line or 1, token.column or 1, token.start_pos or 0)


def _span_at(text: str, line: int, column: int, pos: int, length: int = 1) -> Span:
    return Span(line, column, line, column + max(1, length), pos, pos + max(1, length))


def _eof_span(text: str) -> Span:
    lines = text.split("\n")
    line = len(lines)
    column = len(lines[-1]) + 1
    return Span(line, column, line, column + 1, len(text), len(text))


def _hint(error: UnexpectedInput, text: str) -> str | None:
    token = getattr(error, "token", None)
    if token is not None and token.type == "NAME" and str(token) in ("elif", "elsif", "elseif"):
        return "write `else if`"
    if token is not None and token.type == "VBAR":
        return "write `or` (`|` only separates the strings of a literal union type)"
    try:
        return _matching_hint(_Where.of(error))
    except Exception:  # noqa: BLE001 - a hint is a nicety; never let it hide the error
        return None


class _Where(NamedTuple):
    """Where a parse failed, as far as a hint is concerned: the LALR state on
    top of the parser's stack, the terminals it could have taken there, and
    the token it was given.

    Lark's own ``match_examples`` also compares the *depth* of the stack, so
    a hint depended on what came before: a `type` above the flow, or a member
    before the node, each leaves one more entry below (``item*`` and
    ``member*`` are lists), and the example written alone no longer matched.
    The top state alone is the same whatever precedes: once `flow` (or `{`)
    is shifted, the state is the one for that kernel of LR(0) items, reached
    from any state below. ``accepts`` is too: the reductions it simulates
    cannot pass an open bracket, and past a whole item or member the same
    terminals may follow anywhere. (A step of the same node right before the
    mistake still counts: the parser fails in the state after that step's
    last token, with that step not yet reduced, so `let y = 1 x = 1` gets
    no hint where `x = 1` alone does.)"""

    state: object
    accepts: frozenset[str]
    token_type: str
    token_text: str

    @classmethod
    def of(cls, error: UnexpectedInput) -> _Where | None:
        state = getattr(error, "state", None)
        token = getattr(error, "token", None)
        if state is None or token is None:
            return None
        # Lark's parser state (its type is not promised: an older Lark gave the number itself).
        top = getattr(state, "position", state)
        accepts = getattr(error, "accepts", None) or getattr(error, "expected", None) or ()
        return cls(top, frozenset(accepts), token.type, str(token))


@functools.cache
def _hint_examples() -> tuple[tuple[str, _Where], ...]:
    """Each example of :data:`HINTS` with where it fails (parsed once)."""
    examples: list[tuple[str, _Where]] = []
    for label, texts in HINTS.items():
        for text in texts:
            try:
                grammar.lark_parser().parse(text)
            except UnexpectedInput as error:
                where = _Where.of(error)
                if where is not None:
                    examples.append((label, where))
            else:
                raise AssertionError(f"the hint example {text!r} parses")
    return tuple(examples)


def _matching_hint(where: _Where | None) -> str | None:
    """The hint of the example failing in the same state with the same
    terminals expected; among several, one with the same token (its text,
    then its kind), else the first."""
    if where is None:
        return None
    same = [(label, example) for label, example in _hint_examples()
            if example.state == where.state and example.accepts == where.accepts]
    for alike in (lambda e: e.token_text == where.token_text, lambda e: e.token_type == where.token_type,
                  lambda e: True):
        for label, example in same:
            if alike(example):
                return label
    return None


def _keyword_taken(text: str, at: int) -> str | None:
    """A hint when the token before the error (at offset ``at``) is a
    keyword that, read as a name, would have let the parser go on
    (`node input {} ... input -> b`, `state { a: int = 1 in: int }`): the
    keyword won, and the user most likely meant the name. Asked of the fast
    lexer and driver, which read keywords as Lark does."""
    from ..diagnostics.diagnostic import DiagnosticSink
    from .ast_builder import ParseState, current_parse
    from .lalr import ParseFailure
    from .lexer import LexFailure
    from .parser import lexer_and_driver

    lexer, driver = lexer_and_driver()
    try:
        tokens = lexer.tokens(text)[0]
    except LexFailure as failure:
        tokens = failure.tokens
    index = next((i for i, token in enumerate(tokens) if token[2].start == at), 0)
    if index == 0 or tokens[index - 1][0] not in driver.keywords:
        return None
    kind, word, span = tokens[index - 1]
    as_name = [*tokens[:index - 1], (driver.keywords[kind], word, span), tokens[index]]
    reset = current_parse.set(ParseState(DiagnosticSink("<hint>")))
    try:
        driver.parse(as_name)
    except ParseFailure as failure:
        if failure.token is not None:   # the next token is refused after the name too
            return None
    finally:
        current_parse.reset(reset)
    return _keyword_taken_hint(word, followed_by=tokens[index][0])


def _keyword_taken_hint(word: str, followed_by: str) -> str:
    from .keywords import refused_words

    if followed_by == "ARROW":
        return f"`{word}` is read as the keyword here, so no edge can start from a node named `{word}`: rename the node"
    tip = "" if word in refused_words("local") else f" (inside an expression, `({word})` is read as a name)"
    return f"`{word}` is read as the keyword here, not as a name; if you meant a name, rename it{tip}"


def describe_exception(error: UnexpectedInput, text: str, path: str) -> Diagnostic:
    if isinstance(error, UnexpectedCharacters):
        return _unexpected_character(error, text, path)
    token: lark.Token | None = getattr(error, "token", None)
    at_end = isinstance(error, UnexpectedEOF) or (token is not None and token.type == "$END")
    offset = len(text) if at_end or token is None else _token_start(token)[2]
    stack = _open_brackets(text, offset)
    opener = stack[-1] if stack else None
    # `accepts` simulates the pending reductions, so it is exact; `expected`
    # is the raw LALR row, which holds every token that may follow anywhere.
    expected = getattr(error, "accepts", None) or getattr(error, "expected", None) or set()
    words = _expected_words(expected, opener)
    labels = _opened_here(opener)
    if at_end:
        return _end_of_file(path, text, words, labels)
    assert token is not None
    hint = _keyword_taken(text, token.start_pos or 0) or _hint(error, text)
    found = describe_found(token)
    if hint is None and str(token) in KEYWORDS and "NAME" in expected:
        hint = f"`{token}` is a keyword and cannot be a name here: rename it (a record key may be quoted)"
    line, column, start = _token_start(token)
    span = Span(line, column, token.end_line or line, token.end_column or column + 1, start, token.end_pos or start + 1)
    return Diagnostic("F001", f"unexpected {found}: expected {_join(words)}", span, Severity.ERROR, path,
                      tuple(labels), hint)


def describe_end_of_file(text: str, path: str, accepts: set[str], tokens: Iterable[Any]) -> Diagnostic:
    """F005 from the fast parser's own account: the terminals it could have
    taken (:meth:`Driver.accepts`) and the tokens it read (``(type, text,
    span)``). Exactly what Lark's exception gives (a test holds the two
    equal), without Lark parsing and lexing the whole text again: on a large
    file that is seconds."""
    stack = _brackets_left_open(_FastToken(kind, value, span.line, span.column, span.start)
                                for kind, value, span in tokens)
    opener = stack[-1] if stack else None
    return _end_of_file(path, text, _expected_words(accepts, opener), _opened_here(opener))


def _opened_here(opener: _Opener | None) -> list[Label]:
    if opener is None:
        return []
    token = opener.token
    return [Label(_span_at("", *_token_start(token)), f"{opener.what} opened here")]


def _end_of_file(path: str, text: str, words: list[str], labels: list[Label]) -> Diagnostic:
    return Diagnostic("F005", f"unexpected end of file: expected {_join(words)}", _eof_span(text),
                      Severity.ERROR, path, tuple(labels), None)


_CHARACTER_HINTS = {
    "'": "strings use double quotes: \"...\"",
    "&": "write `and`",
    "|": "write `or` (`|` only separates the strings of a literal union type)",
    "!": "write `not` (`!=` compares)",
    "=": None,
    "`": "strings use double quotes: \"...\"",
    "$": "names are letters, digits and `_`",
    "@": "names are letters, digits and `_`",
}


def _unexpected_character(error: UnexpectedCharacters, text: str, path: str) -> Diagnostic:
    # Lark sets the offset on this error; its base class declares it None.
    position: int | None = getattr(error, "pos_in_stream", None)
    if position is None:
        return describe_unexpected_character(text, path, _offset_of(text, error.line, error.column))
    return _character_at(text, path, position, error.line, error.column)


def _offset_of(text: str, line: int, column: int) -> int:
    """The offset of a 1-based line and column in ``text``."""
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
    return start + column - 1


def describe_unexpected_character(text: str, path: str, position: int) -> Diagnostic:
    """F002 (or F003) for the character at ``position``, where no terminal
    matches and no parse error comes before: what Lark would say, without
    Lark parsing the text up to it."""
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return _character_at(text, path, position, line, column)


def _character_at(text: str, path: str, position: int, line: int, column: int) -> Diagnostic:
    char = text[position] if position < len(text) else ""
    span = _span_at(text, line, column, position)
    if char == '"':
        rest = text[position:].split("\n", 1)[0]
        return Diagnostic("F003", "unterminated string",
                          _span_at(text, line, column, position, len(rest)),
                          Severity.ERROR, path, (),
                          'close the string with `"` on the same line, or use `"""` for text over '
                          "several lines")
    shown = repr(char)[1:-1] if not char.isprintable() or char == "" else char
    hint = _CHARACTER_HINTS.get(char)
    if char == "|" and text[position:position + 2] == "||":
        hint = "write `or`"
    return Diagnostic("F002", f"unexpected character `{shown}`", span, Severity.ERROR, path, (), hint)

