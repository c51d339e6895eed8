"""Schema checks list every violation, readably, and reuse validators."""

from __future__ import annotations

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
