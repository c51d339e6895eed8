"""Drive a generated flow on the real runtime to the end, answering every
interrupt from the up-front :class:`Answers`, in one of several ways.

The ways differ in everything the contract says must not matter: how answers
are grouped into resumes, which graph object (a fresh ``load`` or not) and
which store runs each call, and whether the process "crashes" part way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from fermata.runtime import Command, Graph
from fermata.runtime.checkpoint import Checkpoint, Store, ThreadInfo

from . import instrument
from .model import Answers, FlowModel


@dataclass
class Trace:
    events: list[dict[str, Any]] = field(default_factory=list)
    pauses: list[list[str]] = field(default_factory=list)  # pending dynamic ids per pause
    state: dict[str, Any] = field(default_factory=dict)
    status: str = ""
    hits: Counter[tuple[str, int]] = field(default_factory=Counter)
    once_hits: Counter[tuple[str, int]] = field(default_factory=Counter)
    history: list[dict[str, Any]] = field(default_factory=list)

    def steps(self) -> list[Any]:
        """The run's progress as the state sees it: each finished superstep's
        node set and applied changes, then the output. Independent of how
        often interrupted nodes were replayed on the way.

        After a simulated crash the lost supersteps run again; a step number
        seen a second time replaces what the lost attempt reported."""
        out: list[Any] = []
        for event in self.events:
            if event["event"] == "step_end":
                while out and isinstance(out[-1][0], int) and out[-1][0] >= event["step"]:
                    out.pop()
                out.append((event["step"], event.get("state_changes")))
            elif event["event"] == "done":
                out.append(("done", event.get("output")))
        return out


class Crash(Exception):
    """The simulated death of the process, raised instead of a store write."""


class CrashingStore(Store):
    """Delegates to ``inner`` but dies on the ``at``-th append (before writing)."""

    def __init__(self, inner: Store, at: int):
        self.inner, self.at, self.appends = inner, at, 0

    def append(self, info: ThreadInfo, checkpoint: Checkpoint, changed: Iterable[str] | None, *,
               durable: bool = False) -> None:
        self.appends += 1
        if self.appends == self.at:
            raise Crash(f"crash before append #{self.at}")
        self.inner.append(info, checkpoint, changed, durable=durable)

    def thread(self, thread: str) -> ThreadInfo | None:
        return self.inner.thread(thread)

    def threads(self) -> list[ThreadInfo]:
        return self.inner.threads()

    def latest(self, thread: str) -> Checkpoint | None:
        return self.inner.latest(thread)

    def get(self, thread: str, seq: int) -> Checkpoint | None:
        return self.inner.get(thread, seq)

    def history(self, thread: str) -> list[Checkpoint]:
        return self.inner.history(thread)


def drive(make_graph: Callable[[], Graph], model: FlowModel, answers: Answers,
          given: dict[str, Any], *, thread: str = "t", by_id: bool = True, one_at_a_time: bool = False,
          fresh_each_call: bool = False, crash_at: int | None = None,
          max_calls: int = 200) -> Trace:
    """Run to the end. ``by_id=False`` resumes a single pending interrupt with
    a bare value; ``one_at_a_time`` answers one of several pending per resume;
    ``crash_at`` kills the graph before its n-th store write of the whole run,
    then goes on with a fresh graph on the same (inner) store."""
    instrument.reset()
    trace = Trace()
    asked: Counter[tuple[str, str]] = Counter()
    graph = make_graph()
    crashing = CrashingStore(graph.store, crash_at) if crash_at else None
    if crashing is not None:
        graph = Graph(graph.compiled, crashing, graph.source, graph.path)
    payload: Any = given
    for _ in range(max_calls):
        before = graph.store.latest(thread)
        try:
            trace.events.extend(graph.stream(payload, thread=thread))
        except Crash:
            # Discard every in-memory object; continue from what was stored.
            graph = make_graph().__class__(graph.compiled, crashing.inner, graph.source, graph.path)  # type: ignore[union-attr]
            after = graph.store.latest(thread)
            persisted = after is not None and (before is None or after.seq != before.seq)
            if persisted:
                payload = None  # the call got through; the run goes on from its last step
            continue
        run = graph.state(thread)
        assert run is not None
        if run.status == "failed":
            raise AssertionError(f"generated flow failed: {run.error}")
        if run.status == "done":
            trace.status = "done"
            trace.state = run.state
            break
        dynamic = [i for i in run.interrupts if not i.static]
        trace.pauses.append(sorted(i.id for i in dynamic))
        if not dynamic:
            payload = None
        else:
            chosen = dynamic[:1] if one_at_a_time else dynamic
            values = {}
            for pending in chosen:
                key = (pending.node, pending.label)
                values[pending.id] = answers.value(model, pending.node, pending.label, asked[key])
                asked[key] += 1
            if not by_id and len(dynamic) == 1:
                payload = Command(resume=next(iter(values.values())))
            else:
                payload = Command(resume=values)
        if fresh_each_call:
            graph = make_graph()
    else:
        raise AssertionError("the run did not finish within the call budget")
    trace.hits = Counter(instrument.HITS)
    trace.once_hits = Counter(instrument.ONCE_HITS)
    trace.history = [c.to_json() for c in graph.store.history(thread)]
    return trace
