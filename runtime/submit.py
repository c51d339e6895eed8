"""``flow.submit``: queue a new run or an answer for a worker to apply.

    ticket = flow.submit({"amount": 250}, thread="t1")           # a new run
    ticket = flow.submit(Command(resume={"approved": True}, by="ada"), thread="t1")

The submission is checked first, as ``invoke`` checks it, against the run
as it stands (input fields and types; the answer against the pending
interrupt's schema; an update's fields; a goto's nodes): a bad one raises
here and nothing is queued. What passes is recorded durably in the store's
work queue (``store/work.py``) and ``submit`` returns at once; a worker
(``fermata worker``, :class:`~fermata.runtime.worker.Worker`) applies it.

A worker checks it again when it applies it, because the run may have
moved on meanwhile (another answer submitted before it was applied, a
deadline): then it is ``refused`` with the reason, and the run is unchanged.

Who submits is recorded with the submission and applied with it: a
Command's ``by`` and ``roles`` (checked against a question's ``to`` here
and again by the worker; ``by`` is recorded as ``answered_by``), and a new
run's ``by`` (who started it, as ``invoke(by=...)`` records it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .command import NO_RESUME, Command, plan_command
from .errors import FermataError, InputError, SpecChangedError
from .records import RunStatus, WorkKind, WorkStatus
from .store.work import Work, check_json, work_queue

if TYPE_CHECKING:
    from .flow import Graph


@dataclass(frozen=True)
class Submission:
    """What ``submit`` recorded: read its progress with ``flow.submission(id)``."""

    id: int
    thread: str
    kind: WorkKind


def submit(graph: Graph, payload: Any, thread: str, by: str | None = None) -> Submission:
    store = graph.store
    flow = graph.compiled
    info = store.thread(thread)
    latest = store.latest(thread) if info is not None else None
    if info is not None and info.flow != flow.name:
        raise SpecChangedError(f"thread `{thread}` runs flow `{info.flow}`, not `{flow.name}`")
    if latest is not None:
        from .cancel import cancelled_error

        refused = cancelled_error(thread, latest)
        if refused is not None:      # a cancelled run takes nothing: nothing is queued
            raise refused
    if by is not None and (payload is None or isinstance(payload, Command)):
        raise InputError("submit(by=...) names who starts a run; who answers is Command(by=...)")
    queue = work_queue(store)
    if isinstance(payload, Command):
        if latest is None or info is None:
            raise FermataError(f"no run on thread `{thread}`: start one with an input dict")
        plan_command(payload, latest, flow, thread, store=store)          # raises ResumeError: nothing queued
        kind, recorded, ir_hash = WorkKind.COMMAND, command_json(payload), info.ir_hash
    elif payload is None:
        if latest is None or info is None:
            raise InputError(f"no run on thread `{thread}`: start one with an input dict")
        kind, recorded, ir_hash = WorkKind.CONTINUE, None, info.ir_hash
    else:
        if latest is not None and latest.status != RunStatus.DONE:
            raise InputError(f"thread `{thread}` has a run in progress (status {latest.status}): submit "
                             "Command(resume=...) or None to it, or start a new run on another thread")
        if queue.open_threads(thread):
            raise InputError(f"thread `{thread}` has submitted work not applied yet: a new run on it "
                             "would start from a state nobody can see; submit it when that is applied")
        if by is not None and not isinstance(by, str):
            raise InputError(f"by=... must be an identity string, not {type(by).__name__}")
        checked = flow.check_input(payload, fresh=latest is None)
        kind, ir_hash = WorkKind.START, flow.hash
        recorded = checked if by is None else {"input": checked, "by": by}
        if by is not None:
            kind = WorkKind.START_BY
    check_json(recorded)
    return Submission(queue.submit(thread, flow.name, ir_hash, kind, recorded), thread, kind)


def submission(graph: Graph, work_id: int) -> Work:
    found = work_queue(graph.store).get(work_id)
    if found is None:
        raise FermataError(f"no submission #{work_id} in {getattr(graph.store, 'label', 'the store')}")
    return found


def command_json(command: Command) -> dict[str, Any]:
    """A Command as the queue records it (``resume`` left out when not given:
    null is an answer; who answers, ``by`` and ``roles``, when given)."""
    recorded: dict[str, Any] = {}
    if command.resume is not NO_RESUME:
        recorded["resume"] = command.resume
    if command.update is not None:
        recorded["update"] = command.update
    if command.goto is not None:
        recorded["goto"] = command.goto
    if command.by is not None:
        recorded["by"] = command.by
    if command.roles:
        recorded["roles"] = list(command.roles)
    return recorded


def payload_of(work: Work) -> tuple[Any, str | None]:
    """What ``invoke`` is given to apply ``work``: its input and ``by`` (who
    starts the run; None but for a run started with ``submit(by=...)``)."""
    if work.kind == WorkKind.COMMAND:
        fields = work.payload
        return Command(resume=fields.get("resume", NO_RESUME), update=fields.get("update"),
                       goto=fields.get("goto"), by=fields.get("by"), roles=tuple(fields.get("roles", ()))), None
    if work.kind == WorkKind.CONTINUE:
        return None, None
    if work.kind == WorkKind.START_BY:
        return work.payload["input"], work.payload["by"]
    return work.payload, None


__all__ = ["Submission", "WorkStatus", "submission", "submit"]
