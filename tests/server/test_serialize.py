"""The server's run JSON is the CLI's: `fermata state --json` and `history --json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fermata.compiler.cli.main import main
from fermata.runtime.stores import open_store
from fermata.server.serialize import history_json, state_json
from tests.server.support import REVIEW_FLOW


@pytest.mark.parametrize("answer", [None, {"approved": True}])
def test_state_and_history_json_match_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              answer: dict[str, bool] | None) -> None:
    flow = tmp_path / "review.flow"
    flow.write_text(REVIEW_FLOW, encoding="utf-8")
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    assert main(["run", str(flow), "--thread", "t1", "--store", store, "--json",
                 "--input", '{"title": "a", "amount": 2}']) == 0
    if answer is not None:
        assert main(["resume", "--thread", "t1", "--store", store, "--json", "--value", json.dumps(answer)]) == 0
    capsys.readouterr()
    assert main(["state", "--thread", "t1", "--store", store, "--json"]) == 0
    cli_state = json.loads(capsys.readouterr().out)
    assert main(["history", "--thread", "t1", "--store", store, "--json"]) == 0
    cli_history = json.loads(capsys.readouterr().out)
    opened = open_store(store)
    info, latest = opened.thread("t1"), opened.latest("t1")
    assert info is not None and latest is not None
    assert state_json(info, latest) == cli_state
    assert history_json(info, opened.history("t1")) == cli_history
