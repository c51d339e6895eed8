"""Checkpoints, thread infos and row checks the store contract suite and
the store tests share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from fermata.runtime.checkpoint import Checkpoint, Store, ThreadInfo


def info(thread: str = "t", ir_hash: str = "a" * 64) -> ThreadInfo:
    return ThreadInfo(thread=thread, flow="f", ir_hash=ir_hash, source="f.flow", created="2025-01-01T00:00:00+00:00")


def cp(seq: int, values: dict[str, Any], **parts: Any) -> Checkpoint:
    return Checkpoint(seq=seq, step=parts.pop("step", seq), status=parts.pop("status", "running"),
                      values=values, frontier=parts.pop("frontier", []), **parts)


def canonical(checkpoint: Checkpoint) -> str:
    """Exact comparison: 1, 1.0 and true differ, key order does not."""
    return json.dumps(checkpoint.to_json(), sort_keys=True)


def check_rows(store: Store, thread: str) -> list[tuple[str, dict[str, Any]]]:
    """The thread's rows, each validated against spec/checkpoint.schema.json."""
    rows = []
    for seq, (kind, body) in enumerate(store.rows(thread)):  # type: ignore[attr-defined]
        parsed = json.loads(body)
        ROW_VALIDATOR.validate({"thread": thread, "seq": seq, "kind": kind, "body": parsed})
        rows.append((kind, parsed))
    return rows


SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "spec" / "checkpoint.schema.json").read_text())


ROW_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


