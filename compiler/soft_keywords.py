"""Soft keywords for Lark's side of the parser (error descriptions, tests).

The words version 2 adds (``where to within answer remind every wait for
until``) are keywords only inside the clause that uses them. The grammar
gives them a priority below ``NAME``'s, so Lark's basic lexer lexes them as
names; this wrapper retypes such a name into its keyword where the LALR
state the parser is in takes that keyword, as a contextual lexer would. The
fast driver (``lalr.Driver``) does the same on its own tables, so both
parsers accept exactly the same texts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import lark
from lark.lexer import Lexer


class SoftKeywordLexer(Lexer):
    def __init__(self, inner: Any, soft_keywords: dict[str, str]):
        self.inner = inner
        self.soft_keywords = soft_keywords

    def lex(self, lexer_state: Any, parser_state: Any) -> Iterator[lark.Token]:
        soft = self.soft_keywords
        for token in self.inner.lex(lexer_state, parser_state):
            # Tokens are pulled one at a time: when this one is read, the
            # parser has taken the one before, so its state is the one that
            # will take this token.
            if token.type == "NAME" and token.value in soft:
                keyword = soft[token.value]
                if parser_state is not None and _takes(parser_state, keyword):
                    token = lark.Token.new_borrow_pos(keyword, token.value, token)
            yield token


def _takes(parser_state: Any, terminal: str) -> bool:
    """Whether the parser would shift ``terminal`` after the reductions it
    causes (``lalr.Driver.takes`` on Lark's tables): an LALR row may list a
    terminal for a reduction that a state further down then refuses."""
    from lark.parsers.lalr_analysis import Shift

    states = parser_state.parse_conf.parse_table.states
    stack = list(parser_state.state_stack)
    while True:
        action = states[stack[-1]].get(terminal)
        if action is None:
            return False
        kind, argument = action
        if kind is Shift:
            return True
        size = len(argument.expansion)
        if size:
            del stack[-size:]
        stack.append(states[stack[-1]][argument.origin.name][1])
