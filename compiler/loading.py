"""``load``: from a `.flow` file (or a compiled IR file) to a runnable graph."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .pipeline import compile_file

if TYPE_CHECKING:
    from fermata.runtime import Graph, Store


def load(source: str | Path | dict[str, Any], *, flow: str | None = None,
         store: "str | Store | None" = None) -> "Graph":
    """Compile ``source`` and build its graph.

    ``source`` is a `.flow` path, a compiled IR file (``.json``) or an IR
    dict. ``flow`` picks one flow of a file holding several. ``store`` is a
    URL (``"memory:"``, ``"sqlite:///runs.db"``) or a Store; the default is an
    in-memory store.

    Call targets (``call "pkg.mod:fn"``) are imported when they first run,
    never here; the spec file's folder is put on ``sys.path`` so that a flow
    finds the Python package that sits beside it, as a script would.
    """
    from fermata.runtime import Graph

    if isinstance(source, dict):
        return Graph.from_ir(source, flow=flow, store=store)
    path = Path(source)
    ir = load_ir_file(path) if path.suffix == ".json" else compile_file(path)
    add_import_root(path.resolve().parent)
    return Graph.from_ir(ir, flow=flow, store=store, source=path.as_posix())


def load_ir_file(path: Path) -> dict[str, Any]:
    from fermata.runtime.errors import FermataError

    try:
        ir = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FermataError(f"cannot read IR file {path}: {exc}") from None
    if not isinstance(ir, dict) or ir.get("fermata_ir") != 1:
        raise FermataError(f"{path} is not a Fermata IR file (version 1)")
    return ir


def add_import_root(folder: Path) -> None:
    entry = str(folder)
    if entry not in sys.path:
        sys.path.insert(0, entry)
