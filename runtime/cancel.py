"""Cancelling a run: ``flow.cancel(thread, by=...)``.

A cancelled run ends where it stands: one more checkpoint, of status
``cancelled``, with the run's state as it was, nothing pending and nothing
to run next, and ``extra["cancelled"]`` saying who cancelled it and when
(the audit trail shows it). Appending it updates the store's run index in
the same transaction, so the run's questions leave the inbox and its
deadlines, reminders and timers the due index at once; a ``run.cancelled``
outbox event goes with it.

A cancelled run is final: answers, updates, ``invoke(None)``, a new input
on its thread, ``submit`` and ``tick`` are all refused with
:class:`RunCancelledError` (nothing is stored). A run that is done is not
cancelled (there is nothing left to stop); a failed run is (it would
otherwise wait for a retry).

Cancelling takes the run's lease like any other call: a run another
process is advancing right now is :class:`RunBusyError` (try again when it
pauses). So a cancel never races a step: it lands between two checkpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .checkpoint import Checkpoint
from .clock import format_time
from .errors import FermataError
from .leases import LeaseKeeper
from .records import OutboxKind, RunStatus

if TYPE_CHECKING:
    from .flow import Flow
    from .record_types import CancelRecord
    from .run import Run


class RunCancelledError(FermataError):
    """The run was cancelled (``flow.cancel``): it takes nothing any more.
    ``cancelled`` is the record: ``{"by": ..., "at": ...}``."""

    def __init__(self, message: str, thread: str, cancelled: Mapping[str, Any]):
        super().__init__(message)
        self.thread = thread
        self.cancelled = cancelled


def cancelled_error(thread: str, latest: Checkpoint) -> RunCancelledError | None:
    """The refusal of any call on a cancelled run (None: not cancelled)."""
    if latest.status != RunStatus.CANCELLED:
        return None
    record: Mapping[str, Any] = latest.extra.get("cancelled") or {}
    who = f" by `{record['by']}`" if record.get("by") else ""
    return RunCancelledError(f"the run of thread `{thread}` was cancelled{who} at {record.get('at', '?')}: "
                             "it takes no answer, update or input any more (nothing was stored)",
                             thread, record)


def cancel(graph: Flow, thread: str, by: str | None, reason: str | None) -> Run:
    """Cancel the run of ``thread`` (see the module's doc)."""
    from .run import Run

    if by is not None and not isinstance(by, str):
        raise FermataError(f"cancel(by=...) must be an identity string, not {type(by).__name__}")
    if reason is not None and not isinstance(reason, str):
        raise FermataError(f"cancel(reason=...) must be a string, not {type(reason).__name__}")
    store = graph.store
    if store.latest(thread) is None:
        raise FermataError(f"no run on thread `{thread}`")
    lease = LeaseKeeper(store, thread, graph.lease_ttl).take()
    try:
        info = store.thread(thread)
        latest = store.latest(thread)
        assert info is not None and latest is not None
        refused = cancelled_error(thread, latest)
        if refused is not None:
            raise refused
        if latest.status == RunStatus.DONE:
            raise FermataError(f"the run of thread `{thread}` is done: there is nothing to cancel")
        at = format_time(graph.clock())
        record: CancelRecord = {"by": by, "at": at}
        if reason:
            record["reason"] = reason
        withdrawn = [p["id"] for p in latest.pending]
        if withdrawn:
            record["withdrawn"] = withdrawn
        seq = latest.seq + 1
        checkpoint = Checkpoint(seq=seq, step=latest.step, status=RunStatus.CANCELLED.value,
                                values=dict(latest.values), frontier=[], joins={}, pending=[], nodes={},
                                error=None, extra={"cancelled": record})
        checkpoint.outbox = [{"key": f"{thread}/{seq}/0", "event": OutboxKind.RUN_CANCELLED.value,
                              "thread": thread, "flow": info.flow, "seq": seq, "at": at, "payload": record}]
        # Every field as a full snapshot (``changed=None``): the checkpoint
        # stands on its own, whatever the previous one held.
        store.append_final(info, checkpoint, None, lease.owner, True, durable=True)
        lease.held = False
    finally:
        lease.release()
    return Run.from_checkpoint(thread, checkpoint, graph.compiled.outputs)
