import jsonschema
import pytest

from fermata.compiler.sample import sample_value

DEFS = {"Decision": {"type": "object", "properties": {"approved": {"type": "boolean"},
                                                      "comment": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
                     "required": ["approved"], "additionalProperties": False}}

SCHEMAS = [
    {"type": "string"},
    {"type": "integer"},
    {"type": "number"},
    {"type": "boolean"},
    {"type": "array", "items": {"type": "string"}},
    {"type": "object", "additionalProperties": {"type": "integer"}},
    {"type": "string", "enum": ["low", "mid"]},
    {"anyOf": [{"type": "string"}, {"type": "null"}]},
    {"$ref": "#/$defs/Decision"},
    {"type": "object", "properties": {"d": {"$ref": "#/$defs/Decision"}, "n": {"type": "integer"}},
     "required": ["d"], "additionalProperties": False},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_sample_value_passes_its_schema(schema):
    value = sample_value(schema, DEFS)
    jsonschema.validate(value, {"$defs": DEFS, **schema})


def test_sample_of_a_record_holds_only_required_fields():
    assert sample_value({"$ref": "#/$defs/Decision"}, DEFS) == {"approved": True}


def test_no_schema_means_null():
    assert sample_value(None, DEFS) is None


def test_a_constrained_types_bounds_and_format_are_met():
    defs = {"Reason": {"type": "string", "minLength": 3}}
    assert sample_value({"type": "string", "minLength": 2, "maxLength": 5}, {}) == "xx"
    assert sample_value({"type": "string", "format": "date"}, {}) == "2026-01-01"
    assert sample_value({"type": "integer", "minimum": 1.5}, {}) == 2
    assert sample_value({"type": "number", "maximum": -1.5}, {}) == -1.5
    assert sample_value({"type": "array", "items": {"type": "integer", "minimum": 4}, "minItems": 2}, {}) == [4, 4]
    assert sample_value({"$ref": "#/$defs/Reason", "maxLength": 9}, defs) == "xxx"
    assert sample_value({"allOf": [{"$ref": "#/$defs/Reason"}], "minLength": 5}, defs) == "xxxxx"
