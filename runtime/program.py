"""One flow of an IR document, compiled for execution.

Everything the engine needs per step is precomputed here, once: node
closures, routes, joins indexed by source (so finishing a node touches only
its own joins, never every edge of the graph), the static-interrupt sets and
the field schemas. Also the state-level rules that are not about steps:
defaults, input validation, and carrying a state over to a changed spec.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Final

from fermata.spec.digest import sha256_hex
from fermata.spec.ir import IR_VERSION

from .calls import DEFAULT_POLICY, CallPolicy
from .errors import FermataError, InputError, SpecChangedError
from .node import CompiledNode, Route, compile_route
from .plain import Frozen
from .schemas import Schemas
from .values import MAX_VALUE_DEPTH, NotJSON, canonical_json, json_copy


class Join(Frozen):
    __slots__ = ("key", "sources", "target")

    key: Final[str]  # "a,b->c": where its progress is kept in a checkpoint
    sources: Final[frozenset[str]]
    target: Final[str]

    def __init__(self, key: str, sources: frozenset[str], target: str) -> None:
        self.key = key
        self.sources = sources
        self.target = target


def ir_hash(flow_ir: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(flow_ir).encode("utf-8"))


def select_flow(ir: dict[str, Any], flow: str | None) -> dict[str, Any]:
    """The flow named ``flow`` of an IR document (or its only flow)."""
    if not isinstance(ir, dict) or ir.get("fermata_ir") != IR_VERSION or not isinstance(ir.get("flows"), dict):
        raise FermataError(f"not a Fermata IR document of version {IR_VERSION} "
                           f"(expected {{\"fermata_ir\": {IR_VERSION}, \"flows\": {{...}}, ...}})")
    flows = ir["flows"]
    if flow is None:
        if len(flows) != 1:
            names = ", ".join(sorted(flows)) or "none"
            raise FermataError(f"the IR holds {len(flows)} flows ({names}): choose one with flow=")
        return next(iter(flows.values()))
    if flow not in flows:
        raise FermataError(f"no flow `{flow}` in the IR (it has: {', '.join(sorted(flows))})")
    return flows[flow]  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _ir_validator() -> Any:
    from importlib import resources

    from jsonschema import Draft202012Validator

    try:
        text = resources.files("fermata.spec").joinpath("ir.schema.json").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - a partial install
        return None
    return Draft202012Validator(json.loads(text))


def validate_ir(ir: dict[str, Any]) -> None:
    """Reject an IR document that does not follow ``spec/ir.schema.json``."""
    validator = _ir_validator()
    if validator is None or validator.is_valid(ir):
        return
    errors = sorted(validator.iter_errors(ir), key=lambda e: list(map(str, e.absolute_path)))
    lines = [f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:10]]
    more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
    raise FermataError("the IR does not follow spec/ir.schema.json:\n" + "\n".join(lines) + more)


class Program:
    def __init__(self, ir: dict[str, Any], call_policy: CallPolicy = DEFAULT_POLICY):
        self.ir = ir
        self.name: str = ir["name"]
        self.hash = ir_hash(ir)
        self.schemas = Schemas(ir.get("defs") or {})
        self.fields: dict[str, dict[str, Any]] = {f["name"]: f for f in ir["fields"]}
        self.field_schemas = {name: f["schema"] for name, f in self.fields.items()}
        # Fields whose type has a constraint (`list[T](max 10)`): what several
        # nodes' `+=` give them together is checked (superstep.py).
        self.constrained_fields = frozenset(
            name for name, schema in self.field_schemas.items() if self.schemas.constrains(schema))
        self.inputs = tuple(ir["input"])
        self.required_input = tuple(ir["required_input"])
        self.outputs = tuple(ir["output"])
        routes = ir.get("routes", {})
        self.nodes: dict[str, CompiledNode] = {
            name: CompiledNode(node_ir, routes.get(name), self.field_schemas, self.schemas, call_policy)
            for name, node_ir in ir["nodes"].items()}
        self.start_route: Route = compile_route(routes.get("start"), "start")
        self.joins_by_source: dict[str, list[Join]] = {}
        self.joins: dict[str, Join] = {}
        for join_ir in ir.get("joins", []):
            join = Join(f"{','.join(join_ir['sources'])}->{join_ir['target']}",
                        frozenset(join_ir["sources"]), join_ir["target"])
            self.joins[join.key] = join
            for source in join.sources:
                self.joins_by_source.setdefault(source, []).append(join)
        # The flows its `run` steps start, each pinned to its own hash (children.py).
        self.children: dict[str, Program] = {
            name: Program(child_ir, call_policy) for name, child_ir in (ir.get("children") or {}).items()}
        self.interrupt_before = frozenset(ir.get("interrupt_before", ()))
        self.interrupt_after = frozenset(ir.get("interrupt_after", ()))

    # ------------------------------------------------------------ state rules

    def defaults(self) -> dict[str, Any]:
        """A fresh state: defaults, null for optional fields (and, defensively,
        for anything else the input will not give)."""
        return {name: json_copy(f["default"]) if f["has_default"] else None
                for name, f in self.fields.items()}

    def check_input(self, data: Any, fresh: bool) -> dict[str, Any]:
        """A checked copy of a run's input; :class:`InputError` lists every problem.

        ``fresh``: a new thread, where required fields must be given. A new run
        on a finished thread starts from its state, so nothing is required.
        """
        if not isinstance(data, dict):
            raise InputError(f"the input of flow `{self.name}` must be a dict of field values, "
                             f"not {type(data).__name__}")
        problems: list[str] = []
        if fresh:
            missing = [name for name in self.required_input if name not in data]
            problems += [f"missing required field `{name}`" for name in missing]
        accepted = set(self.inputs)
        for name, value in data.items():
            if name not in self.fields:
                problems.append(f"unknown field `{name}`")
            elif name not in accepted:
                problems.append(f"field `{name}` is not an input of flow `{self.name}` "
                                f"(inputs: {', '.join(self.inputs) or 'none'})")
            else:
                problems += self._value_problems(name, value)
        if problems:
            raise InputError(f"invalid input for flow `{self.name}`:\n  - " + "\n  - ".join(problems),
                             problems)
        return self.conform_fields(data)

    def conform_fields(self, values: dict[str, Any]) -> dict[str, Any]:
        """Copies of checked field values, integral floats of `int` fields as ints."""
        return {name: self.schemas.conform(self.field_schemas[name], json_copy(value))
                for name, value in values.items()}

    def update_problems(self, update: dict[str, Any]) -> list[str]:
        """What is wrong with ``Command(update=...)`` (any field may be updated)."""
        problems = []
        for name, value in update.items():
            if name not in self.fields:
                problems.append(f"unknown field `{name}`")
            else:
                problems += self._value_problems(name, value)
        return problems

    def _value_problems(self, name: str, value: Any) -> list[str]:
        try:
            json_copy(value, f"`{name}`", max_depth=MAX_VALUE_DEPTH)
        except NotJSON as exc:
            return [str(exc)]
        return [f"`{name}`: {p}" for p in self.schemas.violations(self.field_schemas[name], value)]

    def output_of(self, values: dict[str, Any]) -> dict[str, Any]:
        return {name: values.get(name) for name in self.outputs}

    def carry_over(self, values: dict[str, Any]) -> dict[str, Any]:
        """A state recorded under another version of the spec, made to fit this
        one: new fields get their defaults, removed fields are dropped. A new
        field that has neither a default nor null cannot be filled."""
        missing = [name for name, f in self.fields.items()
                   if name not in values and not f["has_default"] and not f["optional"]]
        if missing:
            raise SpecChangedError(
                f"flow `{self.name}` changed: new required field(s) "
                + ", ".join(f"`{m}`" for m in missing)
                + " without a default cannot be filled in for a run that has already started")
        fresh = self.defaults()
        return {name: values[name] if name in values else fresh[name] for name in self.fields}


# The name before version 2 (issue #12), kept so code written against it
# (other branches, generated modules) still imports.
CompiledFlow = Program
