"""The backend fixture of the store contract suite.

A new backend runs the whole suite (tests/runtime/store/test_contract.py and
test_coordination.py) by adding its name to ``BACKENDS`` and a branch to
``make_store``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fermata.runtime.checkpoint import Store
from fermata.runtime.store.memory import MemoryStore
from fermata.runtime.store.sqlite import SqliteStore
from tests.runtime.store.postgres_db import fresh_database, reset_schema, server_url

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """One fresh database per test run (dropped at its end)."""
    server_url()
    with fresh_database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(backend: str, request: pytest.FixtureRequest,
               tmp_path: Path) -> Iterator[Callable[..., Store]]:
    """``make(**kwargs)``: a new, empty store of the backend. Stores made by
    one test share their data only on SQLite when given the same ``name``."""
    opened: list[Store] = []
    url = None
    if backend == "postgres":
        url = request.getfixturevalue("postgres_database")
        reset_schema(url)

    def make(**kwargs: Any) -> Store:
        store: Store
        if backend == "memory":
            store = MemoryStore(**kwargs)
        elif backend == "sqlite":
            store = SqliteStore(tmp_path / f"runs{len(opened)}.db", **kwargs)
        else:
            from fermata.runtime.store.postgres import PostgresStore

            assert url is not None
            if opened:   # a second store in one test: a fresh schema, as a new file would be
                reset_schema(url)
            store = PostgresStore(url, **kwargs)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def shared_store(backend: str, request: pytest.FixtureRequest,
                 tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """``open()``: another handle on one store (as another process would
    open it); on memory, the same store."""
    opened: list[Store] = []
    url = None
    if backend == "postgres":
        url = request.getfixturevalue("postgres_database")
        reset_schema(url)
    memory = MemoryStore()

    def open_() -> Store:
        store: Store
        if backend == "memory":
            return memory
        if backend == "sqlite":
            store = SqliteStore(tmp_path / "shared.db")
        else:
            from fermata.runtime.store.postgres import PostgresStore

            assert url is not None
            store = PostgresStore(url)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()
