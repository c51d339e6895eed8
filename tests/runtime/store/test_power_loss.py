"""A power loss never loses what the outside world has seen (SQLite store).

How the power loss is simulated, and why it is honest: the run happens in a
child process with ``fsync_snapshots.c`` preloaded (``LD_PRELOAD``). Every
``fsync``/``fdatasync`` SQLite makes on the store's files first copies the
file whole into a numbered snapshot. What a disk is guaranteed to hold after
a power loss is, per file, its content at its last sync: any write after
that may be lost, so the simulation loses *all* of them (the harshest case a
correct disk allows; SQLite's own crash tests use the same model). The
directory entries are assumed durable (the files exist; one never synced is
empty).

The flow's calls note, in a side file, each thing the outside world sees
(``power_loss_calls.observe``) and how many snapshots existed at that
instant. For each such point the test rebuilds the store file and its WAL
from the snapshots taken before it -- the disk after a power loss right
then -- and checks, in this process with the real store code:

* what was seen is in the store (the pause, the once result, the accepted
  answer, the end);
* the run continues from there to the same final state as the run that
  never lost power, and the once call (a charge) never runs twice.

Every other instant between two syncs gives one of the same images, so the
test also continues the run from every snapshot prefix. The same harness run
at ``durability="fast"`` must lose a seen pause: that shows the test can
fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fermata.compiler import load
from fermata.runtime import Command
from fermata.runtime.store.sqlite import SqliteStore

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
CALLS = "tests.runtime.store.power_loss_calls"

SPEC = f"""
flow powerloss {{
    state {{
        n: int = 0
        receipt: str = ""
        ok: bool = false
    }}
    node warm {{
        set n = n + 1
    }}
    node charge {{
        let r = call once "{CALLS}:charge"(n)
        call "{CALLS}:observe"("once")
        set receipt = r
    }}
    node mid {{
        set n = n + 1
    }}
    node ask {{
        let d = interrupt approval "Ship it?" expect bool
        set ok = d
    }}
    node after {{
        call "{CALLS}:observe"("accepted")
        set n = n + 1
    }}
    node cool {{
        set n = n + 1
    }}
    start -> warm
    warm -> warm when n < 3
    warm -> charge otherwise
    charge -> mid
    mid -> mid when n < 6
    mid -> ask otherwise
    ask -> after
    after -> cool
    cool -> cool when n < 9
    cool -> end otherwise
}}
"""

CHILD = """
import sys
from fermata.compiler import load
from fermata.runtime import Command
from tests.runtime.store.power_loss_calls import observe

spec, db, mode = sys.argv[1:]
graph = load(spec, store="sqlite:///" + db, durability=mode)
run = graph.invoke({}, thread="t")
assert run.status == "interrupted", run.status
observe("paused")
run = graph.invoke(Command(resume=True), thread="t")
assert run.status == "done", run.status
observe("done")
"""


@pytest.fixture(scope="module")
def shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None or not sys.platform.startswith("linux"):
        pytest.skip("the power-loss recorder needs gcc and Linux (LD_PRELOAD, /proc/self/fd)")
    out = tmp_path_factory.mktemp("shim") / "fsync_snapshots.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(out),
                    str(Path(__file__).with_name("fsync_snapshots.c")), "-ldl"], check=True)
    return out


class Recorded:
    """One run in a child process: its snapshots, what it saw, what it did."""

    def __init__(self, shim: Path, work: Path, mode: str):
        self.work = work
        self.snaps = work / "snaps"
        self.snaps.mkdir()
        self.spec = work / "powerloss.flow"
        self.spec.write_text(SPEC)
        self.effects = work / "effects.txt"
        db = work / "live" / "runs.db"
        db.parent.mkdir()
        observed = work / "observed.txt"
        env = {**os.environ, "LD_PRELOAD": str(shim), "FSYNC_SNAP_DIR": str(self.snaps),
               "FSYNC_SNAP_WATCH": str(db), "POWER_LOSS_EFFECTS": str(self.effects),
               "POWER_LOSS_OBSERVED": str(observed), "FERMATA_IR_CACHE": "off",
               "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-c", CHILD, str(self.spec), str(db), mode], env=env, check=True,
                       cwd=ROOT, timeout=120)
        self.observed = [(what, int(count)) for what, count in
                         (line.split() for line in observed.read_text().splitlines())]
        self.charges = self.effects.read_text()
        self.final = _final_state(db)

    def image(self, count: int, name: str) -> Path:
        """The store's files after a power loss once ``count`` snapshots were
        taken: each file as of its last snapshot among them (absent: empty)."""
        folder = self.work / name
        folder.mkdir()
        snaps = sorted(os.listdir(self.snaps))[:count]
        for suffix in ("", "-wal"):
            taken = [s for s in snaps if s.split("-", 1)[1] == "runs.db" + suffix]
            target = folder / ("runs.db" + suffix)
            if taken:
                shutil.copyfile(self.snaps / taken[-1], target)
            elif suffix == "":
                target.write_bytes(b"")
        return folder / "runs.db"


def _final_state(db: Path) -> dict[str, Any]:
    store = SqliteStore(db, create=False)
    try:
        latest = store.latest("t")
        assert latest is not None and latest.status == "done"
        return dict(latest.values)
    finally:
        store.close()


def _latest(db: Path) -> Any:
    if db.stat().st_size == 0:
        return None
    store = SqliteStore(db, create=False)
    try:
        return store.latest("t")
    finally:
        store.close()


def _continue(recorded: Recorded, db: Path) -> dict[str, Any]:
    """Run the flow on the power-lost store until it is done, answering as
    the child did; the final state."""
    graph = load(recorded.spec, store=f"sqlite:///{db}")
    latest = graph.store.latest("t")
    run = graph.invoke({}, thread="t") if latest is None else None
    for _ in range(5):
        latest = graph.store.latest("t")
        assert latest is not None
        if latest.status == "done":
            graph.store.close()
            return dict(latest.values)
        answer = Command(resume=True) if latest.status == "interrupted" and latest.pending else None
        run = graph.invoke(answer, thread="t")
    raise AssertionError(f"the run did not finish: {run}")


def _saw(what: str, latest: Any) -> bool:
    """Whether the store after the power loss holds what was seen."""
    if latest is None:
        return False
    values = latest.values
    if what == "paused":
        return bool(latest.status == "interrupted" or values.get("ok") is True)
    if what == "accepted":
        return values.get("ok") is True
    if what == "done":
        return bool(latest.status == "done")
    raise AssertionError(what)


@pytest.mark.parametrize("mode", ["observable", "step"])
def test_nothing_seen_is_lost_and_the_run_ends_the_same(shim: Path, tmp_path: Path, mode: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = Recorded(shim, tmp_path, mode)
    monkeypatch.setenv("POWER_LOSS_EFFECTS", str(recorded.effects))   # the continuations' charges
    assert [what for what, _ in recorded.observed] == ["once", "paused", "accepted", "done"]
    assert recorded.charges == "charge 3\n"
    snapshots = len(os.listdir(recorded.snaps))
    for what, count in recorded.observed:
        db = recorded.image(count, f"at-{what}")
        store = SqliteStore(db, create=False)
        try:
            latest = store.latest("t")
            once = store.once_results("t")
        finally:
            store.close()
        if what == "once":
            assert latest is not None, "the store lost the run after a once result was seen"
            assert once or latest.values["receipt"], "the once result was lost"
        else:
            assert _saw(what, latest), f"after `{what}` was seen, a power loss left {latest}"
        recorded.effects.write_text(recorded.charges)
        assert _continue(recorded, db) == recorded.final
        assert recorded.effects.read_text() == "charge 3\n", f"charged again after `{what}`"
    for count in range(snapshots + 1):
        db = recorded.image(count, f"prefix-{count}")
        recorded.effects.write_text(recorded.charges)
        assert _continue(recorded, db) == recorded.final
    assert recorded.final == {"n": 9, "receipt": "receipt-3", "ok": True}


def test_the_harness_sees_a_loss_when_nothing_is_synced(shim: Path, tmp_path: Path) -> None:
    recorded = Recorded(shim, tmp_path, "fast")
    counts = dict(recorded.observed)
    latest = _latest(recorded.image(counts["paused"], "at-paused"))
    assert not _saw("paused", latest), "at `fast` durability a seen pause survived: the harness sees nothing"
