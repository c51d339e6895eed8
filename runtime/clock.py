"""Time as a run records it: one injectable clock, and ISO 8601 strings.

Time enters a run only as recorded data (SEMANTICS.md, "Time"): when an
interrupt was first asked, its deadline, when an answer came, when a timer
fired. Every such time is read from a :data:`Clock` (integer milliseconds
since the epoch) given to the :class:`~fermata.runtime.Graph`, so tests and
benchmarks pass a :class:`FakeClock` and never sleep. Recorded times are
UTC strings with milliseconds (``"2026-12-04T05:00:00.000Z"``): one fixed
width, so they sort as text, which is how the stores index due times.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

#: Milliseconds since the epoch, now.
Clock = Callable[[], int]


def system_clock() -> int:
    return time.time_ns() // 1_000_000


_default: Clock = system_clock


def default_clock() -> int:
    """The clock of graphs given none: the system's, unless
    :func:`set_default_clock` replaced it (the test suite freezes it, so
    that runs of the same flow record the same bytes)."""
    return _default()


def set_default_clock(clock: Clock) -> None:
    global _default
    _default = clock


class FakeClock:
    """A clock that moves only when told (tests, benchmarks)."""

    def __init__(self, start: int | str = "2026-01-01T00:00:00.000Z"):
        self.ms = parse_time(start) if isinstance(start, str) else start

    def __call__(self) -> int:
        return self.ms

    def advance(self, ms: int) -> int:
        self.ms += ms
        return self.ms

    def set(self, when: int | str) -> None:
        self.ms = parse_time(when) if isinstance(when, str) else when


def format_time(ms: int) -> str:
    """``ms`` since the epoch as the recorded form, ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    moment = datetime.fromtimestamp(ms // 1000, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def parse_time(text: str) -> int:
    """Milliseconds since the epoch of an ISO 8601 date-time (an offset or
    ``Z`` is required: a time without one means a different instant on every
    machine). Raises ``ValueError`` with a message a user can act on."""
    if not isinstance(text, str):
        raise ValueError(f"expected an ISO 8601 date-time string, not {type(text).__name__}")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date-time (e.g. \"2026-12-04T05:00:00Z\")") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: add `Z` (UTC) or an offset like `+02:00`")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
