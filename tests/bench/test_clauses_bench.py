"""The clause benchmark's spec (bench/clauses_bench.py) is a clean spec that
uses every clause: the timings it prints measure checking real work."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from fermata.compiler.checks import check_module
from fermata.compiler.syntax.parser import parse

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("clauses_bench", ROOT / "bench" / "clauses_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_spec_checks_clean_and_holds_every_clause():
    module, syntax = parse(_bench().clauses_spec(20), "bench.flow")
    assert module is not None and syntax == []
    assert check_module(module, "bench.flow") == []
    interrupts = [s.value for n in module.items[1].nodes for s in n.steps if hasattr(s, "value")]
    asks = [i for i in interrupts if getattr(i, "label", "").startswith("ask")]
    assert len(asks) == 20
    assert all(a.where and a.to and a.within and a.remind_every for a in asks)
