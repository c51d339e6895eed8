"""Facts about the IR that both the compiler and the runtime state.

A leaf module (it imports nothing of Fermata) so that the compiler can use it
without loading the runtime (``fermata check`` stays light) and the runtime
without depending on the compiler. ``spec/ir.schema.json`` states the same
version; a test ties the two together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The value of the ``fermata_ir`` key of every IR document this code writes
# and reads (spec/IR.md).
#
# Still 1 with the human-task clauses (`where`, `to`, `within`,
# `remind_every_ms` on an interrupt step) and the `wait` step: they are
# optional additions, so every version-1 document stays valid and a spec
# that does not use them lowers to the same bytes (the IR hash a run is
# pinned to does not change on upgrade). An older runtime that validates
# against its schema refuses them rather than ignore them: the schema's
# step objects are closed (`additionalProperties: false`, one `oneOf` entry
# per step kind).
# The exit: a route's or a deadline's target that is no node.
END = "end"

IR_VERSION = 1

# The labels of the pauses `interrupt before N` / `interrupt after N` create;
# both are keywords, so no `interrupt LABEL` step can carry them.
STATIC_LABELS = ("before", "after")


def is_static_interrupt(entry: Mapping[str, Any]) -> bool:
    """Whether a pending interrupt (a checkpoint's ``pending`` entry, or any
    mapping with its ``label`` and ``id``) is a static gate, passed rather
    than answered: its id is ``NODE:before`` or ``NODE:after``."""
    label = entry["label"]
    return label in STATIC_LABELS and str(entry["id"]).endswith(":" + label)
