"""``Flow``: a flow ready to run, and the whole user-facing API.

    graph = Flow.from_ir(ir, store="sqlite:///runs.db")
    run = graph.invoke({"amount": 250}, thread="t1")
    run = graph.invoke(Command(resume={"approved": True}), thread="t1")
    graph.state("t1"); graph.history("t1"); graph.fork("t1", checkpoint_id, thread="t2")
    for event in graph.stream(None, thread="t1"): ...

Every call is first checked against the run as it stands (a refused call
writes nothing, not even a lease), then takes the thread's lease (one caller
advances a run at a time; another gets :class:`RunBusyError` having run and
written nothing), then decides, from the thread's latest checkpoint, what the call means (a new
run, a resume, a retry) and checks everything it can (input, answers,
updates, spec changes) *before* writing anything; then an :class:`Engine`
runs it, and the lease is released when the run pauses, finishes or fails.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .calls import DEFAULT_POLICY, CallPolicy
from .checkpoint import Checkpoint, Store, ThreadInfo
from .children import fork_children
from .clock import Clock, default_clock, format_time
from .command import Command, Plan, plan_command
from .engine import Engine
from .errors import FermataError, InputError, RunBusyError, SpecChangedError
from .leases import DEFAULT_LEASE_TTL, LeaseKeeper
from .program import Program, select_flow, validate_ir
from .records import Durability, RunStatus, durability_of
from .run import Run, Snapshot
from .ticking import Tick, TickReport, audit_trail, plan_tick

if TYPE_CHECKING:
    from .store.work import Work
    from .submit import Submission

DEFAULT_STEP_LIMIT = 1000


def _open_store(store: str | Store | None) -> Store:
    if isinstance(store, Store):
        return store
    from .store.url import open_store

    return open_store("memory:" if store is None else store)


class Flow:
    """An executable flow bound to a store."""

    def __init__(self, flow: Program, store: Store, source: str | None = None,
                 path: str | None = None, source_hash: str | None = None, clock: Clock = default_clock, *,
                 durability: str = Durability.OBSERVABLE):
        self.compiled = flow
        # Where recorded times come from (ms since the epoch): when an
        # interrupt was asked, answered, when a deadline or timer fired.
        self.clock = clock
        self._durability = durability_of(durability)
        self.store = store
        self.source = source          # recorded with each thread (the CLI reloads the flow from it)
        self.source_hash = source_hash  # sha256 of that file's text, recorded beside it
        self.path = path or source    # shown in runtime errors
        # How long a run's lease lasts without renewal (renewed at every
        # checkpoint and once result): longer than any one node runs.
        self.lease_ttl = DEFAULT_LEASE_TTL
        # Set on a child run's flow (``children.py``): the parent's thread,
        # recorded on the child's pending entries (the inbox lists them on the parent).
        self.parent: str | None = None

    @classmethod
    def from_ir(cls, ir: dict[str, Any], flow: str | None = None, store: str | Store | None = None,
                source: str | None = None, *, validate: bool = False, path: str | None = None,
                source_hash: str | None = None, call_policy: CallPolicy = DEFAULT_POLICY,
                clock: Clock = default_clock, durability: str = Durability.OBSERVABLE) -> Flow:
        """Build the graph of one flow of an IR document.

        ``flow`` is needed when the IR holds several flows. ``store`` is a
        Store, a URL (``"memory:"``, ``"sqlite:///path"``) or None (memory).
        ``validate=True`` first checks the IR against ``spec/ir.schema.json``:
        worth it for hand-written or foreign IR, but off by default because
        it costs ~2 ms per node (the compiler's output is valid by construction).
        ``source`` (the file to reload the flow from, recorded with each
        run) and ``source_hash`` (its text's sha256) are the loader's;
        ``path`` is the name runtime errors give the spec.
        ``call_policy`` says what the flow's ``call``s may call (default: all
        but the deny-list of ``fermata.runtime.calls.DEFAULT_DENY``).
        ``clock`` (ms since the epoch) stamps the recorded times; tests pass
        a ``fermata.runtime.clock.FakeClock``.
        ``durability`` (``"observable"``, ``"step"``, ``"fast"``) says which
        checkpoints are forced to disk: docs/guide/durability.md.
        """
        flow_ir = select_flow(ir, flow)
        if validate:
            validate_ir(ir)
        compiled = Program(flow_ir, call_policy)
        ir_path = (ir.get("source") or {}).get("path")
        return cls(compiled, _open_store(store), source, path or source or ir_path, source_hash, clock,
                   durability=durability)

    @property
    def durability(self) -> Durability:
        """Which checkpoints are forced to disk (docs/guide/durability.md)."""
        return self._durability

    @durability.setter
    def durability(self, name: str) -> None:
        self._durability = durability_of(name)

    @property
    def name(self) -> str:
        return self.compiled.name

    @property
    def ir(self) -> dict[str, Any]:
        """The flow's IR."""
        return self.compiled.ir

    @property
    def ir_hash(self) -> str:
        return self.compiled.hash

    # ------------------------------------------------------------ running

    def invoke(self, input: Any = None, thread: str | None = None, *,
               step_limit: int = DEFAULT_STEP_LIMIT, events: str = "summary", by: str | None = None) -> Run:
        """Start, resume or retry the run of ``thread``; return it as it stands.

        ``input``: a dict (a new run; on a finished thread, a new run from its
        state), a :class:`Command`, or None (continue: pass static interrupts,
        re-run interrupted nodes, retry failed ones).

        ``events`` says what ``run.events`` keeps: ``"summary"`` (default)
        every event, but those of each step (``node_end``, ``step_end``)
        naming the fields written instead of holding their values, so that
        memory does not grow with the number of steps; ``"full"`` every
        event as :meth:`stream` yields it; ``"none"`` nothing.

        ``by``: who starts the run (an identity string), recorded with its
        first checkpoint as ``extra["started"]`` (with when) and shown by :meth:`audit`
        (who answers is ``Command(by=...)``).
        """
        keep = _EVENT_KEEPERS.get(events)
        if keep is None:
            raise FermataError(f"invoke(events={events!r}): expected one of {', '.join(map(repr, _EVENT_KEEPERS))}")
        thread = _thread_name(thread)
        engine, lease = self._leased(input, thread, step_limit, by)
        kept: list[dict[str, Any]] = []
        try:
            if engine is None:
                run = self.state(thread)
                assert run is not None
                return run
            more = True
            while more:
                more = engine.advance()
                kept += keep(engine.events)
                engine.events.clear()   # the step's values are let go as it ends
        finally:
            lease.release()
        assert engine.last is not None
        return Run.from_checkpoint(thread, engine.last, self.compiled.outputs, kept)

    def stream(self, input: Any = None, thread: str | None = None, *,
               step_limit: int = DEFAULT_STEP_LIMIT, by: str | None = None) -> Iterator[dict[str, Any]]:
        """Like :meth:`invoke`, yielding each event (a plain dict) as it happens.
        Rejected calls (and a busy run) raise before the first event. The
        run's lease is held from this call until the events are exhausted or
        the iterator is closed (or dropped): consume or close it."""
        thread = _thread_name(thread)
        engine, lease = self._leased(input, thread, step_limit, by)
        return _Events(engine, lease)

    def submit(self, input: Any = None, thread: str | None = None, *, by: str | None = None) -> Submission:
        """Queue ``input`` (a dict: a new run; a :class:`Command`; None:
        continue) for a worker to apply (``fermata worker``), and return at
        once. Checked first as :meth:`invoke` checks it: a bad answer or
        input raises, and nothing is queued. ``by``: who starts the run, as
        for :meth:`invoke` (who answers is ``Command(by=...)``). See
        ``runtime/submit.py``."""
        from .submit import submit

        return submit(self, input, _thread_name(thread), by)

    def submission(self, work_id: int) -> Work:
        """A submission as it stands (queued, claimed, applied or refused)."""
        from .submit import submission

        return submission(self, work_id)

    def cancel(self, thread: str, *, by: str | None = None, reason: str | None = None) -> Run:
        """End the run of ``thread`` where it stands, recording who (``by``)
        and when: its questions are withdrawn, and every later answer,
        update, input or submission on the thread is refused with
        :class:`~fermata.runtime.cancel.RunCancelledError`. A done run
        cannot be cancelled; a run being advanced right now is
        :class:`RunBusyError`. See ``runtime/cancel.py``."""
        from .cancel import cancel

        return cancel(self, _thread_name(thread), by, reason)

    def _leased(self, payload: Any, thread: str, step_limit: int,
                by: str | None = None) -> tuple[Engine | None, LeaseKeeper]:
        """The engine for this call, holding the thread's lease.

        The call is checked before the lease is taken, so that a refused call
        (a bad answer, input or update) writes nothing at all, not even a
        lease: the store stays byte for byte as it was. Under the lease the
        run is checked again: if another process appended meanwhile (the
        newest seq moved), the call is planned anew against what is current;
        otherwise the plan stands, and only the ``once`` results a crashed
        holder may have left are read. Nothing to run (continuing a finished
        run): no lease is taken.
        """
        lease = LeaseKeeper(self.store, thread, self.lease_ttl)
        engine = self._prepare(payload, thread, step_limit, None, by)
        if engine is None:
            return None, lease
        lease.take()
        try:
            if self.store.head(thread) == engine.seq - 1:
                engine.hold(lease)
            else:
                engine = self._prepare(payload, thread, step_limit, lease, by)
        except BaseException:
            lease.release()
            raise
        return engine, lease

    def _prepare(self, payload: Any, thread: str, step_limit: int, lease: LeaseKeeper | None,
                 by: str | None = None) -> Engine | None:
        """What the call means, checked, as an engine ready to run (None:
        nothing to do). Called holding the thread's lease, so what is read
        here is what the engine continues from."""
        flow, store = self.compiled, self.store
        info = store.thread(thread)
        latest = store.latest(thread) if info is not None else None
        if info is not None and info.flow != flow.name:
            raise SpecChangedError(f"thread `{thread}` runs flow `{info.flow}`, not `{flow.name}`")
        if isinstance(payload, Tick):
            tick_plan = plan_tick(payload, latest, flow.schemas) if latest is not None else None
            if tick_plan is None:
                return None
            return self._continue(thread, info, latest, tick_plan, step_limit, lease)  # type: ignore[arg-type]
        if latest is not None and latest.status == RunStatus.CANCELLED:
            from .cancel import cancelled_error

            raise cancelled_error(thread, latest)  # type: ignore[misc]
        if isinstance(payload, Command):
            if latest is None:
                raise FermataError(f"no run on thread `{thread}`: start one with an input dict")
            plan = plan_command(payload, latest, flow, thread, self.clock(), store)
            return self._continue(thread, info, latest, plan, step_limit, lease)  # type: ignore[arg-type]
        if payload is None:
            if latest is None:
                raise InputError(f"no run on thread `{thread}`: start one with an input dict")
            if latest.status == RunStatus.DONE:
                return None
            return self._continue(thread, info, latest, Plan(), step_limit, lease)  # type: ignore[arg-type]
        if latest is not None and latest.status != RunStatus.DONE:
            raise InputError(
                f"thread `{thread}` has a run in progress (status {latest.status}): resume it with "
                "invoke(Command(resume=...)) or invoke(None), or start a new run on another thread")
        checked = flow.check_input(payload, fresh=latest is None)
        if latest is None:
            values, seq, step, created = flow.defaults(), 0, 0, _now()
        else:
            assert info is not None
            values = flow.carry_over(latest.values) if info.ir_hash != flow.hash else dict(latest.values)
            seq, step, created = latest.seq + 1, latest.step, info.created
        values.update(checked)
        if by is not None and not isinstance(by, str):
            raise InputError(f"by=... must be an identity string, not {type(by).__name__}")
        engine = self._engine(thread, created, info, step_limit, lease)
        engine.begin_run(values, seq, step)
        if by is not None:   # recorded only when known: a run nobody named stores nothing more
            engine.started = {"by": by, "at": format_time(self.clock())}
        engine.emit({"event": "run_start", "thread": thread})
        return engine

    def _continue(self, thread: str, info: ThreadInfo, latest: Checkpoint, plan: Plan,
                  step_limit: int, lease: LeaseKeeper | None) -> Engine:
        values = None
        if info.ir_hash != self.compiled.hash:
            self._check_compatible(thread, latest, plan)
            values = self.compiled.carry_over(latest.values)
        engine = self._engine(thread, info.created, info, step_limit, lease)
        if lease is not None:   # `once` results a process saved before dying in the step in flight
            engine.once.recover()
        engine.resume_from(latest, plan, values)
        engine.emit({"event": "run_start", "thread": thread})
        return engine

    def _engine(self, thread: str, created: str, previous: ThreadInfo | None, step_limit: int,
                lease: LeaseKeeper | None) -> Engine:
        # Every checkpoint carries the thread's info: this graph's IR hash
        # (re-pinning a thread that continues under a compatible new spec)
        # and, unless this graph knows none, its source file and hash.
        source, source_hash = self.source, self.source_hash
        if source is None and previous is not None:
            source, source_hash = previous.source, previous.source_hash
        info = ThreadInfo(thread=thread, flow=self.compiled.name, ir_hash=self.compiled.hash,
                          source=source, created=created, source_hash=source_hash)
        engine = Engine(self.compiled, self.store, info, self.path, step_limit, lease, self.clock, self.durability)
        engine.parent = self.parent
        return engine

    def _check_compatible(self, thread: str, latest: Checkpoint, plan: Plan) -> None:
        """A run paused under another version of the spec may go on when
        everything it is in the middle of still exists."""
        # Here: only a run paused under another version of the spec needs it.
        from .compat import incompatibilities

        # What a resume can go past (a static pause no longer declared) is
        # no reason to refuse it: see ``compat.Incompatibility``.
        problems = [p.message for p in incompatibilities(self.compiled, latest) if p.blocks_resume]
        if problems:
            raise SpecChangedError(
                f"thread `{thread}` was started on another version of flow `{self.compiled.name}` "
                "and cannot continue on this one:\n  - " + "\n  - ".join(sorted(set(problems))))

    # ------------------------------------------------------------ reading

    def state(self, thread: str) -> Run | None:
        """The run of ``thread`` as of its latest checkpoint (None: no such thread)."""
        latest = self.store.latest(thread)
        if latest is None:
            return None
        return Run.from_checkpoint(thread, latest, self.compiled.outputs)

    def history(self, thread: str) -> list[Snapshot]:
        """Every checkpoint of ``thread``, oldest first. Each snapshot's
        ``answered`` (who answered what, when) and ``fired`` (deadlines,
        reminders, timers) say what happened there; :meth:`audit` is the
        same as one trail, with the questions asked."""
        return [Snapshot.from_checkpoint(c) for c in self.store.history(thread)]

    def audit(self, thread: str) -> list[dict[str, Any]]:
        """The audit trail of ``thread``: one entry per question asked,
        answer given, deadline, reminder or timer fired, oldest first."""
        return audit_trail(self.store.history(thread))

    # ------------------------------------------------------------ time

    def tick(self, now: int | str | None = None, *, step_limit: int = DEFAULT_STEP_LIMIT) -> TickReport:
        """Fire every deadline, reminder and ``wait`` timer of this flow's
        runs that is due at ``now`` (default: the graph's clock; ms since
        the epoch or an ISO 8601 string). Due runs are found through the
        store's due index (no run is decoded to look); each is fired under
        its lease, as one checkpoint: a run another process is advancing
        (or firing) is skipped, and firing twice applies once."""
        tick = Tick.at(now, self.clock)
        report = TickReport(tick.iso)
        for thread in tick.due_threads(self.store, self.name):
            self._fire(tick, thread, report, step_limit)
        return report

    def tick_thread(self, thread: str, now: int | str | None = None, *,
                    step_limit: int = DEFAULT_STEP_LIMIT) -> TickReport:
        """``tick`` for one run (``fermata tick`` fires each due run with
        the flow it records)."""
        tick = Tick.at(now, self.clock)
        report = TickReport(tick.iso)
        self._fire(tick, thread, report, step_limit)
        return report

    def _fire(self, tick: Tick, thread: str, report: TickReport, step_limit: int) -> None:
        try:
            engine, lease = self._leased(tick, thread, step_limit)
        except RunBusyError:
            report.busy.append(thread)
            return
        except FermataError as exc:
            report.errors[thread] = str(exc)
            return
        try:
            if engine is None:
                return      # nothing due any more: fired by another process meanwhile
            fired = list(engine.fired)
            while engine.advance():
                pass
            assert engine.last is not None
            report.fired.append({"thread": thread, "fired": fired, "status": engine.last.status,
                                 "events": [e for e in engine.events if "." in e["event"]]})
        except FermataError as exc:
            report.errors[thread] = str(exc)
        finally:
            lease.release()

    def fork(self, source_thread: str, checkpoint_id: str | int, *, thread: str,
             update: dict[str, Any] | None = None) -> Run:
        """Copy one checkpoint of ``source_thread`` (optionally with field
        ``update``s, type-checked) as the first checkpoint of a new thread."""
        thread = _thread_name(thread)
        info = self.store.thread(source_thread)
        seq = _seq_of(checkpoint_id)
        source = self.store.get(source_thread, seq) if info is not None and seq is not None else None
        if info is None or source is None:
            raise FermataError(f"thread `{source_thread}` has no checkpoint `{checkpoint_id}`")
        if self.store.thread(thread) is not None:
            raise FermataError(f"thread `{thread}` already exists: fork into a new thread")
        values = dict(source.values)
        if update:
            problems = self.compiled.update_problems(update)
            if problems:
                raise InputError("invalid fork update:\n  - " + "\n  - ".join(problems), problems)
            values.update(self.compiled.conform_fields(update))
        copy = Checkpoint(seq=0, step=source.step, status=source.status, values=values,
                          frontier=source.frontier, joins=source.joins, pending=source.pending,
                          nodes=source.nodes, error=source.error, extra=source.extra)
        if self.parent is not None:   # a child forked with its parent: its questions are the new parent's
            copy.pending = [{**p, "parent": self.parent} if "parent" in p else p for p in copy.pending]
        if self.compiled.children:   # the child runs it is in the middle of are forked with it
            copy = fork_children(self.store, copy, source_thread, thread,
                                 lambda name, old, seq, new: self._fork_child(name, old, seq, new, thread))
        new_info = ThreadInfo(thread=thread, flow=info.flow, ir_hash=info.ir_hash,
                              source=info.source, created=_now(), source_hash=info.source_hash)
        self.store.append(new_info, copy, None, durable=self.durability != Durability.FAST)
        return Run.from_checkpoint(thread, copy, self.compiled.outputs)


    def _fork_child(self, name: str, thread: str, seq: int, new: str, parent: str) -> None:
        """Fork child run ``thread`` (of child flow ``name``) at ``seq`` into
        ``new``, a child of ``parent``."""
        child = Flow(self.compiled.children[name], self.store, path=self.path, clock=self.clock,
                     durability=self.durability)
        child.parent = parent
        child.fork(thread, seq, thread=new)


# The name before version 2 (issue #12): `Graph` still works and is the same
# class; new code and the docs say `Flow`.
Graph = Flow


class _Events:
    """The events of one ``stream``, run as they are pulled. The run's lease
    is released when they are exhausted or fail, when the iterator is
    closed, or when it is dropped (a generator that was never started
    would not run its ``finally``)."""

    def __init__(self, engine: Engine | None, lease: LeaseKeeper):
        self._lease = lease
        self._events = _run_events(engine, lease)   # holds no reference to self: no cycle

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        return next(self._events)

    def close(self) -> None:
        self._events.close()
        self._lease.release()

    def __del__(self) -> None:
        try:
            self._lease.release()
        except Exception:  # noqa: BLE001, S110 - the store may be closed already; the lease then expires
            pass


def _run_events(engine: Engine | None, lease: LeaseKeeper) -> Generator[dict[str, Any], None, None]:
    try:
        if engine is None:
            return
        more = True
        while more:
            try:
                more = engine.advance()
            finally:
                yield from engine.events
                engine.events.clear()
    finally:
        lease.release()


def _summaries(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``events`` without the values a step wrote (a step's events come once
    per step; the others at most once per call, so they are kept whole).
    One loop, no call per event: it runs at every step of every invoke."""
    kept = []
    for event in events:
        kind = event["event"]
        if kind == "node_end":
            fields = [write[0] for write in event["writes"]]
            event = {"event": kind, "node": event["node"], "step": event["step"],
                     "fields": fields if len(fields) < 2 else list(dict.fromkeys(fields))}
        elif kind == "step_end":
            event = {"event": kind, "step": event["step"], "changed": list(event["state_changes"])}
        kept.append(event)
    return kept


_EVENT_KEEPERS: dict[str, Callable[[list[dict[str, Any]]], list[dict[str, Any]]]] = {
    "summary": _summaries,
    "full": lambda events: events,
    "none": lambda events: [],
}


def _thread_name(thread: Any) -> str:
    if not isinstance(thread, str) or not thread:
        raise FermataError("a thread id is required: invoke(..., thread=\"t1\")")
    return thread


def _seq_of(checkpoint_id: str | int) -> int | None:
    if isinstance(checkpoint_id, int) and not isinstance(checkpoint_id, bool):
        return checkpoint_id
    if isinstance(checkpoint_id, str) and checkpoint_id.isdigit():
        return int(checkpoint_id)
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
