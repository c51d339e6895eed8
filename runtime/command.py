"""``Command``: resume a paused run, edit its state, redirect it.

:func:`plan_command` checks a command against the run's latest checkpoint and
turns it into a :class:`Plan`: which node gets which answer, the update, the
new frontier. Every check happens here, before anything changes, so a
rejected command (:class:`ResumeError`) leaves the stored run untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from fermata.spec.ir import is_static_interrupt as _is_static

from .checkpoint import Checkpoint, Store
from .children import plan_children
from .clock import format_time
from .errors import ResumeError
from .plain import Frozen, Plain
from .program import Program
from .records import DueKind, RunStatus
from .schemas import Violation
from .steps import where_refusal
from .timers import Firing
from .values import MAX_VALUE_DEPTH, NotJSON, json_copy

if TYPE_CHECKING:
    from .record_types import AnswerRecord, ExpiredRecord, PendingInterrupt


class _NoResume:
    def __repr__(self) -> str:
        return "NO_RESUME"


NO_RESUME: Any = _NoResume()  # "no resume value", distinct from resuming with null


class Command(Frozen):
    """What to do with a run besides giving it input.

    ``resume``: the answer to the single pending interrupt, or a dict mapping
    interrupt ids (``"node:label"``) or tokens to answers (a non-empty dict
    whose keys all contain ``:``). ``update``: field values written before the
    run continues (type-checked). ``goto``: a node name or list of names that
    replaces the nodes the run would run next. ``by``: who answers (an
    identity string, recorded with the answer as ``answered_by``); where an
    interrupt has ``to``, ``by`` or one of ``roles`` must be among its
    users/roles, or the answer is refused.
    """

    __slots__ = ("by", "goto", "resume", "roles", "update")

    resume: Final[Any]
    update: Final[dict[str, Any] | None]
    goto: Final[str | list[str] | None]
    by: Final[str | None]
    roles: Final[tuple[str, ...] | list[str]]

    def __init__(self, resume: Any = NO_RESUME, update: dict[str, Any] | None = None,
                 goto: str | list[str] | None = None, by: str | None = None,
                 roles: tuple[str, ...] | list[str] = ()) -> None:
        self.resume = resume
        self.update = update
        self.goto = goto
        self.by = by
        self.roles = roles

    @property
    def has_resume(self) -> bool:
        return self.resume is not NO_RESUME


class Plan(Plain):
    __slots__ = ("answered", "answers", "children", "firing", "goto", "tick_at", "update")

    answers: dict[str, Any]       # node -> answer to its pending interrupt
    update: dict[str, Any] | None
    goto: list[str] | None
    answered: list[AnswerRecord]  # the audit record of the answers
    firing: Firing | None         # `tick`: due deadlines, timers, reminders
    # Answers for child runs (``children.py``): by parent node instance, then child thread.
    children: dict[str, dict[str, Command]]
    tick_at: int | None  # `tick`: children with something due fire too

    def __init__(self, answers: dict[str, Any] | None = None, update: dict[str, Any] | None = None,
                 goto: list[str] | None = None, answered: list[AnswerRecord] | None = None,
                 firing: Firing | None = None, children: dict[str, dict[str, Command]] | None = None,
                 tick_at: int | None = None) -> None:
        self.answers = {} if answers is None else answers
        self.update = update
        self.goto = goto
        self.answered = [] if answered is None else answered
        self.firing = firing
        self.children = {} if children is None else children
        self.tick_at = tick_at

    @property
    def is_continue(self) -> bool:
        """``invoke(None)``: nothing answered, updated, redirected or fired."""
        return not (self.answers or self.update or self.goto is not None or self.firing is not None
                    or self.children or self.tick_at is not None)


def is_id_map(value: Any) -> bool:
    return (isinstance(value, dict) and bool(value)
            and all(isinstance(k, str) and ":" in k for k in value))


def plan_command(command: Command, latest: Checkpoint, flow: Program, thread: str, now: int = 0,
                 store: Store | None = None) -> Plan:
    """The plan of ``command`` on ``latest``; ``store`` is where the run's
    children live (their answers are checked against their own latest
    checkpoints)."""
    plan = Plan()
    if command.by is not None and not isinstance(command.by, str):
        raise ResumeError(f"Command(by=...) must be an identity string, not {type(command.by).__name__}")
    if command.has_resume:
        # What is pending is answerable, whatever the status: a run that failed
        # while a sibling node paused waits for that answer too, and the invoke
        # that takes it retries the failed node (as LangGraph does).
        if not latest.pending:
            hints: dict[str, str] = {RunStatus.FAILED: "; the run failed: retry it with invoke(None)",
                                     RunStatus.DONE: "; the run is done: start a new run with an input dict"}
            hint = hints.get(latest.status, "")
            raise ResumeError(expired_message(command.resume, latest)
                              or f"nothing is pending on thread `{thread}` (status {latest.status}){hint}")
        chosen = _answers(command.resume, latest, flow, command)
        surfaced = [(entry, value) for entry, value in chosen if "child" in entry]
        if surfaced:
            plan.children = plan_children(surfaced, flow, store, command, now)
        plan.answers = {entry["node"]: value for entry, value in chosen if "child" not in entry}
        at = format_time(now)
        plan.answered = [{"id": entry["id"], "token": entry["token"], "by": command.by, "at": at,
                          "value": value} for entry, value in chosen]
    if command.update is not None:
        if not isinstance(command.update, dict):
            raise ResumeError("Command(update=...) must be a dict of field values")
        problems = flow.update_problems(command.update)
        if problems:
            raise ResumeError("invalid Command(update=...):\n  - " + "\n  - ".join(problems), problems)
        plan.update = flow.conform_fields(command.update)
    if command.goto is not None:
        plan.goto = _goto(command.goto, flow)
    return plan


def _answers(resume: Any, latest: Checkpoint, flow: Program,
             command: Command) -> list[tuple[PendingInterrupt, Any]]:
    """``(pending entry, checked answer)`` of each interrupt ``resume`` answers."""
    pending = latest.pending
    dynamic = [p for p in pending if not _is_static(p) and p.get("kind") != DueKind.WAIT]
    if is_id_map(resume):
        chosen = _by_key(resume, pending, latest)
    elif not dynamic:
        # Only static gates wait: a bare value can be meant for nothing but them.
        chosen = [(p, resume) for p in pending]
    elif len(dynamic) > 1:
        ids = ", ".join(f"`{p['id']}`" for p in dynamic)
        raise ResumeError(f"{len(dynamic)} interrupts are pending ({ids}): answer them by id, "
                          "e.g. Command(resume={\"" + dynamic[0]["id"] + "\": value})")
    else:
        # The one dynamic interrupt takes the value. A static gate pending
        # beside it (the engine pauses for those only at a step boundary, where
        # no dynamic one waits) would be passed by the resume, as by invoke(None).
        chosen = [(dynamic[0], resume)]
    _refuse_values_for_static_gates(chosen)
    _refuse_timers(chosen)
    _refuse_unassigned(chosen, command)
    answers: list[tuple[PendingInterrupt, Any]] = []
    located: dict[str, list[tuple[str, str]]] = {}   # (path, message) by interrupt id
    for entry, value in chosen:
        if "child" in entry:      # a child's: checked by the child's own rules (plan_children)
            answers.append((entry, value))
            continue
        if _is_static(entry):
            continue  # null: "no answer", which passes the gate
        try:
            value = json_copy(value, "the answer", max_depth=MAX_VALUE_DEPTH)
        except NotJSON as exc:
            located.setdefault(entry["id"], []).append(Violation("", str(exc)))
            continue
        found = flow.schemas.located(entry.get("schema"), value)
        if found:
            located.setdefault(entry["id"], []).extend(found)
        value = flow.schemas.conform(entry.get("schema"), value)
        rule = flow.nodes[entry["node"]].where_rules.get(entry["label"]) if entry["node"] in flow.nodes else None
        if not found and rule is not None:
            refusal = where_refusal(rule, latest.values, value)
            if refusal is not None:
                located.setdefault(entry["id"], []).append(Violation("", refusal))
        answers.append((entry, value))
    if located:
        problems = [f"`{key}`: {Violation(*found)}" for key, violations in located.items() for found in violations]
        raise ResumeError("the answer does not match the expected type (the run stays paused):\n  - "
                          + "\n  - ".join(problems), problems, located)
    return answers


def _refuse_timers(chosen: list[tuple[PendingInterrupt, Any]]) -> None:
    """A ``wait`` is answered by time alone (``tick``), never by a person."""
    timers = [entry for entry, _ in chosen if entry.get("kind") == DueKind.WAIT]
    if timers:
        entry = timers[0]
        raise ResumeError(f"`{entry['id']}` is a timer (`wait`), due at {entry.get('due_at')}: it takes no "
                          "answer; it resumes by itself when due (flow.tick() / fermata tick)")


def _refuse_unassigned(chosen: list[tuple[PendingInterrupt, Any]], command: Command) -> None:
    """Where an interrupt says ``to``, only those users and roles answer it."""
    who = {command.by, *command.roles} - {None}
    for entry, _ in chosen:
        to = entry.get("to")
        if to is not None and not who & set(to):
            named = f"`{command.by}`" if command.by is not None else "an answer without an identity (by=...)"
            raise ResumeError(f"`{entry['id']}` is assigned to {', '.join(map(repr, to))}: {named} "
                              f"may not answer it (nothing was stored)")


def expired_message(resume: Any, latest: Checkpoint) -> str | None:
    """"expired at ..." for an answer to an interrupt whose deadline fired
    (and that is not pending again)."""
    expired: dict[str, ExpiredRecord] = latest.extra.get("expired") or {}
    if not expired:
        return None
    if not is_id_map(resume) and any(not _is_static(p) and p.get("kind") != DueKind.WAIT for p in latest.pending):
        return None   # a bare answer goes to what is pending
    keys = list(resume) if is_id_map(resume) else list(expired)
    for key in keys:
        found = expired.get(key.partition("#")[0])
        if found is not None and ("#" not in key or found.get("token") == key):
            return (f"`{key.partition('#')[0]}` expired at {found['at']} (its deadline fired and the run went "
                    "on without this answer): nothing was stored")
    return None


def _refuse_values_for_static_gates(chosen: list[tuple[PendingInterrupt, Any]]) -> None:
    """A static gate (``N:before``/``N:after``) is passed, never answered: a
    value sent to one would be dropped, and whoever sent it would believe it
    counted (a rejection sent to ``pay:before`` must not pay). Null is the
    one value that says "no answer" (``fermata resume --id N:before`` sends it)."""
    gates = [entry["id"] for entry, value in chosen if _is_static(entry) and value is not None]
    if not gates:
        return
    names = ", ".join(f"`{g}`" for g in gates)
    what = "is a static interrupt: it takes" if len(gates) == 1 else "are static interrupts: they take"
    raise ResumeError(f"{names} {what} no answer, and the value would be lost (the run stays paused); "
                      "continue past it with invoke(None), or a Command without resume")


def _by_key(resume: dict[str, Any], pending: list[PendingInterrupt],
            latest: Checkpoint) -> list[tuple[PendingInterrupt, Any]]:
    by_key = {p["id"]: p for p in pending}
    by_key.update({p["token"]: p for p in pending})
    chosen: dict[str, tuple[PendingInterrupt, Any]] = {}
    problems = []
    for key, value in resume.items():
        entry = by_key.get(key)
        if entry is None:
            base = key.partition("#")[0]
            if "#" in key and base in by_key:
                problems.append(f"token `{key}` is stale: that occurrence of `{base}` was already "
                                f"answered (it is pending again as `{by_key[base]['token']}`)")
            elif "#" in key:
                problems.append(f"token `{key}` is stale or unknown: `{base}` is not pending")
            else:
                problems.append(f"no pending interrupt `{key}`")
            continue
        if entry["id"] in chosen:
            problems.append(f"`{entry['id']}` is answered twice (by id and by token)")
            continue
        chosen[entry["id"]] = (entry, value)
    if problems:
        expired = expired_message({k: None for k in resume if k not in by_key}, latest)
        if expired is not None:
            raise ResumeError(expired, [expired])
        listed = ", ".join(f"`{p['id']}` (token `{p['token']}`)" for p in pending)
        raise ResumeError("cannot resume:\n  - " + "\n  - ".join(problems) + f"\npending: {listed}", problems)
    return list(chosen.values())


def _goto(goto: str | list[str], flow: Program) -> list[str]:
    names = [goto] if isinstance(goto, str) else goto
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ResumeError("Command(goto=...) must be a node name or a list of node names")
    unknown = [n for n in names if n not in flow.nodes and n != "end"]
    if unknown:
        raise ResumeError(f"Command(goto=...): unknown node(s) {', '.join(f'`{n}`' for n in unknown)} "
                          f"(nodes: {', '.join(sorted(flow.nodes))})")
    return sorted({n for n in names if n != "end"})


