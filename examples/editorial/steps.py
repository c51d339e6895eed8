"""Summarising and publishing for the document review example."""

from __future__ import annotations

PUBLISHED: list[str] = []


def summarize(title: str, body: str, max_words: int = 40) -> str:
    """The first ``max_words`` words of the body (a stand-in for a model call)."""
    words = body.split()
    text = " ".join(words[:max_words])
    return f"{title}: {text}{' ...' if len(words) > max_words else ''}"


def publish(title: str) -> None:
    PUBLISHED.append(title)
