"""The Fermata runtime: executes the IR, with checkpoints and interrupt/resume.

Depends only on the IR (never on the compiler or Lark)::

    from fermata.runtime import Graph, Command
    graph = Graph.from_ir(ir)
    run = graph.invoke({"amount": 250}, thread="t1")
    run = graph.invoke(Command(resume={"approved": True}), thread="t1")
"""

from __future__ import annotations

from .checkpoint import Checkpoint, Store, ThreadInfo
from .command import Command
from .errors import (
    FermataError,
    InputError,
    InvalidUpdateError,
    NondeterminismError,
    ResumeError,
    RunBusyError,
    SpecChangedError,
    StepLimitError,
    StoreConflictError,
    StoreError,
)
from .graph import Graph
from .once import CallContext, call_context, idempotency_key
from .replay import ReplayResult, load_history, replay
from .run import Interrupt, Run, Snapshot

__all__ = [
    "CallContext",
    "Checkpoint",
    "Command",
    "FermataError",
    "Graph",
    "InputError",
    "Interrupt",
    "InvalidUpdateError",
    "NondeterminismError",
    "ReplayResult",
    "ResumeError",
    "Run",
    "RunBusyError",
    "Snapshot",
    "SpecChangedError",
    "StepLimitError",
    "Store",
    "StoreConflictError",
    "StoreError",
    "ThreadInfo",
    "call_context",
    "idempotency_key",
    "load_history",
    "replay",
]
