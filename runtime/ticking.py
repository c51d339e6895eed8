"""``tick``: firing what is due, and the audit trail it leaves.

``Graph.tick`` (and ``fermata tick``, for cron) asks the store's due index
which runs have a deadline, reminder or ``wait`` timer due, then fires each
run as one checkpoint under its lease. What to fire is decided again from
the run's latest checkpoint, read under the lease (:func:`plan_tick`): the
index only says where to look, so a run fired meanwhile by another process
is left alone, and firing twice applies once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from .checkpoint import Checkpoint, Store
from .children import due_children, own_entries
from .clock import Clock, format_time, parse_time
from .command import Plan
from .errors import FermataError
from .plain import Frozen, Plain
from .records import DueKind, RunStatus
from .schemas import Schemas
from .timers import DEADLINE_BY, plan_firing

PAGE = 500
# The audit trail's "what" of a fired record, by its kind.
_FIRED: dict[str, str] = {DueKind.DEADLINE: "deadline", DueKind.REMINDER: "reminder", DueKind.WAIT: "timer"}


class Tick(Frozen):
    """One tick, at ``now`` (ms since the epoch)."""

    __slots__ = ("now",)

    now: Final[int]

    def __init__(self, now: int) -> None:
        self.now = now

    @staticmethod
    def at(now: int | str | None, clock: Clock) -> Tick:
        if now is None:
            return Tick(clock())
        if isinstance(now, str):
            return Tick(parse_time(now))
        if isinstance(now, int) and not isinstance(now, bool):
            return Tick(now)
        raise FermataError(f"tick(now=...) takes ms since the epoch or an ISO 8601 string, not {now!r}")

    @property
    def iso(self) -> str:
        return format_time(self.now)

    def due_threads(self, store: Store, flow: str | None) -> Iterator[str]:
        """Each thread (of ``flow``, when given) with something due, once,
        read from the store's due index a page at a time."""
        seen: set[str] = set()
        after: tuple[str, str, str, str] | None = None
        while True:
            page = store.due(self.iso, flow=flow, after=after, limit=PAGE)
            for row in page:
                if row.thread not in seen:
                    seen.add(row.thread)
                    yield row.thread
            if len(page) < PAGE:
                return
            after = page[-1].key


class TickReport(Plain):
    """What one ``tick`` did: per run fired, what fired and where the run
    now stands; runs skipped because another process held them; errors."""

    __slots__ = ("busy", "errors", "fired", "now")

    now: str
    fired: list[dict[str, Any]]
    busy: list[str]
    errors: dict[str, str]

    def __init__(self, now: str, fired: list[dict[str, Any]] | None = None, busy: list[str] | None = None,
                 errors: dict[str, str] | None = None) -> None:
        self.now = now
        self.fired = [] if fired is None else fired
        self.busy = [] if busy is None else busy
        self.errors = {} if errors is None else errors

    def to_json(self) -> dict[str, Any]:
        return {"now": self.now, "fired": self.fired, "busy": self.busy, "errors": self.errors}


def plan_tick(tick: Tick, latest: Checkpoint, schemas: Schemas) -> Plan | None:
    """The plan that fires what is due on ``latest`` (None: nothing is).

    A deadline's ``answer`` is applied exactly as an answer given at
    ``deadline_at`` by ``fermata:deadline`` (checked against the expected
    type like any other); a due timer resumes its node with null."""
    if latest.status != RunStatus.INTERRUPTED:
        return None
    # A child run's entries (surfaced) are fired by the child, when the
    # parent's node re-runs and ticks it (``children.py``).
    firing = plan_firing(own_entries(latest.pending), tick.now)
    children = due_children(latest.pending, tick.now)
    if firing is None and not children:
        return None
    plan = Plan(firing=firing, tick_at=tick.now if children else None)
    if firing is None:
        return plan
    for node, (entry, value) in firing.answers.items():
        if entry.get("kind") == DueKind.WAIT:
            plan.answers[node] = None
            continue
        problems = schemas.violations(entry.get("schema"), value)
        if problems:
            raise FermataError(f"the deadline answer of `{entry['id']}` does not match its expected type: "
                               + "; ".join(problems))
        value = schemas.conform(entry.get("schema"), value)
        plan.answers[node] = value
        plan.answered.append({"id": entry["id"], "token": entry["token"], "by": DEADLINE_BY,
                              "at": entry["deadline_at"], "value": value})
    return plan


def audit_trail(history: list[Checkpoint]) -> list[dict[str, Any]]:
    """Who was asked what and when, who answered what and when, and which
    deadlines, reminders and timers fired: read from the checkpoints."""
    trail: list[dict[str, Any]] = []
    asked: set[str] = set()
    for checkpoint in history:
        where = {"checkpoint_id": checkpoint.id, "step": checkpoint.step}
        if "started" in checkpoint.extra:
            trail.append({"what": "started", **where, **checkpoint.extra["started"]})
        for answer in checkpoint.extra.get("answered", ()):
            trail.append({"what": "answered", **where, **answer})
        for fired in checkpoint.extra.get("fired", ()):
            trail.append({**where, **fired, "what": _FIRED[fired["kind"]]})
        for entry in checkpoint.pending:
            if entry["token"] in asked:
                continue
            asked.add(entry["token"])
            trail.append({"what": "wait" if entry.get("kind") == DueKind.WAIT else "asked", **where,
                          "id": entry["id"], "token": entry["token"], "at": entry.get("asked_at"),
                          **{k: entry[k] for k in ("to", "deadline_at", "deadline", "remind_every_ms", "due_at")
                             if k in entry}})
        if "cancelled" in checkpoint.extra:
            trail.append({"what": "cancelled", **where, **checkpoint.extra["cancelled"]})
    return trail
