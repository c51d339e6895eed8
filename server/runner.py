"""Advancing runs off the event loop: one job per run at a time.

The runtime is synchronous; the server hands each start, answer and cancel
to a :class:`Runner`, whose thread pool advances the run while the request
waits (``?wait=SECONDS``) or returns at once (202). Under ``serve
--no-worker`` a job only checks and submits (``flow.submit``): the job is
then a :attr:`Job.submission`, which ``fermata worker``s apply, and
``?wait`` follows it in the store. :class:`QueueWorker` is the worker of a
serving process that advances runs (the default): it applies what other
processes submitted.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from fermata.runtime import FermataError, StoreError
from fermata.runtime.submit import Submission

from .background import BackgroundLoop

log = logging.getLogger("fermata.server")


# --------------------------------------------------------------------------
# Jobs: runs advance in a thread pool, one job per run at a time
# --------------------------------------------------------------------------


@dataclass
class Job:
    """One start or answer being carried out. ``accepted`` resolves once the
    runtime accepted it (or fails with the refusal); ``finished`` once the run
    reached its next pause or end."""

    thread: str
    accepted: Future[None] = field(default_factory=Future)
    finished: Future[None] = field(default_factory=Future)
    submission: int | None = None     # queued for the workers: `finished` is then never set


class Runner:
    """Advances runs off the event loop (the runtime is synchronous).

    Jobs of one run are serialised by a lock per run, held from the checks
    that accept a job to the end of the advance it starts: a second answer
    to the same question waits, then finds its token stale (409).
    """

    def __init__(self, workers: int = 4, borrow: Callable[[], AbstractContextManager[Any]] | None = None):
        # ``borrow()``: what a job holds while it runs (a store object of
        # its own: ``stores.py``), from its checks to the run's next pause.
        self._borrow = borrow or contextlib.nullcontext
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fermata-run")
        self._locks: dict[str, tuple[threading.Lock, int]] = {}
        self._guard = threading.Lock()

    def submit(self, thread: str, prepare: Callable[[], Iterator[Any] | Submission | None]) -> Job:
        job = Job(thread)
        self._pool.submit(self._run, job, prepare)
        return job

    def _run(self, job: Job, prepare: Callable[[], Iterator[Any] | Submission | None]) -> None:
        lock = self._acquire(job.thread)
        try:
            with self._borrow():
                self._carry_out(job, prepare)
        except BaseException as exc:  # noqa: BLE001 - no store object to be had, or it failed
            if not job.accepted.done():
                job.accepted.set_exception(exc)
            if not job.finished.done():
                job.finished.set_result(None)
        finally:
            self._release(job.thread, lock)

    def _carry_out(self, job: Job, prepare: Callable[[], Iterator[Any] | Submission | None]) -> None:
        try:
            events = prepare()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting request
            job.accepted.set_exception(exc)
            job.finished.set_result(None)
            return
        if isinstance(events, Submission):
            job.submission = events.id
            job.accepted.set_result(None)
            return
        job.accepted.set_result(None)
        try:
            for _ in events or ():
                pass
        except StoreError as exc:
            # The store failed under the run (it continues from its last
            # checkpoint later): raised on, so that its store object is replaced.
            log.warning("run %s stopped: %s", job.thread, exc)
            raise
        except FermataError as exc:
            # The run is stored as failed (a step limit, an invalid update):
            # its state says so; nothing to report to the caller here.
            log.info("run %s stopped: %s", job.thread, type(exc).__name__)
        except Exception:
            log.exception("run %s: unexpected error while advancing", job.thread)
        finally:
            job.finished.set_result(None)

    def _acquire(self, thread: str) -> threading.Lock:
        with self._guard:
            lock, users = self._locks.get(thread, (threading.Lock(), 0))
            self._locks[thread] = (lock, users + 1)
        lock.acquire()
        return lock

    def _release(self, thread: str, lock: threading.Lock) -> None:
        lock.release()
        with self._guard:
            _, users = self._locks[thread]
            if users <= 1:
                del self._locks[thread]
            else:
                self._locks[thread] = (lock, users - 1)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


class Ticker(BackgroundLoop):
    """Fires due deadlines, reminders and ``wait`` timers of the served
    flows every ``every`` seconds (``flow.tick``: each due run under its
    lease, so several processes ticking one store fire each once)."""

    thread_name = "fermata-tick"

    def __init__(self, flows: Callable[[], list[Any]], every: float):
        super().__init__()
        self.flows = flows          # -> the Flow objects to tick
        self.every = every

    def tick_once(self) -> None:
        for flow in self.flows():
            report = flow.tick()
            for thread, error in report.errors.items():
                log.warning("tick: run %s: %s", thread, error)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.tick_once()
            except Exception:
                log.exception("tick failed; trying again in %s s", self.every)


class QueueWorker(BackgroundLoop):
    """A :class:`~fermata.runtime.worker.Worker` in a thread of the serving
    process: applies the submissions of other processes (``serve
    --no-worker``, ``flow.submit``) and continues runs a killed process left
    running. Due deadlines are the :class:`Ticker`'s (``--tick``), not its."""

    thread_name = "fermata-worker"

    def __init__(self, graphs: Callable[[], list[Any]], close: Callable[[], None] | None = None):
        super().__init__()
        self.graphs = graphs        # -> the served flows, bound to a store object of this worker's own
        self.close = close

    def _loop(self) -> None:
        from fermata.runtime.worker import Worker

        def told(event: dict[str, Any]) -> None:
            if event["event"] in ("failed", "refused", "error", "lease_lost"):
                log.info("worker: %s", event)

        try:
            worker = Worker(self.graphs(), log=told, on_idle=_nothing, stop=self._stop)
            wait = worker.queue.waiter(self._stop)
            while not self._stop.is_set():
                try:
                    worker.run(wait, poll_max=1.0)
                except Exception:
                    log.exception("the worker failed; starting again in 1 s")
                    self._stop.wait(1.0)
            getattr(wait, "close", _nothing)()
        except Exception:
            log.exception("the worker could not start: submissions are left to other processes")
        finally:
            if self.close is not None:
                self.close()


def _nothing() -> None:
    return None
