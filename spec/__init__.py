"""The Fermata language as data: the Lark grammar and the JSON Schemas.

Other packages locate these files through :func:`path` so that an installed
wheel and a source checkout behave the same.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """Absolute path of a file shipped in this package (``fermata.lark``, ...)."""
    return _HERE / name
