"""The server's pool of store objects (``server/stores.py``), on SQLite and memory."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fermata.runtime import StoreError
from fermata.runtime.store.logstore import LogStore
from fermata.runtime.store.memory import MemoryStore
from fermata.runtime.stores import open_store
from fermata.server.catalog import load_catalog
from fermata.server.stores import StorePool
from tests.server.support import REVIEW_FLOW


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[StorePool]:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    shared = open_store(url)
    assert isinstance(shared, LogStore)
    made = StorePool(shared, url, 2)
    yield made
    made.close()
    shared.close()


def test_each_borrower_has_its_own_store_object_and_a_nested_borrow_the_same(pool: StorePool) -> None:
    seen: dict[str, object] = {}
    inside = threading.Barrier(2)

    def borrow(name: str) -> None:
        with pool.borrowed() as store:
            with pool.borrowed() as again:
                assert again is store and pool.current() is store
            inside.wait(10)     # both hold one at the same time
            seen[name] = store

    threads = [threading.Thread(target=borrow, args=(n,)) for n in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen["a"] is not seen["b"]
    assert pool.shared not in (seen["a"], seen["b"])
    assert pool.current() is pool.shared          # outside a borrow
    with pool.borrowed(shared=True) as store:
        assert store is pool.shared


def test_a_full_pool_makes_the_next_borrower_wait_for_a_store_object(pool: StorePool) -> None:
    order: list[str] = []
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with pool.borrowed():
            held.set()
            release.wait(10)
            order.append("returned")

    first = threading.Thread(target=holder)
    second = threading.Thread(target=holder)
    first.start()
    assert held.wait(10)
    held.clear()
    second.start()
    assert held.wait(10)        # the pool holds 2: both borrowed
    third_done = threading.Event()

    def third() -> None:
        with pool.borrowed():
            order.append("third")
        third_done.set()

    waiting = threading.Thread(target=third)
    waiting.start()
    assert not third_done.wait(0.3)             # no third store object is opened
    release.set()
    for t in (first, second, waiting):
        t.join(10)
    assert order.index("third") > order.index("returned")


def test_a_store_object_that_failed_is_replaced(pool: StorePool) -> None:
    with pytest.raises(StoreError), pool.borrowed() as broken:
        raise StoreError("the database connection failed")
    with pool.borrowed() as fresh:
        assert fresh is not broken
        assert fresh.list_runs() == []


def test_a_memory_store_is_shared_by_every_borrower_and_graphs_follow_the_borrow(tmp_path: Path,
                                                                                 pool: StorePool) -> None:
    memory = MemoryStore()
    shared = StorePool(memory, "memory:", 4)
    with shared.borrowed() as store:
        assert store is memory
    (tmp_path / "review.flow").write_text(REVIEW_FLOW, encoding="utf-8")
    entry = load_catalog(tmp_path, pool.shared).get("review")
    assert entry is not None
    assert pool.graph(entry) is entry.graph                # outside a borrow: the shared store's
    with pool.borrowed() as store:
        graph = pool.graph(entry)
        assert graph.store is store and graph.compiled is entry.graph.compiled
        graph.invoke({"title": "t", "amount": 1}, thread="t1")
    assert entry.graph.state("t1") is not None            # one store, seen through either object
