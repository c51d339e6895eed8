"""Child runs (`let r = run FLOW {input}`): a flow run as one step of a node.

A child run is its own thread in the parent's store, pinned to its own IR
hash (the hash of the child's flow object, ``Program.children``). What is
decided here (SEMANTICS.md, "Child runs"):

* **Its thread id** is derived from the parent's thread, the superstep, the
  node instance and the index of the `run` step in that execution
  (:func:`child_thread_id`): ``t1/3/write#0``. The step makes each pass of a
  loop its own child; a fork or a new run on the thread has its own ids.
* **Its result is journaled like a ``call once``**: an entry
  ``{"target": "run FLOW", "args_hash", "result": OUTPUT, "thread"}`` in the
  node's ``once`` journal, made durable as soon as the child finishes. A
  re-run of the node (the resume contract) returns the journaled output and
  never starts the child again; so does ``fermata replay``. Should the
  parent die between the child finishing and that entry being saved, the
  child thread itself is done and its output is taken from it.
* **While the child is paused**, the parent node pauses too
  (:class:`ChildPause`, a :class:`~.steps.Pause`): the child's pending
  interrupts are *surfaced* among the parent's, their ids and tokens
  prefixed with the parent's node instance (``write/review:decision``;
  deeper children keep prefixing). A surfaced entry keeps the child's
  payload, schema, ``to`` and deadline and says where it comes from
  (``child``: thread, flow, the child's own id and token). The child's own
  entries are marked with their ``parent`` thread: the inbox lists the
  question once, on the parent (where answering it continues both runs).
* **Answers** to surfaced ids are checked by the child's own rules (its
  ``expect`` schema, ``where``, ``to``, static gates), recursively, before
  anything is stored (:func:`plan_children`); the parent then re-runs the
  node, which hands the answers to the child (``ChildRunner.commands``).
* **A failed child** fails the parent node (:class:`ChildFailed`, naming the
  child thread); a retry of the parent node continues the child, which
  retries its own failed node only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fermata.spec.ir import is_static_interrupt

from .calls import args_hash
from .errors import EvalError, FermataError, InputError, NondeterminismError, ResumeError, StepFailure
from .plain import Plain
from .records import RunStatus
from .steps import Pause, UnrecordedOnce
from .timers import due_rows

if TYPE_CHECKING:
    from .checkpoint import Checkpoint, Store
    from .clock import Clock
    from .command import Command
    from .program import Program
    from .record_types import NodeRecord, PendingInterrupt
    from .records import Durability
    from .steps import Execution


def child_thread_id(parent: str, step: int, instance: str, index: int) -> str:
    """``parent/step/instance#index``. A fan-out key may hold ``/`` or ``#``:
    they are written ``%2F`` and ``%23`` (``%`` as ``%25``)."""
    safe = instance.replace("%", "%25").replace("/", "%2F").replace("#", "%23")
    return f"{parent}/{step}/{safe}#{index}"


class ChildPause(Pause):
    """Internal: the node's child run paused; ``entries`` are its pending
    interrupts, surfaced (prefixed with the node instance)."""

    def __init__(self, flow: str, thread: str, seq: int, entries: list[PendingInterrupt]):
        super().__init__(f"run {flow}", -1, None, None)
        self.flow = flow
        self.thread = thread
        self.seq = seq
        self.entries = entries


class ChildFailed(StepFailure):
    """The child run failed: the parent node fails, naming the child thread.
    Retryable: a retry continues the child from its own failed step."""

    kind = "child"
    retryable = True

    def __init__(self, message: str, flow: str, thread: str, seq: int | None):
        super().__init__(message, type_name="ChildRunError")
        self.flow = flow
        self.thread = thread
        self.seq = seq       # the child's checkpoint that failed (None: it has none)


def surface(instance: str, flow: str, thread: str, pending: list[PendingInterrupt]) -> list[PendingInterrupt]:
    """The child's pending entries as the parent lists them."""
    surfaced: list[PendingInterrupt] = []
    for entry in pending:
        own = entry.copy()
        own.pop("parent", None)
        own.pop("child", None)
        surfaced.append({**own, "id": f"{instance}/{entry['id']}", "node": instance,
                         "token": f"{instance}/{entry['token']}",
                         "child": {"thread": thread, "flow": flow, "id": entry["id"], "token": entry["token"]}})
    return surfaced


def own_entries(pending: list[PendingInterrupt]) -> list[PendingInterrupt]:
    """The entries that are not a child's (surfaced)."""
    return [p for p in pending if "child" not in p]


class ChildRunner(Plain):
    """What a parent's engine lends its nodes' `run` steps: where children
    live and what this invoke brings them."""

    __slots__ = ("clock", "commands", "continuing", "durability", "parent", "path", "programs", "step", "store",
                 "tick_at", "ticked")

    programs: Mapping[str, Program]
    store: Store
    parent: str  # the parent's thread
    clock: Clock
    durability: Durability
    path: str | None
    step: int    # the superstep running (set by the engine)
    # Answers for children, by parent node instance then child thread.
    commands: dict[str, dict[str, Command]]
    continuing: bool     # invoke(None): paused children continue too (pass static gates)
    tick_at: int | None  # a tick: due children are fired
    ticked: set[str]     # instances whose children have something due

    def __init__(self, programs: Mapping[str, Program], store: Store, parent: str, clock: Clock,
                 durability: Durability, path: str | None = None, step: int = 0,
                 commands: dict[str, dict[str, Command]] | None = None, continuing: bool = False,
                 tick_at: int | None = None, ticked: set[str] | None = None) -> None:
        self.programs = programs
        self.store = store
        self.parent = parent
        self.clock = clock
        self.durability = durability
        self.path = path
        self.step = step
        self.commands = {} if commands is None else commands
        self.continuing = continuing
        self.tick_at = tick_at
        self.ticked = set() if ticked is None else ticked

    def flow(self, name: str) -> Any:
        from .flow import Flow  # flow.py imports the engine, which imports this module

        program = self.programs.get(name)
        if program is None:
            raise EvalError(f"`run {name}`: the IR carries no child flow `{name}` "
                            f"(the flow object's `children` has: {', '.join(sorted(self.programs)) or 'none'})")
        flow = Flow(program, self.store, path=self.path, clock=self.clock, durability=self.durability)
        flow.parent = self.parent
        return flow

    def run(self, ex: Execution, name: str, index: int, payload: Any) -> dict[str, Any]:
        """The child's output (running or continuing it as needed); raises
        :class:`ChildPause` or :class:`ChildFailed`."""
        instance = ex.node
        thread = child_thread_id(self.parent, self.step, instance, index)
        child = self.flow(name)
        store = self.store
        latest = store.latest(thread)
        try:
            if latest is None:
                try:
                    child.compiled.check_input(payload, fresh=True)
                except InputError as exc:
                    raise EvalError(f"`run {name}`: {exc}") from None
                latest = _invoke(child, payload, thread)
            elif latest.status == RunStatus.INTERRUPTED:
                command = self.commands.get(instance, {}).get(thread)
                if command is not None:
                    latest = _invoke(child, command, thread)
                elif self.tick_at is not None and instance in self.ticked:
                    child.tick_thread(thread, self.tick_at)
                    latest = store.latest(thread)
                elif self.continuing:
                    latest = _invoke(child, None, thread) if _only_gates(latest) else latest
            elif latest.status != RunStatus.DONE:   # failed (a retry) or running (its process died)
                latest = _invoke(child, None, thread)
        except FermataError as exc:
            # An answer the child refuses now (answered on the child's thread
            # meanwhile): the caller's answer is refused, the parent unchanged.
            if isinstance(exc, StepFailure | ResumeError):
                raise
            latest = store.latest(thread)
            raise ChildFailed(f"child run `{thread}` (flow `{name}`) failed: {exc}", name, thread,
                              None if latest is None else latest.seq) from None
        assert latest is not None
        if latest.status == RunStatus.DONE:
            return child.compiled.output_of(latest.values)  # type: ignore[no-any-return]
        if latest.status == RunStatus.INTERRUPTED:
            raise ChildPause(name, thread, latest.seq, surface(instance, name, thread, latest.pending))
        error = latest.error
        where = f" in node `{error.get('node')}`" if error is not None and error.get("node") else ""
        raise ChildFailed(f"child run `{thread}` (flow `{name}`) failed{where}: "
                          f"{error.get('message') if error is not None else None}",
                          name, thread, latest.seq)


def _invoke(child: Any, payload: Any, thread: str) -> Checkpoint:
    child.invoke(payload, thread, events="none")
    latest: Checkpoint | None = child.store.latest(thread)
    assert latest is not None
    return latest


def _only_gates(latest: Checkpoint) -> bool:
    """Whether the child waits only at static gates (which ``invoke(None)``
    passes); a child waiting for an answer is left as it is."""
    return all(is_static_interrupt(p) for p in latest.pending)


def run_step(ex: Execution, name: str, payload: Any) -> Any:
    """A `run` step: the journaled output, or the child's (journaled now)."""
    index = ex.once_count
    ex.once_count += 1
    run_index = ex.run_count        # names the child: counts this execution's `run` steps only
    ex.run_count += 1
    target = f"run {name}"
    digest = args_hash([payload], {})
    if index < len(ex.journal):
        entry = ex.journal[index]
        if entry["target"] != target or entry["args_hash"] != digest:
            raise NondeterminismError(ex.node, "once call", index,
                                      f'"{entry["target"]}" with arguments {entry["args_hash"]}',
                                      f'"{target}" with arguments {digest}')
        return entry["result"]
    runner = ex.runner
    if ex.sealed:
        # A replay never runs a child again: where the recorded execution
        # got no output, it paused with its child (``fermata replay`` of the
        # child's own thread checks the child).
        raise ChildPause(name, "", -1, [])
    if runner is None:
        raise UnrecordedOnce(index)
    try:
        output = runner.run(ex, name, run_index, payload)
    finally:
        # A child may take a while (and a fan-out runs many): the parent's
        # lease must outlive it, as across a long `call once`.
        lease = ex.recorder.lease if ex.recorder is not None else None
        if lease is not None:
            lease.renew_if_due()
    entry = {"target": target, "args_hash": digest, "result": output,
             "thread": child_thread_id(runner.parent, runner.step, ex.node, run_index)}
    if ex.recorder is not None:
        ex.recorder.saved(ex.node, index, entry)
    ex.journal.append(entry)
    return output


# ---------------------------------------------------------------- answers


def plan_children(chosen: list[tuple[PendingInterrupt, Any]], flow: Program, store: Store | None,
                  command: Command, now: int) -> dict[str, dict[str, Command]]:
    """The commands answering the children of the surfaced entries in
    ``chosen``, each checked by the child's own rules (recursively) against
    the child's latest checkpoint: :class:`ResumeError` (ids as the parent
    shows them) if any is refused. Nothing is written."""
    from .command import Command, plan_command

    groups: dict[tuple[str, str], list[tuple[PendingInterrupt, Any]]] = {}
    for entry, value in chosen:
        groups.setdefault((entry["node"], entry["child"]["thread"]), []).append((entry, value))
    commands: dict[str, dict[str, Command]] = {}
    for (instance, thread), answers in groups.items():
        origin = answers[0][0]["child"]
        program = flow.children.get(origin["flow"])
        latest = store.latest(thread) if store is not None else None
        if program is None:
            raise ResumeError(f"`{answers[0][0]['id']}` is asked by a child run of flow `{origin['flow']}`, "
                              "which this version of the flow no longer carries (nothing was stored)")
        if latest is None:
            raise ResumeError(f"`{answers[0][0]['id']}`: its child run `{thread}` cannot be found "
                              "(nothing was stored)")
        resume = {entry["child"]["token"]: value for entry, value in answers}
        child_command = Command(resume=resume, by=command.by, roles=tuple(command.roles))
        try:
            plan_command(child_command, latest, program, thread, now, store)
        except ResumeError as exc:
            raise _prefixed(exc, instance, answers) from None
        commands.setdefault(instance, {})[thread] = child_command
    return commands


def _prefixed(exc: ResumeError, instance: str, answers: list[tuple[PendingInterrupt, Any]]) -> ResumeError:
    """The child's refusal, naming the ids as the parent shows them."""
    names = {entry["child"]["id"]: entry["id"] for entry, _ in answers}
    names.update({entry["child"]["token"]: entry["token"] for entry, _ in answers})

    def rename(text: str) -> str:
        for old, new in sorted(names.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(f"`{old}`", f"`{new}`")
        return text

    located = {names.get(key, f"{instance}/{key}"): found for key, found in exc.located.items()}
    return ResumeError(rename(str(exc)), [rename(p) for p in exc.problems], located)


def due_children(pending: list[PendingInterrupt], now: int) -> set[str]:
    """The node instances whose surfaced entries have something due at ``now``."""
    from .clock import parse_time

    due: set[str] = set()
    for entry in pending:
        if "child" in entry and any(parse_time(at) <= now for at, _, _ in due_rows([_unmarked(entry)])):
            due.add(entry["node"])
    return due


def _unmarked(entry: PendingInterrupt) -> PendingInterrupt:
    unmarked = entry.copy()
    del unmarked["child"]
    return unmarked


# ---------------------------------------------------------------- fork


def fork_children(store: Store, checkpoint: Checkpoint, source: str, thread: str,
                  fork: Any) -> Checkpoint:
    """``checkpoint`` of ``source`` as the fork ``thread`` starts from: every
    child run it is in the middle of (paused or failed) is forked too, from
    the child's checkpoint the parent saw, into the thread the fork's node
    will look for; surfaced entries name the new child threads."""
    renamed: dict[str, str] = {}
    for record in checkpoint.nodes.values():
        child = record.get("child")
        if child is None:
            continue
        old = child["thread"]
        new = thread + old[len(source):] if old.startswith(source + "/") else old
        if new != old:
            fork(child["flow"], old, child["seq"], new)
            renamed[old] = new
    if not renamed:
        return checkpoint
    nodes: dict[str, NodeRecord] = {
        name: ({**r, "child": {**r["child"], "thread": renamed.get(r["child"]["thread"], r["child"]["thread"])}}
               if "child" in r else r) for name, r in checkpoint.nodes.items()}
    pending: list[PendingInterrupt] = [
        {**p, "child": {**p["child"], "thread": renamed.get(p["child"]["thread"], p["child"]["thread"])}}
        if "child" in p else p for p in checkpoint.pending]
    return checkpoint.replace(nodes=nodes, pending=pending)
