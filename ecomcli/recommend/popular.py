"""`popular`: the store's best sellers (orders holding the product): the baseline."""

from __future__ import annotations

from ecomcli.recommend.model import Inputs, Ranked, orders


def rank(inp: Inputs) -> Ranked:
    return [(p, float(n), f"popular overall: {orders(n)}") for p, n in inp.popular]
