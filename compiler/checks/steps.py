"""Step checks: call targets, keyword arguments, interrupt labels, and the
`retry`/`backoff`/`timeout` settings of a node.

Codes F400–F429, listed in :data:`CODES`.

Nothing here imports the call targets: whether they exist is only asked by
``fermata check --resolve`` (``compiler/semantics/resolve.py``).
"""

from __future__ import annotations

import re

from ..diagnostics import codes
from ..diagnostics.diagnostic import DiagnosticSink, Label
from ..syntax import ast
from .context import CheckContext

MAX_RETRY = 100
# A backoff doubling past this is almost surely a typo (`retry 30`).
MAX_SANE_WAIT_MS = 24 * 3_600_000

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_TARGET = re.compile(rf"{_IDENTIFIER}(\.{_IDENTIFIER})*:{_IDENTIFIER}")
_TARGET_SHAPE = "`package.module:function`, e.g. `refunds.logic:score`"


# Every code this pass reports: severity and catalogue title.
CODES = codes.reported_by(codes.STEPS)  # the registry's view: compiler/diagnostics/codes.py


def check(context: CheckContext) -> None:
    sink = context.sink
    for flow in context.module.flows:
        for node in flow.nodes:
            _check_settings(sink, node)
            _check_labels(sink, node)
            for step in node.all_steps:
                call = call_of(step)
                if call is not None:
                    _check_call(sink, call)
                interrupt = interrupt_of(step)
                if interrupt is not None:
                    _check_clause_durations(sink, interrupt)
                elif isinstance(step, ast.Wait) and step.duration is not None:
                    _check_duration(sink, "wait ... for", step.duration)


def call_of(step: ast.Step) -> ast.Call | None:
    if isinstance(step, ast.Call):
        return step
    if isinstance(step, ast.Let) and isinstance(step.value, ast.Call):
        return step.value
    return None


def interrupt_of(step: ast.Step) -> ast.Interrupt | None:
    if isinstance(step, ast.Interrupt):
        return step
    if isinstance(step, ast.Let) and isinstance(step.value, ast.Interrupt):
        return step.value
    return None


# --------------------------------------------------------------------------
# Calls
# --------------------------------------------------------------------------


def _check_call(sink: DiagnosticSink, call: ast.Call) -> None:
    span = call.target_span.or_else(call.span)
    problem = target_problem(call.target)
    if problem is not None:
        sink.error("F400", f"malformed call target `{call.target}`: {problem}", span,
                   help=f"write the target as {_TARGET_SHAPE}")
    first: dict[str, ast.Span] = {}
    for kwarg in call.kwargs:
        if kwarg.name in first:
            sink.error("F408", f"keyword argument `{kwarg.name}` is repeated", kwarg.span,
                       labels=[Label(first[kwarg.name], f"`{kwarg.name}` first given here")],
                       help=f"pass `{kwarg.name}` once")
        first.setdefault(kwarg.name, kwarg.span)


def target_problem(target: str) -> str | None:
    """What is wrong with a call target, or None for a well-formed one."""
    if _TARGET.fullmatch(target):
        return None
    colons = target.count(":")
    if colons == 0:
        return "no `:` between the module and the function"
    if colons > 1:
        return "more than one `:`"
    module, function = target.split(":")
    if not module:
        return "the module is missing before the `:`"
    if not function:
        return "the function is missing after the `:`"
    if not re.fullmatch(rf"{_IDENTIFIER}(\.{_IDENTIFIER})*", module):
        return f"`{module}` is not a dotted module name"
    return f"`{function}` is not a function name"


# --------------------------------------------------------------------------
# retry / backoff / timeout
# --------------------------------------------------------------------------


def _check_settings(sink: DiagnosticSink, node: ast.NodeDecl) -> None:
    # The AST keeps no span for the `retry` count: the node's name stands in.
    name_span = node.name_span.or_else(node.span)
    retry_ok = node.retry is None or 0 <= node.retry <= MAX_RETRY
    if not retry_ok:
        sink.error("F403", f"`retry {node.retry}` of node `{node.name}` is out of range",
                   name_span, help=f"retry between 0 and {MAX_RETRY} times")
    durations_ok = True
    for keyword, duration in (("backoff", node.backoff), ("timeout", node.timeout)):
        if duration is not None:
            durations_ok = _check_duration(sink, keyword, duration) and durations_ok
    backoff = node.backoff
    if backoff is None or not durations_ok or not retry_ok:
        return
    if not node.retry:
        sink.warning("F404", f"`backoff` of node `{node.name}` has no effect without `retry`",
                     backoff.span,
                     help="add `retry N` before it, or remove the `backoff`")
        return
    backoff_ms = backoff.milliseconds or 0
    last_wait = backoff_ms * 2 ** (node.retry - 1)
    if last_wait > MAX_SANE_WAIT_MS:
        sink.warning("F405", f"node `{node.name}` would wait {_readable(last_wait)} before its last retry",
                     backoff.span,
                     notes=[f"retry i waits `backoff` * 2^(i-1): {backoff.text} * 2^{node.retry - 1}"],
                     help="lower `retry` or `backoff`")


def _check_duration(sink: DiagnosticSink, keyword: str, duration: ast.Duration) -> bool:
    milliseconds = duration.milliseconds
    if milliseconds is None:
        sink.error("F401", f"malformed duration `{duration.text}` for `{keyword}`", duration.span,
                   help=_duration_help(duration.text))
        return False
    if milliseconds == 0:
        sink.error("F402", f"`{keyword}` must be longer than zero", duration.span,
                   help=f"give a positive duration, e.g. `{keyword} 1s`, or remove `{keyword}`")
        return False
    return True


def _check_clause_durations(sink: DiagnosticSink, interrupt: ast.Interrupt) -> None:
    """`within` and `remind every` are positive, and a reminder comes
    before the deadline (else it would never be sent)."""
    within = interrupt.within.duration if interrupt.within is not None else None
    within_ok = within is not None and _check_duration(sink, "within", within)
    remind = interrupt.remind_every
    remind_ok = remind is not None and _check_duration(sink, "remind every", remind)
    if within is not None and remind is not None and within_ok and remind_ok \
            and (remind.milliseconds or 0) >= (within.milliseconds or 0):
        sink.error("F464", f"`remind every {remind.text}` of interrupt `{interrupt.label}` is not shorter "
                           f"than its deadline `within {within.text}`", remind.span,
                   labels=[Label(within.span, "the deadline")],
                   notes=["reminders are sent while the interrupt is pending; the deadline ends that"],
                   help="remind more often than the deadline, or remove `remind every`")


def _duration_help(text: str) -> str:
    """Suggest whole milliseconds for a fractional duration like `1.5s`."""
    shape = "write a whole number followed by `ms`, `s`, `m`, `h` or `d`, e.g. `500ms` or `2s`"
    match = re.fullmatch(r"(\d+\.\d+|\.\d+)(ms|s|m|h|d)", text)
    if match:
        milliseconds = float(match.group(1)) * ast.Duration.UNITS[match.group(2)]
        if milliseconds == int(milliseconds) and milliseconds > 0:
            return f"{shape}: `{int(milliseconds)}ms`"
    return shape


def _readable(milliseconds: int) -> str:
    days = milliseconds / 86_400_000
    if days < 365:
        return f"{days:.0f} days"
    return f"{days / 365:.0f} years"


# --------------------------------------------------------------------------
# Interrupt labels
# --------------------------------------------------------------------------


def _check_labels(sink: DiagnosticSink, node: ast.NodeDecl) -> None:
    """Interrupt ids are `node:label`, so a label is unique within its node,
    across `if`/`else` branches too (a resume binds answers by id)."""
    first: dict[str, ast.Span] = {}
    for step in node.all_steps:
        # A `wait` pauses with an id `node:label` too: one namespace.
        paused = interrupt_of(step) or (step if isinstance(step, ast.Wait) else None)
        if paused is None:
            continue
        label, span = paused.label, paused.label_span.or_else(paused.span)
        # A label is a name, never a keyword: `:` and the reserved `before`
        # / `after` of static interrupt ids cannot occur (the grammar sees to it).
        if label in first:
            sink.error("F406", f"label `{label}` is used twice in node `{node.name}`", span,
                       labels=[Label(first[label], f"`{label}` first used here")],
                       notes=[f"interrupt ids are `node:label`, so both would be `{node.name}:{label}`"],
                       help="give each interrupt and `wait` of a node its own label")
        first.setdefault(label, span)
