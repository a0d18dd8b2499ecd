"""What every strategy ranks from: a customer's history, the stored neighbours of the
products in it, and popularity. Built from the store (`tables`) or, for the evaluation,
from the training part of the history (`evaluate`), so both rank with the same code.

Ties: every list is ordered by score descending, then product_id ascending (Python's
string order), from integer counts read identically on every backend: SQLite, MySQL and
MongoDB give the same lists.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ecomcli.recommend.als import Factors

# (neighbour_id, together, orders of the product, orders of the neighbour), in rank order
Neighbour = tuple[str, int, int, int]
Item = tuple[str, float, str]  # (product_id, score, reason)
Ranked = list[Item]  # best first


@dataclass
class Inputs:
    history: Counter[str]  # product -> how many of the customer's orders hold it
    neighbours: dict[str, list[Neighbour]]  # for the products in `history`
    popular: list[tuple[str, int]]  # (product_id, orders), most ordered first
    popular_in: Callable[[str], list[tuple[str, int]]]  # the same within a category
    category: dict[str, str | None] = field(default_factory=dict)  # of history products
    recent: list[tuple[str, int]] = field(default_factory=list)  # `popular`, last RECENT_DAYS
    factors: Factors | None = None  # the fitted ALS item factors, when `als` ranks

    def favourite(self) -> str | None:
        """The category the customer bought most often in (ties: the smallest id)."""
        counts: Counter[str] = Counter()
        for p, n in self.history.items():
            if (c := self.category.get(p)) is not None:
                counts[c] += n
        if not counts:
            return None
        return min(counts, key=lambda c: (-counts[c], c))


RECENT_DAYS = 30  # "recent" popularity: the orders of the store's last 30 days


def orders(n: int) -> str:
    return f"{n} order" if n == 1 else f"{n} orders"


def bought_before(n: int) -> str:
    return f"bought before, in {orders(n)}"


def ranked(scores: dict[str, float], reasons: dict[str, str]) -> Ranked:
    order = sorted(scores, key=lambda p: (-scores[p], p))
    return [(p, scores[p], reasons[p]) for p in order]


def finish(first: Iterable[Item], inp: Inputs, limit: int, exclude: Iterable[str] = ()
           ) -> Ranked:
    """`first` cut to `limit`, filled up with the favourite category's best sellers and
    then the store's (the fallback of a new customer), without `exclude`."""
    seen = set(exclude)
    out: Ranked = []

    def take(items: Iterable[Item]) -> bool:
        for p, score, reason in items:
            if p not in seen:
                seen.add(p)
                out.append((p, score, reason))
                if len(out) >= limit:
                    return True
        return False

    if take(first):
        return out
    fav = inp.favourite()
    if fav is not None and take(
        (p, float(n), f"popular in category {fav}: {orders(n)}") for p, n in inp.popular_in(fav)
    ):
        return out
    take((p, float(n), f"popular overall: {orders(n)}") for p, n in inp.popular)
    return out
