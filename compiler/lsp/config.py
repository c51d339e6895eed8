"""``[tool.fermata]`` in ``pyproject.toml``: a project's settings, per workspace folder.

A document's settings come from the nearest ``pyproject.toml`` between its
folder and the workspace folder holding it (multi-root workspaces: each
folder its own project); a document outside every folder looks up to the
file system's root. A missing or unreadable file, or a table of the wrong
shape, is no configuration (the editor must keep working), not an error.

Known keys: ``call-allow``, a list of patterns (``fnmatch``) the
``module:function`` of every `call` target must match; absent means every
target is allowed.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProjectConfig:
    source: Path | None = None            # the pyproject.toml read, if any
    call_allow: tuple[str, ...] | None = None

    def allows(self, target: str) -> bool:
        if self.call_allow is None:
            return True
        return any(fnmatch.fnmatchcase(target, pattern) for pattern in self.call_allow)


def project_config(document: Path, roots: Sequence[Path] = ()) -> ProjectConfig:
    """The settings that apply to ``document``."""
    root = _root_of(document, roots)
    folder = document.parent
    while True:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return _read(candidate)
        if folder == root or folder.parent == folder:
            return ProjectConfig()
        folder = folder.parent


def _root_of(document: Path, roots: Iterable[Path]) -> Path | None:
    """The innermost workspace folder holding ``document``."""
    holding = [r for r in roots if document == r or r in document.parents]
    return max(holding, key=lambda r: len(r.parts), default=None)


def _read(path: Path) -> ProjectConfig:
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("fermata", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ProjectConfig(path)
    if not isinstance(table, dict):
        return ProjectConfig(path)
    allow = table.get("call-allow")
    if not (isinstance(allow, list) and all(isinstance(p, str) for p in allow)):
        allow = None
    return ProjectConfig(path, tuple(allow) if allow is not None else None)
