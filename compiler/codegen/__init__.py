"""Code generation: ``fermata compile FILE --target python``.

    from fermata.compiler.codegen import emit_python
    text = emit_python(ir)            # one flow of an IR document, as a module

The generated module needs only ``fermata.runtime``; see ``emit.py``.
"""

from __future__ import annotations

from .emit import emit_python
from .literals import py_literal

__all__ = ["emit_python", "py_literal"]
