"""The run index, on every backend: runs by flow and status, and the pending
interrupts, paged by key, kept by the append (never decoding a thread)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fermata.runtime.checkpoint import Store, ThreadInfo
from tests.runtime.store.support import cp, info


def ask(node: str, label: str) -> dict[str, Any]:
    return {"id": f"{node}:{label}", "node": node, "label": label, "index": 0, "payload": None,
            "schema": {"type": "boolean"}, "token": "x"}


def of(flow: str, thread: str) -> ThreadInfo:
    return info(thread).replace(flow=flow)


def fill(store: Store) -> None:
    """Five runs of two flows in every status; two paused ones waiting."""
    store.append(of("refund", "r1"), cp(0, {}), None)
    store.append(of("refund", "r1"), cp(1, {}, status="interrupted", pending=[ask("review", "approval")]), [])
    store.append(of("refund", "r2"), cp(0, {}, status="done"), None)
    store.append(of("hire", "h1"), cp(0, {}, status="interrupted",
                                      pending=[ask("a", "approval"), ask("b", "salary")]), None)
    store.append(of("hire", "h2"), cp(0, {}, status="failed"), None)
    store.append(of("hire", "h3"), cp(0, {}), None)


def test_runs_by_flow_and_status(make_store: Callable[..., Store]) -> None:
    store = make_store()
    fill(store)
    runs = store.list_runs()  # type: ignore[attr-defined]
    assert [(r.thread, r.flow, r.status, r.seq) for r in runs] == [
        ("h1", "hire", "interrupted", 0), ("h2", "hire", "failed", 0), ("h3", "hire", "running", 0),
        ("r1", "refund", "interrupted", 1), ("r2", "refund", "done", 0)]
    assert [r.thread for r in store.list_runs(flow="hire")] == ["h1", "h2", "h3"]  # type: ignore[attr-defined]
    assert [r.thread for r in store.list_runs(status="interrupted")] == ["h1", "r1"]  # type: ignore[attr-defined]
    assert [r.thread for r in store.list_runs(flow="refund", status="done")] == ["r2"]  # type: ignore[attr-defined]
    assert store.list_runs(flow="nope") == []  # type: ignore[attr-defined]
    assert all(r.updated > 0 for r in runs)


def test_runs_are_paged_by_key(make_store: Callable[..., Store]) -> None:
    store = make_store()
    fill(store)
    pages, after = [], None
    while True:
        page = store.list_runs(limit=2, after=after)  # type: ignore[attr-defined]
        if not page:
            break
        pages.append([r.thread for r in page])
        after = page[-1].thread
    assert pages == [["h1", "h2"], ["h3", "r1"], ["r2"]]
    with pytest.raises(ValueError, match="a page holds"):
        store.list_runs(limit=0)  # type: ignore[attr-defined]


def test_pending_interrupts_follow_the_newest_checkpoint(make_store: Callable[..., Store]) -> None:
    store = make_store()
    fill(store)
    keys = [(p.thread, p.id, p.node, p.label, p.flow) for p in store.pending_interrupts()]  # type: ignore[attr-defined]
    assert keys == [("h1", "a:approval", "a", "approval", "hire"), ("h1", "b:salary", "b", "salary", "hire"),
                    ("r1", "review:approval", "review", "approval", "refund")]
    by_label = store.pending_interrupts(label="approval")  # type: ignore[attr-defined]
    assert [p.thread for p in by_label] == ["h1", "r1"]
    assert [p.id for p in store.pending_interrupts(flow="hire", after=("h1", "a:approval"))] == [  # type: ignore[attr-defined]
        "b:salary"]
    assert [p.id for p in store.pending_interrupts(limit=1)] == ["a:approval"]  # type: ignore[attr-defined]
    # answered: the run goes on, and leaves the inbox
    store.append(of("refund", "r1"), cp(2, {}, status="running"), [])
    store.append(of("hire", "h1"), cp(1, {}, status="interrupted", pending=[ask("b", "salary")]), [])
    assert [(p.thread, p.id) for p in store.pending_interrupts()] == [("h1", "b:salary")]  # type: ignore[attr-defined]
    assert [r.thread for r in store.list_runs(status="interrupted")] == ["h1"]  # type: ignore[attr-defined]


def test_a_refused_append_leaves_the_index_as_it_was(make_store: Callable[..., Store]) -> None:
    store = make_store()
    fill(store)
    before = (store.list_runs(), store.pending_interrupts())  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="expects checkpoint 2 next"):
        store.append(of("refund", "r1"), cp(5, {}, status="done"), [])
    assert (store.list_runs(), store.pending_interrupts()) == before  # type: ignore[attr-defined]
