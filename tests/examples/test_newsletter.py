"""The README's child-run tour (``examples/newsletter.flow`` running
``examples/drafting.flow``): its commands, run as written, reach the
outcomes the README's comments state.

Needs the compiler to lower `run` (issue #14's compiler side): enabled by
``FROM_SOURCE`` in ``tests/runtime/children_ir.py``.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.runtime.children_ir import FROM_SOURCE
from tests.support import fermata_executable

REPO_ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- newsletter-commands"


def readme_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split(MARKER, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.startswith("fermata ")]


def test_the_readme_shows_the_commands() -> None:
    commands = readme_commands()
    assert [shlex.split(c)[1] for c in commands] == ["run", "resume", "resume", "history"]


@pytest.mark.skipif(not FROM_SOURCE, reason="needs the compiler's lowering of `run` (issue #14, C1)")
def test_the_readme_newsletter_commands_run(tmp_path: Path) -> None:
    fermata = fermata_executable()
    shutil.copytree(REPO_ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    outputs = []
    for command in readme_commands():
        argv = [fermata, *shlex.split(command)[1:], "--store", store]
        if argv[1] in ("run", "resume"):
            argv.append("--json")
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    first, second, third = (json.loads(o) for o in outputs[:3])
    assert [i["id"] for i in first["interrupts"]] == ["compose/review:decision"]
    assert first["interrupts"][0]["payload"] == "Approve tea draft 1?"
    assert second["interrupts"][0]["payload"] == "Approve tea draft 2?"
    assert third["status"] == "done"
    assert third["state"]["article"] == "tea draft 2" and third["state"]["rounds"] == 2
    assert re.search(r"done", outputs[3])
