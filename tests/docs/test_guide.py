"""Every code block of the user guide (docs/guide/*.md) is a test.

A page's fenced blocks are read in order:

- ```` ```flow ```` blocks are checked. Without a ``# expect: F101, F203``
  line the check must report nothing at all (not even a warning, as
  ``--strict`` would); with one it must report exactly those codes, so a page
  can show a mistake and its diagnostic.
- A block whose first line is ``# file: NAME`` is also written to NAME in a
  fresh folder; flows and Python modules the page's examples use live there.
- Every other ```` ```python ```` block runs, all of a page's blocks as one
  script in that folder (later blocks see earlier names), in a fresh
  interpreter, so an example cannot lean on state this test process has.
  A fragment that cannot run on its own (it needs a server, another process,
  a crash) is marked ```` ```python fragment ````: it must still compile.

Other blocks (``sh``, ``text``, ``toml``...) are prose for people and are
not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from fermata.compiler import analyze

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs" / "guide").glob("*.md"))
FENCE = re.compile(r"^```([\w-]*)([^\n]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
DIRECTIVE = re.compile(r"^#\s*(file|expect):\s*(.+?)\s*$")


@dataclass(frozen=True)
class Block:
    language: str
    fragment: bool                  # ```python fragment: compiled, not run
    text: str
    line: int                       # of the opening fence, for messages
    file: str | None
    expect: tuple[str, ...]


def blocks(page: Path) -> list[Block]:
    source = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(source):
        text = match.group(3)
        directives: dict[str, str] = {}
        for line in text.splitlines():
            directive = DIRECTIVE.match(line)
            if directive is None:
                break
            directives[directive.group(1)] = directive.group(2)
        expect = tuple(sorted(c.strip() for c in directives.get("expect", "").split(",") if c.strip()))
        line = source.count("\n", 0, match.start()) + 1
        found.append(Block(match.group(1), "fragment" in match.group(2).split(), text, line,
                           directives.get("file"), expect))
    return found


def test_the_guide_has_pages_with_examples() -> None:
    assert any(b.language == "flow" for page in PAGES for b in blocks(page))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_flow_block_checks_as_stated(page: Path, tmp_path: Path) -> None:
    # Blocks that name a file are checked as that file, beside the page's
    # other named files: a `use "other.flow"` finds the block that wrote it.
    for block in blocks(page):
        if block.file is not None:
            (tmp_path / block.file).write_text(block.text, encoding="utf-8")
    for block in (b for b in blocks(page) if b.language == "flow"):
        path = (tmp_path / block.file).as_posix() if block.file else f"{page.name}:{block.line}"
        analysis = analyze(block.text, path)
        codes = tuple(sorted(d.code for d in analysis.diagnostics))
        described = "\n".join(f"{d.code} {d.message} (line {d.span.line})" for d in analysis.diagnostics)
        assert codes == block.expect, f"{page.name}, block at line {block.line}:\n{described}"


def runs_python(page: Path) -> bool:
    return any(b.language == "python" and b.file is None and not b.fragment for b in blocks(page))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_python_fragment_compiles(page: Path) -> None:
    for block in (b for b in blocks(page) if b.language == "python" and b.fragment):
        compile(block.text, f"{page.name}:{block.line}", "exec")   # a SyntaxError fails the test


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in PAGES if runs_python(p)], ids=lambda p: p.name)
def test_every_python_block_runs(page: Path, tmp_path: Path) -> None:
    script = []
    for block in blocks(page):
        if block.file is not None:
            (tmp_path / block.file).write_text(block.text, encoding="utf-8")
        elif block.language == "python" and not block.fragment:
            script.append(f"# {page.name}, line {block.line}\n{block.text}")
    # The examples' packages (refunds, editorial...) import as they would from a project.
    path = os.pathsep.join([str(tmp_path), str(ROOT / "examples"), str(ROOT)])
    result = subprocess.run([sys.executable, "-c", "\n".join(script)], cwd=tmp_path, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": path}, timeout=120)
    assert result.returncode == 0, f"{page.name}:\n{result.stderr}"
