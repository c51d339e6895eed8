"""A small valid example of a JSON Schema's values, for "continue with" hints.

``fermata run`` prints the exact ``fermata resume`` command for a pause; a
value that passes the interrupt's ``expect`` schema makes that command one a
person can edit rather than write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SCALARS: dict[str, Any] = {"string": "", "integer": 0, "number": 0, "boolean": True,
                            "null": None, "array": [], "object": {}}


def sample_value(schema: Mapping[str, Any] | None, defs: Mapping[str, Any], depth: int = 0) -> Any:
    """The simplest value ``schema`` accepts (required record fields only)."""
    if not schema or depth > 8:
        return None if schema is None else {}
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return sample_value(defs.get(name), defs, depth + 1)
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
