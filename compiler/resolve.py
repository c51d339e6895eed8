"""``fermata check --resolve``: import every `call` target and report missing ones.

This is the one place the toolchain runs user code on purpose (a module's
top-level statements run when it is imported), so it happens only when asked.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from . import ast
from .diagnostics import Diagnostic, DiagnosticSink


def resolve_call_targets(module: ast.Module, path: str, root: Path) -> list[Diagnostic]:
    sink = DiagnosticSink(path)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    for call in (n for n in module.walk() if isinstance(n, ast.Call)):
        module_name, _, function = call.target.partition(":")
        span = call.target_span if call.target_span.line else call.span
        try:
            imported = importlib.import_module(module_name)
        except Exception as exc:  # noqa: BLE001 - any import failure is the user's to see
            sink.error("F450", f"cannot import module `{module_name}` of call target `{call.target}`",
                       span, help=f"{type(exc).__name__}: {exc}")
            continue
        if not callable(getattr(imported, function, None)):
            sink.error("F451", f"module `{module_name}` has no function `{function}`", span,
                       help="check the name after the `:` in the call target")
    return sink.items
