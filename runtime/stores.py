"""Former home of the stores, kept for imports that name it: see ``runtime/store/``."""

from __future__ import annotations

from .errors import RunBusyError, StoreConflictError, StoreError
from .store.memory import MemoryStore
from .store.rows import (
           DEFAULT_SNAPSHOT_EVERY,
           NO_STATS,
           ROW_COST,
           Decoder,
           Stats,
           Tail,
           encode_row,
           wants_full,
)
from .store.url import open_store

__all__ = ["DEFAULT_SNAPSHOT_EVERY", "NO_STATS", "ROW_COST", "Decoder", "MemoryStore", "RunBusyError", "Stats",
           "StoreConflictError", "StoreError", "Tail", "encode_row", "open_store", "wants_full"]
