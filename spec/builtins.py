"""The built-in functions of Fermata expressions, as ``spec/builtins.json``
states them: the one table the compiler's inference and the runtime's
evaluator both read (and ``spec/ir.schema.json``'s list of names must match).

A leaf module: it imports nothing of Fermata, so the runtime can read it
without the compiler and ``fermata check`` without the runtime.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_TABLE = Path(__file__).resolve().parent / "builtins.json"

# What an argument may be; what a call gives (see the table's "about").
PARAM_KINDS = frozenset({"str", "number", "int", "sized", "map", "any"})
RESULTS = frozenset({"int", "str", "bool", "float", "list[str]", "values", "number", "argument"})


@dataclass(frozen=True)
class Builtin:
    name: str
    params: tuple[str, ...]  # the kind of each argument, PARAM_KINDS
    required: int            # how many of ``params`` a call must give
    result: str              # RESULTS

    @property
    def most(self) -> int:
        return len(self.params)


@lru_cache(maxsize=1)
def builtins() -> dict[str, Builtin]:
    """Name -> function, in the table's order."""
    table = json.loads(_TABLE.read_text(encoding="utf-8"))
    found: dict[str, Builtin] = {}
    for entry in table["functions"]:
        builtin = Builtin(entry["name"], tuple(entry["params"]), entry["required"], entry["result"])
        # The table is ours: a mistake in it is a bug to stop at once, not input to tolerate.
        if (builtin.name in found or not set(builtin.params) <= PARAM_KINDS or builtin.result not in RESULTS
                or not 0 <= builtin.required <= builtin.most):
            raise ValueError(f"spec/builtins.json: bad entry {entry!r}")
        found[builtin.name] = builtin
    return found
