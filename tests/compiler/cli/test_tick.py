"""``fermata tick`` (for cron) and the audit trail of ``fermata history``.

Flows with deadlines are written as IR files (the clauses injected, see
tests/runtime/clauses.py) until the compiler emits them from ``.flow``."""


from __future__ import annotations

import json
from pathlib import Path

from tests.compiler.support import _isolated, cli, store  # noqa: F401 - fixtures
from tests.runtime.clauses import HOUR, approval_flow, timer_flow, with_clauses
from tests.runtime.irbuild import lit, rec


def write_ir(folder: Path, doc: dict, name: str = "approval.json") -> str:
    path = folder / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def test_tick_fires_due_deadlines_with_each_runs_flow(cli, store: str, tmp_path: Path) -> None:
    approval = write_ir(tmp_path, with_clauses(approval_flow(), "review", "approval", to=[lit("finance")],
                                               within={"ms": 2 * HOUR, "goto": "escalate"}))
    timer = write_ir(tmp_path, timer_flow(for_ms=HOUR), "timer.json")
    assert cli("run", approval, "--thread", "a", "--store", store, "--input", '{"amount": 5}').code == 0
    assert cli("run", timer, "--thread", "w", "--store", store, "--input", "{}").code == 0
    early = cli("tick", "--store", store, "--now", "2026-01-01T00:30:00Z")
    assert early.code == 0 and early.out == "nothing due at 2026-01-01T00:30:00.000Z\n"
    result = cli("tick", "--store", store, "--now", "2026-01-01T01:00:00Z")
    assert result.code == 0, result.err
    assert result.out == "w: fired wait cool:cooling_off; now done\n"
    result = cli("tick", "--store", store, "--now", "2026-01-01T03:00:00Z", "--json")
    report = result.json()
    assert [(f["thread"], f["status"]) for f in report["fired"]] == [("a", "done")]
    assert report["fired"][0]["fired"][0]["goto"] == "escalate"
    state = cli("state", "--thread", "a", "--store", store, "--json").json()
    assert state["state"]["log"] == ["escalated"]


def test_resume_of_an_expired_interrupt_says_when_it_expired(cli, store: str, tmp_path: Path) -> None:
    approval = write_ir(tmp_path, with_clauses(approval_flow(), "review", "approval",
                                               within={"ms": HOUR, "goto": "escalate"}))
    cli("run", approval, "--thread", "a", "--store", store, "--input", '{"amount": 5}')
    cli("tick", "--store", store, "--now", "2026-01-02T00:00:00Z")
    result = cli("resume", "--thread", "a", "--store", store, "--id", "review:approval",
                 "--value", '{"approved": true}')
    assert result.code != 0 and "expired at 2026-01-01T01:00:00.000Z" in result.err + result.out


def test_history_shows_who_was_asked_who_answered_and_what_fired(cli, store: str, tmp_path: Path) -> None:
    approval = write_ir(tmp_path, with_clauses(approval_flow(), "review", "approval", to=[lit("finance")],
                                               within={"ms": 2 * HOUR, "answer": rec(approved=lit(False))},
                                               remind_every_ms=HOUR))
    cli("run", approval, "--thread", "a", "--store", store, "--input", '{"amount": 5}')
    cli("tick", "--store", store, "--now", "2026-01-01T01:00:00Z")
    cli("tick", "--store", store, "--now", "2026-01-01T02:00:00Z")
    text = cli("history", "--thread", "a", "--store", store).out
    assert ("asked review:approval at 2026-01-01T00:00:00.000Z (to finance; deadline 2026-01-01T02:00:00.000Z "
            'answer {"approved": false}; remind every 3600 s)') in text
    assert "reminder #1 of review:approval sent at 2026-01-01T01:00:00.000Z" in text
    assert ("answered review:approval at 2026-01-01T02:00:00.000Z by fermata:deadline: "
            '{"approved": false}') in text
    audit = cli("history", "--thread", "a", "--store", store, "--json").json()["audit"]
    assert [e["what"] for e in audit] == ["asked", "reminder", "answered", "deadline"]


def test_tick_needs_a_store_that_exists(cli, tmp_path: Path) -> None:
    result = cli("tick", "--store", f"sqlite:///{tmp_path}/none.db")
    assert result.code == 2 and "no store at" in result.err


def test_tick_refuses_a_bad_now(cli, store: str, tmp_path: Path) -> None:
    timer = write_ir(tmp_path, timer_flow(for_ms=HOUR), "timer.json")
    cli("run", timer, "--thread", "w", "--store", store, "--input", "{}")
    result = cli("tick", "--store", store, "--now", "tomorrow")
    assert result.code == 2 and "--now" in result.err and "ISO 8601" in result.err
