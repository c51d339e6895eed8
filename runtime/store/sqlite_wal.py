"""Folding the SQLite WAL back into the database file off the commit path.

In WAL mode each commit appends its pages to the ``-wal`` file, and a
*checkpoint* copies them back into the database file. SQLite runs one by
itself inside the commit that takes the WAL past 1,000 pages
(``wal_autocheckpoint``), and at ``synchronous=NORMAL`` that commit then
also pays the copy and two fsyncs. An interrupt cycle writes ~30 pages, so
about one cycle in 30 paid tens of milliseconds on a busy disk: that was the
p99 cycle of one process (bench/multiprocess_bench.py).

So the store's writing connection checkpoints by itself only as a safety net
(at :data:`SAFETY_NET_PAGES`), and a :class:`WalFolder` runs a ``PASSIVE``
checkpoint in a thread of its own, on a connection of its own, each time
this store has written about :data:`FOLD_EVERY_PAGES` pages. ``PASSIVE``
never waits for readers or writers (what it cannot copy yet, the next one
copies), and the sqlite3 module lets go of the GIL while SQLite works, so
the commits of the store's own thread go on meanwhile.

The safety net is also what starts the WAL over from its beginning: SQLite
reuses the file only when a writer begins with every frame copied, which a
fold running beside a busy writer never quite reaches; the commit past
:data:`SAFETY_NET_PAGES` copies the few frames the folds left (its fsyncs
find little to write) and the next writer starts over. So the ``-wal``
file grows to about that size (16 MB) while in use, not SQLite's ~4 MB.

Durability is SQLite's, unchanged: a checkpoint only copies committed pages,
syncing the WAL before and the database file after (as the automatic one).
The thread starts at the first fold and is stopped (joined) by ``close``,
or told to stop when the store is dropped without it.
"""

from __future__ import annotations

import sqlite3
import threading

FOLD_EVERY_PAGES = 1000     # SQLite's own wal_autocheckpoint threshold, moved off the commit path
SAFETY_NET_PAGES = 4000     # the writing connection checkpoints past this: what the folds left, and restarts the WAL
PAGE = 4096


class WalFolder:
    """Checkpoints the WAL of the database at ``path`` in a background thread."""

    def __init__(self, path: str, every_pages: int = FOLD_EVERY_PAGES):
        self.path = path
        self.every_pages = every_pages
        self.folds = 0                  # checkpoints run (tests, benchmarks)
        self._pages = 0                 # written since the last wake-up (an estimate)
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None

    def wrote(self, pages: int) -> None:
        """The store committed about ``pages`` pages: fold when enough are waiting."""
        self._pages += pages
        if self._pages < self.every_pages or self._stop:
            return
        self._pages = 0
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name=f"fermata-wal-folder {self.path}",
                                            daemon=True)
            self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """Let the thread end after the checkpoint it may be running (not
        waiting for it: what a store dropped without ``close`` calls)."""
        self._stop = True
        self._wake.set()

    def close(self) -> None:
        """Stop the thread, and wait for it to end."""
        self.stop()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return      # the writing connection's safety net checkpoints instead
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stop:
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.folds += 1
                except sqlite3.Error:
                    pass    # busy (another process is checkpointing) or failing: the next fold, or the safety net
        finally:
            conn.close()


def pages_of(size: int) -> int:
    """About how many WAL pages a commit writing ``size`` bytes of rows adds:
    the pages of the rows, and the few b-tree pages every commit touches."""
    return 4 + size // PAGE
