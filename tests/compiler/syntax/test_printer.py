"""The printer: printing then parsing gives the same tree, for generated
expressions and types and for real specs, and no comment is ever lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, note

from fermata.compiler.syntax import ast
from fermata.compiler.syntax.parser import parse, parse_or_raise
from fermata.compiler.syntax.printer import expr_text, print_module, type_text

from ..strategies import expressions, keyword_named_modules, types

ROOT = Path(__file__).resolve().parents[3]
SPECS = sorted([*ROOT.glob("examples/*.flow"), *ROOT.glob("spec/diagnostics/*.flow"),
                ROOT / "tests/compiler/fixtures/language_example.flow",
                ROOT / "tests/compiler/fixtures/human_tasks.flow"])


@given(expressions)
def test_expressions_print_with_the_parentheses_they_need(expr):
    text = expr_text(expr)
    note(text)
    edge = parse_or_raise(f"flow f {{ a -> b when {text} }}").flows[0].edges[0]
    assert edge.condition == expr


@given(types)
def test_types_print_and_parse_back(type_):
    text = type_text(type_)
    note(text)
    assert parse_or_raise(f"type T = {text}").types[0].type == type_


@given(keyword_named_modules())
def test_keywords_used_as_names_print_and_parse_back(module):
    text = print_module(module)
    note(text)
    parsed, diagnostics = parse(text)
    assert [d for d in diagnostics if d.severity == "error"] == []
    assert parsed == module


def _parses(path: Path) -> ast.Module | None:
    module, _ = parse(path.read_text(), str(path))
    return module


@pytest.mark.parametrize("path", [p for p in SPECS if _parses(p) is not None], ids=lambda p: p.name)
def test_real_specs_round_trip_with_every_comment(path):
    module = _parses(path)
    printed = print_module(module)
    again = parse_or_raise(printed)
    assert again == module
    assert [c.text for c in again.comments] == [c.text for c in module.comments]
    assert print_module(again) == printed


def test_comments_stay_where_they_were_written():
    text = (
        "# header\n\n"
        "flow f {\n"
        "    node a {\n"
        "        set x = 1  # why one\n"
        "        # before the end\n"
        "    }\n\n"
        "    start -> a\n"
        "    # about the exit\n"
        "    a -> end\n"
        "}\n"
    )
    assert print_module(parse_or_raise(text)) == text


def test_long_lists_and_edges_wrap_one_item_per_line():
    items = ", ".join(f'"item number {i}"' for i in range(8))
    targets = ", ".join(f"node_with_a_long_name_{i}" for i in range(6))
    printed = print_module(parse_or_raise(f"flow f {{ node a {{ set log += [{items}] }} a -> {targets} }}"))
    assert '        set log += [\n            "item number 0",\n' in printed
    assert "    a -> node_with_a_long_name_0,\n        node_with_a_long_name_1,\n" in printed
    assert all(len(line) <= 100 for line in printed.splitlines())


_LONG_RECORD = ('{title: title, summary: "Please review the following document carefully", '
                'deadline: "tomorrow morning", reviewer: "someone"}')


def _printed_node(steps: str) -> list[str]:
    text = ("flow f {\n    state {\n        title: str = \"\"\n        log: list[str] = []\n    }\n\n"
            f"    node a {{\n{steps}\n    }}\n\n    start -> a\n    a -> end\n}}\n")
    printed = print_module(parse_or_raise(text))
    assert print_module(parse_or_raise(printed)) == printed   # idempotent
    return printed.splitlines()


def test_a_long_interrupt_payload_wraps_as_a_set_value_does():
    # Issue #11, 12: fmt joined a hand-wrapped payload into one 168-character
    # line while it wrapped the same record in a `set`.
    as_set = _printed_node(f"        set log = [{_LONG_RECORD}]\n        let d = {_LONG_RECORD}")
    as_payload = _printed_node(f"        let d = interrupt review {_LONG_RECORD} expect bool\n"
                               f"        interrupt notice {_LONG_RECORD}")
    assert max(map(len, as_payload)) <= 100
    record_lines = as_set[as_set.index("        let d = {") + 1:]
    assert as_payload[as_payload.index("        let d = interrupt review {") + 1:][:4] == record_lines[:4]
    assert "        } expect bool" in as_payload
    assert "        interrupt notice {" in as_payload


def test_a_long_expect_type_and_a_long_type_declaration_wrap_one_field_per_line():
    fields = ", ".join(f"field_number_{i}: str" for i in range(8))
    lines = _printed_node(f"        let d = interrupt review expect {{{fields}}}")
    assert lines[lines.index("        let d = interrupt review expect {") + 1] == "            field_number_0: str,"
    printed = print_module(parse_or_raise(f"type Long = {{{fields}}}\n"))
    assert printed.splitlines()[:2] == ["type Long = {", "    field_number_0: str,"]
    assert max(len(line) for line in lines + printed.splitlines()) <= 100


def test_a_long_call_argument_wraps_inside_the_argument_list():
    lines = _printed_node(f'        call "pkg.mod:fn"(title, {_LONG_RECORD}, extra={_LONG_RECORD})')
    assert max(map(len, lines)) <= 100
    at = lines.index('        call "pkg.mod:fn"(')
    assert lines[at + 1:at + 4] == ["            title,", "            {", "                title: title,"]
    assert "            extra={" in lines


def test_short_payloads_and_arguments_stay_on_one_line():
    lines = _printed_node('        let d = interrupt review {title: title} expect {ok: bool}\n'
                          '        call "pkg.mod:fn"(title, {a: 1})')
    assert "        let d = interrupt review {title: title} expect {ok: bool}" in lines
    assert '        call "pkg.mod:fn"(title, {a: 1})' in lines


# ------------------------------------------------------------ human-task clauses and `wait`


def test_clauses_print_one_per_line_in_one_order_under_their_interrupt():
    text = ('flow f {\n    state {\n        n: int = 0\n    }\n    node a {\n'
            '        let d = interrupt ask "q?" expect int remind every 1h within 2h -> a  # late\n'
            '            to "ops" where d > 0 "positive"\n        set n = d\n'
            '        wait w for 90s\n        wait z until "2026-12-24T09:00:00Z"\n    }\n'
            '    start -> a\n    a -> end\n}\n')
    printed = print_module(parse_or_raise(text))
    assert ('        let d = interrupt ask "q?" expect int\n'
            '            where d > 0 "positive"\n'
            '            to "ops"\n'
            '            within 2h -> a\n'
            '            remind every 1h\n'
            '        set n = d\n'
            '        wait w for 90s\n'
            '        wait z until "2026-12-24T09:00:00Z"\n') in printed
    assert "# late" in printed
    assert print_module(parse_or_raise(printed)) == printed


@pytest.mark.parametrize("payload", ["(where)", "(to + 1)", "(within.x)", "(remind)", "(wait)"])
def test_a_payload_that_begins_with_a_clause_word_keeps_its_parentheses(payload):
    text = ('flow f {\n    state {\n        where: int = 0\n        to: int = 0\n        within: any\n'
            '        remind: int = 0\n        wait: int = 0\n    }\n'
            f'    node a {{\n        interrupt ask {payload}\n    }}\n    start -> a\n    a -> end\n}}\n')
    module = parse_or_raise(text)
    printed = print_module(module)
    assert f"interrupt ask {payload}" in printed
    assert parse_or_raise(printed) == module
