"""Which commits a run asks to be durable, at each ``durability`` mode.

The power-loss proof is tests/runtime/store/test_power_loss.py; this file
pins the engine's choices (a pause, the end, a failure, a once result and
the checkpoint that records an accepted answer are durable at
``observable``; every commit at ``step``; none at ``fast``) and that the
SQLite store goes back to its cheap level after a durable commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from fermata.compiler import compile_source, load
from fermata.runtime import Command, Flow
from fermata.runtime.checkpoint import Checkpoint, OnceResult, ThreadInfo
from fermata.runtime.records import Durability
from fermata.runtime.store.memory import MemoryStore
from fermata.runtime.store.sqlite import SqliteStore

SPEC = """
flow d {
    state {
        n: int = 0
        r: str = ""
        ok: bool = false
        bad: bool = false
    }
    input bad
    node spin {
        set n = n + 1
    }
    node pay {
        let x = call once "tests.runtime.test_durability:receipt"(n)
        set r = x
    }
    node ask {
        let d = interrupt approval "ok?" expect bool
        set ok = d
    }
    node boom {
        call "tests.runtime.test_durability:explode"(n)
    }
    boom -> end
    start -> spin
    spin -> spin when n < 2
    spin -> pay otherwise
    pay -> ask
    ask -> boom when bad
    ask -> spin2 otherwise
    node spin2 {
        set n = n + 1
    }
    spin2 -> spin2 when n < 5
    spin2 -> end otherwise
}
"""


def receipt(n: int) -> str:
    return f"r{n}"


def explode(n: int) -> None:
    raise RuntimeError(f"boom at {n}")


class Recording(MemoryStore):  # type: ignore[misc]
    """A memory store that notes each write and whether it was asked to be durable."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, bool]] = []

    def append(self, info: ThreadInfo, checkpoint: Checkpoint, changed: Iterable[str] | None, *,
               durable: bool = False) -> None:
        self.writes.append((checkpoint.status, durable))
        super().append(info, checkpoint, changed, durable=durable)

    def append_final(self, info: ThreadInfo, checkpoint: Checkpoint, changed: Iterable[str] | None,
                     owner: str, drop_once: bool, *, durable: bool = False) -> None:
        self.writes.append((checkpoint.status, durable))
        super().append_final(info, checkpoint, changed, owner, drop_once, durable=durable)

    def save_once(self, thread: str, result: OnceResult, *, durable: bool = False) -> None:
        self.writes.append(("once", durable))
        super().save_once(thread, result, durable=durable)


def _run(mode: str, bad: bool = False) -> list[tuple[str, bool]]:
    store = Recording()
    graph = Flow.from_ir(compile_source(SPEC), store=store, durability=mode)
    assert graph.invoke({"bad": bad}, thread="t").status == "interrupted"
    graph.invoke(Command(resume=True), thread="t")
    return store.writes


def test_observable_makes_durable_what_the_outside_world_sees() -> None:
    writes = _run("observable")
    durable = [what for what, sync in writes if sync]
    assert durable == ["once", "interrupted",
                       "running",           # the step that took the answer
                       "done"]
    assert len(writes) > len(durable) + 3, writes   # the steps between are cheap


def test_a_failed_run_is_durable() -> None:
    writes = _run("observable", bad=True)
    assert writes[-1] == ("failed", True)
    assert writes[-2] == ("running", True)        # the answer, taken before the failure


@pytest.mark.parametrize(("mode", "expected"), [("step", True), ("fast", False)])
def test_step_makes_every_commit_durable_and_fast_none(mode: str, expected: bool) -> None:
    writes = _run(mode)
    assert {sync for _, sync in writes} == {expected}, writes


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="durability must be one of 'observable', 'step', 'fast', not 'safe'"):
        Flow.from_ir(compile_source(SPEC), durability="safe")
    spec = tmp_path / "d.flow"
    spec.write_text(SPEC)
    with pytest.raises(ValueError, match="not 'FULL'"):
        load(spec, durability="FULL")
    graph = load(spec, durability="step")
    assert graph.durability is Durability.STEP
    with pytest.raises(ValueError):
        graph.durability = "never"
    assert graph.durability is Durability.STEP


def _level(store: SqliteStore) -> Any:
    return store._conn.execute("PRAGMA synchronous").fetchone()[0]


def test_sqlite_raises_the_level_for_one_durable_commit_only(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "runs.db")
    graph = Flow.from_ir(compile_source(SPEC), store=store)
    assert _level(store) == 1                    # NORMAL
    assert graph.invoke({}, thread="t").status == "interrupted"    # durable commits happened
    assert _level(store) == 1
    store.save_once("t", OnceResult(9, "pay", 0, {"target": "m:f", "args_hash": "h", "result": 1}),
                    durable=True)
    assert _level(store) == 1
    store.close()
    full = SqliteStore(tmp_path / "full.db", synchronous="FULL")
    Flow.from_ir(compile_source(SPEC), store=full).invoke({}, thread="t")
    assert _level(full) == 2                     # a store at FULL stays there
    full.close()
