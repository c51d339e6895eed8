"""Replaying recorded runs against another version of their flow.

Before a spec change ships, :func:`replay` checks it against real runs, as
Temporal's replayer checks workflow code against recorded histories::

    from fermata.runtime.replay import load_history, replay
    info, checkpoints = load_history(json.loads(Path("run.json").read_text()))
    result = replay(graph, checkpoints, thread=info.thread)
    result.compatible, result.divergence      # the first place the run diverges

A run is **compatible** with the new flow when

* (static) everything its latest checkpoint is in the middle of still exists:
  the frontier's nodes, the pending interrupts (``node:label`` in the node,
  ``node:before/after`` still declared), the fields written by the step in
  flight, join progress; and the state can be carried over (no new required
  field without a default);
* (dynamic) every recorded step replays the same way: each node that ran is
  re-run with the new spec against the recorded state at step start, with
  the recorded answers (by index) and ``once`` journal, and reaches the same
  interrupts, answers them with values its new ``expect`` types accept,
  makes the same writes and routes to the same nodes; ``start`` routes the
  same way; the same static interrupts pause the same boundaries.

Each step is replayed against the *recorded* state at its start, so one
difference is reported where it happens rather than again at every later
step. Plain ``call``s run, as on a real resume (a target that cannot be
imported is a difference, not a crash); a ``call once`` never runs: its
result comes from the journal. With ``stub_calls=True`` plain calls do not
run either; their results are not recorded in a history (only ``once``
results are), so a node is replayed up to its first plain call, checked that
far (interrupts reached, answers) and reported as a :class:`Gap`.

What a history holds. A checkpoint keeps an interrupted node's answers and
``once`` journal while its step is in flight, and the checkpoint that
completes a step keeps, in ``extra["completed"]`` (node -> ``{"resume",
"interrupts", "once"}``), what each of its finished nodes consumed; so every
execution replays in full. A history without them (recorded by an earlier
version) is replayed as far as it goes: the interrupts are checked, the
writes and route of such an execution are not, and it is reported as a
:class:`Gap`, never a difference.
Likewise ``Command(update=...)`` and a ``Command(goto=...)`` given at a step
boundary are not recorded: a run resumed with them may show a difference
its spec did not cause.

This module holds the entry points and the static check; the parts are
``replay_report.py`` (:class:`Divergence`, :class:`Gap`, :class:`ReplayResult`
and their JSON), ``replay_walk.py`` (the dynamic check: the walk over the
recorded steps), ``replay_rerun.py`` (re-running one node execution) and
``replay_lines.py`` (lines of the new spec, short descriptions).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .checkpoint import FORMAT_VERSION, Checkpoint, ThreadInfo
from .compat import incompatibilities
from .errors import FermataError, SpecChangedError
from .program import Program
from .records import RunStatus
from .replay_lines import node_line
from .replay_report import Divergence, Gap, ReplayResult
from .replay_walk import Walker

__all__ = ["Divergence", "Gap", "ReplayResult", "load_history", "replay", "static_problems"]


def replay(flow: Any, history: Iterable[Checkpoint], thread: str = "", *,
           stub_calls: bool = False) -> ReplayResult:
    """Replay ``history`` (a thread's checkpoints, oldest first, as
    ``store.history`` returns them) on ``flow`` (a ``Flow`` or its
    ``Program``). Runs plain ``call``s unless ``stub_calls``; never
    raises for what the run or the spec does."""
    compiled: Program = getattr(flow, "compiled", flow)
    checkpoints = list(history)
    walker = Walker(compiled, stub_calls)
    # A cancel (``cancel.py``) ran nothing: the run's steps end before it.
    walker.walk([c for c in checkpoints if c.status != RunStatus.CANCELLED])
    if checkpoints:
        walker.divergences += static_problems(compiled, checkpoints[-1])
    walker.divergences.sort(key=lambda d: d.seq)
    return ReplayResult(thread=thread, flow=compiled.name, checkpoints=len(checkpoints),
                        steps=len(walker.steps), divergences=walker.divergences, gaps=walker.gaps)


def load_history(data: Any) -> tuple[ThreadInfo, list[Checkpoint]]:
    """A history as ``fermata history --thread ID --json`` prints it:
    ``{"thread": {thread info}, "checkpoints": [checkpoint, ...]}``."""
    shape = "expected {\"thread\": {...}, \"checkpoints\": [...]} from `fermata history --json`"
    if not isinstance(data, dict) or not isinstance(data.get("thread"), dict) \
            or not isinstance(data.get("checkpoints"), list):
        raise FermataError(f"not a recorded history: {shape}")
    meta = data["thread"]
    try:
        info = ThreadInfo(thread=meta["thread"], flow=meta["flow"], ir_hash=meta.get("ir_hash", ""),
                          source=meta.get("source"), created=meta.get("created", ""))
        checkpoints = []
        for raw in data["checkpoints"]:
            if raw.get("v") != FORMAT_VERSION:
                raise FermataError(f"checkpoint format version {raw.get('v')!r} is not {FORMAT_VERSION}")
            checkpoints.append(Checkpoint.from_json(raw))
    except (KeyError, TypeError, AttributeError) as exc:
        raise FermataError(f"not a recorded history ({type(exc).__name__}: {exc}): {shape}") from None
    if not checkpoints:
        raise FermataError(f"the history of thread `{info.thread}` holds no checkpoint")
    return info, checkpoints


# --------------------------------------------------------------------------
# Static: can the latest checkpoint go on under the new flow?
# --------------------------------------------------------------------------


def static_problems(flow: Program, latest: Checkpoint) -> list[Divergence]:
    """What the run's latest checkpoint is in the middle of and the new flow
    no longer has: the check ``Flow`` makes before resuming (``compat.py``,
    including what a resume can go past), and the state's carry-over."""
    problems = [Divergence(latest.seq, latest.step, p.node, "removed", p.message, line=node_line(flow, p.node))
                for p in incompatibilities(flow, latest)]
    try:
        flow.carry_over(latest.values)
    except SpecChangedError as exc:
        problems.append(Divergence(latest.seq, latest.step, None, "field", str(exc)))
    return problems
