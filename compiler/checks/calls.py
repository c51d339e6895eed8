"""The call policy: which Python a spec may ``call`` (F452).

A spec can name anything importable, ``os:system`` as well as
``refunds.logic:score``; specs arrive in pull requests, so the repository
says what they may call, in ``[tool.fermata.calls]`` of its
``pyproject.toml`` (see ``fermata.spec.call_policy``, which the runtime
enforces too). This pass reports each call the policy refuses. It judges
targets by their names only: nothing is imported.
"""

from __future__ import annotations

from fermata.spec.call_policy import CallPolicy

from ..diagnostics import codes
from ..syntax import ast
from .context import CheckContext
from .steps import _TARGET

CODES = codes.reported_by(codes.CALLS)  # the registry's view: compiler/diagnostics/codes.py

DEFAULT_POLICY = CallPolicy()


def check(context: CheckContext) -> None:
    policy = context.call_policy or DEFAULT_POLICY
    for call in (n for n in context.module.walk() if isinstance(n, ast.Call)):
        if not _TARGET.fullmatch(call.target):
            continue  # F400 says what is wrong with it
        refusal = policy.refusal(call.target)
        if refusal is not None:
            span = call.target_span.or_else(call.span)
            context.sink.error("F452", refusal, span, help=policy.how_to_allow(call.target))
