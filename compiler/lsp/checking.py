"""The checks, flow by flow, so that an edit re-checks one flow.

Every check pass looks at one flow at a time, except those of the whole
file: duplicate flow names (F100) and the `type` declarations. So the
diagnostics of a file are those of its non-flow items (``rest``: the
module without its flows, checked once) plus, for each flow, those of the
module made of the non-flow items and that flow alone, kept where they
point inside the flow. :func:`check_parts` checks that way and keeps the
parts (before suppressions: `_finish` applies them to the whole); after an
edit inside one flow, :func:`recheck_flow` re-checks that flow only, and
in that flow the nodes the edit touched only (``node_parts.py``).

It is exact when it is used, and it is used only when:

- the file has no `use` line (a used file may change on disk: the whole
  file is re-checked, as `fermata check` would),
- no two flows share a name (F100 is the one cross-flow diagnostic),
- "did you mean" suggestions stay within the file's budget
  (``suggestion_budget``: once spent, later suggestions are left out, and
  which are later depends on the order of the whole check): the parts'
  spending is measured and must total less than the budget,
- a flow's check reports nothing outside the flow but what ``rest`` reports
  (compared, each time).

Otherwise the caller checks the whole module (``pipeline.analyze_parsed``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from fermata.spec.call_policy import CallPolicy

from ..checks import check_module
from ..checks.runs import runs_in
from ..diagnostics.diagnostic import MAX_COMPARED_PER_FILE, Diagnostic, _budget, suggestion_budget
from ..syntax import ast
from .node_parts import FlowPart, check_by_nodes, known_passes
from .shift import Shift


@dataclass
class CheckParts:
    """Diagnostics (unsuppressed) of the non-flow items and of each flow, in module order."""

    rest: list[Diagnostic]
    rest_spent: float
    flows: list[FlowPart]

    @property
    def all(self) -> list[Diagnostic]:
        return [*self.rest, *(d for part in self.flows for d in part.diagnostics)]

    @property
    def within_budget(self) -> bool:
        return self.rest_spent + sum(part.spent for part in self.flows) < MAX_COMPARED_PER_FILE

    def shifted(self, shift: Shift) -> CheckParts:
        """These parts with their positions moved by ``shift`` (in place)."""
        return CheckParts(shift.diagnostics(self.rest), self.rest_spent, [p.shifted(shift) for p in self.flows])


def eligible(module: ast.Module) -> bool:
    # A `run` makes a flow's diagnostics depend on the flow it runs (its
    # input and output types, a `run` cycle): such files are checked whole.
    # (After an edit, the parts say whether their nodes hold a `run`.)
    return _names_eligible(module) and not any(next(runs_in(flow), None) is not None for flow in module.flows)


def _names_eligible(module: ast.Module) -> bool:
    names = [f.name for f in module.flows]
    return not module.uses and len(set(names)) == len(names)


def _inside(span: ast.Span, outer: ast.Span) -> bool:
    return (outer.line, outer.column) <= (span.line, span.column) and \
        (span.end_line, span.end_column) <= (outer.end_line, outer.end_column)


def _measured(module: ast.Module, path: str, call_policy: CallPolicy | None) -> tuple[list[Diagnostic], float]:
    with suggestion_budget():
        found = check_module(module, path, call_policy)
        return found, _spent()


def _spent() -> float:
    left = _budget.get()
    return MAX_COMPARED_PER_FILE - (left[0] if left is not None else MAX_COMPARED_PER_FILE)


def _without_flows(module: ast.Module) -> ast.Module:
    return replace(module, items=tuple(i for i in module.items if not isinstance(i, ast.Flow)))


def check_flow(module: ast.Module, flow: ast.Flow, rest: list[Diagnostic], path: str,
               call_policy: CallPolicy | None, previous: FlowPart | None = None) -> FlowPart | None:
    """``flow``'s diagnostics, checked with ``module``'s non-flow items: by
    node where that is exact (``node_parts.py``; ``previous``, the flow's
    part before an edit, gives the nodes the edit left alone), else whole;
    None if the check reports anything else than ``rest`` outside it."""
    if known_passes():
        with suggestion_budget():
            part = check_by_nodes(module, flow, rest, path, call_policy, previous)
        if part is not None:
            return part
    alone = replace(module, items=tuple(i for i in module.items if not isinstance(i, ast.Flow) or i is flow))
    found, spent = _measured(alone, path, call_policy)
    inside = [d for d in found if _inside(d.span, flow.span)]
    if len(found) - len(inside) != len(rest) or \
            [d for d in found if not _inside(d.span, flow.span)] != rest:
        return None
    return FlowPart(inside, spent, has_runs=next(runs_in(flow), None) is not None)


def check_parts(module: ast.Module, path: str, call_policy: CallPolicy | None) -> CheckParts | None:
    """The module's diagnostics by part, or None where that would not be exact."""
    if not eligible(module):
        return None
    rest, rest_spent = _measured(_without_flows(module), path, call_policy)
    parts = CheckParts(rest, rest_spent, [])
    for flow in module.flows:
        checked = check_flow(module, flow, rest, path, call_policy)
        if checked is None or checked.runs:
            return None
        parts.flows.append(checked)
    return parts if parts.within_budget else None


def recheck_flow(parts: CheckParts, module: ast.Module, index: int, path: str,
                 call_policy: CallPolicy | None) -> CheckParts | None:
    """``parts`` with the ``index``-th flow of ``module`` checked anew (the
    other parts already moved to ``module``'s positions)."""
    if not _names_eligible(module):
        return None
    checked = check_flow(module, module.flows[index], parts.rest, path, call_policy, parts.flows[index])
    if checked is None or checked.runs:
        return None
    flows = list(parts.flows)
    flows[index] = checked
    again = CheckParts(parts.rest, parts.rest_spent, flows)
    return again if again.within_budget else None
