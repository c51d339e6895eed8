"""Test-wide settings.

Hypothesis runs under the bounded ``ci`` profile unless ``HYPOTHESIS_PROFILE``
names another: ``thorough`` runs thousands of examples per property and is
what a release is checked with (see README, "Testing").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# The examples' Python modules and the instrumented call fixtures are imported
# by dotted name (`call "tests.runtime.calls_fixture:fn"`), as a user's
# project would import its own package.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# The compiled-IR cache (compiler/lower/ir_cache.py) of the tests and of the CLI
# processes they start: one fresh folder per session, never the user's.
if "FERMATA_IR_CACHE" not in os.environ:
    import tempfile

    os.environ["FERMATA_IR_CACHE"] = tempfile.mkdtemp(prefix="fermata-ir-cache-")

# Recorded times (when an interrupt was asked, answered...) come from a
# frozen clock, so two runs of one flow record the same bytes; tests of
# time pass their own FakeClock to the graph.
from fermata.runtime.clock import FakeClock, set_default_clock  # noqa: E402 - after the IR cache is set

set_default_clock(FakeClock("2026-01-01T00:00:00.000Z"))

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "thorough",
    max_examples=3000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# ------------------------------------------------------------------ PostgreSQL tests
# Tests marked `postgres` need a server (tests/runtime/store/postgres_db.py).
# Without FERMATA_TEST_POSTGRES (and outside CI, where they must run) they are
# left out with one line in the summary, not one skip line each.

_POSTGRES_NOTE: list[str] = []


def pytest_collection_modifyitems(config, items) -> None:  # type: ignore[no-untyped-def]
    if os.environ.get("FERMATA_TEST_POSTGRES") or os.environ.get("CI", "").lower() == "true":
        return
    left_out = [item for item in items if item.get_closest_marker("postgres")]
    if left_out:
        items[:] = [item for item in items if not item.get_closest_marker("postgres")]
        config.hook.pytest_deselected(items=left_out)
        _POSTGRES_NOTE.append(f"{len(left_out)} PostgreSQL store tests not run: set "
                              "FERMATA_TEST_POSTGRES=postgresql://user@host:5432/postgres to run them")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    for note in _POSTGRES_NOTE:
        terminalreporter.write_line(note)
