"""The compiler's stages chained in one place: text -> AST -> diagnostics -> IR.

Every entry point (the CLI, ``load``, ``compile_source``) goes through
:func:`analyze`, so a spec is parsed and checked the same way everywhere and
suppression comments apply everywhere.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .diagnostics.diagnostic import Diagnostic, suggestion_budget
from .syntax import ast

if TYPE_CHECKING:
    from fermata.spec.call_policy import CallPolicy

    from .modules import ModuleSet


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


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Parsing and checking allocate many small objects and no cycles worth
    collecting; the cyclic collector's passes over them cost a third of the
    time on a 10,000-node spec. Reference counting still frees everything."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def analyze(text: str, path: str = "<string>", *, resolve_root: Path | None = None,
            call_policy: CallPolicy | None = None, modules: ModuleSet | None = None) -> Analysis:
    """Parse and check; never raises for any input text.

    With ``resolve_root`` (``fermata check --resolve``), every `call` target
    is also imported, with that folder on ``sys.path``; its diagnostics go
    through the same suppressions and ordering as the checker's. Without it
    no user code is ever imported. ``call_policy`` judges the call targets
    (default: the default policy; reading ``pyproject.toml`` is the
    caller's business, as this function reads no file, but for the files
    its `use` lines name: ``modules`` holds those already read, so that
    checking many files reads each once, see ``modules.py``).
    """
    from .checks import check_module
    from .syntax.parser import parse

    with suggestion_budget():   # "did you mean" for one file costs a bounded amount
        with _without_cycle_collection():
            module, diagnostics = parse(text, path)
            if module is not None:
                module, imported = _with_imports(module, path, call_policy, modules)
                diagnostics = list(diagnostics) + imported + list(check_module(module, path, call_policy))
        return _finish(text, path, module, diagnostics, resolve_root, call_policy)


def analyze_parsed(text: str, path: str, module: ast.Module,
                   call_policy: CallPolicy | None = None, modules: ModuleSet | None = None) -> Analysis:
    """:func:`analyze` for a module already parsed from ``text`` without
    diagnostics (the language server re-parses only the node an edit
    touched and splices it into the previous tree)."""
    from .checks import check_module

    with suggestion_budget():
        with _without_cycle_collection():
            module, diagnostics = _with_imports(module, path, call_policy, modules)
            diagnostics += check_module(module, path, call_policy)
        return _finish(text, path, module, diagnostics, None, call_policy)


def _with_imports(module: ast.Module, path: str, call_policy: CallPolicy | None,
                  modules: ModuleSet | None) -> tuple[ast.Module, list[Diagnostic]]:
    if not module.uses:
        return module, []
    from .modules import ModuleSet, with_imports

    return with_imports(module, path, modules if modules is not None else ModuleSet(call_policy))


def _finish(text: str, path: str, module: ast.Module | None, diagnostics: list[Diagnostic],
            resolve_root: Path | None, call_policy: CallPolicy | None) -> Analysis:
    """Resolution (if asked), suppressions and ordering: the end of every analysis."""
    from .diagnostics.suppress import apply_suppressions

    if module is not None and resolve_root is not None:
        from .semantics.resolve import resolve_call_targets

        diagnostics += resolve_call_targets(module, path, resolve_root, call_policy)
    diagnostics = apply_suppressions(diagnostics, text, path, resolved=resolve_root is not None)
    diagnostics.sort(key=Diagnostic.sort_key)
    return Analysis(path, text, module, diagnostics)


def compile_source(text: str, path: str = "<string>",
                   call_policy: CallPolicy | None = None) -> dict[str, Any]:
    """The IR of a spec, or :class:`CompileError` carrying every diagnostic."""
    from .errors import CompileError
    from .lower.lowering import lower_module

    analysis = analyze(text, path, call_policy=call_policy)
    if not analysis.ok:
        # Every diagnostic, warnings too: whoever shows the errors should
        # show the warnings beside them, as `fermata check` would.
        raise CompileError(analysis.diagnostics, text)
    assert analysis.module is not None
    with _without_cycle_collection():
        return lower_module(analysis.module, text, path)


def compile_file(path: str | Path, call_policy: CallPolicy | None = None) -> dict[str, Any]:
    """The IR of a spec file; its calls are judged by ``call_policy``,
    by default the policy configured for it (``pyproject.toml``)."""
    from fermata.spec.call_policy import policy_near

    path = Path(path)
    text = read_source(path)
    return compile_source(text, path.as_posix(), call_policy or policy_near(path))


def read_source(path: Path) -> str:
    # utf-8-sig: an editor's byte-order mark must not become a syntax error.
    return path.read_text(encoding="utf-8-sig")
