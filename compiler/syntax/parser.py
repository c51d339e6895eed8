"""Text -> AST. ``parse`` never raises: every problem is a diagnostic.

The grammar is ``spec/fermata.lark`` (LALR(1), so parsing is linear and
errors are found at the first token that cannot continue a valid file). Lark
compiles it into tables; a valid file is lexed by ``lexer.py`` and parsed by
``lalr.py`` on those tables, building the AST as it goes (``ast_builder.py``).
On the first error, Lark parses the text itself, and its exception becomes a
diagnostic in ``syntax_errors.py``: the same tables, so the same verdict, and
Lark knows how to say what was expected.
"""

from __future__ import annotations

import functools
import re
from typing import Any, cast

from ..diagnostics.diagnostic import Diagnostic, DiagnosticSink
from . import ast, grammar
from .ast_builder import AstBuilder, ParseState, current_parse
from .lalr import END, Driver, ParseFailure, keyword_terminals
from .lexer import Lexer, LexFailure


@functools.cache
def lexer_and_driver() -> tuple[Lexer, Driver]:
    """The fast path's lexer and driver, from the pre-built tables in
    ``spec/fast_tables.py`` when they match the grammar (then Lark is not
    even imported until a file has a syntax error), else from Lark's."""
    from fermata.spec import fast_tables as prebuilt

    # The generated module types TABLES as a plain literal (object to mypy).
    tables = (cast("dict[str, Any]", prebuilt.TABLES) if grammar.grammar_sha256() == prebuilt.GRAMMAR_SHA256
              else grammar.fast_tables(grammar.lark_parser()))
    return Lexer(tables["lexer"]), Driver(tables["lalr"], AstBuilder(), keyword_terminals(tables["lexer"]))


def parse(text: str, path: str = "<string>") -> tuple[ast.Module | None, list[Diagnostic]]:
    """The module of ``text``, or None with diagnostics saying why not."""
    sink = DiagnosticSink(path)
    lexer, driver = lexer_and_driver()
    reset = current_parse.set(ParseState(sink))
    try:
        tokens, comments = lexer.tokens(text)
        tokens.append((END, "", ast.NO_SPAN))
        module = driver.parse(tokens)
    except LexFailure as failure:
        # Lark parses as it lexes: a parse error before the character no
        # terminal takes is the one it reports. Without one, the character is
        # the error, and it is described without Lark parsing the whole text
        # before it again (a stray byte near the end of a large file).
        try:
            driver.parse(failure.tokens)
        except ParseFailure as earlier:
            if earlier.token is not None:
                return None, [_describe_syntax_error(text, path, _failed_at(earlier))]
        from .errors import describe_unexpected_character

        return None, [describe_unexpected_character(text, path, failure.position)]
    except ParseFailure as failure:
        # Only the syntax error: what the builder said before it may be a
        # consequence of it, and what follows it was never read.
        if failure.token is not None and failure.token[0] == END:
            # The text ended too early: the fast parser knows what it could
            # have taken, and Lark would re-read the whole (maybe huge) text.
            from .errors import describe_end_of_file

            return None, [describe_end_of_file(text, path, driver.accepts(failure.states), tokens[:-1])]
        return None, [_describe_syntax_error(text, path, _failed_at(failure))]
    finally:
        current_parse.reset(reset)
    if sink.has_errors:
        return None, _in_source_order(sink.items)
    _warn_bidi(text, sink)
    kept = tuple(ast.Comment(value.rstrip(), span) for _kind, value, span in comments)
    return ast.Module(module.value, kept, module.span), _in_source_order(sink.items)


# Bidirectional controls (U+061C, U+200E-F, U+202A-E, U+2066-9) make an
# editor or a review show text in another order than the parser reads it:
# "Trojan Source", CVE-2021-42574. Meaningless in a spec, so always reported.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _warn_bidi(text: str, sink: DiagnosticSink) -> None:
    """F015 at the first bidirectional control of each line that has one."""
    if _BIDI.search(text) is None:   # one scan of the text: the common case
        return
    seen: set[int] = set()
    for match in _BIDI.finditer(text):
        start = match.start()
        line, column = text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start)
        if line in seen:
            continue
        seen.add(line)
        sink.warning("F015", f"bidirectional control character U+{ord(match.group()):04X} in the source",
                     ast.Span(line, column, line, column + 1, start, match.end()),
                     help="it makes editors and reviews show this line in another order than "
                          "Fermata reads it; delete it (write `\\u202e` in a string if you mean it)")


def _failed_at(failure: ParseFailure) -> int | None:
    """Where the fast path gave up (an offset), if known."""
    token = failure.token
    if token is None or token[0] == END:
        return None
    return int(token[2].end)


def _describe_syntax_error(text: str, path: str, failed_at: int | None = None) -> Diagnostic:
    """Lark's account of the error. Lark parses only up to the end of the
    line where the fast path gave up: the same tables and tokens fail at the
    same place, and the rest of a large file would double the cost of an
    error near its start."""
    import lark

    from .errors import describe_exception

    prefixes = [text]
    if failed_at is not None:
        line_end = text.find("\n", failed_at)
        if line_end >= 0:
            prefixes.insert(0, text[:line_end])
    for prefix in prefixes:
        try:
            grammar.lark_parser().parse(prefix)
        except lark.exceptions.UnexpectedInput as error:
            if isinstance(error, lark.exceptions.UnexpectedEOF) and prefix is not text:
                continue   # not where the fast path failed: ask again with the whole text
            return describe_exception(error, text, path)
    raise AssertionError("the fast parser rejected a text Lark accepts")


def _in_source_order(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    # The builder reports bottom up (a node's repeated `retry` after the
    # strings inside it); readers expect the order of the text.
    return sorted(diagnostics, key=Diagnostic.sort_key)


def parse_or_raise(text: str, path: str = "<string>") -> ast.Module:
    """For tests and tools that know their input is valid."""
    from ..errors import CompileError

    module, diagnostics = parse(text, path)
    if module is None:
        raise CompileError(diagnostics, text)
    return module
