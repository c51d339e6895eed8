"""Human-task clauses injected into IR, until the compiler emits them.

The runtime reads the IR of /work/wt/IR_V2.md (``where``, ``to``,
``within``, ``remind_every_ms`` on an interrupt; the ``wait`` step). Tests
build flows with ``irbuild`` (or compile a version-1 flow) and add the
clauses to one interrupt with :func:`with_clauses`::

    doc = with_clauses(approval_flow(), "review", "approval",
                       within={"ms": HOUR, "goto": "escalate"}, to=[lit("finance")])
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from tests.runtime.irbuild import (
    BOOL,
    FLOAT,
    LIST,
    OPT,
    RECORD,
    STR,
    F,
    L,
    _at,
    append,
    fld,
    flow,
    get,
    interrupt,
    lit,
    lst,
    node,
    set_,
    tmpl,
)

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

DECISION = RECORD({"approved": BOOL}, {"comment": STR})


def _steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step["k"] == "if":
            yield from _steps(step["then"])
            yield from _steps(step["else"])


def with_clauses(doc: dict[str, Any], node_name: str, label: str, **clauses: Any) -> dict[str, Any]:
    """A copy of IR document ``doc`` whose interrupt ``label`` in node
    ``node_name`` carries ``clauses`` (IR keys: ``where``, ``to``,
    ``within``, ``remind_every_ms``), exactly as the compiler will emit them."""
    doc = copy.deepcopy(doc)
    for flow_ir in doc["flows"].values():
        for step in _steps(flow_ir["nodes"][node_name]["steps"]):
            if step["k"] == "interrupt" and step["label"] == label:
                step.update(clauses)
                return doc
    raise KeyError(f"no interrupt `{label}` in node `{node_name}`")


def wait(label: str, *, for_ms: int | None = None, until: dict[str, Any] | None = None,
         line: int = 1) -> dict[str, Any]:
    step: dict[str, Any] = {"k": "wait", "label": label}
    if for_ms is not None:
        step["for_ms"] = for_ms
    if until is not None:
        step["until"] = until
    return _at(step, line)


def approval_flow(*, parallel: bool = False) -> dict[str, Any]:
    """``review`` asks ``approval`` (a Decision) and records it; a deadline
    may send the run to ``escalate``. With ``parallel``, ``second`` asks
    ``check`` in the same step."""
    review = node("review",
                  interrupt("approval", tmpl("Approve {{ amount }}?"), DECISION, bind="d"),
                  set_("approved", get(L("d"), "approved")),
                  append("log", lst(lit("reviewed"))))
    nodes = [review,
             node("escalate", append("log", lst(lit("escalated")))),
             node("second", interrupt("check", None, BOOL, bind="c"), append("log", lst(lit("checked"))))]
    starts = ["review", "second"] if parallel else ["review"]
    return flow("approval",
                fields=[fld("amount", FLOAT), fld("approved", OPT(BOOL), None),
                        fld("requester", STR, "bob"), fld("log", LIST(STR), [])],
                nodes=nodes,
                edges={"start": starts, "review": ["end"], "escalate": ["end"], "second": ["end"]},
                input=["amount", "requester"])


def timer_flow(**wait_clause: Any) -> dict[str, Any]:
    """``cool`` waits (``wait_clause``: ``for_ms=`` or ``until=``), then logs."""
    return flow("timer",
                fields=[fld("log", LIST(STR), []), fld("when", STR, "2026-01-02T00:00:00Z")],
                nodes=[node("cool", append("log", lst(lit("before"))), wait("cooling_off", **wait_clause),
                            append("log", lst(lit("after"))))],
                edges={"start": ["cool"], "cool": ["end"]})


__all__ = ["DECISION", "HOUR", "MINUTE", "SECOND", "F", "approval_flow", "timer_flow", "wait", "with_clauses"]
