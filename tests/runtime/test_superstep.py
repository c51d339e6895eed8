"""The step semantics both the engine and replay run (``runtime/superstep.py``)."""

from __future__ import annotations

import pytest

from fermata import compiler
from fermata.runtime.errors import InvalidUpdateError
from fermata.runtime.program import Program
from fermata.runtime.superstep import (
    AddFailure,
    complete_step,
    route_start,
    static_pauses,
)

JOINED = """
flow joined {
    state {
        x: int = 0
        seen: list[str] = []
    }
    node a {
        set x = 1
    }
    node b {
        set seen += ["b"]
    }
    node d {
        set seen += ["d"]
    }
    node c {
        set seen += ["c"]
    }
    start -> a, b
    b -> d
    a, d -> c
    c -> end
    interrupt before c
    interrupt after a
}
"""


@pytest.fixture(scope="module")
def flow() -> Program:
    ir = compiler.compile_source(JOINED, "joined.flow")
    return Program(next(iter(ir["flows"].values())))


def test_writes_apply_in_name_order_and_adds_combine(flow: Program) -> None:
    values = {"x": 0, "seen": ["s"]}
    outcome = complete_step(flow, values, ["a", "b"], {"a": ([["x", "=", 1]], []),
                                                      "b": ([["seen", "+=", ["b"]], ["seen", "+=", ["b2"]]], ["d"])},
                            {}, 1)
    assert outcome.updates == {"x": 1, "seen": ["s", "b", "b2"]}
    assert outcome.writers == {"x": "a", "seen": "b"}
    assert outcome.frontier(None) == ["d"] and outcome.frontier(["c"]) == ["c"]
    assert values == {"x": 0, "seen": ["s"]}   # the state it was given is not changed


def test_a_join_fires_when_all_its_sources_arrived_without_changing_the_given_progress(flow: Program) -> None:
    first = complete_step(flow, {}, ["a"], {"a": ([], [])}, {}, 1)
    assert first.joins == {"a,d->c": ["a"]} and first.targets == set()
    held = first.joins
    second = complete_step(flow, {}, ["d"], {"d": ([], [])}, held, 2)
    assert second.targets == {"c"} and second.joins == {}
    assert held == {"a,d->c": ["a"]}   # a checkpoint may hold it
    untouched = complete_step(flow, {}, ["c"], {"c": ([], [])}, held, 3)
    assert untouched.joins is held      # no join involved: no copy


def test_a_replace_beside_another_write_is_an_invalid_update(flow: Program) -> None:
    with pytest.raises(InvalidUpdateError) as two:
        complete_step(flow, {"x": 0}, ["a", "b"], {"a": ([["x", "=", 1]], []), "b": ([["x", "=", 2]], [])}, {}, 4)
    assert (two.value.field, two.value.nodes, two.value.extended_by) == ("x", ["a", "b"], None)
    with pytest.raises(InvalidUpdateError) as mixed:
        complete_step(flow, {"seen": []}, ["a", "b"],
                      {"a": ([["seen", "+=", ["a"]]], []), "b": ([["seen", "=", ["b"]]], [])}, {}, 4)
    assert (mixed.value.nodes, mixed.value.extended_by) == (["a", "b"], "a")


def test_an_add_that_cannot_combine_names_the_node_and_field(flow: Program) -> None:
    with pytest.raises(AddFailure) as failed:
        complete_step(flow, {"seen": []}, ["b", "d"],
                      {"b": ([["seen", "+=", ["b"]]], []), "d": ([["seen", "+=", {"d": 1}]], [])}, {}, 1)
    assert (failed.value.node, failed.value.field, failed.value.value) == ("d", "seen", {"d": 1})


def test_static_pauses_and_the_start_route(flow: Program) -> None:
    assert static_pauses(flow, ["a", "b"], ["c", "d"]) == [("a", "after"), ("c", "before")]
    assert route_start(flow, {"x": 0, "seen": []}) == ["a", "b"]
