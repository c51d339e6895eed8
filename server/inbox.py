"""The serving side's one service: start runs, list runs and questions, answer.

Everything the HTTP API and the pages do to runs goes through :class:`Inbox`,
so the rules (who sees what, who may answer, how a refusal is reported) are
written once. It is a client of the runtime: answers are ``Command``\\ s
given to ``Flow.stream``, which checks them before anything is stored.

Today the inbox is found by scanning ``store.threads()`` and each run's
latest checkpoint, which costs one read per run. The stores now keep a run
index (``store.list_runs`` / ``store.pending_interrupts``, paged by thread);
switching :meth:`Inbox._visible_runs` to it still needs the index to order by
``created`` (newest first here) and to carry each question's payload and
schema, or one ``latest`` read per listed run only.

Facts the runtime does not record yet are treated as absent, by design:

* ``to`` (who may answer): recorded by the runtime when declared; without
  it every identity with the ``answerer`` role may answer every question it
  can see (:func:`may_answer`);
* deadlines: ``deadline`` is the question's ``deadline_at`` (null: none);
  the server does not fire them yet (``fermata tick`` does);
* ``answered_by``: recorded by the runtime with each answer, and in the
  server's :class:`AuditLog`;
* cancel: the runtime has no cancelled state, so :meth:`Inbox.cancel`
  refuses with 501 rather than fake one at the edge.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from fermata.runtime import (
    Checkpoint,
    Command,
    FermataError,
    InputError,
    ResumeError,
    Store,
    ThreadInfo,
)
from fermata.runtime.records import RunStatus
from fermata.spec.ir import is_static_interrupt as is_static

from .audit import AuditEntry, AuditLog, now
from .catalog import FlowCatalog, FlowEntry
from .identity import Identity
from .serialize import history_json, state_json, summary_json

log = logging.getLogger("fermata.server")

MAX_PAGE = 200
DEFAULT_PAGE = 50


# --------------------------------------------------------------------------
# Refusals: each carries its HTTP status, so the API and the pages agree
# --------------------------------------------------------------------------


class Refused(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, problems: list[str] | None = None,
                 located: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []
        self.located = located or []   # (path in the value, message): placed beside form fields

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.problems:
            body["problems"] = self.problems
        return body


class BadRequest(Refused):
    status, code = 400, "bad_request"


class Forbidden(Refused):
    status, code = 403, "forbidden"


class NotFound(Refused):
    status, code = 404, "not_found"


class Conflict(Refused):
    status, code = 409, "conflict"


class Invalid(Refused):
    status, code = 422, "invalid"


class NotImplementedYet(Refused):
    status, code = 501, "not_implemented"


# --------------------------------------------------------------------------
# Paging
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PageRequest:
    cursor: str | None = None
    limit: int = DEFAULT_PAGE

    def after(self) -> list[Any] | None:
        """The sort key of the last item of the previous page."""
        if not self.cursor:
            return None
        try:
            key = json.loads(base64.urlsafe_b64decode(self.cursor.encode("ascii") + b"=="))
        except (ValueError, UnicodeError):
            raise BadRequest("`cursor` is not a cursor this server gave") from None
        if not isinstance(key, list) or not all(isinstance(k, str) for k in key):
            raise BadRequest("`cursor` is not a cursor this server gave")
        return key


def make_cursor(key: list[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode("ascii").rstrip("=")


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor}


def _page(rows: list[tuple[list[str], dict[str, Any]]], page: PageRequest) -> Page:
    """``rows`` are (sort key, item), already sorted by key."""
    after = page.after()
    if after is not None:
        rows = [row for row in rows if row[0] > after]
    chosen = rows[:page.limit]
    more = len(rows) > page.limit
    return Page([item for _, item in chosen], make_cursor(chosen[-1][0]) if more and chosen else None)


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


class Runner:
    """Advances runs off the event loop (the runtime is synchronous).

    Jobs of one run are serialised by a lock per run, held from the checks
    that accept a job to the end of the advance it starts: a second answer
    to the same question waits, then finds its token stale (409).
    """

    def __init__(self, workers: int = 4):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fermata-run")
        self._locks: dict[str, tuple[threading.Lock, int]] = {}
        self._guard = threading.Lock()

    def submit(self, thread: str, prepare: Callable[[], Iterator[Any] | None]) -> Job:
        job = Job(thread)
        self._pool.submit(self._run, job, prepare)
        return job

    def _run(self, job: Job, prepare: Callable[[], Iterator[Any] | None]) -> None:
        lock = self._acquire(job.thread)
        try:
            try:
                events = prepare()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting request
                job.accepted.set_exception(exc)
                job.finished.set_result(None)
                return
            job.accepted.set_result(None)
            try:
                for _ in events or ():
                    pass
            except FermataError as exc:
                # The run is stored as failed (a step limit, an invalid update):
                # its state says so; nothing to report to the caller here.
                log.info("run %s stopped: %s", job.thread, type(exc).__name__)
            except Exception:
                log.exception("run %s: unexpected error while advancing", job.thread)
            finally:
                job.finished.set_result(None)
        finally:
            self._release(job.thread, lock)

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


# --------------------------------------------------------------------------
# Who may do what with a question
# --------------------------------------------------------------------------


def may_answer(identity: Identity, entry: Mapping[str, Any]) -> bool:
    """Whether ``identity`` may answer the pending interrupt ``entry``.

    The runtime does not record `to` on interrupts yet: absent, every
    answerer may answer. When it does, an entry's ``to`` (roles or user
    names) will narrow this here, and only here.
    """
    if not identity.has("answerer"):
        return False
    to = entry.get("to")
    if not to:
        return True
    return identity.name in to or any(identity.has(role) for role in to)


# --------------------------------------------------------------------------
# The service
# --------------------------------------------------------------------------


class Inbox:
    def __init__(self, catalog: FlowCatalog, store: Store, audit: AuditLog, runner: Runner):
        self.catalog = catalog
        self.store = store
        self.audit = audit
        self.runner = runner

    # ------------------------------------------------------------ reading

    def _visible(self, identity: Identity, info: ThreadInfo | None) -> bool:
        return info is not None and info.flow in self.catalog and identity.sees_flow(info.flow)

    def _run(self, identity: Identity, thread: str) -> tuple[ThreadInfo, Checkpoint]:
        info = self.store.thread(thread)
        latest = self.store.latest(thread) if info is not None else None
        if info is None or latest is None or not self._visible(identity, info):
            raise NotFound(f"no run `{thread}`")
        return info, latest

    def _visible_runs(self, identity: Identity) -> Iterator[tuple[ThreadInfo, Checkpoint]]:
        for info in self.store.threads():
            if self._visible(identity, info):
                latest = self.store.latest(info.thread)
                if latest is not None:
                    yield info, latest

    def get_run(self, identity: Identity, thread: str) -> dict[str, Any]:
        """``fermata state --json``, plus the output and who did what."""
        info, latest = self._run(identity, thread)
        entry = self.catalog.get(info.flow)
        assert entry is not None
        data = state_json(info, latest)
        data["output"] = {name: latest.values.get(name) for name in entry.graph.compiled.outputs}
        data["audit"] = [e.to_json() for e in self.audit.for_thread(thread)]
        return data

    def history(self, identity: Identity, thread: str) -> dict[str, Any]:
        info, _ = self._run(identity, thread)
        data = history_json(info, self.store.history(thread))
        data["audit"] = [e.to_json() for e in self.audit.for_thread(thread)]
        return data

    def list_runs(self, identity: Identity, flow: str | None, status: str | None,
                  page: PageRequest) -> Page:
        """Newest first."""
        rows = []
        for info, latest in self._visible_runs(identity):
            if (flow is None or info.flow == flow) and (status is None or latest.status == status):
                rows.append((info, latest))
        rows.sort(key=lambda r: (r[0].created, r[0].thread), reverse=True)
        # The cursor compares ascending keys: invert the order with a rank.
        keyed = [([f"{i:012d}", info.thread], summary_json(info, latest))
                 for i, (info, latest) in enumerate(rows)]
        return _page(keyed, page)

    def question_json(self, identity: Identity, info: ThreadInfo, entry: Mapping[str, Any]) -> dict[str, Any]:
        return {"thread": info.thread, "flow": info.flow, "id": entry["id"], "token": entry["token"],
                "node": entry["node"], "label": entry["label"], "payload": entry.get("payload"),
                "schema": entry.get("schema"), "static": is_static(entry),
                "run_created": info.created, "to": entry.get("to") or [],
                "deadline": entry.get("deadline_at"), "may_answer": may_answer(identity, entry)}

    def list_pending(self, identity: Identity, flow: str | None, label: str | None,
                     page: PageRequest) -> Page:
        """The questions ``identity`` may answer, oldest run first (deadlines
        come first once the runtime records them)."""
        rows = []
        for info, latest in self._visible_runs(identity):
            if latest.status != RunStatus.INTERRUPTED or (flow is not None and info.flow != flow):
                continue
            for entry in latest.pending:
                if (label is None or entry["label"] == label) and may_answer(identity, entry):
                    rows.append(([info.created, info.thread, entry["id"]],
                                 self.question_json(identity, info, entry)))
        rows.sort(key=lambda r: r[0])
        return _page(rows, page)

    def get_question(self, identity: Identity, thread: str, key: str) -> dict[str, Any]:
        info, latest = self._run(identity, thread)
        return self.question_json(identity, info, self._pending(info, latest, key))

    def _pending(self, info: ThreadInfo, latest: Checkpoint, key: str) -> dict[str, Any]:
        """The pending entry named by ``key`` (an id or a token), or the refusal:
        409 for a question of this run that is no longer pending (a stale
        token, an answered id), 404 for a name this run never had."""
        for entry in latest.pending:
            if key in (entry["id"], entry["token"]):
                return entry
        base = key.partition("#")[0]
        entry_flow = self.catalog.get(info.flow)
        known = {q.id for q in entry_flow.questions()} if entry_flow else set()
        if "#" in key or base in known or base.endswith((":before", ":after")):
            pending = ", ".join(f"`{p['id']}`" for p in latest.pending) or "nothing"
            raise Conflict(f"`{key}` is not pending on run `{info.thread}` any more (it was answered, "
                           f"or the run moved on; status {latest.status}, pending: {pending})")
        raise NotFound(f"no question `{key}` on run `{info.thread}`")

    # ------------------------------------------------------------ acting

    def start_run(self, identity: Identity, flow: str, data: Any) -> Job:
        entry = self.catalog.get(flow)
        if entry is None or not identity.sees_flow(flow):
            raise NotFound(f"no flow `{flow}`")
        if not identity.has("starter"):
            raise Forbidden(f"`{identity.name}` may not start runs (role `starter` needed)")
        if not isinstance(data, dict):
            raise Invalid("the input must be a JSON object of field values",
                          ["the input must be a JSON object of field values"])
        thread = f"{flow}-{uuid.uuid4().hex[:12]}"

        def prepare() -> Iterator[Any]:
            try:
                events = entry.graph.stream(data, thread=thread)
            except InputError as exc:
                raise Invalid(f"invalid input for flow `{flow}`", exc.problems or [str(exc)]) from None
            except FermataError as exc:  # e.g. a store that refuses the write
                raise Conflict(str(exc)) from None
            self.audit.record(AuditEntry(thread, "start", identity.name, now()))
            return events

        return self.runner.submit(thread, prepare)

    def answer(self, identity: Identity, thread: str, key: str, value: Any) -> Job:
        """Answer the question ``key`` (an id or a token) of run ``thread``.

        Every check runs in the run's job, under its lock, so that what is
        checked is what is answered."""
        info, _ = self._run(identity, thread)       # 404 before queueing anything
        entry_flow = self.catalog.get(info.flow)
        assert entry_flow is not None

        def prepare() -> Iterator[Any] | None:
            info, latest = self._run(identity, thread)
            if latest.status != RunStatus.INTERRUPTED:
                raise Conflict(f"run `{thread}` waits for no answer (status {latest.status})")
            entry = self._pending(info, latest, key)
            if not may_answer(identity, entry):
                raise Forbidden(f"`{identity.name}` may not answer `{entry['id']}`")
            # By token: the answer is for this very occurrence, never a later one.
            # Who answers is recorded with the answer (and checked against `to`
            # by the runtime too): the roles of `to` this identity holds.
            roles = tuple(role for role in entry.get("to") or () if identity.has(role))
            command = None if is_static(entry) else Command(resume={entry["token"]: value}, by=identity.name,
                                                            roles=roles)
            try:
                events = entry_flow.graph.stream(command, thread=thread)
            except ResumeError as exc:
                raise Invalid(f"the answer to `{entry['id']}` was refused; the run is unchanged",
                              exc.problems or [str(exc)], exc.located.get(entry["id"])) from None
            except FermataError as exc:
                # Another process advanced the run first (StoreConflictError), the
                # spec changed under it (SpecChangedError): the run moved on.
                raise Conflict(str(exc)) from None
            self.audit.record(AuditEntry(thread, "answer", identity.name, now(), latest.seq,
                                         entry["id"], entry["token"]))
            return events

        return self.runner.submit(thread, prepare)

    def cancel(self, identity: Identity, thread: str) -> None:
        self._run(identity, thread)
        if not identity.has("starter"):
            raise Forbidden(f"`{identity.name}` may not cancel runs (role `starter` needed)")
        raise NotImplementedYet("cancelling a run needs a `cancelled` state in the runtime, "
                                "which it does not have yet")

    def flow(self, identity: Identity, name: str) -> FlowEntry:
        entry = self.catalog.get(name)
        if entry is None or not identity.sees_flow(name):
            raise NotFound(f"no flow `{name}`")
        return entry

    def flows(self, identity: Identity) -> list[FlowEntry]:
        return [e for e in self.catalog.entries() if identity.sees_flow(e.name)]
