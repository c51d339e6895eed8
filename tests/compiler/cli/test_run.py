"""``fermata run``, ``resume``, ``state``, ``history`` and ``threads``.

Most tests call :func:`fermata.compiler.cli.main` in-process on a SQLite store
in ``tmp_path``; the cross-process ones run the installed ``fermata`` console
script, each step a fresh process resuming from the SQLite file.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fermata.compiler.cli.common import DEFAULT_STORE
from tests.compiler.support import EXAMPLES, REFUND, Result, _isolated, checkpoints, cli, store  # noqa: F401 - fixtures
from tests.support import fermata_executable

REPO_ROOT = Path(__file__).resolve().parents[3]

# Two nodes of one step interrupt: both interrupts are pending together.
PARALLEL_FLOW = """\
flow approvals {
    state {
        item: str
        legal: bool = false
        finance: bool = false
    }
    input item
    output legal, finance

    node split {
    }
    node ask_legal {
        let ok = interrupt legal "legal sign-off for {{ item }}?" expect bool
        set legal = ok
    }
    node ask_finance {
        let ok = interrupt finance {item: item} expect bool
        set finance = ok
    }
    node both {
    }
    start -> split
    split -> ask_legal, ask_finance
    ask_legal, ask_finance -> both
    both -> end
}
"""

# The call raises while the file named by `flag` exists, so a test can make a
# run fail, clear the cause, and retry the failed step.
FAILING_FLOW = """\
flow crash {
    state {
        flag: str
        out: int = 0
    }
    input flag
    output out

    node compute {
        let r = call "fermata_cli_fixture:explode"(flag)
        set out = r
    }
    start -> compute
    compute -> end
}
"""
FAILING_CALL_LINE = FAILING_FLOW.splitlines().index(
    '        let r = call "fermata_cli_fixture:explode"(flag)') + 1

FIXTURE_MODULE = """\
from pathlib import Path


def explode(flag):
    if Path(flag).exists():
        raise ValueError("the flag is up")
    return 7
"""

MULTI_FLOW = """\
flow first {
    state {
        n: int = 0
    }
    output n

    node bump {
        set n += 1
    }
    start -> bump
    bump -> end
}

flow second {
    state {
        n: int = 0
        answer: str = ""
    }
    input n
    output answer

    node ask {
        let a = interrupt question "n is {{ n }}" expect str
        set answer = a
    }
    start -> ask
    ask -> end
}
"""


@pytest.fixture
def parallel(tmp_path: Path) -> str:
    path = tmp_path / "approvals.flow"
    path.write_text(PARALLEL_FLOW, encoding="utf-8")
    return str(path)


@pytest.fixture
def failing(tmp_path: Path) -> str:
    (tmp_path / "fermata_cli_fixture.py").write_text(FIXTURE_MODULE, encoding="utf-8")
    path = tmp_path / "crash.flow"
    path.write_text(FAILING_FLOW, encoding="utf-8")
    return str(path)


def printed_commands(out: str) -> list[str]:
    """The lines after "continue with:" in a paused run's output."""
    _, found, rest = out.partition("\ncontinue with:\n")
    assert found, out
    return [line.strip() for line in rest.splitlines() if line.strip()]


def thread_ids(cli, store: str) -> list[str]:
    result = cli("threads", "--store", store, "--json")
    if result.code == 2 and "no store at" in result.err:
        return []   # nothing was ever stored: the file was not even created
    assert result.code == 0, result.err
    return [row["thread"] for row in result.json()]


# --------------------------------------------------------------------------
# fermata run
# --------------------------------------------------------------------------


def test_run_without_thread_generates_one_and_prints_it(cli, store: str) -> None:
    result = cli("run", REFUND, "--store", store, "--input", '{"amount": 250}')
    assert result.code == 0
    match = re.match(r"thread (run-[0-9a-f]{8}): paused at step 2", result.out)
    assert match, result.out
    thread = match.group(1)
    assert f"thread: {thread}" in result.err
    assert thread_ids(cli, store) == [thread]


def test_a_rejected_input_names_no_thread(cli, store: str) -> None:
    result = cli("run", REFUND, "--store", store, "--input", '{"amount": "x"}')
    assert result.code == 2
    assert "thread:" not in result.err and "expected float" in result.err
    assert thread_ids(cli, store) == []


def test_run_with_thread_uses_it(cli, store: str) -> None:
    result = cli("run", REFUND, "--store", store, "--thread", "t1", "--input", '{"amount": 20}')
    assert result.code == 0
    assert result.out.startswith("thread t1: paused at step 1")  # at `interrupt before pay`
    assert "thread:" not in result.err
    assert thread_ids(cli, store) == ["t1"]


def test_a_finished_run_prints_its_output(cli, store: str) -> None:
    cli("run", REFUND, "--store", store, "--thread", "small",
        "--input", '{"amount": 20, "reason": "scratched"}')
    result = cli("resume", "--thread", "small", "--store", store)
    assert result.code == 0
    assert result.out.startswith("thread small: done at step 2\n")
    output = json.loads(result.out.split("output:\n", 1)[1])
    assert output == {"approved": False, "log": ["risk 0.02", "paid 20"]}


def test_pause_shows_each_interrupt_with_payload_schema_and_resume_command(cli, store: str) -> None:
    result = cli("run", REFUND, "--store", store, "--thread", "t1",
                 "--input", '{"amount": 250, "reason": "parcel never arrived"}')
    assert result.code == 0
    assert "paused at step 2, waiting for 1 answer" in result.out
    lines = result.out.splitlines()
    at = lines.index("  review:approval")
    assert lines[at + 1] == "    Approve a refund of 250 (risk 0.65)?"
    assert lines[at + 2].startswith("    expects: ")
    schema = json.loads(lines[at + 2].removeprefix("    expects: "))
    assert schema["required"] == ["approved"]
    assert schema["properties"]["approved"] == {"type": "boolean"}
    state = cli("state", "--thread", "t1", "--store", store, "--json").json()
    assert state["interrupts"][0]["schema"] == schema
    [command] = printed_commands(result.out)
    assert shlex.split(command) == [
        "fermata", "resume", REFUND, "--thread", "t1", "--store", store,
        "--value", '{"approved": true}']


def test_the_printed_commands_continue_the_run_verbatim(cli, store: str) -> None:
    result = cli("run", REFUND, "--store", store, "--thread", "t1", "--input", '{"amount": 250}')
    seen = []
    for _ in range(5):
        if "continue with:" not in result.out:
            break
        [command] = printed_commands(result.out)
        argv = shlex.split(command)
        assert argv[0] == "fermata"
        seen.append(command)
        result = cli(*argv[1:])
        assert result.code == 0, result.err
    assert result.out.startswith("thread t1: done at step 3"), result.out
    assert len(seen) == 2  # the approval, then `interrupt before pay` (no --value)
    assert "--value" in seen[0] and "--value" not in seen[1]


def test_run_json_is_machine_readable(cli, store: str) -> None:
    result = cli("run", REFUND, "--store", store, "--json", "--input", '{"amount": 250}')
    assert result.code == 0
    data = result.json()
    assert data["status"] == "interrupted"
    assert re.fullmatch(r"run-[0-9a-f]{8}", data["thread"])
    assert result.err == ""  # the thread id is in the JSON
    [interrupt] = data["interrupts"]
    assert interrupt["id"] == "review:approval"
    assert interrupt["payload"] == "Approve a refund of 250 (risk 0.25)?"
    assert interrupt["schema"]["required"] == ["approved"]
    assert interrupt["token"].startswith("review:approval#")
    assert data["state"]["amount"] == 250 and data["error"] is None


def test_input_from_a_file(cli, store: str, tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text('{"amount": 20, "reason": "late"}', encoding="utf-8")
    result = cli("run", REFUND, "--store", store, "--json", "--input", f"@{tmp_path / 'in.json'}")
    assert result.code == 0
    assert result.json()["state"]["reason"] == "late"


def test_input_and_value_from_stdin(cli, store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"amount": 300}'))
    assert cli("run", REFUND, "--store", store, "--thread", "t1", "--input", "@-").code == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"approved": false, "comment": "no"}'))
    result = cli("resume", "--thread", "t1", "--store", store, "--value", "@-", "--json")
    assert result.code == 0
    assert result.json()["status"] == "done"
    assert result.json()["output"]["log"][-1] == "rejected"


def test_a_compiled_ir_file_runs_and_resumes(cli, store: str, tmp_path: Path) -> None:
    ir = tmp_path / "refund.json"
    assert cli("compile", REFUND, "-o", str(ir)).code == 0
    result = cli("run", str(ir), "--store", store, "--thread", "t1", "--input", '{"amount": 250}')
    assert result.code == 0
    assert str(ir) in printed_commands(result.out)[0]
    cli("resume", "--thread", "t1", "--store", store, "--value", '{"approved": true}')
    result = cli("resume", "--thread", "t1", "--store", store, "--json")
    assert result.json()["status"] == "done"
    state = cli("state", "--thread", "t1", "--store", store, "--json").json()
    assert state["source"] == ir.as_posix()


def test_flow_picks_one_of_several(cli, store: str, tmp_path: Path) -> None:
    path = tmp_path / "multi.flow"
    path.write_text(MULTI_FLOW, encoding="utf-8")
    result = cli("run", str(path), "--store", store)
    assert result.code == 2
    assert "holds 2 flows (first, second): choose one with --flow" in result.err
    result = cli("run", str(path), "--flow", "second", "--store", store, "--thread", "m",
                 "--input", '{"n": 4}')
    assert result.code == 0 and "n is 4" in result.out
    # `resume` takes the flow's name from the run
    result = cli("resume", "--thread", "m", "--store", store, "--value", '"hi"', "--json")
    assert result.code == 0
    assert result.json()["output"] == {"answer": "hi"}
    assert cli("run", str(path), "--flow", "nope", "--store", store).code == 2


# --------------------------------------------------------------------------
# fermata resume
# --------------------------------------------------------------------------


def test_resume_finds_the_flow_from_the_run(cli, store: str) -> None:
    cli("run", REFUND, "--store", store, "--thread", "t1", "--input", '{"amount": 250}')
    result = cli("resume", "--thread", "t1", "--store", store, "--value", '{"approved": true}')
    assert result.code == 0
    assert "  pay:before" in result.out
    # naming the file explicitly works the same
    result = cli("resume", REFUND, "--thread", "t1", "--store", store)
    assert result.code == 0 and "done at step 3" in result.out
    state = cli("state", "--thread", "t1", "--store", store, "--json").json()
    assert state["source"] == REFUND and state["flow"] == "refund"


# `interrupt after b` and `interrupt before c` pause one boundary together.
GATES_FLOW = """\
flow gates {
    state {
        log: list[str] = []
    }
    output log

    node a {
        set log += ["a"]
    }
    node b {
        set log += ["b"]
    }
    node c {
        set log += ["c"]
    }
    start -> a
    a -> b
    b -> c
    c -> end

    interrupt after b
    interrupt before c
}
"""


@pytest.mark.parametrize("extra", [["--value", '{"approved": false}'], ["--value", "false"],
                                   ["--id", "pay:before", "--value", '{"approved": false}']])
def test_a_value_sent_to_a_static_gate_is_refused_and_the_run_unchanged(cli, store: str,
                                                                       extra: list[str]) -> None:
    cli("run", REFUND, "--store", store, "--thread", "t1", "--input", '{"amount": 250}')
    cli("resume", "--thread", "t1", "--store", store, "--value", '{"approved": true}')
    before = checkpoints(cli, store, "t1")
    assert [p["id"] for p in before[-1]["pending"]] == ["pay:before"]
    result = cli("resume", "--thread", "t1", "--store", store, *extra)
    assert result.code == 2
    assert "`pay:before` is a static interrupt: it takes no answer" in result.err
    assert f"fermata resume --thread t1 --store {store}" in result.err  # how to continue instead
    assert checkpoints(cli, store, "t1") == before
    # only a value-less continue passes the gate
    result = cli("resume", "--thread", "t1", "--store", store, "--json")
    assert result.code == 0 and result.json()["status"] == "done"
    assert result.json()["output"]["log"][-1] == "paid 250"


def test_naming_a_static_gate_without_a_value_passes_it(cli, store: str) -> None:
    cli("run", REFUND, "--store", store, "--thread", "t1", "--input", '{"amount": 20}')
    result = cli("resume", "--thread", "t1", "--store", store, "--id", "pay:before", "--json")
    assert result.code == 0 and result.json()["status"] == "done"


def test_static_gates_of_one_boundary_print_one_value_less_command(cli, store: str,
                                                                    tmp_path: Path) -> None:
    path = tmp_path / "gates.flow"
    path.write_text(GATES_FLOW, encoding="utf-8")
    result = cli("run", str(path), "--store", store, "--thread", "g")
    assert result.code == 0
    assert "  b:after" in result.out and "  c:before" in result.out
    [command] = printed_commands(result.out)
    assert shlex.split(command) == ["fermata", "resume", str(path), "--thread", "g", "--store", store]
    result = cli(*shlex.split(command)[1:], "--json")
    assert result.code == 0 and result.json()["output"] == {"log": ["a", "b", "c"]}


def test_several_pending_are_listed_each_with_its_own_command(cli, store: str, parallel: str) -> None:
    result = cli("run", parallel, "--store", store, "--thread", "p", "--input", '{"item": "lease"}')
    assert result.code == 0
    assert "waiting for 2 answers" in result.out
    assert "  ask_legal:legal\n    legal sign-off for lease?\n    expects: {\"type\": \"boolean\"}" in result.out
    assert '  ask_finance:finance\n    {"item": "lease"}\n' in result.out
    commands = printed_commands(result.out)
    assert [shlex.split(c)[shlex.split(c).index("--id") + 1] for c in commands] == [
        "ask_finance:finance", "ask_legal:legal"]
    # the first printed command, verbatim, answers that interrupt only
    result = cli(*shlex.split(commands[0])[1:])
    assert result.code == 0
    data = cli("state", "--thread", "p", "--store", store, "--json").json()
    assert data["status"] == "interrupted"
    assert [i["id"] for i in data["interrupts"]] == ["ask_legal:legal"]


def test_id_picks_one_of_several_pending(cli, store: str, parallel: str) -> None:
    cli("run", parallel, "--store", store, "--thread", "p", "--input", '{"item": "lease"}')
    result = cli("resume", "--thread", "p", "--store", store, "--id", "ask_legal:legal",
                 "--value", "true", "--json")
    assert result.code == 0
    assert [i["id"] for i in result.json()["interrupts"]] == ["ask_finance:finance"]
    # one left: a bare value answers it
    result = cli("resume", "--thread", "p", "--store", store, "--value", "false", "--json")
    assert result.code == 0
    assert result.json()["status"] == "done"
    assert result.json()["output"] == {"legal": True, "finance": False}


def test_id_may_be_a_token(cli, store: str, parallel: str) -> None:
    run = cli("run", parallel, "--store", store, "--thread", "p", "--json",
              "--input", '{"item": "x"}').json()
    token = {i["id"]: i["token"] for i in run["interrupts"]}["ask_finance:finance"]
    result = cli("resume", "--thread", "p", "--store", store, "--id", token, "--value", "true", "--json")
    assert result.code == 0
    assert [i["id"] for i in result.json()["interrupts"]] == ["ask_legal:legal"]
    # that occurrence is answered: its token is stale now
    result = cli("resume", "--thread", "p", "--store", store, "--id", token, "--value", "true")
    assert result.code == 2 and "stale" in result.err


def test_a_value_keyed_by_id_answers_several_at_once(cli, store: str, parallel: str) -> None:
    cli("run", parallel, "--store", store, "--thread", "p", "--input", '{"item": "x"}')
    result = cli("resume", "--thread", "p", "--store", store, "--json",
                 "--value", '{"ask_legal:legal": false, "ask_finance:finance": true}')
    assert result.code == 0
    assert result.json()["output"] == {"legal": False, "finance": True}


# --------------------------------------------------------------------------
# fermata state, history, threads
# --------------------------------------------------------------------------


def test_state_history_and_threads(cli, store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)   # outside the examples: their path is shown whole (within: relative)
    cli("run", REFUND, "--store", store, "--thread", "t1", "--input", '{"amount": 250}')
    cli("run", REFUND, "--store", store, "--thread", "t2", "--input", '{"amount": 20}')

    state = cli("state", "--thread", "t1", "--store", store, "--json")
    assert state.code == 0
    data = state.json()
    assert data["thread"] == "t1" and data["status"] == "interrupted" and data["step"] == 2
    assert data["next"] == ["review"]
    assert [i["id"] for i in data["interrupts"]] == ["review:approval"]
    assert data["state"]["risk"] == 0.25
    human = cli("state", "--thread", "t1", "--store", store).out
    assert human.startswith(f"thread t1 (refund, {REFUND}): interrupted at step 2, checkpoint ")
    assert "pending: review:approval" in human and "next: review" in human

    history = checkpoints(cli, store, "t1")
    assert [(c["step"], c["status"]) for c in history] == [
        (0, "running"), (1, "running"), (2, "interrupted")]
    assert history[-1]["pending"][0]["id"] == "review:approval"
    human = cli("history", "--thread", "t1", "--store", store).out.splitlines()
    # One line per checkpoint, and the audit trail under it: when the question was asked.
    assert len(human) == 4 and "pending: review:approval" in human[-2]
    assert human[-1].split() == ["asked", "review:approval", "at", "2026-01-01T00:00:00.000Z"]

    rows = cli("threads", "--store", store, "--json").json()
    assert [(r["thread"], r["flow"], r["status"], r["step"]) for r in rows] == [
        ("t1", "refund", "interrupted", 2), ("t2", "refund", "interrupted", 1)]
    human = cli("threads", "--store", store).out
    assert f"t1  refund  interrupted  step 2  {REFUND}" in human
    assert f"t2  refund  interrupted  step 1  {REFUND}" in human


def test_threads_of_an_empty_store(cli, store: str) -> None:
    from fermata.runtime.stores import open_store

    open_store(store).close()   # a store holding no run yet
    assert cli("threads", "--store", store, "--json").json() == []
    assert cli("threads", "--store", store).out == f"no runs in {store}\n"


def test_threads_of_a_store_that_does_not_exist_names_the_path(cli, tmp_path: Path) -> None:
    # A mistyped --store must not look like a store without runs.
    missing = tmp_path / "typo.db"
    result = cli("threads", "--store", f"sqlite:///{missing}")
    assert result.code == 2 and f"no store at {missing}" in result.err
    assert not missing.exists()


# --------------------------------------------------------------------------
# Exit codes: 1 for a failed run
# --------------------------------------------------------------------------


def test_a_failing_call_fails_the_run_with_node_and_spec_line(cli, store: str, failing: str,
                                                             tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    flag.touch()
    result = cli("run", failing, "--store", store, "--thread", "f", "--input", json.dumps({"flag": str(flag)}))
    assert result.code == 1
    assert result.out.startswith("thread f: failed at step 1\n")
    assert f"{failing}:{FAILING_CALL_LINE}: in node `compute`: " in result.out
    assert "ValueError: the flag is up" in result.out
    retry = result.out.splitlines()[-1]
    assert retry.startswith("retry the failed step with: fermata resume ")

    data = cli("state", "--thread", "f", "--store", store, "--json").json()
    assert data["status"] == "failed"
    assert data["error"]["node"] == "compute" and data["error"]["line"] == FAILING_CALL_LINE
    # failed runs wait for no answer
    result = cli("resume", "--thread", "f", "--store", store, "--value", "1")
    assert result.code == 2 and "waits for no answer" in result.err

    # the printed retry command, once the cause is gone, finishes the run
    flag.unlink()
    argv = shlex.split(retry.split(": ", 1)[1])
    result = cli(*argv[1:], "--json")
    assert result.code == 0, result.err
    assert result.json()["status"] == "done" and result.json()["output"] == {"out": 7}


# `compute` fails while its sibling `ask` waits for an answer, in one step.
FAILING_BESIDE_A_QUESTION = FAILING_FLOW.replace("    node compute {", """\
    node ask {
        let ok = interrupt check "fine?" expect bool
        set checked = ok
    }
    node split {
    }
    node compute {""").replace("        out: int = 0\n", "        out: int = 0\n        checked: bool = false\n") \
    .replace("    output out\n", "    output out, checked\n") \
    .replace("    start -> compute\n", "    start -> split\n    split -> compute, ask\n    ask -> end\n")


def test_a_failed_run_takes_the_answer_its_paused_sibling_waits_for(cli, store: str, failing: str,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "crash_and_ask.flow"
    path.write_text(FAILING_BESIDE_A_QUESTION, encoding="utf-8")
    flag = tmp_path / "flag"
    flag.touch()
    result = cli("run", str(path), "--store", store, "--thread", "f", "--input", json.dumps({"flag": str(flag)}))
    assert result.code == 1 and "failed at step 2" in result.out
    # The failed run still lists what it waits for, and how to answer it.
    assert "  ask:check" in result.out
    [answer] = [line.strip() for line in result.out.splitlines() if "--value" in line]
    assert shlex.split(answer)[-2:] == ["--value", "true"]
    before = checkpoints(cli, store, "f")
    result = cli("resume", "--thread", "f", "--store", store, "--value", '"yes"')
    assert result.code == 2 and checkpoints(cli, store, "f") == before  # still type-checked
    flag.unlink()
    result = cli(*shlex.split(answer)[1:], "--json")
    assert result.code == 0, result.err
    assert result.json()["status"] == "done" and result.json()["output"] == {"out": 7, "checked": True}


def test_a_failed_run_in_json(cli, store: str, failing: str, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    flag.touch()
    result = cli("run", failing, "--store", store, "--json", "--input", json.dumps({"flag": str(flag)}))
    assert result.code == 1
    error = result.json()["error"]
    assert result.json()["status"] == "failed"
    assert (error["node"], error["line"], error["type"]) == ("compute", FAILING_CALL_LINE, "ValueError")
    assert "the flag is up" in error["message"]


def test_a_fail_step_fails_the_run(cli, store: str) -> None:
    revise = str(EXAMPLES / "revise.flow")
    cli("run", revise, "--store", store, "--thread", "v", "--input", '{"topic": "owls", "max_rounds": 1}')
    result = cli("resume", "--thread", "v", "--store", store, "--value", '{"accepted": false}')
    assert result.code == 1
    assert "in node `give_up`: no draft accepted after 1 rounds" in result.out


# --------------------------------------------------------------------------
# Exit codes: 2 for bad usage or bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["{bad", "", "{'amount': 1}"])
def test_bad_input_json(cli, store: str, raw: str) -> None:
    result = cli("run", REFUND, "--store", store, "--input", raw)
    assert result.code == 2
    assert "--input is not valid JSON" in result.err
    assert thread_ids(cli, store) == []


def test_input_must_be_an_object(cli, store: str) -> None:
    result = cli("run", REFUND, "--store", store, "--input", "[1, 2]")
    assert result.code == 2 and "--input must be a JSON object" in result.err


def test_an_unreadable_input_file(cli, store: str, tmp_path: Path) -> None:
    result = cli("run", REFUND, "--store", store, "--input", f"@{tmp_path / 'nope.json'}")
    assert result.code == 2 and "cannot read --input file" in result.err


def test_input_failing_the_state_schema_lists_every_problem_and_stores_nothing(cli, store: str) -> None:
    cli("run", REFUND, "--store", store, "--thread", "before", "--input", '{"amount": 20}')
    result = cli("run", REFUND, "--store", store, "--thread", "bad",
                 "--input", '{"amount": "lots", "reason": 3, "bogus": true}')
    assert result.code == 2
    assert result.out == ""
    assert "`amount`: expected float" in result.err
    assert "`reason`: expected str" in result.err
    assert "unknown field `bogus`" in result.err
    assert thread_ids(cli, store) == ["before"]

    result = cli("run", REFUND, "--store", store, "--input", "{}")
    assert result.code == 2 and "missing required field `amount`" in result.err
    assert thread_ids(cli, store) == ["before"]


def test_a_bad_resume_value_is_rejected_and_the_run_unchanged(cli, store: str) -> None:
    cli("run", REFUND, "--store", store, "--thread", "t1", "--input", '{"amount": 250}')
    before = checkpoints(cli, store, "t1")
    result = cli("resume", "--thread", "t1", "--store", store,
                 "--value", '{"approved": "yes", "extra": 1}')
    assert result.code == 2
    assert "`review:approval`: `approved`: expected bool" in result.err
    assert "`review:approval`: unknown field `extra`" in result.err
    assert checkpoints(cli, store, "t1") == before
    assert cli("state", "--thread", "t1", "--store", store, "--json").json()["status"] == "interrupted"
    # a good answer still goes through
    result = cli("resume", "--thread", "t1", "--store", store, "--value", '{"approved": true}')
    assert result.code == 0 and "pay:before" in result.out


@pytest.mark.parametrize("raw", ["{bad", "yes"])
def test_bad_value_json(cli, store: str, raw: str) -> None:
    cli("run", REFUND, "--store", store, "--thread", "t1", "--input", '{"amount": 250}')
    before = checkpoints(cli, store, "t1")
    result = cli("resume", "--thread", "t1", "--store", store, "--value", raw)
    assert result.code == 2 and "--value is not valid JSON" in result.err
    assert checkpoints(cli, store, "t1") == before


@pytest.mark.parametrize(("depth", "says"), [(300, "nested more than 200 levels deep"),
                                             (100_000, "--value is nested too deeply to be read")])
def test_a_deeply_nested_value_is_rejected_and_the_run_unchanged(cli, store: str, depth: int,
                                                                 says: str) -> None:
    cli("run", REFUND, "--store", store, "--thread", "t1", "--input", '{"amount": 250}')
    before = checkpoints(cli, store, "t1")
    nested = "[" * depth + "]" * depth
    result = cli("resume", "--thread", "t1", "--store", store,
                 "--value", '{"approved": true, "comment": ' + nested + "}")
    assert result.code == 2 and says in result.err
    assert checkpoints(cli, store, "t1") == before


def test_a_paused_run_needs_a_value(cli, store: str) -> None:
    cli("run", REFUND, "--store", store, "--thread", "t1", "--input", '{"amount": 250}')
    result = cli("resume", "--thread", "t1", "--store", store)
    assert result.code == 2
    assert "waits for an answer to `review:approval`: give it with --value JSON" in result.err


@pytest.mark.parametrize("command", ["resume", "state", "history"])
def test_unknown_thread(cli, store: str, command: str) -> None:
    argv = [command] + (["--value", "1"] if command == "resume" else [])
    result = cli(*argv, "--thread", "nobody", "--store", store)
    assert result.code == 2
    assert "no run `nobody`" in result.err and "no store at" in result.err   # none was ever created
    cli("run", REFUND, "--store", store, "--thread", "other", "--input", '{"amount": 20}')
    result = cli(*argv, "--thread", "nobody", "--store", store)
    assert result.code == 2
    assert "no run `nobody`" in result.err and "no store at" not in result.err


@pytest.mark.parametrize("value", [None, '{"approved": true}'])
def test_resuming_a_finished_run(cli, store: str, value: str | None) -> None:
    cli("run", REFUND, "--store", store, "--thread", "t1", "--input", '{"amount": 20}')
    assert cli("resume", "--thread", "t1", "--store", store).code == 0
    before = checkpoints(cli, store, "t1")
    assert before[-1]["status"] == "done"
    result = cli("resume", "--thread", "t1", "--store", store, *(["--value", value] if value else []))
    assert result.code == 2
    assert "run `t1` is already done" in result.err
    assert checkpoints(cli, store, "t1") == before


def test_a_bare_value_with_several_pending(cli, store: str, parallel: str) -> None:
    cli("run", parallel, "--store", store, "--thread", "p", "--input", '{"item": "x"}')
    before = checkpoints(cli, store, "p")
    result = cli("resume", "--thread", "p", "--store", store, "--value", "true")
    assert result.code == 2
    assert "`ask_finance:finance`, `ask_legal:legal`" in result.err and "--id" in result.err
    assert checkpoints(cli, store, "p") == before


def test_an_unknown_interrupt_id(cli, store: str, parallel: str) -> None:
    cli("run", parallel, "--store", store, "--thread", "p", "--input", '{"item": "x"}')
    before = checkpoints(cli, store, "p")
    result = cli("resume", "--thread", "p", "--store", store, "--id", "legal", "--value", "true")
    assert result.code == 2
    assert "no pending interrupt `legal`" in result.err
    assert checkpoints(cli, store, "p") == before


def test_run_on_a_thread_in_progress(cli, store: str) -> None:
    cli("run", REFUND, "--store", store, "--thread", "t1", "--input", '{"amount": 250}')
    before = checkpoints(cli, store, "t1")
    result = cli("run", REFUND, "--store", store, "--thread", "t1", "--input", '{"amount": 5}')
    assert result.code == 2
    assert "has a run in progress" in result.err and "fermata resume --thread t1" in result.err
    assert checkpoints(cli, store, "t1") == before


# Each call of `pay` writes a line to the ledger file: a test can count what a run paid.
PAYING_FLOW = """\
flow paying {
    state {
        ledger: str
        paid: int = 0
    }
    input ledger
    output paid

    node pay {
        let n = call "fermata_cli_ledger:pay"(ledger)
        set paid = n
    }
    start -> pay
    pay -> end
}
"""

LEDGER_MODULE = """\
def pay(ledger):
    with open(ledger, "a", encoding="utf-8") as file:
        file.write("paid\\n")
    with open(ledger, encoding="utf-8") as file:
        return len(file.readlines())
"""


@pytest.fixture
def paying(tmp_path: Path) -> tuple[str, Path]:
    (tmp_path / "fermata_cli_ledger.py").write_text(LEDGER_MODULE, encoding="utf-8")
    path = tmp_path / "paying.flow"
    path.write_text(PAYING_FLOW, encoding="utf-8")
    return str(path), tmp_path / "ledger.txt"


def test_run_on_a_finished_thread_is_refused_and_pays_nothing(cli, store: str,
                                                              paying: tuple[str, Path]) -> None:
    flow, ledger = paying
    argv = ("run", flow, "--store", store, "--thread", "t1", "--input", json.dumps({"ledger": str(ledger)}))
    assert cli(*argv).code == 0
    assert ledger.read_text(encoding="utf-8").count("paid") == 1
    before = checkpoints(cli, store, "t1")
    result = cli(*argv)
    assert result.code == 2 and result.out == ""
    assert "thread `t1` already holds a finished run (done at step 1)" in result.err
    assert "--again" in result.err and "fermata state --thread t1" in result.err
    assert ledger.read_text(encoding="utf-8").count("paid") == 1  # nothing ran, nothing paid
    assert checkpoints(cli, store, "t1") == before


def test_again_starts_a_new_run_on_a_finished_thread(cli, store: str, paying: tuple[str, Path]) -> None:
    flow, ledger = paying
    argv = ("run", flow, "--store", store, "--thread", "t1", "--input", json.dumps({"ledger": str(ledger)}))
    assert cli(*argv).code == 0
    before = checkpoints(cli, store, "t1")
    result = cli(*argv, "--again", "--json")
    assert result.code == 0, result.err
    assert result.json()["status"] == "done" and result.json()["output"] == {"paid": 2}
    after = checkpoints(cli, store, "t1")
    assert after[:len(before)] == before and len(after) > len(before)  # the first run's history is kept


def test_again_never_restarts_a_run_in_progress(cli, store: str, failing: str, tmp_path: Path) -> None:
    cli("run", REFUND, "--store", store, "--thread", "paused", "--input", '{"amount": 250}')
    flag = tmp_path / "flag"
    flag.touch()
    cli("run", failing, "--store", store, "--thread", "failed", "--input", json.dumps({"flag": str(flag)}))
    for thread, status, how in (("paused", "interrupted", "continue it with"),
                                ("failed", "failed", "retry the failed step with")):
        before = checkpoints(cli, store, thread)
        flow = REFUND if thread == "paused" else failing
        result = cli("run", flow, "--store", store, "--thread", thread, "--again", "--input", "{}")
        assert result.code == 2
        assert f"thread `{thread}` has a run in progress" in result.err and f"status {status}" in result.err
        assert f"{how} `fermata resume --thread {thread} --store {store}`" in result.err
        assert "--again only restarts a finished run" in result.err
        assert checkpoints(cli, store, thread) == before


def test_again_needs_a_thread(cli, store: str) -> None:
    result = cli("run", REFUND, "--store", store, "--again", "--input", '{"amount": 1}')
    assert result.code == 2 and "--again" in result.err and "--thread" in result.err
    assert thread_ids(cli, store) == []


def test_again_on_a_new_thread_starts_its_first_run(cli, store: str) -> None:
    result = cli("run", REFUND, "--store", store, "--thread", "fresh", "--again", "--input", '{"amount": 20}')
    assert result.code == 0 and result.out.startswith("thread fresh: paused")


def test_resuming_under_a_spec_that_lost_the_interrupt(cli, store: str, parallel: str) -> None:
    cli("run", parallel, "--store", store, "--thread", "p", "--input", '{"item": "x"}')
    before = checkpoints(cli, store, "p")
    changed = PARALLEL_FLOW.replace('let ok = interrupt legal "legal sign-off for {{ item }}?" expect bool',
                                    "let ok = true")
    assert changed != PARALLEL_FLOW
    Path(parallel).write_text(changed, encoding="utf-8")
    # Named explicitly, the changed file is checked against the run (without
    # FILE, a changed file is refused outright: see the test below).
    result = cli("resume", parallel, "--thread", "p", "--store", store, "--id", "ask_finance:finance",
                 "--value", "true")
    assert result.code == 2
    assert "pending interrupt `ask_legal:legal` no longer exists" in result.err
    assert checkpoints(cli, store, "p") == before


def test_missing_and_broken_files(cli, store: str, tmp_path: Path) -> None:
    result = cli("run", str(tmp_path / "nope.flow"), "--store", store)
    assert result.code == 2 and "no such file" in result.err
    (tmp_path / "other.json").write_text('{"a": 1}', encoding="utf-8")
    result = cli("run", str(tmp_path / "other.json"), "--store", store)
    assert result.code == 2 and "is not a Fermata IR file" in result.err
    (tmp_path / "broken.json").write_text("not json", encoding="utf-8")
    result = cli("run", str(tmp_path / "broken.json"), "--store", store)
    assert result.code == 2 and "cannot read IR file" in result.err
    assert thread_ids(cli, store) == []


def test_a_spec_with_errors_is_reported_and_not_run(cli, store: str, tmp_path: Path) -> None:
    path = tmp_path / "broken.flow"
    path.write_text(PARALLEL_FLOW.replace("set legal = ok", "set legl = ok")
                    .replace("both -> end", "both -> ned"), encoding="utf-8")
    result = cli("run", str(path), "--store", store, "--input", '{"item": "x"}')
    assert result.code == 2
    assert "unknown field `legl`" in result.err and "unknown node `ned`" in result.err
    assert thread_ids(cli, store) == []


def test_a_bad_store_url(cli) -> None:
    result = cli("run", REFUND, "--store", "mysql://db/runs", "--input", '{"amount": 1}')
    assert result.code == 2 and "unknown store" in result.err


def test_missing_required_option_is_usage(cli) -> None:
    result = cli("resume", "--value", "1")
    assert result.code == 2 and "--thread" in result.err


# --------------------------------------------------------------------------
# Run data printed on a terminal: escape sequences are shown, never obeyed
# --------------------------------------------------------------------------

# Clear the screen, retitle the window, and a C1 CSI (one character) that turns text red.
HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x9b31m\x7f\r"
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

RAISING_MODULE = """\
def boom(text):
    raise ValueError("bad: " + text)
"""

RAISING_FLOW = """\
flow raising {
    state {
        text: str
    }
    input text

    node go {
        let r = call "fermata_cli_raising:boom"(text)
    }
    start -> go
    go -> end
}
"""


def strings_of(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings_of(v))]
    if isinstance(value, list):
        return [s for item in value for s in strings_of(item)]
    return []


def assert_terminal_safe(result: Result) -> None:
    for stream in (result.out, result.err):
        assert not RAW_CONTROL.search(stream), repr(stream)


def test_run_data_is_escaped_in_every_text_and_json_printer(cli, store: str, parallel: str,
                                                           tmp_path: Path) -> None:
    thread = "t" + HOSTILE
    started = cli("run", parallel, "--store", store, "--thread", thread, "--input", json.dumps({"item": HOSTILE}))
    assert started.code == 0
    assert_terminal_safe(started)
    assert "legal sign-off for \\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\x7f\\x0d?" in started.out  # payload, visible
    reading = [(argv, json_flag) for argv in (("state",), ("history",), ("threads",))
               for json_flag in ((), ("--json",))]
    answering = [(("resume", "--id", "ask_legal:legal", "--value", "true"), ()),
                 (("resume", "--id", "ask_finance:finance", "--value", "true"), ("--json",))]
    for argv, json_flag in reading + answering:
        thread_flag = () if argv[0] == "threads" else ("--thread", thread)
        result = cli(*argv, *thread_flag, "--store", store, *json_flag)
        assert result.code == 0, result.err
        assert_terminal_safe(result)
        if json_flag:  # still JSON, meaning the same
            assert any(HOSTILE in text for text in strings_of(result.json()))
        if argv[0] == "state" and not json_flag:
            assert "\\u001b[2J" in result.out and "\\u009b31m" in result.out
    # refused input quoting the bad value, on stderr
    result = cli("run", REFUND, "--store", store, "--input", json.dumps({"amount": HOSTILE}))
    assert result.code == 2
    assert_terminal_safe(result)

    (tmp_path / "fermata_cli_raising.py").write_text(RAISING_MODULE, encoding="utf-8")
    (tmp_path / "raising.flow").write_text(RAISING_FLOW, encoding="utf-8")
    for json_flag in ((), ("--json",)):
        result = cli("run", str(tmp_path / "raising.flow"), "--store", store, *json_flag,
                     "--input", json.dumps({"text": HOSTILE}))
        assert result.code == 1
        assert_terminal_safe(result)
        assert "bad: " in result.out


def test_a_lone_surrogate_from_user_code_is_printed_escaped(cli, tmp_path: Path) -> None:
    # A call may raise with a string Python holds but UTF-8 cannot: print it, escaped, rather
    # than crash. (The memory store: what the SQLite store does with it is the store's business.)
    # Its own module name: the one of the test above is imported already.
    (tmp_path / "fermata_cli_surrogate.py").write_text(
        RAISING_MODULE.replace('"bad: " + text', '"bad: \\ud800 " + text'), encoding="utf-8")
    (tmp_path / "raising.flow").write_text(RAISING_FLOW.replace("fermata_cli_raising", "fermata_cli_surrogate"),
                                           encoding="utf-8")
    # The run records the message with the surrogate written as its escape
    # (no store could hold it raw): text shows that escape, JSON the same text.
    result = cli("run", str(tmp_path / "raising.flow"), "--store", "memory:", "--input", '{"text": "x"}')
    assert result.code == 1, result.err
    assert "bad: \\ud800 x" in result.out
    result = cli("run", str(tmp_path / "raising.flow"), "--store", "memory:", "--json", "--input", '{"text": "x"}')
    assert result.code == 1, result.err
    assert "bad: \\ud800 x" in json.loads(result.out)["error"]["message"]


# --------------------------------------------------------------------------
# The default store
# --------------------------------------------------------------------------


def test_the_default_store_is_fermata_runs_db_in_the_cwd(cli, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert DEFAULT_STORE == "sqlite:///.fermata/runs.db"
    monkeypatch.chdir(tmp_path)
    result = cli("run", REFUND, "--thread", "t1", "--input", '{"amount": 250}')
    assert result.code == 0
    assert (tmp_path / ".fermata" / "runs.db").is_file()
    [command] = printed_commands(result.out)
    assert "--store" not in command  # the default needs no flag
    result = cli(*shlex.split(command)[1:])
    assert result.code == 0 and "pay:before" in result.out
    rows = cli("threads", "--json").json()
    assert [(r["thread"], r["status"]) for r in rows] == [("t1", "interrupted")]
    # the same file, named explicitly
    explicit = f"sqlite:///{tmp_path}/.fermata/runs.db"
    assert cli("state", "--thread", "t1", "--store", explicit, "--json").json()["status"] == "interrupted"


def test_commands_that_only_read_never_create_the_store(cli, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for argv in (["threads"], ["state", "--thread", "t1"], ["history", "--thread", "t1"],
                 ["resume", "--thread", "t1"]):
        result = cli(*argv)
        assert result.code == 2 and "no store at .fermata/runs.db" in result.err, argv
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["threads"], ["state", "--thread", "t1"], ["history", "--thread", "t1"],
                                  ["resume", "--thread", "t1"], ["replay", REFUND]])
def test_commands_that_only_read_leave_an_empty_file_as_it_is(cli, tmp_path: Path, argv: list[str]) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    result = cli(*argv, "--store", f"sqlite:///{empty}")
    assert result.code == 2, result.err
    assert f"{empty} is empty: not a Fermata store" in result.err
    assert empty.read_bytes() == b"" and sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_fermata_store_overrides_the_default(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    elsewhere = tmp_path / "elsewhere" / "my.db"
    monkeypatch.setenv("FERMATA_STORE", f"sqlite:///{elsewhere}")
    assert cli("run", REFUND, "--thread", "t1", "--input", '{"amount": 20}').code == 0
    assert elsewhere.is_file()
    assert not (tmp_path / ".fermata").exists()
    assert [r["thread"] for r in cli("threads", "--json").json()] == ["t1"]
    assert cli("state", "--thread", "t1", "--json").json()["status"] == "interrupted"
    # and --store overrides $FERMATA_STORE
    assert cli("threads", "--store", "memory:", "--json").json() == []


# --------------------------------------------------------------------------
# Every example, to its end, through the CLI
# --------------------------------------------------------------------------

# (flow, input, answers: each a list of extra `resume` arguments, final status, expected output)
EXAMPLE_RUNS = {
    "refund-approve": ("refund.flow", {"amount": 250, "reason": "damaged"},
                       [["--value", '{"approved": true, "comment": "ok"}'], []],
                       {"approved": True, "log": ["risk 0.25", "reviewed", "paid 250"]}),
    "refund-reject": ("refund.flow", {"amount": 900, "reason": "chargeback"},
                      [["--value", '{"approved": false}']],
                      {"approved": False, "log": ["risk 1.0", "reviewed", "rejected"]}),
    "refund-small": ("refund.flow", {"amount": 40},
                     [[]],  # only `interrupt before pay`: continue with no value
                     {"approved": False, "log": ["risk 0.04", "paid 40"]}),
    "document-review-approve": (
        "document_review.flow", {"title": "Lease", "body": "The tenant pays rent monthly"},
        [["--value", '{"approved": true, "notes": "tidy"}'],
         ["--value", '{"verdict": "approve"}']],
        {"verdict": "approve", "editor_notes": "tidy",
         "history": ["summarized", "legal: approve", "published"]}),
    "document-review-editor-rejects": (
        "document_review.flow", {"title": "Memo", "body": "Draft"},
        [["--value", '{"approved": false}']],
        {"verdict": "reject", "editor_notes": "",
         "history": ["summarized", "editor rejected", "archived (reject)"]}),
    "research": ("research.flow", {"question": "why cache"},
                 [["--value", '"practical"']],
                 None),
    "revise-until-accepted": (
        "revise.flow", {"topic": "owls"},
        [["--value", '{"accepted": false, "comments": "shorter"}'],
         ["--value", '{"accepted": false}'],
         ["--value", '{"accepted": true}']],
        {"draft": "Draft 3 on owls (addresses: shorter; no comments)", "accepted": True,
         "round": 3, "comments": ["shorter", "no comments"]}),
}


@pytest.mark.parametrize("name", sorted(EXAMPLE_RUNS))
def test_every_example_runs_to_its_end(cli, store: str, name: str) -> None:
    file, payload, answers, expected = EXAMPLE_RUNS[name]
    result = cli("run", str(EXAMPLES / file), "--store", store, "--thread", name,
                 "--input", json.dumps(payload), "--json")
    assert result.code == 0, result.err
    for answer in answers:
        assert result.json()["status"] == "interrupted"
        result = cli("resume", "--thread", name, "--store", store, "--json", *answer)
        assert result.code == 0, result.err
    data = result.json()
    assert data["status"] == "done", data
    if expected is not None:
        assert data["output"] == expected


def test_document_review_asks_twice_within_one_node(cli, store: str) -> None:
    file = str(EXAMPLES / "document_review.flow")
    run = cli("run", file, "--store", store, "--thread", "d", "--json",
              "--input", '{"title": "Lease", "body": "The tenant pays"}').json()
    [first] = run["interrupts"]
    assert (first["id"], first["index"]) == ("review:editor", 0)
    assert first["payload"] == {"title": "Lease", "summary": "Lease: The tenant pays"}
    run = cli("resume", "--thread", "d", "--store", store, "--json",
              "--value", '{"approved": true}').json()
    [second] = run["interrupts"]
    assert (second["id"], second["index"], second["node"]) == ("review:legal", 1, "review")
    assert second["payload"] == "Legal review of Lease: Lease: The tenant pays"
    run = cli("resume", "--thread", "d", "--store", store, "--json",
              "--value", '{"verdict": "escalate", "reason": "liability"}').json()
    assert run["output"]["history"] == ["summarized", "legal: escalate", "escalated to counsel"]


def test_research_searches_in_parallel_and_joins(cli, store: str) -> None:
    file = str(EXAMPLES / "research.flow")
    run = cli("run", file, "--store", store, "--thread", "r", "--json",
              "--input", '{"question": "why cache"}').json()
    [pick] = run["interrupts"]
    assert pick["id"] == "synthesize:pick_angle"
    assert pick["payload"]["web"] and pick["payload"]["papers"]
    assert pick["schema"] == {"type": "string", "enum": ["practical", "theoretical"]}
    frontiers = [c["frontier"] for c in checkpoints(cli, store, "r")]
    assert ["search_papers", "search_web"] in frontiers  # one superstep ran both
    result = cli("resume", "--thread", "r", "--store", store, "--value", '"sideways"')
    assert result.code == 2  # not one of the enum's values
    run = cli("resume", "--thread", "r", "--store", store, "--json", "--value", '"theoretical"').json()
    assert run["status"] == "done" and run["output"]["angle"] == "theoretical"
    assert run["output"]["report"].startswith("A theoretical answer to 'why cache', from 5 sources:")
    assert run["output"]["notes"] == ["question: why cache", "papers: 2 hits", "web: 3 hits",
                                      "report written"]


# --------------------------------------------------------------------------
# Across processes: the installed console script and the SQLite file
# --------------------------------------------------------------------------


def run_process(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    script = fermata_executable()
    env = {k: v for k, v in os.environ.items() if k != "FERMATA_STORE"}
    env["PATH"] = os.pathsep.join([str(Path(script).parent), env.get("PATH", "")])
    if argv[0] == "fermata":
        argv = [script, *argv[1:]]
    return subprocess.run(argv, cwd=cwd, env=env, check=False, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_printed_commands_work_verbatim_in_fresh_processes(tmp_path: Path) -> None:
    # The default store, relative to the cwd: what a person types.
    result = run_process(["fermata", "run", REFUND, "--input", '{"amount": 250}'], tmp_path)
    assert result.returncode == 0, result.stderr
    thread = re.search(r"thread: (run-[0-9a-f]{8})", result.stderr).group(1)
    for _ in range(2):
        [command] = printed_commands(result.stdout)
        result = run_process(shlex.split(command), tmp_path)
        assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"thread {thread}: done at step 3")
    state = run_process(["fermata", "state", "--thread", thread, "--json"], tmp_path)
    assert json.loads(state.stdout)["state"]["log"] == ["risk 0.25", "reviewed", "paid 250"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["refund-approve", "document-review-approve", "revise-until-accepted"])
def test_a_run_resumed_in_fresh_processes_ends_as_in_process(cli, tmp_path: Path, name: str) -> None:
    file, payload, answers, expected = EXAMPLE_RUNS[name]
    steps = [["run", str(EXAMPLES / file), "--thread", name, "--input", json.dumps(payload)]]
    steps += [["resume", "--thread", name, *answer] for answer in answers]

    in_process = f"sqlite:///{tmp_path}/in.db"
    for argv in steps:
        assert cli(*argv, "--store", in_process).code == 0

    on_disk = f"sqlite:///{tmp_path}/out.db"
    for argv in steps:
        result = run_process(["fermata", *argv, "--store", on_disk], tmp_path)
        assert result.returncode == 0, result.stderr

    def final(store: str) -> tuple[Any, ...]:
        state = cli("state", "--thread", name, "--store", store, "--json").json()
        # Recorded times differ between processes (each reads its own clock).
        untimed = [[{k: v for k, v in p.items() if k != "asked_at"} for p in c["pending"]]
                   for c in checkpoints(cli, store, name)]
        history = [(c["seq"], c["step"], c["status"], c["values"], c["frontier"], pending)
                   for c, pending in zip(checkpoints(cli, store, name), untimed, strict=True)]
        return state["status"], state["step"], state["state"], history

    assert final(on_disk) == final(in_process)
    state = cli("state", "--thread", name, "--store", on_disk, "--json").json()
    assert state["status"] == "done"
    assert {k: state["state"][k] for k in expected} == expected
