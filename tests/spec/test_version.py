"""One lookup of Fermata's version, used by every place that states it."""

from __future__ import annotations

from importlib.metadata import version

from fermata.spec.version import fermata_version


def test_the_version_is_the_installed_distributions():
    assert fermata_version() == version("fermata")


def test_every_place_that_states_the_version_uses_the_one_lookup():
    from fermata.compiler.cli import main as cli
    from fermata.compiler.codegen import emit
    from fermata.compiler.diagnostics import render
    from fermata.server import serve

    assert cli._version is render._version is emit._version is serve._version is fermata_version
