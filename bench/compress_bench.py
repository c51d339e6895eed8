"""What compressing row bodies costs and saves, before and after "only when it pays".

    python bench/compress_bench.py [--steps 200]

One thread per case in a fresh SQLite file (WAL, NORMAL): its first
checkpoint holds the field, every later one changes it (a delta carrying the
new value). Per case: the median time of one append, and the file's size
after folding the WAL in, divided by the bytes of field written. "before"
is the old rule (every body of 96 characters or more deflated when that is
any smaller), run in the same process by turning sampling off
(``rows.SAMPLE_FROM``); "after" is the current rule.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fermata.runtime.checkpoint import Checkpoint, ThreadInfo
from fermata.runtime.store import rows
from fermata.runtime.store.sqlite import SqliteStore


def noise(size: int, rnd: random.Random) -> str:
    """Text that barely deflates (base64 of random bytes: ~0.77)."""
    return base64.b64encode(rnd.randbytes(size * 3 // 4)).decode()


def records(size: int, rnd: random.Random) -> str:
    """JSON-like text that deflates well (~0.1-0.2)."""
    items = [{"id": rnd.randrange(10**6), "name": f"item-{i}", "ok": rnd.random() < 0.5}
             for i in range(size // 30 + 1)]          # ~45 characters each
    return json.dumps(items)[:size]


CASES: dict[str, tuple[Callable[[int, random.Random], str], list[int]]] = {
    "1 MB noise field": (noise, [1_000_000]),
    "1 MB JSON-like field": (records, [1_000_000]),
    "1-4 KB noise field": (noise, [1000, 2000, 3000, 4000]),
    "1-4 KB JSON-like field": (records, [1000, 2000, 3000, 4000]),
}


def measure(path: Path, make: Callable[[int, random.Random], str], sizes: list[int],
            steps: int) -> tuple[float, float]:
    """(median append in us, file bytes / field bytes written)."""
    rnd = random.Random(11)
    values = [make(rnd.choice(sizes), rnd) for _ in range(steps)]
    info = ThreadInfo("t", "f", "h", None, "2026-01-01T00:00:00Z")
    times = []
    with SqliteStore(path) as store:
        for seq, blob in enumerate(values):
            checkpoint = Checkpoint(seq=seq, step=seq, status="running", values={"x": seq, "blob": blob},
                                    frontier=["spin"])
            start = time.perf_counter()
            store.append(info, checkpoint, None if seq == 0 else ["x", "blob"])
            times.append(time.perf_counter() - start)
    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return statistics.median(times) * 1e6, os.path.getsize(path) / sum(len(v) for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {args.steps} appends per case")
    header = ("case", "rule", "append median", "file / bytes written")
    lines: list[tuple[str, str, str, str]] = []
    sampling = rows.SAMPLE_FROM
    with tempfile.TemporaryDirectory() as directory:
        for name, (make, sizes) in CASES.items():
            steps = args.steps if max(sizes) < 100_000 else max(20, args.steps // 10)
            for rule, sample_from in (("before", 10**12), ("after", sampling)):
                rows.SAMPLE_FROM = sample_from
                path = Path(directory) / f"{len(lines)}.db"
                append_us, ratio = measure(path, make, sizes, steps)
                lines.append((name, rule, f"{append_us:,.0f} us", f"{ratio:.2f}x"))
    rows.SAMPLE_FROM = sampling
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *lines]:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
