"""Template strings (``"risk {{ risk }}"``), checked without rendering them.

A string literal holding ``{{ ... }}`` or ``{% ... %}`` is a Jinja2 template
rendered at run time against the node's view (state fields and locals). At
check time it is only parsed, with Jinja2's own parser, and compiled to
Python source text (never executed) so that unknown filters and tests are
found too; then the names it reads are checked against the names in scope.

Codes (catalogued in ``typecheck.CODES``): F430 a template that does not
parse, F431 an unknown name in a template, F432 an unknown filter or test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from functools import lru_cache, wraps
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from fermata.spec.templates import LEFT_OUT, TEMPLATE_GLOBALS

from ..diagnostics.diagnostic import DiagnosticSink, did_you_mean
from ..syntax import ast


def _never_run(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` as the checker holds it: Jinja folds constant
    expressions while compiling, and a filter or operator run on constants
    (``'x'|center(100000000)``, ``10 ** (10 ** 8)``) would build its result
    inside `fermata check`. Raising makes Jinja leave it to the render."""

    @wraps(function)  # keeps `jinja_pass_arg`, which code generation reads
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a template is never run at check time")

    return refuse


class _CheckEnvironment(ImmutableSandboxedEnvironment):
    """The runtime's filters, tests and globals (Jinja's, less those left out),
    none of which runs while checking."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    intercepted_unops = frozenset({"+", "-"})

    def __init__(self) -> None:
        super().__init__()
        self.globals = {name: value for name, value in self.globals.items() if name in TEMPLATE_GLOBALS}
        self.filters = {name: _never_run(f) for name, f in self.filters.items() if name not in LEFT_OUT}
        self.tests = {name: _never_run(t) for name, t in self.tests.items()}  # type: ignore[arg-type]  # Jinja types its tests loosely


# The runtime renders with the same filters and tests (runtime/templates.py):
# what an unknown filter is judged by.
_ENVIRONMENT = _CheckEnvironment()


class _AnyCallable(dict):  # type: ignore[type-arg]
    """A filter or test table that has every name, so that finding a
    template's names never stops at an unknown filter (reported apart)."""

    def __contains__(self, name: object) -> bool:
        return True

    def get(self, name: object, default: object = None) -> object:
        return super().get(name, _ENVIRONMENT.filters["string"])


# Finds the names a template reads: code generation (as text, never compiled
# or run) is where Jinja tracks them, and it needs every filter to exist.
# Names found in the globals are not reported as undeclared; `lipsum` must be.
_NAMES = _CheckEnvironment()
_NAMES.filters = _AnyCallable(_NAMES.filters)
_NAMES.tests = _AnyCallable(_NAMES.tests)

_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)

# Says whether an unknown name was explained already (a local used before its
# `let`...); when it returns False, the generic F431 is reported.
Explain = Callable[[str, ast.Span], bool]


def check_template(sink: DiagnosticSink, literal: ast.Literal, visible: Collection[str],
                   explain: Explain | None = None,
                   read: Callable[[str], None] | None = None) -> None:
    """Check one template string: its syntax, filters and tests, and that each
    name it reads is in ``visible`` (fields and locals in scope). ``read`` is
    told every visible name the template reads."""
    assert isinstance(literal.value, str)
    source = literal.value
    try:
        names = _undeclared(source)
        unknown = _unknown_filters_and_tests(source)
    except jinja2.TemplateSyntaxError as exc:
        _report_syntax(sink, literal, exc)
        return
    except RecursionError:  # Jinja parses recursively
        _report_too_deep(sink, literal)
        return
    if not _compiles(source):
        _report_too_deep(sink, literal)
        return
    for kind, name in unknown:
        known = _ENVIRONMENT.filters if kind == "filter" else _ENVIRONMENT.tests
        sink.error("F432", f"unknown {kind} `{name}` in a template",
                   name_span(literal, name, after="|" if kind == "filter" else " is "),
                   help=LEFT_OUT.get(name) or did_you_mean(name, known)
                   or f"use one of Jinja2's built-in {kind}s")
    for name in sorted(names, key=lambda n: _first_use(source, n)):
        if name in visible:
            if read is not None:
                read(name)
            continue
        span = name_span(literal, name)
        if name not in LEFT_OUT and explain is not None and explain(name, span):
            continue
        sink.error("F431", f"unknown name `{name}` in a template", span,
                   help=LEFT_OUT.get(name) or did_you_mean(name, visible)
                   or "a template reads the node's state fields and the locals declared before it")


@lru_cache(maxsize=1024)
def _undeclared(source: str) -> frozenset[str]:
    """The names a template reads from its context; raises TemplateSyntaxError."""
    return frozenset(meta.find_undeclared_variables(_NAMES.parse(source)))


@lru_cache(maxsize=1024)
def _compiles(source: str) -> bool:
    """Whether the runtime's environment can turn the template into Python
    (compiled, never run). Jinja makes Python that nests as deep as the
    template, and Python refuses past 100 indents, 20 nested loops or its
    recursion limit: 30 nested `for`s or 80 parentheses are enough."""
    try:
        _ENVIRONMENT.compile(source)
    except (SyntaxError, RecursionError, MemoryError):  # SyntaxError covers IndentationError
        return False
    except jinja2.TemplateError:
        return True  # an unknown filter or test: reported as such (F432)
    return True


def _report_too_deep(sink: DiagnosticSink, literal: ast.Literal) -> None:
    sink.error("F430", "template does not parse: it nests too deeply", literal.span,
               help="split it into several templates, or compute parts with `let`")


@lru_cache(maxsize=1024)
def _unknown_filters_and_tests(source: str) -> tuple[tuple[str, str], ...]:
    """``("filter", name)`` / ``("test", name)`` for each distinct unknown one,
    in order (Jinja itself would only say so when rendering, or not at all
    inside an `{% if %}`)."""
    found: dict[tuple[str, str], None] = {}
    for node in _ENVIRONMENT.parse(source).find_all((nodes.Filter, nodes.Test)):
        kind, known = (("filter", _ENVIRONMENT.filters) if isinstance(node, nodes.Filter)
                       else ("test", _ENVIRONMENT.tests))
        if node.name not in known:
            found[kind, node.name] = None
    return tuple(found)


def _report_syntax(sink: DiagnosticSink, literal: ast.Literal, exc: jinja2.TemplateSyntaxError) -> None:
    message = (exc.message or "invalid syntax").rstrip(".")
    sink.error("F430", f"template does not parse: {message[:1].lower()}{message[1:]}",
               _line_span(literal, exc.lineno),
               help="close every `{{` with `}}` and every `{%` with `%}`; write a literal `{{` as "
                    "`{{ '{{' }}`")


# --------------------------------------------------------------------------
# Positions inside a string literal
# --------------------------------------------------------------------------


def _first_use(source: str, name: str) -> int:
    offset = _find(source, name)
    return len(source) if offset is None else offset


def _find(source: str, name: str, after: str = "") -> int | None:
    """The offset of the first use of ``name`` inside a tag of ``source``."""
    pattern = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)")
    for tag in _TAG.finditer(source):
        text = tag.group()
        start = text.find(after) + len(after) if after and after in text else 0
        found = pattern.search(text, start)
        if found is not None:
            return tag.start() + found.start()
    return None


def name_span(literal: ast.Literal, name: str, after: str = "") -> ast.Span:
    """The span of ``name`` in the template, or the whole string when the
    source text cannot be mapped (escapes make it longer than the value)."""
    source = literal.value if isinstance(literal.value, str) else ""
    offset = _find(source, name, after)
    if offset is None:
        return literal.span
    return _span_at(literal, offset, len(name)) or literal.span


def _span_at(literal: ast.Literal, offset: int, length: int) -> ast.Span | None:
    """The source span of ``value[offset:offset+length]``, when the literal has
    no escapes (its raw text is its value plus the quotes)."""
    span, value = literal.span, literal.value
    assert isinstance(value, str)
    if not span.line:
        return None
    if span.line == span.end_line:
        raw = span.end_column - span.column
    elif span.end > span.start:
        raw = span.end - span.start
    else:
        return None
    quote = next((q for q in (1, 3) if raw == len(value) + 2 * q), None)
    if quote is None:
        return None
    before = value[:offset]
    line = span.line + before.count("\n")
    column = (span.column + quote + offset) if "\n" not in before else offset - before.rfind("\n")
    return ast.Span(line, column, line, column + length, span.start + quote + offset,
                    span.start + quote + offset + length)


def _line_span(literal: ast.Literal, lineno: int | None) -> ast.Span:
    """Line ``lineno`` (1-based) of a multi-line template, else the whole string."""
    span, value = literal.span, literal.value
    assert isinstance(value, str)
    lines = value.split("\n")
    if not span.line or not lineno or lineno <= 1 or lineno > len(lines):
        return span
    line = span.line + lineno - 1
    return ast.Span(line, 1, line, 1 + max(len(lines[lineno - 1]), 1))
