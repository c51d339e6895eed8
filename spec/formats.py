"""The string formats a constrained type may name: ``str(format "email")``.

One predicate per format, used by the compiler (a default that breaks its
field's format is an error) and by the runtime (input, answers and checked
writes are refused). JSON Schema's ``format`` is only an annotation unless a
validator is told to assert it, and the ``jsonschema`` package asserts
``uri`` and ``date-time`` only when optional packages are installed; these
predicates make the answer the same everywhere, with no extra dependency.

Each follows its RFC closely enough for a workflow's input, not to the
letter: ``email`` is ``local@domain`` without spaces (RFC 5321's full
grammar accepts quoted strings nobody types), ``uri`` an absolute URI
(RFC 3986: a scheme, then URI characters and ``%XX`` escapes), ``date`` a
calendar date and ``date-time`` an RFC 3339 timestamp with an offset,
``uuid`` the 8-4-4-4-12 hex form (RFC 4122, any version).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

# Patterns as text: re compiles (and caches) each when a value of its format
# is first checked, not when this module is imported by every run and resume.
# (?a): ASCII classes, so \d is 0-9 only.
_EMAIL = r"[^@\s]+@[^@\s]+"
_URI = r"(?a)[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
_DATE = r"(?a)(\d{4})-(\d{2})-(\d{2})"
_DATE_TIME = (r"(?a)(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?"
              r"(?:[Zz]|[+-](\d{2}):(\d{2}))")
_UUID = r"(?a)[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def is_email(text: str) -> bool:
    return re.fullmatch(_EMAIL, text) is not None


def is_uri(text: str) -> bool:
    return re.fullmatch(_URI, text) is not None


def is_date(text: str) -> bool:
    match = re.fullmatch(_DATE, text)
    if match is None:
        return False
    try:
        datetime.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return False
    return True


def is_date_time(text: str) -> bool:
    match = re.fullmatch(_DATE_TIME, text)
    if match is None or not is_date(match[1]):
        return False
    hour, minute, second = int(match[2]), int(match[3]), int(match[4])
    # RFC 3339 allows second 60 (a leap second).
    if hour > 23 or minute > 59 or second > 60:
        return False
    return match[5] is None or (int(match[5]) <= 23 and int(match[6]) <= 59)


def is_uuid(text: str) -> bool:
    return re.fullmatch(_UUID, text) is not None


# The formats, in the order messages list them.
FORMATS: dict[str, Callable[[str], bool]] = {
    "email": is_email,
    "uri": is_uri,
    "date": is_date,
    "date-time": is_date_time,
    "uuid": is_uuid,
}


def matches_format(name: str, text: str) -> bool:
    """Whether ``text`` has format ``name`` (an unknown format accepts everything,
    as JSON Schema says; the compiler refuses unknown formats)."""
    check = FORMATS.get(name)
    return check is None or check(text)
