"""The types of the built-in functions (spec/builtins.json, the table the
runtime reads too): what each argument kind accepts and what a call returns.
Read by ``inference.py``, which checks the calls.
"""

from __future__ import annotations

from collections.abc import Sequence

from fermata.spec.builtins import builtins

from .types import (
    ANY,
    BOOL,
    FLOAT,
    INT,
    NEVER,
    STR,
    FType,
    ListT,
    MapT,
    RecordT,
    is_number,
    is_text,
    join,
)

# The fixed result types of the table's "result" column.
_FIXED_RESULTS: dict[str, FType] = {"int": INT, "str": STR, "bool": BOOL, "float": FLOAT, "list[str]": ListT(STR)}


def argument_fits(kind: str, t: FType) -> bool:
    """Whether a `t` may be passed where the table says ``kind``."""
    if t == ANY or t == NEVER:
        return True
    if kind == "any":
        return True
    if kind == "str":
        return is_text(t)
    if kind == "number":
        return is_number(t)
    if kind == "int":
        return t == INT
    if kind == "sized":
        return is_text(t) or isinstance(t, (ListT, MapT, RecordT))
    if kind == "map":
        return isinstance(t, (MapT, RecordT))
    return False


def result_type(name: str, args: Sequence[FType]) -> FType:
    """The type a call of built-in ``name`` returns, given its arguments' types."""
    result = builtins()[name].result
    if result in _FIXED_RESULTS:
        return _FIXED_RESULTS[result]
    if result == "values":
        t = args[0] if args else ANY
        if isinstance(t, MapT):
            return ListT(t.value)
        if isinstance(t, RecordT):
            item: FType | None = NEVER
            for _, ft in t.fields:
                item = None if item is None else join(item, ft)
            return ListT(ANY if item is None else item)
        return ListT(ANY)
    if result == "number":
        if len(args) == 2 and all(a == INT for a in args):
            return INT
        return FLOAT if all(is_number(a) for a in args) else ANY
    if result == "argument":
        return args[0] if args and is_number(args[0]) else ANY
    return ANY
