"""What only the PostgreSQL store has: its schema (created explicitly or on
first write, versioned, refused when newer or older), and the test fixture's
rule (skip without a server, fail under CI)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.runtime.store.postgres_db import reset_schema, server_url

URL_NOBODY = "postgresql://postgres@127.0.0.1:1/postgres"    # nothing listens on port 1


def test_without_a_server_the_tests_skip_but_fail_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FERMATA_TEST_POSTGRES", raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="set FERMATA_TEST_POSTGRES="):
        server_url()
    monkeypatch.setenv("FERMATA_TEST_POSTGRES", URL_NOBODY)
    with pytest.raises(pytest.skip.Exception, match="unreachable"):
        server_url()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="unreachable"):
        server_url()
    monkeypatch.delenv("FERMATA_TEST_POSTGRES")
    with pytest.raises(pytest.fail.Exception, match="FERMATA_TEST_POSTGRES is not set"):
        server_url()


@pytest.mark.postgres
def test_a_reader_refuses_a_database_without_the_schema_and_creates_nothing(postgres_database: str) -> None:
    import psycopg

    from fermata.runtime.errors import StoreError
    from fermata.runtime.store.url import open_store

    reset_schema(postgres_database)
    with pytest.raises(StoreError, match=r"no Fermata store in .*fermata store init"):
        open_store(postgres_database, create=False)
    with psycopg.connect(postgres_database) as conn:
        assert conn.execute("SELECT to_regclass('fermata.meta')").fetchone() == (None,)


@pytest.mark.postgres
def test_a_writer_creates_the_schema_once_with_a_log_line(postgres_database: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    from fermata.runtime.store.postgres import (
        SCHEMA_VERSION,
        PostgresStore,
        init_schema,
    )

    reset_schema(postgres_database)
    with caplog.at_level("INFO", logger="fermata.store"):
        PostgresStore(postgres_database).close()
        PostgresStore(postgres_database).close()
    assert [r.getMessage() for r in caplog.records].count(
        f"created the Fermata store schema (version {SCHEMA_VERSION}) in {postgres_database}") == 1
    assert init_schema(postgres_database) == (SCHEMA_VERSION, SCHEMA_VERSION)


@pytest.mark.postgres
def test_processes_that_first_use_one_database_at_once_create_the_schema_once(
        postgres_database: str, caplog: pytest.LogCaptureFixture) -> None:
    # Each waiter used to start its transaction before the first creator
    # committed, and so not see the schema and create it again
    # ("relation meta already exists").
    import threading

    from fermata.runtime.store.postgres import SCHEMA_VERSION, PostgresStore

    errors: list[str] = []
    for _ in range(3):
        reset_schema(postgres_database)
        gate = threading.Barrier(4)

        def first_use(gate: threading.Barrier = gate) -> None:
            gate.wait()
            try:
                PostgresStore(postgres_database).close()
            except Exception as exc:  # noqa: BLE001 - collected and shown below
                errors.append(str(exc))

        with caplog.at_level("INFO", logger="fermata.store"):
            caplog.clear()
            threads = [threading.Thread(target=first_use) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        created = f"created the Fermata store schema (version {SCHEMA_VERSION}) in {postgres_database}"
        assert [r.getMessage() for r in caplog.records].count(created) == 1
    assert errors == []


@pytest.mark.postgres
def test_a_newer_schema_is_refused_and_an_older_one_needs_migrate(postgres_database: str) -> None:
    import psycopg

    from fermata.runtime.errors import StoreError
    from fermata.runtime.store.postgres import (
        SCHEMA_VERSION,
        PostgresStore,
        init_schema,
    )

    reset_schema(postgres_database)
    init_schema(postgres_database)
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute("UPDATE fermata.meta SET value = %s WHERE key = 'version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(StoreError, match=r"newer than this Fermata knows.*upgrade Fermata"):
        PostgresStore(postgres_database)
    with pytest.raises(StoreError, match="newer than this Fermata knows"):
        init_schema(postgres_database, migrate=True)
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute("UPDATE fermata.meta SET value = '0' WHERE key = 'version'")
    with pytest.raises(StoreError, match=r"older than this Fermata's.*fermata store migrate"):
        PostgresStore(postgres_database)


def test_a_password_is_never_shown() -> None:
    from fermata.runtime.store.postgres import _redact

    assert _redact("postgresql://app:s3cret@db/runs") == "postgresql://app:***@db/runs"
    assert _redact("postgresql://app@db/runs") == "postgresql://app@db/runs"


def test_only_durable_commits_wait_for_the_wal_flush(postgres_database: str) -> None:
    """Every commit not asked to be durable (reads, leases, claims included)
    runs with ``synchronous_commit`` off; a durable one keeps the server's
    setting (``on``), or the one an administrator set for the database."""
    import psycopg

    from fermata.runtime.store.url import open_store

    reset_schema(postgres_database)
    store = open_store(postgres_database)
    try:
        with store._transaction() as tx:
            assert tx.execute("SHOW synchronous_commit").fetchone()[0] == "off"
        with store._transaction(durable=True) as tx:
            assert tx.execute("SHOW synchronous_commit").fetchone()[0] == "on"
        assert store._query("SHOW synchronous_commit")[0][0] == "off"   # SET LOCAL: that transaction only
    finally:
        store.close()
    name = postgres_database.rsplit("/", 1)[1]
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = remote_write')
    try:
        store = open_store(postgres_database)
        with store._transaction(durable=True) as tx:
            assert tx.execute("SHOW synchronous_commit").fetchone()[0] == "remote_write"
        store.close()
    finally:
        with psycopg.connect(postgres_database, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" RESET synchronous_commit')


@pytest.mark.postgres
def test_a_cycle_waits_for_the_wal_flush_only_where_observable(postgres_database: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Submit, pause, submitted answer, done: four durable transactions per
    interrupt cycle, and every one of them writes (so the server flushes its
    WAL for it). Counted at the store, not from ``pg_stat_wal``: that
    counter is the whole server's, and other databases' commits would
    make the test depend on what else runs (bench/worker_counts.py reads
    it, as the least of several tries)."""
    from fermata.runtime.store.postgres import PostgresStore

    reset_schema(postgres_database)
    durable: list[bool] = []
    transaction = PostgresStore._transaction

    def counted(self: PostgresStore, durable_: bool = False, **named: bool) -> Any:
        durable.append(named.get("durable", durable_))
        return transaction(self, durable[-1])

    monkeypatch.setattr(PostgresStore, "_transaction", counted)
    runs = 5
    run_cycles(postgres_database, runs)
    assert durable.count(True) == 4 * runs
    assert durable.count(False) > 0   # the running checkpoints did not wait


def _refund() -> dict[str, Any]:
    """assess -> review (asks: approve?) -> pay: no `once` call (its result
    would be one more durable commit)."""
    from tests.runtime.irbuild import BOOL, STR, F, fld, flow, interrupt, lit, node, set_

    return flow("refund", fields=[fld("amount", STR), fld("approved", BOOL, False), fld("note", STR, "")],
                nodes=[node("assess", set_("note", F("amount"))),
                       node("review", interrupt("approval", None, BOOL, bind="ok"), set_("approved", lit(True))),
                       node("pay", set_("note", lit("paid")))],
                edges={"start": ["assess"], "assess": ["review"], "review": ["pay"], "pay": ["end"]},
                input=["amount"])


def run_cycles(url: str, runs: int) -> None:
    """``runs`` interrupt cycles: submit the runs, a worker pauses them,
    submit the answers, a worker finishes them."""
    from fermata.runtime import Command, Graph
    from fermata.runtime.worker import Worker

    ir = _refund()
    graph = Graph.from_ir(ir, store=url)
    worker = Worker([Graph.from_ir(ir, store=url)])
    threads = [f"c{i}" for i in range(runs)]
    for thread in threads:
        graph.submit({"amount": "1"}, thread=thread)
    while worker.run_once():
        pass
    for thread in threads:
        graph.submit(Command(resume=True), thread=thread)
    while worker.run_once():
        pass
    assert all((graph.state(t) or pytest.fail(t)).status == "done" for t in threads)
    graph.store.close()
    worker.store.close()


def _first_use(url: str, barrier: Any, results: Any) -> None:
    from fermata.runtime.store.postgres import PostgresStore

    barrier.wait()
    try:
        PostgresStore(url).close()
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the test
        results.put(repr(exc))


@pytest.mark.postgres
def test_processes_using_a_new_database_at_once_create_its_schema_once(postgres_database: str) -> None:
    """Workers started together on an empty database: one creates the
    schema, the others wait for it and use it (none fails)."""
    import multiprocessing

    reset_schema(postgres_database)
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(4), context.Queue()
    children = [context.Process(target=_first_use, args=(postgres_database, barrier, results)) for _ in range(4)]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    assert sorted(results.get(timeout=5) for _ in children) == ["ok"] * 4
