"""`fermata lsp` on the command line."""

from __future__ import annotations

import sys

import pytest

from fermata.compiler.cli.common import EXIT_USAGE
from fermata.compiler.cli.main import main


def test_without_the_lsp_extra_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]):
    # As if pygls were not installed: importing it fails.
    monkeypatch.setitem(sys.modules, "pygls", None)
    for name in [m for m in sys.modules if m.startswith(("pygls.", "fermata.compiler.lsp.server"))]:
        monkeypatch.delitem(sys.modules, name)
    assert main(["lsp"]) == EXIT_USAGE
    assert "pip install 'fermata[lsp]'" in capsys.readouterr().err


def test_it_is_listed_in_the_help(capsys: pytest.CaptureFixture[str]):
    assert main(["--help"]) == 0
    assert "lsp" in capsys.readouterr().out
