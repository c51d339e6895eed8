"""Callables with real side effects, for the race and crash tests of ``call once``.

They are run by separate processes, so every effect goes to a file (a
*ledger*) that the test reads afterwards: one line per call that happened.
The environment steers them, since a test cannot reach into a child process:

* ``FERMATA_TEST_PAY_SLEEP``: seconds ``pay`` takes (a slow payment widens a race);
* ``FERMATA_TEST_DIE_IN_PAY``: ``pay`` kills its process after the payment,
  before returning (a crash *during* the call);
* ``FERMATA_TEST_DIE``: ``die`` kills its own process with SIGKILL, as a
  crash or an OOM kill would (nothing runs after it: no ``finally``, no flush).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any


def _key() -> str:
    from fermata.runtime import idempotency_key

    return idempotency_key() or "-"


def pay(ledger: str, amount: float) -> dict[str, Any]:
    """Appends ``pid key amount`` to ``ledger``: the payment happened."""
    delay = float(os.environ.get("FERMATA_TEST_PAY_SLEEP", "0"))
    if delay:
        time.sleep(delay)
    with open(ledger, "a", encoding="utf-8") as out:
        out.write(f"{os.getpid()} {_key()} {amount}\n")
    if os.environ.get("FERMATA_TEST_DIE_IN_PAY"):
        os.kill(os.getpid(), signal.SIGKILL)   # the payment went out; the call never returned
    return {"receipt": f"R-{os.getpid()}", "amount": amount}


def die(tag: str) -> str:
    """Kills this process when ``FERMATA_TEST_DIE`` is set; returns ``tag`` otherwise."""
    if os.environ.get("FERMATA_TEST_DIE"):
        os.kill(os.getpid(), signal.SIGKILL)
    return tag


def ledger_lines(ledger: str) -> list[str]:
    try:
        with open(ledger, encoding="utf-8") as text:
            return text.read().splitlines()
    except FileNotFoundError:
        return []
