"""The JSON of a run, as the CLI prints it: ``runtime/records.py`` holds the
one copy (``Run.to_json``, ``state_json``, ...), used by the CLI's ``--json``
and by the server; this module names it for the server's modules.
"""

from __future__ import annotations

from fermata.runtime.records import (
    history_json,
    interrupt_json,
    state_json,
    summary_json,
)

__all__ = ["history_json", "interrupt_json", "state_json", "summary_json"]
