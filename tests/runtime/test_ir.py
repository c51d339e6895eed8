"""The IR TypedDicts (runtime/ir.py) name exactly the keys the compiler writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fermata import compiler
from fermata.runtime.ir import (
    BranchIR,
    DocumentIR,
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


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.flow")), ids=lambda p: p.name)
def test_compiled_ir_has_the_typed_keys(path: Path) -> None:
    doc = compiler.compile_source(path.read_text(encoding="utf-8"), str(path))
    assert set(doc) == keys(DocumentIR) and set(doc["source"]) == keys(SourceIR)
    for flow in doc["flows"].values():
        assert set(flow) == keys(FlowIR)
        assert all(set(f) == keys(FieldIR) for f in flow["fields"])
        assert all(set(n) == keys(NodeIR) for n in flow["nodes"].values())
        for route in flow["routes"].values():
            assert set(route) == keys(RouteIR)
            assert all(set(b) == keys(BranchIR) for b in route["branches"])
        assert all(set(j) == keys(JoinIR) for j in flow["joins"])
