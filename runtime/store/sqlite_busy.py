"""Waiting for another process's SQLite write lock: short sleeps, not SQLite's.

Several processes sharing one SQLite file take turns at its one write lock.
SQLite's own busy handler (``PRAGMA busy_timeout``, and what Python's
``sqlite3.connect(timeout=)`` installs) sleeps 1, 2, 5, 10, 15, 20, 25, 25,
25, 50, 50, then 100 ms between tries. A Fermata write holds the lock for
tens of microseconds, so a waiter sleeps far longer than the lock was held,
and a process that keeps writing can win the lock again and again while the
others sleep: with four processes, throughput fell below one process's and
single cycles took 0.85 s (6 s when each commit fsyncs).

So the store's connection has no busy handler (``busy_timeout = 0``: a
locked database answers ``SQLITE_BUSY`` at once) and :func:`retry_busy`
retries instead, after sleeps that start at 50 µs and grow by half up to
0.5 ms, each jittered so that waiting processes do not wake in step. The
cap is short for fairness: the process that just committed runs on and
takes the lock again within ~0.1 ms, so a waiter that slept longer kept
missing its turn (with four processes, a 0.5 ms cap gave 10-26% lower p99
cycles than 2 ms, in turns on one loaded machine); a failed try costs a few
microseconds. It retries
only statements that, when busy, did nothing: ``BEGIN IMMEDIATE`` (which
takes the write lock before anything is read, so no transaction is ever
upgraded from reading to writing, where SQLite would answer busy without
waiting to avoid a deadlock), an autocommitted statement, a read, and
``COMMIT`` (SQLite keeps the transaction open when it answers busy, so
the commit may be tried again).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

FIRST_PAUSE = 50e-6     # seconds; a write holds the lock for ~20-100 us at synchronous=NORMAL
LONGEST_PAUSE = 0.5e-3  # an fsync (synchronous=FULL) holds it for ~1-20 ms: a few more tries then


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether SQLite refused because another connection holds a lock (by
    the error's code, never its message: messages change between versions)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def pauses(timeout: float) -> Iterator[float]:
    """Sleep between tries, then yield, until ``timeout`` seconds have
    passed (then stop): sleeps of :data:`FIRST_PAUSE` growing by half up to
    :data:`LONGEST_PAUSE`, each jittered so that waiters do not wake in step.
    The waiting of every writer of the store: SQLite's lock here, the write
    turn in ``sqlite_turn.py``."""
    deadline = time.monotonic() + timeout
    pause = FIRST_PAUSE
    while time.monotonic() < deadline:
        # jitter (os.urandom: `random` costs ~1 ms of start-up)
        time.sleep(pause * (0.5 + os.urandom(1)[0] / 256))
        yield pause
        pause = min(pause * 1.5, LONGEST_PAUSE)


def retry_busy(action: Callable[[], T], timeout: float) -> T:
    """``action()``, tried again while SQLite answers busy, for up to
    ``timeout`` seconds; then the last busy error is raised."""
    try:
        return action()
    except sqlite3.OperationalError as exc:
        if not is_busy(exc):
            raise
        last = exc
    for _ in pauses(timeout):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            last = exc
    raise last
