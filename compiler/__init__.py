"""The Fermata compiler: `.flow` source -> diagnostics -> IR -> runnable graph.

The public surface is small and imports lazily, so that ``fermata check`` on a
small spec starts fast::

    from fermata.compiler import load, compile_source
    flow = load("examples/refund.flow")
"""

from __future__ import annotations

from .diagnostics import CompileError, Diagnostic
from .loading import load
from .pipeline import analyze, compile_file, compile_source

__all__ = ["CompileError", "Diagnostic", "analyze", "compile_file", "compile_source", "load"]
