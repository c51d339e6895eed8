"""The compiler's stages chained in one place: text -> AST -> diagnostics -> IR.

Every entry point (the CLI, ``load``, ``compile_source``) goes through
:func:`analyze`, so a spec is parsed and checked the same way everywhere and
suppression comments apply everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import ast
from .diagnostics import CompileError, Diagnostic


@dataclass
class Analysis:
    """The result of parsing and checking one file."""

    path: str
    text: str
    module: ast.Module | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def ok(self) -> bool:
        return self.module is not None and not self.errors


def analyze(text: str, path: str = "<string>") -> Analysis:
    """Parse and check; never raises for any input text."""
    from .checks import check_module
    from .parser import parse
    from .suppress import apply_suppressions

    module, diagnostics = parse(text, path)
    if module is not None:
        diagnostics = list(diagnostics) + list(check_module(module, path))
    diagnostics = apply_suppressions(diagnostics, text, path)
    diagnostics.sort(key=Diagnostic.sort_key)
    return Analysis(path, text, module, diagnostics)


def compile_source(text: str, path: str = "<string>") -> dict[str, Any]:
    """The IR of a spec, or :class:`CompileError` carrying every diagnostic."""
    from .lower import lower_module

    analysis = analyze(text, path)
    if not analysis.ok:
        raise CompileError(analysis.errors or analysis.diagnostics, text)
    assert analysis.module is not None
    return lower_module(analysis.module, text, path)


def compile_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    return compile_source(read_source(path), path.as_posix())


def read_source(path: Path) -> str:
    # utf-8-sig: an editor's byte-order mark must not become a syntax error.
    return path.read_text(encoding="utf-8-sig")
