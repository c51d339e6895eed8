"""The fuzzer of `fermata check` (bench/fuzz_check.py), bounded: a few hundred
seeded inputs, each mutation kind among them, no traceback and none slow.
The full run (200,000 inputs) is a manual job: see the script's docstring."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _fuzzer():
    spec = importlib.util.spec_from_file_location("fuzz_check", ROOT / "bench" / "fuzz_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


fuzz_check = _fuzzer()


def test_inputs_are_the_same_for_the_same_seed_and_use_every_mutation():
    first = list(fuzz_check.inputs(300, seed=5, scaled_share=0.3))
    assert first == list(fuzz_check.inputs(300, seed=5, scaled_share=0.3))
    used = {name for mutation, _ in first for name in mutation.split("+")}
    every = {m.__name__ for m in fuzz_check.SMALL + fuzz_check.SCALED}
    assert used == every


@pytest.mark.slow
def test_a_bounded_fuzz_run_finds_no_traceback_and_no_slow_input(tmp_path):
    report = fuzz_check.fuzz(300, seed=2024, save=tmp_path)
    assert report.inputs == 300
    assert report.tracebacks == [], report.summary()
    assert report.over_limit == 0, report.summary()
    assert "inputs: 300" in report.summary()


def test_a_traceback_is_a_finding_not_a_crash(monkeypatch):
    # What the fuzzer is for: an exception escaping the checker is reported.
    def broken(text: str) -> str:
        raise RecursionError("boom")

    monkeypatch.setattr(fuzz_check, "check_like_the_cli", broken)
    monkeypatch.setattr(fuzz_check, "corpus", lambda: ["flow f {}"])
    report = fuzz_check.fuzz(3, seed=1)
    assert [index for index, _, _ in report.tracebacks] == [0, 1, 2]
    assert "RecursionError: boom" in report.tracebacks[0][2]
