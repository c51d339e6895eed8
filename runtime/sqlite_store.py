"""Former home of the SQLite store, kept for imports that name it: see ``runtime/store/sqlite.py``."""

from __future__ import annotations

from .store.rows import COMPRESS_FROM
from .store.sqlite import SqliteStore
from .store.sqlite_schema import STORE_FORMAT, STORE_VERSION

__all__ = ["COMPRESS_FROM", "STORE_FORMAT", "STORE_VERSION", "SqliteStore"]
