"""``fermata replay``: runs from a store or from history files, three formats, exit codes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from fermata.compiler.cli.common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError
from fermata.compiler.cli.main import main
from fermata.compiler.cli.replay import run_replay

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
RUNS = EXAMPLES / "runs"
REFUND_RUNS = sorted(str(p) for p in RUNS.glob("refund-*.json"))
LABEL = ("let d = interrupt approval", "let d = interrupt sign_off")


@pytest.fixture(autouse=True)
def example_packages(monkeypatch) -> None:
    # A spec copied to tmp_path still calls the examples' Python package.
    monkeypatch.syspath_prepend(str(EXAMPLES))


def args(file, store=None, thread=(), history=(), format="text", flow=None) -> argparse.Namespace:
    return argparse.Namespace(file=str(file), store=store, thread=list(thread), history=list(history),
                              format=format, flow=flow)


def spec(tmp_path: Path, *edits: tuple[str, str], name: str = "refund.flow") -> Path:
    """A copy of examples/refund.flow with ``edits`` applied."""
    text = (EXAMPLES / "refund.flow").read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path, capsys) -> str:
    """A SQLite store with three refund runs, made through the command line."""
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    flow = str(EXAMPLES / "refund.flow")
    for argv in (["run", flow, "--thread", "big", "--input", '{"amount": 250}'],
                 ["resume", "--thread", "big", "--value", '{"approved": true}'],
                 ["run", flow, "--thread", "small", "--input", '{"amount": 20}'],
                 ["run", flow, "--thread", "waiting", "--input", '{"amount": 400}']):
        assert main([*argv, "--store", url]) == 0
    capsys.readouterr()
    return url


def test_history_fixtures_are_compatible_with_their_specs(capsys):
    assert run_replay(args(EXAMPLES / "refund.flow", history=REFUND_RUNS)) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in out[:-1]] == [
        f"thread {Path(run).stem}" for run in REFUND_RUNS]
    assert all(line.startswith(f"thread {Path(run).stem} ({Path(run).as_posix()}): compatible")
               for line, run in zip(out[:-1], REFUND_RUNS, strict=True))
    assert out[-2] == f"thread refund-waiting ({Path(REFUND_RUNS[-1]).as_posix()}): compatible"
    # The runtime records what finished nodes consumed: nothing goes unchecked.
    assert not any("checked only as far as" in line for line in out)
    assert out[-1] == f"replayed {len(REFUND_RUNS)} runs: {len(REFUND_RUNS)} compatible, 0 incompatible"


def test_every_fixture_replays_through_the_cli(capsys):
    for fixture in sorted(RUNS.glob("*.json")):
        source = json.loads(fixture.read_text(encoding="utf-8"))["thread"]["source"]
        assert main(["replay", str(ROOT / source), "--history", str(fixture)]) == EXIT_OK, fixture


def test_an_incompatible_spec_exits_1_with_one_line_per_run(tmp_path, capsys):
    changed = spec(tmp_path, LABEL)
    waiting = str(RUNS / "refund-waiting.json")
    small = str(RUNS / "refund-small.json")
    assert run_replay(args(changed, history=[waiting, small])) == EXIT_FINDINGS
    out = capsys.readouterr().out.splitlines()
    line = next(i for i, text in enumerate(changed.read_text().splitlines(), 1) if "sign_off" in text)
    assert out == [
        (f"thread refund-waiting ({Path(waiting).as_posix()}): incompatible at step 2, node review: "
         f"recorded interrupt `review:approval`, replayed `review:sign_off` ({changed.as_posix()}:{line})"),
        f"thread refund-small ({Path(small).as_posix()}): compatible",
        "replayed 2 runs: 1 compatible, 1 incompatible",
    ]


def test_json_format(tmp_path, capsys):
    changed = spec(tmp_path, ("risk > 0.5 or amount > 100", "risk > 0.9 or amount > 1000"))
    code = run_replay(args(changed, history=REFUND_RUNS, format="json"))
    data = json.loads(capsys.readouterr().out)
    assert code == EXIT_FINDINGS
    by_thread = {run["thread"]: run for run in data}
    assert set(by_thread) == {"refund-approved", "refund-rejected", "refund-small", "refund-waiting"}
    assert by_thread["refund-small"]["compatible"] is True
    assert by_thread["refund-rejected"]["compatible"] is True      # risky words: still reviewed
    bad = by_thread["refund-approved"]
    assert bad["compatible"] is False
    assert {k: bad["divergence"][k] for k in ("step", "node", "kind", "recorded", "replayed")} == {
        "step": 1, "node": "assess", "kind": "route", "recorded": "next `review`", "replayed": "next `pay`"}
    assert bad["history"] == str(Path(REFUND_RUNS[0]).as_posix()) and bad["spec"] == changed.as_posix()
    assert bad["recorded_ir_hash"]


def test_github_format_annotates_the_new_specs_line(tmp_path, capsys):
    changed = spec(tmp_path, ('set log += ["risk {{ risk }}"]', 'set log += ["risk: {{ risk }}"]'))
    code = run_replay(args(changed, history=[str(RUNS / "refund-small.json")], format="github"))
    out = capsys.readouterr().out.splitlines()
    assert code == EXIT_FINDINGS
    line = next(i for i, text in enumerate(changed.read_text().splitlines(), 1) if "risk: {{" in text)
    file = changed.as_posix().replace(":", "%3A").replace(",", "%2C")
    assert out[0].startswith(f"::error file={file},line={line},title=replay::thread refund-small (")
    assert out[0].endswith('incompatible at step 1, node assess: recorded `log` = ["risk 0.02"], '
                           'replayed `log` = ["risk: 0.02"]')
    assert out[1] == "replayed 1 run: 0 compatible, 1 incompatible"


def test_github_format_is_quiet_for_compatible_runs(capsys):
    assert run_replay(args(EXAMPLES / "refund.flow", history=REFUND_RUNS, format="github")) == EXIT_OK
    out = capsys.readouterr().out
    assert "::" not in out and out.startswith("replayed 4 runs")


# --------------------------------------------------------------------------
# Runs from a store
# --------------------------------------------------------------------------


def test_every_run_of_the_flow_in_the_store(store, tmp_path, capsys):
    assert main(["replay", str(EXAMPLES / "refund.flow"), "--store", store]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out[:-1]] == ["thread big", "thread small", "thread waiting"]
    assert main(["replay", str(spec(tmp_path, LABEL)), "--store", store]) == EXIT_FINDINGS
    out = capsys.readouterr().out.splitlines()
    # `small` waits before `pay`: it never reached `review`
    assert [line.split(":")[1].strip() for line in out[:-1]] == ["incompatible at step 2, node review",
                                                                 "compatible",
                                                                 "incompatible at step 2, node review"]


def test_chosen_threads_only(store, tmp_path, capsys):
    code = main(["replay", str(spec(tmp_path, LABEL)), "--store", store, "--thread", "small",
                 "--format", "json"])
    assert code == EXIT_OK
    assert [run["thread"] for run in json.loads(capsys.readouterr().out)] == ["small"]


def test_store_runs_of_other_flows_are_left_out(store, tmp_path, capsys):
    other = tmp_path / "other.flow"
    other.write_text("flow other {\n    state {\n        x: int = 0\n    }\n    node a {\n        set x = 1\n    }\n"
                     "    start -> a\n    a -> end\n}\n", encoding="utf-8")
    assert main(["replay", str(other), "--store", store]) == EXIT_OK
    assert capsys.readouterr().out == f"no recorded runs of flow `other` in {store}\n"
    assert main(["replay", str(other), "--store", store, "--thread", "small"]) == EXIT_USAGE
    assert "is a run of flow `refund`" in capsys.readouterr().err


def test_history_json_of_a_store_run_replays_like_the_store_run(store, tmp_path, capsys):
    assert main(["history", "--thread", "big", "--store", store, "--json"]) == 0
    exported = tmp_path / "big.json"
    exported.write_text(capsys.readouterr().out, encoding="utf-8")
    changed = str(spec(tmp_path, LABEL))
    assert main(["replay", changed, "--history", str(exported), "--format", "json"]) == EXIT_FINDINGS
    from_file = json.loads(capsys.readouterr().out)[0]
    assert main(["replay", changed, "--store", store, "--thread", "big", "--format", "json"]) == EXIT_FINDINGS
    from_store = json.loads(capsys.readouterr().out)[0]
    assert from_file["divergence"] == from_store["divergence"]
    assert from_file["history"] == exported.as_posix() and from_store["history"] is None


def test_a_compiled_ir_file_works_as_the_spec(tmp_path, capsys):
    ir = tmp_path / "refund.json"
    assert main(["compile", str(EXAMPLES / "refund.flow"), "-o", str(ir)]) == 0
    assert main(["replay", str(ir), "--history", str(RUNS / "refund-approved.json")]) == EXIT_OK


# --------------------------------------------------------------------------
# Bad usage: exit 2
# --------------------------------------------------------------------------


def test_bad_usage(store, tmp_path, capsys):
    refund = str(EXAMPLES / "refund.flow")
    missing_db = tmp_path / "missing.db"
    cases = [
        (["replay", refund], "nothing to replay"),
        (["replay", str(tmp_path / "nope.flow"), "--store", store], "no such file"),
        (["replay", refund, "--thread", "big"], "--thread picks runs of a store"),
        (["replay", refund, "--store", store, "--thread", "ghost"], "no run `ghost`"),
        (["replay", refund, "--store", f"sqlite:///{missing_db}"], "no such store"),
        (["replay", refund, "--store", "mysql://x"], "unknown store"),
        (["replay", refund, "--history", str(tmp_path / "none.json")], "cannot read history"),
        (["replay", refund, "--history", refund], "is not valid JSON"),
        (["replay", refund, "--history", str(EXAMPLES / "runs")], "cannot read history"),
        (["replay", refund, "--flow", "nope", "--history", REFUND_RUNS[0]], "no flow `nope`"),
        (["replay", str(EXAMPLES / "research.flow"), "--history", REFUND_RUNS[0]], "is a run of flow `refund`"),
    ]
    for argv, message in cases:
        assert main(argv) == EXIT_USAGE, argv
        assert message in capsys.readouterr().err, argv
    assert not missing_db.exists()   # a replay only reads: it never creates a store


def test_not_a_history(tmp_path, capsys):
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"thread": "t1", "checkpoints": []}', encoding="utf-8")
    with pytest.raises(UsageError, match="not a recorded history"):
        run_replay(args(EXAMPLES / "refund.flow", history=[str(bogus)]))


def test_a_spec_with_errors_exits_2(tmp_path, capsys):
    broken = spec(tmp_path, ("node reject {", "node reject {\n        set nowhere = 1"))
    assert run_replay(args(broken, history=REFUND_RUNS)) == EXIT_USAGE
    assert "nowhere" in capsys.readouterr().err


def test_the_flow_is_chosen_per_run_from_a_file_with_several(tmp_path, capsys):
    both = tmp_path / "both.flow"
    text = (EXAMPLES / "refund.flow").read_text(encoding="utf-8")
    other = "\nflow other {\n    state {\n        x: int = 0\n    }\n    node a {\n        set x = 1\n    }\n" \
            "    start -> a\n    a -> end\n}\n"
    both.write_text(text + other, encoding="utf-8")
    assert run_replay(args(both, history=REFUND_RUNS)) == EXIT_OK
    with pytest.raises(UsageError, match="does not define"):
        run_replay(args(both, history=REFUND_RUNS, flow="other"))


ONCE_RAISES = """\
flow once_raises {
    state {
        flag: str
        out: int = 0
    }
    input flag
    node pay {
        let r = call once "fermata_replay_fixture:explode"(flag)
        set out = r
    }
    start -> pay
    pay -> end
}
"""


# ------------------------------------------------------------ --stub-calls (issue #11, point 17)

SIDE_EFFECT_FLOW = """\
flow side {
    state {
        answer: str = ""
    }
    node ask {
        let a = interrupt question "Go on?" expect str
        set answer = a
        call "%s:touch"(a)
    }
    start -> ask
    ask -> end
}
"""


def test_a_once_call_that_raised_is_compatible_with_the_unchanged_spec(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "fermata_replay_fixture.py").write_text(
        "from pathlib import Path\n\n\ndef explode(flag):\n"
        "    if Path(flag).exists():\n        raise ValueError('the flag is up')\n    return 7\n",
        encoding="utf-8")
    flow = tmp_path / "once_raises.flow"
    flow.write_text(ONCE_RAISES, encoding="utf-8")
    flag = tmp_path / "flag"
    flag.touch()
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    assert main(["run", str(flow), "--thread", "t", "--store", url,
                 "--input", json.dumps({"flag": str(flag)})]) == EXIT_FINDINGS
    capsys.readouterr()
    assert main(["replay", str(flow), "--store", url]) == EXIT_OK
    assert capsys.readouterr().out.splitlines() == [
        "thread t: compatible", "replayed 1 run: 1 compatible, 0 incompatible"]


@pytest.fixture
def side_effects(tmp_path, monkeypatch, capsys):
    """A recorded run of a flow whose plain call appends to `touched.txt`."""
    import uuid

    name = f"sidefx_{uuid.uuid4().hex[:8]}"
    touched = tmp_path / "touched.txt"
    (tmp_path / f"{name}.py").write_text(
        f"def touch(value):\n    with open({touched.as_posix()!r}, 'a') as f:\n        f.write(value)\n",
        encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    flow = tmp_path / "side.flow"
    flow.write_text(SIDE_EFFECT_FLOW % name, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    assert main(["run", str(flow), "--thread", "t", "--store", url]) == 0
    assert main(["resume", "--thread", "t", "--value", '"yes"', "--store", url]) == 0
    capsys.readouterr()
    assert touched.read_text() == "yes"
    return flow, url, touched


def test_replay_runs_plain_calls_unless_they_are_stubbed(side_effects, capsys):
    flow, url, touched = side_effects
    assert main(["replay", str(flow), "--store", url]) == EXIT_OK
    assert touched.read_text() == "yesyes"     # a plain replay ran the call again
    capsys.readouterr()
    assert main(["replay", str(flow), "--store", url, "--stub-calls"]) == EXIT_OK
    assert touched.read_text() == "yesyes"     # a stubbed one did not
    out = capsys.readouterr().out
    assert "thread t: compatible (1 node run checked only as far as the history records: ask at step 1)" in out
    assert main(["replay", str(flow), "--store", url, "--stub-calls", "--format", "json"]) == EXIT_OK
    (result,) = json.loads(capsys.readouterr().out)
    assert result["gaps"][0]["reason"].startswith('its plain `call "sidefx_')


def test_a_stubbed_replay_still_finds_differences_before_the_call(side_effects, tmp_path, capsys):
    flow, url, touched = side_effects
    changed = tmp_path / "changed.flow"
    changed.write_text(flow.read_text().replace("interrupt question", "interrupt query"), encoding="utf-8")
    assert main(["replay", str(changed), "--store", url, "--stub-calls"]) == EXIT_FINDINGS
    assert "recorded interrupt `ask:question`, replayed `ask:query`" in capsys.readouterr().out
    assert touched.read_text() == "yes"


def test_replay_applies_the_call_policy(side_effects, capsys):
    flow, url, _ = side_effects
    (flow.parent / "pyproject.toml").write_text('[tool.fermata.calls]\nallow = ["refunds"]\n')
    assert main(["replay", str(flow), "--store", url]) == EXIT_USAGE   # F452: the spec does not compile
    assert "F452" in capsys.readouterr().err
    package = next(p.stem for p in flow.parent.glob("sidefx_*.py"))
    assert main(["replay", str(flow), "--store", url, "--allow-call", package]) == EXIT_OK
