"""A generated module runs every example exactly as ``fermata.compiler.load``
of its `.flow` does, in a process that cannot import the compiler.

Each example has a scenario (new runs, resumes by bare value and by id,
rejected inputs and answers, updates, static interrupts, a failing run and
its retry, ``invoke`` and ``stream``). ``scenario_runner.py`` plays it in a
fresh process, once on ``load("examples/X.flow")`` and once on the module
``fermata compile examples/X.flow --target python`` wrote, with
``fermata.compiler`` and ``lark`` blocked; every result, event and
checkpoint must be the same. A run started on one and continued on the
other must end as a run on either alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .support import EXAMPLES, NAMES, REPO, compile_examples, import_generated

RUNNER = Path(__file__).with_name("scenario_runner.py")

SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "refund": [
        {"thread": "r1", "input": {"amount": 250, "reason": "parcel never arrived"}},
        {"thread": "r1", "resume": {"approved": "yes"}},                 # rejected: not a bool
        {"thread": "r1", "api": "stream", "resume": {"approved": True, "comment": "looks fine"}},
        {"thread": "r1", "continue": True},                              # past `interrupt before pay`
        {"thread": "r2", "api": "stream", "input": {"amount": 20}},
        {"thread": "r2", "update": {"reason": "late"}},
        {"thread": "r3", "input": {"amount": "a lot", "colour": "red"}},  # rejected: two problems
        {"thread": "r4", "input": {"amount": 500, "reason": "fraud"}},
        {"thread": "r4", "resume": {"review:approval": {"approved": False}}},
        {"thread": "r4", "input": {"amount": 5}},                        # a new run on a finished thread
        {"thread": "r4", "continue": True},
    ],
    "document_review": [
        {"thread": "d1", "input": {"title": "Q3", "body": "numbers went up " * 10}},
        {"thread": "d1", "resume": {"approved": True, "notes": "tighten"}},
        {"thread": "d1", "api": "stream", "resume": {"verdict": "escalate"}},
        {"thread": "d2", "input": {"title": "Q4", "body": "flat"}},
        {"thread": "d2", "resume": {"approved": False}},
        {"thread": "d3", "api": "stream", "input": {"title": "Q1", "body": "down"}},
        {"thread": "d3", "resume": {"approved": True}},
        {"thread": "d3", "resume": {"verdict": "maybe"}},                # rejected: not in the union
        {"thread": "d3", "resume": {"review:legal": {"verdict": "approve", "reason": "fine"}}},
    ],
    "research": [
        {"thread": "q1", "input": {"question": "why?"}},
        {"thread": "q1", "api": "stream", "resume": "practical"},
        {"thread": "q2", "api": "stream", "input": {"question": "how?"}},
        {"thread": "q2", "resume": "poetic"},                            # rejected
        {"thread": "q2", "update": {"notes": ["edited"]}, "goto": "synthesize"},
        {"thread": "q2", "resume": {"synthesize:pick_angle": "theoretical"}},  # then `goto` again
        {"thread": "q2", "resume": "practical"},
        {"thread": "q3", "input": {}},                                   # rejected: question missing
    ],
    "moderation": [
        {"thread": "m1", "input": {"posts": [{"id": "p1", "text": "hello"}, {"id": "p2", "text": "free offer"},
                                             {"id": "p3", "text": "buy spam"}, {"id": "p4", "text": "click"}]}},
        {"thread": "m1", "resume": {"review[p4]:verdict": {"keep": "no"}}},    # rejected: not a bool
        {"thread": "m1", "api": "stream", "resume": {"review[p4]:verdict": {"keep": False}}},
        {"thread": "m1", "resume": {"keep": True, "note": "ok"}},             # the one left, by value
        {"thread": "m2", "input": {"posts": [{"id": "a", "text": "winner"}, {"id": "b", "text": "offer"}]}},
        {"thread": "m2", "resume": {"review[a]:verdict": {"keep": True}, "review[b]:verdict": {"keep": True}}},
        {"thread": "m3", "input": {"posts": [{"id": "x", "text": "fine"}]}},   # nothing to review
    ],
    "revise": [
        {"thread": "v1", "input": {"topic": "tea", "max_rounds": 2}},
        {"thread": "v1", "resume": {"accepted": False, "comments": "shorter"}},
        {"thread": "v1", "api": "stream", "resume": {"accepted": False}},  # fails: `fail` step
        {"thread": "v1", "continue": True},                              # the retry fails again
        {"thread": "v2", "api": "stream", "input": {"topic": "coffee"}},
        {"thread": "v2", "resume": {"accepted": True}},
        {"thread": "v3", "input": {"topic": "tea", "max_rounds": "two"}},  # rejected
    ],
    "drafting": [
        {"thread": "w1", "input": {"topic": "tea"}},
        {"thread": "w1", "resume": {"approve": "yes"}},                  # rejected: not a bool
        {"thread": "w1", "api": "stream", "resume": {"approve": False}},   # a second round
        {"thread": "w1", "resume": {"review:decision": {"approve": True}}},
    ],
    # A child run: its question surfaces on the parent as compose/review:decision.
    "newsletter": [
        {"thread": "n1", "input": {"topic": "tea"}},
        {"thread": "n1", "resume": {"approve": "yes"}},                  # rejected: not a bool
        {"thread": "n1", "resume": {"approve": False}},                  # a second draft
        {"thread": "n1", "resume": {"compose/review:decision": {"approve": True}}},
    ],
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every example compiled by the CLI, as a user would, from the repository root."""
    return compile_examples(tmp_path_factory.mktemp("generated"))


def play(mode: str, path: str | Path, name: str, store: str, folder: Path,
         first: int = 0, stop: int | None = None) -> dict[str, Any]:
    """Run the calls ``first:stop`` of the example's scenario in a new process."""
    scenario = folder / f"{name}.json"
    scenario.write_text(json.dumps(SCENARIOS[name]), encoding="utf-8")
    command = [sys.executable, str(RUNNER), mode, str(path), str(scenario), store, str(first)]
    if stop is not None:
        command.append(str(stop))
    # The examples' own packages (`refunds.logic`, ...) must be importable, as
    # in a team's project; `load()` of the spec would add its folder itself.
    env = {**os.environ, "PYTHONPATH": str(EXAMPLES)}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def from_spec(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Each example's scenario played once on ``load()`` of the spec (in memory)."""
    folder = tmp_path_factory.mktemp("spec-runs")
    records: dict[str, dict[str, Any]] = {}

    def record(name: str) -> dict[str, Any]:
        if name not in records:
            records[name] = play("spec", f"examples/{name}.flow", name, "memory:", folder)
        return records[name]

    return record


def test_every_example_has_a_scenario():
    assert set(SCENARIOS) == set(NAMES)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_the_generated_module_runs_like_load_of_the_spec_without_the_compiler(
        name: str, generated: dict[str, Path], from_spec: Any, tmp_path: Path):
    spec_run = from_spec(name)
    from_module = play("generated", generated[name], name, "memory:", tmp_path)

    # The blocker was in force, and the comparison is not vacuous.
    assert from_module["imported"] == []
    assert spec_run["imported"] == ["fermata.compiler"]  # a valid spec needs no Lark
    outcomes = [r["run"]["status"] if "run" in r else "rejected" for r in spec_run["results"]]
    assert "interrupted" in outcomes and "rejected" in outcomes
    assert "done" in outcomes

    assert from_module["results"] == spec_run["results"]
    assert from_module["history"] == spec_run["history"]
    assert from_module["ir_hash"] == spec_run["ir_hash"]


# Each example is continued one way; between them, both ways are covered.
HANDOVERS = [(name, ("spec", "generated") if i % 2 == 0 else ("generated", "spec"))
             for i, name in enumerate(NAMES)]


@pytest.mark.slow
@pytest.mark.parametrize("name, order", HANDOVERS)
def test_a_run_goes_on_across_the_spec_and_the_module(name: str, order: tuple[str, str],
                                                      generated: dict[str, Path], from_spec: Any,
                                                      tmp_path: Path):
    """Runs record the same IR hash either way: a thread paused by
    ``fermata run`` is resumed by the shipped module, and the other way round
    (on SQLite, as the CLI runs them)."""
    half = len(SCENARIOS[name]) // 2
    paths = {"spec": f"examples/{name}.flow", "generated": generated[name]}
    alone = from_spec(name)
    store = f"sqlite:///{tmp_path / 'handed-over.db'}"
    before = play(order[0], paths[order[0]], name, store, tmp_path, 0, half)
    after = play(order[1], paths[order[1]], name, store, tmp_path, half)
    assert before["results"] + after["results"] == alone["results"]
    assert after["history"] == {t: alone["history"][t] for t in after["history"]}


@pytest.mark.slow
def test_a_failing_step_names_its_spec_line_and_the_spec_file(generated: dict[str, Path],
                                                              tmp_path: Path):
    """The runtime error of a run of the generated module names the `.flow`
    file and line, and the module's line map leads from the step's
    generated lines to the same line."""
    record = play("generated", generated["revise"], "revise", "memory:", tmp_path)
    failed = record["results"][2]["run"]
    spec_text = (EXAMPLES / "revise.flow").read_text(encoding="utf-8").splitlines()
    fail_line = next(i for i, text in enumerate(spec_text, 1) if text.strip().startswith("fail "))
    assert failed["status"] == "failed"
    assert failed["error"]["line"] == fail_line
    assert failed["error"]["path"] == "examples/revise.flow"
    assert failed["error"]["node"] == "give_up" and failed["error"]["kind"] == "fail"

    module_text = generated["revise"].read_text(encoding="utf-8")
    module = import_generated(module_text, tmp_path)
    step_lines = [i for i, text in enumerate(module_text.splitlines(), 1) if '"k": "fail"' in text]
    assert step_lines and all(module.spec_line(i) == fail_line for i in step_lines)
