"""``examples/quickstart.sh``: the README's one-command tour runs to its end.

The script normally installs Fermata into ``.venv`` first; ``FERMATA=`` points
it at the ``fermata`` already installed here instead, and ``FERMATA_STORE=``
keeps its runs out of the repository. It runs on a copy of ``examples/`` so
that nothing (not even ``__pycache__``) is written into the working tree.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import fermata_executable

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quickstart_runs_the_refund_to_done(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    fermata = fermata_executable()
    copy = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "examples", copy / "examples",
                    ignore=shutil.ignore_patterns("__pycache__"))
    store = f"sqlite:///{tmp_path}/store/runs.db"
    env = {**os.environ, "FERMATA": fermata, "FERMATA_STORE": store}

    result = subprocess.run(["bash", str(copy / "examples" / "quickstart.sh")], cwd=tmp_path,
                            env=env, check=False, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "installing fermata" not in out
    assert not (copy / ".venv").exists()
    assert not (copy / ".fermata").exists()  # the runs went to $FERMATA_STORE

    # Each step's output, in order: paused for approval, paused before pay, done.
    thread = re.search(r"^thread (quickstart-\S+): paused at step 2, waiting for 1 answer$", out,
                       re.MULTILINE).group(1)
    assert out.index("  review:approval") < out.index("  pay:before") \
        < out.index(f"thread {thread}: done at step 3")

    # The last step prints the final state.
    last = out.split("==> fermata state", 1)[1]
    assert f"thread {thread} (refund, examples/refund.flow): done at step 3" in last
    state = json.loads(last.split("state:\n", 1)[1])
    assert state["approved"] is True
    assert state["decision"] == {"approved": True, "comment": "looks fine"}
    assert state["log"] == ["risk 0.65", "reviewed", "paid 250"]

    # And the store agrees.
    shown = subprocess.run([fermata, "state", "--thread", thread, "--store", store, "--json"],
                           check=False, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["status"] == "done"


def test_quickstart_installs_into_a_venv_by_default() -> None:
    """Without FERMATA the script keeps its one-command behaviour (checked by
    reading it: running it would pip-install)."""
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    text = (REPO_ROOT / "examples" / "quickstart.sh").read_text(encoding="utf-8")
    default = text.split('if [ -n "${FERMATA:-}" ]; then', 1)[1].split("\nfi\n", 1)[0]
    assert "-m venv .venv" in default and "pip install --quiet -e ." in default
    assert "fermata=.venv/bin/fermata" in default
    result = subprocess.run(["bash", "-n", str(REPO_ROOT / "examples" / "quickstart.sh")],
                            check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
