"""The fast lexer must produce exactly the tokens Lark's lexer produces from
the same grammar, and fail exactly where Lark's fails."""

from __future__ import annotations

from pathlib import Path

import lark
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fermata.compiler.syntax.grammar import lark_parser
from fermata.compiler.syntax.lexer import Lexer, LexFailure, lexer_tables

from ..strategies import mutated_texts

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted([*ROOT.glob("examples/**/*.flow"), *ROOT.glob("spec/diagnostics/*.flow")])
TEXTS = [p.read_text() for p in SOURCES]


LEXER = Lexer(lexer_tables(lark_parser().terminals, lark_parser().lexer_conf.ignore))


_LARK_COMMENTS: list[lark.Token] = []


def _lark_with_comments() -> lark.Lark:
    from fermata.spec import parser_tables

    return lark.Lark._load_from_dict(parser_tables.DATA, parser_tables.MEMO,
                                     lexer_callbacks={"COMMENT": _LARK_COMMENTS.append})


LARK = _lark_with_comments()


def _lark_tokens(text: str) -> tuple[list[tuple], list[tuple]] | int:
    """Lark's tokens and comments as plain tuples, or where it gave up."""
    _LARK_COMMENTS.clear()
    try:
        tokens = list(LARK.lex(text))
    except lark.exceptions.UnexpectedCharacters as error:
        return error.pos_in_stream

    def plain(t: lark.Token) -> tuple:
        return (t.type, str(t), (t.line, t.column, t.end_line, t.end_column, t.start_pos, t.end_pos))

    return [plain(t) for t in tokens], [plain(t) for t in _LARK_COMMENTS]


def _ours(text: str) -> tuple[list[tuple], list[tuple]] | int:
    try:
        tokens, comments = LEXER.tokens(text)
    except LexFailure as failure:
        return failure.position
    return ([(k, v, tuple(s)) for k, v, s in tokens], [(k, v, tuple(s)) for k, v, s in comments])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_tokens_and_spans_are_larks(path):
    text = path.read_text()
    assert _ours(text) == _lark_tokens(text)


def test_keywords_are_retyped_names_and_spans_cross_lines():
    tokens, comments = LEXER.tokens('flow f {\n  """two\n lines""" # note\n  nodes -> end\n}')
    assert [(k, v) for k, v, _ in tokens] == [
        ("FLOW", "flow"), ("NAME", "f"), ("LBRACE", "{"), ("LONG_STRING", '"""two\n lines"""'),
        ("NAME", "nodes"), ("ARROW", "->"), ("END", "end"), ("RBRACE", "}")]
    assert tuple(tokens[3][2]) == (2, 3, 3, 10, 11, 27)
    assert tuple(tokens[4][2])[:4] == (4, 3, 4, 8)
    assert [(v, s.line, s.column) for _, v, s in comments] == [("# note", 3, 11)]


def test_a_character_no_terminal_takes_stops_the_lexer_where_lark_stops():
    text = "flow f {\n  node a { set x = 1 $ }\n}"
    assert _ours(text) == _lark_tokens(text) == text.index("$")


def test_trailing_whitespace_and_an_empty_text_give_no_tokens():
    assert LEXER.tokens("") == ([], [])
    assert LEXER.tokens(" \n\t\n") == ([], [])


@given(mutated_texts(TEXTS))
def test_edited_specs_lex_as_lark_lexes_them(text):
    assert _ours(text) == _lark_tokens(text)


@given(st.lists(st.sampled_from(list('ab1_."#\\ \n\t{}-=<>?!+e') + ['"""', "flow", "é", "٣"]),
                max_size=40).map("".join))
def test_token_soup_lexes_as_lark_lexes_it(text):
    assert _ours(text) == _lark_tokens(text)


@pytest.mark.parametrize("text", ["flow f # last \t ", "flow f # last\r\n  ", "x # a\n# b \f\r \t",
                                  "x\n  \t", "# only  "])
def test_a_comment_before_trailing_whitespace_lexes_as_lark_lexes_it(text):
    # The lexer stops before the text's trailing whitespace; a comment there
    # still takes the spaces that follow it on its line, as Lark's does.
    assert _ours(text) == _lark_tokens(text)


def test_trailing_whitespace_is_scanned_once():
    # Whitespace is folded in front of each token: at the end of a text, with
    # no token after it, `finditer` used to retry it from every position,
    # quadratic (20,000 spaces took minutes). Counted, not timed: the regex
    # is handed only the text before the trailing whitespace.
    class CountingPattern:
        def __init__(self, pattern):
            self.pattern, self.scanned = pattern, 0

        def finditer(self, text, pos=0, endpos=None):
            endpos = len(text) if endpos is None else endpos
            self.scanned += endpos - pos
            return self.pattern.finditer(text, pos, endpos)

    lexer = Lexer(lexer_tables(lark_parser().terminals, lark_parser().lexer_conf.ignore))
    lexer.pattern = counting = CountingPattern(lexer.pattern)
    tokens, _ = lexer.tokens("flow f {}" + " \n\t" * 1_000)
    assert [v for _, v, _ in tokens] == ["flow", "f", "{", "}"]
    assert counting.scanned == len("flow f {}")
