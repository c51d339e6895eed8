"""Record real runs of the examples as history fixtures in examples/runs/.

    python scripts/record_example_runs.py        # from anywhere; rewrites examples/runs/*.json

Each run goes through the real command line, one process step at a time as
a user would drive it (``fermata run``, ``fermata resume``), in a throwaway
SQLite store; its history is then exported with ``fermata history --thread
ID --json``, byte for byte what a repository would keep. CI replays them
against the current specs (``fermata replay FILE --history RUN.json``), so a
spec change that breaks real runs fails before it merges.

Thread ids name the story; ``created`` is the only field that changes
between recordings.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "examples" / "runs"

# Fixture (and thread) name -> the `fermata` commands that drive the run;
# `--thread` and `--store` are added to each.
STORIES: dict[str, list[list[str]]] = {
    "refund-approved": [
        ["run", "examples/refund.flow", "--input", '{"amount": 250, "reason": "parcel never arrived"}'],
        ["resume", "--value", '{"approved": true, "comment": "looks fine"}'],
        ["resume"],
    ],
    "refund-rejected": [
        ["run", "examples/refund.flow", "--input", '{"amount": 900, "reason": "chargeback threat"}'],
        ["resume", "--value", '{"approved": false, "comment": "no proof of purchase"}'],
    ],
    "refund-small": [
        ["run", "examples/refund.flow", "--input", '{"amount": 20, "reason": "wrong size"}'],
        ["resume"],
    ],
    "refund-waiting": [
        ["run", "examples/refund.flow", "--input", '{"amount": 400, "reason": "damaged"}'],
    ],
    "document-review-legal": [
        ["run", "examples/document_review.flow", "--input",
         '{"title": "Q3 report", "body": "Revenue grew in every region this quarter."}'],
        ["resume", "--value", '{"approved": true, "notes": "tighten the intro"}'],
        ["resume", "--value", '{"verdict": "approve"}'],
    ],
    "research-practical": [
        ["run", "examples/research.flow", "--input", '{"question": "how do joins work?"}'],
        ["resume", "--value", '"practical"'],
    ],
}


def fermata(*argv: str) -> tuple[int, str]:
    """One `fermata` command, in this process, with its stdout."""
    from fermata.compiler.cli.main import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(argv))
    return code, out.getvalue()


def record(store: str, thread: str, commands: list[list[str]]) -> str:
    for command in commands:
        code, _ = fermata(*command, "--thread", thread, "--store", store)
        if code != 0:
            raise SystemExit(f"`fermata {' '.join(command)}` exited {code}")
    code, history = fermata("history", "--thread", thread, "--store", store, "--json")
    if code != 0:
        raise SystemExit(f"`fermata history --thread {thread}` exited {code}")
    return history


def main() -> int:
    os.chdir(ROOT)  # sources are recorded relative to the repository root, as a user runs them
    sys.path.insert(0, str(ROOT))
    RUNS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = f"sqlite:///{Path(tmp) / 'runs.db'}"
        for name, commands in STORIES.items():
            history = record(store, name, commands)
            json.loads(history)  # it is the JSON `history --json` prints
            (RUNS / f"{name}.json").write_text(history, encoding="utf-8")
            print(f"wrote {(RUNS / f'{name}.json').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
