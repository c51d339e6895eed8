"""Names a package exports, imported the first time one is asked for (PEP 562).

``fermata.runtime`` and ``fermata.runtime.store`` export many names, but a
``fermata resume`` needs few of their modules: importing them all up front
cost every start-up the memory store, replay and their imports.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping


def lazy_getattr(package: str, homes: Mapping[str, str], base: str = "fermata.runtime") -> Callable[[str], object]:
    """The ``__getattr__`` of ``package``: ``homes`` maps each exported name to
    the module that defines it, relative to ``base``."""

    def __getattr__(name: str) -> object:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = f"{base}.{home}"
        __import__(module)  # not importlib.import_module, which `python -X importtime` does not report
        return getattr(sys.modules[module], name)

    return __getattr__
