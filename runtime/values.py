"""JSON values: the only data a run holds, stores and passes to user code.

The runtime never mutates a value in place once it is in the state, a write,
a journal or a checkpoint: a change always builds a new list or dict. That is
what lets a checkpoint be a shallow copy of the state and lets finished
nodes' writes be shared with events without deep copies.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import EvalError


def type_name(value: Any) -> str:
    """The language's name for a runtime value's type, for messages."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is bool:
        return "bool"
    if kind is int:
        return "int"
    if kind is float:
        return "float"
    if kind is str:
        return "str"
    if kind is list:
        return "list"
    if kind is dict:
        return "map"
    return f"Python {kind.__name__}"


def is_number(value: Any) -> bool:
    kind = type(value)
    return kind is int or kind is float


def json_equal(a: Any, b: Any) -> bool:
    """Equality with JSON semantics: ``1 == 1.0`` but ``true != 1``."""
    ta, tb = type(a), type(b)
    if ta is tb:
        if ta is list:
            return len(a) == len(b) and all(json_equal(x, y)
                                           for x, y in zip(a, b, strict=False))  # lengths compared first
        if ta is dict:
            return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
        same: bool = a == b   # typed so mypy knows; no bool() call on this hot path
        return same
    if (ta is int or ta is float) and (tb is int or tb is float):
        close: bool = a == b
        return close
    return False


def format_value(value: Any) -> str:
    """How ``str()`` and templates show a value: strings as themselves,
    everything else as JSON (``true``, ``null``, ``0.5``, ``["a", "b"]``)."""
    if type(value) is str:
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if type(value) is int or type(value) is float:
        return repr(value) if type(value) is float else str(value)
    return json.dumps(value, ensure_ascii=False)


def combine(current: Any, delta: Any) -> Any:
    """``current += delta``: lists extend, numbers add, strings concatenate,
    maps merge shallowly (right wins). Always a new value."""
    tc, td = type(current), type(delta)
    if tc is list and td is list:
        return current + delta
    if (tc is int or tc is float) and (td is int or td is float):
        return current + delta
    if tc is str and td is str:
        return current + delta
    if tc is dict and td is dict:
        merged = dict(current)
        merged.update(delta)
        return merged
    raise EvalError(f"cannot `+=` a {type_name(delta)} to a {type_name(current)}")


# Deeper values are refused as they enter a run (answers, input, updates,
# call results: ``json_copy(..., max_depth=MAX_VALUE_DEPTH)``): every copy,
# check and store of a value recurses along it, and Python's stack holds
# about 1,000 frames. Values a flow builds itself are not cut short.
MAX_VALUE_DEPTH = 200


class NotJSON(Exception):
    """A value is not a JSON value (or is nested too deeply); ``where`` says
    which part."""

    def __init__(self, where: str, value: Any, reason: str | None = None):
        super().__init__(reason or f"{where} is a {type_name(value)}, not a JSON value")
        self.where = where


class _Fault(Exception):
    """Raised inside :func:`_copy`; each level adds its key on the way out."""

    def __init__(self, value: Any, too_deep: bool = False, reason: str | None = None):
        self.value = value
        self.too_deep = too_deep
        self.reason = reason
        self.path: list[str] = []  # innermost first
        self.key_of: str | None = None  # set when a dict key itself is at fault


def json_copy(value: Any, where: str = "the value", max_depth: int | None = None) -> Any:
    """A deep copy of a JSON value, checking it is one (and, given
    ``max_depth``, no deeper) on the way: one pass does both. Raises
    :class:`NotJSON` naming the offending part."""
    try:
        return _copy(value, -1 if max_depth is None else max_depth)
    except _Fault as fault:
        path = where + "".join(reversed(fault.path))
        if fault.key_of is not None:
            raise NotJSON(f"a key of {path} ({fault.key_of})", fault.value) from None
        if fault.too_deep:
            raise NotJSON(path, fault.value,
                          f"{where} is nested more than {max_depth} levels deep") from None
        if fault.reason is not None:
            raise NotJSON(path, fault.value, f"{path} {fault.reason}") from None
        raise NotJSON(path, fault.value) from None


def _copy(value: Any, room: int) -> Any:
    # Where a fault lies is worked out only when there is one: naming every
    # item's path on the way would cost more than the copy. ``room``: levels
    # left (negative: no limit).
    kind = type(value)
    if kind is str:
        # A lone surrogate is a Python str but no UTF-8 text: no store, JSON
        # file or terminal could hold it (ASCII, the common case, is cheap to see).
        if value.isascii() or not has_lone_surrogate(value):
            return value
        raise _Fault(value, reason="holds a lone surrogate (half of a UTF-16 pair), not text")
    if kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        raise _Fault(value)
    if kind is not list and kind is not dict:
        raise _Fault(value)
    if room == 0:
        raise _Fault(value, too_deep=True)
    if kind is list:
        items: list[Any] = []
        try:
            for item in value:
                items.append(_copy(item, room - 1))
        except _Fault as fault:
            fault.path.append(f"[{len(items)}]")
            raise
        return items
    copied = {}
    for key, item in value.items():
        if type(key) is not str:
            bad_key = _Fault(key)
            bad_key.key_of = repr(key)
            raise bad_key
        try:
            copied[key] = _copy(item, room - 1)
        except _Fault as fault:
            fault.path.append(f"[{key!r}]")
            raise
    return copied


def has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def storable_text(text: str) -> str:
    """``text`` with any lone surrogate written as its escape (``\\ud800``):
    messages and tracebacks from user code are stored and printed, never
    refused."""
    if text.isascii() or not has_lone_surrogate(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def canonical_json(value: Any) -> str:
    """The one text of a JSON value used for hashing (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
