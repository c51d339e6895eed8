"""``[tool.fermata]`` in ``pyproject.toml``: a project's settings, per workspace folder.

The settings are the ones ``fermata check`` reads (``spec/call_policy.py``:
``[tool.fermata.calls] allow/deny``), so the editor reports exactly the F452
findings CI will. A document's settings come from the nearest
``pyproject.toml`` with a ``[tool.fermata]`` table between its folder and the
workspace folder holding it (multi-root workspaces: each folder its own
project); a document outside every folder looks up to the file system's
root, as ``check`` does. A file that cannot be read, or a table of the wrong
shape, leaves the default policy in force and says why in ``problem`` (the
editor must keep working), where ``check`` would stop with exit 2.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fermata.spec.call_policy import CallPolicy, ConfigError, policy_from_table


@dataclass(frozen=True)
class ProjectConfig:
    source: Path | None = None            # the pyproject.toml read, if any
    call_policy: CallPolicy = field(default_factory=CallPolicy)
    problem: str | None = None            # why the file was not used, if it was not


def project_config(document: Path, roots: Sequence[Path] = ()) -> ProjectConfig:
    """The settings that apply to ``document``."""
    root = _root_of(document, roots)
    folder = document.parent
    while True:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            found = _read(candidate)
            if found is not None:
                return found
        if folder == root or folder.parent == folder:
            return ProjectConfig()
        folder = folder.parent


def _root_of(document: Path, roots: Iterable[Path]) -> Path | None:
    """The innermost workspace folder holding ``document``."""
    holding = [r for r in roots if document == r or r in document.parents]
    return max(holding, key=lambda r: len(r.parts), default=None)


def _read(path: Path) -> ProjectConfig | None:
    """The settings of ``path``; None when it has no ``[tool.fermata]``
    table (passed over, as ``check`` passes it over)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return ProjectConfig(path, problem=f"cannot read {path}: {exc}")
    tool = data.get("tool")
    table = tool.get("fermata") if isinstance(tool, dict) else None
    if table is None:
        return None
    try:
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [tool.fermata] must be a table")
        return ProjectConfig(path, policy_from_table(table, path.as_posix()))
    except ConfigError as exc:
        return ProjectConfig(path, problem=str(exc))
