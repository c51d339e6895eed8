"""The moderation example's classifier: a stand-in for a model call.

Scores each post by a few words; deterministic, so the example's runs (and
their replays) are the same every time.
"""

from __future__ import annotations

from typing import Any

_BAD = ("spam", "scam", "hate")
_DOUBTFUL = ("free", "offer", "click", "winner")


def classify(posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each post with a `label`: "ok", "remove", or "uncertain" (a person decides)."""
    labelled = []
    for post in posts:
        text = str(post.get("text", "")).lower()
        if any(word in text for word in _BAD):
            label = "remove"
        elif any(word in text for word in _DOUBTFUL):
            label = "uncertain"
        else:
            label = "ok"
        labelled.append({"id": post["id"], "text": post["text"], "label": label})
    return labelled


def publish(ids: list[str]) -> int:
    """Publishes the kept posts (here: counts them)."""
    return len(ids)


def split(labelled: list[dict[str, Any]]) -> dict[str, Any]:
    """The ids of the posts kept and removed outright, and the uncertain posts."""
    return {"kept": [p["id"] for p in labelled if p["label"] == "ok"],
            "removed": [p["id"] for p in labelled if p["label"] == "remove"],
            "uncertain": [p for p in labelled if p["label"] == "uncertain"]}
