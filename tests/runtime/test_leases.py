"""Leases: exactly one caller advances a run at a time.

The lease API on the memory store (and the in-process default every Store
inherits), and how ``invoke``/``stream`` hold it: taken before the latest
checkpoint is read, released at pause, done, failure or an exception; a
caller finding it held gets RunBusyError and runs and writes nothing.
Processes racing on SQLite are in test_run_races.py.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from fermata.runtime import (
    Command,
    NondeterminismError,
    ResumeError,
    RunBusyError,
    StepLimitError,
)
from fermata.runtime import leases as leases_module
from fermata.runtime.checkpoint import new_owner, owner_is_gone
from fermata.runtime.stores import MemoryStore, StoreConflictError
from tests.runtime import calls_fixture
from tests.runtime.irbuild import (
    BOOL,
    INT,
    F,
    L,
    add,
    bin_,
    call,
    fld,
    flow,
    if_,
    interrupt,
    lit,
    make_graph,
    node,
    set_,
)
from tests.runtime.memstore import JsonMemoryStore
from tests.runtime.support import refundish

TICK = "tests.runtime.calls_fixture:tick"


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def ask_then_tick() -> dict[str, Any]:
    return flow("f", fields=[fld("ok", BOOL, False), fld("n", INT, 0)],
                nodes=[node("a", interrupt("q", None, BOOL, bind="ok"), set_("ok", L("ok")),
                            call(TICK, lit("a"), bind="n"), set_("n", L("n")))],
                edges={"start": ["a"], "a": ["end"]})


# ------------------------------------------------------------------ the store API


@pytest.mark.parametrize("make", [lambda clock: MemoryStore(clock=clock), None], ids=["memory", "default"])
def test_one_owner_at_a_time_until_release_or_expiry(make: Any) -> None:
    clock = Clock()
    store = make(clock) if make else JsonMemoryStore()
    if make is None:   # the in-process default every Store inherits
        store._local().clock = clock
    assert store.acquire("t", "me", 10) and store.lease("t").owner == "me"
    assert store.lease("t").expires == 1010.0
    assert not store.acquire("t", "you", 10)
    assert store.acquire("other", "you", 10)              # leases are per thread
    assert store.acquire("t", "me", 10)                   # the holder may take it again
    clock.now += 9
    assert store.renew("t", "me", 10) and store.lease("t").expires == 1019.0
    assert not store.renew("t", "you", 10)
    store.release("t", "you")                             # not yours: nothing happens
    assert store.lease("t").owner == "me"
    clock.now += 10                                       # expired: anyone may take it
    assert store.lease("t") is None
    assert store.acquire("t", "you", 10)
    assert not store.renew("t", "me", 10)                 # the old holder learns it lost it
    store.release("t", "you")
    assert store.lease("t") is None and store.acquire("t", "me", 10)


def test_owner_ids_are_unique_and_name_this_process() -> None:
    first, second = new_owner(), new_owner()
    assert first != second
    assert first.split(":")[1] == second.split(":")[1] == str(__import__("os").getpid())
    assert not owner_is_gone(first)                        # this very process


def test_a_lease_of_a_process_that_is_gone_is_taken_at_once() -> None:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    host = new_owner().split(":")[0]
    dead = f"{host}:{child.stdout.strip()}:1"
    assert owner_is_gone(dead)
    assert not owner_is_gone(f"another-host:{child.stdout.strip()}:1")   # cannot tell: wait for expiry
    assert not owner_is_gone("garbage")
    store = MemoryStore()
    assert store.acquire("t", dead, 60)
    assert store.lease("t") is None and store.acquire("t", "me", 60)


# ------------------------------------------------------------------ invoke and stream hold it


def test_invoke_on_a_run_another_caller_holds_runs_nothing_and_writes_nothing(store: JsonMemoryStore) -> None:
    graph = make_graph(ask_then_tick(), store)
    graph.invoke({}, thread="t")
    before, appends = store.dump("t"), store.appends
    assert store.acquire("t", "elsewhere:1:1", 60)
    for attempt in (lambda: graph.invoke(Command(resume=True), thread="t"),
                    lambda: graph.invoke(None, thread="t"),
                    lambda: graph.stream(Command(resume=True), thread="t")):
        with pytest.raises(RunBusyError, match=r"the run of thread `t` is busy: .*held by elsewhere:1:1") as caught:
            attempt()
        assert isinstance(caught.value, StoreConflictError) and caught.value.thread == "t"
    assert calls_fixture.CALLS["tick:a"] == 0
    assert store.dump("t") == before and store.appends == appends
    assert store.lease("t").owner == "elsewhere:1:1"      # the loser did not release another's lease
    store.release("t", "elsewhere:1:1")
    assert graph.invoke(Command(resume=True), thread="t").status == "done"


class Recording(JsonMemoryStore):
    """Logs which store calls an invoke makes, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    def acquire(self, thread: str, owner: str, ttl_s: float) -> bool:
        self.log.append("acquire")
        return super().acquire(thread, owner, ttl_s)

    def release(self, thread: str, owner: str) -> None:
        self.log.append("release")
        super().release(thread, owner)

    def renew(self, thread: str, owner: str, ttl_s: float) -> bool:
        self.log.append("renew")
        return super().renew(thread, owner, ttl_s)

    def head(self, thread: str) -> int:
        self.log.append("head")
        return super().head(thread)

    def thread(self, thread: str) -> Any:
        self.log.append("thread")
        return super().thread(thread)

    def latest(self, thread: str) -> Any:
        self.log.append("latest")
        return super().latest(thread)

    def append(self, info: Any, checkpoint: Any, changed: Any, *, durable: bool = False) -> None:
        self.log.append("append")
        super().append(info, checkpoint, changed, durable=durable)


def test_the_lease_is_taken_before_the_run_is_read_and_released_after_the_last_write() -> None:
    store = Recording()
    graph = make_graph(ask_then_tick(), store)
    graph.invoke({}, thread="t")
    assert store.log.index("acquire") < store.log.index("append") and store.log[-1] == "release"
    store.log.clear()
    graph.invoke(Command(resume=True), thread="t")
    # Checked first without it (a refusal must write nothing, not even a
    # lease), then read again under it: the run planned is the current one.
    at = store.log.index("acquire")
    assert store.log[:at] == ["thread", "latest"]
    assert store.log[at:at + 2] == ["acquire", "head"]    # nothing appended since: the plan stands
    assert store.log[-2:] == ["append", "release"] and store.log.count("acquire") == 1


def test_a_run_advanced_between_the_check_and_the_lease_is_planned_again() -> None:
    class Racing(Recording):
        """Another caller answers the interrupt just before this one takes the lease."""

        racer: Any = None

        def acquire(self, thread: str, owner: str, ttl_s: float) -> bool:
            racer, self.racer = self.racer, None
            if racer is not None:
                assert racer.invoke(Command(resume=False), thread=thread).status == "done"
            return super().acquire(thread, owner, ttl_s)

    store = Racing()
    graph = make_graph(ask_then_tick(), store)
    graph.invoke({}, thread="t")
    store.racer = make_graph(ask_then_tick(), store)
    with pytest.raises(ResumeError):         # planned against the current run: nothing is waiting
        graph.invoke(Command(resume=True), thread="t")
    assert graph.state("t").state == {"ok": False, "n": 1} and calls_fixture.CALLS["tick:a"] == 1
    assert store.lease("t") is None


def test_a_refused_call_takes_no_lease() -> None:
    store = Recording()
    graph = make_graph(ask_then_tick(), store)
    graph.invoke({}, thread="t")
    store.log.clear()
    with pytest.raises(Exception, match="expected bool"):
        graph.invoke(Command(resume="not a bool"), thread="t")
    with pytest.raises(Exception, match="in progress"):
        graph.invoke({}, thread="t")
    assert "acquire" not in store.log and "append" not in store.log


def test_the_lease_is_released_at_pause_done_failure_and_on_exceptions(store: JsonMemoryStore) -> None:
    graph = make_graph(ask_then_tick(), store)
    graph.invoke({}, thread="t")                                    # paused
    assert store.lease("t") is None
    with pytest.raises(ResumeError):                                 # rejected answer
        graph.invoke(Command(resume="not a bool"), thread="t")
    assert store.lease("t") is None
    graph.invoke(Command(resume=True), thread="t")                  # done
    assert store.lease("t") is None
    loop = flow("loop", fields=[fld("x", INT, 0)], nodes=[node("a", set_("x", add(F("x"), lit(1))))],
                edges={"start": ["a"], "a": ["a"]})
    with pytest.raises(StepLimitError):
        make_graph(loop, store).invoke({}, thread="l", step_limit=3)
    assert store.lease("l") is None


def test_a_nondeterministic_replay_fails_the_run_and_releases_the_lease(store: JsonMemoryStore) -> None:
    # Which interrupt the node reaches depends on `n`; an update changes it.
    doc = flow("f", fields=[fld("n", INT, 0)],
               nodes=[node("a", if_(bin_("==", F("n"), lit(0)), [interrupt("q", None, BOOL)],
                                    [interrupt("r", None, BOOL)]))],
               edges={"start": ["a"], "a": ["end"]})
    graph = make_graph(doc, store)
    graph.invoke({}, thread="t")
    with pytest.raises(NondeterminismError):
        graph.invoke(Command(resume=True, update={"n": 1}), thread="t")
    assert store.lease("t") is None and graph.state("t").status == "failed"


def test_stream_holds_the_lease_until_its_events_are_done_closed_or_dropped(store: JsonMemoryStore) -> None:
    graph = make_graph(refundish(), store)
    events = graph.stream({"amount": 250.0}, thread="t")
    assert store.lease("t") is not None                   # taken by the call itself
    assert next(events)["event"] == "run_start"
    with pytest.raises(RunBusyError):
        graph.invoke(None, thread="t")
    list(events)
    assert store.lease("t") is None
    events = graph.stream(Command(resume=True), thread="t")
    next(events)
    events.close()
    assert store.lease("t") is None
    graph.stream(None, thread="t")                        # never iterated, dropped at once
    assert store.lease("t") is None


def test_the_lease_is_renewed_at_checkpoints_once_a_third_of_it_has_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr(leases_module.time, "monotonic", lambda: now[0])
    store = Recording()
    doc = flow("chain", fields=[fld("x", INT, 0)],
               nodes=[node(f"n{i}", call(TICK, lit("c"), bind="r"), set_("x", add(F("x"), lit(1))))
                      for i in range(6)],
               edges={"start": ["n0"], **{f"n{i}": [f"n{i + 1}"] for i in range(5)}, "n5": ["end"]})
    graph = make_graph(doc, store)
    graph.lease_ttl = 30.0

    def slow_tick(name: str) -> int:       # each node takes 4 "seconds"
        now[0] += 4.0
        return 0

    monkeypatch.setattr(calls_fixture, "tick", slow_tick)
    from fermata.runtime import calls

    calls._functions.pop(TICK, None)
    assert graph.invoke({}, thread="t").status == "done"
    calls._functions.pop(TICK, None)
    # 24 "seconds" in all, renewals due every 10: at the checkpoints after 12 and 24.
    assert store.log.count("renew") == 2
    assert store.log.count("append") == 7


def test_a_run_whose_lease_was_taken_over_stops_before_its_next_checkpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr(leases_module.time, "monotonic", lambda: now[0])
    store = JsonMemoryStore()
    doc = flow("chain", fields=[fld("x", INT, 0)],
               nodes=[node("a", call(TICK, lit("c"), bind="r"), set_("x", lit(1))), node("b", set_("x", lit(2)))],
               edges={"start": ["a"], "a": ["b"], "b": ["end"]})
    graph = make_graph(doc, store)

    def stolen(name: str) -> int:          # the step outlives the lease; another caller takes the run
        now[0] += 100.0
        held = store.lease("t")
        store.release("t", held.owner)
        store.acquire("t", "elsewhere:1:1", 60)
        return 0

    monkeypatch.setattr(calls_fixture, "tick", stolen)
    from fermata.runtime import calls

    calls._functions.pop(TICK, None)
    with pytest.raises(RunBusyError, match="another process took the run over"):
        graph.invoke({}, thread="t")
    calls._functions.pop(TICK, None)
    assert [c.step for c in store.history("t")] == [0]    # step 1's checkpoint was never written
    assert store.lease("t").owner == "elsewhere:1:1"
