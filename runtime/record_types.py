"""The record types: the shapes of the plain dicts a checkpoint is made
of (``records.py`` has the statuses they hold), for the type checker and for
the tests that hold stored records against them.

They live apart from ``records.py`` so that no run pays for them: defining a
TypedDict turns each of its (postponed, string) annotations into a
``ForwardRef``, which compiles it, ~3 ms of every start-up for these (#17).
The runtime imports them under ``if TYPE_CHECKING:`` only.
"""

from __future__ import annotations

from typing import Any, NotRequired, Required, TypedDict

from .records import Write


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
