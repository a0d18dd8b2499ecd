"""restock: per product, the sales velocity over the last `--window` days, the days of
cover its stock gives, and how many units to order now to hold `--cover` days of stock
after the supplier's lead time, plus `--safety` days of safety stock (docs/reports.md,
"restock"). Most urgent first: the fewest days left before an order must go out.

The database sums the units sold per product in the window (ending on `--as-of`, by
default the day of the last sale) and finds each product's shortest supplier lead time;
the finisher does the exact arithmetic.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ecomcli import summary_tables as st
from ecomcli.reports.model import (
    LIMIT,
    Built,
    Chart,
    Option,
    Params,
    Pipeline,
    ReportSpec,
    Table,
    cols,
    integer,
    ratio,
)
from ecomcli.reports.mongoparts import DAY_MS, lookup, sale
from ecomcli.reports.sqlparts import SALE

if TYPE_CHECKING:
    from ecomcli.backends.dialect import Dialect

LEAD_TIME_DAYS = 7  # a product without a supplier, or a supplier without a lead time
COLUMNS = [
    "product_id", "name", "units_in_stock", "units_sold", "per_day", "cover_days",
    "lead_days", "order_within_days", "reorder_qty",
]  # fmt: skip


def finish(t: Table, p: Params) -> Table:
    window = p["window"]
    keyed = []
    names = ["product_id", "name", "units_in_stock", "units_sold", "lead_days"]
    for pid, name, stock, sold, lead in t.select(names):
        stock, sold, lead = max(integer(stock), 0), integer(sold), integer(lead)
        # the stock that covers the lead time, the cover wanted and the safety days
        need = -(-sold * (lead + p["cover"] + p["safety"]) // window)  # ceiling
        qty = max(need - stock, 0)
        if sold:
            cover = Fraction(stock * window, sold)
            left = cover - lead  # days until the order must go out (negative: late)
            row = (
                pid,
                name,
                stock,
                sold,
                ratio(sold, window),
                ratio(cover.numerator, cover.denominator, 1),
                lead,
                ratio(left.numerator, left.denominator, 1),
                qty,
            )
            keyed.append(((0, left, pid), row))
        else:  # nothing sold in the window: no velocity, no cover to reach
            keyed.append(
                ((1, 0, pid), (pid, name, stock, 0, ratio(0, window), None, lead, None, 0))
            )
    keyed.sort(key=lambda k: k[0])
    rows = [r for _, r in keyed]
    return Table(COLUMNS, rows[: p["limit"]] if p["limit"] else rows)


SPEC = ReportSpec(
    "restock",
    "what to reorder now: sales velocity, days of cover and reorder quantity, most urgent first",
    (
        Option("as_of", "date", "the last day of the sales window (default: the last sale)"),
        Option("window", "int", "days of sales the velocity is measured over", 30),
        Option("cover", "int", "days of sales an order should cover after it arrives", 30),
        Option("safety", "int", "days of sales kept as safety stock", 7),
        LIMIT(),
    ),
    cols(*COLUMNS),
    finish,
    chart=lambda p: Chart("bar", "product_id", "reorder_qty", "units to reorder"),
)


def sql(d: Dialect, p: Params) -> Built:
    return _statement(d, p, summarized=False)


def SUMMARIES(p: Params) -> tuple[str, ...]:
    """Without `--as-of`, the day of the last sale from the daily summary."""
    return () if p["as_of"] else ("months",)


def summarized_sql(d: Dialect, p: Params) -> Built:
    return _statement(d, p, summarized=True)


def _statement(d: Dialect, p: Params, summarized: bool) -> Built:
    binds: list[Any] = []
    orders = "orders o"
    if summarized:
        # the window's start as a one-row table joined first: a constant the orders'
        # purchased_at index ranges over. A Spider head sends that range to its data nodes,
        # where with the subquery below it read every order (4.0-4.7 s to 0.5-0.6 s at 200k)
        first_day = d.days_before("MAX(s.day)", p["window"] - 1)
        orders = f"(SELECT {first_day} AS start FROM {st.DAILY} s) w CROSS JOIN orders o"
        window = " AND o.purchased_at >= w.start"
    elif p["as_of"]:
        end = datetime.combine(p["as_of"] + timedelta(days=1), datetime.min.time())
        start = end - timedelta(days=p["window"])
        window = f" AND o.purchased_at >= {d.ph} AND o.purchased_at < {d.ph}"
        binds += [d.bound(start.date()), d.bound(end.date())]
    else:  # the window's days end with the day of the last sale
        last = (  # the newest sale with a line, read backwards through purchased_at's index
            f"(SELECT x.purchased_at FROM orders x WHERE {SALE.replace('o.', 'x.')} AND EXISTS"
            " (SELECT 1 FROM order_items y WHERE y.order_id = x.order_id)"
            " ORDER BY x.purchased_at DESC LIMIT 1)"
        )
        window = f" AND o.purchased_at >= {d.days_before(last, p['window'] - 1)}"
    # CROSS JOIN: the window's orders first, through the purchased_at index (SQLite read
    # every line through the product_id index instead: 6.6 s to 0.22 s at 200k orders;
    # MySQL reads CROSS JOIN ... ON as JOIN)
    sold = (
        f"SELECT i.product_id, SUM(i.quantity) AS units FROM {orders}"
        f" CROSS JOIN order_items i ON i.order_id = o.order_id WHERE {SALE}{window}"
        " GROUP BY i.product_id"
    )
    if summarized or p["as_of"]:  # a window each data node can sum its own orders over
        copies = [st.DAILY] if summarized else []
        sold = (
            f"SELECT n.product_id, SUM(n.units) AS units FROM ({d.node_rows(sold, copies)}) n"
            " GROUP BY n.product_id"
        )
    lead = (
        f"SELECT sp.product_id, MIN(COALESCE(s.lead_time_days, {LEAD_TIME_DAYS})) AS days"
        " FROM supplies sp JOIN suppliers s ON s.supplier_id = sp.supplier_id"
        " GROUP BY sp.product_id"
    )
    sql = d.select(
        ("pr.product_id", "product_id"),
        ("pr.name", "name"),
        ("pr.units_in_stock", "units_in_stock"),
        (d.whole("COALESCE(u.units, 0)"), "units_sold"),
        (f"COALESCE(l.days, {LEAD_TIME_DAYS})", "lead_days"),
    )
    sql += (
        f" FROM products pr LEFT JOIN ({sold}) u ON u.product_id = pr.product_id"
        f" LEFT JOIN ({lead}) l ON l.product_id = pr.product_id"
    )
    return sql, binds


def pipeline(p: Params) -> Pipeline:
    """Over the lines (inside a transaction): without `--as-of`, the last sale found by a
    window over every sale."""
    if p["as_of"]:
        return "orders", _per_product(_end(p["as_of"]), p["window"])
    last = "$last"
    day = {"$subtract": [last, {"$mod": [{"$toLong": last}, DAY_MS]}]}
    start = {"$subtract": [day, (p["window"] - 1) * DAY_MS]}
    window = [
        {"$setWindowFields": {"output": {"last": {"$max": "$purchased_at"}}}},
        {"$match": {"$expr": {"$gte": ["$purchased_at", start]}}},
    ]
    return "orders", _per_product(None, p["window"], window)


MONGO_SUMMARIES = ("months",)  # the day of the last sale, from the daily summary


def facts(p: Params) -> dict[str, Pipeline]:
    if p["as_of"]:
        return {}
    return {"last_sale": (st.DAILY, [{"$group": {"_id": None, "value": {"$max": "$day"}}}])}


def summarized_pipeline(p: Params) -> Pipeline:
    """The window's orders read through the purchased_at index (one range, its bounds
    known: the last sale day is a fact read first from the daily summary)."""
    last = p["as_of"] or (p["last_sale"] and p["last_sale"].date())
    # no sale yet: no window (nothing to sum)
    return "orders", _per_product(_end(last) if last else None, p["window"])


def _end(day: date) -> datetime:
    """The midnight after `day`: the window's end (excluded)."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time())


def _per_product(
    end: datetime | None, days: int, window: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Per product: units sold in the window (the `days` before `end`, or what `window`
    keeps), stock, shortest supplier lead time."""
    match = sale({}, with_lines=True)
    if end is not None:
        match["purchased_at"] = {"$gte": end - timedelta(days=days), "$lt": end}
    return [
        {"$match": match},
        *(window or []),
        {"$unwind": "$items"},
        {"$group": {"_id": "$items.product_id", "units": {"$sum": "$items.quantity"}}},
        {
            "$unionWith": {
                "coll": "products",
                "pipeline": [{"$project": {"_id": "$product_id", "units": {"$literal": 0}}}],
            }
        },
        {"$group": {"_id": "$_id", "units": {"$sum": "$units"}}},
        {
            "$lookup": {
                "from": "products",
                "localField": "_id",
                "foreignField": "product_id",
                "as": "pr",
            }
        },
        {"$unwind": "$pr"},
        *lookup("supplies", "_id", "product_id", "sp", keep=True),
        *lookup("suppliers", "sp.supplier_id", "supplier_id", "s", keep=True),
        {  # back to one document per product: its shortest lead time
            "$group": {
                "_id": "$_id",
                "name": {"$first": "$pr.name"},
                "units_in_stock": {"$first": "$pr.units_in_stock"},
                "units_sold": {"$first": "$units"},
                "lead_days": {"$min": {"$ifNull": ["$s.lead_time_days", LEAD_TIME_DAYS]}},
            }
        },
        {"$addFields": {"product_id": "$_id"}},
        {"$project": {"_id": 0}},
    ]
