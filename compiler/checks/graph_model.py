"""The model of a flow's graph that the graph checks (``graph.py``) build and
the superstep analyses (``supersteps.py``) read: edges with only their valid
ends, and joins; with the names they print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..syntax import ast

START, END = "start", "end"


@dataclass
class Edge:
    node: ast.Edge
    sources: tuple[str, ...]
    targets: tuple[str, ...]   # node names or `end`
    broken: bool = False       # some end was invalid (already reported)
    conditional: bool = False  # `when ...` or `otherwise` (asked often: stored, not derived)

    @property
    def exhaustive(self) -> bool:
        """`otherwise` or `when true`: no later branch is ever tried."""
        return self.node.otherwise or always_true(self.node.condition)


@dataclass
class Join:
    edge: Edge
    sources: frozenset[str]
    target: str


def always_true(condition: ast.Expr | None) -> bool:
    return isinstance(condition, ast.Literal) and condition.value is True


def ref_names(refs: Sequence[ast.Ref], sep: str) -> str:
    return sep.join(r.name for r in refs)


def names_list(names: Sequence[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
