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

from .lalr import lalr_tables
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
    they match the grammar (plain literals, never pickle), else built anew."""
    import lark
    from fermata.spec import parser_tables

    if parser_tables.GRAMMAR_SHA256 != grammar_sha256():
        return build_from_grammar()
    # What Lark's standalone parser does with the same data.
    parser: lark.Lark = lark.Lark._load_from_dict(  # type: ignore[no-untyped-call]
        parser_tables.DATA, parser_tables.MEMO)
    return parser


def grammar_sha256() -> str:
    return hashlib.sha256(grammar_text().encode("utf-8")).hexdigest()


def fast_tables(parser: lark.Lark) -> dict[str, Any]:
    """The fast path's lexer and LALR tables as plain data, from Lark's."""
    return {
        "lexer": lexer_tables(parser.terminals, parser.lexer_conf.ignore),
        "lalr": lalr_tables(parser.parser.parser.parser.parse_table, parser.rules,
                            maybe_placeholders=bool(parser.options.maybe_placeholders)),
    }
