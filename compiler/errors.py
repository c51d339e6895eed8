"""The error the compiler's API raises for a spec with errors.

Apart from ``diagnostics.py`` because it derives from the runtime's
``FermataError`` (one ``except FermataError`` catches every error Fermata
raises): importing it loads the runtime, which ``fermata check`` never needs.
The compiler may import the runtime's errors; the runtime never imports the
compiler.
"""

from __future__ import annotations

from collections.abc import Sequence

from fermata.runtime.errors import FermataError

from .diagnostics.diagnostic import Diagnostic


class CompileError(FermataError):
    """Raised by the API entry points (``load``, ``compile_source``) when a spec
    has errors. Holds every diagnostic, not only the first. A
    :class:`~fermata.runtime.FermataError`, as every error Fermata raises."""

    def __init__(self, diagnostics: Sequence[Diagnostic], source: str | None = None):
        self.diagnostics = tuple(diagnostics)
        self.source = source
        errors = [d for d in self.diagnostics if d.is_error]
        first = errors[0] if errors else self.diagnostics[0]
        more = len(errors) - 1
        suffix = f" (and {more} more error{'s' if more != 1 else ''})" if more > 0 else ""
        super().__init__(
            f"{first.path}:{first.span.line}:{first.span.column}: "
            f"{first.severity.value}[{first.code}]: {first.message}{suffix}"
        )
