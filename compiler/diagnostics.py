"""Diagnostics as data: what every stage of the compiler reports.

A diagnostic holds a stable code, a severity, a one-line message, the
smallest span at fault, optional secondary labels, a ``help`` line with the
fix where one is known, and notes. Renderers (``render.py``) turn them into
pretty, one-line, JSON, SARIF or GitHub output; nothing here formats text for
a terminal.

Messages follow rustc/Elm conventions: lowercase, no trailing period, names in
backticks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable, Sequence

from .ast import Span


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Label:
    """A secondary span with a short note ("first declared here")."""

    span: Span
    message: str


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    severity: Severity = Severity.ERROR
    path: str = "<string>"
    labels: tuple[Label, ...] = ()
    help: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.span.line, self.span.column, self.code)

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "path": self.path,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "labels": [
                {"message": lab.message, "line": lab.span.line, "column": lab.span.column,
                 "end_line": lab.span.end_line, "end_column": lab.span.end_column}
                for lab in self.labels
            ],
            "help": self.help,
            "notes": list(self.notes),
        }


@dataclass
class DiagnosticSink:
    """Collects diagnostics for one file; passes call :meth:`error` / :meth:`warning`."""

    path: str = "<string>"
    items: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, span: Span, *, help: str | None = None,
              labels: Sequence[Label] = (), notes: Sequence[str] = ()) -> None:
        self.items.append(Diagnostic(code, message, span, Severity.ERROR, self.path,
                                     tuple(labels), help, tuple(notes)))

    def warning(self, code: str, message: str, span: Span, *, help: str | None = None,
                labels: Sequence[Label] = (), notes: Sequence[str] = ()) -> None:
        self.items.append(Diagnostic(code, message, span, Severity.WARNING, self.path,
                                     tuple(labels), help, tuple(notes)))

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)


class CompileError(Exception):
    """Raised by the API entry points (``load``, ``compile_source``) when a spec
    has errors. Holds every diagnostic, not only the first."""

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


def edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) from ``a`` to ``b``,
    for "did you mean" suggestions; a swap counts once, so `cuont` is one
    edit from `count` (the optimal-string-alignment distance)."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, rows[-2][j - 2] + 1)
            row.append(cost)
        rows.append(row)
    return rows[-1][-1]


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to ``name`` by edit distance, if it is near enough
    to be a typo of it (a third of its length, at least one edit)."""
    best: tuple[int, str] | None = None
    for candidate in sorted(set(candidates)):
        distance = edit_distance(name.lower(), candidate.lower())
        limit = max(1, len(name) // 3)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, candidate)
    return best[1] if best else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A ``help`` line naming the closest candidate, or None if none is close."""
    match = closest(name, candidates)
    return f"did you mean `{match}`?" if match else None
