"""The installed version of Fermata, for ``--version``, SARIF logs, generated
modules, the language server and the HTTP API: one lookup for all of them.

A leaf module (nothing of Fermata imported), so every package may use it.
"""

from __future__ import annotations


def fermata_version() -> str:
    """The distribution's version, or ``0+unknown`` in a source tree never installed."""
    try:
        from importlib.metadata import version

        return version("fermata")
    except Exception:  # noqa: BLE001 - a source tree without metadata
        return "0+unknown"
