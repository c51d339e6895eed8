"""The records a run is made of, typed: statuses, checkpoint parts, and the
JSON a run is shown as.

Records stay plain dicts, typed as the ``TypedDict``s of ``record_types.py``
(for the type checker only: no cost at run time, and the stored JSON is what
it always was); statuses are ``StrEnum``s, whose members *are*
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
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from .checkpoint import Checkpoint, ThreadInfo
    from .record_types import *  # noqa: F403 - re-exported for the type checker (see below)
    from .record_types import PendingInterrupt


def __getattr__(name: str) -> object:
    """The record TypedDicts: defined in record_types.py, which no run
    imports (see its doc), and still exported here, their home for users,
    loaded the first time one is asked for (not for the import system's
    questions, such as ``__path__`` at every ``from .records import``)."""
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import record_types

    found = vars(record_types).get(name)
    if isinstance(found, type) and found.__module__ == record_types.__name__:
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


#: The keys of a pending entry that ``interrupt_json`` shows when present
#: (``child``: a child run's question, ``children.py``).
TimingKey = Literal["asked_at", "to", "deadline_at", "deadline", "remind_every_ms", "reminded", "kind", "due_at",
                    "child"]
TIMING_KEYS: tuple[TimingKey, ...] = get_args(TimingKey)


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
