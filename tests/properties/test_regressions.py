"""Counterexamples the property searches found, kept as specs so the bug
they exposed stays fixed. Each `.flow` in `regressions/` says what it found."""

from __future__ import annotations

from pathlib import Path

import pytest
from fermata.compiler import load
from fermata.runtime import Command, ResumeError

# Property searches and subprocess runs: the full suite runs them, not the inner loop.
pytestmark = pytest.mark.slow

REGRESSIONS = Path(__file__).resolve().parent / "regressions"


@pytest.mark.parametrize("answer", [1e300, 2.0, -0.0])
def test_an_integral_float_answer_to_expect_int_is_stored_as_an_int(answer):
    flow = load(REGRESSIONS / "integral_float_answer.flow")
    run = flow.invoke({"seed": 0}, thread="t")
    asked = 0
    # `c` runs in steps 1 (from `start`), 2 (after `b`) and 3 (after `b` again, via `a`).
    while run.status == "interrupted":
        run = flow.invoke(Command(resume={"c:q0": answer}), thread="t")
        asked += 1
    assert (run.status, asked) == ("done", 3)
    assert run.state["total"] == 3 * int(answer) and type(run.state["total"]) is int


def test_a_fractional_float_answer_to_expect_int_is_still_refused():
    flow = load(REGRESSIONS / "integral_float_answer.flow")
    flow.invoke({"seed": 0}, thread="t")
    with pytest.raises(ResumeError, match="expected int"):
        flow.invoke(Command(resume={"c:q0": 2.5}), thread="t")


def test_integral_floats_in_input_and_updates_become_ints():
    flow = load(REGRESSIONS / "integral_float_answer.flow")
    run = flow.invoke({"seed": 3.0, "total": 1e3}, thread="t")
    assert type(run.state["seed"]) is int and run.state["total"] == 1000 and type(run.state["total"]) is int
    run = flow.invoke(Command(resume={"c:q0": 1}, update={"total": 5.0}), thread="t")
    while run.status == "interrupted":
        run = flow.invoke(Command(resume={"c:q0": 1}), thread="t")
    assert run.state["total"] == 8 and type(run.state["total"]) is int
