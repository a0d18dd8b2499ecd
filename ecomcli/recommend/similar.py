"""`similar`: item-kNN on co-purchase counts. A candidate scores the sum, over the
customer's products h (weighted by how many orders hold h), of its similarity to h:

- cosine: together / sqrt(orders_h * orders_n);
- bm25: together saturated as BM25 does term frequencies (k1 = 1.2, b = 0.75), with the
  neighbour's popularity relative to h's as the "document length": a best seller bought
  with everything counts less.
"""

from __future__ import annotations

import math

from ecomcli.recommend.model import Inputs, Ranked, ranked

K1, B = 1.2, 0.75


def cosine(together: int, orders_h: int, orders_n: int) -> float:
    return together / math.sqrt(orders_h * orders_n)


def bm25(together: int, orders_h: int, orders_n: int) -> float:
    norm = 1 - B + B * orders_n / orders_h
    return together * (K1 + 1) / (together + K1 * norm)


WEIGHTS = {"cosine": cosine, "bm25": bm25}


def rank(inp: Inputs, weighting: str = "cosine") -> Ranked:
    weight = WEIGHTS[weighting]
    scores: dict[str, float] = {}
    best: dict[str, tuple[float, str]] = {}
    for h in sorted(inp.history):  # a fixed order: the same float sums everywhere
        n_h = inp.history[h]
        for nb, together, orders_h, orders_n in inp.neighbours.get(h, ()):
            s = n_h * weight(together, orders_h, orders_n)
            scores[nb] = scores.get(nb, 0.0) + s
            if s > best.get(nb, (0.0, ""))[0]:
                best[nb] = (s, h)
    reasons = {p: f"bought with {best[p][1]}" for p in scores}
    return ranked(scores, reasons)
