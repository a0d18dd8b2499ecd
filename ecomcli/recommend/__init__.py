"""Personalised recommendations from the store's purchase history (issue 22).

    >>> store.recommend("C0000001", limit=5)   # product_id, name, score, reason
    >>> store.similar("P000065")

Strategies (one module each): `popular` (best sellers), `recent` (best sellers of the last
30 days), `again` (the customer's repeat purchases), `similar` (item-kNN on co-purchase
counts, cosine or BM25 weighting), `als` (matrix factorisation; fitting it needs the
optional extra: pip install 'ecom[recs]') and `auto` (the blend, chosen with `evaluate`).
Every list is filled up to `limit` with the best sellers of the customer's favourite
category, then of the store, and says so in `reason`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecomcli.errors import UsageError
from ecomcli.recommend import again, als, auto, popular, recent, tables
from ecomcli.recommend import similar as knn
from ecomcli.recommend.model import Inputs, Item, Ranked, finish, orders

if TYPE_CHECKING:
    import pandas as pd

    from ecomcli.repository import Repository

COLUMNS = ("product_id", "name", "score", "reason")
POPULAR_DEPTH = 200  # best sellers read for the fallback (more than any --limit shown)


STRATEGIES: dict[str, Callable[[Inputs], Iterable[Item]]] = {
    "auto": auto.rank,
    "similar": knn.rank,
    "bm25": lambda inp: knn.rank(inp, "bm25"),
    "again": again.rank,
    "popular": popular.rank,
    "recent": recent.rank,
    "als": als.rank,
}


@dataclass
class Recommendations:
    rows: list[tuple[str, str, float, str]]

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.rows, columns=list(COLUMNS))


def _inputs(t: Any, history: Counter[str], limit: int) -> Inputs:
    depth = max(POPULAR_DEPTH, limit)
    info = t.products(sorted(history))
    neighbours: dict[str, list[Any]] = {}
    for p, nb, together, orders_a, orders_b in t.neighbours(sorted(history)):
        neighbours.setdefault(p, []).append((nb, together, orders_a, orders_b))
    return Inputs(
        history=history,
        neighbours=neighbours,
        popular=[(p, n) for p, _, n in t.popular(depth)],
        popular_in=lambda c: [(p, n) for p, _, n in t.popular(depth, c)],
        category={p: v[1] for p, v in info.items()},
    )


def _named(t: Any, ranked: Ranked) -> Recommendations:
    names = t.products([p for p, _, _ in ranked])
    return Recommendations(
        [(p, names.get(p, ("", None))[0], round(s, 6), why) for p, s, why in ranked]
    )


def recommend(
    store: Repository, customer: str, limit: int = 10, *, strategy: str = "auto",
    exclude_bought: bool = False, refresh: bool = False,
) -> Recommendations:
    """What to show `customer` next. `NotFoundError` (exit 3) for an unknown customer."""
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    if limit < 1:
        raise UsageError("--limit: a whole number of at least 1 is expected")
    store.require("customers", (customer,))
    t = tables.fresh(store, refresh=refresh)
    history = Counter(p for p, _ in set(t.history(customer)))  # orders holding each product
    inp = _inputs(t, history, limit)
    if strategy == "recent":
        inp.recent = [(p, n) for p, _, n in t.popular(max(POPULAR_DEPTH, limit), recent=True)]
    if strategy == "als":
        inp.factors = tables.factors(store, t, refresh=refresh)
    first = STRATEGIES[strategy](inp)
    return _named(t, finish(first, inp, limit, history if exclude_bought else ()))


def similar(store: Repository, product: str, limit: int = 10, *, refresh: bool = False
            ) -> Recommendations:
    """What customers also buy with `product`: its neighbours by cosine, then the best
    sellers of its category and of the store."""
    if limit < 1:
        raise UsageError("--limit: a whole number of at least 1 is expected")
    store.require("products", (product,))
    t = tables.fresh(store, refresh=refresh)
    first = [
        (nb, knn.cosine(together, a, b), f"bought together in {orders(together)}")
        for _, nb, together, a, b in t.neighbours([product])
    ]
    category = t.products([product])[product][1]
    inp = _inputs(t, Counter(), limit)
    inp.history, inp.category = Counter({product: 1}), {product: category}
    return _named(t, finish(first, inp, limit, [product]))
