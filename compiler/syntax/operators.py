"""THE table of operator precedence and associativity of `.flow` expressions.

The AST builder parses with it (precedence climbing), the printer and the
diagram's expression writer put back only the parentheses it requires. Higher
binds tighter; ``spec/fermata.lark`` lists the operators flat and leaves their
grouping to this table.
"""

from __future__ import annotations

from typing import Literal

Associativity = Literal["left", "right", "none"]

# Binding power and associativity of each binary operator. Comparisons do not
# associate (`a < b < c` is an error); `??` groups to the right.
BINARY: dict[str, tuple[int, Associativity]] = {
    "or": (1, "left"), "and": (2, "left"),
    "==": (4, "none"), "!=": (4, "none"), "<": (4, "none"), "<=": (4, "none"), ">": (4, "none"),
    ">=": (4, "none"), "in": (4, "none"),
    "??": (5, "right"), "+": (6, "left"), "-": (6, "left"), "*": (7, "left"), "/": (7, "left"),
    "%": (7, "left"),
}

# A prefix operator's operand takes the binary operators binding tighter than
# it: `not a == b` is `not (a == b)`, `-a * b` is `(-a) * b`.
PREFIX: dict[str, int] = {"not": 3, "-": 8}

# Member access, indexing and calls bind tighter than any operator; atoms
# (names, literals, brackets) tightest of all.
POSTFIX = 9
ATOM = 10

COMPARISONS = frozenset(op for op, (_, associativity) in BINARY.items() if associativity == "none")


def binary_power(op: str) -> int:
    """How tightly binary ``op`` binds."""
    return BINARY[op][0]
