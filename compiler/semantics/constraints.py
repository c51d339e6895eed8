"""The vocabulary of constrained types (``str(min 1, max 500)``) and what
each constraint means, as JSON Schema keywords.

One table says which words a kind of type takes and the keyword each becomes
(``min`` is ``minLength`` on a string, ``minimum`` on a number, ``minItems``
on a list). Types (``types.py``) keep constraints as ``(keyword, value)``
pairs; the checker (``checks/constraints.py``), lowering and messages all
read this table. Also here: what a constant value breaks (for defaults
checked at compile time), and which regular expressions are portable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from fermata.spec.formats import FORMATS, matches_format
from fermata.spec.patterns import compile_pattern, matches

# The kinds of type a constraint can narrow, and their words -> keywords.
WORDS: dict[str, dict[str, str]] = {
    "str": {"min": "minLength", "max": "maxLength", "pattern": "pattern", "format": "format"},
    "number": {"min": "minimum", "max": "maximum"},
    "list": {"min": "minItems", "max": "maxItems"},
}
ALL_WORDS = ("min", "max", "pattern", "format")

# keyword -> the word it is written as (the same in every kind).
SURFACE: dict[str, str] = {keyword: word for words in WORDS.values() for word, keyword in words.items()}
# The order constraints are kept and printed in.
ORDER: dict[str, int] = {k: i for i, k in enumerate(
    ("minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems", "pattern", "format"))}
LOWER_BOUNDS = frozenset({"minLength", "minimum", "minItems"})
UPPER_BOUNDS = frozenset({"maxLength", "maximum", "maxItems"})
COUNTS = frozenset({"minLength", "maxLength", "minItems", "maxItems"})  # whole numbers >= 0
UPPER_OF = {"minLength": "maxLength", "minimum": "maximum", "minItems": "maxItems"}

# What a value is measured by, for messages: "at least 3 characters".
UNITS = {"minLength": "characters", "maxLength": "characters", "minItems": "items", "maxItems": "items"}

Pairs = tuple[tuple[str, Any], ...]


def normalized(pairs: Iterable[tuple[str, Any]]) -> Pairs:
    """``pairs`` with each bound kept once at its tightest, in :data:`ORDER`.
    Patterns and formats are all kept: a value must match every one."""
    bounds: dict[str, Any] = {}
    others: list[tuple[str, Any]] = []
    for keyword, value in pairs:
        if keyword in LOWER_BOUNDS:
            bounds[keyword] = max(bounds.get(keyword, value), value)
        elif keyword in UPPER_BOUNDS:
            bounds[keyword] = min(bounds.get(keyword, value), value)
        elif (keyword, value) not in others:
            others.append((keyword, value))
    return tuple(sorted([*bounds.items(), *others], key=lambda kv: ORDER[kv[0]]))


def usable(keyword: str, value: Any) -> bool:
    """Whether ``keyword value`` means something (what the checker refuses
    is left out of types, so nothing downstream compiles a bad pattern)."""
    if keyword in ("pattern", "format"):
        return isinstance(value, str) and (
            pattern_problem(value) is None if keyword == "pattern" else value in FORMATS)
    if isinstance(value, str):
        return False
    return keyword not in COUNTS or (value >= 0 and float(value).is_integer())


def spelled(pairs: Pairs) -> str:
    """``(min 1, max 500)``, as the language writes it."""
    from ..syntax.printer import string_literal  # the one spelling of a string literal

    def value(v: Any) -> str:
        return string_literal(v) if isinstance(v, str) else repr(v) if isinstance(v, float) else str(v)

    return "(" + ", ".join(f"{SURFACE[k]} {value(v)}" for k, v in pairs) + ")"


def implied_by(have: Pairs, keyword: str, wanted: Any) -> bool:
    """Whether constraints ``have`` guarantee ``keyword wanted``."""
    for k, v in have:
        if k != keyword:
            continue
        if (keyword in LOWER_BOUNDS and v >= wanted) or (keyword in UPPER_BOUNDS and v <= wanted):
            return True
        if keyword not in LOWER_BOUNDS | UPPER_BOUNDS and v == wanted:
            return True
    return False


def contradictory(pairs: Pairs) -> bool:
    """Whether a lower bound of ``pairs`` is above its upper bound (F341)."""
    found = dict(pairs)  # normalized pairs hold each bound once
    return any(low in found and UPPER_OF[low] in found and found[low] > found[UPPER_OF[low]]
               for low in LOWER_BOUNDS)


def broken(pairs: Pairs, value: Any) -> list[str]:
    """How the JSON ``value`` breaks ``pairs``, one phrase each ([] if it
    does not). Constraints not about ``value``'s kind are ignored, as JSON
    Schema ignores ``minLength`` on a number."""
    problems: list[str] = []
    for keyword, bound in pairs:
        problem = _broken_one(keyword, bound, value)
        if problem:
            problems.append(problem)
    return problems


def _broken_one(keyword: str, bound: Any, value: Any) -> str | None:
    if isinstance(value, str):
        if keyword == "minLength" and len(value) < bound:
            return f"needs at least {_count(bound, 'character')}"
        if keyword == "maxLength" and len(value) > bound:
            return f"allows at most {_count(bound, 'character')}"
        if keyword == "pattern" and not matches(bound, value):
            return f"does not match the pattern {json.dumps(bound, ensure_ascii=False)}"
        if keyword == "format" and not matches_format(bound, value):
            return f"is not a valid {bound}"
        return None
    if isinstance(value, list):
        if keyword == "minItems" and len(value) < bound:
            return f"needs at least {_count(bound, 'item')}"
        if keyword == "maxItems" and len(value) > bound:
            return f"allows at most {_count(bound, 'item')}"
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if keyword == "minimum" and value < bound:
            return f"needs at least {bound}"
        if keyword == "maximum" and value > bound:
            return f"allows at most {bound}"
    return None


def _count(n: Any, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


# --------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------

# Constructs Python's `re` accepts that ECMA-262 regular expressions (what
# JSON Schema's `pattern` is, and what other validators of the IR's schemas
# run) do not, found by a scan that skips escapes and character classes.
_PYTHON_ONLY = (
    (re.compile(r"\(\?P[<=>]"), ("named groups are Python-only (`(?P<name>...)`; JSON Schema writes "
                                  "`(?<name>...)`, which Python lacks): use a plain group `(...)`")),
    (re.compile(r"\(\?#"), "`(?#...)` comments are Python-only: remove the comment"),
    (re.compile(r"\(\?(?:[aiLmsux]+(?:-[imsx]+)?|-[imsx]+)[:)]"),
     "inline flags like `(?i)` are Python-only: spell both cases out, e.g. `[Aa]`"),
    (re.compile(r"\(\?\("), "conditional groups `(?(...)...)` are Python-only"),
    (re.compile(r"\(\?>"), "atomic groups `(?>...)` are Python-only"),
    (re.compile(r"[*+?}][+]"), "possessive quantifiers like `a*+` are Python-only"),
)
_PYTHON_ONLY_ESCAPES = {"A": "`\\A` is Python-only: write `^`", "Z": "`\\Z` is Python-only: write `$`"}


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a portable regular expression (None if it is):
    it must compile with Python's ``re`` (what the runtime uses) and use no
    construct ECMA-262 lacks (what JSON Schema specifies)."""
    try:
        compile_pattern(pattern)
    except re.error as error:
        return f"it is not a valid regular expression: {error}"
    outside = _outside_classes(pattern)
    for found, why in _PYTHON_ONLY:
        if found.search(outside):
            return why
    escapes = re.findall(r"\\(.)", _without_classes_keep_escapes(pattern))
    for letter in escapes:
        if letter in _PYTHON_ONLY_ESCAPES:
            return _PYTHON_ONLY_ESCAPES[letter]
    return None


def _outside_classes(pattern: str) -> str:
    """``pattern`` with escapes and ``[...]`` classes blanked out, so that a
    literal `(?P` inside a class or after a backslash is not mistaken."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append("__")
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            out.append("_")
        elif c == "[":
            in_class = True
            out.append("_")
            if pattern[i + 1:i + 2] == "]":  # `[]...]`: a leading `]` is literal in Python
                out.append("_")
                i += 1
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _without_classes_keep_escapes(pattern: str) -> str:
    """``pattern``'s escapes outside character classes (where `\\A` means
    something), each kept as written."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if not in_class:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class and c == "]":
            in_class = False
        elif not in_class and c == "[":
            in_class = True
        i += 1
    return "".join(out)


def format_names() -> str:
    return ", ".join(f'"{name}"' for name in FORMATS)
