"""The Fermata runtime: executes the IR, with checkpoints and interrupt/resume.

Depends only on the IR (never on the compiler or Lark)::

    from fermata.runtime import Flow, Command
    graph = Flow.from_ir(ir)
    run = graph.invoke({"amount": 250}, thread="t1")
    run = graph.invoke(Command(resume={"approved": True}), thread="t1")
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

from .lazy import lazy_getattr

if TYPE_CHECKING:
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
    from .flow import Flow, Graph
    from .once import CallContext, call_context, idempotency_key
    from .replay import ReplayResult, load_history, replay
    from .run import Interrupt, Run, Snapshot

__all__ = [
    "CallContext",
    "Checkpoint",
    "Command",
    "FermataError",
    "Flow",
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


# Each name is imported when first asked for, so that importing one module
# (`fermata resume` imports records, command and flow) does not load the
# others: replay.py alone costs every command ~2 ms of start-up.
_HOMES = {
    "Checkpoint": "checkpoint", "Store": "checkpoint", "ThreadInfo": "checkpoint",
    "Command": "command",
    **dict.fromkeys(("FermataError", "InputError", "InvalidUpdateError", "NondeterminismError", "ResumeError",
                     "RunBusyError", "SpecChangedError", "StepLimitError", "StoreConflictError", "StoreError"),
                    "errors"),
    "Flow": "flow", "Graph": "flow",
    "CallContext": "once", "call_context": "once", "idempotency_key": "once",
    "ReplayResult": "replay", "load_history": "replay", "replay": "replay",
    "Interrupt": "run", "Run": "run", "Snapshot": "run",
}


__getattr__ = lazy_getattr(__name__, _HOMES)


class _Package(types.ModuleType):
    """This package, whose ``replay`` is the function ``replay.replay``.

    Importing the submodule ``fermata.runtime.replay`` binds the package's
    attribute ``replay`` to that module (the import system does so after any
    submodule's import); an eager ``from .replay import replay`` here rebound
    it to the function. Now that the submodule is imported only when needed,
    the module is not let in, so ``from fermata.runtime import replay`` is the
    function whichever was imported first."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "replay" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
