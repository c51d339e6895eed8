"""JSON Schema validation of values against the flow's types.

Every schema in the IR is resolved against the flow's ``defs``
(``{"$defs": defs, **schema}``, Draft 2020-12). Building a validator is far
costlier than using one, so :class:`Schemas` builds each distinct schema's
validator once per graph. Validation is used only where the compiler could
not prove a type: input, resume values, ``Command(update=...)``, call results
and ``set`` steps marked ``check``. Trusted writes are never validated.

:meth:`Schemas.violations` lists *every* violation, one readable line each.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from fermata.spec.formats import FORMATS
from fermata.spec.patterns import matches

from .values import canonical_json, format_value, type_name

if TYPE_CHECKING:   # jsonschema itself is imported when a value is first validated (start-up time)
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import ValidationError

_JSON_TYPE_NAMES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool",
                    "array": "list", "object": "map", "null": "null"}


class Violation(NamedTuple):
    """One way a value breaks its schema, kept structured so that a form can
    put the message beside its field without parsing text."""

    path: str       # where in the value, as `items[0].qty`; "" for the whole value
    message: str

    def __str__(self) -> str:
        return f"`{self.path}`: {self.message}" if self.path else self.message


class Schemas:
    """The validators of one flow, built lazily and cached."""

    def __init__(self, defs: dict[str, Any]):
        self.defs = defs
        self._validators: dict[str, Draft202012Validator] = {}

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        key = canonical_json(schema)
        found = self._validators.get(key)
        if found is None:
            resolved = {"$defs": self.defs, **schema} if self.defs else schema
            found = _validator_class()(resolved, format_checker=_format_checker())
            self._validators[key] = found
        return found

    def violations(self, schema: dict[str, Any] | None, value: Any) -> list[str]:
        """Every way ``value`` breaks ``schema``, sorted by location; [] if valid."""
        return [str(found) for found in self.located(schema, value)]

    def located(self, schema: dict[str, Any] | None, value: Any) -> list[Violation]:
        """:meth:`violations`, each as (path, message)."""
        if schema is None or not schema or _surely_valid(schema, value):
            return []
        validator = self.validator(schema)
        if validator.is_valid(value):  # the fast path: no error objects built
            return []
        found: list[Violation] = []
        for error in validator.iter_errors(value):
            found.extend(Violation(_location(leaf), _describe(leaf)) for leaf in _leaves(error))
        return sorted(dict.fromkeys(found), key=str)


    def constrains(self, schema: Any, depth: int = 0) -> bool:
        """Whether ``schema`` holds a constrained type's keyword anywhere
        (``$ref``s followed): whether a combination of valid values can be
        invalid."""
        if isinstance(schema, list):
            return any(self.constrains(s, depth) for s in schema)
        if not isinstance(schema, dict) or depth > 50:
            return False
        if _CONSTRAINT_KEYWORDS & schema.keys():
            return True
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and self.constrains(
                self.defs.get(ref[len("#/$defs/"):]), depth + 1):
            return True
        return any(self.constrains(schema[k], depth + 1) for k in _SUBSCHEMAS if k in schema) or (
            isinstance(schema.get("properties"), dict)
            and any(self.constrains(s, depth + 1) for s in schema["properties"].values()))

    def conform(self, schema: dict[str, Any] | None, value: Any) -> Any:
        """``value`` (already valid under ``schema``) with each integral float
        the schema types as an integer made an ``int``. JSON does not tell
        ``2.0`` from ``2`` and JSON Schema accepts both as integers, but a
        field typed ``int`` must hold an ``int``, in Python and in the trace."""
        if not schema:
            return value
        return _conform(schema, value, self.defs)


def _validator_class() -> type[Draft202012Validator]:
    """Draft 2020-12 with ``pattern`` matched as ECMA-262 does
    (``spec/patterns.py``): jsonschema uses Python's ``re`` as it is."""
    global _VALIDATOR_CLASS
    if _VALIDATOR_CLASS is None:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import ValidationError
        from jsonschema.validators import extend

        def pattern(validator: Any, regex: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
            if validator.is_type(instance, "string") and not matches(regex, instance):
                yield ValidationError(f"{instance!r} does not match {regex!r}")

        # jsonschema's `extend` carries no annotations; it returns a subclass.
        _VALIDATOR_CLASS = extend(Draft202012Validator, validators={"pattern": pattern})  # type: ignore[no-untyped-call]
    return _VALIDATOR_CLASS


def _format_checker() -> FormatChecker:
    """Asserts exactly the formats a constrained type may name
    (``spec/formats.py``): jsonschema only annotates ``format`` unless told,
    and asserts some formats only when optional packages are installed."""
    global _FORMAT_CHECKER
    if _FORMAT_CHECKER is None:
        from jsonschema import FormatChecker

        checker = FormatChecker(formats=())
        for name, check in FORMATS.items():
            # A format says nothing about values that are not strings.
            checker.checks(name)(lambda value, check=check: not isinstance(value, str) or check(value))
        _FORMAT_CHECKER = checker
    return _FORMAT_CHECKER


_FORMAT_CHECKER: FormatChecker | None = None
_VALIDATOR_CLASS: type[Draft202012Validator] | None = None


def _conform(schema: dict[str, Any], value: Any, defs: dict[str, Any]) -> Any:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        schema = defs.get(ref[len("#/$defs/"):], {})
    if "anyOf" in schema:
        for branch in schema["anyOf"]:
            if _admits(branch, value, defs):
                return _conform(branch, value, defs)
        return value
    kind = schema.get("type")
    if isinstance(value, float) and kind == "integer" and value.is_integer():
        return int(value)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_conform(schema["items"], item, defs) for item in value]
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {k: _conform(properties[k], v, defs) if k in properties
                else _conform(extra, v, defs) if isinstance(extra, dict) else v
                for k, v in value.items()}
    return value


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "null": (type(None),), "boolean": (bool,), "string": (str,), "array": (list,), "object": (dict,),
    "integer": (int, float), "number": (int, float)}


def _admits(schema: dict[str, Any], value: Any, defs: dict[str, Any]) -> bool:
    """Whether ``value``'s JSON type is the one of ``schema`` (for picking an
    ``anyOf`` branch; the value was validated already)."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        schema = defs.get(ref[len("#/$defs/"):], {})
    if "anyOf" in schema:
        return any(_admits(branch, value, defs) for branch in schema["anyOf"])
    kind = schema.get("type")
    if kind is None:
        return True
    if isinstance(value, bool) and kind in ("integer", "number"):
        return False
    return isinstance(value, _PYTHON_TYPES.get(kind, ()))


def _surely_valid(schema: dict[str, Any], value: Any) -> bool:
    """True only when ``value`` is certainly valid under ``schema``, decided
    without jsonschema for the plainest schemas (a scalar type, a list of
    them, an optional one): a resume answer ``true`` should not cost the
    ~100 ms of importing jsonschema. False means "ask jsonschema"."""
    if schema.keys() == {"anyOf"} and isinstance(schema["anyOf"], list):
        return any(isinstance(b, dict) and _surely_valid(b, value) for b in schema["anyOf"])
    kind = schema.get("type")
    if kind == "array" and schema.keys() <= {"type", "items"}:
        items = schema.get("items")
        return isinstance(value, list) and (
            items is None or (isinstance(items, dict) and all(_surely_valid(items, v) for v in value)))
    if schema.keys() != {"type"}:
        return False
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if kind == "number":
        return isinstance(value, int | float) and math.isfinite(value)
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return False


def _leaves(error: ValidationError) -> list[ValidationError]:
    """For an optional type (``anyOf [T, null]``) failing on a non-null value,
    the errors of ``T`` say more than "not valid under any of the schemas"."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(int(sub.schema_path[0]), []).append(sub)   # the branch's index
        options: Any = error.validator_value   # jsonschema types it loosely; here a list of schemas
        useful = [i for i in branches if options[i] != {"type": "null"}]
        if len(useful) == 1:
            return [leaf for sub in branches[useful[0]] for leaf in _leaves(sub)]
    return [error]


def _location(error: ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _describe(error: ValidationError) -> str:
    """The message of one violation, without its location."""
    instance = error.instance
    kind = error.validator
    # What the failed keyword holds, by keyword (jsonschema types it loosely).
    value: Any = error.validator_value
    if kind == "type":
        wanted = [value] if isinstance(value, str) else value
        names = " or ".join(_JSON_TYPE_NAMES.get(w, w) for w in wanted)
        return f"expected {names}, got {type_name(instance)} {_show(instance)}"
    if kind == "required":
        missing = [name for name in value
                   if isinstance(instance, dict) and name not in instance]
        return f"missing required field {', '.join(f'`{m}`' for m in missing)}"
    if kind == "additionalProperties" and isinstance(instance, dict):
        schema: Any = error.schema
        allowed = set(schema.get("properties", {}))
        extra = sorted(k for k in instance if k not in allowed)
        return f"unknown field {', '.join(f'`{e}`' for e in extra)}"
    if kind == "enum":
        options = ", ".join(_show(o) for o in value)
        return f"expected one of {options}, got {_show(instance)}"
    if kind == "const":
        return f"expected {_show(value)}, got {_show(instance)}"
    bound = value
    if kind in _BOUNDS:
        return f"{_BOUNDS[kind].format(bound=bound, s='' if bound == 1 else 's')}, got {_show(instance)}"
    if kind == "pattern":
        return f"expected a string matching the pattern {json.dumps(bound)}, got {_show(instance)}"
    if kind == "format":
        return f"expected a valid {bound}, got {_show(instance)}"
    return f"{error.message}"


_CONSTRAINT_KEYWORDS = frozenset({"minLength", "maxLength", "pattern", "format", "minimum", "maximum",
                                  "minItems", "maxItems"})
_SUBSCHEMAS = ("items", "additionalProperties", "anyOf", "allOf")

# Constrained types' bounds (`str(min 1)`), as messages.
_BOUNDS = {
    "minLength": "expected at least {bound} character{s}", "maxLength": "expected at most {bound} character{s}",
    "minItems": "expected at least {bound} item{s}", "maxItems": "expected at most {bound} item{s}",
    "minimum": "expected at least {bound}", "maximum": "expected at most {bound}",
}


def _show(value: Any) -> str:
    text = format_value(value)
    text = f'"{text}"' if isinstance(value, str) else text
    return text if len(text) <= 60 else text[:57] + "..."
