"""Contextual keywords: a keyword is a name wherever the parser cannot take
the keyword (LANGUAGE.md, "Keywords are contextual where a name is
unambiguous"), and the names refused at a declaration (F014) are exactly
those a reference could not be read back as."""

from __future__ import annotations

import lark
import pytest

from fermata.compiler.syntax import ast
from fermata.compiler.syntax.ast import KEYWORDS
from fermata.compiler.syntax.grammar import lark_parser
from fermata.compiler.syntax.keywords import refused_words
from fermata.compiler.syntax.parser import lexer_and_driver, parse, parse_or_raise
from fermata.spec.ir import STATIC_LABELS

WORDS = sorted(KEYWORDS)


def _errors(text: str) -> list[str]:
    module, diagnostics = parse(text)
    return [d.code for d in diagnostics if d.severity == "error"] if module is not None else ["syntax"]


def test_the_keyword_list_is_the_grammars():
    _lexer, driver = lexer_and_driver()
    grammar_words = {word for words in _lexer.keywords.values() for word in words}
    assert grammar_words == KEYWORDS
    assert set(driver.keywords) == {k for words in _lexer.keywords.values() for k in words.values()}


@pytest.mark.parametrize("text", [
    'flow f { node a { let e = {type: "x", after: 1, input: 2, true: 3} } start -> a a -> end }',
    "type Event = {type: str, input: str, timeout: int, end: bool}",
    'flow f { state { event: any = null } node a { let t = event.type + event.end } start -> a a -> end }',
    'flow f { node a { call "m:f"(timeout=3, type="x", in=1) } start -> a a -> end }',
    ("flow f { state { type: str = \"\" input: int = 0 node: str = \"\" } input type, input, node "
     "node a { set type = \"x\" } start -> a a -> end }"),
    "flow retry { node a {} start -> a a -> end }",
    "flow f { node a { let in = 1 let after = in + 1 let type = [after] } start -> a a -> end }",
    "flow f { node timeout timeout 30s {} node after {} start -> timeout timeout -> after after -> end }",
    'flow f { node a { let x = interrupt expect "q?" expect int } start -> a a -> end }',
])
def test_keywords_are_names_where_the_parser_cannot_take_them(text):
    parse_or_raise(text)


def test_a_keyword_read_as_a_name_is_that_name_in_the_tree():
    module = parse_or_raise('type T = {type: str}\nflow retry { node a { let e = {after: 1}.after } '
                            "start -> a a -> end }")
    assert module.types[0].type.fields[0].name == "type"
    assert module.flows[0].name == "retry"
    let = module.flows[0].nodes[0].steps[0]
    assert let.value == ast.Member(ast.RecordExpr((ast.RecordEntry("after", ast.Literal(1)),)), "after")


# -- each refused set is exactly the words a reference cannot be read back as

def _edge_from_fails(word: str) -> bool:
    contexts = ["flow f { node a {} WORD -> end }", "flow f { a -> b WORD -> end }",
                "flow f { a -> b when c WORD -> end }", "flow f { input a WORD -> end }",
                "flow f { interrupt before a WORD -> end }", "flow f { a -> b otherwise WORD -> end }"]
    return word in ("start", "end") or any(_errors(c.replace("WORD", word)) for c in contexts)


def _read_as_name(text: str, word: str, find) -> bool:
    module, _diagnostics = parse(text.replace("WORD", word))
    return module is not None and find(module) == word


def _value_fails(word: str) -> bool:
    def value(module: ast.Module) -> str | None:
        expr = module.flows[0].nodes[0].steps[0].value
        while isinstance(expr, (ast.ListExpr, ast.FuncCall, ast.Binary)):
            expr = expr.items[0] if isinstance(expr, ast.ListExpr) else \
                expr.args[0] if isinstance(expr, ast.FuncCall) else expr.left
        return expr.name if isinstance(expr, ast.Name) else None

    contexts = ["flow f { node a { set s = WORD } }", "flow f { node a { set s = [WORD] } }",
                "flow f { node a { set s = len(WORD) } }", "flow f { node a { set s = WORD + 1 } }",
                "flow f { node a { fail WORD } }"]
    return not all(_read_as_name(c, word, value) for c in contexts if "fail" not in c) or \
        not _read_as_name(contexts[-1], word, lambda m: getattr(m.flows[0].nodes[0].steps[0].message, "name", None))


def _field_fails(word: str) -> bool:
    # Lark's parser (with the same keyword rule, without the builder's F014):
    # a field after one with a default, whose value the word might continue.
    try:
        lark_parser().parse(f"flow f {{ state {{ a: int = 1 {word}: int }} }}")
    except lark.exceptions.UnexpectedInput:
        return True
    return _value_fails(word)


def _kwarg_fails(word: str) -> bool:
    return not _read_as_name('flow f { node a { call "m:f"(x, WORD=1) } }', word,
                             lambda m: m.flows[0].nodes[0].steps[0].kwargs[0].name)


def _let_run_fails(word: str) -> bool:
    def flow(module: ast.Module) -> str | None:
        value = module.flows[0].nodes[0].steps[0].value
        return value.flow if isinstance(value, ast.Run) else None

    return not _read_as_name("flow f { node a { let r = run WORD {} } }", word, flow)


@pytest.mark.parametrize("role, fails", [("node", _edge_from_fails), ("local", _value_fails),
                                         ("state field", _field_fails), ("keyword argument", _kwarg_fails),
                                         ("flow run by `let`", _let_run_fails)])
def test_a_role_refuses_exactly_the_keywords_a_reference_cannot_be(role, fails):
    assert {w for w in WORDS if fails(w)} == refused_words(role)


def test_interrupt_labels_refuse_the_static_pause_labels():
    assert refused_words("interrupt label") == frozenset(STATIC_LABELS)


@pytest.mark.parametrize("role, text", [
    ("node", "flow f { node input {} start -> input input -> end }"),
    ("node", "flow f { node end {} start -> end }"),
    ("local", "flow f { node a { let null = 1 } start -> a a -> end }"),
    ("state field", "flow f { state { in: int = 0 } node a {} start -> a a -> end }"),
    ("interrupt label", 'flow f { node a { interrupt after "?" expect int } start -> a a -> end }'),
])
def test_a_refused_declaration_is_f014_at_its_name(role, text):
    module, diagnostics = parse(text)
    assert module is None
    if diagnostics[0].code == "F001":   # `input -> end` fails to parse first: the help says why
        assert "rename the node" in (diagnostics[0].help or "")
        return
    f014 = next(d for d in diagnostics if d.code == "F014")
    assert f"cannot name a {role}" in f014.message
    assert text[f014.span.start:f014.span.end] in KEYWORDS


def test_an_unclosed_node_named_by_a_keyword_is_named_in_the_error():
    _module, diagnostics = parse("flow retry {\n node after {\n")
    assert diagnostics[0].code == "F005" and "node `after` opened at line 2" in diagnostics[0].message
