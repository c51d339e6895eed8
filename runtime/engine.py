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
nor progress: ``goto`` (a ``Command(goto=...)`` waiting for the step in
flight to complete) and ``route_start`` (``start``'s route failed; a retry
routes it again).

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

from typing import Any

from .checkpoint import Checkpoint, Store, ThreadInfo
from .command import Plan
from .errors import InvalidUpdateError, NondeterminismError, StepFailure, StepLimitError
from .leases import LeaseKeeper
from .node import Outcome, failed_record, interrupt_token
from .once import OnceRecorder
from .program import Program
from .records import Durability, ErrorKind, EventKind, NodeStatus, RunStatus, StaticWhen
from .superstep import AddFailure, complete_step, route_start, static_pauses


class Engine:
    def __init__(self, flow: Program, store: Store, info: ThreadInfo, path: str | None,
                 step_limit: int, lease: LeaseKeeper | None = None,
                 durability: Durability = Durability.OBSERVABLE):
        self.flow = flow
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
        self.progress: dict[str, dict[str, Any]] = {}   # nodes of the step in flight
        self.pending: list[dict[str, Any]] = []
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
        self.consumed: dict[str, dict[str, Any]] = {}

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
        self.store_everything = values is not None
        self.accepted = bool(plan.update or plan.answers or plan.goto is not None)
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

    # ------------------------------------------------------------ running

    def advance(self) -> bool:
        """Do the next unit of work (route ``start``, finish the step in
        flight, or run one superstep); False once the run paused, finished
        or failed."""
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
        self.emit({"event": EventKind.STEP_START.value, "step": self.step, "nodes": self.frontier})
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

    def _run_nodes(self) -> bool:
        """Run every node of the step that has not finished yet."""
        outcomes: dict[str, Outcome] = {}
        once = self.once
        once.step = self.step
        for name in self.frontier:
            record = self.progress.get(name)
            if record is not None and record["status"] == NodeStatus.FINISHED:
                continue
            if once.recovered:   # once results a crashed process saved in this step
                record = once.journal_of(name, record)
            self.emit({"event": EventKind.NODE_START.value, "node": name, "step": self.step})
            try:
                outcome = self.flow.nodes[name].run(self.values, record, self.step, self.path, once)
            except NondeterminismError as exc:
                error = {"message": str(exc), "type": "NondeterminismError", "kind": ErrorKind.NONDETERMINISM.value,
                         "node": name, "line": self.flow.nodes[name].line, "column": None,
                         "path": self.path, "traceback": None}
                self.progress[name] = failed_record(record, error)
                self.pending = [o.pending for o in outcomes.values() if o.pending]
                self._save(RunStatus.FAILED, error)
                self.emit({"event": EventKind.FAILED.value, "error": error})
                raise
            self.progress[name] = outcome.record
            outcomes[name] = outcome
            if outcome.status == NodeStatus.FINISHED:
                self.emit({"event": EventKind.NODE_END.value, "node": name, "step": self.step,
                            "writes": outcome.record["writes"]})
        self.pending = [o.pending for o in outcomes.values() if o.pending is not None]
        errors = [o.error for o in outcomes.values() if o.error is not None]
        if errors:
            self._save(RunStatus.FAILED, errors[0])
            self.emit({"event": EventKind.FAILED.value, "error": errors[0]})
            return False
        if self.pending:
            self._save(RunStatus.INTERRUPTED)
            self.emit({"event": EventKind.INTERRUPT.value, "interrupts": self.pending})
            return False
        return self._complete_step()

    def _complete_step(self) -> bool:
        """Every node finished: apply writes, route, join (``superstep.py``)."""
        progress = self.progress
        try:
            outcome = complete_step(self.flow, self.values, self.frontier,
                                    {name: (progress[name]["writes"], progress[name]["next"])
                                     for name in self.frontier},
                                    self.joins, self.step)
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
        self.emit({"event": EventKind.STEP_END.value, "step": self.step, "state_changes": updates})
        ran = self.last_ran = self.frontier
        self.consumed = {name: {key: progress[name][key] for key in ("resume", "interrupts", "once")
                                if key in progress[name]}
                         for name in self.frontier if "resume" in progress[name] or "once" in progress[name]}
        self.progress = {}
        self.frontier, self.goto = outcome.frontier(self.goto), None
        return self._boundary(ran)

    def _boundary(self, ran: list[str]) -> bool:
        """Between steps: pause for static interrupts, finish, or go on."""
        flow = self.flow
        statics = [self._static(node, when) for node, when in static_pauses(flow, ran, self.frontier)]
        if statics:
            self.pending = statics
            self._save(RunStatus.INTERRUPTED)
            self.emit({"event": EventKind.INTERRUPT.value, "interrupts": statics})
            return False
        self.pending = []
        if not self.frontier:
            self._save(RunStatus.DONE)
            self.emit({"event": EventKind.DONE.value, "output": flow.output_of(self.values)})
            return False
        self._save(RunStatus.RUNNING)
        return True

    def _static(self, node: str, when: StaticWhen) -> dict[str, Any]:  # a records.PendingInterrupt
        return {"id": f"{node}:{when}", "node": node, "label": when.value, "index": 0, "payload": None,
                "schema": None, "token": interrupt_token(self.step, node, when, 0)}

    # ------------------------------------------------------------ recording

    def _fail_run(self, exc: Exception, kind: ErrorKind, node: str | None) -> None:
        error = {"message": str(exc), "type": type(exc).__name__, "kind": kind.value, "node": node,
                 "line": None, "column": None, "path": self.path, "traceback": None}
        self._save(RunStatus.FAILED, error)
        self.emit({"event": EventKind.FAILED.value, "error": error})

    def _save(self, status: RunStatus, error: dict[str, Any] | None = None) -> None:  # a records.RunError
        # Records hold the plain strings (``.value``): stores check that a
        # status is exactly a ``str``, and callers see ``"done"``, not a repr.
        extra: dict[str, Any] = {}
        if self.goto is not None:
            extra["goto"] = self.goto
        if self.route_start:
            extra["route_start"] = True
        if self.consumed:
            extra["completed"] = self.consumed
            self.consumed = {}
        checkpoint = Checkpoint(
            seq=self.seq, step=self.step, status=status.value, values=dict(self.values),
            frontier=self.frontier, joins=self.joins, pending=self.pending,
            nodes=dict(self.progress) if self.progress else {}, error=error, extra=extra)
        changed = None if self.store_everything else sorted(self.changed)
        lease = self.lease
        if lease is not None:
            lease.renew_if_due()
        durable = self._durable(status)
        self.accepted = False
        if status != RunStatus.RUNNING and lease is not None and lease.held:
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

    def _durable(self, status: RunStatus) -> bool:
        """Whether this checkpoint must survive a power loss. At ``observable``
        durability: when the outside world can see it (a pause, the end, a
        failure) or it records an accepted answer. The running checkpoints
        between are recomputed from the last durable one after a power loss
        (plain calls run again, as a resume may; once results are durable)."""
        if self.durability == Durability.OBSERVABLE:
            return status != RunStatus.RUNNING or self.accepted
        return self.durability == Durability.STEP

    def emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)
