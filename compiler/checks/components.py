"""Graph algorithms for the checks that follow references: reachability and
strongly connected components (over a flow's nodes, over type declarations).
Graphs are ``{name: successors}`` mappings; all of it is iterative, so a chain
of 10,000 names does not meet Python's recursion limit."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence, Set


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


def closure(roots: Iterable[str], succ: Mapping[str, Iterable[str]]) -> set[str]:
    """``roots`` and every name reachable from them."""
    seen = set(roots)
    stack = list(seen)
    while stack:
        for following in succ.get(stack.pop(), ()):
            if following not in seen:
                seen.add(following)
                stack.append(following)
    return seen


def ordered_components(names: Sequence[str], succ: Mapping[str, Iterable[str]]) -> list[set[str]]:
    """Strongly connected components, ordered by their first name in ``names``."""
    position = {name: i for i, name in enumerate(names)}
    return sorted(strong_components(names, succ), key=lambda c: min(position[n] for n in c))


def shortest_cycle(start: str, succ: Mapping[str, Iterable[str]],
                   key: Callable[[str], int] | None = None) -> list[str]:
    """The shortest chain ``start -> ... -> start`` (breadth first, so a
    report names the tightest loop), as names; successors are tried in
    ``key`` order when given, else in ``succ``'s order, so the chain is
    deterministic. ``[start, start]`` for a self-reference, or when no cycle
    passes through ``start``."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        following_names = succ.get(current, ())
        for following in (sorted(following_names, key=key) if key is not None else following_names):
            if following == start:
                chain = [current]
                while chain[-1] != start:
                    chain.append(previous[chain[-1]])
                return [start, *reversed(chain[:-1]), start] if current != start else [start, start]
            if following not in previous:
                previous[following] = current
                queue.append(following)
    return [start, start]


def _component_links(names: Sequence[str], succ: Mapping[str, Set[str]]
                     ) -> tuple[list[set[str]], set[int], set[int]]:
    """The components, and the indices of those with an edge in from another
    component and of those with an edge out to another."""
    components = ordered_components(names, succ)
    owner = {name: i for i, component in enumerate(components) for name in component}
    entered: set[int] = set()
    left: set[int] = set()
    for name in names:
        for target in succ.get(name, ()):
            if target in owner and owner[target] != owner[name]:
                entered.add(owner[target])
                left.add(owner[name])
    return components, entered, left


def entry_components(names: Sequence[str], succ: Mapping[str, Set[str]]) -> list[set[str]]:
    """Components no other component of ``names`` leads into."""
    components, entered, _left = _component_links(names, succ)
    return [c for i, c in enumerate(components) if i not in entered]


def exit_components(names: Sequence[str], succ: Mapping[str, Set[str]]) -> list[set[str]]:
    """Components with no edge to another component of ``names``."""
    components, _entered, left = _component_links(names, succ)
    return [c for i, c in enumerate(components) if i not in left]
