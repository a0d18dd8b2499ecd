"""Reports: the same answers on every backend, checked against pandas on the input rows.

`shop_rows()` builds a small deterministic store (every entity a report reads, with the
edge cases: a customer with no orders, a product never sold, an empty cart, a month
with no sales, reviews without a product, orders that are not sales). Each report is
compared with an independent pandas computation over those same input rows (`oracle`),
and the parity test requires identical rows on SQLite, MySQL and MongoDB.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ecomcli import Mode, reports, schema
from ecomcli.errors import EcomError, NotFoundError, UsageError
from ecomcli.repository import Repository
from ecomcli.validation import Validator

CENT = Decimal("0.01")
SALE_EXCLUDED = {"pending", "cancelled", "returned"}


def shop_rows(seed: int = 7, orders: int = 160) -> dict[str, list[dict[str, Any]]]:
    """Raw rows per entity (strings, numbers), deterministic for a seed."""
    rnd = random.Random(seed)
    data: dict[str, list[dict[str, Any]]] = {}
    data["categories"] = [
        {"category_id": f"cat{i}", "name": name}
        for i, name in enumerate(["Shoes", "Shirts", "TVs", "Books"])
    ]
    data["customers"] = [
        {
            "customer_id": f"c{i:03d}",
            "first_name": rnd.choice(["Ada", "Bob", "Cy", "Di"]),
            "last_name": f"Last{i}",
            "email": f"c{i}@example.com",
        }
        for i in range(30)
    ]
    data["suppliers"] = [{"supplier_id": f"s{i}", "name": f"Supplier {i}"} for i in range(5)]
    data["delivery_partners"] = [{"partner_id": f"d{i}", "name": f"Carrier {i}"} for i in range(3)]
    data["products"] = [
        {
            "product_id": f"p{i:02d}",
            "name": f"Product {i}",
            "category_id": None if i % 7 == 6 else f"cat{i % 4}",
            "price": f"{rnd.randint(100, 20000) / 100:.2f}",
            "units_in_stock": rnd.choice([0, 1, 3, 5, 9, 10, 12, 40]),
            "reorder_level": (5, 10, 25, 50)[i % 4],
        }
        for i in range(20)
    ]
    data["supplies"] = [
        {"supplier_id": f"s{s}", "product_id": f"p{p:02d}", "units": rnd.randint(0, 99)}
        for s in range(4)  # s4 supplies nothing
        for p in range(20)
        if rnd.random() < 0.3 + 0.1 * s
    ]
    data["carts"], data["cart_items"] = [], []
    for i in range(12):
        data["carts"].append(
            {
                "cart_id": f"k{i:02d}",
                "customer_id": f"c{i * 2:03d}",
                "status": rnd.choice(["open", "checked_out", "abandoned"]),
            }
        )
        for p in rnd.sample(range(20), 0 if i == 11 else rnd.randint(1, 3)):  # k11 is empty
            data["cart_items"].append(
                {"cart_id": f"k{i:02d}", "product_id": f"p{p:02d}", "quantity": rnd.randint(1, 4)}
            )
    data["wishlists"], data["wishlist_items"] = [], []
    for i in range(10):
        data["wishlists"].append({"wishlist_id": f"w{i}", "customer_id": f"c{i % 7:03d}"})
        for p in rnd.sample(range(20), rnd.randint(0, 4)):
            data["wishlist_items"].append({"wishlist_id": f"w{i}", "product_id": f"p{p:02d}"})
    data["orders"], data["order_items"], data["payments"] = [], [], []
    start = datetime(2022, 1, 1)
    for i in range(orders):
        at = start + timedelta(
            minutes=rnd.randint(0, 3 * 365 * 24 * 60), seconds=rnd.randint(0, 59)
        )
        if at.year == 2023 and at.month == 5:  # a month with no orders at all
            at += timedelta(days=31)
        status = rnd.choice(
            [
                "paid",
                "shipped",
                "delivered",
                "delivered",
                "delivered",
                "pending",
                "cancelled",
                "returned",
            ]
        )
        order = {
            "order_id": f"o{i:04d}",
            "customer_id": f"c{rnd.randrange(24):03d}",  # c024..c029 never order
            "status": status,
            "purchased_at": at.isoformat(sep=" "),
            "delivery_partner_id": f"d{rnd.randrange(3)}" if rnd.random() < 0.9 else None,
        }
        if status in ("delivered", "returned"):
            eta = at + timedelta(days=rnd.randint(2, 6), hours=rnd.randint(0, 23))
            done = eta + timedelta(hours=rnd.randint(-60, 60), seconds=rnd.randint(0, 59))
            order["estimated_delivery_at"] = eta.isoformat(sep=" ")
            order["delivered_at"] = done.isoformat(sep=" ")
        data["orders"].append(order)
        total = Decimal(0)
        for line, p in enumerate(rnd.sample(range(17), rnd.randint(1, 3)), 1):  # p17-19 unsold
            qty, price = rnd.randint(1, 5), Decimal(rnd.randint(50, 9999)) / 100
            total += qty * price
            data["order_items"].append(
                {
                    "order_id": f"o{i:04d}",
                    "line_no": line,
                    "product_id": f"p{p:02d}",
                    "quantity": qty,
                    "unit_price": str(price),
                    "freight": "4.99",
                }
            )
        data["payments"].append(
            {
                "payment_id": f"pay{i:04d}",
                "order_id": f"o{i:04d}",
                "customer_id": order["customer_id"],
                "method": rnd.choice(["credit_card", "debit_card", "wallet", "voucher"]),
                "amount": str(total),
                "paid_at": at.isoformat(sep=" "),
            }
        )
    data["reviews"] = [
        {
            "review_id": f"r{i:03d}",
            "product_id": None if i % 13 == 0 else f"p{rnd.randrange(16):02d}",
            "score": rnd.randint(1, 5),
        }
        for i in range(70)
    ]
    return data


def typed(data: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for name, raw in data.items():
        check = Validator(schema.entity(name))
        out[name] = [check(r) for r in raw]
    return out


def load(store: Repository, data: dict[str, list[dict[str, Any]]]) -> None:
    for e in schema.load_order():
        rows = data.get(e.name)
        if rows:
            result = store.write_batch(e.name, rows, Mode.UPSERT, e.field_names)
            assert not result.rejected, (e.name, result.rejected[:3])


@pytest.fixture(scope="module")
def rows() -> dict[str, list[dict[str, Any]]]:
    return typed(shop_rows())


@pytest.fixture
def shop(store: Repository, rows: dict[str, list[dict[str, Any]]]) -> Repository:
    load(store, rows)
    return store


# --- the oracle: the same questions answered with pandas on the input rows ---------------


def frames(rows: dict[str, list[dict[str, Any]]]) -> dict[str, pd.DataFrame]:
    out = {}
    for e in schema.ENTITIES:
        out[e.name] = pd.DataFrame(rows.get(e.name, []), columns=e.field_names, dtype=object)
    return out


def half_up(value: Decimal, places: str = "0.01") -> Decimal:
    return Decimal(value).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def sold_lines(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    orders = t["orders"][~t["orders"]["status"].isin(SALE_EXCLUDED)]
    lines = t["order_items"].merge(orders, on="order_id")
    lines["revenue"] = [q * p for q, p in zip(lines["quantity"], lines["unit_price"], strict=True)]
    return lines


def label(ts: datetime, by: str) -> str:
    if by == "month":
        return f"{ts.year}-{ts.month:02d}"
    if by == "quarter":
        return f"{ts.year}-Q{(ts.month - 1) // 3 + 1}"
    if by == "year":
        return str(ts.year)
    if by == "week":
        return (ts.date() - timedelta(days=ts.weekday())).isoformat()
    return ts.date().isoformat()


def oracle_sales(t: dict[str, pd.DataFrame], by: str) -> list[dict[str, Any]]:
    lines = sold_lines(t)
    lines["period"] = [label(ts, by) for ts in lines["purchased_at"]]
    got = {}
    for period, g in lines.groupby("period"):
        revenue = sum(g["revenue"], Decimal(0))
        n = g["order_id"].nunique()
        got[period] = {
            "period": period,
            "orders": n,
            "units": int(g["quantity"].sum()),
            "revenue": half_up(revenue),
            "avg_order_value": half_up(revenue / n),
        }
    return [got[k] for k in sorted(got)]


def oracle_top_products(t: dict[str, pd.DataFrame], metric: str) -> list[dict[str, Any]]:
    lines = sold_lines(t)
    names = dict(zip(t["products"]["product_id"], t["products"]["name"], strict=True))
    out = []
    for pid, g in lines.groupby("product_id"):
        out.append(
            {
                "product_id": pid,
                "name": names[pid],
                "units": int(g["quantity"].sum()),
                "revenue": half_up(sum(g["revenue"], Decimal(0))),
            }
        )
    values = sorted({r[metric] for r in out}, reverse=True)
    for r in out:
        r["rank"] = values.index(r[metric]) + 1
    return sorted(out, key=lambda r: (r["rank"], r["product_id"]))


def names_of(t: dict[str, pd.DataFrame], entity: str, key: str, *cols: str) -> dict[str, tuple]:
    df = t[entity]
    return {k: tuple(df[c].iloc[i] for c in cols) for i, k in enumerate(df[key])}


def dsum(values: Any) -> Decimal:
    return sum(values, Decimal(0))


def oracle_low_stock(t, threshold: int | None = None) -> list[dict[str, Any]]:
    """Under `threshold`, or (None) under each product's own reorder level."""
    level = t["products"]["reorder_level"] if threshold is None else threshold
    products = t["products"][t["products"]["units_in_stock"] < level]
    supplier_name = dict(zip(t["suppliers"]["supplier_id"], t["suppliers"]["name"], strict=True))
    out = []
    for _, p in products.iterrows():
        ids = sorted(t["supplies"][t["supplies"]["product_id"] == p["product_id"]]["supplier_id"])
        out.append(
            {
                "product_id": p["product_id"],
                "name": p["name"],
                "units_in_stock": p["units_in_stock"],
                "reorder_level": p["reorder_level"],
                "suppliers": len(ids),
                "supplier_names": "; ".join(supplier_name[s] for s in ids),
            }
        )
    return sorted(out, key=lambda r: (r["units_in_stock"], r["product_id"]))


def oracle_ratings(t, n: int = 5, least: int = 1) -> list[dict[str, Any]]:
    reviews = t["reviews"].dropna(subset=["product_id"])
    name = dict(zip(t["products"]["product_id"], t["products"]["name"], strict=True))
    rated = []
    for pid, g in reviews.groupby("product_id"):
        scores = list(g["score"])
        if len(scores) < least:
            continue
        rated.append(
            {
                "product_id": pid,
                "name": name[pid],
                "reviews": len(scores),
                "avg_score": half_up(Decimal(sum(scores)) / len(scores)),
                "mean": sum(scores) / len(scores),
            }
        )
    low = sorted(rated, key=lambda r: (r["mean"], -r["reviews"], r["product_id"]))[:n]
    high = sorted(rated, key=lambda r: (-r["mean"], -r["reviews"], r["product_id"]))[:n]
    out = [{"end": "lowest", **r} for r in low] + [{"end": "highest", **r} for r in high]
    for r in out:
        del r["mean"]
    return out


def oracle_carts(t, pct: Decimal = Decimal(0), method: str | None = None) -> list[dict]:
    price = dict(zip(t["products"]["product_id"], t["products"]["price"], strict=True))
    payers = set(t["payments"][t["payments"]["method"] == method]["customer_id"])
    out = []
    for _, c in t["carts"].iterrows():
        items = t["cart_items"][t["cart_items"]["cart_id"] == c["cart_id"]]
        total = dsum(
            q * price[p] for q, p in zip(items["quantity"], items["product_id"], strict=True)
        ).quantize(CENT)
        off = Decimal("0.00")
        if pct and (method is None or c["customer_id"] in payers):
            off = half_up(total * pct / 100)
        out.append(
            {
                "cart_id": c["cart_id"],
                "customer_id": c["customer_id"],
                "status": c["status"],
                "lines": len(items),
                "items": int(items["quantity"].sum()),
                "total": total,
                "discount": off,
                "total_due": total - off,
            }
        )
    return sorted(out, key=lambda r: (-r["total"], r["cart_id"]))


def oracle_wishlists(t, by: str) -> list[dict[str, Any]]:
    items = t["wishlist_items"].merge(t["wishlists"], on="wishlist_id")
    if by == "product":
        name = dict(zip(t["products"]["product_id"], t["products"]["name"], strict=True))
        out = [
            {
                "product_id": pid,
                "name": name[pid],
                "wishlists": len(g),
                "customers": g["customer_id"].nunique(),
            }
            for pid, g in items.groupby("product_id")
        ]
        return sorted(out, key=lambda r: (-r["wishlists"], -r["customers"], r["product_id"]))
    who = names_of(t, "customers", "customer_id", "first_name", "last_name")
    out = []
    for cid, g in t["wishlists"].groupby("customer_id"):
        mine = items[items["customer_id"] == cid]
        out.append(
            {
                "customer_id": cid,
                "first_name": who[cid][0],
                "last_name": who[cid][1],
                "wishlists": len(g),
                "products": mine["product_id"].nunique(),
            }
        )
    return sorted(out, key=lambda r: (-r["products"], r["customer_id"]))


def sales_orders(t, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    orders = t["orders"][~t["orders"]["status"].isin(SALE_EXCLUDED)]
    if start:
        orders = orders[[ts.date() >= start for ts in orders["purchased_at"]]]
    if end:
        orders = orders[[ts.date() <= end for ts in orders["purchased_at"]]]
    return orders


def oracle_customer_activity(t, start=None, end=None, listing=None) -> list[dict[str, Any]]:
    active = set(sales_orders(t, start, end)["customer_id"])
    customers = list(t["customers"]["customer_id"])
    if listing is None:
        n, a = len(customers), len([c for c in customers if c in active])
        return [
            {
                "customers": n,
                "active": a,
                "inactive": n - a,
                "active_pct": half_up(Decimal(100 * a) / n, "0.1") if n else None,
            }
        ]
    all_sales = sales_orders(t)
    out = []
    for _, c in t["customers"].iterrows():
        if (c["customer_id"] in active) != (listing == "active"):
            continue
        mine = all_sales[all_sales["customer_id"] == c["customer_id"]]
        out.append(
            {
                "customer_id": c["customer_id"],
                "first_name": c["first_name"],
                "last_name": c["last_name"],
                "email": c["email"],
                "orders": len(mine),
                "last_purchase_at": max(mine["purchased_at"]) if len(mine) else None,
            }
        )
    return sorted(out, key=lambda r: r["customer_id"])


def oracle_suppliers(t) -> list[dict[str, Any]]:
    out = []
    for _, s in t["suppliers"].iterrows():
        mine = t["supplies"][t["supplies"]["supplier_id"] == s["supplier_id"]]
        out.append(
            {
                "supplier_id": s["supplier_id"],
                "name": s["name"],
                "products": len(mine),
                "units": int(mine["units"].sum()),
            }
        )
    return sorted(out, key=lambda r: (-r["products"], -r["units"], r["supplier_id"]))


def oracle_top_suppliers(t) -> list[dict[str, Any]]:
    counts = t["supplies"].groupby("supplier_id").size()
    leaders = sorted(counts[counts == counts.max()].index)
    sname = dict(zip(t["suppliers"]["supplier_id"], t["suppliers"]["name"], strict=True))
    pname = dict(zip(t["products"]["product_id"], t["products"]["name"], strict=True))
    out = []
    for sid in leaders:
        mine = t["supplies"][t["supplies"]["supplier_id"] == sid].sort_values("product_id")
        for _, r in mine.iterrows():
            out.append(
                {
                    "supplier_id": sid,
                    "supplier": sname[sid],
                    "products": int(counts[sid]),
                    "product_id": r["product_id"],
                    "product": pname[r["product_id"]],
                    "units": r["units"],
                }
            )
    return out


def oracle_customer_orders(t) -> list[dict[str, Any]]:
    lines = sold_lines(t)
    out = []
    for _, c in t["customers"].iterrows():
        mine = lines[lines["customer_id"] == c["customer_id"]]
        out.append(
            {
                "customer_id": c["customer_id"],
                "first_name": c["first_name"],
                "last_name": c["last_name"],
                "orders": mine["order_id"].nunique(),
                "items": int(mine["quantity"].sum()),
                "revenue": dsum(mine["revenue"]).quantize(CENT),
            }
        )
    return sorted(out, key=lambda r: (-r["items"], -r["orders"], r["customer_id"]))


def oracle_payments(t) -> list[dict[str, Any]]:
    out = []
    for method, g in t["payments"].groupby("method"):
        amount = dsum(g["amount"])
        out.append(
            {
                "method": method,
                "payments": len(g),
                "amount": amount,
                "avg_amount": half_up(amount / len(g)),
            }
        )
    return sorted(out, key=lambda r: (-r["amount"], r["method"]))


def oracle_delivery(t) -> list[dict[str, Any]]:
    # every delivered order, those of no partner too (grouped under none)
    o = t["orders"].dropna(subset=["delivered_at", "estimated_delivery_at"])
    name = dict(
        zip(t["delivery_partners"]["partner_id"], t["delivery_partners"]["name"], strict=True)
    )
    o = o.assign(month=[f"{d.year}-{d.month:02d}" for d in o["delivered_at"]],
                 partner=o["delivery_partner_id"].fillna(""))
    out = []
    for (pid, month), g in o.groupby(["partner", "month"]):
        late = [
            max(0, int((a - e).total_seconds()))
            for a, e in zip(g["delivered_at"], g["estimated_delivery_at"], strict=True)
        ]
        on_time = sum(
            a <= e for a, e in zip(g["delivered_at"], g["estimated_delivery_at"], strict=True)
        )
        out.append(
            {
                "partner_id": pid or None,
                "partner": name.get(pid),
                "month": month,
                "delivered": len(g),
                "on_time": on_time,
                "on_time_pct": half_up(Decimal(100 * on_time) / len(g), "0.1"),
                "avg_delay_days": half_up(Decimal(sum(late)) / len(g) / 86400),
            }
        )
    return sorted(out, key=lambda r: (r["partner_id"] is None, r["partner_id"] or "", r["month"]))


def oracle_categories(t) -> list[dict[str, Any]]:
    lines = sold_lines(t).merge(t["products"][["product_id", "category_id"]], on="product_id")
    name = dict(zip(t["categories"]["category_id"], t["categories"]["name"], strict=True))
    lines["category_id"] = lines["category_id"].fillna("")
    out = []
    for cid, g in lines.groupby("category_id"):
        out.append(
            {
                "category_id": cid or None,
                "category": name.get(cid),
                "units": int(g["quantity"].sum()),
                "revenue": dsum(g["revenue"]).quantize(CENT),
            }
        )
    return sorted(out, key=lambda r: (-r["revenue"], r["category_id"] or ""))


# --- each report against its oracle, on every backend --------------------------------------


def run(store: Repository, name: str, **params: Any) -> list[dict[str, Any]]:
    return reports.run(store, name, params).rows


def raw(store: Repository, name: str, **params: Any) -> Any:
    """What the backend returns for the report, before the finishing."""
    report = reports.report(name)
    return store.run_report(report, report.spec.params(params))


def test_low_stock_uses_each_products_own_reorder_level(store: Repository) -> None:
    stock = {"a": (21, 50), "b": (5, 3), "c": (2, 3)}  # units, reorder level
    load(store, typed({"products": [
        {"product_id": k, "name": k, "price": "1.00", "units_in_stock": u, "reorder_level": r}
        for k, (u, r) in stock.items()
    ]}))  # fmt: skip
    assert [r["product_id"] for r in run(store, "low-stock")] == ["c", "a"]
    # --threshold overrides every product's level
    assert [r["product_id"] for r in run(store, "low-stock", threshold=10)] == ["c", "b"]


def test_low_stock_lists_products_under_the_threshold_with_suppliers(shop, rows) -> None:
    t = frames(rows)
    assert run(shop, "low-stock") == oracle_low_stock(t)
    assert run(shop, "low-stock", threshold=4) == oracle_low_stock(t, 4)
    assert oracle_low_stock(t) != oracle_low_stock(t, 10)  # the levels are not all 10
    assert run(shop, "low-stock", threshold=4, limit=2) == oracle_low_stock(t, 4)[:2]


def test_ratings_lowest_and_highest_by_average_review_score(shop, rows) -> None:
    assert run(shop, "ratings") == oracle_ratings(frames(rows))
    assert run(shop, "ratings", limit=2) == oracle_ratings(frames(rows), 2)


def test_ratings_leave_out_products_with_fewer_reviews_than_asked(shop, rows) -> None:
    t = frames(rows)
    counts = t["reviews"].dropna(subset=["product_id"]).groupby("product_id").size()
    least = int(counts.median()) + 1  # about half the reviewed products have fewer
    assert (counts < least).any()
    got = run(shop, "ratings", min_reviews=least, limit=100)
    assert got == oracle_ratings(t, 100, least)
    assert got and min(r["reviews"] for r in got) >= least
    assert run(shop, "ratings", min_reviews=int(counts.max()) + 1) == []


def test_carts_totals_and_discount_for_customers_paying_by_a_method(shop, rows) -> None:
    t = frames(rows)
    assert run(shop, "carts") == oracle_carts(t)
    got = run(shop, "carts", discount="12.5", payment_method="credit_card")
    assert got == oracle_carts(t, Decimal("12.5"), "credit_card")
    assert any(r["discount"] for r in got) and any(not r["discount"] and r["total"] for r in got)
    assert any(r["items"] == 0 and r["total"] == 0 for r in got)  # an empty cart


def test_wishlists_by_customer_and_by_product(shop, rows) -> None:
    t = frames(rows)
    assert run(shop, "wishlists") == oracle_wishlists(t, "customer")
    assert run(shop, "wishlists", by="product") == oracle_wishlists(t, "product")


def test_top_products_dense_rank(shop, rows) -> None:
    t = frames(rows)
    for metric in ("units", "revenue"):
        assert run(shop, "top-products", metric=metric) == oracle_top_products(t, metric)
    top3 = run(shop, "top-products", limit=3)
    assert top3 == [r for r in oracle_top_products(t, "units") if r["rank"] <= 3]
    sold = {r["product_id"] for r in run(shop, "top-products")}
    assert "p17" not in sold  # a product never sold has no rank


def test_customer_activity_counts_and_lists(shop, rows) -> None:
    t = frames(rows)
    assert run(shop, "customer-activity") == oracle_customer_activity(t)
    start, end = date(2024, 1, 1), date(2024, 6, 30)
    assert run(shop, "customer-activity", **{"from": start, "to": end}) == (
        oracle_customer_activity(t, start, end)
    )
    inactive = run(shop, "customer-activity", list="inactive", **{"from": start})
    assert inactive == oracle_customer_activity(t, start, None, "inactive")
    assert {"c024", "c029"} <= {r["customer_id"] for r in inactive}  # never ordered
    assert run(shop, "customer-activity", list="active") == (
        oracle_customer_activity(t, None, None, "active")
    )


def test_suppliers_ranking_and_leaders(shop, rows) -> None:
    t = frames(rows)
    assert run(shop, "suppliers") == oracle_suppliers(t)
    assert run(shop, "suppliers", top=True) == oracle_top_suppliers(t)
    assert run(shop, "suppliers")[-1] == {
        "supplier_id": "s4",
        "name": "Supplier 4",
        "products": 0,
        "units": 0,
    }


def test_customer_orders_includes_customers_without_orders(shop, rows) -> None:
    got = run(shop, "customer-orders")
    assert got == oracle_customer_orders(frames(rows))
    assert got[-1]["orders"] == 0 and got[-1]["revenue"] == Decimal("0.00")
    buyers = sum(1 for r in got if r["orders"])
    for n in (1, buyers, buyers + 1, buyers + 2, len(got), len(got) + 5):
        assert run(shop, "customer-orders", limit=n) == got[:n]  # a cut among the zeros too


def test_sales_by_month_matches_pandas_and_shows_empty_months(shop, rows) -> None:
    got = run(shop, "sales", by="month")
    assert [r for r in got if r["orders"]] == oracle_sales(frames(rows), "month")
    gap = [r for r in got if r["period"] == "2023-05"]
    assert gap == [
        {
            "period": "2023-05",
            "orders": 0,
            "units": 0,
            "revenue": Decimal("0.00"),
            "avg_order_value": None,
        }
    ]


@pytest.mark.parametrize("by", ["day", "week", "quarter", "year"])
def test_sales_periods_match_pandas(shop, rows, by: str) -> None:
    assert [r for r in run(shop, "sales", by=by) if r["orders"]] == oracle_sales(frames(rows), by)


def test_sales_date_range_includes_the_whole_last_day(shop, rows) -> None:
    t = frames(rows)
    t["orders"] = sales_orders(t, date(2022, 3, 5), date(2023, 6, 30))
    got = run(shop, "sales", by="quarter", **{"from": "2022-03-05", "to": "2023-06-30"})
    assert got == oracle_sales(t, "quarter")
    assert got[0]["period"] == "2022-Q1" and got[-1]["period"] == "2023-Q2"


def test_payments_delivery_and_categories(shop, rows) -> None:
    t = frames(rows)
    assert run(shop, "payments") == oracle_payments(t)
    assert run(shop, "delivery") == oracle_delivery(t)
    assert None in {r["partner_id"] for r in run(shop, "delivery")}  # delivered by no partner
    assert run(shop, "categories") == oracle_categories(t)
    assert None in {r["category_id"] for r in run(shop, "categories")}  # uncategorised products


def test_delivery_over_a_period_counts_the_deliveries_of_no_partner(shop, rows) -> None:
    # with a period the report reads the orders, without one the summary (the test above)
    t = frames(rows)
    at = t["orders"]["delivered_at"]
    t["orders"] = t["orders"][(at >= datetime(2023, 1, 1)) & (at < datetime(2024, 1, 1))]
    got = run(shop, "delivery", **{"from": "2023-01-01", "to": "2023-12-31"})
    assert got == oracle_delivery(t)
    assert None in {r["partner_id"] for r in got}


def test_dataframe_api(shop, rows) -> None:
    df = shop.report("top-products", limit=3)
    assert list(df.columns) == ["rank", "product_id", "name", "units", "revenue"]
    assert df.to_dict("records") == [
        r for r in oracle_top_products(frames(rows), "units") if r["rank"] <= 3
    ]


def test_results_are_tuples_and_the_frame_is_built_from_columns(shop) -> None:
    # records (tuples in column order) are what the report computes; rows and the DataFrame
    # are views of them, identical to the dict-based DataFrame (values and dtypes)
    ratios = {"avg_score", "active_pct", "on_time_pct", "avg_delay_days"}
    for name, params in [
        ("carts", {"discount": "10", "payment_method": "credit_card"}),
        ("customer-orders", {}),
        ("customer-activity", {"list": "inactive"}),
        ("customer-activity", {}),
        ("sales", {"by": "month"}),
        ("top-products", {}),
        ("ratings", {}),
        ("suppliers", {}),
        ("payments", {}),
        ("delivery", {}),
        ("categories", {}),
    ]:
        result = reports.run(shop, name, params)
        assert result.records and all(type(r) is tuple for r in result.records)
        assert result.rows == [dict(zip(result.columns, r, strict=True)) for r in result.records]
        expected = pd.DataFrame(result.rows, columns=result.columns)
        pd.testing.assert_frame_equal(result.frame(), expected)
        for c in result.money:  # exactly two places, as every backend prints them
            assert {r[c].as_tuple().exponent for r in result.rows if r[c] is not None} == {-2}
        for c in set(result.columns) - set(result.money) - ratios:  # counts: int, not Decimal
            assert not any(isinstance(r[c], Decimal) for r in result.rows), (name, c)


def test_a_table_reads_the_same_held_as_rows_or_as_columns() -> None:
    rows = [("c1", 3, Decimal("1.00")), ("c2", 1, Decimal("2.50")), ("c3", 2, None)]
    as_rows = reports.Table(["id", "n", "total"], rows)
    as_columns = reports.Table(["id", "n", "total"], columns=list(zip(*rows, strict=True)))
    for t in (as_rows, as_columns):
        assert len(t) == 3 and list(t) == rows
        assert t.select(["total", "id"]).rows == [(r[2], r[0]) for r in rows]
        assert t.select(["n"]).rows == [(3,), (1,), (2,)]
        assert t.head(2).rows == rows[:2] and t.head(None).rows == rows
        assert t.dicts()[2] == {"id": "c3", "n": 2, "total": None}
    result = reports.ReportResult("x", as_columns)
    assert len(result) == 3 and result.records == rows
    assert result.frame()["n"].tolist() == [3, 1, 2]
    empty = reports.Table([], [])  # a finisher over no rows may not know its names
    assert empty.select(["id", "n"]).names == ["id", "n"] and len(empty.select(["id"])) == 0


# --- edge cases ---------------------------------------------------------------------------


def test_every_report_on_an_empty_store(store: Repository) -> None:
    # twice: the first builds the summaries, the second reads them fresh and empty
    for name in [*reports.REPORTS, *reports.REPORTS]:
        refused = {"forecast": "needs at least 8 quarters", "clv": "no sales up to the as-of"}
        if name in refused:  # a model needs history: one line saying so
            with pytest.raises(EcomError, match=refused[name]):
                reports.run(store, name)
            continue
        result = reports.run(store, name)
        if name == "customer-activity":
            assert result.rows == [{"customers": 0, "active": 0, "inactive": 0, "active_pct": None}]
        else:
            assert result.rows == [], name


def tie_rows() -> dict[str, list[dict[str, Any]]]:
    """Three products sold 5, 5 and 3 units (same revenue for the first two); one unsold."""
    raw: dict[str, list[dict[str, Any]]] = {
        "customers": [{"customer_id": "a"}, {"customer_id": "b"}],
        "products": [{"product_id": k, "name": k.upper(), "price": "2.00"} for k in "wxyz"],
        "orders": [
            {
                "order_id": "o1",
                "customer_id": "a",
                "status": "paid",
                "purchased_at": "2024-01-05 10:00:00",
            },
            {
                "order_id": "o2",
                "customer_id": "a",
                "status": "cancelled",
                "purchased_at": "2024-02-05 10:00:00",
            },
        ],
        "order_items": [
            {
                "order_id": "o1",
                "line_no": 1,
                "product_id": "y",
                "quantity": 5,
                "unit_price": "1.10",
            },
            {
                "order_id": "o1",
                "line_no": 2,
                "product_id": "x",
                "quantity": 5,
                "unit_price": "1.10",
            },
            {
                "order_id": "o1",
                "line_no": 3,
                "product_id": "w",
                "quantity": 3,
                "unit_price": "0.35",
            },
            {
                "order_id": "o2",
                "line_no": 1,
                "product_id": "z",
                "quantity": 9,
                "unit_price": "9.00",
            },
        ],
    }
    return typed(raw)


def with_a_sale_without_lines(rows: dict[str, list[dict[str, Any]]], customers: str) -> Any:
    """`rows` with the `customers` (one letter each) added, and a paid order of customer
    d that has no lines (an invoice whose lines were all returned)."""
    more = typed({
        "customers": [{"customer_id": k} for k in customers],
        "orders": [{"order_id": "o3", "customer_id": "d", "status": "paid",
                    "purchased_at": "2024-03-05 10:00:00"}],
    })  # fmt: skip
    rows["customers"] += more["customers"]
    rows["orders"] += more["orders"]
    return rows


def test_customer_orders_limit_cuts_among_customers_without_orders(store: Repository) -> None:
    # a ordered; b did not (nor, now, f, c, e, d: d a sale without lines)
    load(store, with_a_sale_without_lines(tie_rows(), "fced"))
    for n in (1, 3, 6, 9):
        got = [(r["customer_id"], r["items"]) for r in run(store, "customer-orders", limit=n)]
        assert got == [("a", 13), *((k, 0) for k in "bcdef")][:n]


def guide_module() -> Any:
    """The report module docs/reports.md shows under "Adding a report", as a module."""
    import types

    text = (Path(__file__).parents[1] / "docs" / "reports.md").read_text()
    code = text.split("## Adding a report", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    module = types.ModuleType("repeat_buyers")
    exec(compile(code, "docs/reports.md", "exec"), module.__dict__)
    return module


def test_the_guides_example_report_runs_on_every_backend(shop, rows) -> None:
    module = guide_module()
    report = reports.Report(module.SPEC, module)
    t = frames(rows)
    bought = sold_lines(t).drop_duplicates("order_id")["customer_id"].value_counts()
    for least in (1, 2, 3):
        p = report.spec.params({"min_sales": least})
        got = report.spec.finish(shop.run_report(report, p), p).dicts()
        want = sorted(((c, int(n)) for c, n in bought.items() if n >= least),
                      key=lambda r: (-r[1], r[0]))  # fmt: skip
        assert [(r["customer_id"], r["sales"]) for r in got] == want
        assert want, "an empty result proves nothing"


def test_an_order_without_lines_is_no_purchase_in_any_report(store: Repository) -> None:
    """One definition of active: a customer whose only sale has no lines (an invoice
    whose lines were all returned) is neither active nor counted as ordering."""
    load(store, with_a_sale_without_lines(tie_rows(), "d"))  # a ordered (with lines); b not
    orders = {r["customer_id"]: r["orders"] for r in run(store, "customer-orders")}
    assert orders["d"] == 0
    active = [r["customer_id"] for r in run(store, "customer-activity", list="active")]
    inactive = {r["customer_id"]: r for r in run(store, "customer-activity", list="inactive")}
    assert "d" not in active and inactive["d"]["orders"] == 0
    assert inactive["d"]["last_purchase_at"] is None
    for period in ({}, {"from": "2024-01-01"}, {"to": "2024-12-31"},
                   {"from": "2024-01-01", "to": "2024-12-31"}):  # fmt: skip
        counts = run(store, "customer-activity", **period)[0]
        assert counts["active"] == len(active), period
        listed = run(store, "customer-activity", list="active", **period)
        assert "d" not in [r["customer_id"] for r in listed], period


def test_wishlists_ties_go_to_more_customers_then_id(store: Repository) -> None:
    """--by product: most wishlists, then most customers, then product_id; --by customer:
    most products, then customer_id."""
    holds = {  # wishlist (customer) -> products: p3 and p1 on 2 lists of 2 customers,
        "l1": ("a", "p1 p2 p3"),  # p2 on 2 lists of 1 customer, p4 on 1
        "l2": ("a", "p2"),
        "l3": ("b", "p3 p1 p4"),
        "l4": ("c", "p5"),
    }
    load(store, typed({
        "customers": [{"customer_id": c} for c in "cba"],
        "products": [{"product_id": f"p{i}", "name": f"P{i}", "price": "1.00"}
                     for i in range(5, 0, -1)],
        "wishlists": [{"wishlist_id": w, "customer_id": c} for w, (c, _) in holds.items()],
        "wishlist_items": [{"wishlist_id": w, "product_id": k}
                           for w, (_, ks) in holds.items() for k in ks.split()],
    }))  # fmt: skip
    got = [(r["product_id"], r["wishlists"], r["customers"])
           for r in run(store, "wishlists", by="product")]  # fmt: skip
    assert got == [("p1", 2, 2), ("p3", 2, 2), ("p2", 2, 1), ("p4", 1, 1), ("p5", 1, 1)]
    got = [(r["customer_id"], r["products"]) for r in run(store, "wishlists", by="customer")]
    assert got == [("a", 3), ("b", 3), ("c", 1)]
    # --limit: the first N of that order (cut by the database)
    assert [r["product_id"] for r in run(store, "wishlists", by="product", limit=3)] == [
        "p1", "p3", "p2"
    ]
    assert [r["customer_id"] for r in run(store, "wishlists", limit=1)] == ["a"]


def test_ratings_ties_go_to_more_reviews_then_product_id(store: Repository) -> None:
    scores = {  # averages: a 2 (2 reviews), b 2 (1), c 2 (4), d 7/3, e 14/6 (= 7/3), f g h 5
        "a": [1, 3], "b": [2], "c": [2, 2, 2, 2], "d": [2, 2, 3], "e": [2, 2, 2, 3, 2, 3],
        "f": [5], "g": [5], "h": [5, 5],
    }
    load(store, typed({
        "products": [{"product_id": k, "name": k.upper(), "price": "1.00"} for k in scores],
        "reviews": [{"review_id": f"{k}{i}", "product_id": k, "score": v}
                    for k, vs in scores.items() for i, v in enumerate(vs)],
    }))
    # each limit cuts a group of equal averages
    got = [(r["end"], r["product_id"]) for r in run(store, "ratings", limit=2)]
    assert got == [("lowest", "c"), ("lowest", "a"), ("highest", "h"), ("highest", "f")]
    got = [(r["end"], r["product_id"]) for r in run(store, "ratings", limit=4)]
    assert got[:4] == [("lowest", "c"), ("lowest", "a"), ("lowest", "b"), ("lowest", "e")]
    # only the 2N candidates cross the wire, each product once (SQL and pipeline alike)
    sent = raw(store, "ratings", limit=2)
    assert sorted(sent.columns[sent.names.index("product_id")]) == ["a", "c", "f", "h"]
    sent = raw(store, "ratings", limit=5)
    assert len(sent.rows) == len(scores)  # the ends overlap: 8 products, not 10 rows


def test_dense_rank_ties_share_a_rank_and_limit_keeps_ties(store: Repository) -> None:
    load(store, tie_rows())
    got = run(store, "top-products", limit=1)
    assert [(r["rank"], r["product_id"], r["units"], r["revenue"]) for r in got] == [
        (1, "x", 5, Decimal("5.50")),
        (1, "y", 5, Decimal("5.50")),
    ]
    assert [(r["rank"], r["product_id"]) for r in run(store, "top-products", limit=2)] == [
        (1, "x"),
        (1, "y"),
        (2, "w"),
    ]  # dense: the next rank after a tie is 2, not 3; z's only order was cancelled
    if store.backend != "mongodb":  # SQL: only the products ranked N or better are sent
        sent = raw(store, "top-products", limit=1)
        assert sorted(sent.columns[sent.names.index("product_id")]) == ["x", "y"]
    assert run(store, "customer-orders") == [
        {
            "customer_id": "a",
            "first_name": None,
            "last_name": None,
            "orders": 1,
            "items": 13,
            "revenue": Decimal("12.05"),
        },
        {
            "customer_id": "b",
            "first_name": None,
            "last_name": None,
            "orders": 0,
            "items": 0,
            "revenue": Decimal("0.00"),
        },
    ]
    assert run(store, "sales", **{"from": "2024-02-01"}) == []  # a period with no sales


def test_unknown_report_and_wrong_options(store: Repository) -> None:
    with pytest.raises(NotFoundError, match="unknown report 'nope'; reports: low-stock"):
        reports.run(store, "nope")
    with pytest.raises(UsageError, match="has no option --threshold; its options: --from, --to"):
        reports.run(store, "sales", {"threshold": 3})
    with pytest.raises(UsageError, match="--by: expected one of day, week"):
        reports.run(store, "sales", {"by": "fortnight"})
    with pytest.raises(UsageError, match="--to 2024-01-01 is before --from 2024-02-01"):
        reports.run(store, "sales", {"from": "2024-02-01", "to": "2024-01-01"})
    with pytest.raises(UsageError, match="--from"):
        reports.run(store, "sales", {"from": "yesterday"})


# --- forecast -----------------------------------------------------------------------------


def seasonal_orders(quarters: int) -> dict[str, list[dict[str, Any]]]:
    """One order per quarter: revenue = 1000 + 50 * i + a fixed seasonal bump."""
    bump = [0, 200, -100, 400]
    raw: dict[str, list[dict[str, Any]]] = {
        "customers": [{"customer_id": "a"}],
        "products": [{"product_id": "p", "name": "P", "price": "1.00"}],
        "orders": [],
        "order_items": [],
    }
    for i in range(quarters):
        year, q = 2018 + i // 4, i % 4
        raw["orders"].append(
            {
                "order_id": f"o{i}",
                "customer_id": "a",
                "status": "paid",
                "purchased_at": f"{year}-{3 * q + 2:02d}-15 12:00:00",
            }
        )
        raw["order_items"].append(
            {
                "order_id": f"o{i}",
                "line_no": 1,
                "product_id": "p",
                "quantity": 1,
                "unit_price": str(1000 + 50 * i + bump[q]),
            }
        )
    return typed(raw)


def test_forecast_continues_trend_and_season(store: Repository) -> None:
    load(store, seasonal_orders(16))
    result = reports.run(store, "forecast", {"by": "quarter", "periods": 4})
    future = [r for r in result.rows if r["kind"] == "forecast"]
    assert [r["period"] for r in future] == ["2022-Q1", "2022-Q2", "2022-Q3", "2022-Q4"]
    expected = [1000 + 50 * i + b for i, b in zip(range(16, 20), [0, 200, -100, 400], strict=True)]
    for row, want in zip(future, expected, strict=True):
        assert abs(float(row["revenue"]) - want) < 0.02 * want
    assert "Holt-Winters" in result.notes[0] and "MAPE" in result.notes[1]
    assert len([r for r in result.rows if r["kind"] == "history"]) == 16


def test_forecast_leaves_out_unfinished_and_trailing_empty_periods(store: Repository) -> None:
    rows = seasonal_orders(16)  # 2018-Q1 .. 2021-Q4
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)  # one order today
    rows["orders"].append({**rows["orders"][0], "order_id": "today", "purchased_at": now})
    rows["order_items"].append({**rows["order_items"][0], "order_id": "today"})
    load(store, rows)
    result = reports.run(store, "forecast", {"by": "quarter", "periods": 4})
    history = [r["period"] for r in result.rows if r["kind"] == "history"]
    assert history[-1] == "2021-Q4" and len(history) == 16  # no zeros, not today's quarter
    future = [r for r in result.rows if r["kind"] == "forecast"]
    assert [r["period"] for r in future] == ["2022-Q1", "2022-Q2", "2022-Q3", "2022-Q4"]
    assert all(r["revenue"] > 1000 for r in future)
    quarter = f"{now.year}-Q{(now.month + 2) // 3}"
    assert any(n.startswith("left out, not over yet: " + quarter) for n in result.notes)
    assert any(n.startswith("left out, no sales after the last: 2022-Q1") for n in result.notes)


def test_a_forecast_with_an_absurd_back_test_says_so_in_its_rows(store: Repository) -> None:
    rows = seasonal_orders(16)
    for line in rows["order_items"][12:]:  # the last season collapses to 1.00 a quarter
        line["unit_price"] = Decimal("1.00")
    load(store, rows)
    result = reports.run(store, "forecast", {"by": "quarter", "periods": 2})
    kinds = [r["kind"] for r in result.rows]
    assert kinds[-2:] == ["forecast (unreliable)"] * 2 and "forecast" not in kinds
    assert any(n.startswith("unreliable: the back-test is off by") for n in result.notes)


def test_forecast_trend_only_below_two_seasons_and_refuses_too_little(store: Repository) -> None:
    load(store, seasonal_orders(7))
    with pytest.raises(EcomError, match=r"needs at least 8 quarters .* the store has 7"):
        reports.run(store, "forecast", {"by": "quarter"})
    load(store, seasonal_orders(8))  # 8 quarters = 24 months: seasonal by quarter only
    assert "Holt-Winters" in reports.run(store, "forecast", {"by": "quarter"}).notes[0]
    result = reports.run(store, "forecast", {"by": "month", "periods": 2})
    assert "Holt's linear trend" in result.notes[0]
    assert [r["period"] for r in result.rows if r["kind"] == "forecast"] == ["2019-12", "2020-01"]
    with pytest.raises(EcomError, match=r"needs at least 16 months .* the store has 13"):
        reports.run(store, "forecast", {"by": "month", "to": "2019-04-30"})


def test_a_ratio_rounds_half_up_exactly_on_ints_and_decimals() -> None:
    from ecomcli.reports import ratio

    assert str(ratio(1, 8)) == "0.13"  # 0.125: half up, not to even
    assert str(ratio(3, 8)) == "0.38"
    assert str(ratio(5, 2, 0)) == "3"
    assert str(ratio(0, 7, 1)) == "0.0"
    assert str(ratio(2, 3, 1)) == "0.7"
    assert str(ratio(-1, 8)) == "-0.13"  # away from zero
    assert str(ratio(Decimal("0.25"), 2)) == "0.13"
    assert ratio(10**15 + 1, 2, 0) == 10**15 // 2 + 1  # no float on the way
    assert ratio(1, 0) is None
