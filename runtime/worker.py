"""Workers: processes that apply submitted work and carry runs forward.

    worker = Worker([graph_a, graph_b])      # graphs of one store
    while worker.run_once(): ...             # or worker.run(): until stop is set

A unit of work is one of:

* a **submission** (``flow.submit``), claimed from the store's work queue
  (``store/work.py``) and applied with ``stream`` under the run's lease. It
  is marked applied in the transaction of the first checkpoint that applied
  it, so a worker killed before that leaves it to be claimed again and one
  killed after it never applies it twice;
* an **orphaned run**: a run whose newest checkpoint is ``running`` and that
  no one holds the lease of (its worker was killed, or stopped after a
  step): it is continued from that checkpoint (``invoke(None)``), with the
  ``once`` results its last holder saved.

Exactly one process advances a run: every unit runs under the run's lease
(``leases.py``: taken before anything is read, renewed at checkpoints and
``once`` results, released with the pause); a worker that finds a run busy
gives its claim back and tries again later, having run and written nothing.

A worker advances only runs of the IR versions it has loaded (the run's IR
hash): others are left for a worker that has them, and it says so in its log
once per version.

``stop`` (SIGTERM in ``fermata worker``) is checked between units and after
each step: the step in flight finishes and is checkpointed, the lease is
released, and the run is left ``running`` for any worker to continue.

Every event is one dict passed to ``log`` (``fermata worker`` prints each as
a JSON line): ``claimed``, ``advanced``, ``paused``, ``done``, ``failed``,
``refused``, ``busy``, ``lease_lost``, ``skipped``, ``error``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .checkpoint import new_owner
from .errors import FermataError, RunBusyError, StoreError
from .flow import Graph
from .records import Durability, EventKind, RunStatus, WorkStatus
from .store.logstore import LogStore
from .store.work import Work, work_queue
from .submit import payload_of

#: Seconds a worker's run leases and claims last without renewal.
DEFAULT_WORKER_LEASE = 30.0
#: How long a busy run's submission waits before it is claimed again.
BUSY_BACKOFF_S = 0.5

Log = Callable[[dict[str, Any]], None]


def _no_log(event: dict[str, Any]) -> None:
    return None


class Worker:
    """Applies the work of one store for the flows of ``graphs`` (see the module's doc)."""

    def __init__(self, graphs: Iterable[Graph], *, name: str | None = None,
                 lease_ttl: float = DEFAULT_WORKER_LEASE, log: Log = _no_log,
                 on_idle: Callable[[], None] | None = None, stop: threading.Event | None = None):
        self.graphs: dict[str, Graph] = {}
        for graph in graphs:
            self.graphs[graph.ir_hash] = graph
        if not self.graphs:
            raise FermataError("a worker needs at least one flow to run")
        stores = {id(graph.store) for graph in self.graphs.values()}
        if len(stores) != 1:
            raise FermataError("a worker's flows must share one store object")
        store = next(iter(self.graphs.values())).store
        if not isinstance(store, LogStore):
            raise FermataError(f"a worker needs a memory, SQLite or PostgreSQL store, not {type(store).__name__}")
        self.store: LogStore = store
        self.queue = work_queue(store)
        self.lease_ttl = lease_ttl
        for graph in self.graphs.values():
            graph.lease_ttl = lease_ttl
        self.owner = new_owner()
        self.name = name or self.owner
        self.log = log
        # Called when a poll finds nothing to do; by default the worker fires
        # what is due (deadlines, reminders, `wait` timers: ``fire_due``), so
        # a deployment with workers needs no cron running `fermata tick`.
        self.on_idle = on_idle if on_idle is not None else self.fire_due
        self.stop = stop or threading.Event()
        self._told: set[str] = set()       # IR hashes already logged as not loaded

    # ------------------------------------------------------------ one unit

    def run_once(self) -> bool:
        """Do one unit of work (a submission, else an orphaned run); False
        when there was none (or ``stop`` is set)."""
        if self.stop.is_set():
            return False
        hashes = self.graphs.keys()
        work = self.queue.claim(self.owner, hashes, self.lease_ttl)
        if work is not None:
            self._apply(work)
            return True
        for thread in self.queue.orphaned(hashes):
            if self._continue(thread):
                return True
        if self.queue.reclaim_gone():   # claims of killed workers of this host: claimable now
            return True
        self._tell_unloaded()
        return False

    def run(self, wait: Callable[[float], None] | None = None, *, poll_min: float = 0.01,
            poll_max: float = 1.0, exit_when_idle: bool = False) -> None:
        """Work until ``stop`` is set (or, with ``exit_when_idle``, until a
        poll finds nothing). ``wait(seconds)`` pauses between idle polls
        (default: wait on ``stop``); it may return early (a NOTIFY came)."""
        pause = poll_min
        waiter = wait or self.stop.wait
        while not self.stop.is_set():
            if self.run_once():
                pause = poll_min
                continue
            if self.on_idle is not None:
                self.on_idle()
            if exit_when_idle:
                return
            waiter(pause)
            pause = min(pause * 2, poll_max)

    def fire_due(self) -> int:
        """Fire every due deadline, reminder and timer of the loaded flows'
        runs (``flow.tick``: found through the store's due index, each under
        its run's lease, so workers and cron ticking at once fire it once);
        how many runs fired."""
        fired = 0
        for graph in self.graphs.values():
            if self.stop.is_set():
                break
            report = graph.tick()
            for entry in report.fired:
                self.log({"event": "fired", "thread": entry.get("thread"),
                          "fired": [f["kind"] for f in entry.get("fired", ())]})
            for thread, error in report.errors.items():
                self.log({"event": "error", "thread": thread, "error": error})
            fired += len(report.fired)
        return fired

    # ------------------------------------------------------------ applying

    def _apply(self, work: Work) -> None:
        graph = self.graphs[work.ir_hash]
        thread = work.thread
        self._event("claimed", thread, work=work.id, kind=work.kind.value, attempt=work.attempts)
        applied: list[bool] = []
        mark = self.queue.applied_action(work.id)

        def with_checkpoint(tx: Any) -> None:
            mark(tx)
            applied.append(True)

        # At `observable` durability an accepted answer makes its checkpoint
        # durable; a submitted one is on disk already (the queue's commit),
        # and until the checkpoint that applies it commits, it stays open to
        # be claimed again: that checkpoint need not wait for the disk.
        with_checkpoint.durable_elsewhere = (  # type: ignore[attr-defined]
            self.queue.durable_submissions and graph.durability == Durability.OBSERVABLE)
        self.store.with_next_append(thread, with_checkpoint)
        try:
            payload, by = payload_of(work)
            self._drive(graph, payload, thread, work.id, by=by)
        except _LeaseLost as lost:
            if not applied:
                self.queue.release(work.id, self.owner, BUSY_BACKOFF_S)
            self._event("lease_lost", thread, work=work.id, message=str(lost.__cause__))
            return
        except RunBusyError as exc:   # before anything ran: another process advances the run
            self.queue.release(work.id, self.owner, BUSY_BACKOFF_S)
            self._event("busy", thread, work=work.id, message=str(exc))
            return
        except StoreError as exc:
            if not applied:
                self.queue.release(work.id, self.owner, BUSY_BACKOFF_S)
            self._event("error", thread, work=work.id, message=str(exc))
            return
        except FermataError as exc:
            if applied:   # the run failed (and recorded it) after taking the work
                self._event("failed", thread, work=work.id, message=str(exc))
            else:         # the run had moved on: it no longer takes this
                self.queue.finish(work.id, WorkStatus.REFUSED, str(exc))
                self._event("refused", thread, work=work.id, message=str(exc))
            return
        finally:
            self.store.with_next_append(thread, None)
        if not applied:   # nothing to do (continuing a finished run)
            self.queue.finish(work.id, WorkStatus.APPLIED)

    def _continue(self, thread: str) -> bool:
        info = self.store.thread(thread)
        graph = self.graphs.get(info.ir_hash) if info is not None else None
        if graph is None:
            return False
        try:
            self._drive(graph, None, thread, None, orphan=True)
        except _NotOrphaned:
            return False
        except _LeaseLost as lost:
            self._event("lease_lost", thread, message=str(lost.__cause__))
        except RunBusyError:
            return False   # another worker took it first: nothing was run
        except StoreError as exc:
            self._event("error", thread, message=str(exc))
        except FermataError as exc:
            self._event("failed", thread, message=str(exc))
        return True

    def _drive(self, graph: Graph, payload: Any, thread: str, work_id: int | None, orphan: bool = False,
               by: str | None = None) -> None:
        """Advance ``thread`` as ``payload`` says, step by step, until it
        pauses, finishes or fails (or ``stop`` is set after a step); ``by``:
        who starts the run (a submitted start)."""
        events = graph.stream(payload, thread, by=by)   # refusals and a busy run raise here
        if orphan:
            # Listed as orphaned, but another process may have advanced it to
            # a pause or its end since (releasing its lease with that very
            # checkpoint): under this worker's lease now, look again, or
            # continuing would run its paused node a second time.
            latest = self.store.latest(thread)
            if latest is None or latest.status != RunStatus.RUNNING:
                events.close()  # type: ignore[attr-defined]  # stream's iterator: lets go of the lease
                raise _NotOrphaned()
            self._event("claimed", thread, kind="orphan")
        started = time.monotonic()
        try:
            for event in _losing_lease(events):
                kind = event["event"]
                if kind == EventKind.STEP_END:
                    self._event("advanced", thread, step=event["step"])
                    if self.stop.is_set():
                        self._event("stopped", thread, step=event["step"],
                                    message="stopping after this step; the run is left for another worker")
                        return
                elif kind == EventKind.INTERRUPT:
                    self._event("paused", thread, work=work_id, ms=_ms(started),
                                interrupts=[i["id"] for i in event["interrupts"]])
                elif kind == EventKind.DONE:
                    self._event("done", thread, work=work_id, ms=_ms(started))
                elif kind == EventKind.FAILED:
                    self._event("failed", thread, work=work_id, message=event["error"].get("message"))
        finally:
            events.close()  # type: ignore[attr-defined]  # stream's iterator: lets go of the lease

    # ------------------------------------------------------------ logging

    def _tell_unloaded(self) -> None:
        for ir_hash, count in self.queue.unloaded(self.graphs.keys()).items():
            if ir_hash not in self._told:
                self._told.add(ir_hash)
                self._event("skipped", None, ir_hash=ir_hash, open=count,
                            message="no flow this worker loaded has this IR version: its work is left "
                                    "for a worker that has it")

    def _event(self, event: str, thread: str | None, **fields: Any) -> None:
        record: dict[str, Any] = {"ts": round(time.time(), 3), "worker": self.name, "event": event}
        if thread is not None:
            record["thread"] = thread
        record.update({key: value for key, value in fields.items() if value is not None})
        self.log(record)


class _NotOrphaned(Exception):
    """A run listed as orphaned had paused or ended by the time this worker
    held its lease: there is nothing to continue."""


class _LeaseLost(Exception):
    """The run's lease expired while this worker advanced it and another
    process took the run over (a step ran longer than the lease): this
    worker stopped before writing anything more."""


def _losing_lease(events: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """``events``, a RunBusyError raised while they run (the lease was
    lost mid-run) turned into :class:`_LeaseLost`."""
    try:
        yield from events
    except RunBusyError as exc:
        raise _LeaseLost() from exc


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 2)
