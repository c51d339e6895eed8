"""fermata.server: the HTTP API and web inbox of `fermata serve` (see docs/guide/serving.md)."""

from __future__ import annotations

from .app import Settings, create_app
from .inbox import Inbox

__all__ = ["Inbox", "Settings", "create_app"]
