"""Renderers: diagnostics (plain data) -> text for people, CI and tools.

- :func:`render_pretty`: rustc-style, with the source line, a gutter of line
  numbers and ``^^^`` under the span; what ``fermata check`` prints on a
  terminal.
- :func:`render_text`: one line per diagnostic, ``path:line:col: error[CODE]:
  message``, the format editors' problem matchers read.
- :func:`render_json`, :func:`render_github`, :func:`render_sarif`: JSON, GitHub
  Actions workflow commands, SARIF 2.1.0.

Columns are 1-based everywhere and count characters (code points); a span's
end column is exclusive, as in :class:`~.ast.Span`. Nothing here reads files:
callers pass the source texts in.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, TextIO
from urllib.parse import quote

from fermata.spec.version import fermata_version as _version

from .diagnostic import Diagnostic, Severity

# A tab is drawn as this many spaces in the source line and under it alike, so
# carets stay aligned whatever the terminal's tab stops are (rustc does the same).
TAB_WIDTH = 4

JSON_FORMAT_VERSION = 1

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "fermata"
TOOL_URI = "https://pypi.org/project/fermata/"


# --------------------------------------------------------------------------
# Colour
# --------------------------------------------------------------------------


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, never when ``NO_COLOR`` is set (any value,
    even empty: https://no-color.org). ``FORCE_COLOR`` (non-empty) turns it on
    off a terminal, for CI logs that render ANSI escapes."""
    if "NO_COLOR" in os.environ:
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):  # a closed or detached stream
        return False


@dataclass(frozen=True)
class _Palette:
    """ANSI styles; the empty palette renders plain text."""

    error: str = ""
    warning: str = ""
    accent: str = ""  # gutter, arrow, secondary labels
    bold: str = ""
    reset: str = ""

    def paint(self, style: str, text: str) -> str:
        return f"{style}{text}{self.reset}" if style and text else text

    def severity(self, severity: Severity) -> str:
        return self.error if severity is Severity.ERROR else self.warning


_PLAIN = _Palette()
_ANSI = _Palette(error="\x1b[1;31m", warning="\x1b[1;33m", accent="\x1b[1;34m",
                 bold="\x1b[1m", reset="\x1b[0m")


# --------------------------------------------------------------------------
# Pretty
# --------------------------------------------------------------------------


def _char_width(ch: str) -> int:
    if ch == "\t":
        return TAB_WIDTH
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _visible(text: str) -> str:
    """``text`` with tabs expanded and control characters made harmless: a
    spec (or a message quoting one) must not be able to drive the terminal."""
    out = []
    for ch in text:
        if ch == "\t":
            out.append(" " * TAB_WIDTH)
        elif ch < " " or ch == "\x7f" or unicodedata.category(ch) == "Cc":
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def _display_width(text: str) -> int:
    return sum(1 if (ch < " " and ch != "\t") else _char_width(ch) for ch in text)


def _source_lines(text: str) -> list[str]:
    # Split on "\n" only: spans count lines that way, and str.splitlines would
    # also break on form feeds and Unicode line separators inside a line.
    return [line.removesuffix("\r") for line in text.split("\n")]


@dataclass(frozen=True)
class _Mark:
    """One underline on one source line (display columns, end exclusive)."""

    line: int
    start: int
    end: int
    char: str
    message: str
    primary: bool


def _mark(lines: Sequence[str], line: int, column: int, end_line: int, end_column: int,
          char: str, message: str, primary: bool) -> _Mark:
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    # Clamp into the line: a span at or past the end of a line (a missing
    # `}` at end of file) puts one caret just after the last character.
    first = min(max(column, 1), len(text) + 1)
    if end_line != line:
        last = len(text) + 1  # a multi-line span: mark the first line to its end
    else:
        last = min(max(end_column, first + 1), len(text) + 1)
    start = _display_width(text[: first - 1])
    width = max(_display_width(text[first - 1: last - 1]), 1)
    return _Mark(line, start, start + width, char, message, primary)


def _render_one(d: Diagnostic, source: str | None, p: _Palette) -> str:
    sev = p.severity(d.severity)
    head = (p.paint(sev, f"{d.severity.value}[{d.code}]") + p.paint(p.bold, f": {_visible(d.message)}"))
    span = d.span
    has_position = span.line > 0
    lines = _source_lines(source) if source is not None else None

    marks: list[_Mark] = []
    if lines is not None and has_position:
        # A label on the primary span itself is written after its carets, as rustc does.
        own = [label.message for label in d.labels if label.span == span]
        marks.append(_mark(lines, span.line, span.column, span.end_line, span.end_column,
                           "^", "; ".join(own), True))
        for label in d.labels:
            s = label.span
            if s.line > 0 and s != span:
                marks.append(_mark(lines, s.line, s.column, s.end_line, s.end_column,
                                   "-", label.message, False))
    shown = sorted({m.line for m in marks})
    width = len(str(max(shown))) if shown else 1
    pad = " " * width
    bar = p.paint(p.accent, "|")

    out = [head]
    location = f"{d.path}:{span.line}:{span.column}" if has_position else d.path
    out.append(f"{pad}{p.paint(p.accent, '-->')} {location}")
    if marks and lines is not None:
        out.append(f"{pad} {bar}")
        previous = None
        for number in shown:
            if previous is not None and number - previous == 2:
                out.append(_source_row(lines, number - 1, width, p))
            elif previous is not None and number - previous > 2:
                out.append(p.paint(p.accent, "..."))
            out.append(_source_row(lines, number, width, p))
            on_line = [m for m in marks if m.line == number]
            on_line.sort(key=lambda m: (not m.primary, m.start, m.end))
            for m in on_line:
                style = sev if m.primary else p.accent
                underline = p.paint(style, m.char * (m.end - m.start)
                                    + (f" {_visible(m.message)}" if m.message else ""))
                out.append(f"{pad} {bar} {' ' * m.start}{underline}")
            previous = number
    extras = ([("help", d.help)] if d.help else []) + [("note", n) for n in d.notes]
    if extras:
        out.append(f"{pad} {bar}")
        for kind, text in extras:
            first, *rest = _visible_lines(text)
            out.append(f"{pad} {p.paint(p.accent, '=')} {p.paint(p.bold, kind + ':')} {first}")
            indent = " " * (len(kind) + 2)
            out.extend(f"{pad}   {indent}{more}" for more in rest)
    return "\n".join(out) + "\n"


def _visible_lines(text: str) -> list[str]:
    return [_visible(line) for line in text.split("\n")] or [""]


def _source_row(lines: Sequence[str], number: int, width: int, p: _Palette) -> str:
    text = lines[number - 1] if 0 < number <= len(lines) else ""
    gutter = p.paint(p.accent, f"{number:>{width}} |")
    visible = _visible(text)
    return f"{gutter} {visible}" if visible else gutter


def render_pretty(diagnostics: Sequence[Diagnostic], sources: Mapping[str, str],
                  color: bool = False) -> str:
    """Every diagnostic as a rustc-style block, blocks separated by a blank
    line; "" when there are none. ``sources`` maps a diagnostic's path to the
    text its span points into; a diagnostic whose text is missing is still
    rendered, without the source line."""
    palette = _ANSI if color else _PLAIN
    return "\n".join(_render_one(d, sources.get(d.path), palette) for d in diagnostics)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(diagnostics: Sequence[Diagnostic]) -> str:
    """One closing line: ``error: 2 errors and 1 warning found`` (in 3 files
    when they span several), ``warning: 1 warning found``, or ``no problems
    found``."""
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    warnings = len(diagnostics) - errors
    if not diagnostics:
        return "no problems found"
    counts = " and ".join(part for part in (
        _plural(errors, "error") if errors else "",
        _plural(warnings, "warning") if warnings else "") if part)
    files = len({d.path for d in diagnostics})
    where = f" in {files} files" if files > 1 else ""
    return f"{'error' if errors else 'warning'}: {counts} found{where}"


# --------------------------------------------------------------------------
# One line, JSON
# --------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split("\n"))


def render_text(diagnostics: Sequence[Diagnostic]) -> str:
    """``path:line:col: error[CODE]: message``, one line each (1-based columns)."""
    return "".join(
        f"{d.path}:{d.span.line}:{d.span.column}: {d.severity.value}[{d.code}]: "
        f"{_one_line(d.message)}\n"
        for d in diagnostics)


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    """``{"version": 1, "diagnostics": [...]}``, each entry ``Diagnostic.to_json()``."""
    document = {"version": JSON_FORMAT_VERSION, "diagnostics": [d.to_json() for d in diagnostics]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------
# GitHub Actions
# --------------------------------------------------------------------------


def github_data(text: str) -> str:
    """``text`` escaped for a workflow command's message (also used by
    ``fermata replay --format github``): the runner's own escaping, the
    Actions toolkit's escapeData."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """``text`` escaped for a workflow command's property (toolkit's escapeProperty)."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostics: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands, one annotation per diagnostic:
    ``::error file=..,line=..,col=..,endLine=..,endColumn=..,title=CODE::message``
    (``endColumn`` is exclusive, as in SARIF); the help, if any, follows the
    message on a second line."""
    out = []
    for d in diagnostics:
        command = "error" if d.severity is Severity.ERROR else "warning"
        props = [("file", d.path)]
        if d.span.line > 0:
            props += [("line", str(d.span.line)), ("col", str(d.span.column)),
                      ("endLine", str(d.span.end_line)), ("endColumn", str(d.span.end_column))]
        props.append(("title", d.code))
        message = d.message + (f"\nhelp: {d.help}" if d.help else "")
        rendered = ",".join(f"{key}={github_property(value)}" for key, value in props)
        out.append(f"::{command} {rendered}::{github_data(message)}\n")
    return "".join(out)


# --------------------------------------------------------------------------
# SARIF 2.1.0
# --------------------------------------------------------------------------


def _artifact_location(path: str) -> dict[str, str]:
    """A relative path becomes a URI relative to ``%SRCROOT%``; an absolute
    one a ``file:`` URI of its own."""
    posix = path.replace("\\", "/")
    if PurePosixPath(posix).is_absolute() or (len(posix) > 1 and posix[1] == ":"):
        drive = "/" if not posix.startswith("/") else ""
        return {"uri": "file://" + drive + quote(posix, safe="/:")}
    if posix.startswith("./"):
        posix = posix[2:]
    return {"uri": quote(posix, safe="/"), "uriBaseId": "%SRCROOT%"}


def _region(span: Any) -> dict[str, int]:
    return {"startLine": span.line, "startColumn": span.column,
            "endLine": span.end_line, "endColumn": span.end_column}


def _location(path: str, span: Any, message: str | None = None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _artifact_location(path)}
    if span.line > 0:
        physical["region"] = _region(span)
    location: dict[str, Any] = {"physicalLocation": physical}
    if message is not None:
        location["message"] = {"text": message}
    return location


def _level(severity: Severity | str) -> str:
    value = severity.value if isinstance(severity, Severity) else severity
    return "error" if value == "error" else "warning"


def render_sarif(diagnostics: Sequence[Diagnostic], rules: Iterable[Mapping[str, Any]]) -> str:
    """A SARIF 2.1.0 log with one run. ``rules`` are reporting descriptors
    (``catalogue.rules_for_sarif``); a result whose code has a rule carries
    its ``ruleIndex``. A code without a descriptor (one the catalogue does
    not list yet) gets a minimal one, so that every result has its rule."""
    rules = [dict(rule) for rule in rules]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    for code in sorted({d.code for d in diagnostics} - index.keys()):
        index[code] = len(rules)
        rules.append({"id": code, "defaultConfiguration": {"level": _level(next(
            d.severity for d in diagnostics if d.code == code))}})
    results = []
    for d in diagnostics:
        text = d.message + (f"\nhelp: {d.help}" if d.help else "")
        text += "".join(f"\nnote: {note}" for note in d.notes)
        result: dict[str, Any] = {"ruleId": d.code, "ruleIndex": index[d.code]}
        result["level"] = _level(d.severity)
        result["message"] = {"text": text}
        result["locations"] = [_location(d.path, d.span)]
        related = [_location(d.path, lab.span, lab.message) for lab in d.labels if lab.span.line > 0]
        for i, location in enumerate(related):
            location["id"] = i
        if related:
            result["relatedLocations"] = related
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {"name": TOOL_NAME, "informationUri": TOOL_URI,
                                "version": _version(), "rules": rules}},
            # Our columns count code points, not SARIF's default UTF-16 units.
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"



# --------------------------------------------------------------------------
# Language Server Protocol
# --------------------------------------------------------------------------


def render_lsp(diagnostics: Sequence[Diagnostic], source: str, uri: str,
               docs_uri: str | None = None, encoding: str = "utf-16") -> list[dict[str, Any]]:
    """LSP ``Diagnostic`` objects (as JSON data) for one document.

    Positions are converted to LSP's 0-based ones, columns in UTF-16 code
    units (or the ``encoding`` the client negotiated); labels become
    ``relatedInformation`` in the same document; the help and notes follow
    the message on lines of their own, as `fermata check` prints them, and
    the help is kept in ``data`` for code actions.
    """
    from ..lsp.positions import LineIndex

    index = LineIndex(source, encoding)
    if docs_uri is None:
        from .catalogue import DOCS_URI as docs_uri

    def lsp_range(span: Any) -> dict[str, Any]:
        start, end = index.range(span)
        return {"start": {"line": start.line, "character": start.character},
                "end": {"line": end.line, "character": end.character}}

    rendered = []
    for d in diagnostics:
        message = d.message + "".join(f"\nnote: {note}" for note in d.notes)
        if d.help:
            message += f"\nhelp: {d.help}"
        item: dict[str, Any] = {
            "range": lsp_range(d.span),
            "severity": 1 if d.severity is Severity.ERROR else 2,
            "code": d.code,
            "codeDescription": {"href": f"{docs_uri}#{d.code.lower()}"},
            "source": TOOL_NAME,
            "message": message,
            "data": {"help": d.help},
        }
        if d.labels:
            item["relatedInformation"] = [
                {"location": {"uri": uri, "range": lsp_range(lab.span)}, "message": lab.message}
                for lab in d.labels]
        rendered.append(item)
    return rendered
