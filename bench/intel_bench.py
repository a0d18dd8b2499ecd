"""Time the store-intelligence reports (rfm, cohorts, basket, restock, clv) on an existing
store: ecom (`reports.run`, finishing included, over its maintained summaries) against
the same report computed from the order lines (as before the summaries: `--lines`) and
the notebook way (pandas reads only the columns the question needs, then computes the
same), side by side.

    .venv/bin/python bench/intel_bench.py --db sqlite:///big.db --repeat 3 --lines
    .venv/bin/python bench/intel_bench.py --db mysql://root@127.0.0.1/shop

Each report runs once untimed (the first run: it rebuilds what is marked, timed and
shown as `first_s`); then ecom, the lines and the notebook alternate --repeat times and
each takes its median. The notebook reads through the store's own connection.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import ecomcli  # first: the MySQL C extension must load before ssl (pandas loads it)
from ecomcli import reports
from ecomcli.reports.defs import clv

# isort: split
import pandas as pd  # after ecomcli, on purpose

CASES: list[tuple[str, dict[str, Any]]] = [
    ("rfm", {}),
    ("rfm", {"segment": "champions"}),
    ("cohorts", {}),
    ("basket", {}),
    ("restock", {}),
    ("clv", {"horizon": 12}),
]
NOT_SALES = ("pending", "cancelled", "returned")


def notebook(conn: Any, name: str) -> int:
    """The question answered in pandas from the needed columns."""

    def read(sql: str) -> pd.DataFrame:
        return pd.read_sql(sql, conn)

    orders = read("SELECT order_id, customer_id, status, purchased_at FROM orders")
    orders = orders[~orders.status.isin(NOT_SALES)]
    lines = read("SELECT order_id, product_id, quantity, unit_price FROM order_items")
    lines = lines[lines.order_id.isin(orders.order_id)]
    lines["revenue"] = lines.quantity * lines.unit_price.astype(float)
    per_order = lines.groupby("order_id").revenue.sum().rename("revenue")
    o = orders.join(per_order, on="order_id", how="inner")
    o["at"] = pd.to_datetime(o.purchased_at)
    if name == "rfm":
        g = o.groupby("customer_id").agg(n=("order_id", "size"), m=("revenue", "sum"),
                                         last=("at", "max"))  # fmt: skip
        g["day"] = g["last"].dt.normalize()
        for col in ("day", "n", "m"):
            g["s" + col] = 1 + (5 * (g[col].rank(method="min") - 1)) // len(g)
        return len(g.groupby(["sday", "sn"]).size())
    if name == "cohorts":
        o["period"] = o["at"].dt.to_period("M")
        o["cohort"] = o.groupby("customer_id").period.transform("min")
        return len(o.groupby(["cohort", "period"]).agg(a=("customer_id", "nunique"),
                                                        r=("revenue", "sum")))  # fmt: skip
    if name == "basket":
        s = lines[["order_id", "product_id"]].drop_duplicates()
        m = s.merge(s, on="order_id")
        m = m[m.product_id_x < m.product_id_y]
        c = m.groupby(["product_id_x", "product_id_y"]).size()
        return int((c * 200 >= s.order_id.nunique()).sum())
    if name == "restock":
        last = o["at"].max().normalize()
        recent = lines[lines.order_id.isin(o.order_id[o["at"] >= last - pd.Timedelta(days=29)])]
        sold = recent.groupby("product_id").quantity.sum()
        p = read("SELECT product_id, units_in_stock FROM products").set_index("product_id")
        return len(p.join(sold))
    if name == "clv":  # the per-customer summary, then the same fit and prediction as ecom
        o["day"] = o["at"].dt.normalize()
        g = o.groupby("customer_id").agg(days=("day", "nunique"), first=("day", "min"),
                                         last=("day", "max"), m=("revenue", "sum"))  # fmt: skip
        n = g.days.to_numpy(float)
        t_x = (g["last"] - g["first"]).dt.days.to_numpy(float)
        age = (g["last"].max() - g["first"]).dt.days.to_numpy(float)
        bg, gg = clv.fit(n - 1, t_x, age, n, g.m.to_numpy() / n)
        value = bg.expected(n - 1, t_x, age, 365.25) * gg.mean(n, g.m.to_numpy() / n)
        return len(value)
    raise AssertionError(name)


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lines", action="store_true", help="also time the reports from the lines")
    ap.add_argument("--only", default="", help="these reports only, comma-separated (rfm,clv)")
    args = ap.parse_args()
    store = ecomcli.connect(args.db)
    conn = store.conn  # type: ignore[attr-defined]
    lines = ecomcli.connect(args.db)
    lines._has_summaries = False  # type: ignore[attr-defined]  # reads the lines, as before
    print(f"{'report':<28}{'rows':>8}{'first_s':>9}{'ecom_s':>9}{'lines_s':>9}"
          f"{'notebook_s':>12}{'ratio':>8}")  # fmt: skip
    only = set(filter(None, args.only.split(",")))
    for name, params in CASES:
        if only and name not in only:
            continue
        first = timed(partial(reports.run, store, name, params))
        rows = len(reports.run(store, name, params))
        ours, before, theirs = [], [], []
        for _ in range(args.repeat):
            ours.append(timed(partial(reports.run, store, name, params)))
            if args.lines:
                before.append(timed(partial(reports.run, lines, name, params)))
            theirs.append(timed(partial(notebook, conn, name)))
        e, n = statistics.median(ours), statistics.median(theirs)
        old = f"{statistics.median(before):>9.3f}" if before else f"{'-':>9}"
        label = name + " " + " ".join(f"--{k} {v}" for k, v in params.items())
        print(f"{label:<28}{rows:>8}{first:>9.3f}{e:>9.3f}{old}{n:>12.3f}{n / e:>8.1f}",
              flush=True)  # fmt: skip
    lines.close()
    store.close()


if __name__ == "__main__":
    main()
