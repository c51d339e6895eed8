"""What the check tests share: running passes over a spec, and the check of a
catalogue fixture (``spec/diagnostics/Fxxx.flow``) against the code table."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from fermata.compiler.checks.context import CheckContext
from fermata.compiler.diagnostics.diagnostic import Diagnostic, DiagnosticSink
from fermata.compiler.syntax import ast
from fermata.compiler.syntax.parser import parse

FIXTURES = Path(__file__).resolve().parents[3] / "spec" / "diagnostics"


def run_passes(text: str, passes: Iterable[ModuleType]) -> list[Diagnostic]:
    """The findings of ``passes`` on ``text`` (dedented), which must parse."""
    module, syntax = parse(textwrap.dedent(text), "test.flow")
    assert module is not None and not syntax, syntax
    return run_module(module, passes)


def run_module(module: ast.Module, passes: Iterable[ModuleType]) -> list[Diagnostic]:
    context = CheckContext(module, DiagnosticSink("test.flow"))
    for each in passes:
        each.check(context)
    return context.sink.items


def check_fixture(code: str, severity: str, title: str, passes: Iterable[ModuleType]) -> None:
    """The catalogue fixture of ``code`` matches the table and, run through
    ``passes``, triggers only it, on the line it marks."""
    text = (FIXTURES / f"{code}.flow").read_text(encoding="utf-8")
    header = dict(re.findall(r"^# (code|title|severity|fix): (.*)$", text, re.M))
    assert header["code"] == code and header["title"] == title and header["severity"] == severity
    marked = [i for i, line in enumerate(text.splitlines(), 1) if line.rstrip().endswith(f"# <- {code}")]
    found = run_passes(text, passes)
    assert [(d.code, d.span.line, d.severity.value) for d in found] == [(code, marked[0], severity)]
