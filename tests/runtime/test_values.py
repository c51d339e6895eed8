"""JSON values: copies, and the depth limit on values entering a run."""

from __future__ import annotations

import pytest

from fermata.compiler.pipeline import compile_source
from fermata.runtime import Graph
from fermata.runtime.values import MAX_VALUE_DEPTH, NotJSON, json_copy


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_values_nested_past_the_limit_are_refused_without_recursing() -> None:
    assert json_copy(_nested(MAX_VALUE_DEPTH), max_depth=MAX_VALUE_DEPTH) == _nested(MAX_VALUE_DEPTH)
    for depth in (MAX_VALUE_DEPTH + 1, 100_000):
        with pytest.raises(NotJSON, match=f"the answer is nested more than {MAX_VALUE_DEPTH} levels deep"):
            json_copy({"a": _nested(depth)}, "the answer", max_depth=MAX_VALUE_DEPTH)


def test_without_a_limit_a_deep_value_is_copied() -> None:
    deep = _nested(500)
    copied = json_copy(deep)
    assert copied == deep and copied is not deep


def test_a_fault_deep_inside_is_named_in_linear_time() -> None:
    # Finding where a fault lies must not copy each level again (that was
    # exponential in the depth).
    value: list = [1, 2, (3,)]
    for _ in range(150):
        value = [0, value]
    with pytest.raises(NotJSON, match=r"the value(\[1\]){150}\[2\] is a Python tuple"):
        json_copy(value)


def test_a_flow_may_build_values_deeper_than_the_entry_limit() -> None:
    spec = """
    flow wrap {
        state {
            acc: any = null
            n: int = 0
        }
        node grow {
            set acc = [acc]
            set n += 1
        }
        start -> grow
        grow -> grow when n < 250
        grow -> end otherwise
    }
    """
    run = Graph.from_ir(compile_source(spec)).invoke({}, thread="t", step_limit=1_000)
    assert run.status == "done" and run.state["n"] == 250
