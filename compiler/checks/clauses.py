"""Checks of an interrupt's human-task clauses and of `wait` that need types.

Called by the type checker (``typecheck.py``) for each interrupt, with the
scope of the step: ``where`` sees the answer under the `let` name and the
state; ``to`` and a deadline's ``answer`` see the state (and earlier locals),
never the answer. Codes F460–F467 (the registry: ``compiler/diagnostics/codes.py``);
durations, labels and ``remind every`` against ``within`` are ``steps.py``'s,
deadline targets as edges are ``graph.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from ..diagnostics.diagnostic import DiagnosticSink
from ..semantics import inference as I
from ..semantics import types as T
from ..syntax import ast

_TO_TYPES = (T.STR, T.ListT(T.STR))


def deadline_target(node_step: ast.Step) -> ast.Ref | None:
    """The node a `within DUR -> NODE` of this step's interrupt leads to."""
    interrupt = node_step.value if isinstance(node_step, ast.Let) else node_step
    if isinstance(interrupt, ast.Interrupt) and interrupt.within is not None:
        return interrupt.within.target
    return None


def check_interrupt(sink: DiagnosticSink, interrupt: ast.Interrupt, bind: str | None, answer: T.FType,
                    checker: Callable[[], I.Inferer], with_answer: Callable[[], I.Inferer],
                    locals_in_scope: Collection[str] = ()) -> None:
    """``checker()`` infers in the step's scope; ``with_answer()`` in that
    scope with the answer bound to ``bind``; ``locals_in_scope`` are the
    node's locals visible at the interrupt."""
    where = interrupt.where
    if where is not None:
        if bind is None:
            checker().infer(where.condition)
            sink.error("F460", f"the `where` rule of interrupt `{interrupt.label}` has no answer to read",
                       where.span, notes=["`where` sees the answer under the name of its `let`"],
                       help=f"bind the answer: `let answer = interrupt {interrupt.label} ...`, "
                            "and write the rule about `answer`")
        else:
            inferer = with_answer()
            inferer.condition(where.condition, inferer.infer(where.condition), "`where`")
    for expr in interrupt.to:
        t = checker().infer(expr)
        if not any(T.assignable(t, wanted) for wanted in _TO_TYPES):
            sink.error("F461", f"`to` names who may answer with a `str` or a `list[str]`, found `{T.widen(t)}`",
                       expr.span, help="give a role or user name, e.g. `to \"finance\"`, or a field "
                                       "holding one (`str`) or several (`list[str]`)")
    deadline = interrupt.within
    if deadline is not None and deadline.answer is not None:
        checker().expect(deadline.answer, answer, "F462", f"the deadline's answer to `{interrupt.label}`")
        # It is evaluated when the deadline fires, long after the node's
        # locals are gone: it reads the state only.
        for name in [n for n in deadline.answer.walk() if isinstance(n, ast.Name) and n.name in locals_in_scope]:
            sink.error("F467", f"the deadline's answer to `{interrupt.label}` reads local `{name.name}`",
                       name.span, notes=["a deadline's answer is evaluated when the deadline fires, from the state"],
                       help=f"keep the value in a state field (`set FIELD = {name.name}` before the "
                            "interrupt) and read that")
        if where is not None and bind is not None:
            _check_answer_against_rule(sink, interrupt, bind, deadline.answer, where)


def _check_answer_against_rule(sink: DiagnosticSink, interrupt: ast.Interrupt, bind: str,
                               answer: ast.Expr, where: ast.Where) -> None:
    """F464 where it can be decided now: a constant answer and a rule that
    reads nothing but the answer. Expressions are pure (no clock, no user
    code), so evaluating them here is what the runtime would do."""
    if any(isinstance(n, ast.Name) and n.name != bind for n in where.condition.walk()) or any(
            isinstance(n, ast.Literal) and n.is_template for n in where.condition.walk()):
        return
    from ..lower.lowering import constant_value, lower_expression

    try:
        value = constant_value(answer)
    except ValueError:
        return
    from fermata.runtime.expressions import compile_condition

    rule = compile_condition(lower_expression(where.condition, {bind: None}), "`where`")
    try:
        holds = rule(_View({bind: value}))
    except Exception:  # noqa: BLE001 - a rule that cannot be evaluated on it is the runtime's to report
        return
    if not holds:
        shown = f" (\"{where.message}\")" if where.message else ""
        sink.error("F463", f"the deadline's answer to `{interrupt.label}` breaks its `where` rule{shown}",
                   answer.span, help="give an answer the rule accepts, or route the deadline to a "
                                     "node instead: `within ... -> NODE`")


class _View:
    def __init__(self, locals_: dict[str, Any]):
        self.state: dict[str, Any] = {}
        self.overlay: dict[str, Any] = {}
        self.locals = locals_


def check_wait(sink: DiagnosticSink, wait: ast.Wait, checker: Callable[[], I.Inferer]) -> None:
    if wait.until is None:
        return
    t = checker().infer(wait.until)
    if not T.assignable(t, T.STR):
        sink.error("F465", f"`wait ... until` needs an ISO 8601 date-time `str`, found `{T.widen(t)}`",
                   wait.until.span, help="give a date-time text, e.g. \"2026-12-24T09:00:00Z\", or a "
                                         "`str` field holding one")
        return
    until = wait.until
    if isinstance(until, ast.Literal) and isinstance(until.value, str) and not until.is_template \
            and not is_date_time(until.value):
        sink.error("F466", f"`wait ... until` \"{until.value}\" is not an ISO 8601 date-time with a time zone",
                   until.span, help="write e.g. \"2026-12-24T09:00:00Z\" or \"2026-12-24T09:00:00+01:00\"")


def is_date_time(text: str) -> bool:
    """An ISO 8601 date and time with a zone (``Z`` or an offset): a timer's
    due time must not depend on the machine's time zone."""
    if "T" not in text and " " not in text:
        return False
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return False
    return parsed.tzinfo is not None
