"""The serving side's one service: start runs, list runs and questions, answer, cancel.

Everything the HTTP API and the pages do to runs goes through :class:`Inbox`,
so the rules (who sees what, who may answer, how a refusal is reported) are
written once. It is a client of the runtime: answers are ``Command``\\ s
given to ``Flow.stream``, which checks them before anything is stored; who
started, answered or cancelled a run is recorded by the runtime with the
checkpoints (``by=``), and read back as the run's audit trail.

Lists come from the store's indexes, never from decoding every run: runs
from ``store.list_runs`` (by thread: thread names start with their time, so
that is oldest first within a flow), questions from the due index
(``store.due``: those with a deadline, oldest deadline first) and then
``store.pending_interrupts`` (those without). One ``latest`` read per
listed question fetches its payload, schema and ``to``.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import quote

from fermata.runtime import (
    Checkpoint,
    Command,
    FermataError,
    InputError,
    ResumeError,
    RunBusyError,
    ThreadInfo,
)
from fermata.runtime.cancel import RunCancelledError, cancelled_error
from fermata.runtime.clock import default_clock, format_time
from fermata.runtime.command import expired_message
from fermata.runtime.records import DueKind, RunStatus, WorkKind, WorkStatus
from fermata.runtime.store.logstore import LogStore
from fermata.runtime.store.work import Work, work_queue
from fermata.runtime.submit import Submission
from fermata.runtime.ticking import audit_trail
from fermata.spec.ir import is_static_interrupt as is_static

from .catalog import FlowCatalog, FlowEntry
from .identity import Identity
from .runner import Job, Runner
from .serialize import history_json, state_json
from .stores import StorePool

log = logging.getLogger("fermata.server")
_T = TypeVar("_T")
_P = ParamSpec("_P")

MAX_PAGE = 200
DEFAULT_PAGE = 50
INDEX_PAGE = 200      # rows read from a store index at a time
FAR_FUTURE = "9999"   # sorts after every recorded time: "every deadline"
BUSY_WAIT = 10.0      # how long an answer waits for a run another process is advancing
BUSY_POLL = 0.05
MAX_SUBMISSION = (1 << 63) - 1    # the largest id a store's queue can hold (a BIGINT)


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


class _Busy(Exception):
    """Another process is advancing the run: try again shortly."""


class Invalid(Refused):
    status, code = 422, "invalid"


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


def new_thread(flow: str) -> str:
    """``FLOW-TIME-RANDOM``: names sort by when they were made (the run
    index pages by thread), and cannot be guessed."""
    return f"{flow}-{int(time.time() * 1000):011x}-{secrets.token_hex(4)}"


# --------------------------------------------------------------------------
# Who may do what with a question
# --------------------------------------------------------------------------


def may_answer(identity: Identity, entry: Mapping[str, Any]) -> bool:
    """Whether ``identity`` may answer the pending interrupt ``entry``.

    Without ``to`` every answerer may answer; with it, only the users it
    names and the holders of the roles it names (the runtime checks the
    same through ``Command(by=, roles=)``).
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



def _borrowing(method: Callable[Concatenate[Inbox, _P], _T]) -> Callable[Concatenate[Inbox, _P], _T]:
    """Run an :class:`Inbox` method with a store object of its thread's
    (``stores.py``): requests read and write on connections of their own."""
    def borrowing(self: Inbox, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        with self.stores.borrowed():
            return method(self, *args, **kwargs)
    functools.update_wrapper(borrowing, method)
    return borrowing


class Inbox:
    def __init__(self, catalog: FlowCatalog, stores: StorePool, runner: Runner, advance: bool = True):
        self.catalog = catalog
        self.stores = stores
        self.runner = runner
        # False (`serve --no-worker`): starts and answers are checked and
        # submitted (`flow.submit`) for `fermata worker`s to apply.
        self.advance = advance

    @property
    def store(self) -> LogStore:
        """This thread's store object (borrowed by the method running)."""
        return self.stores.current()

    # ------------------------------------------------------------ reading

    def _visible(self, identity: Identity, flow: str) -> bool:
        return flow in self.catalog and identity.sees_flow(flow)

    def _run(self, identity: Identity, thread: str) -> tuple[ThreadInfo, Checkpoint]:
        info = self.store.thread(thread)
        latest = self.store.latest(thread) if info is not None else None
        if info is None or latest is None or not self._visible(identity, info.flow):
            raise NotFound(f"no run `{thread}`")
        return info, latest

    @_borrowing
    def get_run(self, identity: Identity, thread: str) -> dict[str, Any]:
        """``fermata state --json``, plus the output and the audit trail
        (who started it, who answered what, what fired, who cancelled it)."""
        info, latest = self._run(identity, thread)
        entry = self.catalog.get(info.flow)
        assert entry is not None
        data = state_json(info, latest)
        data["output"] = {name: latest.values.get(name) for name in entry.graph.compiled.outputs}
        data["audit"] = audit_trail(self.store.history(thread))
        return data

    @_borrowing
    def history(self, identity: Identity, thread: str) -> dict[str, Any]:
        """``fermata history --json``: every checkpoint and the audit trail."""
        info, _ = self._run(identity, thread)
        return history_json(info, self.store.history(thread))

    @_borrowing
    def list_runs(self, identity: Identity, flow: str | None, status: str | None,
                  page: PageRequest) -> Page:
        """Runs by thread (oldest first within a flow), from the run index."""
        after = page.after()
        if after is not None and len(after) != 1:
            raise BadRequest("`cursor` is not a cursor this server gave")
        if status is not None and status not in set(RunStatus):
            raise BadRequest(f"`status` must be one of {', '.join(s.value for s in RunStatus)}")
        if flow is not None and not self._visible(identity, flow):
            return Page([], None)
        cursor = after[0] if after else None
        items: list[dict[str, Any]] = []
        while True:
            rows = self.store.list_runs(flow=flow, status=status, after=cursor, limit=INDEX_PAGE)
            for row in rows:
                cursor = row.thread
                if self._visible(identity, row.flow):
                    items.append({**row.to_json(), "updated_at": format_time(int(row.updated * 1000))})
                    if len(items) == page.limit:
                        return Page(items, make_cursor([row.thread]))
            if len(rows) < INDEX_PAGE:
                return Page(items, None)

    def question_json(self, identity: Identity, info: ThreadInfo, entry: Mapping[str, Any]) -> dict[str, Any]:
        return {"thread": info.thread, "flow": info.flow, "id": entry["id"], "token": entry["token"],
                "node": entry["node"], "label": entry["label"], "payload": entry.get("payload"),
                "schema": entry.get("schema"), "static": is_static(entry),
                "run_created": info.created, "asked_at": entry.get("asked_at"), "to": entry.get("to") or [],
                "deadline": entry.get("deadline_at"), "may_answer": may_answer(identity, entry)}

    @_borrowing
    def list_pending(self, identity: Identity, flow: str | None, label: str | None, page: PageRequest,
                     role: str | None = None, overdue: bool = False) -> Page:
        """The questions ``identity`` may answer: those with a deadline
        first, oldest deadline first (from the due index), then the others
        by run (from the pending index). ``role``: only those addressed to
        that role (``to``); ``overdue``: only those whose deadline passed
        (not fired yet)."""
        after = page.after()
        if flow is not None and not self._visible(identity, flow):
            return Page([], None)
        lister = _PendingLister(self, identity, label, role, page.limit)
        if after is None or after[0] == "d":
            if after is not None and len(after) != 5:
                raise BadRequest("`cursor` is not a cursor this server gave")
            before = format_time(default_clock()) if overdue else FAR_FUTURE
            key = (after[1], after[2], after[3], after[4]) if after else None
            while True:
                due = self.store.due(before, flow=flow, after=key, limit=INDEX_PAGE)
                for row in due:
                    key = row.key
                    if row.kind == DueKind.DEADLINE and lister.add(["d", *row.key], row.thread, row.id, True):
                        return lister.page()
                if len(due) < INDEX_PAGE:
                    break
            if overdue:
                return lister.page(last=True)
            after = None
        if after is not None and (after[0] != "p" or len(after) != 3):
            raise BadRequest("`cursor` is not a cursor this server gave")
        pkey = (after[1], after[2]) if after else None
        while True:
            rows = self.store.pending_interrupts(flow=flow, label=label, after=pkey, limit=INDEX_PAGE)
            for prow in rows:
                pkey = prow.key
                if lister.add(["p", *prow.key], prow.thread, prow.id, False):
                    return lister.page()
            if len(rows) < INDEX_PAGE:
                return lister.page(last=True)

    @_borrowing
    def get_question(self, identity: Identity, thread: str, key: str) -> dict[str, Any]:
        info, latest = self._run(identity, thread)
        return self.question_json(identity, info, self._pending(info, latest, key))

    def _pending(self, info: ThreadInfo, latest: Checkpoint, key: str) -> Mapping[str, Any]:
        """The pending entry named by ``key`` (an id or a token), or the refusal:
        409 for a question of this run that is no longer pending (a stale
        token, an answered id, an expired deadline, a cancelled run), 404 for
        a name this run never had."""
        for entry in latest.pending:
            if key in (entry["id"], entry["token"]):
                return entry
        cancelled = cancelled_error(info.thread, latest)
        if cancelled is not None:
            raise Conflict(str(cancelled))
        expired = expired_message({key: None}, latest)
        if expired is not None:
            raise Conflict(expired)
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
        thread = new_thread(flow)

        def prepare() -> Iterator[Any] | Submission:
            graph = self.stores.graph(entry)
            try:
                if not self.advance:
                    return graph.submit(data, thread=thread, by=identity.name)
                return graph.stream(data, thread=thread, by=identity.name)
            except InputError as exc:
                raise Invalid(f"invalid input for flow `{flow}`", exc.problems or [str(exc)]) from None
            except FermataError as exc:  # e.g. a store that refuses the write
                raise Conflict(str(exc)) from None

        return self.runner.submit(thread, prepare)

    @_borrowing
    def answer(self, identity: Identity, thread: str, key: str, value: Any) -> Job:
        """Answer the question ``key`` (an id or a token) of run ``thread``.

        Every check runs in the run's job, under its lock, so that what is
        checked is what is answered."""
        info, _ = self._run(identity, thread)       # 404 before queueing anything
        entry_flow = self.catalog.get(info.flow)
        assert entry_flow is not None

        def prepare() -> Iterator[Any] | Submission | None:
            # A run another process is advancing right now (its lease is held,
            # or its newest checkpoint is between two steps) is waited for a
            # little: it is about to pause or end, and the answer is checked
            # against what it then waits for.
            give_up = time.monotonic() + BUSY_WAIT
            while True:
                try:
                    return attempt()
                except _Busy as busy:
                    if time.monotonic() >= give_up:
                        raise Conflict(f"run `{thread}` is busy: {busy}") from None
                    time.sleep(BUSY_POLL)

        def attempt() -> Iterator[Any] | Submission | None:
            info, latest = self._run(identity, thread)
            if latest.status == RunStatus.RUNNING and not any(key in (p["id"], p["token"]) for p in latest.pending):
                raise _Busy("another process is advancing it (status running)")
            entry = self._pending(info, latest, key)
            if not may_answer(identity, entry):
                raise Forbidden(f"`{identity.name}` may not answer `{entry['id']}`")
            # By token: the answer is for this very occurrence, never a later one.
            # Who answers is recorded with the answer (and checked against `to`
            # by the runtime too): the roles of `to` this identity holds.
            roles = tuple(role for role in entry.get("to") or () if identity.has(role))
            command = None if is_static(entry) else Command(resume={entry["token"]: value}, by=identity.name,
                                                            roles=roles)
            graph = self.stores.graph(entry_flow)
            try:
                if not self.advance:
                    return graph.submit(command, thread=thread)
                return graph.stream(command, thread=thread)
            except RunCancelledError as exc:
                raise Conflict(str(exc)) from None
            except RunBusyError as exc:
                raise _Busy(str(exc)) from None
            except ResumeError as exc:
                if "expired at" in str(exc) and not exc.located:
                    raise Conflict(str(exc)) from None
                raise Invalid(f"the answer to `{entry['id']}` was refused; the run is unchanged",
                              exc.problems or [str(exc)], exc.located.get(entry["id"])) from None
            except FermataError as exc:
                # Another process advanced the run first (StoreConflictError), the
                # spec changed under it (SpecChangedError): the run moved on.
                raise Conflict(str(exc)) from None

        return self.runner.submit(thread, prepare)

    @_borrowing
    def get_submission(self, identity: Identity, work_id: int) -> dict[str, Any]:
        """A start or answer submitted for the workers (``serve --no-worker``):
        queued, claimed, applied, or refused with the reason. Seen by whoever
        may see its flow's runs, as runs are; 404 for the others."""
        work = work_queue(self.store).get(work_id) if 1 <= work_id <= MAX_SUBMISSION else None
        if work is None or not self._visible(identity, work.flow):
            raise NotFound(f"no submission #{work_id}")
        return submission_json(work)

    @_borrowing
    def submitted(self, thread: str, work_id: int) -> bool:
        """Whether submission ``work_id`` (of run ``thread``) was applied and
        the run has paused or ended since; a submission the run no longer
        took when a worker applied it is :class:`Conflict`."""
        work = work_queue(self.store).get(work_id)
        if work is None:
            raise NotFound(f"no submission #{work_id}")
        if work.status == WorkStatus.REFUSED:
            raise Conflict(f"run `{thread}` did not take it when a worker applied it: {work.error}")
        if work.status != WorkStatus.APPLIED:
            return False
        latest = self.store.latest(thread)
        return latest is not None and latest.status != RunStatus.RUNNING

    @_borrowing
    def cancel(self, identity: Identity, thread: str) -> Job:
        """Cancel run ``thread`` (role ``starter``), in the run's job."""
        info, _ = self._run(identity, thread)
        if not identity.has("starter"):
            raise Forbidden(f"`{identity.name}` may not cancel runs (role `starter` needed)")
        entry_flow = self.catalog.get(info.flow)
        assert entry_flow is not None

        def prepare() -> None:
            try:
                self.stores.graph(entry_flow).cancel(thread, by=identity.name)
            except FermataError as exc:   # done or cancelled already, or being advanced right now
                raise Conflict(str(exc)) from None

        return self.runner.submit(thread, prepare)

    def flow(self, identity: Identity, name: str) -> FlowEntry:
        entry = self.catalog.get(name)
        if entry is None or not identity.sees_flow(name):
            raise NotFound(f"no flow `{name}`")
        return entry

    def flows(self, identity: Identity) -> list[FlowEntry]:
        return [e for e in self.catalog.entries() if identity.sees_flow(e.name)]


def run_url(thread: str) -> str:
    return f"/api/runs/{quote(thread, safe='')}"


def submission_url(work_id: int) -> str:
    return f"/api/submissions/{work_id}"


def submission_json(work: Work) -> dict[str, Any]:
    """A submission as the API shows it: what it asks (a run started
    with who starts it is a `start`), where it stands, and why a worker
    refused it. Its payload (an input, an answer) is not shown: the run
    shows it once applied."""
    kind = WorkKind.START if work.kind == WorkKind.START_BY else work.kind
    return {"id": work.id, "thread": work.thread, "flow": work.flow, "kind": kind.value,
            "status": work.status.value, "reason": work.error,
            "run_url": run_url(work.thread)}


class _PendingLister:
    """Collects one page of questions, reading each listed run's latest
    checkpoint once (for the question's payload, schema and ``to``)."""

    def __init__(self, inbox: Inbox, identity: Identity, label: str | None, role: str | None, limit: int):
        self.inbox, self.identity, self.label, self.role, self.limit = inbox, identity, label, role, limit
        self.items: list[tuple[list[str], dict[str, Any]]] = []
        self._runs: dict[str, tuple[ThreadInfo, Checkpoint] | None] = {}

    def full(self) -> bool:
        return len(self.items) >= self.limit

    def add(self, key: list[str], thread: str, id_: str, with_deadline: bool) -> bool:
        """Add the question if it is listed; whether the page is now full."""
        found = self._run(thread)
        if found is None:
            return False
        info, latest = found
        entry = next((p for p in latest.pending if p["id"] == id_), None)
        if entry is None or latest.status != RunStatus.INTERRUPTED or entry.get("kind") == DueKind.WAIT:
            return False
        if bool(entry.get("deadline_at")) != with_deadline:
            return False    # listed in the other part of the inbox
        if self.label is not None and entry["label"] != self.label:
            return False
        if self.role is not None and self.role not in (entry.get("to") or ()):
            return False
        if not may_answer(self.identity, entry):
            return False
        self.items.append((key, self.inbox.question_json(self.identity, info, entry)))
        return self.full()

    def _run(self, thread: str) -> tuple[ThreadInfo, Checkpoint] | None:
        if thread not in self._runs:
            try:
                self._runs[thread] = self.inbox._run(self.identity, thread)
            except NotFound:
                self._runs[thread] = None
        return self._runs[thread]

    def page(self, last: bool = False) -> Page:
        more = self.full() and not last
        return Page([item for _, item in self.items], make_cursor(self.items[-1][0]) if more else None)
