"""The compiled IR of a spec, kept on disk so that ``fermata resume`` (and
``run``, ``load``) need not parse and check an unchanged file again.

An entry is found by a key that covers everything the IR depends on: the
text's sha256, the path the IR names as its source, the call policy the
spec was checked against (F452 is part of the check: a spec that passed
under one policy may not pass under another), and a fingerprint of the
compiler itself (its files' names, sizes and modification times, the
grammar among them), so that a new or edited Fermata never uses an IR an
older one made.

Entries are JSON (never pickle: the cache folder is as writable as the
user's home, and reading it must not run code), written atomically (a
temporary file renamed into place), and a damaged or foreign entry is
ignored and rewritten. Only successful compilations are kept; a spec with
errors is compiled, and reported, every time.

The folder is ``$FERMATA_IR_CACHE``, else ``$XDG_CACHE_HOME/fermata/ir``,
else ``~/.cache/fermata/ir``; ``FERMATA_IR_CACHE=off`` turns the cache off.
A folder that cannot be written only costs the compilation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fermata.spec.digest import sha256_hex

if TYPE_CHECKING:
    from fermata.spec.call_policy import CallPolicy

# Bumped when the entry format changes.
_FORMAT = 1
_COMPILER_ROOTS = (Path(__file__).resolve().parent.parent,)   # compiler/ (checks/, lower/ ...), not lower/ alone
_SPEC_SUFFIXES = (".py", ".lark", ".json")


def cache_folder() -> Path | None:
    """Where entries live; None when the cache is turned off."""
    configured = os.environ.get("FERMATA_IR_CACHE")
    if configured is not None:
        return None if configured.strip().lower() in ("", "0", "off", "no", "false") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fermata" / "ir"


@lru_cache(maxsize=1)
def compiler_fingerprint() -> str:
    """A digest of the compiler's own files (name, size, mtime): any change
    to the compiler, the grammar or the call-policy code changes every key."""
    from fermata import spec

    roots = [*_COMPILER_ROOTS, *(Path(p).resolve() for p in spec.__path__)]
    lines = [str(_FORMAT)]
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(_SPEC_SUFFIXES):
                    info = os.stat(os.path.join(folder, name))
                    lines.append(f"{folder}/{name}:{info.st_size}:{info.st_mtime_ns}\n")
    return sha256_hex("".join(lines).encode())


def cache_key(text: str, path: str, call_policy: CallPolicy) -> str:
    """The key of the IR of ``text``, compiled as ``path`` under ``call_policy``."""
    parts = {"compiler": compiler_fingerprint(), "path": path,
             "text": sha256_hex(text.encode("utf-8")),
             "allow": list(call_policy.allow), "deny": list(call_policy.deny)}
    return sha256_hex(json.dumps(parts, sort_keys=True).encode())


def cached_ir(text: str, path: str, call_policy: CallPolicy,
              compile: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
    """The IR of ``text`` from the cache, else ``compile()``'s (kept unless None)."""
    folder = cache_folder()
    if folder is None:
        return compile()
    key = cache_key(text, path, call_policy)
    entry = folder / f"{key}.json"
    found = _read(entry, key)
    if found is not None:
        return found
    ir = compile()
    if ir is not None:
        _write(entry, key, ir)
    return ir


def _read(entry: Path, key: str) -> dict[str, Any] | None:
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):   # missing, unreadable or damaged: a miss
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    ir = data.get("ir")
    if not isinstance(ir, dict) or ir.get("fermata_ir") != 1 or not isinstance(ir.get("flows"), dict):
        return None
    return ir


def _write(entry: Path, key: str, ir: dict[str, Any]) -> None:
    import tempfile  # here: a cache hit (every resume of an unchanged spec) writes nothing

    text = json.dumps({"key": key, "ir": ir}, ensure_ascii=False, separators=(",", ":"))
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        # A reader sees the old entry or the whole new one, never a part.
        handle, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temporary, entry)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:   # a read-only or full disk: the next call compiles again
        return
