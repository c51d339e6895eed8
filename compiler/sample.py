"""A small valid example of a JSON Schema's values, for "continue with" hints.

``fermata run`` prints the exact ``fermata resume`` command for a pause; a
value that passes the interrupt's ``expect`` schema makes that command one a
person can edit rather than write.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

_SCALARS: dict[str, Any] = {"string": "", "integer": 0, "number": 0, "boolean": True,
                            "null": None, "array": [], "object": {}}


def sample_value(schema: Mapping[str, Any] | None, defs: Mapping[str, Any], depth: int = 0) -> Any:
    """The simplest value ``schema`` accepts (required record fields only;
    a constrained type's bounds and format are met, its pattern is not)."""
    if not schema or depth > 8:
        return None if schema is None else {}
    return _constrained(schema, _base_sample(schema, defs, depth), defs, depth)


def _base_sample(schema: Mapping[str, Any], defs: Mapping[str, Any], depth: int) -> Any:
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return sample_value(defs.get(name), defs, depth + 1)
    if "allOf" in schema:
        return sample_value(schema["allOf"][0], defs, depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "anyOf" in schema:
        return sample_value(schema["anyOf"][0], defs, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object" and "properties" in schema:
        return {name: sample_value(schema["properties"][name], defs, depth + 1)
                for name in schema.get("required", [])}
    return _SCALARS.get(kind, {}) if kind else {}


# A value of each format a constrained type may name (spec/formats.py).
_FORMAT_SAMPLES = {"email": "someone@example.com", "uri": "https://example.com/", "date": "2026-01-01",
                   "date-time": "2026-01-01T00:00:00Z", "uuid": "00000000-0000-0000-0000-000000000000"}


def _constrained(schema: Mapping[str, Any], value: Any, defs: Mapping[str, Any], depth: int) -> Any:
    """``value`` moved within the bounds ``schema`` itself sets (``str(min 3)``)."""
    if isinstance(value, str):
        if schema.get("format") in _FORMAT_SAMPLES:
            return _FORMAT_SAMPLES[schema["format"]]
        return value.ljust(int(schema.get("minLength", 0)), "x")
    if isinstance(value, list):
        missing = int(schema.get("minItems", 0)) - len(value)
        items = schema.get("items")
        return value + [sample_value(items if isinstance(items, dict) else {}, defs, depth + 1)] * max(0, missing)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(low, (int, float)) and value < low:
            value = math.ceil(low) if schema.get("type") == "integer" else low
        elif isinstance(high, (int, float)) and value > high:
            value = math.floor(high) if schema.get("type") == "integer" else high
    return value
