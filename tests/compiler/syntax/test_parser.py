"""The parser: every construct of LANGUAGE.md, precedence, spans, and syntax
errors as diagnostics (never exceptions) on any text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fermata.compiler.diagnostics.render import render_pretty, render_text
from fermata.compiler.syntax import ast
from fermata.compiler.syntax.parser import parse, parse_or_raise

from ..strategies import mutated_texts

ROOT = Path(__file__).resolve().parents[3]
VALID = sorted([*ROOT.glob("examples/*.flow"), ROOT / "tests/compiler/fixtures/language_example.flow"])


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_specs_parse_without_diagnostics(path):
    module, diagnostics = parse(path.read_text(), str(path))
    assert diagnostics == [] and module is not None and module.flows


def _flow(body: str) -> ast.Flow:
    return parse_or_raise("flow f {\n" + body + "\n}").flows[0]


def _expr(text: str) -> ast.Expr:
    edge = _flow(f"a -> b when {text}").edges[0]
    assert edge.condition is not None
    return edge.condition


def test_the_language_example_has_every_part():
    module = parse_or_raise((ROOT / "tests/compiler/fixtures/language_example.flow").read_text())
    (decision,) = module.types
    assert decision.type == ast.RecordType((
        ast.RecordField("approved", ast.NamedType("bool")),
        ast.RecordField("comment", ast.OptionalType(ast.NamedType("str"))),
    ))
    flow = module.flows[0]
    assert flow.doc == "Refund a purchase; large or risky refunds need a human approval."
    assert [f.name for f in flow.state_fields] == ["amount", "reason", "risk", "approved", "log", "decision"]
    assert [r.name for r in flow.inputs.names] == ["amount", "reason"]
    pay = next(n for n in flow.nodes if n.name == "pay")
    assert (pay.retry, pay.backoff.milliseconds, pay.timeout.milliseconds) == (3, 1000, 30000)
    assert pay.steps[0] == ast.Call("refunds.logic:pay", (ast.Name("amount"),), (), True)
    review = next(n for n in flow.nodes if n.name == "review")
    assert review.doc == "A person approves or rejects."
    let = review.steps[0]
    assert isinstance(let.value, ast.Interrupt) and let.value.label == "approval"
    assert let.value.expect == ast.NamedType("Decision")
    otherwise = [e for e in flow.edges if e.otherwise]
    assert [(e.sources[0].name, e.targets[0].name) for e in otherwise] == [("assess", "pay"), ("review", "reject")]
    assert flow.static_interrupts == (ast.StaticInterrupt("before", (ast.Ref("pay"),)),)
    assert module.comments[0].text.startswith("# Refunds above")


@pytest.mark.parametrize("text, expected", [
    ("a or b and c", ast.Binary("or", ast.Name("a"), ast.Binary("and", ast.Name("b"), ast.Name("c")))),
    ("not a == b", ast.Unary("not", ast.Binary("==", ast.Name("a"), ast.Name("b")))),
    ("a ?? b ?? c", ast.Binary("??", ast.Name("a"), ast.Binary("??", ast.Name("b"), ast.Name("c")))),
    ("a - b - c", ast.Binary("-", ast.Binary("-", ast.Name("a"), ast.Name("b")), ast.Name("c"))),
    ("a + b * c", ast.Binary("+", ast.Name("a"), ast.Binary("*", ast.Name("b"), ast.Name("c")))),
    ("-a.b[0]", ast.Unary("-", ast.Index(ast.Member(ast.Name("a"), "b"), ast.Literal(0)))),
    ("x ?? 1 > 2", ast.Binary(">", ast.Binary("??", ast.Name("x"), ast.Literal(1)), ast.Literal(2))),
    ("not not a", ast.Unary("not", ast.Unary("not", ast.Name("a")))),
    ("- -a * b", ast.Binary("*", ast.Unary("-", ast.Unary("-", ast.Name("a"))), ast.Name("b"))),
    ("a and not b or c", ast.Binary("or", ast.Binary("and", ast.Name("a"), ast.Unary("not", ast.Name("b"))),
                                    ast.Name("c"))),
    ("not a ?? b in c", ast.Unary("not", ast.Binary("in", ast.Binary("??", ast.Name("a"), ast.Name("b")),
                                                    ast.Name("c")))),
    ("x in [1, 2]", ast.Binary("in", ast.Name("x"), ast.ListExpr((ast.Literal(1), ast.Literal(2))))),
    ("len(x) % 2 == 0", ast.Binary("==", ast.Binary("%", ast.FuncCall("len", (ast.Name("x"),)),
                                                     ast.Literal(2)), ast.Literal(0))),
    ("{\"a-b\": 1e3, c: -0.5}", ast.RecordExpr((ast.RecordEntry("a-b", ast.Literal(1000.0)),
                                               ast.RecordEntry("c", ast.Unary("-", ast.Literal(0.5)))))),
])
def test_expression_precedence(text, expected):
    assert _expr(text) == expected


def test_steps_and_edge_forms():
    flow = _flow('''
        state { n: int = 0; tags: map[str] = {} ; level: "low" | "high" = "low" }
        node a retry 2 timeout 5s {
            call "m.n:state_fn"
            let x = call "m:f"(n, 2, scale=1.5)
            interrupt ping
            if n > 1 { set n += 1 } else if n < 0 { fail "negative {{ n }}" } else { set n = 0 }
        }
        start -> a
        a -> b, c when n > 0
        a -> end otherwise
        b, c -> end
        interrupt after b, c
    ''')
    a = flow.nodes[0]
    assert a.steps[0] == ast.Call("m.n:state_fn", None)
    assert a.steps[1].value.kwargs == (ast.KwArg("scale", ast.Literal(1.5)),)
    assert a.steps[2] == ast.Interrupt("ping")
    branch = a.steps[3]
    assert isinstance(branch.otherwise[0], ast.If) and isinstance(branch.otherwise[0].otherwise[0], ast.Set)
    assert flow.edges[1].targets == (ast.Ref("b"), ast.Ref("c"))
    assert flow.edges[3].sources == (ast.Ref("b"), ast.Ref("c"))
    assert flow.state_fields[2].type == ast.LiteralUnion(("low", "high"))


def test_spans_are_exact_and_one_based():
    text = "flow f {\n    node a { set x = 1 }\n    start -> a\n}\n"
    flow = parse_or_raise(text).flows[0]
    step = flow.nodes[0].steps[0]
    assert (step.span.line, step.span.column, step.span.end_column) == (2, 14, 23)
    assert text[step.span.start:step.span.end] == "set x = 1"
    assert (step.field_span.column, step.field_span.end_column) == (18, 19)
    assert flow.name_span.column == 6


def test_a_surrogate_pair_escape_is_one_character():
    module, diagnostics = parse('flow f { node a { let s = "\\ud83d\\ude00" } }')
    assert module is not None and diagnostics == []


def test_triple_quoted_docstrings_lose_their_indentation():
    flow = _flow('    """First line.\n\n        Indented detail.\n    """\n    node a {}')
    assert flow.doc == "First line.\n\nIndented detail."


@pytest.mark.parametrize("text, code, line, column, words", [
    ("flow f {\n  node a {\n    set x = 1\n", "F005", 4, 1, "`}` to close node `a` opened at line 2"),
    ("flow f { node a { x = 1 } }", "F001", 1, 19, "unexpected name `x`"),
    ("flow f { node end { } }", "F014", 1, 15, "`end` cannot name a node"),
    ("flow f { node a {} input -> a }", "F001", 1, 26, "unexpected `->`"),
    ("flow f { node a { let s = 'x' } }", "F002", 1, 27, "`'`"),
    ('flow f { node a { let s = "abc\n } }', "F003", 1, 27, "unterminated"),
    ('flow f { node a { let s = "a\\qb" } }', "F004", 1, 29, "escape"),
    ('flow f { node a { let s = "a\\ud800b" } }', "F004", 1, 29, "lone surrogate"),
    ('flow f { node a { let s = "\\udc00\\ud800" } }', "F004", 1, 28, "lone surrogate"),
    ("flow f { node a retry 2.5 { } }", "F006", 1, 23, "whole number"),
    ("flow f { node a retry 2 retry 3 { } }", "F007", 1, 25, "given twice"),
    ("flow f { state { x: dict[int] } }", "F008", 1, 21, "`dict[...]`"),
    ('flow f { node a { call "m:f"(a=1, 2) } }', "F009", 1, 35, "positional"),
    ("flow f { a -> b when x < y < z }", "F011", 1, 28, "do not chain"),
    ("flow f { a -> b when x == not y }", "F012", 1, 27, "`not` cannot stand here"),
    ("flow f { a -> b when - not y }", "F012", 1, 24, "`not` cannot stand here"),
    ("flow f { node a { let x = [1, 2 } }", "F001", 1, 33, "`]` to close list"),
])
def test_syntax_errors_are_located_diagnostics(text, code, line, column, words):
    module, diagnostics = parse(text, "bad.flow")
    assert module is None
    first = diagnostics[0]
    assert (first.code, first.span.line, first.span.column) == (code, line, column)
    assert words in first.message
    assert render_text(diagnostics).startswith(f"bad.flow:{line}:{column}: error[{code}]")


@pytest.mark.parametrize("text, hint", [
    ("flow f { node a { if x = 1 { } } }", "use `==`"),
    ("flow f { node a { count = 1 } }", "write `set x = ...`"),
    ("flow f { a -> b when p < q < r }", "write `a < b and b < c`"),
    ("flow f { state { amount } }", "needs a type"),
    ("flow f { node a { call refunds.logic } }", "call target is a string"),
    ("flow f { node a { if x {} elif y {} } }", "`else if`"),
    ("flow f { a -> b when x || y }", "write `or`"),
    ("flow f { node start {} }", "choose another name"),
    ("flow f { node input {} input -> end }", "no edge can start from a node named `input`"),
    ("flow f { state { a: int = 1 in: int } }", "`in` is read as the keyword here"),
    ("flow f { node a { let y = call } }", "`(call)` is read as a name"),
])
def test_common_mistakes_get_a_hint(text, hint):
    _, diagnostics = parse(text)
    assert hint in (diagnostics[0].help or "")


def _assert_only_diagnostics(text: str) -> None:
    module, diagnostics = parse(text, "fuzz.flow")
    assert (module is None) == any(d.is_error for d in diagnostics)
    for d in diagnostics:
        assert d.span.line >= 1 and d.span.column >= 1
    render_pretty(diagnostics, {"fuzz.flow": text}, color=False)


@given(st.text(max_size=200))
def test_any_text_gives_a_module_or_diagnostics(text):
    _assert_only_diagnostics(text)


_EXAMPLE_TEXTS = [p.read_text() for p in VALID]


@given(mutated_texts(_EXAMPLE_TEXTS))
def test_mutated_specs_give_a_module_or_diagnostics(text):
    _assert_only_diagnostics(text)


def test_a_number_json_cannot_hold_is_a_diagnostic():
    _, diagnostics = parse("flow f { state { x: float = 1e400 } }")
    assert [(d.code, d.span.column) for d in diagnostics] == [("F010", 29)]


def test_an_integer_over_64_bits_is_a_diagnostic_not_a_traceback():
    # 5,000 digits: Python's int() refuses more than 4,300 (it used to escape as
    # a ValueError, exit 3); 2**63 is the first value the IR does not hold.
    for literal in ["9" * 5000, str(2**63)]:
        _, diagnostics = parse(f"flow f {{ state {{ x: int = {literal} }} }}")
        assert [d.code for d in diagnostics] == ["F010"]
        assert "integer" in diagnostics[0].message and len(diagnostics[0].message) < 100
    module, diagnostics = parse(f"flow f {{ state {{ x: int = {2**63 - 1} }} }}")
    assert diagnostics == [] and module is not None


def test_leading_zeros_do_not_make_an_integer_large():
    zeros = "0" * 6000
    module, diagnostics = parse(f"flow f {{ state {{ x: int = {zeros}7 }}\n"
                                f"node a retry {zeros}2 timeout {zeros}3s {{ set x = 1 }} }}")
    assert diagnostics == [] and module is not None
    (field,), (node,) = module.flows[0].state_fields, module.flows[0].nodes
    assert field.default == ast.Literal(7, field.default.span)
    assert node.retry == 2 and node.timeout is not None and node.timeout.milliseconds == 3000


@pytest.mark.parametrize("options", ["retry " + "9" * 5000, "timeout " + "9" * 5000 + "s",
                                     "backoff 9999999999999999h retry 1"])
def test_a_retry_count_or_duration_over_64_bits_is_a_diagnostic(options):
    _, diagnostics = parse(f"flow f {{ node a {options} {{ fail \"x\" }} }}")
    assert [d.code for d in diagnostics] == ["F010"]


def test_the_language_example_checks_clean_under_strict_and_compiles():
    # LANGUAGE.md's whole example: specs written against it must compile unchanged.
    from fermata.compiler.pipeline import analyze, compile_source

    text = (ROOT / "tests/compiler/fixtures/language_example.flow").read_text()
    assert analyze(text, "refund.flow").diagnostics == []
    assert set(compile_source(text, "refund.flow")["flows"]) == {"refund"}


# Nesting: every stage after the parser recurses along the tree, so the parser
# refuses trees deeper than MAX_DEPTH (F013) instead of letting a later stage
# overflow Python's stack with a traceback.

_DEEP = {
    "parentheses": lambda n: "(" * n + "x" + ")" * n,
    "sum": lambda n: " + ".join(["x"] * n),
    "coalesce": lambda n: " ?? ".join(["x"] * n),
    "not": lambda n: "not " * n + "true",
    "list": lambda n: "[" * n + "]" * n,
    "record": lambda n: "{a: " * n + "1" + "}" * n,
    "member": lambda n: "x" + ".a" * n,
    "index": lambda n: "x" + "[0]" * n,
    "call": lambda n: "abs(" * n + "x" + ")" * n,
}


def _spec_with(expression: str) -> str:
    return "flow f {\n state { x: any = null }\n node a {\n  let v = " + expression + \
        "\n  set x = v\n }\n start -> a\n a -> end\n}\n"


@pytest.mark.parametrize("shape", sorted(set(_DEEP) - {"parentheses"}))
def test_thousands_of_levels_are_a_diagnostic_not_a_traceback(shape):
    module, diagnostics = parse(_spec_with(_DEEP[shape](5000)))
    assert module is None and [d.code for d in diagnostics] == ["F013"]


def test_parentheses_alone_add_no_depth():
    module, diagnostics = parse(_spec_with(_DEEP["parentheses"](5000)))
    assert module is not None and diagnostics == []


def test_nesting_is_measured_across_types_and_steps():
    deep_type = "type T = " + "list[" * 60 + "int" + "]" * 60 + "\nflow f { node a {} start -> a a -> end }"
    deep_ifs = "flow f { state { x: int = 0 } node a { " + "if x > 0 { " * 60 + "set x = 1" + " }" * 60 + \
        " } start -> a a -> end }"
    for text in (deep_type, deep_ifs):
        _, diagnostics = parse(text)
        assert [d.code for d in diagnostics] == ["F013"]


def test_the_deepest_allowed_tree_goes_through_every_stage():
    from fermata.compiler.codegen.emit import emit_python
    from fermata.compiler.pipeline import compile_source
    from fermata.compiler.syntax.ast_builder import MAX_DEPTH
    from fermata.compiler.syntax.fmt import format_source

    for shape, make in _DEEP.items():
        text = _spec_with(make(MAX_DEPTH - 3))
        ir = compile_source(text, f"{shape}.flow")
        assert format_source(text).text is not None
        compile(emit_python(ir), f"{shape}.py", "exec")  # Python's own nesting limit holds too


@pytest.mark.slow
@given(mutated_texts(_EXAMPLE_TEXTS))
def test_a_syntax_error_is_described_as_from_the_whole_text(text):
    # Lark parses only up to the line where the fast path failed (an error
    # near the top of a large file cost two full parses); what it says must
    # be what it says from the whole text.
    import lark

    from fermata.compiler.syntax.errors import describe_exception
    from fermata.compiler.syntax.grammar import lark_parser

    try:
        lark_parser().parse(text)
    except lark.exceptions.UnexpectedInput as error:
        assert parse(text, "t.flow")[1] == [describe_exception(error, text, "t.flow")]


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(_EXAMPLE_TEXTS)))
def test_a_text_cut_short_is_described_as_lark_describes_it(index):
    # The end of the file is described from the fast parser's own state
    # (what it could take next, the brackets left open), not by Lark parsing
    # the text again: every cut of every example, at each line and inside
    # each line, must read exactly as Lark's account of it.
    import lark

    from fermata.compiler.syntax.errors import describe_exception
    from fermata.compiler.syntax.grammar import lark_parser

    text = _EXAMPLE_TEXTS[index]
    cuts = sorted({i for i, c in enumerate(text) if c == "\n"} | set(range(0, len(text), 7)))
    described = 0
    for cut in cuts:
        prefix = text[:cut]
        try:
            lark_parser().parse(prefix)
        except lark.exceptions.UnexpectedEOF as error:
            expected = describe_exception(error, prefix, "t.flow")
        except lark.exceptions.UnexpectedToken as error:
            if error.token.type != "$END":
                continue
            expected = describe_exception(error, prefix, "t.flow")
        except lark.exceptions.UnexpectedInput:
            continue
        else:
            continue
        assert parse(prefix, "t.flow")[1] == [expected], repr(prefix[-60:])
        described += 1
    assert described > 10


def test_a_text_cut_short_is_described_without_lark_parsing_it(monkeypatch):
    from fermata.compiler.syntax import grammar as parser_module

    class NoLark:
        def parse(self, text: str) -> object:
            raise AssertionError("Lark was asked to parse")

        def lex(self, text: str) -> object:
            raise AssertionError("Lark was asked to lex")

    monkeypatch.setattr(parser_module, "lark_parser", lambda: NoLark())
    module, diagnostics = parse("flow f {\n  node a {\n    set x = 1\n", "t.flow")
    assert module is None and diagnostics[0].code == "F005"
    assert "`}` to close node `a` opened at line 2" in diagnostics[0].message


@pytest.mark.slow
def test_a_syntax_error_near_the_top_of_a_large_file_is_not_parsed_to_the_end(monkeypatch):
    from fermata.compiler.syntax import grammar as parser_module

    seen: list[int] = []
    real = parser_module.lark_parser()

    class Recording:
        def parse(self, text: str) -> object:
            seen.append(len(text))
            return real.parse(text)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(parser_module, "lark_parser", lambda: Recording())
    text = "flow f {\n    node a { set x = = 1 }\n" + "    node b { set x = 1 }\n" * 10_000 + "}\n"
    _, diagnostics = parse(text)
    assert [d.code for d in diagnostics] == ["F001"] and diagnostics[0].span.line == 2
    # Lark parsed the first two lines only (and, for its hints, pieces of them).
    assert seen[0] == len("flow f {\n    node a { set x = = 1 }") and max(seen) < 100


@pytest.mark.slow
def test_a_stray_character_at_the_end_of_a_large_file_needs_no_second_parse(monkeypatch):
    # Lark used to parse all that came before the character to describe it.
    from fermata.compiler.syntax import grammar as parser_module

    def no_lark() -> object:
        raise AssertionError("Lark was asked")

    monkeypatch.setattr(parser_module, "lark_parser", no_lark)
    text = "flow f {\n" + "    node b { set x = 1 }\n" * 10_000 + "    node c { set x = 1 $ }\n}\n"
    _, diagnostics = parse(text)
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("F002", 10_002, 24)]
    # A parse error before the character is still the one reported (as Lark would).
    monkeypatch.undo()
    _, diagnostics = parse("flow f {\n    node a { set x = = 1 }\n    node c { $ }\n}\n")
    assert [(d.code, d.span.line) for d in diagnostics] == [("F001", 2)]


def test_bidirectional_controls_are_reported_once_per_line() -> None:
    # "Trojan Source": U+202E makes a review show the line in another order.
    text = ('flow f {\n    state { s: str = "" }\n'
            '    node a { set s = "x\u202ey\u2066" }   # \u2069 comment\n'
            '    start -> a\n    a -> end\n}\n')
    module, diagnostics = parse(text)
    assert module is not None
    assert [(d.code, d.severity.value, d.span.line, d.span.column) for d in diagnostics] == [
        ("F015", "warning", 3, 24)]
    assert parse(text.replace("\u202e", "").replace("\u2066", "").replace("\u2069", ""))[1] == []
