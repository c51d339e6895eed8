"""A flow and callables for the worker tests (in this process and in real ones).

``approval()``: ``prepare`` makes a ``call once`` effect, ``review`` asks
(``review:approval``, a bool), ``pay`` makes another ``call once`` effect and
then calls ``hook`` (as ``review`` does after its answer), where a test steers what happens next:

* in this process, ``HOOKS[tag]`` (a callable) runs;
* in a child process, ``$FERMATA_TEST_HOOK_FIFO`` names a FIFO: ``hook``
  (with the tag ``$FERMATA_TEST_HOOK_AT``) writes its pid there and then blocks until it is killed or
  ``$FERMATA_TEST_HOOK_HOLD`` seconds pass (so the test knows, without
  sleeping, that the worker is inside the step).

Each effect is a line ``pid key tag start end`` appended to the ledger
file, so that effects are counted across processes and their times compared
(``$FERMATA_TEST_EFFECT_S``: how long an effect takes, to widen races).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from tests.runtime.irbuild import (
    BOOL,
    STR,
    F,
    L,
    call,
    fld,
    flow,
    interrupt,
    lit,
    node,
    set_,
)

EFFECT = "tests.runtime.worker_fixture:effect"
HOOK = "tests.runtime.worker_fixture:hook"
HOOKS: dict[str, Callable[[], None]] = {}


def approval(name: str = "approval") -> dict[str, Any]:
    return flow(name,
                fields=[fld("ledger", STR), fld("approved", BOOL, False), fld("paid", BOOL, False),
                        fld("prepared", STR, "")],
                nodes=[node("prepare", call(EFFECT, F("ledger"), lit("prepare"), once=True, bind="p"),
                            set_("prepared", L("p"))),
                       node("review", interrupt("approval", None, BOOL, bind="ok"), set_("approved", L("ok")),
                            call(HOOK, lit("after-review"), bind="h")),
                       node("pay", call(EFFECT, F("ledger"), lit("pay"), once=True, bind="r"),
                            call(HOOK, lit("after-pay"), bind="h"), set_("paid", lit(True)))],
                edges={"start": ["prepare"], "prepare": ["review"], "review": ["pay"], "pay": ["end"]},
                input=["ledger"])


def effect(ledger: str, tag: str) -> str:
    from fermata.runtime import idempotency_key

    start = time.time()
    pause = float(os.environ.get("FERMATA_TEST_EFFECT_S", "0"))
    if pause:
        time.sleep(pause)
    with open(ledger, "a", encoding="utf-8") as out:
        out.write(f"{os.getpid()} {idempotency_key()} {tag} {start} {time.time()}\n")
    return tag


def hook(tag: str) -> str:
    action = HOOKS.get(tag)
    if action is not None:
        action()
    fifo = os.environ.get("FERMATA_TEST_HOOK_FIFO")
    if fifo and os.environ.get("FERMATA_TEST_HOOK_AT") == tag:
        with open(fifo, "w", encoding="utf-8") as out:
            out.write(f"{os.getpid()}\n")
        time.sleep(float(os.environ.get("FERMATA_TEST_HOOK_HOLD", "3600")))
    return tag


def effects(ledger: str) -> list[tuple[int, str, str]]:
    """``(pid, key, tag)`` of each effect that happened."""
    return [(pid, key, tag) for pid, key, tag, _, _ in timed_effects(ledger)]


def timed_effects(ledger: str) -> list[tuple[int, str, str, float, float]]:
    """``(pid, key, tag, start, end)`` of each effect that happened."""
    try:
        with open(ledger, encoding="utf-8") as text:
            lines = text.read().splitlines()
    except FileNotFoundError:
        return []
    return [(int(pid), key, tag, float(start), float(end))
            for pid, key, tag, start, end in (line.split(" ") for line in lines)]
