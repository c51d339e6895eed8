"""HTML forms generated from a JSON Schema, and form data read back as JSON.

A question's answer schema (or a flow's input schema) becomes a tree of
:class:`Field`\\ s that the templates render; the posted form is read back by
walking the *schema*, never the posted names, so a form can carry nothing the
schema does not name. Validation stays the runtime's: a value the form cannot
even parse as its type (``"abc"`` in a number box) is passed on as the text
it is, and the runtime's refusal names the field.

Widgets, by schema:

* boolean: Yes/No radio buttons (no default: an approval is a choice);
* a literal union (``enum``): radio buttons up to 4 options, else a select;
* string: a text box, or a textarea when ``maxLength`` is over 200 or the
  name reads as prose (comment, notes, reason, ...);
* integer/number: a number box with the schema's ``minimum``/``maximum``;
* a record: a fieldset of its fields; an optional record has a "fill in"
  checkbox;
* a list: repeatable rows, added and removed with submit buttons (no JS);
* anything else (maps, ``any``): a JSON textarea.

An optional field (``T?``) left empty is null; a required one left empty is
missing, and the runtime says so next to it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ROOT = "answer"
PROSE_NAMES = frozenset({"comment", "comments", "notes", "note", "reason", "body", "description",
                         "text", "message", "feedback", "summary", "details", "explanation"})
MAX_ROWS = 100


@dataclass
class Field:
    kind: str                     # radio select text textarea number fieldset list json
    name: str                     # the form name, e.g. "answer.items.0.qty"
    label: str
    path: str                     # the value's path, e.g. "items.0.qty" ("" for the whole answer)
    nullable: bool = False
    required: bool = True
    options: list[tuple[str, str]] = field(default_factory=list)   # (form value, shown text)
    attrs: dict[str, Any] = field(default_factory=dict)             # min, max, step, maxlength, ...
    children: list[Field] = field(default_factory=list)
    raw: Any = None               # what the form shows: a string, or a bool for "present"
    errors: list[str] = field(default_factory=list)

    @property
    def dom_id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


class FormInputError(Exception):
    """A field's text cannot be read at all (malformed JSON): reported
    beside the field, before the runtime sees anything."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {v}" for k, vs in errors.items() for v in vs))
        self.errors = errors


# --------------------------------------------------------------------------
# Schema shapes
# --------------------------------------------------------------------------


def resolve(schema: Any, defs: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with ``$ref``s followed. A constrained declared type
    (``Reason(max 80)``: ``$ref`` beside ``maxLength``, or ``allOf`` of one
    schema when the keyword repeats) keeps the constraints written beside
    it, the tighter for the form (the runtime checks both anyway)."""
    seen = 0
    extra: dict[str, Any] = {}
    while isinstance(schema, dict) and seen < 50:
        if isinstance(schema.get("$ref"), str):
            ref = schema["$ref"]
            extra = {**{k: v for k, v in schema.items() if k != "$ref"}, **extra}
            schema = defs.get(ref.rpartition("/")[2], {}) if ref.startswith("#/$defs/") else {}
        elif isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
            extra = {**{k: v for k, v in schema.items() if k != "allOf"}, **extra}
            schema = schema["allOf"][0]
        else:
            break
        seen += 1
    if not isinstance(schema, dict):
        return {}
    merged = {**schema, **extra}
    for key in _LOWER_BOUNDS | _UPPER_BOUNDS:
        if key in schema and key in extra:
            pick = max if key in _LOWER_BOUNDS else min
            merged[key] = pick(schema[key], extra[key])
    return merged


_LOWER_BOUNDS = frozenset({"minLength", "minimum", "minItems"})
_UPPER_BOUNDS = frozenset({"maxLength", "maximum", "maxItems"})


def split_nullable(schema: dict[str, Any], defs: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """``T?`` (``anyOf [T, null]``) as (T, True); anything else as (it, False)."""
    branches = schema.get("anyOf")
    if isinstance(branches, list):
        others = [b for b in branches if resolve(b, defs).get("type") != "null"]
        if len(others) == 1 and len(others) < len(branches):
            return resolve(others[0], defs), True
    return schema, False


def _shape(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "enum"
    kind = schema.get("type")
    if kind == "object" and isinstance(schema.get("properties"), dict) and \
            schema.get("additionalProperties") is False:
        return "record"
    if kind == "array" and isinstance(schema.get("items"), dict):
        return "list"
    if kind in ("boolean", "string", "integer", "number"):
        return str(kind)
    return "json"


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize() if name else "Answer"


# --------------------------------------------------------------------------
# Building the fields
# --------------------------------------------------------------------------


def build_form(schema: dict[str, Any] | None, defs: Mapping[str, Any], form: Mapping[str, str] | None,
               errors: Mapping[str, list[str]] | None = None, *, prefix: str = ROOT,
               label: str = "Answer") -> Field:
    """The fields of ``schema``; ``form`` holds posted values to show again
    (None: a fresh form); ``errors`` are messages by value path."""
    root = _build(resolve(schema or {}, defs), defs, prefix, "", label, form, True)
    if errors:
        _attach(root, errors)
    return root


def _build(schema: dict[str, Any], defs: Mapping[str, Any], name: str, path: str, label: str,
           form: Mapping[str, str] | None, required: bool) -> Field:
    inner, nullable = split_nullable(schema, defs)
    inner = resolve(inner, defs)
    shape = _shape(inner)
    posted = form.get(name) if form is not None else None
    f = Field(kind="text", name=name, label=label, path=path, nullable=nullable, required=required,
              raw=posted)
    if shape == "boolean":
        f.kind = "radio"
        f.options = [("true", "Yes"), ("false", "No")]
    elif shape == "enum":
        values = [v for v in inner["enum"]]
        f.options = [(_enum_key(v), str(v)) for v in values]
        f.kind = "radio" if len(values) <= 4 else "select"
    elif shape == "string":
        f.kind = "textarea" if _is_prose(inner, path) else "text"
        for key, attr in (("maxLength", "maxlength"), ("minLength", "minlength")):
            if key in inner:
                f.attrs[attr] = inner[key]
        if _anchored(inner.get("pattern")):
            # A browser matches `pattern` against the whole value, JSON Schema
            # searches for it: the same only when it is anchored at both ends.
            f.attrs["pattern"] = inner["pattern"]
    elif shape in ("integer", "number"):
        f.kind = "number"
        f.attrs["step"] = "1" if shape == "integer" else "any"
        if "minimum" in inner:
            f.attrs["min"] = inner["minimum"]
        if "maximum" in inner:
            f.attrs["max"] = inner["maximum"]
    elif shape == "record":
        f.kind = "fieldset"
        needed = set(inner.get("required", []))
        for key, sub in inner["properties"].items():
            f.children.append(_build(resolve(sub, defs), defs, f"{name}.{key}", _join(path, key),
                                     _title(key), form, key in needed))
        if nullable:
            f.raw = bool(form.get(f"{name}.__present")) if form is not None else False
    elif shape == "list":
        f.kind = "list"
        rows = _row_count(form, name)
        for i in range(rows):
            f.children.append(_build(resolve(inner["items"], defs), defs, f"{name}.{i}", _join(path, str(i)),
                                     f"{label} {i + 1}", form, True))
        f.attrs["item_label"] = label
    else:
        f.kind = "json"
    return f


def _anchored(pattern: Any) -> bool:
    return isinstance(pattern, str) and pattern.startswith("^") and pattern.endswith("$") \
        and not pattern.endswith("\\$")


def _enum_key(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _is_prose(schema: dict[str, Any], path: str) -> bool:
    last = path.rpartition(".")[2].lower()
    return int(schema.get("maxLength", 0)) > 200 or last in PROSE_NAMES


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _row_count(form: Mapping[str, str] | None, name: str) -> int:
    if form is None:
        return 1
    try:
        rows = int(form.get(f"{name}.__rows", "1"))
    except ValueError:
        rows = 1
    return max(0, min(rows, MAX_ROWS))


def edit_rows(form: Mapping[str, str]) -> dict[str, str] | None:
    """The form after its "add a row" / "remove this row" button (None: the
    form was submitted as an answer). Rows after a removed one move up."""
    if "_add" in form:
        name = form["_add"]
        edited = {k: v for k, v in form.items() if k != "_add"}
        edited[f"{name}.__rows"] = str(min(_row_count(form, name) + 1, MAX_ROWS))
        return edited
    if "_remove" in form:
        name, _, index = form["_remove"].rpartition(".")
        if not index.isdigit():
            return {k: v for k, v in form.items() if k != "_remove"}
        gone = int(index)
        edited = {}
        for key, value in form.items():
            if key == "_remove":
                continue
            rest = key[len(name) + 1:] if key.startswith(name + ".") else None
            head, _, tail = (rest or "").partition(".")
            if rest is None or not head.isdigit():
                edited[key] = value
            elif int(head) > gone:
                edited[f"{name}.{int(head) - 1}" + (f".{tail}" if tail else "")] = value
            elif int(head) < gone:
                edited[key] = value
        edited[f"{name}.__rows"] = str(max(_row_count(form, name) - 1, 0))
        return edited
    return None


def _attach(f: Field, errors: Mapping[str, list[str]]) -> None:
    f.errors = list(errors.get(f.path, []))
    for child in f.children:
        _attach(child, errors)


def all_paths(f: Field) -> set[str]:
    return {f.path} | {p for c in f.children for p in all_paths(c)}


# --------------------------------------------------------------------------
# Reading a posted form back as a JSON value
# --------------------------------------------------------------------------

_MISSING: Any = object()


def read_form(schema: dict[str, Any] | None, defs: Mapping[str, Any], form: Mapping[str, str],
              *, prefix: str = ROOT) -> Any:
    """The JSON value the form describes (:class:`FormInputError` for text
    that is not even JSON); a missing required answer reads as null."""
    errors: dict[str, list[str]] = {}
    value = _read(resolve(schema or {}, defs), defs, prefix, "", form, errors)
    if errors:
        raise FormInputError(errors)
    return None if value is _MISSING else value


def _read(schema: dict[str, Any], defs: Mapping[str, Any], name: str, path: str,
          form: Mapping[str, str], errors: dict[str, list[str]]) -> Any:
    inner, nullable = split_nullable(schema, defs)
    inner = resolve(inner, defs)
    shape = _shape(inner)
    raw = form.get(name, "")
    if shape == "record":
        if nullable and not form.get(f"{name}.__present"):
            return None
        out: dict[str, Any] = {}
        for key, sub in inner["properties"].items():
            value = _read(resolve(sub, defs), defs, f"{name}.{key}", _join(path, key), form, errors)
            if value is not _MISSING:
                out[key] = value
        return out
    if shape == "list":
        rows = _row_count(form, name)
        items = []
        for i in range(rows):
            item = _read(resolve(inner["items"], defs), defs, f"{name}.{i}", _join(path, str(i)), form, errors)
            items.append(None if item is _MISSING else item)
        return items
    if raw == "":
        # An empty box: null when the type allows it, else missing (the runtime
        # names it); an empty string is a string's value when it is required.
        if nullable:
            return None
        return "" if shape == "string" else _MISSING
    if shape == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if shape == "enum":
        for option in inner["enum"]:
            if _enum_key(option) == raw:
                return option
        return raw
    if shape == "integer":
        try:
            return int(raw.strip())
        except ValueError:
            return raw
    if shape == "number":
        try:
            number = float(raw.strip())
        except ValueError:
            return raw
        return int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number
    if shape == "json":
        try:
            return json.loads(raw)
        except ValueError as exc:
            errors.setdefault(path, []).append(f"not valid JSON: {exc}")
            return _MISSING
    return raw


# --------------------------------------------------------------------------
# The runtime's messages, placed next to their fields
# --------------------------------------------------------------------------

_PREFIX = re.compile(r"^`(?P<segment>[^`]*)`: ")
_MISSING_FIELDS = re.compile(r"^missing required field (?P<names>`[^`]+`(?:, `[^`]+`)*)$")


def place_problems(problems: list[str], known: set[str], *, question: bool = True) -> dict[str, list[str]]:
    """Messages by value path (``""``: about the whole value) from the
    runtime's problem lines: for an answer, ``"`node:label`: `items[0].qty`:
    expected int, got str "x""``; for an input, ``"`amount`: expected float,
    got str "x""``. A message whose path no field has goes to the top."""
    located: list[tuple[str, str]] = []
    for problem in problems:
        message = problem
        if question:
            found = _PREFIX.match(message)
            if found:
                message = message[found.end():]
        path = ""
        while (found := _PREFIX.match(message)) is not None:
            path = _join(path, found.group("segment"))
            message = message[found.end():]
        located.append((path, message))
    return place_located(located, known)


def place_located(located: list[tuple[str, str]], known: set[str]) -> dict[str, list[str]]:
    """Messages by form path from the runtime's (value path, message) pairs
    (a value path like ``items[0].qty`` is the form's ``items.0.qty``)."""
    placed: dict[str, list[str]] = {}
    for where, message in located:
        path = re.sub(r"\[(\d+)\]", r".\1", where)
        missing = _MISSING_FIELDS.match(message)
        if missing:
            for name in re.findall(r"`([^`]+)`", missing.group("names")):
                target = _join(path, name)
                placed.setdefault(target if target in known else "", []).append(
                    "required" if target in known else message)
            continue
        if path in known:
            placed.setdefault(path, []).append(message)
        else:
            placed.setdefault("", []).append(f"{path}: {message}" if path else message)
    return placed
