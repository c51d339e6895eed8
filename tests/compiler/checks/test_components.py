"""Strongly connected components: Tarjan's algorithm, iterative."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from fermata.compiler.checks import components
from fermata.compiler.checks.components import strong_components

_names = [f"n{i}" for i in range(7)]


def _reach(name: str, succ: dict[str, set[str]]) -> set[str]:
    seen, stack = {name}, [name]
    while stack:
        for following in succ[stack.pop()]:
            if following not in seen:
                seen.add(following)
                stack.append(following)
    return seen


@given(st.dictionaries(st.sampled_from(_names), st.sets(st.sampled_from(_names), max_size=3)))
def test_components_partition_the_names_and_come_after_what_they_lead_to(edges):
    names = sorted(set(edges) | {t for targets in edges.values() for t in targets})
    succ = {n: set(edges.get(n, ())) for n in names}
    components = strong_components(names, succ)
    assert sorted(n for c in components for n in c) == names
    reach = {n: _reach(n, succ) for n in names}
    for component in components:
        assert all(reach[a] >= component for a in component)  # mutually reachable
    position = {n: i for i, c in enumerate(components) for n in c}
    for name in names:
        for target in succ[name]:
            assert position[target] <= position[name]  # what a name refers to comes first


def test_a_chain_of_ten_thousand_needs_no_recursion():
    names = [f"n{i}" for i in range(10_000)]
    succ = {a: [b] for a, b in itertools.pairwise(names)}
    components = strong_components(names, succ)
    assert components[0] == {names[-1]} and components[-1] == {names[0]}


_eight_names = [f"n{i}" for i in range(8)]


@given(st.dictionaries(st.sampled_from(_eight_names), st.sets(st.sampled_from(_eight_names), max_size=3),
                       min_size=1))
def test_components_are_the_mutual_reach_classes_in_first_name_order(edges):
    names = sorted(set(edges) | {t for targets in edges.values() for t in targets})
    succ = {n: set(edges.get(n, ())) for n in names}
    reach = {n: components.closure([n], succ) for n in names}
    expected: list[set[str]] = []
    for name in names:
        if not any(name in c for c in expected):
            expected.append({m for m in reach[name] if name in reach[m]})
    assert components.ordered_components(names, succ) == expected
    entered = [c for c in expected if any(succ[n] & c for o in expected if o is not c for n in o)]
    assert components.entry_components(names, succ) == [c for c in expected if c not in entered]
    assert components.exit_components(names, succ) == [c for c in expected if all(succ[n] <= c for n in c)]


def test_a_long_chain_has_one_entry_and_five_thousand_components():
    names = [f"n{i}" for i in range(5000)]
    succ = {a: {b} for a, b in itertools.pairwise(names)} | {names[-1]: set()}
    assert len(components.ordered_components(names, succ)) == 5000
    assert components.entry_components(names, succ) == [{"n0"}]


def test_shortest_cycle_is_the_tightest_loop_in_a_stable_order():
    succ = {"a": ["b", "c"], "b": ["d"], "c": ["a"], "d": ["a"]}
    assert components.shortest_cycle("a", succ) == ["a", "c", "a"]
    assert components.shortest_cycle("a", {"a": ["a", "b"], "b": ["a"]}) == ["a", "a"]
    # Two loops of one length: the key decides, not the mapping's order.
    two = {"a": ["z", "y"], "z": ["a"], "y": ["a"]}
    assert components.shortest_cycle("a", two) == ["a", "z", "a"]
    assert components.shortest_cycle("a", two, key=lambda n: {"a": 0, "y": 1, "z": 2}[n]) == ["a", "y", "a"]
    assert components.shortest_cycle("a", {"a": ["b"], "b": []}) == ["a", "a"]  # no cycle through `a`


def test_shortest_cycle_follows_a_long_loop():
    # Iterative, one predecessor per name: no recursion limit, no path copied per name.
    n = 20_000
    succ = {f"n{i}": [f"n{(i + 1) % n}"] for i in range(n)}
    chain = components.shortest_cycle("n0", succ)
    assert len(chain) == n + 1 and chain[0] == chain[-1] == "n0"
