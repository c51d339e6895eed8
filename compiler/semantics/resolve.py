"""``fermata check --resolve``: import every `call` target and report missing ones.

This is the one place the toolchain runs user code on purpose (a module's
top-level statements run when it is imported), so it happens only when asked.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from ..diagnostics import codes
from ..diagnostics.diagnostic import Diagnostic, DiagnosticSink
from ..syntax import ast

if TYPE_CHECKING:
    from fermata.spec.call_policy import CallPolicy

# Reported only with `--resolve`; fixtures for them carry `# resolve: true`.
CODES = codes.reported_by(codes.RESOLVE)  # the registry's view: compiler/diagnostics/codes.py


def resolve_call_targets(module: ast.Module, path: str, root: Path,
                         call_policy: CallPolicy | None = None) -> list[Diagnostic]:
    """F450/F451 for each target that cannot be found; a target the call
    policy refuses (F452) is never imported."""
    from fermata.spec.call_policy import CallPolicy

    policy = call_policy or CallPolicy()
    sink = DiagnosticSink(path)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    # One import attempt per module: a module that fails to import is not
    # kept in sys.modules, so a retry would run its top-level code again.
    imported: dict[str, ModuleType | BaseException] = {}
    for call in (n for n in module.walk() if isinstance(n, ast.Call)):
        if policy.refusal(call.target) is not None:
            continue
        module_name, _, function = call.target.partition(":")
        span = call.target_span.or_else(call.span)
        if module_name not in imported:
            imported[module_name] = _import(module_name)
        found = imported[module_name]
        if isinstance(found, BaseException):
            sink.error("F450", f"cannot import module `{module_name}` of call target `{call.target}`",
                       span, help=f"{type(found).__name__}: {found}")
            continue
        if not callable(getattr(found, function, None)):
            sink.error("F451", f"module `{module_name}` has no function `{function}`", span,
                       help="check the name after the `:` in the call target")
    return sink.items


def _import(name: str) -> ModuleType | BaseException:
    # What an imported module prints goes to stderr: stdout carries the
    # report, which may be JSON or SARIF that a stray line would corrupt.
    try:
        with contextlib.redirect_stdout(sys.stderr):
            return importlib.import_module(name)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any import failure is the user's to see
        # SystemExit too: a module calling sys.exit() at import must not end `check`.
        return exc
