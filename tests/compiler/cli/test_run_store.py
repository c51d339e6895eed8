"""The CLI against stores it cannot simply trust: a run's flow file that moved
or changed, a run another process holds, damaged rows and pages.

Every problem here is the user's or the machine's, never Fermata's: exit 2
with a message naming the file and the thread, never 3 ("a bug in fermata").
"""


from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from fermata.runtime.sqlite_store import SqliteStore
from tests.compiler.support import REFUND, _isolated, checkpoints, cli, store  # noqa: F401 - fixtures

REFUND_TEXT = Path(REFUND).read_text(encoding="utf-8")


def copy_refund(folder: Path, text: str = REFUND_TEXT) -> Path:
    """refund.flow and the Python it calls, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(Path(REFUND).parent / "refunds", folder / "refunds", dirs_exist_ok=True)
    path = folder / "refund.flow"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ the flow file of a run


def test_resume_without_file_uses_the_absolute_path_not_a_same_named_file_here(
        cli, store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = copy_refund(tmp_path / "a")
    monkeypatch.chdir(first.parent)
    assert cli("run", "refund.flow", "--thread", "t", "--store", store, "--input", '{"amount": 250}').code == 0
    # Another directory holds another refund.flow: the same flow name, but
    # its interrupt is called differently, so resuming on it would fail.
    other = copy_refund(tmp_path / "b", REFUND_TEXT.replace("interrupt approval", "interrupt sign_off"))
    monkeypatch.chdir(other.parent)
    state = cli("state", "--thread", "t", "--store", store, "--json").json()
    assert state["source"] == first.as_posix()
    result = cli("resume", "--thread", "t", "--store", store, "--value", '{"approved": true}')
    assert result.code == 0, result.err
    assert "pay:before" in result.out


def test_resume_without_file_refuses_a_file_that_changed_since(cli, store: str, tmp_path: Path) -> None:
    spec = copy_refund(tmp_path / "a")
    assert cli("run", str(spec), "--thread", "t", "--store", store, "--input", '{"amount": 250}').code == 0
    before = checkpoints(cli, store, "t")
    spec.write_text(REFUND_TEXT + "\n# an edit\n", encoding="utf-8")
    result = cli("resume", "--thread", "t", "--store", store, "--value", '{"approved": true}')
    assert result.code == 2
    assert f"{spec.as_posix()} has changed since run `t` used it" in result.err
    import hashlib

    old = hashlib.sha256(REFUND_TEXT.encode()).hexdigest()[:16]
    new = hashlib.sha256((REFUND_TEXT + "\n# an edit\n").encode()).hexdigest()[:16]
    assert f"now {new}, of the run's {old}" in result.err
    assert "fermata resume FILE --thread t" in result.err
    assert checkpoints(cli, store, "t") == before
    # Named explicitly, the changed file is used (it is compatible: a comment),
    # and the run now records its new text.
    result = cli("resume", str(spec), "--thread", "t", "--store", store, "--value", '{"approved": true}')
    assert result.code == 0, result.err
    assert cli("resume", "--thread", "t", "--store", store).code == 0


def test_resume_without_file_refuses_when_a_file_it_uses_changed(cli, store: str, tmp_path: Path) -> None:
    # The run's own file is unchanged; the file it imports its types from is
    # not: the spec the run would resume on is another one.
    composition = Path(REFUND).parent / "composition"
    for name in ("publish.flow", "editorial.flow"):
        shutil.copy(composition / name, tmp_path / name)
    spec, imported = tmp_path / "publish.flow", tmp_path / "editorial.flow"
    assert cli("run", str(spec), "--thread", "t", "--store", store, "--input", '{"title": "T"}').code == 0
    assert cli("resume", "--thread", "t", "--store", store, "--value", "{}").code == 2   # refused answer: still paused
    before = checkpoints(cli, store, "t")
    imported.write_text(imported.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    result = cli("resume", "--thread", "t", "--store", store, "--value", '{"verdict": "publish"}')
    assert result.code == 2
    assert f"{spec.as_posix()} or a file it `use`s has changed since run `t` used it" in result.err
    assert "sha256 of it and its imports now" in result.err
    assert checkpoints(cli, store, "t") == before
    # Named explicitly, the changed spec is used (a comment: compatible).
    result = cli("resume", str(spec), "--thread", "t", "--store", store, "--value", '{"verdict": "publish"}')
    assert result.code == 0, result.err


def test_a_run_recording_a_relative_path_is_not_resumed_from_the_current_directory(
        cli, store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As an older Fermata recorded it: relative to a directory it did not record.
    spec = copy_refund(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli("run", str(spec), "--thread", "t", "--store", store, "--input", '{"amount": 250}').code == 0
    path = Path(store.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE flows SET source = 'refund.flow', source_hash = NULL")
    conn.close()
    result = cli("resume", "--thread", "t", "--store", store, "--value", '{"approved": true}')
    assert result.code == 2
    assert "records its flow file as the relative path refund.flow" in result.err
    assert "fermata resume FILE --thread t" in result.err


# ------------------------------------------------------------------ a run another process holds


def test_resuming_a_run_another_process_holds_exits_2_and_changes_nothing(cli, store: str) -> None:
    assert cli("run", REFUND, "--thread", "t", "--store", store, "--input", '{"amount": 250}').code == 0
    before = checkpoints(cli, store, "t")
    with SqliteStore(store.removeprefix("sqlite:///")) as held:
        assert held.acquire("t", "elsewhere:1:1", 60.0)   # a process on another host
        result = cli("resume", "--thread", "t", "--store", store, "--value", '{"approved": true}')
        assert result.code == 2
        assert "the run of thread `t` is busy" in result.err and "held by elsewhere:1:1" in result.err
        assert "internal error" not in result.err
        assert checkpoints(cli, store, "t") == before
        held.release("t", "elsewhere:1:1")
    assert cli("resume", "--thread", "t", "--store", store, "--value", '{"approved": true}').code == 0


# ------------------------------------------------------------------ damaged stores


def three_runs(cli, store: str) -> Path:
    for thread, amount in (("a", 250), ("b", 20), ("c", 300)):
        assert cli("run", REFUND, "--thread", thread, "--store", store, "--input", f'{{"amount": {amount}}}').code == 0
    return Path(store.removeprefix("sqlite:///"))


def test_threads_lists_the_healthy_runs_and_names_the_damaged_one(cli, store: str) -> None:
    path = three_runs(cli, store)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE checkpoints SET body = 'garbage' WHERE seq = 0 AND thread_id = "
                     "(SELECT id FROM threads WHERE thread = 'b')")
    conn.close()
    result = cli("threads", "--store", store)
    assert result.code == 2
    assert [line.split()[0] for line in result.out.splitlines()] == ["a", "c"]
    assert f"damaged run: store {path}: checkpoint 0 of thread `b` is corrupt" in result.err
    result = cli("threads", "--store", store, "--json")
    assert result.code == 2 and [row["thread"] for row in result.json()] == ["a", "c"]
    for argv in (["state", "--thread", "b"], ["history", "--thread", "b"], ["resume", "--thread", "b"]):
        result = cli(*argv, "--store", store)
        assert result.code == 2, argv
        assert "thread `b`" in result.err and str(path) in result.err and "internal error" not in result.err


@pytest.mark.parametrize("body", [b"\x01\xff\xfe", "5", "[]", '{"v":1,"step":"x","status":"done","values":{}}'])
def test_a_damaged_row_is_a_clear_error_for_every_command(cli, store: str, body: object) -> None:
    path = three_runs(cli, store)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE checkpoints SET body = ? WHERE thread_id = (SELECT id FROM threads WHERE thread = 'a')",
                     (body,))
    conn.close()
    for argv in (["state", "--thread", "a"], ["history", "--thread", "a"], ["threads"],
                 ["resume", "--thread", "a", "--value", '{"approved": true}'], ["replay", REFUND]):
        result = cli(*argv, "--store", store)
        assert result.code in (1, 2), (argv, result)
        assert "internal error" not in result.err, (argv, result.err)


@pytest.mark.slow
def test_no_single_damaged_page_makes_a_command_report_a_bug(cli, store: str, tmp_path: Path) -> None:
    # The fault campaign in small: damage one page of the file (all of it, or
    # a few bytes), run each command, restore. A damaged store may be refused,
    # a run may fail or be unreadable, but the exit code is never 3.
    path = three_runs(cli, store)
    pristine = path.read_bytes()
    page = 4096
    rng = random.Random(11)
    commands = [["threads"], ["state", "--thread", "a"], ["history", "--thread", "c"],
                ["resume", "--thread", "a", "--value", '{"approved": true}']]
    bad = []
    for start in range(0, len(pristine), page):
        for offset, size in ((0, page), (rng.randrange(16, page - 64), 48)):
            damaged = bytearray(pristine)
            damaged[start + offset:start + offset + size] = rng.randbytes(size)
            for argv in commands:
                path.write_bytes(bytes(damaged))
                result = cli(*argv, "--store", store)
                if result.code == 3 or "internal error" in result.err:
                    bad.append((start // page, offset, argv, result.err.strip()[:200]))
    path.write_bytes(pristine)
    assert bad == []
