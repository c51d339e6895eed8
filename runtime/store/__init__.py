"""Stores: where checkpoints live.

* ``rows.py``: the row codec (full snapshots and deltas as JSON);
* ``logstore.py``: the append algorithm and the reads, written once;
* ``memory.py``, ``sqlite.py``, ``postgres.py``: the backends' primitives;
* ``url.py``: ``open_store`` from a URL.

PostgreSQL's driver is imported only when a ``postgresql://`` store is opened.
"""

from __future__ import annotations

from ..errors import RunBusyError, StoreConflictError, StoreError
from .logstore import LogStore
from .memory import MemoryStore
from .rows import DEFAULT_SNAPSHOT_EVERY, ROW_COST
from .url import open_store

__all__ = ["DEFAULT_SNAPSHOT_EVERY", "ROW_COST", "LogStore", "MemoryStore", "RunBusyError",
           "StoreConflictError", "StoreError", "open_store"]
