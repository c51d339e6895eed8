"""Holding a run's lease while one ``invoke`` advances it.

Exactly one caller may advance a thread's run at a time. ``invoke`` and
``stream`` take the thread's lease *before* they read the latest checkpoint
and plan what to do, hold it while nodes run, and release it when the run
pauses, finishes or fails (or the call raises). A caller that finds the lease
held gets :class:`RunBusyError` having run and written nothing.

The lease expires ``ttl_s`` seconds after it was taken or last renewed, so a
process that was killed does not block the run forever (a store that can see
that the holder's process is gone, on the same host, lets it go at once).
The holder renews it at checkpoints and ``once`` results, at most every third
of ``ttl_s`` (a clock read per step, a store write only when due). A single
node that runs longer than ``ttl_s`` without a ``once`` call cannot renew:
another process may then take the run over, and the seq check of the
checkpoint append is what stops the slower of the two from writing. Give such
flows a longer ``Flow.lease_ttl``.
"""

from __future__ import annotations

import time

from .checkpoint import Store, new_owner
from .errors import RunBusyError

DEFAULT_LEASE_TTL = 60.0


class LeaseKeeper:
    """The lease of one thread, held by one ``invoke``."""

    def __init__(self, store: Store, thread: str, ttl_s: float = DEFAULT_LEASE_TTL):
        if not ttl_s > 0:
            raise ValueError(f"a lease lasts a positive number of seconds, not {ttl_s!r}")
        self.store = store
        self.thread = thread
        self.ttl_s = ttl_s
        self.owner = new_owner()
        self.held = False
        self._renew_at = 0.0     # time.monotonic() after which the next renewal is due

    def take(self) -> LeaseKeeper:
        """Take the lease, or raise :class:`RunBusyError` naming the thread."""
        if not self.store.acquire(self.thread, self.owner, self.ttl_s):
            raise self._busy("another process is advancing it (it holds the run's lease)")
        self.held = True
        self._renew_at = time.monotonic() + self.ttl_s / 3
        return self

    def renew_if_due(self) -> None:
        """Renew when a third of the lease has passed; raise
        :class:`RunBusyError` if it was lost meanwhile (this caller then
        stops before writing anything more)."""
        if not self.held or time.monotonic() < self._renew_at:
            return
        if not self.store.renew(self.thread, self.owner, self.ttl_s):
            self.held = False
            raise self._busy(f"this call's lease expired (a step ran longer than {self.ttl_s:g} s) "
                             "and another process took the run over")
        self._renew_at = time.monotonic() + self.ttl_s / 3

    def release(self) -> None:
        if self.held:
            self.held = False
            self.store.release(self.thread, self.owner)

    def _busy(self, why: str) -> RunBusyError:
        held = self.store.lease(self.thread)
        holder = held.owner if held is not None else None
        until = ""
        if held is not None:
            left = max(0.0, held.expires - time.time())
            until = f"; held by {held.owner} for up to {left:.0f} s more"
        return RunBusyError(f"the run of thread `{self.thread}` is busy: {why}{until}. Nothing was run or "
                            "written; try again when it has paused or finished", self.thread, holder)
