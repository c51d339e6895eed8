"""Call targets for generated flows: ``call "tests.properties.instrument:hit"("a", 2)``.

Every call is counted per ``(node, index)``, so a property can state exactly
how many times each step ran. ``flip`` changes its answer on every call: the
one thing a deterministic flow must not branch on without ``once``.
"""

from __future__ import annotations

from collections import Counter

HITS: Counter[tuple[str, int]] = Counter()
ONCE_HITS: Counter[tuple[str, int]] = Counter()
FLIPS: Counter[str] = Counter()


def reset() -> None:
    HITS.clear()
    ONCE_HITS.clear()
    FLIPS.clear()


def hit(node: str, index: int) -> None:
    HITS[(node, index)] += 1


def hit_once(node: str, index: int) -> int:
    ONCE_HITS[(node, index)] += 1
    return index


def flip(key: str) -> int:
    """0, 1, 0, 1, ... per key: a result that changes between replays."""
    FLIPS[key] += 1
    return FLIPS[key] % 2
