"""`run FLOW {input}` (a child run) through the compiler: parse, print,
format, check (the flow's name, its input, the output's type, cycles),
lower (the "run" step and the flow's "children"), draw, generate Python,
and the language server's index."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import jsonschema
import pytest

from fermata.compiler import compile_file
from fermata.compiler.codegen import emit_python
from fermata.compiler.codegen.diagram import to_dot, to_mermaid
from fermata.compiler.lower.lowering import dumps
from fermata.compiler.pipeline import analyze, compile_source
from fermata.compiler.syntax import ast
from fermata.compiler.syntax.fmt import format_source
from fermata.compiler.syntax.parser import parse, parse_or_raise
from fermata.compiler.syntax.printer import print_module

REPO = Path(__file__).resolve().parents[2]
IR_SCHEMA = json.loads((REPO / "spec" / "ir.schema.json").read_text(encoding="utf-8"))

DRAFT = """\
type Reason = str(min 1)

flow draft {
    state {
        topic: str
        rounds: int = 3
        reason: Reason = "because"
        notes: list[str] = []
        secret: str = ""
        text: str = ""
    }
    input topic, rounds, reason, notes
    output text, rounds
    node write {
        set text = "about " + topic
    }
    start -> write
    write -> end
}
"""


def spec(steps: str, state: str = 'text: str = ""; n: int = 0; topic: str = "owls"') -> str:
    """DRAFT, then a flow `main` whose node `a` has ``steps`` (node `a` on line 23)."""
    return (DRAFT + "\nflow main {\n"
            f"    state {{ {state} }}\n"
            f"    node a {{\n        {steps}\n    }}\n"
            "    start -> a\n    a -> end\n}\n")


def codes(text: str, path: str = "f.flow") -> list[tuple[str, int]]:
    return [(d.code, d.span.line) for d in analyze(text, path).diagnostics]


def messages(text: str) -> list[str]:
    return [d.message for d in analyze(text, "f.flow").diagnostics]


def steps_of(text: str, flow: str = "main", node: str = "a") -> list[ast.Step]:
    module = parse_or_raise(text)
    return list(next(f for f in module.flows if f.name == flow).nodes[0].steps)


# --------------------------------------------------------------------------
# Syntax
# --------------------------------------------------------------------------


def test_let_run_and_the_bare_step_parse_into_run_nodes() -> None:
    let, bare = steps_of(spec('let r = run draft {topic: topic}\n        run review.draft {topic: "x"}'))
    assert isinstance(let, ast.Let) and let.value == ast.Run(
        "draft", ast.RecordExpr((ast.RecordEntry("topic", ast.Name("topic")),)))
    assert isinstance(bare, ast.Run) and bare.flow == "review.draft"
    assert let.value.flow_span.line == 24 and let.value.flow_span.column == 21


def test_run_stays_a_name_where_a_name_can_stand() -> None:
    text = spec("let q = run\n        let p = run + 1\n        set n = p + q.run",
                state="run: int = 0; n: int = 0")
    let_q, let_p, _set = steps_of(text)
    assert let_q.value == ast.Name("run")
    assert let_p.value == ast.Binary("+", ast.Name("run"), ast.Literal(1))
    # A flow, a node, a record key and a label named `run` too.
    assert codes("flow run { state { run: int = 0 } node run { interrupt run {run: run} } "
                 "start -> run\nrun -> end }") == [("F440", 1)]


def test_a_misspelt_run_after_let_is_a_syntax_diagnostic() -> None:
    _module, diagnostics = parse(spec('let r = rn draft {topic: "x"}'))
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("F031", 24, 17)]


@pytest.mark.parametrize("steps", ["let r = run draft", "run draft topic", "run {topic: 1}",
                                   "let r = run draft.{}"])
def test_incomplete_runs_are_syntax_errors(steps: str) -> None:
    module, diagnostics = parse(spec(steps))
    assert module is None and diagnostics and diagnostics[0].code.startswith("F0")


def test_print_and_format_round_trip_and_are_idempotent() -> None:
    text = spec('let r = run draft {topic: topic, rounds: 2}\n        run draft {topic: "x"}'
                "\n        set text = r.text")
    module = parse_or_raise(text)
    printed = print_module(module)
    assert "let r = run draft {topic: topic, rounds: 2}" in printed
    assert '        run draft {topic: "x"}' in printed
    assert parse_or_raise(printed) == module
    formatted = format_source(text).text
    assert format_source(formatted).text == formatted


def test_a_long_input_wraps_one_field_per_line_and_still_parses() -> None:
    long = ", ".join(f'k{i}: "{"x" * 10}"' for i in range(8))
    module = parse_or_raise(spec(f"let r = run draft {{{long}}}"))
    printed = print_module(module)
    assert "let r = run draft {\n" in printed
    assert parse_or_raise(printed) == module


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------


def test_a_well_typed_run_checks_clean_and_types_its_output() -> None:
    text = spec('let r = run draft {topic: topic, rounds: 2, notes: ["a"]}\n'
                "        set text = r.text\n        set n = r.rounds")
    assert codes(text) == []


def test_the_output_record_has_the_childs_output_fields_only() -> None:
    assert codes(spec('let r = run draft {topic: topic}\n        set text = r.secret')) == [("F129", 25)]
    assert codes(spec('let r = run draft {topic: topic}\n        set n = r.text')) == [("F300", 25)]


def test_without_output_every_field_is_in_the_output() -> None:
    text = DRAFT.replace("    output text, rounds\n", "") + spec(
        'let r = run draft {topic: topic}\n        set text = r.secret').removeprefix(DRAFT)
    assert codes(text) == []


def test_a_required_input_left_out_is_f332() -> None:
    (message,) = messages(spec("let r = run draft {rounds: 1}\n        set text = r.text"))
    assert message == "`run draft` is missing required input `topic`"


def test_an_unknown_or_non_input_field_is_f332() -> None:
    found = messages(spec('let r = run draft {topic: "x", topc: "y", secret: "z"}\n        set text = r.text'))
    assert found == ["flow `draft` has no input field `topc`",
                     "`secret` is a state field of flow `draft` but not in its `input` list"]


def test_a_value_of_the_wrong_type_is_f300_at_the_value() -> None:
    text = spec('let r = run draft {topic: 3, notes: ["a", 2]}\n        set text = r.text')
    assert [(code, line) for code, line in codes(text)] == [("F300", 24), ("F300", 24)]
    assert messages(text)[0] == "expected `str` for input field `topic` of flow `draft`, found `int`"


def test_a_constrained_field_takes_its_base_type_checked_at_run_time() -> None:
    assert codes(spec('let r = run draft {topic: "x", reason: topic}\n        set text = r.text')) == []
    assert [c for c, _ in codes(spec('let r = run draft {topic: "x", reason: 1}\n        set text = r.text'))] \
        == ["F300"]


def test_an_unknown_flow_is_f141_with_a_suggestion() -> None:
    diagnostics = analyze(spec('let r = run drafts {topic: "x"}\n        set text = r.text'), "f.flow").diagnostics
    assert [(d.code, d.span.line, d.help) for d in diagnostics] == [("F141", 24, "did you mean `draft`?")]
    (message,) = messages(spec('run rev.draft {topic: "x"}'))
    assert message == 'unknown flow `rev.draft`: no `use "..." as rev` brings it in'


def test_a_run_cycle_is_reported_at_each_run_on_it_as_a_chain() -> None:
    text = """\
flow a {
    state { n: int = 0 }
    node x { run b {} }
    start -> x
    x -> end
}
flow b {
    state { n: int = 0 }
    node y { if n > 0 { run c {} } }
    start -> y
    y -> end
}
flow c {
    state { n: int = 0 }
    node z { run a {} }
    start -> z
    z -> end
}
flow self {
    state { n: int = 0 }
    node w { run self {} }
    start -> w
    w -> end
}
"""
    assert [(d.code, d.span.line, d.message) for d in analyze(text, "f.flow").diagnostics] == [
        ("F142", 3, "`run` cycle between flows: a -> b -> c -> a"),
        ("F142", 9, "`run` cycle between flows: b -> c -> a -> b"),
        ("F142", 15, "`run` cycle between flows: c -> a -> b -> c"),
        ("F142", 21, "`run` cycle between flows: self -> self"),
    ]


def test_a_run_inside_a_fan_out_or_an_if_is_allowed() -> None:
    text = spec('if n > 0 { let r = run draft {topic: topic}\n set text = r.text }',
                state='text: str = ""; n: int = 0; topic: str = "owls"')
    assert codes(text) == []
    fan = spec("x", state='topics: list[str] = []; out: list[str] = []').replace(
        "node a {\n        x\n    }",
        "node a for t in topics {\n        let r = run draft {topic: t}\n        set out += [r.text]\n    }")
    assert codes(fan) == []


def test_a_node_whose_only_step_is_a_run_passes_the_graph_checks() -> None:
    assert codes(spec('run draft {topic: "x"}')) == []


def test_an_unused_run_result_is_warned_about_as_a_run() -> None:
    diagnostics = analyze(spec('let r = run draft {topic: "x"}'), "f.flow").diagnostics
    assert [d.code for d in diagnostics] == ["F124"]
    assert diagnostics[0].help.startswith("to ignore the run's value, drop `let r =`")


# --------------------------------------------------------------------------
# Lowering
# --------------------------------------------------------------------------


def test_a_run_lowers_to_a_run_step_and_the_flow_carries_its_child() -> None:
    ir = compile_source(spec("let r = run draft {topic: topic}\n        set text = r.text"), "f.flow")
    jsonschema.Draft202012Validator(IR_SCHEMA).validate(ir)
    main = ir["flows"]["main"]
    step, set_step = main["nodes"]["a"]["steps"]
    assert step == {"k": "run", "flow": "draft", "bind": "r", "line": 24, "column": 9,
                    "input": {"k": "record", "items": [["topic", {"k": "field", "n": "topic"}]]}}
    assert main["children"] == {"draft": ir["flows"]["draft"]}
    # `r.text` is known to be a `str`: no run-time check on the write.
    assert set_step["check"] is False


def test_a_flow_without_run_lowers_to_the_same_bytes_as_before() -> None:
    alone = compile_source(DRAFT, "f.flow")["flows"]["draft"]
    beside = compile_source(spec('run draft {topic: "x"}'), "f.flow")["flows"]["draft"]
    assert "children" not in alone and dumps(alone) == dumps(beside)


def test_children_nest_and_a_run_inside_if_counts() -> None:
    text = spec('if n > 0 { run middle {} }').replace("flow main {", """flow middle {
    state { n: int = 0 }
    node m { run draft {topic: "x"} }
    start -> m
    m -> end
}

flow main {""")
    ir = compile_source(text, "f.flow")
    jsonschema.Draft202012Validator(IR_SCHEMA).validate(ir)
    main = ir["flows"]["main"]
    assert list(main["children"]) == ["middle"]
    assert list(main["children"]["middle"]["children"]) == ["draft"]
    assert main["nodes"]["a"]["steps"][0]["then"][0]["k"] == "run"


def test_a_namespaced_child_and_its_own_children_are_renamed(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "review.flow").write_text(DRAFT + """
flow review {
    state { topic: str; text: str = "" }
    node go {
        let r = run draft {topic: topic}
        set text = r.text
    }
    start -> go
    go -> end
}
""", encoding="utf-8")
    (tmp_path / "main.flow").write_text("""use "shared/review.flow" as rv

flow main {
    state { text: str = ""; why: rv.Reason = "x" }
    node a {
        let r = run rv.review {topic: "owls"}
        set text = r.text
    }
    start -> a
    a -> end
}
""", encoding="utf-8")
    ir = compile_file(tmp_path / "main.flow")
    jsonschema.Draft202012Validator(IR_SCHEMA).validate(ir)
    child = ir["flows"]["main"]["children"]["rv.review"]
    assert child["name"] == "rv.review"
    assert child["nodes"]["go"]["steps"][0]["flow"] == "rv.draft"
    assert child["children"]["rv.draft"]["fields"][2]["schema"] == {"$ref": "#/$defs/rv.Reason"}
    assert "rv.Reason" in child["children"]["rv.draft"]["defs"]
    assert codes((tmp_path / "main.flow").read_text(encoding="utf-8"), str(tmp_path / "main.flow")) == []


def test_imported_flows_are_checked_by_their_input_too(tmp_path: Path) -> None:
    (tmp_path / "lib.flow").write_text(DRAFT, encoding="utf-8")
    main = tmp_path / "main.flow"
    main.write_text('use "lib.flow"\n' + spec("let r = run draft {rounds: 1}\n        set text = r.text")
                    .removeprefix(DRAFT), encoding="utf-8")
    assert [c for c, _ in codes(main.read_text(encoding="utf-8"), str(main))] == ["F332"]


# --------------------------------------------------------------------------
# Diagrams, generated Python, the language server
# --------------------------------------------------------------------------


def test_a_run_is_drawn_as_a_subroutine_linked_from_its_node() -> None:
    flow = compile_source(spec('run draft {topic: "x"}'), "f.flow")["flows"]["main"]
    mermaid = to_mermaid(flow)
    assert '    child_draft[["run draft"]]' in mermaid and "    n_a -.- child_draft" in mermaid
    assert "class n_a paused" in mermaid
    dot = to_dot(flow)
    assert '"child_draft" [label="run draft", shape=box, style=solid, peripheries=2];' in dot
    assert '"n_a" -> "child_draft" [style=dotted, arrowhead=none];' in dot


def test_generated_python_carries_the_children(tmp_path: Path) -> None:
    ir = compile_source(spec("let r = run draft {topic: topic}\n        set text = r.text"), "f.flow")
    path = tmp_path / "generated.py"
    path.write_text(emit_python(ir, flow="main"), encoding="utf-8")
    module = runpy.run_path(str(path))   # our own generated code
    assert module["IR"]["flows"]["main"] == ir["flows"]["main"]
    assert module["CHILDREN"] == ir["flows"]["main"]["children"]


def test_generated_python_without_children_has_no_children_table() -> None:
    text = emit_python(compile_source(DRAFT, "f.flow"))
    assert "CHILDREN" not in text and '"children"' not in text


def test_the_language_server_finds_the_flow_of_a_run() -> None:
    from fermata.compiler.lsp.analysis import FLOW, LOCAL, analyze_document

    text = spec("let r = run draft {topic: topic}\n        set text = r.text")
    doc = analyze_document(text, "file:///f.flow", "f.flow")
    on_line = doc.occurrences[24]
    flow_ref = next(o for o in on_line if o.symbol.kind == FLOW)
    assert (flow_ref.span.column, flow_ref.symbol.name, flow_ref.symbol.span.line) == (21, "draft", 3)
    local = next(o.symbol for o in on_line if o.symbol.kind == LOCAL)
    assert str(local.type) == "{text: str, rounds: int}"


def test_hover_on_the_flow_of_a_run_tells_its_input_and_output() -> None:
    from fermata.compiler.lsp.analysis import analyze_document
    from fermata.compiler.lsp.features import definition, hover

    text = spec("let r = run draft {topic: topic}\n        set text = r.text")
    doc = analyze_document(text, "file:///f.flow", "f.flow")
    shown = hover(doc, (24, 22))
    assert shown is not None
    assert "flow draft" in str(shown.contents)
    assert "input `topic`, `rounds`, `reason`, `notes`; output `{text: str, rounds: int}`" in str(shown.contents)
    target = definition(doc, (24, 22))
    assert target is not None and target.range.start.line == 2   # 0-based: `flow draft` on line 3


def test_an_edit_inside_a_node_with_a_run_reindexes_as_a_full_analysis() -> None:
    from fermata.compiler.lsp.analysis import FLOW, analyze_document
    from fermata.compiler.lsp.incremental import reanalyze

    text = spec("let r = run draft {topic: topic}\n        set text = r.text")
    first = analyze_document(text, "u", "x")
    at = text.index("set text = r.text") + len("set text = r.text")
    edited = text[:at] + ' + "!"' + text[at:]
    again = reanalyze(first, edited, 2)
    assert again is not None and again.diagnostics == []   # the incremental path, with `r` typed
    assert [o.symbol.name for o in again.occurrences[24] if o.symbol.kind == FLOW] == ["draft"]
    local = next(o.symbol for o in again.occurrences[24] if o.symbol.name == "r")
    assert str(local.type) == "{text: str, rounds: int}"


def test_a_key_given_twice_in_the_input_is_f132() -> None:
    assert codes(spec('let r = run draft {topic: "a", topic: "b"}\n        set text = r.text')) == [("F132", 24)]


def test_completion_after_run_offers_the_flows() -> None:
    from fermata.compiler.lsp.analysis import analyze_document
    from fermata.compiler.lsp.features import completion

    text = spec("let r = run draft {topic: topic}\n        set text = r.text")
    doc = analyze_document(text, "file:///f.flow", "f.flow")
    edited = text.replace("let r = run draft {topic: topic}", "let r = run dr")
    column = len("        let r = run dr") + 1
    assert [item.label for item in completion(doc, edited, (24, column))] == ["draft", "main"]
    assert "run" in [item.label for item in completion(doc, edited.replace("let r = run dr", ""), (24, 9))]


def test_a_constant_input_breaking_the_fields_constraints_is_f346() -> None:
    found = analyze(spec('let r = run draft {topic: "x", reason: ""}\n        set text = r.text'), "f.flow").diagnostics
    assert [(d.code, d.span.line, d.message) for d in found] == [
        ("F346", 24, "input field `reason` of `run draft` breaks `Reason`: `reason` needs at least 1 character")]
    assert codes(spec('let r = run draft {topic: "x", reason: "ok"}\n        set text = r.text')) == []


def test_an_imported_childs_constraints_hold_for_a_constant_input(tmp_path: Path) -> None:
    (tmp_path / "lib.flow").write_text(DRAFT, encoding="utf-8")
    main = tmp_path / "main.flow"
    main.write_text('use "lib.flow" as lib\n' + spec('let r = run lib.draft {topic: "x", reason: ""}\n'
                                                     "        set text = r.text").removeprefix(DRAFT),
                    encoding="utf-8")
    assert [c for c, _ in codes(main.read_text(encoding="utf-8"), str(main))] == ["F346"]
