"""A fresh PostgreSQL database for one test run, dropped at its end.

The server is named by ``$FERMATA_TEST_POSTGRES`` (a URL to an existing
database the tests may create others from, e.g.
``postgresql://postgres@127.0.0.1:5432/postgres``). Without it the
PostgreSQL tests are skipped with one line saying so; in CI (``CI=true``) a
server that is unset or unreachable fails them instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

HOW = ("PostgreSQL tests skipped: set FERMATA_TEST_POSTGRES=postgresql://user@host:5432/postgres "
       "to run them")


def server_url() -> str:
    """The admin URL, or skip (fail under CI) when there is no server."""
    url = os.environ.get("FERMATA_TEST_POSTGRES")
    in_ci = os.environ.get("CI", "").lower() == "true"
    if not url:
        if in_ci:
            pytest.fail("CI=true but FERMATA_TEST_POSTGRES is not set: the PostgreSQL store is not tested")
        pytest.skip(HOW)
    try:
        import psycopg
    except ImportError:
        if in_ci:
            pytest.fail("CI=true but psycopg is not installed (pip install -e '.[dev]')")
        pytest.skip("PostgreSQL tests skipped: psycopg is not installed (pip install 'fermata[postgres]')")
    try:
        psycopg.connect(url, autocommit=True, connect_timeout=5).close()
    except psycopg.Error as exc:
        if in_ci:
            pytest.fail(f"CI=true but the PostgreSQL server at {url} is unreachable: {exc}")
        pytest.skip(f"{HOW} (the server at {url} is unreachable)")
    return url


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    query = url.partition("?")[2]
    return f"{base}/{database}" + (f"?{query}" if query else "")


@contextmanager
def fresh_database() -> Iterator[str]:
    """Create a database, yield its URL, drop it (even when tests fail)."""
    import psycopg

    admin = server_url()
    name = f"fermata_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reset_schema(url: str) -> None:
    """Empty the database between tests (drop Fermata's schema)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS fermata CASCADE")
