"""Flows and helpers several runtime test modules share (never import one
test module from another: pytest may collect it twice)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.runtime.irbuild import (
    BOOL,
    FLOAT,
    INT,
    LIST,
    OPT,
    STR,
    F,
    L,
    append,
    bin_,
    call,
    fld,
    flow,
    interrupt,
    lit,
    lst,
    node,
    set_,
    tmpl,
)

# The repository's examples/: the .flow files and the Python packages they call.
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example_ir(name: str) -> dict[str, Any]:
    """The IR of ``examples/<name>.flow``."""
    from fermata.compiler import compile_file  # an import regression must fail, not skip

    return compile_file(EXAMPLES / f"{name}.flow")


def refundish():
    return flow("refund",
                fields=[fld("amount", FLOAT), fld("reason", STR, ""), fld("risk", FLOAT, 0.0),
                        fld("approved", BOOL, False), fld("log", LIST(STR), []), fld("note", OPT(STR), optional=True)],
                nodes=[node("assess", set_("risk", bin_("/", F("amount"), lit(1000)))),
                       node("review", interrupt("approval", None, BOOL, bind="ok"), set_("approved", L("ok")),
                            append("log", lst(lit("reviewed")))),
                       node("pay", append("log", lst(lit("paid"))))],
                edges={"start": ["assess"], "assess": ["review"],
                       "review": [(["pay"], F("approved")), (["end"], None)]},
                input=["amount", "reason"], output=["approved", "log"])


def parallel_flow():
    """`a` and `b` both ask in one step; `c` finishes in it; `join` needs all three."""
    return flow(fields=[fld("log", LIST(STR), []), fld("x", INT, 0)],
                nodes=[node("split"),
                       node("a", call(f"{FX}:tick", lit("a")), interrupt("qa", None, INT, bind="v"),
                            append("log", lst(tmpl("a={{ v }}")))),
                       node("b", call(f"{FX}:tick", lit("b")), interrupt("qb", None, INT, bind="v"),
                            append("log", lst(tmpl("b={{ v }}")))),
                       node("c", call(f"{FX}:tick", lit("c")), append("log", lst(lit("c"))), set_("x", lit(1))),
                       node("done", append("log", lst(lit("done"))))],
                edges={"start": ["split"], "split": ["a", "b", "c"]}, joins=[(["a", "b", "c"], "done")])


def once_flow():
    return flow(fields=[fld("amount", INT), fld("receipt", {}, None, optional=True), fld("ok", BOOL, False)],
                nodes=[node("pay", call(f"{FX}:pay", F("amount"), once=True, bind="r"),
                            call(f"{FX}:tick", lit("plain")),
                            interrupt("confirm", L("r"), BOOL, bind="c"),
                            set_("receipt", L("r")), set_("ok", L("c")))],
                edges={"start": ["pay"]}, input=["amount"])


class View:
    def __init__(self, state: dict[str, Any] | None = None, overlay: dict[str, Any] | None = None,
                 local: dict[str, Any] | None = None):
        self.state = state or {}
        self.overlay = overlay or {}
        self.locals = local or {}


FX = "tests.runtime.calls_fixture"
