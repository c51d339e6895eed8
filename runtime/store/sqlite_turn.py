"""Processes taking turns at a SQLite file's write lock: a lock file beside it.

SQLite has one write lock per file and no queue for it: a writer that finds
it taken gets ``SQLITE_BUSY`` and can only try again later
(``sqlite_busy.py``). With several processes writing one file, a waiter
that slept missed the moment the lock was free, the process that had just
committed took it again, and the lock went round slower than the processes
could use it: four processes did fewer interrupt cycles than one (73% of
them), with one of the two cores idle, while four processes writing four
files did 1.8 times as many as one. Each cycle takes the lock seven times, so
the time between one writer's commit and the next one's start was what
counted.

So a store takes its file's *write turn* before each write transaction and
gives it back after the commit: an exclusive ``flock`` on ``<file>-turn``,
an empty file created beside the database at the first write (like SQLite's
``-wal`` and ``-shm``; never removed, since a process may be waiting on it).
A waiter retries at once for up to :data:`SPIN` seconds, long enough to see
the holder's commit (a turn is held for tens of microseconds at
``synchronous=NORMAL``), then in the store's short sleeps until its
``timeout``, when the write fails as if SQLite's lock were held (a stopped
process holding the turn gives a clear error, not a hang). On a 2-core
machine four processes then do 1.3x the cycles of one; the waits tried
and what each gave are in docs/guide/performance.md ("Taking turns").

The turn only makes the processes' waits short and fair; it is never what
keeps a write safe. SQLite's own lock still guards every write, so a writer
that does not take turns (another program, an older Fermata) is waited for
as before, and a process that dies holding the turn releases it with its
file descriptors. Where there is no ``flock`` (Windows) or the file cannot
be created, writers wait on SQLite's lock alone.
"""

from __future__ import annotations

import os
import time

from ..errors import StoreError
from .sqlite_busy import pauses

try:
    import fcntl
except ImportError:   # Windows: no flock
    fcntl = None  # type: ignore[assignment]

SPIN = 300e-6   # seconds of retrying at once before sleeping (measured: docs/guide/performance.md)

_NOT_OPENED = -2
_NO_TURN = -1


class WriteTurn:
    """The write turn of the SQLite file at ``database`` (see the module's
    doc), held inside ``with turn:`` (a plain context manager, not a
    generator: it is entered ~7 times per interrupt cycle)."""

    def __init__(self, database: str, timeout: float):
        self.path = database + "-turn"
        self.timeout = timeout
        self._fd = _NOT_OPENED     # opened at the first write: a reading store creates nothing

    def __enter__(self) -> None:
        """Take the turn (waiting for it), unless there is none."""
        fd = self._fd if self._fd != _NOT_OPENED else self._open()
        if fd != _NO_TURN:
            self._take(fd)

    def __exit__(self, *exc: object) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = _NOT_OPENED

    def _open(self) -> int:
        if fcntl is None:
            self._fd = _NO_TURN
            return self._fd
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            self._fd = _NO_TURN     # a read-only folder: SQLite's lock alone (and its error, if any)
        return self._fd

    def _take(self, fd: int) -> None:
        if _try(fd):
            return
        until = time.perf_counter() + SPIN
        while time.perf_counter() < until:
            if _try(fd):
                return
        for _ in pauses(self.timeout):
            if _try(fd):
                return
        raise StoreError(f"store {self.path.removesuffix('-turn')} stayed locked by another process "
                         f"(its write turn, {self.path}, was held for more than {self.timeout:g} s)")


def _try(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
