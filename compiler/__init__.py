"""The Fermata compiler: `.flow` source -> diagnostics -> IR -> runnable graph.

The public surface is small and imports lazily, so that ``fermata check`` on a
small spec starts fast::

    from fermata.compiler import load, compile_source
    flow = load("examples/refund.flow")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .diagnostics.diagnostic import Diagnostic
    from .errors import CompileError
    from .loading import load
    from .pipeline import analyze, compile_file, compile_source

__all__ = ["CompileError", "Diagnostic", "analyze", "compile_file", "compile_source", "load"]

# Each name is imported when first asked for, so that importing a submodule
# (`fermata resume` imports the CLI's) does not load the parser and checker
# (CompileError loads the runtime, see errors.py).
_HOMES = {"CompileError": "errors", "Diagnostic": "diagnostics.diagnostic", "load": "loading",
          "analyze": "pipeline", "compile_file": "pipeline", "compile_source": "pipeline"}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{home}", __name__), name)
