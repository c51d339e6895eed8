"""Helpers tests in several folders share."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest


def fermata_executable() -> str:
    beside = Path(sys.executable).parent / "fermata"
    found = str(beside) if beside.is_file() else shutil.which("fermata")
    if found is None:
        pytest.skip("the `fermata` console script is not installed")
    return found
