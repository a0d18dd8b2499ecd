"""`popular`: the store's best sellers (orders holding the product): the baseline."""

from __future__ import annotations

from collections.abc import Iterator

from ecomcli.recommend.model import Inputs, Item, orders


def rank(inp: Inputs) -> Iterator[Item]:
    # lazily: a list is cut at its first few products, and the evaluation asks per customer
    return ((p, float(n), f"popular overall: {orders(n)}") for p, n in inp.popular)
