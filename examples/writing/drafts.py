"""A stand-in writer for the revise example: each draft answers the comments so far."""

from __future__ import annotations


def write(topic: str, version: int, comments: list[str]) -> str:
    addressed = f" (addresses: {'; '.join(comments)})" if comments else ""
    return f"Draft {version} on {topic}{addressed}"
