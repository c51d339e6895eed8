"""The features as functions of an analysis (no server): recovery, quick
fixes, rename rules, completion contexts, tokens, symbols, configuration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lsprotocol import types as lsp

from fermata.compiler.diagnostics.render import render_lsp
from fermata.compiler.lsp import features
from fermata.compiler.lsp.analysis import analyze_document
from fermata.compiler.lsp.config import project_config
from fermata.compiler.lsp.recovery import repair

REPO = Path(__file__).resolve().parents[3]
REFUND = (REPO / "examples" / "refund.flow").read_text(encoding="utf-8")


def point(text: str, needle: str, offset: int = 0) -> tuple[int, int]:
    index = text.index(needle) + offset
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def codes(text: str) -> list[str]:
    return [d.code for d in analyze_document(text, "u", "x").diagnostics]


# ------------------------------------------------------------------ recovery


@pytest.mark.parametrize("broken", [
    # a node's closing brace missing
    REFUND.replace('set log += ["risk {{ risk }}"]\n    }', 'set log += ["risk {{ risk }}"]\n', 1),
    # an unfinished edge
    REFUND.replace("    reject -> end\n", "    reject -> \n", 1),
    # the flow's closing brace missing (the end of the file)
    REFUND.rstrip().removesuffix("}"),
    # a stray character in a node
    REFUND.replace("set decision = d", "set decision = d $", 1),
])
def test_a_syntax_error_does_not_hide_the_checks_after_it(broken: str):
    text = broken.replace("set approved = d.approved", "set approved = d.aproved")
    found = codes(text)
    assert {"F001", "F002", "F005"} & set(found)  # the syntax error, as `fermata check` says it
    assert "F129" in found  # the misspelt member, reported by the type checker


def test_repairs_keep_every_other_character_in_place():
    broken = REFUND.replace("    reject -> end\n", "    reject -> \n", 1)
    fixed = repair(broken)
    assert fixed is not None and len(fixed.text) == len(broken)
    assert fixed.text.count("\n") == broken.count("\n")


def test_a_hopeless_text_has_no_repair_and_no_crash():
    doc = analyze_document('flow "', "u", "x")
    assert [d.code for d in doc.diagnostics][:1] in (["F002"], ["F003"], ["F001"])


# ---------------------------------------------------------------- quick fixes


def test_a_missing_otherwise_edge_is_inserted_as_the_flows_last_line():
    text = ("flow f {\n    state { x: int = 0 }\n    node a { set x = 1 }\n    node b { }\n"
            "    start -> a\n    a -> b when x > 0\n    b -> end\n}\n")
    doc = analyze_document(text, "file:///f.flow", "f.flow")
    (diagnostic,) = [lsp.Diagnostic(**_structure(d)) for d in render_lsp(doc.diagnostics, text, doc.uri)]
    (action,) = features.code_actions(doc, [diagnostic])
    assert action.title == "Add `a -> end otherwise`"
    assert action.edit is not None and action.edit.changes is not None
    (edit,) = action.edit.changes[doc.uri]
    assert edit.range.start == lsp.Position(7, 0) and edit.new_text == "    a -> end otherwise\n"
    fixed = text.replace("    b -> end\n}", "    b -> end\n    a -> end otherwise\n}")
    assert codes(fixed) == []


def _structure(rendered: dict) -> dict:
    r = rendered["range"]
    return {"range": lsp.Range(lsp.Position(**r["start"]), lsp.Position(**r["end"])),
            "message": rendered["message"], "code": rendered["code"], "data": rendered["data"]}


# --------------------------------------------------------------------- rename


def test_renaming_a_local_to_a_field_name_or_a_sibling_local_is_refused():
    text = REFUND.replace("set risk = r", "let s = r\n        set risk = s")
    doc = analyze_document(text, "u", "x")
    at = point(text, "let r", 4)
    with pytest.raises(features.RenameRefused, match="already the name of the field"):
        features.rename(doc, at, "amount")
    with pytest.raises(features.RenameRefused, match="already the name of the local"):
        features.rename(doc, at, "s")
    edit = features.rename(doc, at, "d")  # `d` is a local of another node: allowed
    assert edit is not None and edit.changes is not None and len(edit.changes["u"]) == 2


def test_renaming_to_a_keyword_works_where_the_keyword_reads_as_a_name():
    text = REFUND.replace("set risk = r", "let s = r\n        set risk = s")
    doc = analyze_document(text, "u", "x")
    edit = features.rename(doc, point(text, "let r", 4), "type")   # a local named `type`
    assert edit is not None and edit.changes is not None and len(edit.changes["u"]) == 2
    with pytest.raises(features.RenameRefused, match="`call` is a keyword, and at line"):
        features.rename(doc, point(text, "let r", 4), "call")       # `let s = call`: the keyword wins
    with pytest.raises(features.RenameRefused, match="`null` is a keyword"):
        features.rename(doc, point(text, "let r", 4), "null")


def test_renaming_a_type_to_a_builtin_is_refused():
    doc = analyze_document(REFUND, "u", "x")
    with pytest.raises(features.RenameRefused, match="built-in type"):
        features.rename(doc, point(REFUND, "Decision"), "str")


# ----------------------------------------------------------------- completion


def labels(text: str, at: tuple[int, int]) -> set[str]:
    doc = analyze_document(text, "u", "x")
    return {item.label for item in features.completion(doc, text, at)}


def test_completion_after_interrupt_before_offers_nodes_without_end():
    text = REFUND.replace("interrupt before pay", "interrupt before ")
    found = labels(text, point(text, "interrupt before ", 17))
    assert {"assess", "review", "pay", "reject"} <= found and "end" not in found


def test_no_completion_inside_a_plain_string_or_a_comment():
    assert labels(REFUND, point(REFUND, "Refund a purchase", 5)) == set()
    assert labels(REFUND, point(REFUND, "# Refunds above", 5)) == set()


def test_top_level_completion_offers_declarations():
    text = REFUND + "\n\n"
    assert labels(text, (text.count("\n") + 1, 1)) == {"flow", "type", "use"}


# ------------------------------------------------------- tokens and symbols


def test_semantic_tokens_are_ordered_and_never_overlap():
    doc = analyze_document(REFUND, "u", "x")
    data = features.semantic_tokens(doc)
    line = start = 0
    previous_end: tuple[int, int] = (-1, -1)
    for i in range(0, len(data), 5):
        delta_line, delta_start, length, kind, _modifiers = data[i:i + 5]
        line, start = line + delta_line, (start + delta_start if delta_line == 0 else delta_start)
        assert (line, start) >= previous_end and length > 0
        assert 0 <= kind < len(features.TOKEN_TYPES)
        previous_end = (line, start + length)


def test_document_symbols_nest_fields_and_nodes_under_their_flow():
    (decision, refund) = features.document_symbols(analyze_document(REFUND, "u", "x"))
    assert decision.name == "Decision" and refund.name == "refund"
    assert [c.name for c in refund.children or []] == [
        "amount", "reason", "risk", "approved", "log", "decision", "assess", "review", "pay", "reject"]


# -------------------------------------------------------------- configuration


def test_each_workspace_folder_reads_its_own_pyproject(tmp_path: Path):
    outer, inner = tmp_path / "outer", tmp_path / "outer" / "inner"
    (inner / "flows").mkdir(parents=True)
    (outer / "pyproject.toml").write_text('[tool.fermata.calls]\nallow = ["a"]\n')
    (inner / "pyproject.toml").write_text('[tool.fermata.calls]\nallow = ["b"]\n')
    in_inner = project_config(inner / "flows" / "x.flow", [outer, inner]).call_policy
    assert in_inner.refusal("b.m:f") is None and in_inner.refusal("a.m:f") is not None
    # A folder without a pyproject does not look above its workspace folder.
    (tmp_path / "pyproject.toml").write_text('[tool.fermata.calls]\nallow = ["c"]\n')
    lone = tmp_path / "lone"
    lone.mkdir()
    assert project_config(lone / "x.flow", [lone]).source is None


def test_a_pyproject_without_a_fermata_table_is_passed_over_as_check_does(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[tool.fermata.calls]\nallow = ["a"]\n')
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "pyproject.toml").write_text('[project]\nname = "pkg"\n')
    config = project_config(tmp_path / "pkg" / "x.flow", [tmp_path])
    assert config.source == tmp_path / "pyproject.toml"


def test_a_malformed_configuration_keeps_the_default_policy_and_says_why(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.fermata\n")
    config = project_config(tmp_path / "x.flow", [tmp_path])
    assert config.problem is not None and config.call_policy.refusal("refunds:pay") is None
    (tmp_path / "pyproject.toml").write_text('[tool.fermata.calls]\nallow = "a"\n')
    config = project_config(tmp_path / "x.flow", [tmp_path])
    assert "must be a list" in (config.problem or "")


def test_the_configured_call_policy_gives_the_f452_check_gives(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[tool.fermata.calls]\nallow = ["refunds"]\n')
    policy = project_config(tmp_path / "x.flow", [tmp_path]).call_policy
    text = 'flow f {\n    node a {\n        call "billing.api:charge"()\n    }\n    start -> a\n    a -> end\n}\n'
    codes = [d.code for d in analyze_document(text, "u", "x", call_policy=policy).analysis.diagnostics]
    assert codes == ["F452"]
    assert [d.code for d in analyze_document(text, "u", "x").analysis.diagnostics] == []


# ---------------------------------------------------------------------- hover


def test_hover_under_a_diagnostic_adds_its_catalogue_entry():
    text = REFUND.replace("set risk = r", "set risk = rr")
    hover = features.hover(analyze_document(text, "u", "x"), point(text, "rr", 1))
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    assert "**F120** (error): unknown name" in hover.contents.value


def test_hover_on_a_name_shows_its_type_and_the_diagnostic_beside_it():
    text = REFUND.replace("set risk = r\n", "set risk = r\n        let unused = risk\n")
    hover = features.hover(analyze_document(text, "u", "x"), point(text, "let unused", 4))
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    value = hover.contents.value
    assert "let unused: float" in value and "**F124**" in value


# ------------------------------------------------------- human-task clauses


HUMAN_TASKS = (Path(__file__).resolve().parents[1] / "fixtures" / "human_tasks.flow").read_text(encoding="utf-8")


def test_hover_completion_and_tokens_work_on_the_clauses_and_waits():
    doc = analyze_document(HUMAN_TASKS, "u", "x")
    assert doc is not None
    for word in ("where", "to approvers", "within", "remind", "every", "wait", "for 24h", "until"):
        at = point(HUMAN_TASKS, word)
        features.hover(doc, at)           # a keyword: no crash, whatever it shows
        features.completion(doc, HUMAN_TASKS, at)
    hover = features.hover(doc, point(HUMAN_TASKS, "approvers, manager"))
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    assert "list[str]" in hover.contents.value
    assert features.semantic_tokens(doc)


def test_step_completion_offers_wait():
    text = HUMAN_TASKS.replace("        wait cooling_off for 24h\n", "        \n")
    assert "wait" in labels(text, point(text, "    node pay {\n        ", 23))


CONSTRAINED = (REPO / "tests" / "compiler" / "fixtures" / "constrained.flow").read_text(encoding="utf-8")


def _hover_text(text: str, needle: str, offset: int = 0) -> str:
    hover = features.hover(analyze_document(text, "u", "x"), point(text, needle, offset))
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    return hover.contents.value


def test_hover_shows_constrained_types_as_written():
    assert "type Reason = str(min 1, max 500)" in _hover_text(CONSTRAINED, "type Reason", 5)
    assert "email: str(format \"email\")?" in _hover_text(CONSTRAINED, "email: str", 1)
    assert "shorter: str(min 2, max 80)?" in _hover_text(CONSTRAINED, "shorter:", 1)
    answer = _hover_text(CONSTRAINED, "let answer", 5)
    assert 'let answer: {reason: str(min 1, max 100), at: str(format "date-time")?}' in answer
    schema = _hover_text(CONSTRAINED, "interrupt why", 11)
    assert '"format": "date-time"' in schema and '"maxLength": 100' in schema


def test_a_fan_out_variable_hovers_as_an_item_and_leads_to_its_clause():
    text = (REPO / "examples" / "moderation.flow").read_text(encoding="utf-8")
    doc = analyze_document(text, "u", "x")
    assert doc.diagnostics == []
    hover = features.hover(doc, point(text, "post.text"))
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    assert "for post: Labelled" in hover.contents.value and "fan-out node `review`" in hover.contents.value
    found = features.definition(doc, point(text, "post.text"))
    assert found is not None
    line, column = point(text, "for post in", 4)
    assert (found.range.start.line, found.range.start.character) == (line - 1, column - 1)


def test_an_imported_type_hovers_and_goes_to_its_file_and_refuses_renaming_here(tmp_path: Path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared/editorial.flow").write_text(
        '# shared\ntype Verdict = "publish" | "hold"\ntype Feedback = {verdict: Verdict}\n', encoding="utf-8")
    text = ('use "shared/editorial.flow" as ed\n\nflow f {\n    state {\n        v: ed.Feedback? = null\n    }\n'
            '    node a {\n        let x = interrupt ask "?" expect ed.Feedback\n        set v = x\n    }\n'
            '    start -> a\n    a -> end\n}\n')
    main = tmp_path / "main.flow"
    main.write_text(text, encoding="utf-8")
    doc = analyze_document(text, main.as_uri(), main.as_posix())
    assert doc.diagnostics == []
    where = point(text, "ed.Feedback", 3)
    location = features.definition(doc, where)
    assert location is not None
    assert location.uri == (tmp_path / "shared/editorial.flow").as_uri()
    assert (location.range.start.line, location.range.start.character) == (2, 5)   # `Feedback` on line 3
    hover = features.hover(doc, where)
    assert hover is not None and "verdict" in str(hover.contents)
    with pytest.raises(features.RenameRefused, match=re.escape("editorial.flow")):
        features.rename(doc, where, "Other")


# ------------------------------------------------------------ more fixes


@pytest.mark.parametrize(("written", "key"), [("{first-name: 1}", "first-name"), ("{a: 1, my key: 2}", "my key")])
def test_a_record_key_that_is_not_a_name_is_quoted_by_a_quick_fix(written: str, key: str):
    text = ("flow f {\n    state { x: map[int] = {} }\n    node a {\n        set x = " + written + "\n    }\n"
            "    start -> a\n    a -> end\n}\n")
    doc = analyze_document(text, "file:///f.flow", "f.flow")
    rendered = [lsp.Diagnostic(**_structure(d)) for d in render_lsp(doc.diagnostics, text, doc.uri)]
    syntax = [d for d in rendered if d.code == "F001"]
    (action,) = features.code_actions(doc, syntax)
    assert action.title == f'Quote the key: `"{key}"`'
    assert action.edit is not None and action.edit.changes is not None
    (edit,) = action.edit.changes[doc.uri]
    fixed = text.replace(key + ":", f'"{key}":', 1)
    lines = text.split("\n")
    line = lines[edit.range.start.line]
    lines[edit.range.start.line] = line[:edit.range.start.character] + edit.new_text + line[edit.range.end.character:]
    assert "\n".join(lines) == fixed
    assert "F001" not in codes(fixed)


def test_no_quote_fix_where_the_missing_colon_is_not_after_a_key():
    text = "flow f {\n    state {\n        x int\n    }\n    node a { }\n    start -> a\n    a -> end\n}\n"
    doc = analyze_document(text, "file:///f.flow", "f.flow")
    rendered = [lsp.Diagnostic(**_structure(d)) for d in render_lsp(doc.diagnostics, text, doc.uri)]
    assert [d.code for d in rendered if d.code == "F001"]
    assert features.code_actions(doc, rendered) == []


def test_type_completion_after_a_colon_in_a_state_block():
    text = REFUND.replace("        decision: Decision?\n", "        decision: Decision?\n        extra: \n", 1)
    doc = analyze_document(text, "u", "x")
    labels = {item.label for item in features.completion(doc, text, point(text, "extra: ", len("extra: ")))}
    assert {"str", "int", "float", "bool", "Decision"} <= labels
    assert "amount" not in labels
