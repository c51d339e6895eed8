"""Strongly connected components, for the checks that look for cycles (the
flow graph's nodes, type declarations)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def strong_components(names: Sequence[str], succ: Mapping[str, Iterable[str]]) -> list[set[str]]:
    """The strongly connected components of the graph ``succ`` over ``names``,
    each component after every component it leads to (so a component's
    successors outside it come first: the order to resolve references in).

    Tarjan's algorithm, iterative: linear in the graph, and a chain of 10,000
    names does not meet Python's recursion limit.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    for root in names:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(succ.get(root, ())))]
        while work:
            name, following = work[-1]
            advanced = False
            for target in following:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(succ.get(target, ()))))
                    advanced = True
                    break
                if target in on_stack:
                    low[name] = min(low[name], index[target])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[name])
            if low[name] == index[name]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == name:
                        break
                found.append(component)
    return found
