"""`node N for X in EXPR [key EXPR]` through the compiler: parse, print,
format, check (X's type from the list, the key's type, the list itself),
lower, draw and generate Python."""

from __future__ import annotations

import pytest

from fermata.compiler.codegen import emit_python
from fermata.compiler.codegen.diagram import to_dot, to_mermaid
from fermata.compiler.pipeline import analyze, compile_source
from fermata.compiler.syntax import ast
from fermata.compiler.syntax.fmt import format_source
from fermata.compiler.syntax.parser import parse, parse_or_raise
from fermata.compiler.syntax.printer import print_module


def spec(node: str, state: str = "items: list[Item]; seen: list[str] = []; count: int = 0") -> str:
    """A flow whose node `each` is on line 5 (its other nodes follow)."""
    return ("type Item = {id: str, title: str, rank: int}\n"
            "flow f {\n"
            f"    state {{ {state} }}\n"
            "\n"
            f"    {node}\n"
            "    start -> each\n"
            "    each -> end\n"
            "}\n")


def codes(text: str) -> list[tuple[str, int]]:
    return [(d.code, d.span.line) for d in analyze(text, "f.flow").diagnostics]


def node_of(text: str) -> ast.NodeDecl:
    module = parse_or_raise(text)
    return module.flows[0].nodes[0]


def test_the_clause_parses_into_the_node() -> None:
    node = node_of(spec('node each for item in items key item.id retry 2 { set seen += [item.title] }'))
    assert node.fan_out is not None and node.fan_out.var == "item"
    assert node.fan_out.items == ast.Name("items")
    assert node.fan_out.key == ast.Member(ast.Name("item"), "id")
    assert node.retry == 2 and len(node.steps) == 1


def test_key_is_optional_and_a_plain_node_has_no_clause() -> None:
    assert node_of(spec("node each for item in items { }")).fan_out == ast.FanOut("item", ast.Name("items"))
    assert node_of(spec("node each { }")).fan_out is None


def test_for_and_key_stay_names_everywhere_else() -> None:
    text = spec('node each for key in items key key.id { let for = key.title\n set seen += [for] }',
                state="items: list[Item]; seen: list[str] = []")
    assert codes(text) == []


def test_a_wrong_clause_word_is_a_syntax_error() -> None:
    assert codes(spec("node each with item in items { }"))[0] == ("F030", 5)
    assert codes(spec("node each for item in items by item.id { }"))[0] == ("F030", 5)


def test_print_and_format_give_the_canonical_header() -> None:
    text = spec("node   each  for item   in items  key  item.id   timeout 5s {\n set seen += [item.id] }")
    printed = print_module(parse_or_raise(text))
    assert "    node each for item in items key item.id timeout 5s {\n" in printed
    assert parse_or_raise(printed) == parse_or_raise(text)
    assert format_source(text).text == printed


def test_the_variable_has_the_list_item_type() -> None:
    assert codes(spec("node each for item in items { set count += item.rank }")) == []
    assert codes(spec("node each for item in items { set count += item.title }")) == [("F304", 5)]
    assert codes(spec("node each for item in items { set count += item.nope }")) == [("F129", 5)]


def test_the_variable_is_visible_in_templates_and_only_in_its_node() -> None:
    ok = spec('node each for item in items { set seen += ["{{ item.title }}"] }')
    assert codes(ok) == []
    outside = spec('node each for item in items { }\n    node other { set seen += [item.id] }\n    each -> other')
    assert ("F120", 6) in codes(outside)


def test_the_list_must_be_a_list() -> None:
    assert codes(spec("node each for c in count { }")) == [("F330", 5)]
    assert codes(spec("node each for item in maybe { }",
                      state="maybe: list[Item]?")) == [("F330", 5)]
    assert codes(spec("node each for item in (maybe ?? []) { }", state="maybe: list[Item]?")) == []
    assert codes(spec("node each for item in anything { }", state="anything: any")) == []


def test_the_key_must_be_a_str_or_an_int() -> None:
    assert codes(spec("node each for item in items key item.rank { }")) == []
    assert codes(spec("node each for item in items key item.title { }")) == []
    assert codes(spec("node each for item in items key item { }")) == [("F331", 5)]
    assert codes(spec("node each for item in items key item.rank > 2 { }")) == [("F331", 5)]


def test_the_variable_cannot_shadow_a_field_or_be_declared_again() -> None:
    assert codes(spec("node each for count in items { }")) == [("F140", 5)]
    assert codes(spec("node each for item in items { let item = 1 }")) == [("F122", 5)]


def test_the_list_reads_state_only_not_the_nodes_locals() -> None:
    assert ("F120", 5) in codes(spec("node each for item in item.x { }"))


def test_lowering_writes_for_only_on_fan_out_nodes() -> None:
    ir = compile_source(spec("node each for item in items key item.id { set seen += [item.id] }"))
    node = ir["flows"]["f"]["nodes"]["each"]
    assert node["for"]["var"] == "item" and node["for"]["in"] == {"k": "field", "n": "items"}
    assert node["steps"][0]["value"]["items"][0] == {"k": "get", "o": {"k": "local", "n": "item"}, "n": "id"}
    plain = compile_source(spec("node each { }"))["flows"]["f"]["nodes"]["each"]
    assert "for" not in plain


def test_a_fan_out_is_drawn_as_a_stack() -> None:
    flow = compile_source(spec("node each for item in items key item.id { }"))["flows"]["f"]
    assert 'n_each@{ shape: procs, label: "each<br/>for item in items key item.id" }' in to_mermaid(flow)
    assert 'label="each\\nfor item in items key item.id", shape=box3d' in to_dot(flow)


def test_generated_python_carries_the_clause(tmp_path) -> None:
    import runpy

    ir = compile_source(spec("node each for item in items { set seen += [item.id] }"))
    path = tmp_path / "generated.py"
    path.write_text(emit_python(ir), encoding="utf-8")
    module = runpy.run_path(str(path))   # our own generated code
    assert module["IR"]["flows"]["f"]["nodes"]["each"]["for"] == ir["flows"]["f"]["nodes"]["each"]["for"]


@pytest.mark.parametrize("text", ["node each for item in { }", "node each for in items { }"])
def test_incomplete_clauses_are_syntax_errors(text: str) -> None:
    module, diagnostics = parse(spec(text))
    assert module is None and diagnostics and diagnostics[0].code.startswith("F0")


def test_a_fan_out_that_replaces_a_field_is_warned_about() -> None:
    assert codes(spec("node each for item in items { set count = item.rank }")) == [("F218", 5)]
    assert codes(spec("node each { set count = 1 }")) == []
