"""Stand-in search backends for the research example: deterministic, offline."""

from __future__ import annotations


def search_web(question: str, limit: int = 3) -> list[str]:
    return [f"web result {i} for {question!r}" for i in range(1, limit + 1)]


def search_papers(question: str, limit: int = 2) -> list[str]:
    return [f"paper {i} on {question!r}" for i in range(1, limit + 1)]


def write_report(question: str, angle: str, sources: list[str]) -> str:
    lines = [f"A {angle} answer to {question!r}, from {len(sources)} sources:"]
    lines += [f"- {source}" for source in sources]
    return "\n".join(lines)
