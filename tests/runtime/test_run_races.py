"""Real processes racing for one run, and dying in the middle of one.

Two guarantees (docs/guide/durability.md):

* exactly one process advances a run at a time: the others get
  ``RunBusyError`` before they run any node code, so a ``call once`` in the
  resumed node happens once however many processes resume it together;
* a ``call once`` result is durable as soon as the call returns: a process
  killed right after it (before the step's checkpoint) does not make the
  resume repeat it.

The side effect is a line appended to a *ledger* file by
``tests.runtime.once_fixture:pay``, so it is counted across processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from fermata.runtime import Command, Graph
from tests.runtime.irbuild import (
    BOOL,
    FLOAT,
    STR,
    F,
    L,
    call,
    fld,
    flow,
    interrupt,
    lit,
    node,
    set_,
)
from tests.runtime.once_fixture import ledger_lines

REPO = Path(__file__).resolve().parents[2]
PAY = "tests.runtime.once_fixture:pay"
DIE = "tests.runtime.once_fixture:die"


def payout() -> dict[str, Any]:
    """Ask, then pay once, then a plain call (which can kill the process)."""
    return flow("payout",
                fields=[fld("ledger", STR), fld("amount", FLOAT, 10.0), fld("approved", BOOL, False),
                        fld("paid", BOOL, False), fld("tag", STR, "")],
                nodes=[node("review", interrupt("approval", None, BOOL, bind="ok"), set_("approved", L("ok")),
                            call(PAY, F("ledger"), F("amount"), once=True, bind="receipt"),
                            call(DIE, lit("after-pay"), bind="tag"),
                            set_("paid", lit(True)), set_("tag", L("tag")))],
                edges={"start": ["review"], "review": ["end"]}, input=["ledger", "amount"])


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERMATA_TEST_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def start_paused(tmp_path: Path, url: str | None = None) -> tuple[str, str, Path, str]:
    """A run paused at `review:approval` in a SQLite file (or the store
    ``url``): (store URL, IR file, ledger, token)."""
    url = url or f"sqlite:///{tmp_path / 'runs.db'}"
    ir_file = tmp_path / "payout.ir.json"
    ir_file.write_text(json.dumps(payout()))
    ledger = tmp_path / "ledger.txt"
    graph = Graph.from_ir(payout(), store=url)
    run = graph.invoke({"ledger": str(ledger)}, thread="t")
    assert run.status == "interrupted"
    token = run.interrupts[0].token
    graph.store.close()
    return url, str(ir_file), ledger, token


RESUMER = """
    import json, sys, time
    from fermata.runtime import Command, Graph
    ir_file, url, mode, token, start = sys.argv[1:6]
    graph = Graph.from_ir(json.load(open(ir_file)), store=url)
    while time.time() < float(start):
        time.sleep(0.001)
    try:
        answer = True if mode == "value" else {token: True}
        run = graph.invoke(Command(resume=answer), thread="t")
        print("won", run.status)
    except Exception as exc:
        print("lost", type(exc).__name__, str(exc).replace("\\n", " "))
"""


def race(tmp_path: Path, mode: str, processes: int = 4, url: str | None = None) -> None:
    url, ir_file, ledger, token = start_paused(tmp_path, url)
    start = str(time.time() + 2.0)   # every process imported and ready, then all at once
    children = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(RESUMER), ir_file, url, mode, token, start],
                                 cwd=REPO, env=environment(FERMATA_TEST_PAY_SLEEP="0.5"),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(processes)]
    outcomes = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        outcomes.append(out.strip())
    winners = [o for o in outcomes if o.startswith("won")]
    losers = [o for o in outcomes if o.startswith("lost")]
    assert winners == ["won done"], outcomes
    # A loser either found the run taken (busy) or, arriving after the winner
    # had finished, found nothing left to answer; none of them ran the node.
    assert all(o.split()[1] in ("RunBusyError", "ResumeError") for o in losers), outcomes
    assert any(o.split()[1] == "RunBusyError" for o in losers), outcomes
    assert "thread `t`" in next(o for o in losers if "RunBusyError" in o)
    assert len(ledger_lines(str(ledger))) == 1, ledger_lines(str(ledger))
    graph = Graph.from_ir(payout(), store=url)
    history = graph.history("t")
    assert [s.status for s in history] == ["running", "interrupted", "done"]
    assert graph.state("t").state["paid"] is True


@pytest.mark.slow
def test_processes_resuming_one_run_by_value_at_once_pay_once(tmp_path: Path) -> None:
    race(tmp_path, "value")


@pytest.mark.slow
def test_processes_resuming_one_run_by_token_at_once_pay_once(tmp_path: Path) -> None:
    race(tmp_path, "token")


@pytest.mark.slow
@pytest.mark.postgres
def test_processes_resuming_one_run_on_postgresql_at_once_pay_once(tmp_path: Path) -> None:
    from tests.runtime.store.postgres_db import fresh_database

    with fresh_database() as url:
        race(tmp_path, "value", url=url)


@pytest.mark.slow
def test_cli_resumes_racing_for_one_run_one_wins_the_others_exit_2(tmp_path: Path) -> None:
    spec = tmp_path / "payout.flow"
    spec.write_text(textwrap.dedent("""\
        flow payout {
            state {
                ledger: str
                paid: bool = false
            }
            input ledger

            node review {
                let ok = interrupt approval "pay?" expect bool
                let r = call once "tests.runtime.once_fixture:pay"(ledger, 10.0)
                set paid = ok
            }

            start -> review
            review -> end
        }
        """))
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    ledger = tmp_path / "ledger.txt"
    cli = [sys.executable, "-m", "fermata.compiler.cli.main"]
    started = subprocess.run([*cli, "run", str(spec), "--thread", "t", "--store", store,
                              "--input", json.dumps({"ledger": str(ledger)})],
                             cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=60, check=False)
    assert started.returncode == 0, started.stderr
    children = [subprocess.Popen([*cli, "resume", "--thread", "t", "--store", store, "--value", "true"],
                                 cwd=tmp_path, env=environment(FERMATA_TEST_PAY_SLEEP="1.0"),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(3)]
    results = [(child.communicate(timeout=60), child.returncode) for child in children]
    codes = sorted(code for _, code in results)
    assert codes == [0, 2, 2], results
    for (_out, err), code in results:
        if code == 2:
            assert "internal error" not in err and "thread `t`" in err, err
    assert len(ledger_lines(str(ledger))) == 1


# ------------------------------------------------------------------ crashes


def resume_in_child(url: str, ir_file: str, **env: str) -> subprocess.CompletedProcess[str]:
    code = """
        import json, sys
        from fermata.runtime import Command, Graph
        graph = Graph.from_ir(json.load(open(sys.argv[1])), store=sys.argv[2])
        print(graph.invoke(Command(resume=True), thread="t").status)
    """
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), ir_file, url], cwd=REPO,
                          env=environment(**env), capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow
def test_a_process_killed_after_a_once_call_returned_does_not_repeat_it(tmp_path: Path) -> None:
    killed_after_pay(tmp_path)


@pytest.mark.slow
@pytest.mark.postgres
def test_a_process_killed_after_a_once_call_returned_on_postgresql_does_not_repeat_it(tmp_path: Path) -> None:
    from tests.runtime.store.postgres_db import fresh_database

    with fresh_database() as url:
        killed_after_pay(tmp_path, url)


def killed_after_pay(tmp_path: Path, url: str | None = None) -> None:
    url, ir_file, ledger, _ = start_paused(tmp_path, url)
    killed = resume_in_child(url, ir_file, FERMATA_TEST_DIE="1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    [line] = ledger_lines(str(ledger))
    graph = Graph.from_ir(payout(), store=url)
    assert graph.state("t").status == "interrupted"   # the step's checkpoint was never written
    # The resume (here, in this process: the dead one's lease is gone with it)
    # re-runs `review` from its start and gets the payment's recorded result.
    run = graph.invoke(Command(resume=True), thread="t")
    assert run.status == "done" and run.state["paid"] is True and run.state["tag"] == "after-pay"
    assert ledger_lines(str(ledger)) == [line]
    _pid, key, _ = line.split()
    assert key == "t/1/review/0"


@pytest.mark.slow
def test_a_process_killed_during_a_once_call_repeats_it_with_the_same_key(tmp_path: Path) -> None:
    # The documented window: the call ran but never returned, so nothing
    # was recorded; the resume calls again, and the key lets the callee see it.
    url, ir_file, ledger, _ = start_paused(tmp_path)
    killed = resume_in_child(url, ir_file, FERMATA_TEST_DIE_IN_PAY="1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    finished = resume_in_child(url, ir_file)
    assert finished.returncode == 0 and finished.stdout.strip() == "done", finished.stderr
    lines = ledger_lines(str(ledger))
    assert len(lines) == 2
    assert lines[0].split()[1] == lines[1].split()[1] == "t/1/review/0"
