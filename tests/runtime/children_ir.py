"""IR with child runs (`run FLOW {...}`), built by hand to the IR contract
shared with the compiler (a `run` step; the flow object's `children`).

Until the compiler lowers `run`, tests build the IR here. Once it does
(after merging the compiler side of issue #14): rename
``examples/newsletter.flow.after-c1`` to ``examples/newsletter.flow`` (the
name keeps the syntax tests, which parse every example, green until then)
and set ``FROM_SOURCE = True``: :func:`newsletter_doc` then compiles it (it
`use`s ``examples/drafting.flow``), every test built on it runs from
source, unchanged, and ``tests/examples/test_newsletter.py`` runs the
README's commands.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.runtime.irbuild import (
    BOOL,
    INT,
    RECORD,
    STR,
    F,
    L,
    add,
    fld,
    flow,
    get,
    interrupt,
    lit,
    node,
    rec,
    set_,
    tmpl,
)
from tests.runtime.support import example_ir

FROM_SOURCE = True

DECISION = RECORD({"approve": BOOL})


def run_(flow_name: str, input: dict[str, Any], bind: str | None = None, line: int = 1) -> dict[str, Any]:
    return {"k": "run", "flow": flow_name, "input": input, "bind": bind, "line": line, "column": 5}


def with_children(doc: dict[str, Any], **children: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (one flow) whose flow object carries ``children`` (each an IR
    document of one flow, or a flow object)."""
    doc = copy.deepcopy(doc)
    flow_ir = next(iter(doc["flows"].values()))
    flow_ir["children"] = {name: _flow_object(child) for name, child in children.items()}
    return doc


def _flow_object(child: dict[str, Any]) -> dict[str, Any]:
    if "flows" in child:
        return copy.deepcopy(next(iter(child["flows"].values())))
    return copy.deepcopy(child)


def drafting_doc() -> dict[str, Any]:
    """The drafting loop: write a draft, ask for review, revise until approved."""
    return flow(
        "drafting",
        fields=[fld("topic", STR), fld("draft", STR, ""), fld("rounds", INT, 0), fld("approved", BOOL, False)],
        nodes=[node("write", set_("rounds", add(F("rounds"), lit(1))),
                    set_("draft", tmpl("{{ topic }} draft {{ rounds }}"))),
               node("review", interrupt("decision", tmpl("Approve {{ draft }}?"), DECISION, bind="d"),
                    set_("approved", get(L("d"), "approve")))],
        edges={"start": ["write"], "write": ["review"],
               "review": [(["end"], F("approved")), (["write"], None)]},
        input=["topic"], output=["draft", "rounds"])


def newsletter_doc() -> dict[str, Any]:
    """A parent that runs the drafting loop, then publishes the draft."""
    if FROM_SOURCE:
        return example_ir("newsletter")
    parent = flow(
        "newsletter",
        fields=[fld("topic", STR), fld("article", STR, ""), fld("rounds", INT, 0), fld("published", BOOL, False)],
        nodes=[node("compose", run_("drafting", rec(topic=F("topic")), bind="r"),
                    set_("article", get(L("r"), "draft")), set_("rounds", get(L("r"), "rounds"))),
               node("publish", set_("published", lit(True)))],
        edges={"start": ["compose"], "compose": ["publish"], "publish": ["end"]},
        input=["topic"])
    return with_children(parent, drafting=drafting_doc())
