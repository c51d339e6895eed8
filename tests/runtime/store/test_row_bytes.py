"""The rows a store writes are a stored format: making the codec faster must
not change a single byte of them.

``row_bytes.json`` was recorded with the codec as it stood before its
encoding path was optimised (``FERMATA_RECORD_ROWS=1`` rewrites it: only do
that for a deliberate format change, with a new format version). The
checkpoints below walk every branch of the codec: full rows and deltas,
status changes, set/unset, frontier and joins, a fan-out's pending list
answered item by item (``pending_splice``), deadlines and reminders (the
due index), node progress added, changed and dropped, ``extra`` replaced
and patched, a failure's error, child-run entries, once-style nested values,
non-ASCII text, floats and a forced snapshot (``snapshot_every``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fermata.runtime.checkpoint import Checkpoint
from fermata.runtime.stores import MemoryStore

from ..irbuild import chain, make_graph
from .support import cp, info

FIXTURE = Path(__file__).parent / "data" / "row_bytes.json"


def _ask(i: int, **more: Any) -> dict[str, Any]:
    return {"id": f"q{i}", "node": "review", "label": "approve", "index": i, "payload": {"item": f"é{i}", "n": i},
            "schema": {"type": "boolean"}, "token": f"tok-{i:04d}", "asked_at": "2026-01-01T00:00:00Z", **more}


def _history() -> list[tuple[Checkpoint, list[str] | None]]:
    """``(checkpoint, changed)`` of one varied thread, in order."""
    fan = [_ask(i, deadline_at=f"2026-01-0{1 + i % 3}T00:00:00Z") for i in range(12)]
    fan[3]["remind_every"] = "PT1H"
    fanout = {"review": {"items": list(range(12)), "done": []}}
    steps: list[tuple[Checkpoint, list[str] | None]] = [
        (cp(0, {"x": 0, "name": "Zoë", "big": list(range(50))}, frontier=["start"]), None),
        (cp(1, {"x": 1, "name": "Zoë", "big": list(range(50))}, frontier=["a", "b"],
            extra={"route_start": True}), ["x"]),
        (cp(2, {"x": 1, "name": "Zoë", "big": list(range(50)), "f": 1.5e-7}, frontier=["join"],
            joins={"join": ["a"]}, nodes={"a": {"status": "finished", "attempts": 1, "writes": [["f", "=", 1.5e-7]]}},
            extra={"goto": ["join"]}), ["f"]),
        (cp(3, {"x": 1, "name": "Zoë", "big": list(range(50))}, frontier=["review"],
            nodes={"a": {"status": "finished", "attempts": 1, "writes": []},
                   "b": {"status": "failed", "attempts": 2, "writes": []}}), ["f"]),
        (cp(4, {"x": 1, "name": "Zoë", "big": list(range(50))}, status="interrupted", frontier=["review"],
            pending=fan, extra={"fanout": fanout, "deadline_next": "2026-01-01T00:00:00Z"}), []),
    ]
    answered = list(fan)
    for seq, i in zip(range(5, 9), (0, 5, 11, 6), strict=True):
        answered = [p for p in answered if p["id"] != f"q{i}"]
        done = {"review": {**fanout["review"], "done": [i]}}
        steps.append((cp(seq, {"x": seq, "name": "Zoë", "big": list(range(50))}, status="interrupted",
                         frontier=["review"], pending=list(answered),
                         nodes={"review": {"status": "interrupted", "resume": [True] * seq, "interrupts": ["q1"]}},
                         extra={"fanout": done, "deadline_next": "2026-01-01T00:00:00Z",
                                "answered": [{"id": f"q{i}", "by": "ann"}]}), ["x"]))
    child = {"id": "c1", "node": "draft", "label": "child", "parent": "p", "token": "t-c1"}
    steps += [
        (cp(9, {"x": 9, "name": "Zoë", "big": list(range(50))}, status="interrupted", frontier=["review"],
            pending=[*answered[:2], child], extra={"fired": [{"kind": "reminder", "id": "q3"}]}), ["x"]),
        (cp(10, {"x": 10, "big": list(range(50)), "once": {"pay": {"args_hash": "ab" * 8, "result": {"ok": True}}}},
            frontier=["end"]), ["x", "name", "once"]),
        (cp(11, {"x": 10, "big": list(range(50))}, status="failed", frontier=["end"],
            error={"message": "boom – ünïcode", "type": "ValueError", "kind": "user_code", "node": "end",
                   "line": 3, "column": 5, "path": "f.flow", "traceback": None}), ["once"]),
        (cp(12, {"x": 11, "big": list(range(50))}, frontier=["end"]), ["x"]),
        (cp(13, {"x": 12, "big": list(range(50))}, status="done"), ["x"]),
    ]
    return steps


def _rows(store_kwargs: dict[str, Any]) -> list[list[str]]:
    store = MemoryStore(**store_kwargs)
    for checkpoint, changed in _history():
        store.append(info(), checkpoint, changed)
    rows = [[kind, body] for kind, body in store.rows("t")]
    # Read back and append again: the tail the next delta is based on is
    # then rebuilt from a decoded checkpoint (``latest``), not kept.
    resumed = MemoryStore(**store_kwargs)
    for checkpoint, changed in _history()[:6]:
        resumed.append(info(), checkpoint, changed)
    again = MemoryStore(**store_kwargs)
    again._threads = resumed._threads      # the same rows, no tail cached
    again.latest("t")
    for checkpoint, changed in _history()[6:]:
        again.append(info(), checkpoint, changed)
    return rows + [["resumed:" + kind, body] for kind, body in again.rows("t")]


def _engine_rows() -> list[list[str]]:
    """A run of the engine itself (the per-step rows of the benchmarks' chain)."""
    store = MemoryStore(snapshot_every=4)
    make_graph(chain(6), store).invoke({}, thread="c")
    return [[kind, body] for kind, body in store.rows("c")]


def _recorded() -> dict[str, list[list[str]]]:
    return {"every 50": _rows({}), "every 3": _rows({"snapshot_every": 3}), "engine": _engine_rows()}


def test_stored_rows_are_byte_identical_to_the_recorded_ones() -> None:
    rows = _recorded()
    if os.environ.get("FERMATA_RECORD_ROWS") == "1":
        FIXTURE.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))
    for name, got in rows.items():
        assert len(got) == len(expected[name])
        for seq, (row, want) in enumerate(zip(got, expected[name], strict=True)):
            assert row == want, f"{name}, row {seq}"
