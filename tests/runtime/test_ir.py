"""The IR TypedDicts (runtime/ir.py) name exactly the keys the compiler writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fermata import compiler
from fermata.runtime.ir import (
    BranchIR,
    DocumentIR,
    FanOutIR,
    FieldIR,
    FlowIR,
    JoinIR,
    NodeIR,
    RouteIR,
    SourceIR,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def keys(typed: Any) -> set[str]:
    return set(typed.__annotations__)


def fits(obj: dict[str, Any], typed: Any) -> bool:
    """Every required key of ``typed`` and no key it does not name."""
    return typed.__required_keys__ <= set(obj) <= typed.__required_keys__ | typed.__optional_keys__


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.flow")), ids=lambda p: p.name)
def test_compiled_ir_has_the_typed_keys(path: Path) -> None:
    doc = compiler.compile_source(path.read_text(encoding="utf-8"), str(path))
    assert set(doc) == keys(DocumentIR) and set(doc["source"]) == keys(SourceIR)
    for flow in doc["flows"].values():
        assert fits(flow, FlowIR)
        assert all(set(f) == keys(FieldIR) for f in flow["fields"])
        assert all(fits(n, NodeIR) for n in flow["nodes"].values())
        assert all(fits(n["for"], FanOutIR) for n in flow["nodes"].values() if "for" in n)
        for route in flow["routes"].values():
            assert set(route) == keys(RouteIR)
            assert all(set(b) == keys(BranchIR) for b in route["branches"])
        assert all(set(j) == keys(JoinIR) for j in flow["joins"])


def test_only_a_fan_out_node_has_a_for_key() -> None:
    doc = compiler.compile_source((EXAMPLES / "moderation.flow").read_text(encoding="utf-8"), "m.flow")
    nodes = doc["flows"]["moderation"]["nodes"]
    assert [name for name, node in nodes.items() if "for" in node] == ["review"]
    assert nodes["review"]["for"] == {"var": "post", "in": {"k": "field", "n": "uncertain"},
                                      "key": {"k": "get", "o": {"k": "local", "n": "post"}, "n": "id"}}
    assert NodeIR.__optional_keys__ == {"for"}
