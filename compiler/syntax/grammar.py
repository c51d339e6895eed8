"""The grammar's Lark side: the grammar text, Lark's parser (from the
pre-built tables in ``spec/parser_tables.py``) and the fast path's tables
derived from it. Lark is imported only when a function here is called: a
valid spec never needs it, only a syntax error's account (errors.py) and
table generation do. Both parser.py and errors.py call through this module
(``grammar.lark_parser()``), so neither imports the other at module level and a
test can swap Lark out in one place."""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from typing import TYPE_CHECKING, Any

from .lalr import Driver, keyword_terminals, lalr_tables
from .lexer import lexer_tables

if TYPE_CHECKING:
    import lark


@functools.cache
def grammar_text() -> str:
    return resources.files("fermata.spec").joinpath("fermata.lark").read_text(encoding="utf-8")


_OPTIONS: dict[str, object] = {"parser": "lalr", "lexer": "basic",
                                "maybe_placeholders": True}


def build_from_grammar() -> lark.Lark:
    """Build the LALR tables from the grammar (about half a second)."""
    import lark

    return lark.Lark(grammar_text(), **_OPTIONS)


@functools.cache
def lark_parser() -> lark.Lark:
    """The parser, from the pre-built tables in ``spec/parser_tables.py`` when
    they match the grammar (plain literals, never pickle), else built anew;
    its lexer reads keywords as the fast path does (:class:`_ContextualKeywords`)."""
    import lark

    from fermata.spec import parser_tables

    if grammar_sha256() != parser_tables.GRAMMAR_SHA256:
        parser = build_from_grammar()
    else:
        # What Lark's standalone parser does with the same data.
        parser = lark.Lark._load_from_dict(  # type: ignore[no-untyped-call]
            parser_tables.DATA, parser_tables.MEMO)
    return with_contextual_keywords(parser)


def with_contextual_keywords(parser: lark.Lark) -> lark.Lark:
    """``parser`` with its lexer reading keywords as the fast driver does,
    on ``parser``'s own tables (so build or load it first, renumber never)."""
    reader = Driver(lalr_tables(parser.parser.parser.parser.parse_table, parser.rules,
                                maybe_placeholders=bool(parser.options.maybe_placeholders)),
                    _NoTrees(), keyword_terminals(lexer_tables(parser.terminals, parser.lexer_conf.ignore)))
    parser.parser.lexer = _ContextualKeywords(parser.parser.lexer, reader)
    return parser


class _NoTrees:
    """A builder for a driver that only reads keywords, never parses."""

    def __getattr__(self, rule: str) -> Any:
        if rule.startswith("__"):
            raise AttributeError(rule)
        return list


class _ContextualKeywords:
    """Lark's basic lexer, with each keyword the parser cannot take where it
    stands read as a name where it can (:meth:`Driver.read_as`, the rule the
    fast driver applies): Lark is the reference the fast path is tested
    against and what describes syntax errors, so both must read keywords
    alike. (Lark's own contextual lexer would go further, choosing among all
    terminals by parser state, which the fast lexer, lexing ahead of the
    parser, cannot follow.)"""

    def __init__(self, lexer: Any, reader: Driver):
        self.lexer = lexer
        self.reader = reader

    def lex(self, lexer_state: Any, parser_state: Any) -> Any:
        keywords = self.reader.keywords
        for token in self.lexer.lex(lexer_state, parser_state):
            if token.type in keywords:
                kind = self.reader.read_as(parser_state.state_stack, token.type)
                if kind != token.type:
                    token = token.update(type=kind)
            yield token

    def __getattr__(self, name: str) -> Any:  # what else Lark asks of its lexer
        return getattr(self.lexer, name)


def grammar_sha256() -> str:
    return hashlib.sha256(grammar_text().encode("utf-8")).hexdigest()


def fast_tables(parser: lark.Lark) -> dict[str, Any]:
    """The fast path's lexer and LALR tables as plain data, from Lark's."""
    return {
        "lexer": lexer_tables(parser.terminals, parser.lexer_conf.ignore),
        "lalr": lalr_tables(parser.parser.parser.parser.parse_table, parser.rules,
                            maybe_placeholders=bool(parser.options.maybe_placeholders)),
    }
