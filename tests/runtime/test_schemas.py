"""Schema checks list every violation, readably, and reuse validators."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fermata.runtime.schemas import Schemas
from tests.runtime.irbuild import BOOL, INT, LIST, OPT, RECORD, STR

DEFS = {"Decision": RECORD({"approved": BOOL}, {"comment": STR}),
        "Level": {"type": "string", "enum": ["low", "high"]}}


def test_valid_values_have_no_violations() -> None:
    schemas = Schemas(DEFS)
    assert schemas.violations({"$ref": "#/$defs/Decision"}, {"approved": True}) == []
    assert schemas.violations({"$ref": "#/$defs/Decision"}, {"approved": True, "comment": None}) == []
    assert schemas.violations(None, object()) == []


def test_every_violation_is_listed() -> None:
    problems = Schemas(DEFS).violations({"$ref": "#/$defs/Decision"}, {"comment": 3, "extra": 1})
    assert problems == [
        "`comment`: expected str, got int 3",
        "missing required field `approved`",
        "unknown field `extra`",
    ]


def test_optional_types_report_the_inner_problem() -> None:
    assert Schemas({}).violations(OPT(INT), "x") == ['expected int, got str "x"']


def test_nested_paths_and_enums() -> None:
    schemas = Schemas(DEFS)
    assert schemas.violations(LIST({"$ref": "#/$defs/Level"}), ["low", "mid"]) == \
        ['`[1]`: expected one of "low", "high", got "mid"']


def test_bools_are_not_ints() -> None:
    assert Schemas({}).violations(INT, True) == ["expected int, got bool true"]


def test_validators_are_cached() -> None:
    schemas = Schemas(DEFS)
    assert schemas.validator({"type": "integer"}) is schemas.validator({"type": "integer"})


# --------------------------------------------------------------------------
# conform: integral floats of integer types become ints
# --------------------------------------------------------------------------

_INT = {"type": "integer"}
_OPTIONAL_STR = {"anyOf": [{"type": "string"}, {"type": "null"}]}
_DEFS = {"Point": {"type": "object", "properties": {"x": _INT, "label": _OPTIONAL_STR},
                   "required": ["x"], "additionalProperties": False}}


@pytest.mark.parametrize("schema, value, expected", [
    (_INT, 2.0, 2),
    (_INT, 2, 2),
    ({"type": "number"}, 2.0, 2.0),
    ({"anyOf": [_INT, {"type": "null"}]}, 3.0, 3),
    ({"anyOf": [_INT, {"type": "null"}]}, None, None),
    ({"type": "array", "items": _INT}, [1.0, 2], [1, 2]),
    ({"type": "object", "additionalProperties": _INT}, {"a": 1.0}, {"a": 1}),
    ({"$ref": "#/$defs/Point"}, {"x": 4.0, "label": None}, {"x": 4, "label": None}),
    ({"type": "array", "items": {"$ref": "#/$defs/Point"}}, [{"x": 1e2}], [{"x": 100}]),
    ({}, 2.0, 2.0),
])
def test_conform_makes_integral_floats_of_integer_types_ints(schema, value, expected):
    conformed = Schemas(_DEFS).conform(schema, value)
    assert conformed == expected
    assert repr(conformed) == repr(expected)  # 2 and 2.0 compare equal; their types must not differ


# The plainest schemas are decided without jsonschema (start-up time, #17):
# whatever that shortcut calls valid, jsonschema must call valid too.
_scalar_schemas = st.sampled_from([{"type": t} for t in ("string", "boolean", "null", "integer", "number", "object")])
_plain_schemas = st.recursive(
    _scalar_schemas | st.just({"type": "string", "minLength": 2}),
    lambda inner: st.builds(lambda s: {"type": "array", "items": s}, inner)
    | st.builds(lambda a, b: {"anyOf": [a, b]}, inner, inner) | st.just({"type": "array"}),
    max_leaves=4)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=2),
    max_leaves=6)


@given(_plain_schemas, _json_values)
def test_the_shortcut_agrees_with_jsonschema(schema, value) -> None:
    from jsonschema import Draft202012Validator

    assert Schemas({}).violations(schema, value) == [] if Draft202012Validator(schema).is_valid(value) else \
        Schemas({}).violations(schema, value) != []


_EDGES = [1, 2.0, 1.5, True, False, 0, None, "", "ab", [], [1, 2.5], [True], {}, float("inf")]


@pytest.mark.parametrize("schema", [{"type": "integer"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"},
                                    {"type": "string"}, {"type": "array", "items": {"type": "integer"}},
                                    {"anyOf": [{"type": "integer"}, {"type": "null"}]}])
def test_the_shortcut_agrees_with_jsonschema_at_the_edges(schema) -> None:
    from jsonschema import Draft202012Validator

    for value in _EDGES:
        assert (Schemas({}).violations(schema, value) == []) == Draft202012Validator(schema).is_valid(value), value
