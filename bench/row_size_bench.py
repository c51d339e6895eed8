"""Bytes on disk per stored byte, for checkpoint rows of 1-4 KB in SQLite.

    python bench/row_size_bench.py [--steps 1000] [--sizes 1024,2048,4096] [--before-path DIR]

One thread of ``--steps`` checkpoints whose one field changes at every step
to a new random string of each size (base64 of random bytes: deflate
shrinks it to ~3/4, no further), appended through the store's own API.
Printed per size: the file's size (WAL folded in), the bytes of row bodies
as stored (after compression), and file / stored. ``--before-path DIR``
(prepended to PYTHONPATH: a folder holding a ``fermata`` package of other
code) measures that code too, in the same run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path


def measure(size: int, steps: int) -> dict[str, float]:
    from fermata.runtime.checkpoint import Checkpoint, ThreadInfo
    from fermata.runtime.store.sqlite import SqliteStore

    rng = random.Random(size)        # the same bytes for every code measured
    info = ThreadInfo(thread="t", flow="f", ir_hash="a" * 64, source="f.flow", created="2025-01-01T00:00:00+00:00")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "runs.db"
        store = SqliteStore(path)
        empty = path.stat().st_size
        for seq in range(steps):
            blob = base64.b64encode(rng.randbytes(size * 3 // 4)).decode()
            checkpoint = Checkpoint(seq=seq, step=seq, status="running", values={"blob": blob}, frontier=["loop"])
            store.append(info, checkpoint, None if seq == 0 else ["blob"])
        stored = store.stored_bytes()
        store.close()
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.close()
        size_on_disk = path.stat().st_size
    return {"file": size_on_disk - empty, "stored": stored, "page_size": page_size}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--sizes", default="1024,2048,4096")
    parser.add_argument("--before-path", help="a folder prepended to PYTHONPATH for 'before'")
    parser.add_argument("--one", nargs=2, metavar=("SIZE", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(int(args.one[0]), int(args.one[1]))))
        return 0
    sides = [("after", None)] if not args.before_path else [("before", args.before_path), ("after", None)]
    print(f"{args.steps:,} checkpoints, one field changed at each step to a new random string; "
          "file = growth of the file, WAL folded in")
    print(f"{'code':7} {'field':>6} {'page':>5} {'file KB':>9} {'stored KB':>10} {'file/stored':>12}")
    for size in (int(s) for s in args.sizes.split(",")):
        for name, path in sides:
            env = dict(os.environ)
            if path:
                env["PYTHONPATH"] = path + os.pathsep + env.get("PYTHONPATH", "")
            out = subprocess.run([sys.executable, __file__, "--one", str(size), str(args.steps)], env=env,
                                 capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise SystemExit(f"measurement failed:\n{out.stderr}")
            got = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{name:7} {size:6} {got['page_size']:5} {got['file'] / 1024:9,.0f} {got['stored'] / 1024:10,.0f} "
                  f"{got['file'] / got['stored']:12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
