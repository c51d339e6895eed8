"""sha256, as hex, without importing :mod:`hashlib` on the start-up path.

``import hashlib`` loads OpenSSL (``_hashlib``): ~2 ms of every ``fermata
run`` and ``resume``, which hash a few kilobytes (the spec's text, its IR,
interrupt tokens, call arguments). CPython's own sha256, the one hashlib
itself falls back to, gives the same digest with no such cost. OpenSSL's is
about four times faster per byte, so inputs past ``_LARGE`` (the IR of a
spec of thousands of nodes) still go to hashlib, where its import is paid
back.

A leaf module: it imports nothing of Fermata.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Protocol


class _Hash(Protocol):
    def hexdigest(self) -> str: ...


def _builtin_sha256() -> Callable[[bytes], _Hash] | None:
    # _sha2 since CPython 3.12, _sha256 before (named by version: a failed
    # import searches every folder of sys.path); a build without it, or
    # another Python, has hashlib only.
    try:
        module = importlib.import_module("_sha2" if sys.version_info >= (3, 12) else "_sha256")
    except ImportError:
        return None
    constructor: Callable[[bytes], _Hash] | None = getattr(module, "sha256", None)
    return constructor


_BUILTIN = _builtin_sha256()
_LARGE = 256 * 1024


def sha256_hex(data: bytes) -> str:
    """The sha256 of ``data``, as 64 hex digits (``hashlib.sha256(data).hexdigest()``)."""
    if _BUILTIN is None or len(data) > _LARGE:
        import hashlib

        return hashlib.sha256(data).hexdigest()
    return _BUILTIN(data).hexdigest()
