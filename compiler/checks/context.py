"""What every pass sees: the module being checked and the sink to report into."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..diagnostics.diagnostic import DiagnosticSink
from ..syntax import ast

if TYPE_CHECKING:
    from fermata.spec.call_policy import CallPolicy


@dataclass
class CheckContext:
    module: ast.Module
    sink: DiagnosticSink
    # What `call`s may target (None: the default policy); see checks/calls.py.
    call_policy: CallPolicy | None = None

    @property
    def path(self) -> str:
        return self.sink.path
