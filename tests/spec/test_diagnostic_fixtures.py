"""Every fixture of the diagnostic catalogue triggers its code at its line, and
spec/diagnostics.md is up to date with the fixtures and the checker."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from fermata.compiler.diagnostics.catalogue import fixture_header, fixtures, marked_line
from fermata.compiler.pipeline import analyze

REPO = Path(__file__).resolve().parents[2]
ROOT = Path(__file__).resolve().parents[2]
FIXTURES = fixtures()


@pytest.mark.parametrize("code", sorted(FIXTURES))
def test_fixture_reports_its_code_at_its_line(code: str):
    text = FIXTURES[code]
    header = fixture_header(text)
    assert header.get("code") == code, f"{code}.flow's header says `# code: {header.get('code')}`"
    line = marked_line(text, code)
    assert line is not None, f"{code}.flow marks no line: add `# <- {code}` or `# line: N`"
    # `--resolve` codes: the fixture asks for call targets to be imported.
    root = ROOT if header.get("resolve") == "true" else None
    found = analyze(text, "example.flow", resolve_root=root).diagnostics
    at_line = [(d.code, d.severity.value) for d in found if d.span.line == line]
    assert (code, header.get("severity")) in at_line, (
        f"expected {header.get('severity')}[{code}] at line {line}; got "
        + (", ".join(f"{d.severity.value}[{d.code}] at line {d.span.line}" for d in found) or "nothing"))


def _generator():
    path = REPO / "scripts" / "gen_diagnostics_md.py"
    spec = importlib.util.spec_from_file_location("gen_diagnostics_md", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_the_catalogue_page_is_up_to_date():
    assert _generator().main(["--check"]) == 0, (
        "spec/diagnostics.md is stale: run `python scripts/gen_diagnostics_md.py`")


def test_the_page_has_a_section_per_fixture():
    page = _generator().build()
    for code in FIXTURES:
        assert f'<a id="{code.lower()}"></a>' in page
        assert f"[{code}](#{code.lower()})" in page
