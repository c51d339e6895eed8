"""The calls of test_power_loss.py's flow: an effect on the outside world
(``charge``) and the test's record of what the outside world has seen
(``observe``), both in files named by environment variables."""

from __future__ import annotations

import os


def charge(n: int) -> str:
    """Charges once per call: one line per charge in $POWER_LOSS_EFFECTS."""
    with open(os.environ["POWER_LOSS_EFFECTS"], "a") as effects:
        effects.write(f"charge {n}\n")
    return f"receipt-{n}"


def observe(what: str) -> None:
    """Notes that ``what`` was observed, with how many fsync snapshots had been
    taken by then ($FSYNC_SNAP_DIR; nothing when it is unset: a continuation)."""
    snaps = os.environ.get("FSYNC_SNAP_DIR")
    if snaps:
        with open(os.environ["POWER_LOSS_OBSERVED"], "a") as seen:
            seen.write(f"{what} {len(os.listdir(snaps))}\n")
