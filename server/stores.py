"""Store connections for concurrent requests: a bounded pool of store objects.

A store object holds one database connection behind a lock (SQLite's and
PostgreSQL's alike), so a server sharing one store object between its
request threads serialises every request on it: a read of one run waits
behind the append of another, and one slow transaction stalls the whole
server. Instead, a request (or a job advancing a run) *borrows* a store
object of its own for as long as it runs, from a pool of at most ``size``
(each opened on first need); the graphs it acts through are the served
flows bound to that store object.

On SQLite, which takes one writer at a time whatever the connection, the
jobs advancing runs borrow the shared store object instead (``shared=True``:
its lock queues them, which costs less than SQLite's busy waits between
connections of one process); requests still read on store objects of their own.

A borrow is per thread and re-entrant: code called inside it (the inbox's
helpers) uses the same store object through :meth:`StorePool.current`. A
memory store cannot be opened twice (it is the process's memory): every
borrow gets it, as does a pool made without a URL. A store object whose
connection may have failed (a :class:`StoreError` other than a conflict
raised out of the borrow) is closed and replaced by a fresh one at a later borrow, so a database restart costs
the requests in flight, not the server.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fermata.runtime import Flow, StoreError
from fermata.runtime.errors import StoreConflictError
from fermata.runtime.store.logstore import LogStore
from fermata.runtime.store.memory import MemoryStore

from .catalog import FlowEntry


class StorePool:
    def __init__(self, shared: LogStore, url: str | None, size: int):
        if size < 1:
            raise ValueError("a store pool needs at least one store")
        self.shared = shared           # the server's own (ticking, webhooks), and every borrow's without a URL
        self.url = None if isinstance(shared, MemoryStore) else url
        self.size = size
        self._idle: queue.LifoQueue[LogStore] = queue.LifoQueue()
        self._opened = 0
        self._guard = threading.Lock()
        self._local = threading.local()
        self._graphs: dict[tuple[int, str], Flow] = {}    # (id of a store object, flow) -> its graph
        self._all: list[LogStore] = []

    @contextmanager
    def borrowed(self, shared: bool = False) -> Iterator[LogStore]:
        """A store object for this thread until the block ends (``shared``:
        the shared one)."""
        current: LogStore | None = getattr(self._local, "store", None)
        if current is not None or self.url is None:   # nested, or one store for all
            yield current or self.shared
            return
        if shared:
            self._local.store = self.shared
            try:
                yield self.shared
            finally:
                self._local.store = None
            return
        store = self._take()
        self._local.store = store
        broken = False
        try:
            yield store
        except StoreConflictError:
            raise                      # another process wrote first: the connection is fine
        except StoreError:
            broken = True
            raise
        finally:
            self._local.store = None
            if broken:
                self._discard(store)
            else:
                self._idle.put(store)

    def current(self) -> LogStore:
        """This thread's borrowed store object (the shared one outside a borrow)."""
        found: LogStore | None = getattr(self._local, "store", None)
        return found or self.shared

    def graph(self, entry: FlowEntry) -> Flow:
        """``entry``'s flow bound to this thread's store object."""
        store = self.current()
        if store is entry.graph.store:
            return entry.graph
        key = (id(store), entry.name)
        with self._guard:
            graph = self._graphs.get(key)
            if graph is None:
                graph = self._graphs[key] = entry.on(store)
        return graph

    def _take(self) -> LogStore:
        while True:
            with self._guard:
                try:
                    return self._idle.get_nowait()
                except queue.Empty:
                    pass
                if self._opened < self.size:
                    self._opened += 1
                    break
            # Every store object is in use: wait for one to come back (or,
            # when one was discarded meanwhile, for room to open another).
            try:
                return self._idle.get(timeout=0.25)
            except queue.Empty:
                continue
        try:
            from fermata.runtime.stores import open_store

            assert self.url is not None
            store = open_store(self.url)
        except BaseException:
            with self._guard:
                self._opened -= 1
            raise
        if not isinstance(store, LogStore):
            raise StoreError(f"the server needs a store with a run index, not {type(store).__name__}")
        with self._guard:
            self._all.append(store)
        return store

    def _discard(self, store: LogStore) -> None:
        with self._guard:
            self._opened -= 1
            self._all.remove(store)
            for key in [key for key in self._graphs if key[0] == id(store)]:
                del self._graphs[key]
        try:
            store.close()
        except Exception:  # noqa: BLE001 - a connection that failed may fail to close too
            pass

    def close(self) -> None:
        """Close every store object the pool opened (not the shared one)."""
        with self._guard:
            opened, self._all = self._all, []
            self._graphs.clear()
        for store in opened:
            store.close()
