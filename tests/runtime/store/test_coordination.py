"""The stores' coordination contract, on every backend: leases (one owner
at a time, expiry, release), ``call once`` results durable the moment they
are saved, ``append_final`` in one step, and two handles on one store
appending the same seq (the loser gets a conflict and writes nothing).

Expiry is tested without waiting: a lease taken for a negative time has
already expired."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fermata.runtime.checkpoint import OnceResult, Store
from fermata.runtime.errors import StoreConflictError, StoreError
from tests.runtime.store.support import canonical, cp, info

ENTRY = {"target": "m:f", "args_hash": "h", "result": {"paid": 1.5}}


def test_one_owner_at_a_time_until_it_releases(shared_store: Callable[[], Store]) -> None:
    one, two = shared_store(), shared_store()
    assert one.acquire("t", "host:1:1", 60)
    assert not two.acquire("t", "host:1:2", 60)
    assert one.acquire("t", "host:1:1", 60)               # the holder renews by taking it again
    held = two.lease("t")
    assert held is not None and held.owner == "host:1:1"
    assert not two.renew("t", "host:1:2", 60) and one.renew("t", "host:1:1", 60)
    two.release("t", "host:1:2")                          # not the holder's: nothing happens
    assert not two.acquire("t", "host:1:2", 60)
    one.release("t", "host:1:1")
    assert one.lease("t") is None
    assert two.acquire("t", "host:1:2", 60)


def test_an_expired_lease_is_taken_over(shared_store: Callable[[], Store]) -> None:
    one, two = shared_store(), shared_store()
    assert one.acquire("t", "host:1:1", -1)
    assert one.lease("t") is None
    assert two.acquire("t", "host:1:2", 60)
    assert not one.renew("t", "host:1:1", 60)             # the old holder learns it lost it


def test_leases_are_per_thread(shared_store: Callable[[], Store]) -> None:
    store = shared_store()
    assert store.acquire("a", "host:1:1", 60) and store.acquire("b", "host:1:2", 60)


def test_once_results_are_readable_by_another_handle_at_once(shared_store: Callable[[], Store]) -> None:
    one, two = shared_store(), shared_store()
    one.save_once("t", OnceResult(3, "pay", 0, ENTRY))
    one.save_once("t", OnceResult(3, "pay", 1, {**ENTRY, "result": 2}))
    one.save_once("t", OnceResult(3, "pay", 1, {**ENTRY, "result": 3}))   # replaces its index
    one.save_once("u", OnceResult(1, "x", 0, ENTRY))
    assert two.once_results("t") == [OnceResult(3, "pay", 0, ENTRY), OnceResult(3, "pay", 1, {**ENTRY, "result": 3})]
    two.drop_once("t")
    assert one.once_results("t") == [] and len(one.once_results("u")) == 1


def test_a_once_result_json_cannot_hold_is_refused(shared_store: Callable[[], Store]) -> None:
    store = shared_store()
    with pytest.raises(StoreError, match="cannot be stored as JSON"):
        store.save_once("t", OnceResult(0, "n", 0, {**ENTRY, "result": {1, 2}}))
    assert store.once_results("t") == []


def test_append_final_drops_once_results_and_releases_the_lease(shared_store: Callable[[], Store]) -> None:
    store = shared_store()
    store.append(info(), cp(0, {"x": 0}), None)
    assert store.acquire("t", "host:1:1", 60)
    store.save_once("t", OnceResult(0, "pay", 0, ENTRY))
    store.append_final(info(), cp(1, {"x": 1}, status="done"), ["x"], "host:1:1", True)
    assert store.once_results("t") == [] and store.lease("t") is None
    assert store.latest("t").status == "done"             # type: ignore[union-attr]


def test_a_refused_append_final_changes_nothing(shared_store: Callable[[], Store]) -> None:
    store = shared_store()
    store.append(info(), cp(0, {"x": 0}), None)
    assert store.acquire("t", "host:1:1", 60)
    store.save_once("t", OnceResult(0, "pay", 0, ENTRY))
    with pytest.raises(StoreConflictError):
        store.append_final(info(), cp(5, {"x": 1}), ["x"], "host:1:1", True)
    assert len(store.once_results("t")) == 1 and store.lease("t") is not None


def test_two_handles_appending_the_same_seq_one_wins(shared_store: Callable[[], Store]) -> None:
    one, two = shared_store(), shared_store()
    one.append(info(), cp(0, {"x": 0}), None)
    assert two.latest("t") is not None
    one.append(info(), cp(1, {"x": 1}), ["x"])
    with pytest.raises(StoreConflictError, match="expects checkpoint 2 next, not 1"):
        two.append(info(), cp(1, {"x": 2}), ["x"])
    assert [canonical(c) for c in two.history("t")] == [canonical(cp(0, {"x": 0})), canonical(cp(1, {"x": 1}))]
    assert two.head("t") == 1


def test_a_handle_whose_own_last_append_is_no_longer_the_head_gets_a_conflict(
        shared_store: Callable[[], Store]) -> None:
    """The handle that wrote seq 1 knows its head without reading it; another
    handle appends seq 2 meanwhile: the first one's seq 2 is refused, writes
    nothing, and so is a second try, until it reads the run again."""
    one, two = shared_store(), shared_store()
    one.append(info(), cp(0, {"x": 0}), None)
    one.append(info(), cp(1, {"x": 1}), ["x"])
    assert two.latest("t") is not None
    two.append(info(), cp(2, {"x": 2}), ["x"])
    for _ in range(2):
        with pytest.raises(StoreConflictError):   # the message is the backend's (PostgreSQL: the row's key)
            one.append(info(), cp(2, {"x": 99}), ["x"])
    assert [c.values["x"] for c in one.history("t")] == [0, 1, 2]
    assert one.latest("t") is not None
    one.append(info(), cp(3, {"x": 3}), ["x"])
    assert [canonical(c) for c in two.history("t")][-1] == canonical(cp(3, {"x": 3}))
