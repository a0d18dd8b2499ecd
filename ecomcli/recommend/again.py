"""`again`: the customer's own products, most often bought first (repeat purchases)."""

from __future__ import annotations

from ecomcli.recommend.model import Inputs, Ranked, bought_before, ranked


def rank(inp: Inputs) -> Ranked:
    scores = {p: float(n) for p, n in inp.history.items()}
    reasons = {p: bought_before(n) for p, n in inp.history.items()}
    return ranked(scores, reasons)
