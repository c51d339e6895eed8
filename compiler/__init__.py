"""The Fermata compiler: `.flow` source -> diagnostics -> IR -> runnable graph.

The public surface is small and imports lazily, so that ``fermata check`` on a
small spec starts fast::

    from fermata.compiler import load, compile_source
    flow = load("examples/refund.flow")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .diagnostics import Diagnostic
from .loading import load
from .pipeline import analyze, compile_file, compile_source

if TYPE_CHECKING:
    from .errors import CompileError

__all__ = ["CompileError", "Diagnostic", "analyze", "compile_file", "compile_source", "load"]


def __getattr__(name: str) -> object:
    # Imported when first asked for: it loads the runtime (see errors.py).
    if name == "CompileError":
        from .errors import CompileError

        return CompileError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
