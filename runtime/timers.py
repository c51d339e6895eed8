"""Deadlines, reminders and ``wait`` timers: what is recorded, what is due.

A pending entry (``record_types.PendingInterrupt``) of an interrupt or a timer
carries, once the engine has stamped it with its clock:

* ``asked_at``: when the node *first* paused there (a resume that re-runs
  the node and reaches it again keeps the original time: :func:`stamp`);
* ``to``: who may answer (evaluated when reached), when declared;
* ``deadline_at`` and ``deadline`` (``{"goto": NODE}`` or ``{"answer":
  VALUE}``), for ``within``;
* ``remind_every_ms`` and ``reminded`` (how many reminder periods have been
  fired), for ``remind every``;
* for a ``wait``: ``kind: "wait"`` and ``due_at``.

Nothing here reads a clock: the time is always passed in (milliseconds), so
the same functions serve the engine, ``tick`` and the stores' due index.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .clock import format_time, parse_time
from .plain import Plain
from .records import DueKind

if TYPE_CHECKING:
    from .record_types import FiredRecord, PendingInterrupt

DEADLINE_BY = "fermata:deadline"     # who "answers" when a deadline's answer is applied


def stamp(entry: PendingInterrupt, previous: PendingInterrupt | None, now: int) -> PendingInterrupt:
    """``entry`` (as the node paused) with its times. ``previous``: the
    pending entry of the same occurrence (same token) in the checkpoint the
    run resumed from, whose ``asked_at`` (and reminders) stand."""
    stamped = entry.copy()
    asked = parse_time(previous["asked_at"]) if previous is not None and "asked_at" in previous else now
    stamped["asked_at"] = format_time(asked)
    deadline = stamped.get("deadline")
    if deadline is not None and "ms" in deadline:
        stamped["deadline_at"] = format_time(asked + deadline["ms"])
        stamped["deadline"] = {k: v for k, v in deadline.items() if k != "ms"}
    if "remind_every_ms" in stamped:
        stamped["reminded"] = previous.get("reminded", 0) if previous is not None else 0
    if stamped.get("kind") == DueKind.WAIT and "for_ms" in stamped:
        stamped["due_at"] = format_time(asked + stamped.pop("for_ms"))
    return stamped


def next_reminder(entry: PendingInterrupt) -> int | None:
    """When the next reminder of ``entry`` is due (ms; None: none is)."""
    every = entry.get("remind_every_ms")
    if not isinstance(every, int) or "asked_at" not in entry:
        return None
    at: int = parse_time(entry["asked_at"]) + (entry.get("reminded", 0) + 1) * every
    if "deadline_at" in entry and at >= parse_time(entry["deadline_at"]):
        return None   # the deadline comes first: no reminder after it
    return at


def due_rows(pending: Iterable[PendingInterrupt]) -> list[tuple[str, str, str]]:
    """``(due_at, kind, id)`` of everything that will fall due for a run
    paused on ``pending``: what the stores index, so that ``tick`` finds due
    runs without decoding any checkpoint."""
    rows: list[tuple[str, str, str]] = []
    for entry in pending:
        if "parent" in entry:    # a child run's: due on its parent, which lists it (children.py)
            continue
        id_ = str(entry.get("id"))
        if entry.get("kind") == DueKind.WAIT and "due_at" in entry:
            rows.append((entry["due_at"], DueKind.WAIT.value, id_))
        if "deadline_at" in entry:
            rows.append((entry["deadline_at"], DueKind.DEADLINE.value, id_))
        reminder = next_reminder(entry)
        if reminder is not None:
            rows.append((format_time(reminder), DueKind.REMINDER.value, id_))
    return sorted(set(rows))


def next_due(pending: Iterable[PendingInterrupt]) -> str | None:
    rows = due_rows(pending)
    return rows[0][0] if rows else None


class Firing(Plain):
    """What ``tick`` does to one paused run at time ``now`` (ms)."""

    __slots__ = ("abandon", "answers", "fired", "now", "reminders")

    now: int
    answers: dict[str, tuple[PendingInterrupt, Any]]  # node -> (entry, value)
    abandon: dict[str, tuple[PendingInterrupt, str]]  # node -> (entry, goto)
    reminders: list[PendingInterrupt]                 # entries, updated
    fired: list[FiredRecord]                          # for extra["fired"]

    def __init__(self, now: int, answers: dict[str, tuple[PendingInterrupt, Any]] | None = None,
                 abandon: dict[str, tuple[PendingInterrupt, str]] | None = None,
                 reminders: list[PendingInterrupt] | None = None, fired: list[FiredRecord] | None = None) -> None:
        self.now = now
        self.answers = {} if answers is None else answers
        self.abandon = {} if abandon is None else abandon
        self.reminders = [] if reminders is None else reminders
        self.fired = [] if fired is None else fired

    @property
    def changes_run(self) -> bool:
        """Whether nodes run (a deadline or timer), or only reminders are sent."""
        return bool(self.answers or self.abandon)


def plan_firing(pending: Iterable[PendingInterrupt], now: int) -> Firing | None:
    """Everything due at ``now`` among ``pending`` (None: nothing is).

    A due timer resumes its node with null; a due deadline either answers
    (as if ``deadline.answer`` were given at ``deadline_at``) or abandons the
    node for ``deadline.goto``. Reminders of the interrupts that stay
    pending are sent once, however many periods passed (``reminded`` jumps
    to the number of periods elapsed)."""
    firing = Firing(now)
    stamp_now = format_time(now)
    for entry in pending:
        node = entry["node"]
        if entry.get("kind") == DueKind.WAIT and "due_at" in entry and parse_time(entry["due_at"]) <= now:
            firing.answers[node] = (entry, None)
            firing.fired.append({"id": entry["id"], "token": entry["token"], "kind": DueKind.WAIT.value,
                                 "due_at": entry["due_at"], "fired_at": stamp_now})
            continue
        if "deadline_at" in entry and parse_time(entry["deadline_at"]) <= now:
            action = entry.get("deadline") or {}
            record: FiredRecord = {"id": entry["id"], "token": entry["token"], "kind": DueKind.DEADLINE.value,
                                      "due_at": entry["deadline_at"], "fired_at": stamp_now}
            if "goto" in action:
                firing.abandon[node] = (entry, action["goto"])
                record["goto"] = action["goto"]
            else:
                firing.answers[node] = (entry, action.get("answer"))
                record["answer"] = action.get("answer")
            firing.fired.append(record)
            continue
        reminder = next_reminder(entry)
        if reminder is not None and reminder <= now:
            periods = (now - parse_time(entry["asked_at"])) // entry["remind_every_ms"]
            firing.reminders.append({**entry, "reminded": periods})
            firing.fired.append({"id": entry["id"], "token": entry["token"], "kind": DueKind.REMINDER.value,
                                 "due_at": format_time(reminder), "fired_at": stamp_now, "reminder": periods})
    return firing if firing.fired else None
