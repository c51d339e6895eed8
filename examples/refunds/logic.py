"""Risk scoring and payment for the refund example.

Deterministic on purpose: a replay of a node re-runs `score`, and a flow's
runs must not depend on when they happen.
"""

from __future__ import annotations

RISKY_WORDS = ("chargeback", "fraud", "stolen", "never arrived")

PAYMENTS: list[dict[str, object]] = []  # what a real system would send to its payment provider


def score(amount: float, reason: str) -> float:
    """A risk between 0 and 1: large amounts and risky reasons score higher."""
    risk = min(amount / 1000.0, 0.6)
    if any(word in reason.lower() for word in RISKY_WORDS):
        risk += 0.4
    return round(min(risk, 1.0), 2)


def pay(amount: float) -> dict[str, object]:
    """Pay once: the flow marks this `call once`, so a replay never pays twice."""
    receipt = {"receipt": f"R-{len(PAYMENTS) + 1:04d}", "amount": amount}
    PAYMENTS.append(receipt)
    return receipt
