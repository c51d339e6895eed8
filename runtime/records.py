"""The records a run is made of, typed: statuses, checkpoint parts, and the
JSON a run is shown as.

Records stay plain dicts (``TypedDict``: no cost at run time, and the stored
JSON is what it always was); statuses are ``StrEnum``s, whose members *are*
strings (``RunStatus.DONE == "done"``), so a status read back from a store
(a plain string) compares equal to its member. What the runtime writes into
a record or an event is the member's ``.value``, the exact ``str``: stored
bytes, IR hashes and events stay what they were, and a store may insist on
exact types.

The JSON of a run is written here once: the CLI's ``--json`` output and the
server's responses are both built by these functions, so they cannot drift.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, NotRequired, Required, TypedDict, get_args

if TYPE_CHECKING:
    from .checkpoint import Checkpoint, ThreadInfo


class RunStatus(StrEnum):
    """Where a run stands as of a checkpoint."""

    RUNNING = "running"          # between two steps (only ever the latest while a process runs it)
    INTERRUPTED = "interrupted"  # paused: waiting for answers, or at a static pause
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"      # ended by ``flow.cancel`` (``runtime/cancel.py``): takes nothing any more


class Durability(StrEnum):
    """When a run's checkpoints are forced to disk (``Flow(durability=...)``;
    docs/guide/durability.md says what each survives)."""

    OBSERVABLE = "observable"   # at every point the outside world can observe (the default)
    STEP = "step"               # at every checkpoint
    FAST = "fast"               # never: a power loss may lose any recent checkpoint


def durability_of(name: str) -> Durability:
    """The mode named ``name`` (a ``Durability`` or its value)."""
    try:
        return Durability(name)
    except ValueError:
        choices = ", ".join(repr(mode.value) for mode in Durability)
        raise ValueError(f"durability must be one of {choices}, not {name!r}") from None


class NodeStatus(StrEnum):
    """Where one node of the step in flight stands (``Checkpoint.nodes``)."""

    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


class StaticWhen(StrEnum):
    """The label of a static pause: ``interrupt before N`` / ``interrupt after N``."""

    BEFORE = "before"
    AFTER = "after"


class ErrorKind(StrEnum):
    """``RunError["kind"]`` for the failures the engine itself raises; the
    failures of a node's own code carry the kind of their ``StepFailure``
    (``runtime``, ``fail``, ``user_code``, ``policy``, ``timeout``)."""

    STEP_LIMIT = "step_limit"
    INVALID_UPDATE = "invalid_update"
    NONDETERMINISM = "nondeterminism"


class EventKind(StrEnum):
    """``event["event"]`` of what ``stream`` yields."""

    RUN_START = "run_start"
    STEP_START = "step_start"
    NODE_START = "node_start"
    NODE_END = "node_end"
    STEP_END = "step_end"
    INTERRUPT = "interrupt"
    DONE = "done"
    FAILED = "failed"


class DueKind(StrEnum):
    """What falls due for a paused run (``timers.py``, the stores' due index)."""

    DEADLINE = "deadline"
    REMINDER = "reminder"
    WAIT = "wait"          # a `wait` timer


class OutboxKind(StrEnum):
    """``event["event"]`` of an outbox event (``store.outbox()``)."""

    INTERRUPT_CREATED = "interrupt.created"
    INTERRUPT_REMINDER = "interrupt.reminder"
    INTERRUPT_EXPIRED = "interrupt.expired"
    TIMER_FIRED = "timer.fired"
    RUN_DONE = "run.done"
    RUN_FAILED = "run.failed"
    RUN_CANCELLED = "run.cancelled"


class WorkKind(StrEnum):
    """What a submission (``flow.submit``) asks a worker to do with a thread."""

    START = "start"              # a new run from an input dict
    START_BY = "start_by"        # a new run from {"input": dict, "by": who starts it}
    COMMAND = "command"          # a Command: answers, an update, a goto
    CONTINUE = "continue"        # submit(None): pass static pauses, retry a failed run


class WorkStatus(StrEnum):
    """Where a submission stands in the work queue (``runtime/store/work.py``)."""

    QUEUED = "queued"            # waiting for a worker (maybe not before a time: a busy run)
    CLAIMED = "claimed"          # a worker is applying it (until its claim expires)
    APPLIED = "applied"          # committed with the checkpoint that applied it
    REFUSED = "refused"          # the run had moved on and no longer takes it (``error`` says why)


#: A write of one node: ``[field, op, value]`` with op ``"="`` or ``"+="``
#: (a list, not a tuple: it is compared with what JSON gives back).
Write = list[Any]


class ChildQuestion(TypedDict):
    """``PendingInterrupt["child"]``: where a surfaced question of a child run
    comes from (``children.surface``)."""

    thread: str
    flow: str
    id: str                      # the child's own id and token
    token: str


class ChildAt(TypedDict):
    """``NodeRecord["child"]``: the child run a node paused or failed with."""

    flow: str
    thread: str
    seq: int                     # the child's checkpoint the parent saw


class PauseClauses(TypedDict, total=False):
    """What a node adds to its pending entry where it pauses (``steps.Pause``):
    a human task's clauses, or a timer. ``timers.stamp`` turns the lengths
    into times with the engine's clock."""

    to: list[str]                # who may answer: users and roles
    deadline: dict[str, Any]     # {"goto": node} | {"answer": value}; {"ms": n, ...} until stamped
    remind_every_ms: int
    kind: str                    # "wait": a durable timer
    due_at: str                  # a timer's (`wait until`, or stamped from `for_ms`)
    for_ms: int                  # a `wait for`'s length, until stamped


class PendingInterrupt(PauseClauses, total=False):
    """One entry of ``Checkpoint.pending``: the interrupt, the clauses the
    node paused with (``PauseClauses``), and what the engine stamps."""

    id: Required[str]                      # "node:label"
    node: Required[str]
    label: Required[str]                   # the interrupt's label, or a StaticWhen
    index: Required[int]                   # which interrupt of the node's execution (0 for static ones)
    payload: Required[Any]
    schema: Required[dict[str, Any] | None]
    token: Required[str]                   # names this very occurrence
    # Human tasks and timers (``timers.py``), stamped with the engine's clock:
    asked_at: str                          # when first reached (ISO 8601 UTC, ms)
    deadline_at: str
    reminded: int                          # reminder periods fired so far
    # Child runs (``children.py``): a child's question as its parent lists it,
    # and, on the child's own entries, the parent's thread (listed there).
    child: ChildQuestion
    parent: str


#: The keys of a pending entry that ``interrupt_json`` shows when present
#: (``child``: a child run's question, ``children.py``).
TimingKey = Literal["asked_at", "to", "deadline_at", "deadline", "remind_every_ms", "reminded", "kind", "due_at",
                    "child"]
TIMING_KEYS: tuple[TimingKey, ...] = get_args(TimingKey)


class RunError(TypedDict):
    """``Checkpoint.error`` of a failed run."""

    message: str
    type: str
    kind: str                    # an ErrorKind or a StepFailure's kind
    node: str | None
    line: int | None
    column: int | None
    path: str | None
    traceback: str | None
    attempts: NotRequired[int]


class OnceEntry(TypedDict):
    """One entry of a node's ``once`` journal: a ``call once`` that returned
    (``steps._journaled``), or a child run's output (``children.run_step``)."""

    target: str                  # the call's target, or "run FLOW"
    args_hash: str
    result: Any
    thread: NotRequired[str]     # a child run's thread


class NodeRecord(TypedDict):
    """One node's progress in the step in flight (``Checkpoint.nodes``)."""

    status: str                  # a NodeStatus
    writes: NotRequired[list[Write]]
    next: NotRequired[list[str]]
    resume: NotRequired[list[Any]]
    interrupts: NotRequired[list[str]]
    once: NotRequired[list[OnceEntry]]
    attempts: NotRequired[int]
    error: NotRequired[RunError]
    child: NotRequired[ChildAt]


class Consumed(TypedDict, total=False):
    """What a node's executions consumed: the answers, the interrupts reached,
    the ``once`` journal. A re-run of the node reads them from its record
    (every ``NodeRecord`` is one); a finished node's are kept in
    ``extra["completed"]`` for replay."""

    resume: list[Any]
    interrupts: list[str]
    once: list[OnceEntry]


class FanOutRecord(TypedDict):
    """``CheckpointExtra["fanout"][node]``: a fan-out started in the step in
    flight, its elements and their instance names (``fanout.FanOut``)."""

    items: list[Any]
    names: list[str]


class StartedRecord(TypedDict):
    """``CheckpointExtra["started"]``: who started the run (``invoke(...,
    by=...)``; recorded only when named), and when."""

    by: str
    at: str


class AnswerRecord(TypedDict):
    """One entry of ``CheckpointExtra["answered"]``: an answer the checkpoint
    applied, for the audit trail (``command.plan_command``; a deadline's
    answer is by ``timers.DEADLINE_BY``)."""

    id: str
    token: str                   # the occurrence answered
    by: str | None
    at: str
    value: Any


class FiredRecord(TypedDict):
    """One entry of ``CheckpointExtra["fired"]``: a deadline, reminder or
    ``wait`` timer that fell due (``timers.plan_firing``)."""

    id: str
    token: str
    kind: str                    # a DueKind
    due_at: str
    fired_at: str
    goto: NotRequired[str]       # a deadline that abandoned its node for this one
    answer: NotRequired[Any]     # a deadline that answered in its place
    reminder: NotRequired[int]   # a reminder: the periods elapsed since asked


class ExpiredRecord(TypedDict):
    """``CheckpointExtra["expired"][id]``: an interrupt whose deadline fired,
    so a late answer to it is refused as expired (``command.expired_message``)."""

    token: str
    at: str


class CancelRecord(TypedDict):
    """``CheckpointExtra["cancelled"]``: who cancelled the run, when, why,
    and the questions it withdrew (``cancel.py``)."""

    by: str | None
    at: str
    reason: NotRequired[str]
    withdrawn: NotRequired[list[str]]


class CheckpointExtra(TypedDict, total=False):
    """``Checkpoint.extra``: the runtime's bookkeeping, neither state nor a
    node's progress. Each key is present only when it has something to say
    (``engine._save``), so most checkpoints store ``{}``."""

    goto: list[str]              # a Command(goto=...) waiting for the step in flight to complete
    route_start: bool            # `start`'s route failed: a retry routes it again
    fanout: dict[str, FanOutRecord]         # fan-outs of the step in flight, by node
    completed: dict[str, Consumed]          # what each node of the step just completed consumed (replay)
    deadline_next: list[str]     # where fired deadlines send the run once the step in flight completes
    started: StartedRecord       # the run's first checkpoint
    answered: list[AnswerRecord]
    fired: list[FiredRecord]
    expired: dict[str, ExpiredRecord]       # by interrupt id
    cancelled: CancelRecord      # the cancelled run's last checkpoint


# --------------------------------------------------------------------------
# The JSON of a run (CLI ``--json`` and the server)
# --------------------------------------------------------------------------


def interrupt_json(entry: PendingInterrupt | dict[str, Any]) -> dict[str, Any]:
    """One pending interrupt, as every ``--json`` shows it."""
    shown = {"id": entry["id"], "node": entry["node"], "label": entry["label"], "index": entry["index"],
             "payload": entry.get("payload"), "schema": entry.get("schema"), "token": entry["token"]}
    shown.update({key: entry[key] for key in TIMING_KEYS if key in entry})
    return shown


def state_json(info: ThreadInfo, latest: Checkpoint) -> dict[str, Any]:
    """The run of ``info.thread`` as of ``latest``, as ``fermata state --json``
    prints it (needs no compiled flow: the thread's info and checkpoint only)."""
    return {"thread": info.thread, "flow": info.flow, "source": info.source,
            "status": latest.status, "step": latest.step, "checkpoint_id": latest.id,
            "state": latest.values, "next": latest.frontier,
            "interrupts": [interrupt_json(p) for p in latest.pending], "error": latest.error}


def history_json(info: ThreadInfo, checkpoints: list[Checkpoint]) -> dict[str, Any]:
    """Every checkpoint of a run, as ``fermata history --json`` (and what
    ``replay.load_history`` reads back)."""
    from .ticking import audit_trail

    return {"thread": info.to_json(), "checkpoints": [c.to_json() for c in checkpoints],
            "audit": audit_trail(checkpoints)}


def summary_json(info: ThreadInfo, latest: Checkpoint | None) -> dict[str, Any]:
    """One row of a run list, as ``fermata threads --json``."""
    return {**info.to_json(), "status": latest.status if latest else "empty",
            "step": latest.step if latest else None}
