"""Validation passes: each a small module with one entry point.

A pass is a function ``(context) -> None`` that reports into
``context.sink``. Passes never import or execute user code. They run in the
order of :data:`PASSES`; every pass runs even when an earlier one found
errors, so ``fermata check`` reports every problem, not the first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..diagnostics.diagnostic import Diagnostic, DiagnosticSink
from ..syntax import ast
from .context import CheckContext

if TYPE_CHECKING:
    from fermata.spec.call_policy import CallPolicy

Pass = Callable[[CheckContext], None]


def _passes() -> Sequence[Pass]:
    # Imported lazily so a pass module may import helpers from this package.
    from . import answers, calls, constraints, declarations, graph, runs, steps, typecheck

    return (
        declarations.check,
        typecheck.check,
        runs.check,
        constraints.check,
        steps.check,
        answers.check,
        graph.check,
        calls.check,
    )


def check_module(module: ast.Module, path: str = "<string>",
                 call_policy: CallPolicy | None = None) -> list[Diagnostic]:
    """Every diagnostic for one parsed file; ``call_policy`` (default: the
    default policy) says which call targets are allowed."""
    sink = DiagnosticSink(path)
    context = CheckContext(module, sink, call_policy=call_policy)
    for run_pass in _passes():
        run_pass(context)
    return sink.items
