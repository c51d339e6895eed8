"""The LALR driver runs Lark's tables: it must accept exactly the texts Lark
accepts, and hand each reduction exactly the children Lark's tree node for
that rule would hold (placeholders, inlined rules and `?rule`s included)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lark
import pytest
from hypothesis import given

from fermata.compiler.syntax import ast
from fermata.compiler.syntax.grammar import lark_parser
from fermata.compiler.syntax.lalr import END, Driver, ParseFailure, lalr_tables
from fermata.compiler.syntax.lexer import LexFailure
from fermata.compiler.syntax.parser import lexer_and_driver

from ..strategies import mutated_texts

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted([*ROOT.glob("examples/**/*.flow"), *ROOT.glob("spec/diagnostics/*.flow")])
TEXTS = [p.read_text() for p in SOURCES]


class TreeBuilder:
    """Builds what Lark builds: a ``Tree`` named after each rule."""

    def __getattr__(self, rule: str) -> Any:
        if rule.startswith("__"):
            raise AttributeError(rule)
        return lambda children: lark.Tree(rule, children)


def _tables() -> dict[str, Any]:
    parser = lark_parser()
    return lalr_tables(parser.parser.parser.parser.parse_table, parser.rules,
                       maybe_placeholders=bool(parser.options.maybe_placeholders))


DRIVER = Driver(_tables(), TreeBuilder(), lexer_and_driver()[1].keywords)
LEXER = lexer_and_driver()[0]


def _plain(node: Any) -> Any:
    """Trees with tokens as (type, text, start) whichever side built them."""
    if isinstance(node, lark.Tree):
        return (node.data, [_plain(c) for c in node.children])
    if isinstance(node, lark.Token):
        return (node.type, str(node), node.start_pos)
    if isinstance(node, tuple):
        kind, text, span = node
        return (kind, text, span.start)
    return node


def _ours(text: str) -> Any:
    try:
        tokens, _comments = LEXER.tokens(text)
        return _plain(DRIVER.parse([*tokens, (END, "", ast.NO_SPAN)]))
    except (LexFailure, ParseFailure):
        return "rejected"


def _larks(text: str) -> Any:
    try:
        return _plain(lark_parser().parse(text))
    except lark.exceptions.UnexpectedInput:
        return "rejected"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_trees_are_larks(path):
    text = path.read_text()
    assert _ours(text) == _larks(text)


def test_placeholders_and_inlined_lists_take_larks_places():
    text = 'flow f { node a retry 2 { call "m:f"(x, k = 1) } a -> b, c when x }'
    assert _ours(text) == _larks(text) != "rejected"


def test_every_rule_the_grammar_keeps_has_a_builder_method():
    class Partial:
        def start(self, children: list[Any]) -> Any:
            return children

    with pytest.raises(ValueError, match="no method for rule"):
        Driver(_tables(), Partial())


def test_tokens_that_end_early_are_rejected():
    tokens, _ = LEXER.tokens("flow f {")
    with pytest.raises(ParseFailure):
        DRIVER.parse([*tokens, (END, "", ast.NO_SPAN)])


@given(mutated_texts(TEXTS))
def test_edited_specs_parse_as_lark_parses_them(text):
    assert _ours(text) == _larks(text)


@pytest.mark.parametrize("text", [
    # The version-2 words: a keyword inside its clause, a name everywhere else
    # (a state field, a local, a label, a record key, a member, a payload in
    # parentheses), the same on both sides.
    'flow f { state { to: str = "" where: int = 1 } node a { let within = to\n'
    ' let d = interrupt for (where) expect {to: str} where d.to == within "m" to to, "x"'
    ' within 2d -> a remind every 1h\n wait until until to wait wait for 1d } start -> a a -> end }',
    'flow f { node a { interrupt ask within 1h answer {answer: 1} } start -> a a -> end }',
    'flow f { state { due: str = "x" every: int = 1 } node a { set every = every + 1 } }',
    # `run`: a step of its own, a name after `let x =` checked by its text, a name elsewhere.
    'flow f { state { run: int = 1 } node run { let r = run g {run: run} run ns.g {}\n'
    ' let q = run + 1 let s = run interrupt run (run) } start -> run run -> end }',
])
def test_version_2_words_parse_as_lark_parses_them(text):
    ours = _ours(text)
    assert ours == _larks(text) != "rejected"


def test_a_left_recursive_list_grows_in_place():
    # `__items: __items item`: copying the list at each item would make a
    # 10,000-member flow quadratic to parse.
    from fermata.compiler.syntax.lalr import _reduction

    rule = {"name": "__items_star_0", "reduces_to": "__items_star_0", "size": 2,
            "keep": [[0, 1], [True, False]], "single_child_up": False, "passes_child_up": False}
    grow = _reduction(rule, TreeBuilder())
    items = ["a"]
    assert grow([items, "b"]) is items == ["a", "b"]


@pytest.mark.parametrize("text", [
    ('type T = {type: str, input: str}\nflow retry { state { type: str = "" node: int = 1 } input type '
     'node after { let in = {after: 1}.after call "m:f"(timeout=3) } start -> after after -> end }'),
    "flow f { state { a: int = 1 in: int } }",          # the keyword wins: rejected by both
    "flow f { node input {} input -> end }",
    'flow f { node a { let y = call } }',
    'flow f { node a { let y = (call) + 1 } }',
    'flow f { node a { call "m:f"(not=1) } }',
    "flow f { a -> b when c\n and -> d }",
])
def test_keywords_are_read_as_names_where_lark_reads_them_so(text):
    assert _ours(text) == _larks(text)
