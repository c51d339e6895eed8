"""A minimal store for the engine's tests, independent of ``runtime/stores.py``.

Every checkpoint goes through JSON text, as a real store's would, so a test
catches any state the runtime forgot to make JSON or shared by reference.
It also counts appends, so tests can prove a rejected call wrote nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from fermata.runtime.checkpoint import Checkpoint, Store, ThreadInfo


class JsonMemoryStore(Store):
    def __init__(self) -> None:
        self.infos: dict[str, dict] = {}
        self.rows: dict[str, list[str]] = {}
        self.changed: dict[str, list[list[str] | None]] = {}
        self.appends = 0

    def thread(self, thread: str) -> ThreadInfo | None:
        data = self.infos.get(thread)
        return ThreadInfo(**data) if data else None

    def threads(self) -> list[ThreadInfo]:
        return [ThreadInfo(**d) for _, d in sorted(self.infos.items())]

    def append(self, info: ThreadInfo, checkpoint: Checkpoint, changed: Iterable[str] | None, *,
               durable: bool = False) -> None:
        rows = self.rows.setdefault(info.thread, [])
        assert checkpoint.seq == len(rows), (checkpoint.seq, len(rows))
        rows.append(json.dumps(checkpoint.to_json(), sort_keys=True, allow_nan=False))
        self.infos[info.thread] = info.to_json()
        self.changed.setdefault(info.thread, []).append(None if changed is None else list(changed))
        self.appends += 1

    def latest(self, thread: str) -> Checkpoint | None:
        rows = self.rows.get(thread)
        return Checkpoint.from_json(json.loads(rows[-1])) if rows else None

    def get(self, thread: str, seq: int) -> Checkpoint | None:
        rows = self.rows.get(thread, [])
        return Checkpoint.from_json(json.loads(rows[seq])) if 0 <= seq < len(rows) else None

    def history(self, thread: str) -> list[Checkpoint]:
        return [Checkpoint.from_json(json.loads(r)) for r in self.rows.get(thread, [])]

    def dump(self, thread: str) -> tuple[dict | None, list[str]]:
        """Everything stored for ``thread``, to compare before and after a call."""
        return (self.infos.get(thread), list(self.rows.get(thread, [])))


class ReferenceStore(JsonMemoryStore):
    """Keeps the very checkpoint objects it is given (as a naive in-memory
    store would) and remembers their JSON at append time, so a test can prove
    the runtime never changes a checkpoint after handing it over."""

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[str, list[Checkpoint]] = {}

    def append(self, info: ThreadInfo, checkpoint: Checkpoint, changed: Iterable[str] | None, *,
               durable: bool = False) -> None:
        super().append(info, checkpoint, changed, durable=durable)
        self.objects.setdefault(info.thread, []).append(checkpoint)

    def latest(self, thread: str) -> Checkpoint | None:
        objects = self.objects.get(thread)
        return objects[-1] if objects else None

    def get(self, thread: str, seq: int) -> Checkpoint | None:
        objects = self.objects.get(thread, [])
        return objects[seq] if 0 <= seq < len(objects) else None

    def history(self, thread: str) -> list[Checkpoint]:
        return list(self.objects.get(thread, []))

    def unchanged_since_append(self, thread: str) -> bool:
        now = [json.dumps(c.to_json(), sort_keys=True) for c in self.objects.get(thread, [])]
        return now == self.rows.get(thread, [])
