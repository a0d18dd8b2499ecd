"""`ecom recommend --evaluate`: leave-last-order-out on the store's own history.

Every customer with at least two orders has their last order (by purchased_at, then
order_id) held out; everything else (their earlier orders, every other customer's
orders) trains: popularity, the co-purchase neighbours (the same top-N cosine rule as the
stored tables) and the histories. Each strategy then ranks all the store's products for
each such customer (its list filled up as `recommend` fills it) and is scored on the
products of the held-out order:

- HR@k: the share of customers with at least one held-out product in their first k;
- NDCG@k: sum over hits of 1/log2(rank + 1), divided by that of a perfect list
  (min(k, held-out products) hits first), averaged over customers;
- coverage: distinct products recommended in anyone's first k / products in the store.

The lines cross the wire once (the only command that reads them all); memory is the
training pairs and histories, not the orders.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from ecomcli.errors import UsageError
from ecomcli.recommend import STRATEGIES, tables
from ecomcli.recommend.model import RECENT_DAYS, Inputs, Neighbour, finish
from ecomcli.repository import Query, Repository

COLUMNS = ("strategy", "hr", "ndcg", "coverage", "customers", "seconds")


@dataclass
class Score:
    strategy: str
    hr: float
    ndcg: float
    coverage: float
    customers: int
    seconds: float


def metrics(lists: Sequence[Sequence[str]], held_out: Sequence[set[str]], k: int,
            n_products: int) -> tuple[float, float, float]:
    """(HR@k, NDCG@k, coverage) of recommended `lists` against the `held_out` sets."""
    if not lists:
        return 0.0, 0.0, 0.0
    hits = ndcg = 0.0
    shown: set[str] = set()
    for recs, truth in zip(lists, held_out, strict=True):
        top = list(recs)[:k]
        shown.update(top)
        gains = [1 / math.log2(i + 2) for i, p in enumerate(top) if p in truth]
        hits += bool(gains)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(truth))))
        ndcg += sum(gains) / ideal if ideal else 0.0
    return hits / len(lists), ndcg / len(lists), len(shown) / max(1, n_products)


@dataclass
class Split:
    train: dict[str, list[set[str]]]  # customer -> product sets of the training orders
    held_out: dict[str, set[str]]  # customer -> products of the last order
    recent: Counter[str] = field(default_factory=Counter)  # training orders, last days


def split(lines: Iterable[tuple]) -> Split:  # type: ignore[type-arg]
    """Lines sorted by customer, time and order -> each customer's orders, the last held
    out when there are at least two. `recent` counts the training orders placed in the
    RECENT_DAYS up to the last training order, as the stored tables count the store's."""
    train: dict[str, list[set[str]]] = {}
    held: dict[str, set[str]] = {}
    times: list[tuple[datetime, set[str]]] = []
    for customer, rows in groupby(lines, key=lambda r: r[0]):
        orders = []
        for _, group in groupby(rows, key=lambda r: r[1]):
            items = list(group)
            orders.append((_as_datetime(items[0][2]), {r[3] for r in items}))
        if len(orders) >= 2:
            held[customer] = orders.pop()[1]
        train[customer] = [basket for _, basket in orders]
        times.extend(orders)
    recent: Counter[str] = Counter()
    if times:
        cutoff = max(t for t, _ in times) - timedelta(days=RECENT_DAYS)
        recent.update(p for t, basket in times if t >= cutoff for p in basket)
    return Split(train, held, recent)


def _as_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def neighbours(train: dict[str, list[set[str]]], popularity: Counter[str], top_n: int
               ) -> dict[str, list[Neighbour]]:
    """The stored tables' rule over the training orders: top-N by together^2/(na*nb)."""
    pairs: Counter[tuple[str, str]] = Counter()
    for orders in train.values():
        for basket in orders:
            for a in basket:
                for b in basket:
                    if a != b:
                        pairs[a, b] += 1
    by: dict[str, list[tuple[str, int]]] = {}
    for (a, b), n in pairs.items():
        by.setdefault(a, []).append((b, n))
    out: dict[str, list[Neighbour]] = {}
    for a, items in by.items():
        na = popularity[a]
        items.sort(key=lambda x: (-(x[1] * x[1] / (na * popularity[x[0]] * 1.0)), x[0]))
        out[a] = [(b, n, na, popularity[b]) for b, n in items[:top_n]]
    return out


def evaluate(store: Repository, k: int = 10, strategies: Sequence[str] | None = None
             ) -> list[Score]:
    if k < 1:
        raise UsageError("--k: a whole number of at least 1 is expected")
    from ecomcli.recommend import als

    chosen = list(strategies or [s for s in STRATEGIES if s != "als" or als.available()])
    data = split(store.neighbour_tables().lines())
    category = {r["product_id"]: r["category_id"] for r in store.find("products", Query())}
    popularity: Counter[str] = Counter(p for orders in data.train.values()
                                       for basket in orders for p in basket)
    popular = sorted(popularity.items(), key=lambda x: (-x[1], x[0]))
    in_category: dict[str | None, list[tuple[str, int]]] = {}
    for p, n in popular:
        in_category.setdefault(category.get(p), []).append((p, n))
    nbrs = neighbours(data.train, popularity, tables.TOP_N)
    recent = sorted(data.recent.items(), key=lambda x: (-x[1], x[0]))
    customers = sorted(data.held_out)

    def inputs(c: str, factors: als.Factors | None) -> Inputs:
        history = Counter(p for basket in data.train[c] for p in basket)
        return Inputs(history, {p: nbrs.get(p, []) for p in history}, popular,
                      lambda cat: in_category.get(cat, []), {p: category.get(p) for p in history},
                      recent, factors)

    truths = [data.held_out[c] for c in customers]
    scores = []
    for name in chosen:
        started = time.perf_counter()
        factors = als.fit(_customer_products(data.train)) if name == "als" else None
        rank = STRATEGIES[name]
        lists = []
        for c in customers:
            inp = inputs(c, factors)
            lists.append([p for p, _, _ in finish(rank(inp), inp, k)])
        hr, ndcg, cov = metrics(lists, truths, k, len(category))
        scores.append(Score(name, hr, ndcg, cov, len(customers),
                            time.perf_counter() - started))
    return scores


def _customer_products(train: dict[str, list[set[str]]]) -> Iterator[tuple[str, str, int]]:
    """ALS's input from the training orders, as the store's `customer_products` gives it."""
    for c, orders in train.items():
        for p, n in Counter(p for basket in orders for p in basket).items():
            yield c, p, n
