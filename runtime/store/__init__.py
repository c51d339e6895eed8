"""Stores: where checkpoints live.

* ``rows.py``: the row codec (full snapshots and deltas as JSON);
* ``logstore.py``: the append algorithm and the reads, written once;
* ``memory.py``, ``sqlite.py``, ``postgres.py``: the backends' primitives;
* ``url.py``: ``open_store`` from a URL.

PostgreSQL's driver is imported only when a ``postgresql://`` store is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_getattr

if TYPE_CHECKING:
    from ..errors import RunBusyError, StoreConflictError, StoreError
    from .logstore import LogStore
    from .memory import MemoryStore
    from .rows import DEFAULT_SNAPSHOT_EVERY, ROW_COST
    from .url import open_store

__all__ = ["DEFAULT_SNAPSHOT_EVERY", "ROW_COST", "LogStore", "MemoryStore", "RunBusyError",
           "StoreConflictError", "StoreError", "open_store"]

# Each name is imported when first asked for: opening a SQLite store (every
# `fermata resume`) needs neither the memory store nor PostgreSQL's.
_HOMES = {"RunBusyError": "errors", "StoreConflictError": "errors", "StoreError": "errors",
          "LogStore": "store.logstore", "MemoryStore": "store.memory", "DEFAULT_SNAPSHOT_EVERY": "store.rows",
          "ROW_COST": "store.rows", "open_store": "store.url"}   # below fermata.runtime


__getattr__ = lazy_getattr(__name__, _HOMES)
