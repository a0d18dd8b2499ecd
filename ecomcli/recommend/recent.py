"""`recent`: the best sellers of the store's last RECENT_DAYS days (orders holding the
product, up to and including the last sale's day): popularity that follows the season."""

from __future__ import annotations

from collections.abc import Iterator

from ecomcli.recommend.model import RECENT_DAYS, Inputs, Item, orders


def rank(inp: Inputs) -> Iterator[Item]:
    return ((p, float(n), f"popular in the last {RECENT_DAYS} days: {orders(n)}")
            for p, n in inp.recent)  # lazily, as `popular`
