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

import contextvars
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum

from ..syntax.ast import Span


class Severity(str, Enum):  # noqa: UP042 - a StrEnum's str() differs; renderers and JSON rely on this one's
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

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)


def __getattr__(name: str) -> object:
    # `CompileError` lives in `errors.py` (it derives from the runtime's
    # `FermataError`, so importing it loads the runtime): kept importable from
    # here, where it used to be, without `fermata check` paying for it.
    if name == "CompileError":
        from ..errors import CompileError

        return CompileError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


# "Did you mean" is asked once per unknown name, against every name in
# scope; unbounded, a file of n misspelt names among n declared ones cost
# n * n full edit distances (400 names took 15 s, one 4,000-character name
# 12 s). So: names longer than this get no suggestion, only candidates near in
# length are compared (a length difference is already that many edits), so
# are only those whose letters differ little (each edit changes the set of
# letters by at most two), the distance is computed only up to the best found
# so far, and at most MAX_COMPARED candidates (the nearest in length first)
# are compared per name, and MAX_COMPARED_PER_FILE in all while one file is
# checked (see :func:`suggestion_budget`; candidates looked at but not
# compared count a tenth): past it, help lines say what to declare instead.
MAX_SUGGESTED_LENGTH = 64
MAX_COMPARED = 200
MAX_COMPARED_PER_FILE = 10_000

_budget: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("suggestion_budget",
                                                                             default=None)


@contextmanager
def suggestion_budget(comparisons: int = MAX_COMPARED_PER_FILE) -> Iterator[None]:
    """Within it, suggestions compare at most ``comparisons`` candidates in
    all (the pipeline checks each file within one)."""
    reset = _budget.set([float(comparisons)])
    try:
        yield
    finally:
        _budget.reset(reset)


def bounded_edit_distance(a: str, b: str, bound: int) -> int | None:
    """:func:`edit_distance` if it is at most ``bound``, else None; only the
    diagonal band of width ``2 * bound + 1`` is computed, and the work stops
    as soon as no cell of the last two rows (a swap spans two) is within it
    (Ukkonen's cut-off)."""
    n, m = len(a), len(b)
    if abs(n - m) > bound:
        return None
    over = bound + 1
    before: list[int] = []
    previous = [j if j <= bound else over for j in range(m + 1)]
    previous_low = 0
    for i in range(1, n + 1):
        ca = a[i - 1]
        row = [over] * (m + 1)
        if i <= bound:
            row[0] = i
        low = row[0]
        for j in range(max(1, i - bound), min(m, i + bound) + 1):
            # min() of the three (four) ways, unrolled: this loop is the cost.
            cb = b[j - 1]
            cost = previous[j - 1] if ca == cb else previous[j - 1] + 1
            other = previous[j] + 1
            if other < cost:
                cost = other
            other = row[j - 1] + 1
            if other < cost:
                cost = other
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                other = before[j - 2] + 1
                if other < cost:
                    cost = other
            row[j] = cost if cost < over else over
            if cost < low:
                low = cost
        if low > bound and previous_low > bound:
            return None
        before, previous, previous_low = previous, row, low
    return previous[m] if previous[m] <= bound else None


class Suggestions:
    """Candidate names indexed by length, for many "did you mean" questions
    against one set of names (an index built once, grown with :meth:`add`)."""

    def __init__(self, candidates: Iterable[str] = ()):
        # length -> [(lowercase, its letters, name)]
        self._by_length: dict[int, list[tuple[str, frozenset[str], str]]] = {}
        self._known: set[str] = set()
        self._answers: dict[str, str | None] = {}
        for candidate in candidates:
            self.add(candidate)

    def add(self, candidate: str) -> None:
        if candidate not in self._known:
            self._known.add(candidate)
            lowered = candidate.lower()
            self._by_length.setdefault(len(candidate), []).append((lowered, frozenset(lowered), candidate))
            self._answers.clear()

    def closest(self, name: str) -> str | None:
        """The candidate nearest to ``name`` by edit distance, if it is near
        enough to be a typo of it (a third of its length, at least one
        edit); of equally near ones, the first in alphabetical order."""
        if name in self._answers:
            return self._answers[name]
        answer = self._closest(name) if len(name) <= MAX_SUGGESTED_LENGTH else None
        self._answers[name] = answer
        return answer

    def _closest(self, name: str) -> str | None:
        limit = max(1, len(name) // 3)
        lowered = name.lower()
        letters = frozenset(lowered)
        best: tuple[int, str] | None = None
        budget = _budget.get()
        compared = 0.0
        for difference in range(limit + 1):
            if best is not None and best[0] < difference:
                break  # every remaining candidate is at least `difference` edits away
            for length in sorted({len(name) - difference, len(name) + difference}):
                for candidate_lowered, candidate_letters, candidate in self._by_length.get(length, ()):
                    if compared >= MAX_COMPARED or (budget is not None and budget[0] <= 0):
                        return best[1] if best else None
                    bound = limit if best is None else best[0]
                    if len(letters ^ candidate_letters) > 2 * bound:
                        compared += 0.1
                        if budget is not None:
                            budget[0] -= 0.1
                        continue
                    compared += 1
                    if budget is not None:
                        budget[0] -= 1
                    distance = bounded_edit_distance(lowered, candidate_lowered, bound)
                    if distance is not None and (best is None or (distance, candidate) < best):
                        best = (distance, candidate)
        return best[1] if best else None


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to ``name`` (see :meth:`Suggestions.closest`)."""
    return Suggestions(candidates).closest(name)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A ``help`` line naming the closest candidate, or None if none is close."""
    match = closest(name, candidates)
    return f"did you mean `{match}`?" if match else None
