"""Workers in this process: ``flow.submit`` then ``Worker.run_once``, on
memory, SQLite and PostgreSQL. Real processes (SIGTERM, SIGKILL, races) are
in test_worker_processes.py.

Time is the stores' clock: memory and SQLite take an injected one, so a
claim or lease expires by moving it, never by waiting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fermata.runtime import Command, Graph, InputError, ResumeError
from fermata.runtime.checkpoint import Store
from fermata.runtime.records import WorkStatus
from fermata.runtime.store.memory import MemoryStore
from fermata.runtime.store.sqlite import SqliteStore
from fermata.runtime.store.work import work_queue
from fermata.runtime.worker import Worker
from tests.runtime import worker_fixture
from tests.runtime.irbuild import lit
from tests.runtime.store.postgres_db import fresh_database, reset_schema, server_url
from tests.runtime.worker_fixture import approval, effects


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    server_url()
    with fresh_database() as url:
        yield url


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """``open()``: another handle on one store (memory: the same one)."""
    opened: list[Store] = []
    clock = Clock()
    memory = MemoryStore(clock=clock)
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        reset_schema(url)

    def open_() -> Store:
        store: Store
        if request.param == "memory":
            return memory
        if request.param == "sqlite":
            store = SqliteStore(tmp_path / "runs.db", clock=clock)
        else:
            from fermata.runtime.store.postgres import PostgresStore

            assert url is not None
            store = PostgresStore(url)
        opened.append(store)
        return store

    open_.clock = clock  # type: ignore[attr-defined]
    yield open_
    for store in opened:
        store.close()
    worker_fixture.HOOKS.clear()


def graph_on(store: Store, name: str = "approval") -> Graph:
    return Graph.from_ir(approval(name), store=store)


def drain(worker: Worker) -> int:
    done = 0
    while worker.run_once():
        done += 1
    return done


def test_a_submitted_run_and_answer_are_applied_by_a_worker(open_store: Callable[[], Store],
                                                            tmp_path: Path) -> None:
    ledger = str(tmp_path / "ledger")
    submitter = graph_on(open_store())
    logs: list[dict[str, Any]] = []
    worker = Worker([graph_on(open_store())], log=logs.append)
    ticket = submitter.submit({"ledger": ledger}, thread="t")
    assert submitter.state("t") is None                      # submit returns before anything ran
    assert submitter.submission(ticket.id).status == WorkStatus.QUEUED
    assert drain(worker) == 1
    assert submitter.submission(ticket.id).status == WorkStatus.APPLIED
    run = submitter.state("t")
    assert run is not None and run.status == "interrupted" and run.interrupts[0].id == "review:approval"
    answer = submitter.submit(Command(resume=True), thread="t")
    assert drain(worker) == 1
    run = submitter.state("t")
    assert run is not None and run.status == "done" and run.state["paid"] is True
    assert submitter.submission(answer.id).status == WorkStatus.APPLIED
    assert sorted(tag for _, _, tag in effects(ledger)) == ["pay", "prepare"]
    assert [e["event"] for e in logs] == ["claimed", "advanced", "paused", "claimed", "advanced", "advanced",
                                          "done"]
    assert all(e["thread"] == "t" and e["worker"] == worker.name for e in logs)


def assigned(name: str = "approval") -> dict[str, Any]:
    """``approval()`` whose question is for the role ``finance`` only."""
    doc = approval(name)
    doc["flows"][name]["nodes"]["review"]["steps"][0]["to"] = [lit("finance")]
    return doc


def test_who_submits_is_applied_with_it_and_a_wrong_role_is_refused_at_submit(
        open_store: Callable[[], Store], tmp_path: Path) -> None:
    submitter = Graph.from_ir(assigned(), store=open_store())
    worker = Worker([Graph.from_ir(assigned(), store=open_store())])
    submitter.submit({"ledger": str(tmp_path / "l")}, thread="t", by="carol")
    drain(worker)
    queue = work_queue(submitter.store)
    with pytest.raises(ResumeError, match="assigned to 'finance'"):
        submitter.submit(Command(resume=True, by="mallory", roles=("viewer",)), thread="t")
    assert queue.open_count() == 0                       # refused at submit: nothing queued
    ticket = submitter.submit(Command(resume=True, by="dave", roles=("finance",)), thread="t")
    assert drain(worker) == 1
    assert submitter.submission(ticket.id).status == WorkStatus.APPLIED   # the worker took it too
    run = submitter.state("t")
    assert run is not None and run.status == "done" and run.state["approved"] is True
    trail = submitter.audit("t")
    assert [(e["id"], e["by"]) for e in trail if e["what"] == "answered"] == [("review:approval", "dave")]
    assert [e["by"] for e in trail if e["what"] == "started"] == ["carol"]


def test_submit_by_names_who_starts_a_run_only(open_store: Callable[[], Store], tmp_path: Path) -> None:
    graph = graph_on(open_store())
    graph.submit({"ledger": str(tmp_path / "l")}, thread="t")
    with pytest.raises(InputError, match="Command\\(by="):
        graph.submit(Command(resume=True), thread="t", by="dave")
    assert work_queue(graph.store).open_count() == 1


def test_a_bad_answer_is_refused_at_submit_and_nothing_is_queued(open_store: Callable[[], Store],
                                                                 tmp_path: Path) -> None:
    graph = graph_on(open_store())
    worker = Worker([graph])
    graph.submit({"ledger": str(tmp_path / "l")}, thread="t")
    drain(worker)
    before = [c.to_json() for c in graph.store.history("t")]
    from fermata.runtime import FermataError, InputError, ResumeError

    with pytest.raises(ResumeError, match="expected bool"):
        graph.submit(Command(resume="yes"), thread="t")
    with pytest.raises(ResumeError, match="no pending interrupt `nope:x`"):
        graph.submit(Command(resume={"nope:x": True}), thread="t")
    with pytest.raises(InputError, match="run in progress"):
        graph.submit({"ledger": "x"}, thread="t")
    with pytest.raises(InputError, match="missing required field `ledger`"):
        graph.submit({}, thread="new")
    with pytest.raises(FermataError, match="no run on thread `nobody`"):
        graph.submit(Command(resume=True), thread="nobody")
    assert worker.queue.open_count() == 0
    assert not worker.run_once()
    assert [c.to_json() for c in graph.store.history("t")] == before


def test_an_answer_the_run_no_longer_takes_is_refused_when_applied(open_store: Callable[[], Store],
                                                                   tmp_path: Path) -> None:
    graph = graph_on(open_store())
    worker = Worker([graph])
    graph.submit({"ledger": str(tmp_path / "l")}, thread="t")
    drain(worker)
    first = graph.submit(Command(resume=True), thread="t")
    second = graph.submit(Command(resume=False), thread="t")    # valid when submitted
    assert drain(worker) == 2
    assert graph.submission(first.id).status == WorkStatus.APPLIED
    late = graph.submission(second.id)
    assert late.status == WorkStatus.REFUSED and late.error is not None and "nothing is pending" in late.error
    run = graph.state("t")
    assert run is not None and run.status == "done" and run.state["approved"] is True


def test_a_thread_s_submissions_are_applied_in_order(open_store: Callable[[], Store], tmp_path: Path) -> None:
    graph = graph_on(open_store())
    one, two = Worker([graph]), Worker([graph_on(open_store())])
    graph.submit({"ledger": str(tmp_path / "l")}, thread="t")
    graph.submit({"ledger": str(tmp_path / "l")}, thread="u")
    first = one.queue.claim(one.owner, one.graphs.keys(), 30)
    assert first is not None and first.thread == "t"
    second = two.queue.claim(two.owner, two.graphs.keys(), 30)
    assert second is not None and second.thread == "u"          # never the claimed one
    assert two.queue.claim(two.owner, two.graphs.keys(), 30) is None


def test_a_worker_leaves_work_of_a_flow_version_it_has_not_loaded(open_store: Callable[[], Store],
                                                                   tmp_path: Path) -> None:
    submitter = graph_on(open_store(), "approval")
    logs: list[dict[str, Any]] = []
    other = Worker([graph_on(open_store(), "other_flow")], log=logs.append)
    ticket = submitter.submit({"ledger": str(tmp_path / "l")}, thread="t")
    assert not other.run_once() and not other.run_once()
    assert [e["event"] for e in logs] == ["skipped"]                 # said once per version
    assert logs[0]["ir_hash"] == submitter.ir_hash and logs[0]["open"] == 1
    assert submitter.submission(ticket.id).status == WorkStatus.QUEUED
    assert drain(Worker([graph_on(open_store(), "approval")])) == 1
    assert submitter.submission(ticket.id).status == WorkStatus.APPLIED


def test_a_busy_run_is_left_untouched_and_its_submission_waits(open_store: Callable[[], Store],
                                                               tmp_path: Path) -> None:
    graph = graph_on(open_store())
    logs: list[dict[str, Any]] = []
    worker = Worker([graph], log=logs.append)
    graph.submit({"ledger": str(tmp_path / "l")}, thread="t")
    drain(worker)
    ticket = graph.submit(Command(resume=True), thread="t")
    holder = open_store()
    assert holder.acquire("t", "elsewhere:1:1", 60)                  # another process advances it
    before = [c.to_json() for c in graph.store.history("t")]
    assert worker.run_once()
    assert [e["event"] for e in logs][-2:] == ["claimed", "busy"]
    assert graph.submission(ticket.id).status == WorkStatus.QUEUED
    assert [c.to_json() for c in graph.store.history("t")] == before
    holder.release("t", "elsewhere:1:1")


def test_stop_finishes_the_step_and_another_worker_continues_the_run(open_store: Callable[[], Store],
                                                                      tmp_path: Path) -> None:
    ledger = str(tmp_path / "l")
    graph = graph_on(open_store())
    first = Worker([graph])
    graph.submit({"ledger": ledger}, thread="t")
    drain(first)
    graph.submit(Command(resume=True), thread="t")
    worker_fixture.HOOKS["after-review"] = first.stop.set            # SIGTERM arrives inside `review`
    assert first.run_once()
    run = graph.state("t")
    assert run is not None and run.status == "running" and run.next == ["pay"] and not run.state["paid"]
    assert graph.store.lease("t") is None                            # let go with the step's checkpoint
    assert not first.run_once()                                      # stopped
    worker_fixture.HOOKS.clear()
    second = Worker([graph_on(open_store())])
    assert second.queue.orphaned(second.graphs.keys()) == ["t"]
    assert drain(second) == 1
    run = graph.state("t")
    assert run is not None and run.status == "done"
    assert sorted(tag for _, _, tag in effects(ledger)) == ["pay", "prepare"]


def test_a_run_listed_as_orphaned_that_paused_meanwhile_is_left_alone(open_store: Callable[[], Store],
                                                                       tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The listing saw it `running`; its process then paused it and let go
    of its lease with that checkpoint, before this worker took the lease:
    continuing it would run its paused node again (one more checkpoint)."""
    graph = graph_on(open_store())
    graph.invoke({"ledger": str(tmp_path / "l")}, thread="t")
    before = [c.to_json() for c in graph.store.history("t")]
    worker = Worker([graph_on(open_store())])
    monkeypatch.setattr(worker.queue, "orphaned", lambda hashes, limit=16: ["t"])   # listed in the race window
    assert not worker.run_once()
    assert [c.to_json() for c in graph.store.history("t")] == before
    assert graph.store.lease("t") is None


class Crash(BaseException):
    """The worker's process dies here (nothing after it runs)."""


def crash() -> None:
    raise Crash


@pytest.mark.parametrize("open_store", ["memory", "sqlite"], indirect=True)
@pytest.mark.parametrize("where", ["after-review", "after-pay"])
def test_a_crashed_worker_s_answer_and_run_are_taken_over_once(open_store: Callable[[], Store],
                                                                tmp_path: Path, where: str) -> None:
    """Killed inside ``review`` (before the checkpoint that applies the
    answer: the submission is claimed again when its claim expires) or
    inside ``pay`` after its ``once`` payment (the answer was applied: the
    run is continued when its lease expires, and the payment is not made again)."""
    ledger = str(tmp_path / "l")
    clock = open_store.clock  # type: ignore[attr-defined]
    graph = graph_on(open_store())
    first = Worker([graph], lease_ttl=30)
    graph.submit({"ledger": ledger}, thread="t")
    drain(first)
    answer = graph.submit(Command(resume=True), thread="t")
    worker_fixture.HOOKS[where] = crash
    with pytest.raises(Crash):
        first.run_once()
    worker_fixture.HOOKS.clear()
    expected = WorkStatus.CLAIMED if where == "after-review" else WorkStatus.APPLIED
    assert graph.submission(answer.id).status == expected
    second = Worker([graph_on(open_store())], lease_ttl=30)
    if where == "after-review":
        assert not second.run_once()                                  # the dead worker's claim is live
    # (After `pay` the exception unwound through `stream`, which let go of the
    # lease; a real SIGKILL would not: test_worker_processes.py kills one.)
    clock.now += 31
    assert drain(second) == 1
    work = graph.submission(answer.id)
    assert work.status == WorkStatus.APPLIED and work.attempts == (2 if where == "after-review" else 1)
    run = graph.state("t")
    assert run is not None and run.status == "done"
    assert sorted(tag for _, _, tag in effects(ledger)) == ["pay", "prepare"]   # paid once


def test_a_worker_needs_flows_of_one_store(tmp_path: Path) -> None:
    from fermata.runtime import FermataError

    with pytest.raises(FermataError, match="at least one flow"):
        Worker([])
    with pytest.raises(FermataError, match="one store"):
        Worker([graph_on(MemoryStore()), graph_on(MemoryStore(), "other")])


@pytest.mark.parametrize("open_store", ["memory", "sqlite"], indirect=True)
def test_a_worker_that_loses_the_lease_mid_step_writes_nothing_more(open_store: Callable[[], Store],
                                                                     tmp_path: Path) -> None:
    """The step outlives the lease and another process takes the run: the
    worker's checkpoint is refused, it logs ``lease_lost``, and the answer
    goes back to the queue for whoever holds the run now."""
    clock = open_store.clock  # type: ignore[attr-defined]
    graph = graph_on(open_store())
    logs: list[dict[str, Any]] = []
    worker = Worker([graph], lease_ttl=1e-6, log=logs.append)   # a renewal is due at every checkpoint
    graph.submit({"ledger": str(tmp_path / "l")}, thread="t")
    drain(worker)
    before = [c.to_json() for c in graph.store.history("t")]
    answer = graph.submit(Command(resume=True), thread="t")
    other = open_store()

    def taken_over() -> None:
        clock.now += 1
        assert other.acquire("t", "elsewhere:1:1", 60)

    worker_fixture.HOOKS["after-review"] = taken_over
    assert worker.run_once()
    assert logs[-1]["event"] == "lease_lost" and "another process took the run over" in logs[-1]["message"]
    assert [c.to_json() for c in graph.store.history("t")] == before
    assert graph.submission(answer.id).status == WorkStatus.QUEUED


def test_an_idle_worker_fires_what_is_due(tmp_path: Path) -> None:
    # Workers need no cron: a poll that finds no work fires due deadlines,
    # reminders and timers (flow.tick), each under its run's lease.
    from fermata.compiler import load
    from fermata.runtime.clock import FakeClock

    (tmp_path / "cool.flow").write_text(
        "flow cool {\n    state { done: bool = false }\n"
        "    node hold {\n        wait pause for 1h\n        set done = true\n    }\n"
        "    start -> hold\n    hold -> end\n}\n", encoding="utf-8")
    clock = FakeClock("2026-12-01T09:00:00.000Z")
    flow = load(tmp_path / "cool.flow", store=MemoryStore(), clock=clock)
    assert flow.invoke({}, thread="t").status == "interrupted"
    logs: list[dict[str, Any]] = []
    worker = Worker([flow], log=logs.append)
    worker.run(exit_when_idle=True)
    assert flow.state("t").status == "interrupted"          # not due yet
    clock.advance(3_600_000)
    worker.run(exit_when_idle=True)
    assert flow.state("t").status == "done"
    assert {"event": "fired", "thread": "t", "fired": ["wait"]} in logs


@pytest.mark.postgres
def test_an_idle_worker_on_postgresql_wakes_on_a_submission_not_its_next_poll(postgres_url: str,
                                                                              tmp_path: Path) -> None:
    """``submit`` NOTIFYs: a worker idle between polls 60 s apart applies
    the submission at once (a LISTEN wake), long before its next poll."""
    import threading
    import time

    from fermata.runtime.store.postgres import PostgresStore

    reset_schema(postgres_url)
    stop = threading.Event()
    applied = threading.Event()

    def log(event: dict[str, Any]) -> None:
        if event["event"] == "paused":
            applied.set()

    worker = Worker([graph_on(PostgresStore(postgres_url))], log=log, on_idle=lambda: None, stop=stop)
    waiter = worker.queue.waiter(stop)
    runner = threading.Thread(target=worker.run, args=(waiter,), kwargs={"poll_min": 60.0, "poll_max": 60.0})
    runner.start()
    submitter = graph_on(PostgresStore(postgres_url))
    try:
        time.sleep(0.5)   # the worker found nothing and waits for its next poll, 60 s away
        began = time.monotonic()
        submitter.submit({"ledger": str(tmp_path / "ledger")}, thread="t")
        assert applied.wait(20), "the worker did not wake on the submission's NOTIFY"
        assert time.monotonic() - began < 20
    finally:
        stop.set()
        runner.join(10)
        waiter.close()  # type: ignore[attr-defined]
        submitter.store.close()
        worker.store.close()
    assert not runner.is_alive()
