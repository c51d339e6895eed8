"""The work queue's contract on every backend (``runtime/store/work.py``):
claims are exclusive and in submission order per thread, expire, filter by
IR version; a submission is marked applied in the transaction of the
checkpoint that applies it, or not at all.

Claims that must have expired are taken for a negative time (no waiting)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fermata.runtime.checkpoint import Store
from fermata.runtime.errors import StoreConflictError
from fermata.runtime.records import WorkKind, WorkStatus
from fermata.runtime.store.logstore import LogStore
from fermata.runtime.store.work import work_queue
from tests.runtime.store.support import cp, info


def test_claims_are_exclusive_and_in_order_per_thread(shared_store: Callable[[], Store]) -> None:
    one, two = work_queue(shared_store()), work_queue(shared_store())
    a1 = one.submit("a", "f", "h1", WorkKind.START, {"x": 1})
    a2 = one.submit("a", "f", "h1", WorkKind.COMMAND, {"resume": True})
    b1 = two.submit("b", "f", "h1", WorkKind.START, {"x": 2})
    first = one.claim("w1", {"h1"}, 60)
    assert first is not None and (first.id, first.thread, first.payload) == (a1, "a", {"x": 1})
    assert first.status == WorkStatus.CLAIMED and first.attempts == 1
    second = two.claim("w2", {"h1"}, 60)
    assert second is not None and second.id == b1      # a2 waits for a1, which is claimed
    assert two.claim("w2", {"h1"}, 60) is None
    one.finish(a1, WorkStatus.APPLIED)
    third = two.claim("w2", {"h1"}, 60)
    assert third is not None and third.id == a2 and third.payload == {"resume": True}
    assert one.open_count() == 2 and one.open_threads("a") == 1 and one.open_threads("c") == 0


def test_only_loaded_versions_are_claimed(shared_store: Callable[[], Store]) -> None:
    queue = work_queue(shared_store())
    queue.submit("a", "f", "old", WorkKind.START, {})
    queue.submit("b", "f", "new", WorkKind.START, {})
    claimed = queue.claim("w", {"new"}, 60)
    assert claimed is not None and claimed.thread == "b"
    assert queue.claim("w", {"new"}, 60) is None and queue.claim("w", set(), 60) is None
    assert queue.unloaded({"new"}) == {"old": 1}


def test_an_expired_claim_is_claimed_again_and_a_released_one_waits(shared_store: Callable[[], Store]) -> None:
    one, two = work_queue(shared_store()), work_queue(shared_store())
    work_id = one.submit("a", "f", "h", WorkKind.START, {})
    assert one.claim("dead", {"h"}, -1) is not None     # its worker died; the claim has run out
    again = two.claim("w2", {"h"}, 60)
    assert again is not None and again.id == work_id and again.attempts == 2
    two.release(work_id, "someone-else", 0)              # not its claim: nothing changes
    assert two.claim("w3", {"h"}, 60) is None
    two.release(work_id, "w2", 60)                       # the run was busy: back, but not yet
    assert two.claim("w3", {"h"}, 60) is None
    got = two.get(work_id)
    assert got is not None and got.status == WorkStatus.QUEUED
    two.release(work_id, "w2", 0)                        # (a claimed one only: no change now)
    assert one.get(work_id) is not None and two.get(999999) is None


def test_applied_commits_with_the_checkpoint_or_not_at_all(shared_store: Callable[[], Store]) -> None:
    store, other = shared_store(), shared_store()
    assert isinstance(store, LogStore) and isinstance(other, LogStore)
    queue = work_queue(store)
    work_id = queue.submit("t", "f", "h", WorkKind.START, {})
    assert queue.claim("w", {"h"}, 60) is not None
    other.append(info("t"), cp(0, {}), None)                 # another process got there first
    store.with_next_append("t", queue.applied_action(work_id))
    with pytest.raises(StoreConflictError):
        store.append(info("t"), cp(0, {}), None)
    got = queue.get(work_id)
    assert got is not None and got.status == WorkStatus.CLAIMED
    store.with_next_append("t", queue.applied_action(work_id))
    store.append(info("t"), cp(1, {}), None)
    got = work_queue(other).get(work_id)
    assert got is not None and got.status == WorkStatus.APPLIED
    store.append(info("t"), cp(2, {}), None)                 # the action ran once
    queue.finish(work_id, WorkStatus.REFUSED, "why")
    got = queue.get(work_id)
    assert got is not None and (got.status, got.error) == (WorkStatus.REFUSED, "why")


def test_orphaned_runs_are_running_ones_without_a_live_lease(shared_store: Callable[[], Store]) -> None:
    store = shared_store()
    queue = work_queue(store)
    store.append(info("left"), cp(0, {}, status="running"), None)
    store.append(info("held"), cp(0, {}, status="running"), None)
    store.append(info("paused"), cp(0, {}, status="interrupted"), None)
    assert store.acquire("held", "elsewhere:1:1", 60)
    hashes = {info("left").ir_hash}
    assert queue.orphaned(hashes) == ["left"]
    assert queue.orphaned({"another-version"}) == []
    store.release("held", "elsewhere:1:1")
    assert sorted(queue.orphaned(hashes)) == ["held", "left"]
