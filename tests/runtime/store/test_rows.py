"""How a row's body is stored: deflated only when that pays (runtime/store/rows.py)."""

from __future__ import annotations

import base64
import json
import random
import zlib
from pathlib import Path

from fermata.runtime.checkpoint import Checkpoint, ThreadInfo
from fermata.runtime.store import rows
from fermata.runtime.store.rows import compression_pays, pack_body, unpack_body
from fermata.runtime.store.sqlite import SqliteStore


def noise(size: int, seed: int = 7) -> str:
    """Text that barely compresses (base64 of random bytes: ~0.77 deflated)."""
    return base64.b64encode(random.Random(seed).randbytes(size * 3 // 4)).decode()


def test_a_big_body_that_compresses_is_deflated() -> None:
    body = json.dumps({"v": 1, "values": {"items": [{"name": f"item{i}", "n": i} for i in range(5000)]}})
    stored = pack_body(body)
    assert isinstance(stored, bytes) and len(stored) < len(body) / 4
    assert unpack_body(stored) == body


def test_a_big_body_that_barely_compresses_stays_plain_text() -> None:
    body = json.dumps({"v": 1, "values": {"blob": noise(200_000)}})
    assert not compression_pays(body.encode())
    assert pack_body(body) is body


def test_the_sample_looks_at_the_middle_and_the_end_too() -> None:
    # Compressible at the start only: most of the body is noise.
    body = "a" * 2000 + noise(50_000)
    assert not compression_pays(body.encode())
    # Noise at the start only, the rest compresses: worth deflating.
    assert compression_pays((noise(1500) + "b" * 50_000).encode())


def test_small_bodies_are_deflated_when_smaller_as_before() -> None:
    body = '{"v":1,"step":3,"status":"interrupted","values":{"x":1},"pending":[{"id":"review:approval"}]}' * 2
    assert len(body) < rows.SAMPLE_FROM       # not sampled
    stored = pack_body(body)
    assert isinstance(stored, bytes) and unpack_body(stored) == body
    short = '{"v":1,"step":2}'
    assert pack_body(short) is short


def test_rows_deflated_by_the_old_rule_still_load() -> None:
    """Before, every body of 96 characters or more was deflated when that
    was smaller at all, noise included: such rows must still read back."""
    body = json.dumps({"v": 1, "values": {"blob": noise(20_000)}})
    packer = zlib.compressobj(1, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, rows._ZDICT_V1)
    old = bytes((1,)) + packer.compress(body.encode()) + packer.flush()
    assert len(old) < len(body)
    assert unpack_body(old) == body


def test_the_sqlite_store_keeps_a_changed_noisy_field_as_text(tmp_path: Path) -> None:
    info = ThreadInfo("t", "f", "h", None, "2026-01-01T00:00:00Z")

    def checkpoint(seq: int, blob: str) -> Checkpoint:
        return Checkpoint(seq=seq, step=seq, status="running", values={"x": seq, "blob": blob}, frontier=["a"])

    with SqliteStore(tmp_path / "runs.db") as store:
        store.append(info, checkpoint(0, noise(100_000, 1)), None)
        store.append(info, checkpoint(1, noise(100_000, 2)), ["x", "blob"])
        store.append(info, checkpoint(2, "compressible " * 10_000), ["x", "blob"])
        kinds = store._rows("SELECT typeof(body) FROM checkpoints ORDER BY seq", ())
        assert [kind for (kind,) in kinds] == ["text", "text", "blob"]
        assert store.latest("t").values["blob"] == "compressible " * 10_000
        assert [c.values["blob"][:5] for c in store.history("t")] == [noise(100_000, 1)[:5],
                                                                      noise(100_000, 2)[:5], "compr"]
