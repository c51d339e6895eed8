"""Small builders for hand-written IR (spec/IR.md), for runtime tests that do
not go through the compiler.

    doc = flow("f", fields=[fld("x", INT, 0)],
               nodes=[node("a", set_("x", add(F("x"), lit(1))))],
               edges={"start": ["a"], "a": ["end"]})
"""

from __future__ import annotations

from typing import Any

INT = {"type": "integer"}
FLOAT = {"type": "number"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
ANY: dict[str, Any] = {}


def LIST(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


def MAP(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": value}


def OPT(inner: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [inner, {"type": "null"}]}


def RECORD(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    optional = optional or {}
    return {"type": "object",
            "properties": {**required, **{k: OPT(v) for k, v in optional.items()}},
            "required": list(required), "additionalProperties": False}


# ------------------------------------------------------------------ expressions

def lit(v: Any) -> dict[str, Any]:
    return {"k": "lit", "v": v}


def tmpl(src: str) -> dict[str, Any]:
    return {"k": "tmpl", "src": src}


def F(name: str) -> dict[str, Any]:
    return {"k": "field", "n": name}


def L(name: str) -> dict[str, Any]:
    return {"k": "local", "n": name}


def lst(*items: dict[str, Any]) -> dict[str, Any]:
    return {"k": "list", "items": list(items)}


def rec(**items: dict[str, Any]) -> dict[str, Any]:
    return {"k": "record", "items": [[k, v] for k, v in items.items()]}


def get(o: dict[str, Any], n: str) -> dict[str, Any]:
    return {"k": "get", "o": o, "n": n}


def index(o: dict[str, Any], i: dict[str, Any]) -> dict[str, Any]:
    return {"k": "index", "o": o, "i": i}


def not_(e: dict[str, Any]) -> dict[str, Any]:
    return {"k": "not", "e": e}


def neg(e: dict[str, Any]) -> dict[str, Any]:
    return {"k": "neg", "e": e}


def bin_(op: str, left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    return {"k": "bin", "op": op, "l": left, "r": right}


def add(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    return bin_("+", left, right)


def fn(name: str, *args: dict[str, Any]) -> dict[str, Any]:
    return {"k": "fn", "n": name, "a": list(args)}


# ------------------------------------------------------------------ steps

def _at(step: dict[str, Any], line: int, column: int = 5) -> dict[str, Any]:
    return {**step, "line": line, "column": column}


def let(name: str, value: dict[str, Any], line: int = 1) -> dict[str, Any]:
    return _at({"k": "let", "name": name, "value": value}, line)


def set_(field: str, value: dict[str, Any], op: str = "=", check: bool = False,
         line: int = 1) -> dict[str, Any]:
    return _at({"k": "set", "field": field, "op": op, "value": value, "check": check}, line)


def append(field: str, value: dict[str, Any], line: int = 1) -> dict[str, Any]:
    return set_(field, value, op="+=", line=line)


def call(target: str, *args: dict[str, Any], kwargs: dict[str, dict[str, Any]] | None = None,
         once: bool = False, bind: str | None = None, state_form: bool = False,
         line: int = 1) -> dict[str, Any]:
    return _at({"k": "call", "target": target, "args": None if state_form else list(args),
                "kwargs": [[k, v] for k, v in (kwargs or {}).items()], "once": once,
                "bind": bind}, line)


def interrupt(label: str, payload: dict[str, Any] | None = None, schema: dict[str, Any] | None = None,
              bind: str | None = None, line: int = 1) -> dict[str, Any]:
    return _at({"k": "interrupt", "label": label, "payload": payload, "schema": schema,
                "bind": bind}, line)


def if_(cond: dict[str, Any], then: list[dict[str, Any]], otherwise: list[dict[str, Any]] | None = None,
        line: int = 1) -> dict[str, Any]:
    return _at({"k": "if", "cond": cond, "then": then, "else": otherwise or []}, line)


def fail(message: dict[str, Any], line: int = 1) -> dict[str, Any]:
    return _at({"k": "fail", "message": message}, line)


# ------------------------------------------------------------------ flows

def fld(name: str, schema: dict[str, Any], default: Any = ..., optional: bool = False,
        line: int = 1) -> dict[str, Any]:
    has_default = default is not ...
    return {"name": name, "schema": schema, "has_default": has_default,
            "default": default if has_default else None, "optional": optional, "line": line}


def node(name: str, *steps: dict[str, Any], retry: int = 0, backoff_ms: int = 0,
         timeout_ms: int | None = None, line: int = 1) -> dict[str, Any]:
    return {"name": name, "doc": None, "line": line, "retry": retry, "backoff_ms": backoff_ms,
            "timeout_ms": timeout_ms, "steps": list(steps)}


def _route(spec: list[Any]) -> dict[str, Any]:
    """``["b", "c"]``: unconditional; ``[(["b"], cond), (["c"], None)]``: a routing group."""
    if all(isinstance(t, str) for t in spec):
        return {"branches": [{"when": None, "targets": list(spec), "line": 1}]}
    branches = []
    for targets, when in spec:
        targets = [targets] if isinstance(targets, str) else list(targets)
        branches.append({"when": when, "targets": targets, "line": 1})
    return {"branches": branches}


def flow(name: str = "f", *, fields: list[dict[str, Any]], nodes: list[dict[str, Any]],
         edges: dict[str, list[Any]], joins: list[tuple[list[str], str]] = (),  # type: ignore[assignment]
         before: list[str] = (), after: list[str] = (),  # type: ignore[assignment]
         input: list[str] | None = None, output: list[str] | None = None,
         defs: dict[str, Any] | None = None) -> dict[str, Any]:
    """A whole IR document holding one flow."""
    names = [f["name"] for f in fields]
    inputs = list(input) if input is not None else names
    flow_ir = {
        "name": name, "doc": None, "line": 1, "defs": defs or {},
        "fields": fields, "input": inputs,
        "required_input": [f["name"] for f in fields
                           if not f["has_default"] and not f["optional"] and f["name"] in inputs],
        "output": list(output) if output is not None else names,
        "nodes": {n["name"]: n for n in nodes},
        "routes": {source: _route(spec) for source, spec in edges.items()},
        "joins": [{"sources": list(s), "target": t, "line": 1} for s, t in joins],
        "interrupt_before": list(before), "interrupt_after": list(after),
    }
    return {"fermata_ir": 1, "source": {"path": "test.flow", "sha256": "0" * 64},
            "flows": {name: flow_ir}}


def chain(n: int) -> dict[str, Any]:
    """``n`` nodes in a line, each `set x = x + 1`."""
    nodes = [node(f"n{i}", set_("x", add(F("x"), lit(1)))) for i in range(n)]
    edges: dict[str, list[Any]] = {"start": ["n0"]}
    for i in range(n - 1):
        edges[f"n{i}"] = [f"n{i + 1}"]
    edges[f"n{n - 1}"] = ["end"]
    return flow("chain", fields=[fld("x", INT, 0)], nodes=nodes, edges=edges)


def make_graph(doc: dict[str, Any], store: Any, **kwargs: Any) -> Any:
    """The graph of a hand-built IR document, validated against the IR schema
    so the hand-written IR stays true to the contract."""
    from fermata.runtime import Graph

    return Graph.from_ir(doc, store=store, validate=True, **kwargs)
