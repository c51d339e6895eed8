"""bench/children_bench.py runs (tiny sizes): its hand-built IR follows the
IR schema and both variants reach the pause, answer and finish."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from fermata.runtime.program import validate_ir

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("children_bench", ROOT / "bench" / "children_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_direct_variant_follows_the_ir_schema() -> None:
    validate_ir(_bench().parent_ir(with_children=False))


@pytest.mark.parametrize("with_children", [True, False])
def test_one_turn_runs_to_the_end(tmp_path: Path, with_children: bool) -> None:
    figures = _bench().one_turn(tmp_path, 3, 2, with_children)
    assert figures["bytes at the pause (rows)"] > 0
    assert figures["bytes per single answer (rows)"] > 0
