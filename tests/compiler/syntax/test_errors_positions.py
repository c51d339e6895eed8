"""Describing a syntax error never fails for want of a position: Lark types
a token's and an error's positions as optional, and such errors must still
become located diagnostics (not a TypeError, exit code 3)."""

from __future__ import annotations

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from fermata.compiler.syntax.errors import describe_exception, describe_unexpected_character

TEXT = "flow f {\n  node a ?\n}\n"


def test_a_token_without_positions_is_placed_at_the_start():
    token = lark.Token("NAME", "oops")          # built by hand: no line, column nor offset
    diagnostic = describe_exception(UnexpectedToken(token, {"RBRACE"}), TEXT, "f.flow")
    assert diagnostic.code == "F001"
    assert (diagnostic.span.line, diagnostic.span.column, diagnostic.span.start) == (1, 1, 0)
    assert "name `oops`" in diagnostic.message


def test_an_unexpected_character_without_its_offset_is_found_by_line_and_column():
    offset = TEXT.index("?")
    error = UnexpectedCharacters(TEXT, offset, 2, 10)
    error.pos_in_stream = None                  # what the base class declares
    described = describe_exception(error, TEXT, "f.flow")
    assert described == describe_unexpected_character(TEXT, "f.flow", offset)
    assert (described.span.line, described.span.column, described.span.start) == (2, 10, offset)

