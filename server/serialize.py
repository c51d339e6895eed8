"""The JSON of a run, as the CLI prints it.

``state_json`` is exactly what ``fermata state --json`` prints (the test
``tests/server/test_serialize.py`` holds the two together), built from the
thread's info and latest checkpoint only, so it needs no compiled flow. It
belongs in the runtime (``runtime/records.py`` in the target layout); it is
written here once so that the CLI can switch to it when it moves.
"""

from __future__ import annotations

from typing import Any

from fermata.runtime import Checkpoint, ThreadInfo


def state_json(info: ThreadInfo, latest: Checkpoint) -> dict[str, Any]:
    """The run of ``info.thread`` as of ``latest``, as ``fermata state --json``."""
    return {"thread": info.thread, "flow": info.flow, "source": info.source,
            "status": latest.status, "step": latest.step, "checkpoint_id": latest.id,
            "state": latest.values, "next": latest.frontier, "interrupts": latest.pending,
            "error": latest.error}


def history_json(info: ThreadInfo, checkpoints: list[Checkpoint]) -> dict[str, Any]:
    """Every checkpoint of a run, as ``fermata history --json``."""
    return {"thread": info.to_json(), "checkpoints": [c.to_json() for c in checkpoints]}


def summary_json(info: ThreadInfo, latest: Checkpoint | None) -> dict[str, Any]:
    """One row of a run list, as ``fermata threads --json``."""
    return {**info.to_json(), "status": latest.status if latest else "empty",
            "step": latest.step if latest else None}
