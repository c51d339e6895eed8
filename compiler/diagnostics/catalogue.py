"""The diagnostic catalogue: every code, its title, severity, fix and example.

Two sources describe each code and must agree:

- its line in the one registry of codes, ``codes.py``: severity, title and
  family (the module that reports it);
- its fixture ``spec/diagnostics/<CODE>.flow``, a small failing spec whose
  header comment gives ``code``, ``title``, ``severity`` and ``fix``, and
  whose ``# <- CODE`` marker (or ``# line: N`` header) gives the line the
  diagnostic is reported at.

:func:`load_catalogue` merges them (the registry wins where they disagree,
since it is what users see) and :func:`catalogue_problems` lists
every disagreement, for the tests. ``spec/diagnostics.md`` is generated from
this by ``scripts/gen_diagnostics_md.py``; :func:`rules_for_sarif` gives the
same entries to SARIF readers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

from .codes import CODES, reported_by

# Absolute, as SARIF requires of `helpUri`; one place to change with the
# project's public address (README's pre-commit section uses the same).
DOCS_URI = "https://example.com/your-mirror/fermata/blob/main/spec/diagnostics.md"

_HEADER_LINE = re.compile(r"#\s*([a-z_]+):\s?(.*?)\s*$")


@dataclass(frozen=True)
class Entry:
    code: str
    title: str
    severity: str              # "error" | "warning"
    fix: str | None            # from the fixture's header
    example: str | None        # the whole fixture text
    module: str | None         # the module whose CODES lists it, e.g. "checks.graph"


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


def fixture_header(text: str) -> dict[str, str]:
    """The ``# key: value`` comment lines at the top of a fixture."""
    header: dict[str, str] = {}
    for line in text.splitlines():
        match = _HEADER_LINE.fullmatch(line.strip())
        if match is None:
            break
        header.setdefault(match.group(1), match.group(2))
    return header


def strip_header(text: str) -> str:
    """The fixture without its header and the blank lines after it: the
    example as a user would write it."""
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines) and _HEADER_LINE.fullmatch(lines[i].strip()):
        i += 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    return "".join(lines[i:])


def marked_line(text: str, code: str) -> int | None:
    """The line a fixture says ``code`` is reported at: its ``# line: N``
    header, else the first line carrying a ``# <- CODE`` marker."""
    line = fixture_header(text).get("line", "")
    if line.isdigit():
        return int(line)
    marker = re.compile(rf"#\s*<-\s*{re.escape(code)}\b")
    return next((i for i, row in enumerate(text.splitlines(), 1) if marker.search(row)), None)


def fixtures() -> dict[str, str]:
    """Every ``spec/diagnostics/*.flow`` text, by file stem, sorted."""
    folder = files("fermata.spec").joinpath("diagnostics")
    found = {}
    for item in folder.iterdir():
        if item.name.endswith(".flow") and item.is_file():
            found[item.name[: -len(".flow")]] = item.read_text(encoding="utf-8")
    return dict(sorted(found.items()))


# --------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------


def code_tables() -> dict[str, dict[str, tuple[str, str]]]:
    """``{family: {code: (severity, title)}}``: the registry (``codes.py``)
    by reporting module, the shape the checks below compare fixtures with."""
    return {family: reported_by(family) for family in sorted({c.family for c in CODES.values()})}


# --------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------


def _build() -> tuple[dict[str, Entry], list[str]]:
    texts = fixtures()
    tables = code_tables()
    problems: list[str] = []
    reported: dict[str, tuple[str | None, str, str]] = {}  # code -> (module, severity, title)
    for module, table in tables.items():
        for code, (severity, title) in table.items():
            if code in reported and reported[code][1:] != (severity, title):
                problems.append(f"{code}: listed differently in {reported[code][0]} and {module}")
            reported.setdefault(code, (module, severity, title))

    entries: dict[str, Entry] = {}
    for code in sorted(set(texts) | set(reported)):
        text = texts.get(code)
        header = fixture_header(text) if text is not None else {}
        owner, severity, title = reported.get(code, (None, "", ""))
        if text is None:
            problems.append(f"{code}: in {owner}.CODES but has no spec/diagnostics/{code}.flow")
        else:
            for key in ("code", "title", "severity", "fix"):
                if not header.get(key):
                    problems.append(f"{code}: the fixture's header has no `# {key}:`")
            if header.get("code", code) != code:
                problems.append(f"{code}: the fixture's header says `# code: {header['code']}`")
            if owner is None:
                problems.append(f"{code}: has a fixture but no module's CODES lists it")
            else:
                if header.get("title", title) != title:
                    problems.append(f"{code}: title {header['title']!r} in the fixture, "
                                    f"{title!r} in {owner}.CODES")
                if header.get("severity", severity) != severity:
                    problems.append(f"{code}: severity {header['severity']!r} in the fixture, "
                                    f"{severity!r} in {owner}.CODES")
            if marked_line(text, code) is None:
                problems.append(f"{code}: the fixture marks no line (`# <- {code}` or `# line: N`)")
        entries[code] = Entry(
            code=code,
            title=title or header.get("title", ""),
            severity=severity or header.get("severity", "error"),
            fix=header.get("fix") or None,
            example=text,
            module=owner,
        )
    return entries, problems


def load_catalogue() -> dict[str, Entry]:
    """Every known code, sorted; never raises for a disagreement (see
    :func:`catalogue_problems`)."""
    return dict(_build()[0])


def catalogue_problems() -> list[str]:
    """Every way the fixtures and the ``CODES`` tables disagree; [] when consistent."""
    return _build()[1]


@lru_cache(maxsize=1)
def known_codes() -> frozenset[str]:
    """The codes a suppression comment may name (read once per process)."""
    return frozenset(load_catalogue())


# --------------------------------------------------------------------------
# SARIF
# --------------------------------------------------------------------------


def rule_name(title: str) -> str:
    """A SARIF rule name from a title: ``node unreachable from `start``` ->
    ``NodeUnreachableFromStart``."""
    return "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", title))


def rules_for_sarif(catalogue: Mapping[str, Entry] | None = None,
                    docs_uri: str = DOCS_URI) -> list[dict[str, Any]]:
    """A SARIF 2.1.0 ``reportingDescriptor`` per code, sorted by code."""
    if catalogue is None:
        catalogue = load_catalogue()
    rules = []
    for code in sorted(catalogue):
        entry = catalogue[code]
        uri = f"{docs_uri}#{code.lower()}"
        fix = entry.fix or "see the catalogue"
        rules.append({
            "id": code,
            "name": rule_name(entry.title) or code,
            "shortDescription": {"text": entry.title},
            "fullDescription": {"text": f"{entry.title} ({entry.severity} {code})"},
            "help": {"text": f"fix: {fix}\nsee {uri}",
                     "markdown": f"**Fix:** {fix}\n\n[{code} in the catalogue]({uri})"},
            "helpUri": uri,
            "defaultConfiguration": {"level": "error" if entry.severity == "error" else "warning"},
        })
    return rules
