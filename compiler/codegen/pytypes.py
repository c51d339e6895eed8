"""Python type declarations for a flow: JSON Schema -> ``TypedDict``s and aliases.

The schemas are the IR's (``compiler/lower/lowering.py`` ``type_schema``): every
named type becomes a declaration under its own name (renamed only when it
would shadow something the module needs), every record a ``TypedDict``, and
the flow gets ``<Flow>State``, ``<Flow>Input``, ``<Flow>Output`` and
``<Flow>Update`` (what a state-form ``call`` may return).

Declarations come out in dependency order, so every name a declaration
mentions is already bound when Python evaluates it; the checker has rejected
recursive types, so such an order always exists.

What the types claim is what the runtime guarantees: a state always holds
every field (optional ones as None), a record value may lack its ``T?``
members ("missing `T?` fields read as null"), so those are ``NotRequired``.
"""

from __future__ import annotations

import builtins
import keyword
from dataclasses import dataclass, field, replace
from typing import Any

from .literals import py_literal

# Names the generated module binds itself; a type named like one is renamed.
MODULE_NAMES = frozenset({
    "annotations", "Any", "Literal", "NotRequired", "TypeAlias", "TypedDict",
    "FermataError", "Graph", "Store",
    "SOURCE", "SOURCE_SHA256", "FLOW", "DEFS", "FIELDS", "NODES", "ROUTES", "JOINS",
    "FLOW_IR", "IR", "IR_HASH", "LINE_MAP", "load", "spec_line",
})

# Names a type expression may mention besides the generated types: a
# TypedDict key spelled like one would shadow it inside a class body.
_TYPE_EXPR_NAMES = frozenset({"Any", "Literal", "NotRequired", "None", "str", "int", "float",
                              "bool", "list", "dict"})

_PRIMITIVES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}


@dataclass(frozen=True)
class Key:
    """One key of a ``TypedDict``."""

    name: str
    type: str
    required: bool = True
    line: int | None = None      # the spec line it comes from, for the line map

    @property
    def annotation(self) -> str:
        return self.type if self.required else f"NotRequired[{self.type}]"


@dataclass(frozen=True)
class TypedDictDecl:
    name: str
    doc: str
    keys: tuple[Key, ...]
    total: bool = True
    functional: bool = False     # keys that cannot be class attributes: TypedDict("X", {...})
    kind: str = "typeddict"


@dataclass(frozen=True)
class AliasDecl:
    name: str
    doc: str
    type: str
    kind: str = "alias"


Decl = TypedDictDecl | AliasDecl


def pascal(name: str) -> str:
    """``document_review`` -> ``DocumentReview``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


@dataclass
class TypeBuilder:
    """Turns one flow's schemas into declarations, allocating unique names."""

    defs: dict[str, Any]
    origin: str                                   # "examples/refund.flow", for docstrings
    decls: list[Decl] = field(default_factory=list)
    uses: set[str] = field(default_factory=set)   # names to import from typing
    taken: set[str] = field(default_factory=set)
    allocated: set[str] = field(default_factory=set)
    def_names: dict[str, str] = field(default_factory=dict)
    _started: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.taken |= MODULE_NAMES | set(dir(builtins)) | set(keyword.kwlist) | set(keyword.softkwlist)
        # Named types keep their names whenever they can: allocate them first.
        for name in sorted(self.defs):
            self.def_names[name] = self.allocate(name, "Type")

    def allocate(self, wanted: str, suffix: str) -> str:
        name = wanted if wanted.isidentifier() else "T" + "".join(c for c in wanted if c.isalnum())
        if name in self.taken:
            name = name + suffix
        base, n = name, 2
        while name in self.taken:
            name, n = f"{base}{n}", n + 1
        self.taken.add(name)
        self.allocated.add(name)
        return name

    # ------------------------------------------------------------ named types

    def declare_defs(self) -> None:
        for name in sorted(self.defs):
            self.named(name)

    def named(self, name: str) -> str:
        """The Python name of ``type name``, declaring it (after its dependencies) once."""
        python_name = self.def_names.get(name)
        if python_name is None:   # a dangling $ref: the checker prevents it; stay total
            self.uses.add("Any")
            return "Any"
        if name not in self._started:
            self._started.add(name)
            schema = self.defs[name]
            where = f"`type {name}`"
            doc = f"The spec's {where}.\n\nFrom {self.origin}."
            if _is_record(schema):
                self.decls.append(self.record(schema, python_name, doc, python_name, where))
            else:
                self.uses.add("TypeAlias")
                self.decls.append(AliasDecl(python_name, doc, self.expr(schema, python_name, where)))
        return python_name

    # ------------------------------------------------------------ schemas

    def expr(self, schema: Any, hint: str, where: str) -> str:
        """The Python type of values valid for ``schema``; ``hint`` names
        anonymous records found inside it, ``where`` (e.g. "state field
        `x`") says in their docstrings what they belong to."""
        if not isinstance(schema, dict) or not schema:
            self.uses.add("Any")
            return "Any"
        if "$ref" in schema:
            return self.named(str(schema["$ref"]).rsplit("/", 1)[-1])
        if "allOf" in schema and len(schema["allOf"]) == 1:
            # A constrained declared type (`Reason(max 5)`): the constraints
            # narrow values, not their Python type.
            return self.expr(schema["allOf"][0], hint, where)
        if "anyOf" in schema:
            return self._union([self.expr(s, hint, where) for s in schema["anyOf"]])
        if "enum" in schema:
            return self._literal(schema["enum"])
        if "const" in schema:
            return self._literal([schema["const"]])
        kind = schema.get("type")
        if isinstance(kind, list):
            return self._union([self.expr({**schema, "type": k}, hint, where) for k in kind])
        if kind in _PRIMITIVES:
            return _PRIMITIVES[kind]
        if kind == "array":
            return f"list[{self.expr(schema.get('items'), hint + 'Item', where)}]"
        if kind == "object":
            if _is_record(schema):
                name = self.allocate(hint, "Record")
                doc = f"A record type within {where}.\n\nFrom {self.origin}."
                self.decls.append(self.record(schema, name, doc, name, where))
                return name
            extra = schema.get("additionalProperties")
            value = self.expr(extra, hint + "Value", where) if isinstance(extra, dict) else self._any()
            return f"dict[str, {value}]"
        return self._any()

    def _any(self) -> str:
        self.uses.add("Any")
        return "Any"

    def _union(self, members: list[str]) -> str:
        flat: list[str] = []
        for member in members:
            for part in _split_union(member):
                if part not in flat:
                    flat.append(part)
        if "Any" in flat:
            return "Any"
        if "float" in flat and "int" in flat:   # int is a float to a type checker
            flat.remove("int")
        if "None" in flat:                      # `T | None`, as people write it
            flat.remove("None")
            flat.append("None")
        return " | ".join(flat)

    def _literal(self, values: list[Any]) -> str:
        members = [v for v in dict.fromkeys(values) if v is not None]
        parts = []
        if members:
            self.uses.add("Literal")
            parts.append("Literal[" + ", ".join(py_literal(v) for v in members) + "]")
        if None in values:
            parts.append("None")
        return " | ".join(parts) or "None"

    def record(self, schema: dict[str, Any], name: str, doc: str, hint: str,
               where: str) -> TypedDictDecl:
        required = set(schema.get("required") or ())
        keys = []
        for key, member in (schema.get("properties") or {}).items():
            keys.append(Key(key, self.expr(member, hint + pascal(key), where), key in required))
        return self.typeddict(name, doc, keys)

    def typeddict(self, name: str, doc: str, keys: list[Key], total: bool = True) -> TypedDictDecl:
        if any(not k.required for k in keys):
            self.uses.add("NotRequired")
        self.uses.add("TypedDict")
        return TypedDictDecl(name, doc, tuple(keys), total)

    def finished(self) -> list[Decl]:
        """The declarations, each TypedDict marked functional when its keys
        cannot be class attributes (decided once every name is allocated)."""
        return [replace(d, functional=self._needs_functional(d.keys))
                if isinstance(d, TypedDictDecl) else d for d in self.decls]

    def _needs_functional(self, keys: tuple[Key, ...]) -> bool:
        # A key that is a keyword cannot be written as a class attribute; one
        # that shadows a type name would make a type checker read the later
        # annotations in the class body as that attribute; and Python renames
        # a `__private` attribute of a class body to `_Class__private`.
        shadowed = _TYPE_EXPR_NAMES | self.allocated
        return any(not k.name.isidentifier() or keyword.iskeyword(k.name) or k.name in shadowed
                   or (k.name.startswith("__") and not k.name.endswith("__"))
                   for k in keys)


def _is_record(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "object" and "properties" in schema


def _split_union(text: str) -> list[str]:
    """The members of a union type expression at its top level."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def flow_types(flow: dict[str, Any], origin: str) -> tuple[list[Decl], set[str], dict[str, str]]:
    """Every declaration of one flow's module, in dependency order; the typing
    names they use; and the Python names of the State/Input/Output/Update types."""
    builder = TypeBuilder(dict(flow.get("defs") or {}), origin)
    builder.declare_defs()
    stem = pascal(flow["name"]) or "Flow"
    names = {role: builder.allocate(stem + role, "Type") for role in ("State", "Input", "Output", "Update")}
    fields = {f["name"]: f for f in flow["fields"]}
    flow_name = f"flow `{flow['name']}`"
    types = {name: builder.expr(f["schema"], stem + pascal(name), f"state field `{name}` of {flow_name}")
             for name, f in fields.items()}
    required_input = set(flow["required_input"])
    # `input a, a` is only a warning (F110): a TypedDict takes each key once.
    at = f"\n\nFrom {origin}, line {flow['line']}."

    def key(name: str, required: bool = True) -> Key:
        return Key(name, types[name], required, fields[name]["line"])

    builder.decls.append(builder.typeddict(
        names["State"], f"The state of {flow_name}: every field, always present.{at}",
        [key(name) for name in fields]))
    builder.decls.append(builder.typeddict(
        names["Input"], f"The input of a new run of {flow_name}.{at}",
        [key(name, name in required_input) for name in dict.fromkeys(flow["input"])]))
    builder.decls.append(builder.typeddict(
        names["Output"], f"What a finished run of {flow_name} returns.{at}",
        [key(name) for name in dict.fromkeys(flow["output"])]))
    builder.decls.append(builder.typeddict(
        names["Update"], f"Field updates a state-form `call` of {flow_name} may return.{at}",
        [key(name) for name in fields], total=False))
    return builder.finished(), builder.uses, names
