"""``open_store``: a store from a URL.

    store = open_store("memory:")                  # or None
    store = open_store("sqlite:///runs.db")        # relative path runs.db
    store = open_store("sqlite:////var/runs.db")   # absolute path /var/runs.db
    store = open_store("sqlite:runs.db")           # relative path runs.db
    store = open_store("postgresql://user@host/db")

Apart from the backends so that none of them imports another, and so that
PostgreSQL's driver is imported only for a ``postgresql://`` URL.
"""

from __future__ import annotations

from pathlib import Path

from ..checkpoint import Store
from ..errors import StoreError

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(store: str | Store | None, *, create: bool = True) -> Store:
    """A store from a URL (``"memory:"``, ``"sqlite:///path.db"``,
    ``"sqlite:path.db"``, ``"postgresql://..."``), a Store (returned as is),
    or None (memory).

    As in SQLAlchemy, what follows ``sqlite:///`` is the path itself: a
    relative path, or an absolute one when it starts with ``/``
    (``sqlite:////var/runs.db``). With ``create=False`` (commands that only
    read, and resumes) nothing is created: a SQLite file that does not exist,
    or is empty, or a database without Fermata's schema, is refused with a
    StoreError saying so."""
    if isinstance(store, Store):
        return store
    if store is None or store == "memory:":
        from .memory import MemoryStore

        return MemoryStore()
    if not isinstance(store, str):
        raise StoreError(f"a store is a URL string or a Store, not {type(store).__name__}")
    if store.startswith("sqlite:"):
        rest = store[len("sqlite:"):]
        path = rest.removeprefix("///")
        if rest.startswith("//") and not rest.startswith("///"):
            raise StoreError(f"store URL `{store}` names a host; use `sqlite:///relative.db` "
                             "or `sqlite:////absolute/path.db`")
        if not path:
            raise StoreError(f"store URL `{store}` names no file: use `sqlite:///runs.db`")
        from .sqlite import SqliteStore

        if not create and not Path(path).exists():
            raise StoreError(f"no store at {path} (no run was ever stored there; "
                             "check --store or $FERMATA_STORE)")
        return SqliteStore(Path(path), create=create)
    if store.startswith(POSTGRES_SCHEMES):
        from .postgres import PostgresStore

        return PostgresStore(store, create=create)
    scheme = store.split(":", 1)[0] if ":" in store else store
    raise StoreError(f"unknown store `{store}`" + (f" (scheme `{scheme}:`)" if ":" in store else "")
                     + ": use `memory:`, `sqlite:///path/to/runs.db` or `postgresql://user@host/db`")
