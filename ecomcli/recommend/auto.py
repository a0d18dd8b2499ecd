"""`auto`: the blend. Each product scores AGAIN x (the share of the customer's orders
holding it) + the cosine item-kNN score divided by the best such score, so a product the
customer buys again and again comes first, then what is bought with their products, then
the favourite category's and the store's best sellers. The weight was chosen with
`ecom recommend --evaluate` on generated stores with planted taste (bench/README.md).
"""

from __future__ import annotations

from ecomcli.recommend import similar
from ecomcli.recommend.model import Inputs, Ranked, bought_before, ranked

AGAIN = 1.0


def rank(inp: Inputs) -> Ranked:
    scores: dict[str, float] = {}
    reasons: dict[str, str] = {}
    knn = similar.rank(inp, "cosine")
    top = knn[0][1] if knn else 1.0
    for p, s, reason in knn:
        scores[p], reasons[p] = s / top, reason
    orders = max(inp.history.values(), default=1)
    for p, n in inp.history.items():
        scores[p] = scores.get(p, 0.0) + AGAIN * n / orders
        reasons[p] = bought_before(n)
    return ranked(scores, reasons)
