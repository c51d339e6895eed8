"""A loop in a daemon thread of the serving process, started and stopped
with the server (the ticker, the queue worker, the webhook deliverer)."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod


class BackgroundLoop(ABC):
    """``start`` runs ``_loop`` in a thread named ``thread_name``; ``stop``
    sets ``_stop`` (which the loop waits on) and joins the thread."""

    thread_name = "fermata-background"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @abstractmethod
    def _loop(self) -> None: ...
