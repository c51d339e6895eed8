"""Forms from JSON Schemas, form data back to JSON, the runtime's messages placed by field."""

from __future__ import annotations

from typing import Any

import pytest

from fermata.server.forms import (
    FormInputError,
    all_paths,
    build_form,
    edit_rows,
    place_located,
    place_problems,
    read_form,
)

LINE = {"type": "object", "additionalProperties": False, "required": ["name", "qty"],
        "properties": {"name": {"type": "string"}, "qty": {"type": "integer", "minimum": 1, "maximum": 9}}}
ORDER: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["priority", "lines", "urgent"],
    "properties": {
        "priority": {"enum": ["low", "normal", "high"], "type": "string"},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "discount": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "urgent": {"type": "boolean"},
        "colour": {"enum": ["red", "green", "blue", "cyan", "magenta"], "type": "string"},
        "extra": {"type": "object", "additionalProperties": {"type": "integer"}},
        "ship_to": {"anyOf": [{"$ref": "#/$defs/Line"}, {"type": "null"}]},
    }}
DEFS = {"Line": LINE}


def by_path(field: Any) -> dict[str, Any]:
    found = {field.path: field}
    for child in field.children:
        found.update(by_path(child))
    return found


def test_each_schema_gets_its_widget() -> None:
    fields = by_path(build_form(ORDER, DEFS, None))
    assert fields[""].kind == "fieldset"
    assert fields["priority"].kind == "radio"
    assert fields["priority"].options == [("low", "low"), ("normal", "normal"), ("high", "high")]
    assert fields["colour"].kind == "select"  # five options: a select, not a row of radios
    assert fields["urgent"].kind == "radio" and fields["urgent"].options == [("true", "Yes"), ("false", "No")]
    assert fields["note"].kind == "textarea" and fields["note"].nullable
    assert fields["discount"].kind == "number" and fields["discount"].attrs["step"] == "any"
    assert fields["lines"].kind == "list" and [c.path for c in fields["lines"].children] == ["lines.0"]
    assert fields["lines.0.qty"].attrs == {"step": "1", "min": 1, "max": 9}
    assert fields["lines.0.name"].kind == "text" and fields["lines.0.name"].name == "answer.lines.0.name"
    assert fields["extra"].kind == "json"
    assert fields["ship_to"].kind == "fieldset" and fields["ship_to"].nullable


def test_a_posted_form_reads_back_as_typed_json() -> None:
    form = {"answer.priority": "high", "answer.lines.__rows": "2", "answer.lines.0.name": "pen",
            "answer.lines.0.qty": "3", "answer.lines.1.name": "ink", "answer.lines.1.qty": "x",
            "answer.note": "", "answer.discount": "2.5", "answer.urgent": "false",
            "answer.colour": "cyan", "answer.extra": '{"a": 1}'}
    assert read_form(ORDER, DEFS, form) == {
        "priority": "high", "lines": [{"name": "pen", "qty": 3}, {"name": "ink", "qty": "x"}],
        "note": None, "discount": 2.5, "urgent": False, "colour": "cyan", "extra": {"a": 1},
        "ship_to": None}


def test_empty_required_boxes_are_missing_so_the_runtime_names_them() -> None:
    value = read_form(ORDER, DEFS, {"answer.lines.__rows": "0"})
    assert value == {"lines": [], "note": None, "discount": None, "ship_to": None}


def test_an_optional_record_is_read_only_when_filled_in() -> None:
    form = {"answer.ship_to.__present": "1", "answer.ship_to.name": "home", "answer.ship_to.qty": "1"}
    assert read_form(ORDER, DEFS, form)["ship_to"] == {"name": "home", "qty": 1}


def test_json_that_does_not_parse_is_reported_at_its_field() -> None:
    with pytest.raises(FormInputError) as caught:
        read_form(ORDER, DEFS, {"answer.extra": "{oops"})
    assert list(caught.value.errors) == ["extra"]


def test_scalar_answers_read_as_their_type() -> None:
    assert read_form({"type": "boolean"}, {}, {"answer": "true"}) is True
    assert read_form({"type": "integer"}, {}, {"answer": " 7 "}) == 7
    assert read_form({"type": "number"}, {}, {"answer": "7"}) == 7
    assert read_form({"type": "number"}, {}, {"answer": "7.0"}) == 7.0
    assert read_form({"type": "string"}, {}, {"answer": ""}) == ""
    assert read_form({"enum": [1, 2]}, {}, {"answer": "2"}) == 2
    assert read_form({"type": "boolean"}, {}, {}) is None  # nothing chosen: the runtime refuses null


def test_rows_are_added_and_removed_without_javascript() -> None:
    form = {"csrf": "x", "answer.lines.__rows": "3", "answer.lines.0.name": "a", "answer.lines.1.name": "b",
            "answer.lines.2.name": "c", "answer.lines.2.qty": "3"}
    added = edit_rows({**form, "_add": "answer.lines"})
    assert added is not None and added["answer.lines.__rows"] == "4" and "_add" not in added
    removed = edit_rows({**form, "_remove": "answer.lines.1"})
    assert removed == {"csrf": "x", "answer.lines.__rows": "2", "answer.lines.0.name": "a",
                       "answer.lines.1.name": "c", "answer.lines.1.qty": "3"}
    assert edit_rows(form) is None
    rebuilt = by_path(build_form(ORDER, DEFS, removed))
    assert rebuilt["lines.1.name"].raw == "c"


def test_posted_values_are_kept_when_the_form_is_shown_again() -> None:
    fields = by_path(build_form(ORDER, DEFS, {"answer.discount": "abc", "answer.priority": "low"},
                                {"discount": ["expected float"]}))
    assert fields["discount"].raw == "abc" and fields["discount"].errors == ["expected float"]
    assert fields["priority"].raw == "low" and fields["priority"].errors == []


def test_the_runtimes_messages_land_next_to_their_fields() -> None:
    known = all_paths(build_form(ORDER, DEFS, {"answer.lines.__rows": "2"}))
    problems = ['`fill:details`: `lines[1].qty`: expected int, got str "x"',
                "`fill:details`: missing required field `priority`, `urgent`",
                "`fill:details`: `lines[0]`: missing required field `qty`",
                "`fill:details`: unknown field `bogus`",
                "`fill:details`: `nowhere`: expected int, got null"]
    assert place_problems(problems, known) == {
        "lines.1.qty": ['expected int, got str "x"'], "priority": ["required"], "urgent": ["required"],
        "lines.0.qty": ["required"], "": ["unknown field `bogus`", "nowhere: expected int, got null"]}


def test_structured_violations_land_next_to_their_fields_without_parsing() -> None:
    # A path holding a backtick or ": " would confuse text parsing; pairs do not.
    known = all_paths(build_form(ORDER, DEFS, {"answer.lines.__rows": "2"}))
    located = [("lines[1].qty", "expected at most 9, got 12"), ("", "missing required field `priority`"),
               ("lines[0]", "missing required field `name`, `qty`"), ("odd`: key", "expected int, got null")]
    assert place_located(located, known) == {
        "lines.1.qty": ["expected at most 9, got 12"], "priority": ["required"], "lines.0.name": ["required"],
        "lines.0.qty": ["required"], "": ["odd`: key: expected int, got null"]}


def test_input_problems_name_the_field_first() -> None:
    schema = {"type": "object", "additionalProperties": False, "required": ["amount"],
              "properties": {"amount": {"type": "integer"}, "who": {"type": "string"}}}
    known = all_paths(build_form(schema, {}, None, prefix="input"))
    problems = ["missing required field `amount`", '`who`: expected str, got int 3']
    assert place_problems(problems, known, question=False) == {"amount": ["required"],
                                                               "who": ["expected str, got int 3"]}


def test_a_constrained_declared_type_keeps_the_constraints_written_beside_it():
    defs = {"Reason": {"type": "string", "minLength": 1, "maxLength": 500}}
    form = build_form({"type": "object", "additionalProperties": False, "required": ["a", "b"],
                       "properties": {"a": {"$ref": "#/$defs/Reason", "maxLength": 80},
                                      "b": {"allOf": [{"$ref": "#/$defs/Reason"}], "minLength": 3},
                                      "c": {"allOf": [{"$ref": "#/$defs/Reason"}], "maxLength": 900}}},
                      defs, None)
    fields = by_path(form)
    assert fields["a"].attrs == {"minlength": 1, "maxlength": 80}
    assert fields["b"].attrs == {"minlength": 3, "maxlength": 500}
    assert fields["c"].attrs == {"minlength": 1, "maxlength": 500}  # both hold: the tighter one shows


def test_only_an_anchored_pattern_becomes_the_browsers_pattern():
    # The browser matches the whole value; JSON Schema searches: `b` would
    # refuse "abc" in the browser though the runtime accepts it.
    anchored = by_path(build_form({"type": "string", "pattern": "^[A-Z]{3}$"}, {}, None))[""]
    searched = by_path(build_form({"type": "string", "pattern": "b"}, {}, None))[""]
    assert anchored.attrs == {"pattern": "^[A-Z]{3}$"}
    assert searched.attrs == {}
