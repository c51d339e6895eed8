"""Supersteps: running a thread forward from a checkpoint until it pauses,
finishes or fails.

One :class:`Engine` drives one ``invoke`` of one thread. Its working state is
a checkpoint's content held in plain attributes. A checkpoint is written
through ``store.append``:

* when a run starts (input applied, ``start`` routed; step = the previous
  run's last step, 0 for a new thread),
* at the end of every superstep (step ``s`` = the number of supersteps since
  the thread began; the frontier is what step ``s + 1`` will run),
* at every pause or failure. Inside step ``s`` (a dynamic interrupt, a failed
  node) the checkpoint has step ``s``, the step's nodes as frontier and, in
  ``nodes``, each node's progress; at a boundary (static interrupts, the step
  limit) ``nodes`` is empty. "``nodes`` is non-empty" is how a checkpoint says
  a step is in flight.

Static interrupts are decided exactly once per boundary: right after a step
completes (or ``start`` is routed) and before that boundary's checkpoint is
written, which is then either the pause or a plain ``running`` checkpoint.
Continuing from any boundary checkpoint therefore goes straight into the
next step, so a boundary whose pause was resumed never pauses again and no
"passed" flag is needed. ``extra`` holds the little that is neither state
nor progress (``record_types.CheckpointExtra``): e.g. ``goto`` (a
``Command(goto=...)`` waiting for the step in flight to complete) and
``route_start`` (``start``'s route failed; a retry routes it again).

The step limit counts the supersteps *begun* by one invoke; finishing a step
that was already in flight does not count.

The engine runs holding the thread's lease (taken by ``Flow``), renewed
before a checkpoint when due (``leases.py``). Each ``once`` result is saved
in the store as its call returns (``once.py``); results saved by a process
that died in the step in flight are merged into the nodes' journals when the
step is run again, and all of them are dropped after the next checkpoint,
which holds them in its node records.

Cost per step does not depend on the size of the graph or of the state
beyond what the step touches: the state is copied shallowly once per
checkpoint (values are never mutated in place, see ``values.py``), routes
and joins are looked up per finished node, and only written fields are
passed to the store as changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fermata.spec.ir import END

from .checkpoint import Checkpoint, Store, ThreadInfo
from .children import ChildRunner, due_children
from .clock import Clock, default_clock, format_time
from .command import Plan
from .errors import InvalidUpdateError, NondeterminismError, StepFailure, StepLimitError
from .fanout import FanOut, fan_view
from .leases import LeaseKeeper
from .node import consumed_of, failed_record, interrupt_token
from .once import OnceRecorder
from .program import Program
from .records import (
    DueKind,
    Durability,
    ErrorKind,
    EventKind,
    NodeStatus,
    OutboxKind,
    RunStatus,
    StaticWhen,
    interrupt_json,
)
from .superstep import AddFailure, complete_step, route_start, static_pauses
from .timers import stamp

if TYPE_CHECKING:
    from .record_types import (
        AnswerRecord,
        CheckpointExtra,
        Consumed,
        ExpiredRecord,
        FiredRecord,
        NodeRecord,
        PendingInterrupt,
        RunError,
        StartedRecord,
    )


class Engine:
    def __init__(self, flow: Program, store: Store, info: ThreadInfo, path: str | None,
                 step_limit: int, lease: LeaseKeeper | None = None, clock: Clock = default_clock,
                 durability: Durability = Durability.OBSERVABLE):
        self.flow = flow
        self.clock = clock
        self.store = store
        self.info = info
        self.lease = lease                              # renewed at checkpoints (None: not leased)
        self.durability = durability
        self.once = OnceRecorder(store, info.thread, lease, durable=durability != Durability.FAST)
        # The next checkpoint records input from outside (an answer, an
        # update) accepted by this call: durable, so it is never asked again.
        self.accepted = False
        self.path = path
        self.step_limit = step_limit
        self.events: list[dict[str, Any]] = []
        self.seq = 0
        self.step = 0
        self.values: dict[str, Any] = {}
        self.frontier: list[str] = []
        self.joins: dict[str, list[str]] = {}
        self.progress: dict[str, NodeRecord] = {}       # nodes of the step in flight
        self.pending: list[PendingInterrupt] = []
        self.goto: list[str] | None = None              # replaces the next frontier, once
        self.in_step = False
        self.route_start = False                        # `start` must (still) be routed
        self.changed: set[str] = set()
        self.store_everything = True                    # the next append is a full snapshot
        self.steps_begun = 0
        self.last_ran: list[str] = []
        self.last: Checkpoint | None = None
        # Answers and `once` results the nodes of the step just completed
        # consumed: saved with the step's checkpoint for `fermata replay`.
        self.consumed: dict[str, Consumed] = {}
        # Fan-outs started in the step in flight (``fanout.py``), kept in the
        # checkpoint's ``extra["fanout"]`` until the step completes.
        self.fanouts: dict[str, FanOut] = {}
        # Instances a resume re-runs: those answered. An instance paused and
        # not answered keeps its record and pending entry untouched (None:
        # re-run every paused instance, as after `Command(update=...)`).
        self.rerun: set[str] | None = None
        self.kept_pending: dict[str, list[PendingInterrupt]] = {}
        # Human tasks and timers (``timers.py``): the pending entries of the
        # checkpoint resumed from, by token (their `asked_at` stands); the
        # answers this invoke applied and the timers it fired (recorded once,
        # with the next checkpoint: the audit trail); ids whose deadline
        # fired, so a late answer is refused as expired; nodes a deadline
        # sends the run to once the step in flight completes.
        self.previous: dict[str, PendingInterrupt] = {}
        self.answered: list[AnswerRecord] = []
        self.fired: list[FiredRecord] = []
        self.expired: dict[str, ExpiredRecord] = {}
        self.deadline_next: list[str] = []
        self.only_record = False    # a firing of reminders only: one checkpoint, no node runs
        # Child runs (``children.py``): what `run` steps need, and, for a
        # child's own engine, its parent's thread (its pending entries say
        # so: the inbox lists them once, on the parent).
        self.children = (ChildRunner(flow.children, store, info.thread, clock, durability, path)
                         if flow.children else None)
        self.parent: str | None = None
        self.started: StartedRecord | None = None   # who started the run, when: its first checkpoint's

    # ------------------------------------------------------------ entering

    def hold(self, lease: LeaseKeeper) -> None:
        """Run holding ``lease`` (the engine was planned before it was taken,
        and nothing was appended since): renew it, and use the ``once``
        results a process that held it before may have saved and died."""
        self.lease = self.once.lease = lease
        self.once.recover()

    def begin_run(self, values: dict[str, Any], seq: int, step: int) -> None:
        """A new run on this thread, from ``values`` (defaults or the finished
        run's state, with the input applied)."""
        self.seq, self.step, self.values = seq, step, values
        self.route_start = True

    def resume_from(self, latest: Checkpoint, plan: Plan, values: dict[str, Any] | None = None) -> None:
        """Continue the run of ``latest`` as ``plan`` says (its checks passed)."""
        self.seq = latest.seq + 1
        self.step = latest.step
        self.values = dict(latest.values) if values is None else values
        self.frontier = latest.frontier
        self.joins = latest.joins
        self.progress = dict(latest.nodes)
        self.goto = latest.extra.get("goto")
        self.in_step = bool(latest.nodes)
        self.route_start = bool(latest.extra.get("route_start"))
        self.fanouts = {name: FanOut.from_json(data) for name, data in latest.extra.get("fanout", {}).items()}
        self.store_everything = values is not None
        self.accepted = bool(plan.update or plan.answers or plan.goto is not None)
        if self.parent is None:
            self.parent = next((p["parent"] for p in latest.pending if "parent" in p), None)
        if self.children is not None:
            self.children.commands = plan.children
            self.children.continuing = plan.is_continue
            if plan.tick_at is not None:
                self.children.tick_at = plan.tick_at
                self.children.ticked = due_children(latest.pending, plan.tick_at)
        # invoke(None) passes a child's static gates: every instance re-runs
        # (one whose child waits for an answer pauses again, writing nothing).
        if self.fanouts and not plan.update and not (plan.is_continue and self.children is not None):
            self.rerun = set(plan.answers) | set(plan.children) | (
                self.children.ticked if self.children is not None else set())
            for p in latest.pending:
                self.kept_pending.setdefault(p["node"], []).append(p)
        self.previous = {p["token"]: p for p in latest.pending}
        self.expired = dict(latest.extra.get("expired", {}))
        self.deadline_next = list(latest.extra.get("deadline_next", []))
        self.answered = list(plan.answered)
        if plan.firing is not None:
            self._fire(latest, plan)
        if plan.update:
            self.values.update(plan.update)
            self.changed.update(plan.update)
        for node, answer in plan.answers.items():
            record = self.progress[node]
            self.progress[node] = {**record, "resume": record["resume"] + [answer]}
        if plan.goto is not None:
            if self.in_step or self.route_start:
                self.goto = plan.goto
            else:
                self.frontier = plan.goto

    def _fire(self, latest: Checkpoint, plan: Plan) -> None:
        """Apply ``plan.firing`` (``tick``): the answers of due deadlines and
        timers are in ``plan.answers`` already; abandon the nodes whose
        deadline goes elsewhere, and note what fired."""
        firing = plan.firing
        assert firing is not None
        self.fired = list(firing.fired)
        for node, (_entry, target) in firing.abandon.items():
            self.progress.pop(node, None)
            self.frontier = [n for n in self.frontier if n != node]
            if target not in self.deadline_next:
                self.deadline_next = sorted({*self.deadline_next, target})
        for fired in firing.fired:
            if fired["kind"] == DueKind.DEADLINE:
                self.expired[fired["id"]] = {"token": fired["token"], "at": fired["due_at"]}
        if not firing.changes_run and plan.tick_at is None:   # reminders only: the run stays as it is
            reminded = {e["token"]: e for e in firing.reminders}
            self.pending = [reminded.get(p["token"], p) for p in latest.pending]
            self.only_record = True
            return
        for entry in firing.reminders:   # sent now; the entries re-stamped by the run keep the count
            self.previous[entry["token"]] = entry

    # ------------------------------------------------------------ running

    def advance(self) -> bool:
        """Do the next unit of work (route ``start``, finish the step in
        flight, or run one superstep); False once the run paused, finished
        or failed."""
        if self.only_record:
            self._save(RunStatus.INTERRUPTED)
            return False
        if self.route_start:
            return self._route_start()
        if self.in_step:
            self.in_step = False
            return self._run_nodes()
        if not self.frontier:
            self._save(RunStatus.DONE)
            self.emit({"event": EventKind.DONE.value, "output": self.flow.output_of(self.values)})
            return False
        if self.steps_begun >= self.step_limit:
            error = StepLimitError(self.step_limit, self.last_ran, self.frontier)
            self._fail_run(error, ErrorKind.STEP_LIMIT, node=None)
            raise error
        self.step += 1
        self.steps_begun += 1
        self.progress = {}
        self.emit({"event": _STEP_START, "step": self.step, "nodes": self.frontier})
        return self._run_nodes()

    def _route_start(self) -> bool:
        self.route_start = False
        try:
            targets = route_start(self.flow, self.values)
        except StepFailure as failure:
            self.route_start = True  # a retry routes `start` again
            error = failure.to_error("start", self.path)
            self._save(RunStatus.FAILED, error)
            self.emit({"event": EventKind.FAILED.value, "error": error})
            return False
        self.frontier = self.goto if self.goto is not None else targets
        self.goto = None
        return self._boundary([])

    def _units(self) -> list[tuple[str, str | None, Any]] | None:
        """The step's units of work in order: ``(node, instance, item)``, a
        fan-out node giving one per element (started now if it was not);
        None when a fan-out could not start (the run failed)."""
        units: list[tuple[str, str | None, Any]] = []
        for name in self.frontier:
            spec = self.flow.nodes[name].fan_out
            if spec is None:
                units.append((name, None, None))
                continue
            fan = self.fanouts.get(name)
            if fan is None:
                try:
                    fan = self.fanouts[name] = spec.start(self.values)
                except StepFailure as failure:
                    error = failure.to_error(name, self.path)
                    self._save(RunStatus.FAILED, error)
                    self.emit({"event": EventKind.FAILED.value, "error": error})
                    return None
            units += [(name, instance, item) for instance, item in fan.instances()]
        return units

    def _run_nodes(self) -> bool:
        """Run every node (or fan-out instance) of the step that has not finished yet."""
        units = self._units()
        if units is None:
            return False
        failed: RunError | None = None       # the first node's failure, in step order
        pending: list[PendingInterrupt] = []
        once = self.once
        once.step = self.step
        if self.children is not None:
            self.children.step = self.step
        rerun, kept = self.rerun, self.kept_pending
        self.rerun, self.kept_pending = None, {}
        emit = self.events.append   # twice per node: no method call
        for node, instance, item in units:
            name = node if instance is None else instance
            record = self.progress.get(name)
            if record is not None and record["status"] == NodeStatus.FINISHED:
                continue
            if (instance is not None and rerun is not None and name not in rerun
                    and record is not None and record["status"] == NodeStatus.INTERRUPTED and name in kept):
                # Paused and not answered: nothing it sees changed, so it would
                # pause again at the same interrupt. Not re-running it keeps an
                # answer to one item of many from touching the others.
                pending += kept[name]
                continue
            consumed: Consumed | None = record
            if once.recovered:   # once results a crashed process saved in this step
                consumed = once.journal_of(name, record)
            emit({"event": _NODE_START, "node": name, "step": self.step})
            try:
                outcome = self.flow.nodes[node].run(self.values, consumed, self.step, self.path, once,
                                                    instance, item, self.children)
            except NondeterminismError as exc:
                error: RunError = {"message": str(exc), "type": "NondeterminismError",
                                   "kind": ErrorKind.NONDETERMINISM.value, "node": name,
                                   "line": self.flow.nodes[node].line, "column": None,
                                   "path": self.path, "traceback": None}
                self.progress[name] = failed_record(consumed, error)
                self.pending = pending
                self._save(RunStatus.FAILED, error)
                self.emit({"event": EventKind.FAILED.value, "error": error})
                raise
            self.progress[name] = outcome.record
            if outcome.error is not None and failed is None:
                failed = outcome.error
            if outcome.pending is not None:
                pending.append(outcome.pending)
            if outcome.surfaced:
                pending += outcome.surfaced
            if outcome.record["status"] == _FINISHED:
                emit({"event": _NODE_END, "node": name, "step": self.step, "writes": outcome.record["writes"]})
        self.pending = self._stamped(pending)
        if failed is not None:
            self._save(RunStatus.FAILED, failed)
            self.emit({"event": EventKind.FAILED.value, "error": failed})
            return False
        if self.pending:
            self._save(RunStatus.INTERRUPTED)
            self.emit({"event": EventKind.INTERRUPT.value, "interrupts": self.pending})
            return False
        return self._complete_step()

    def _complete_step(self) -> bool:
        """Every node finished: apply writes, route, join (``superstep.py``).
        A fan-out node completes as its instances in instance order, then
        itself with the route (``fanout.py``)."""
        progress = self.progress
        order: list[str] = []
        results: dict[str, tuple[list[Any], list[str]]] = {}
        for name in self.frontier:
            fan = self.fanouts.get(name)
            if fan is None:
                order.append(name)
                results[name] = (progress[name]["writes"], progress[name]["next"])
                continue
            writes: list[Any] = []
            for instance in fan.names:
                order.append(instance)
                results[instance] = (progress[instance]["writes"], [])
                writes += progress[instance]["writes"]
            try:
                routed = list(self.flow.nodes[name].route(fan_view(self.values, writes)))
            except StepFailure as failure:
                error = failure.to_error(name, self.path)
                self._save(RunStatus.FAILED, error)
                self.emit({"event": EventKind.FAILED.value, "error": error})
                return False
            order.append(name)
            results[name] = ([], routed)
        try:
            outcome = complete_step(self.flow, self.values, order, results, self.joins, self.step)
        except InvalidUpdateError as exc:
            self._fail_run(exc, ErrorKind.INVALID_UPDATE, node=exc.nodes[-1])
            raise
        except AddFailure as failed:  # `+=` of mismatched values from two nodes
            error = failed.failure.to_error(None, self.path)
            self._save(RunStatus.FAILED, error)
            self.emit({"event": EventKind.FAILED.value, "error": error})
            return False
        updates = outcome.updates
        self.values.update(updates)
        self.changed.update(updates)
        self.joins = outcome.joins
        self.emit({"event": _STEP_END, "step": self.step, "state_changes": updates})
        ran = self.last_ran = self.frontier
        self.consumed = {name: consumed_of(progress[name]) for name in order if name in progress
                         and ("resume" in progress[name] or "once" in progress[name])}
        self.progress = {}
        self.fanouts = {}
        self.frontier, self.goto = outcome.frontier(self.goto), None
        if self.deadline_next:   # where deadlines sent the run, in place of the abandoned nodes
            # A deadline `-> end` sends the run to no node: it ends unless
            # other nodes go on.
            arrivals = (n for n in self.deadline_next if n != END)
            self.frontier, self.deadline_next = sorted({*self.frontier, *arrivals}), []
        return self._boundary(ran)

    def _boundary(self, ran: list[str]) -> bool:
        """Between steps: pause for static interrupts, finish, or go on."""
        flow = self.flow
        # Most flows have no static interrupt: no call, no comprehension (~0.2 us a step).
        statics = ([self._static(node, when) for node, when in static_pauses(flow, ran, self.frontier)]
                   if flow.interrupt_after or flow.interrupt_before else None)
        if statics:
            statics = self._stamped(statics)
            self.pending = statics
            self._save(RunStatus.INTERRUPTED)
            self.emit({"event": EventKind.INTERRUPT.value, "interrupts": statics})
            return False
        self.pending = []
        if not self.frontier:
            self._save(RunStatus.DONE)
            self.emit({"event": EventKind.DONE.value, "output": flow.output_of(self.values)})
            return False
        self._save(_RUNNING)
        return True

    def _static(self, node: str, when: StaticWhen) -> PendingInterrupt:
        return {"id": f"{node}:{when}", "node": node, "label": when.value, "index": 0, "payload": None,
                "schema": None, "token": interrupt_token(self.step, node, when, 0)}

    # ------------------------------------------------------------ recording

    def _fail_run(self, exc: Exception, kind: ErrorKind, node: str | None) -> None:
        error: RunError = {"message": str(exc), "type": type(exc).__name__, "kind": kind.value, "node": node,
                           "line": None, "column": None, "path": self.path, "traceback": None}
        self._save(RunStatus.FAILED, error)
        self.emit({"event": EventKind.FAILED.value, "error": error})

    def _save(self, status: RunStatus, error: RunError | None = None) -> None:
        # Records hold the plain strings (``.value``): stores check that a
        # status is exactly a ``str``, and callers see ``"done"``, not a repr.
        extra: CheckpointExtra = {}
        if self.goto is not None:
            extra["goto"] = self.goto
        if self.route_start:
            extra["route_start"] = True
        if self.fanouts:
            extra["fanout"] = {name: fan.to_json() for name, fan in sorted(self.fanouts.items())}
        if self.consumed:
            extra["completed"] = self.consumed
            self.consumed = {}
        if self.deadline_next:
            extra["deadline_next"] = self.deadline_next
        if self.started is not None:
            extra["started"], self.started = self.started, None
        if self.answered:
            extra["answered"], self.answered = self.answered, []
        if self.fired:
            extra["fired"] = self.fired
        if self.expired:
            for entry in self.pending:    # asked again: answers go to the new occurrence
                self.expired.pop(entry["id"], None)
            if self.expired:
                extra["expired"] = self.expired
        checkpoint = Checkpoint(
            seq=self.seq, step=self.step, status=_STATUS_TEXT[status], values=dict(self.values),
            frontier=self.frontier, joins=self.joins, pending=self.pending,
            nodes=dict(self.progress) if self.progress else {}, error=error, extra=extra)
        # Only a fired timer, an interrupt or the run's end causes an event:
        # most checkpoints (a step's) skip the call (~1.2 us of a ~23.5 us step).
        pending = self.pending
        checkpoint.outbox = (self._events(status, checkpoint, error)
                             if pending or self.fired or status != _RUNNING else [])
        self.fired = []
        self.previous = {p["token"]: p for p in pending} if pending else {}
        changed = None if self.store_everything else sorted(self.changed)
        lease = self.lease
        if lease is not None:
            lease.renew_if_due()
        durable = self._durable(status)
        self.accepted = False
        if status != _RUNNING and lease is not None and lease.held:
            # This invoke's last write: let go of the run with it.
            self.store.append_final(self.info, checkpoint, changed, lease.owner, self.once.dirty, durable=durable)
            lease.held = self.once.dirty = False
        else:
            self.store.append(self.info, checkpoint, changed, durable=durable)
            self.once.checkpointed()
        self.seq += 1
        self.changed = set()
        self.store_everything = False
        self.last = checkpoint

    def _stamped(self, pending: list[PendingInterrupt]) -> list[PendingInterrupt]:
        """Pending entries with their times: ``asked_at`` now, or as first asked."""
        if not pending:   # most steps: no clock to read
            return pending
        now = self.clock()
        parent = self.parent
        # A child's entries come stamped by the child (``children.surface``).
        stamped = [entry if "child" in entry else stamp(entry, self.previous.get(entry["token"]), now)
                   for entry in pending]
        return stamped if parent is None else [{**entry, "parent": parent} for entry in stamped]

    def _events(self, status: RunStatus, checkpoint: Checkpoint,
                error: RunError | None) -> list[dict[str, Any]]:
        """The outbox events this checkpoint causes (stored with it, in the
        same transaction); the timer ones are streamed too (the others are
        the stream's ``interrupt``, ``done`` and ``failed``)."""
        found: list[tuple[OutboxKind, Mapping[str, Any]]] = []
        for fired in self.fired:
            if fired["kind"] == DueKind.REMINDER:
                entry: Mapping[str, Any] = next((p for p in self.pending if p["token"] == fired["token"]), {})
                found.append((OutboxKind.INTERRUPT_REMINDER, {**fired, "to": entry.get("to"),
                                                              "deadline_at": entry.get("deadline_at")}))
            else:
                found.append((OutboxKind.INTERRUPT_EXPIRED if fired["kind"] == DueKind.DEADLINE
                              else OutboxKind.TIMER_FIRED, fired))
        # A child run's question is announced once, by its parent (where it is answered).
        found += [(OutboxKind.INTERRUPT_CREATED, interrupt_json(entry)) for entry in self.pending
                  if entry["token"] not in self.previous and "parent" not in entry]
        if status == RunStatus.DONE:
            found.append((OutboxKind.RUN_DONE, {"output": self.flow.output_of(self.values)}))
        elif status == RunStatus.FAILED:
            found.append((OutboxKind.RUN_FAILED, {"error": error}))
        if not found:   # most checkpoints (a step's): no event, no time to format
            return []
        at = format_time(self.clock())
        events = [{"key": f"{self.info.thread}/{checkpoint.seq}/{n}", "event": kind.value, "thread": self.info.thread,
                   "flow": self.flow.name, "seq": checkpoint.seq, "at": at, "payload": payload}
                  for n, (kind, payload) in enumerate(found)]
        for event in events:
            if event["event"] in _STREAMED:
                self.emit(dict(event))
        return events

    def _durable(self, status: RunStatus) -> bool:
        """Whether this checkpoint must survive a power loss. At ``observable``
        durability: when the outside world can see it (a pause, the end, a
        failure) or it records an accepted answer. The running checkpoints
        between are recomputed from the last durable one after a power loss
        (plain calls run again, as a resume may; once results are durable)."""
        if self.durability == _OBSERVABLE:
            return status != _RUNNING or self.accepted
        return self.durability == _STEP_DURABLE

    def emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)


#: The events of every step, as the exact strings events hold (a member's
#: ``.value`` is a property: looked up once here, not four times a step).
_STEP_START, _NODE_START, _NODE_END, _STEP_END = (EventKind.STEP_START.value, EventKind.NODE_START.value,
                                                  EventKind.NODE_END.value, EventKind.STEP_END.value)

#: What a step's checkpoint looks up, once here: on Python 3.11 an enum
#: member's ``.value`` is a property (~110 ns) and ``RunStatus.RUNNING`` a
#: class lookup (~75 ns); six of them a step were ~0.5 us of ~22.
_RUNNING, _OBSERVABLE, _STEP_DURABLE = RunStatus.RUNNING, Durability.OBSERVABLE, Durability.STEP
_FINISHED: str = NodeStatus.FINISHED.value
_STATUS_TEXT: dict[RunStatus, str] = {status: status.value for status in RunStatus}

#: Outbox events ``stream`` shows as they are (the others have their stream form).
_STREAMED = frozenset((OutboxKind.INTERRUPT_REMINDER, OutboxKind.INTERRUPT_EXPIRED, OutboxKind.TIMER_FIRED))
