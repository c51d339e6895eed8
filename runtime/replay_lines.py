"""Where in the *new* spec a replay difference lies (the line of a node,
an interrupt, a ``set``, a route's branch), read from the flow's IR, and the
short descriptions of values, nodes, writes and pauses its messages use."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .fanout import base_node
from .program import Program


def steps_of(steps: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for step in steps:
        yield step
        if step["k"] == "if":
            yield from steps_of(step["then"])
            yield from steps_of(step["else"])


def node_ir(flow: Program, node: str | None) -> dict[str, Any] | None:
    return flow.ir["nodes"].get(base_node(node)) if node else None   # an instance: its node's


def node_line(flow: Program, node: str | None) -> int | None:
    ir = node_ir(flow, node)
    return ir.get("line") if ir else None


def interrupt_step(flow: Program, node: str, label: str) -> dict[str, Any]:
    ir = node_ir(flow, node)
    for step in steps_of(ir["steps"] if ir else []):
        if step["k"] in ("interrupt", "wait") and step["label"] == label:
            return step
    return {}


def interrupt_line(flow: Program, node: str, label: str) -> int | None:
    return interrupt_step(flow, node, label).get("line") or node_line(flow, node)


def set_line(flow: Program, node: str, target: str) -> int | None:
    ir = node_ir(flow, node)
    for step in steps_of(ir["steps"] if ir else []):
        if step["k"] == "set" and step["field"] == target:
            return step.get("line")
    return node_line(flow, node)


def route_line(flow: Program, node: str, targets: Iterable[str]) -> int | None:
    """The line of the branch that goes to ``targets`` (else the first)."""
    branches = (flow.ir.get("routes") or {}).get(node, {}).get("branches", [])
    wanted = set(targets)
    for branch in branches:
        if {t for t in branch["targets"] if t != "end"} == wanted:
            return branch.get("line")  # type: ignore[no-any-return]
    return branches[0].get("line") if branches else node_line(flow, node)


def short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def node_names(nodes: Iterable[str]) -> str:
    names = sorted(set(nodes))
    return ", ".join(f"`{n}`" for n in names) if names else "`end`"


def write_text(write: list[Any] | None) -> str:
    return "no write" if write is None else f"`{write[0]}` {write[1]} {short(write[2])}"


def pauses_text(ids: list[str]) -> str:
    return ("a pause at " + ", ".join(f"`{i}`" for i in ids)) if ids else "no pause"
