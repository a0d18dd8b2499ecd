"""Aggregation-pipeline pieces the reports' MongoDB pipelines share (see reports/defs/).

The pipelines return the same fields as the SQL statements (one document per group,
`_id` projected away); the report's finisher finishes both identically. Order lines,
cart lines and wishlist lines are embedded (`orders.items`, `carts.items`,
`wishlists.items`); money is Decimal128 (the backend converts it), datetimes are BSON
dates.

Portability: only long-standing operators are used (`$lookup` with `let`/`pipeline`,
`$unionWith`, `$facet`, `$setUnion`, `$dateToString` with `%Y-%m-%d`, `$isoDayOfWeek`,
`$month`, `$substrCP`).
Period labels are cut from `$dateToString` and quarters looked up from `$month` instead
of `$dateTrunc`, `$setWindowFields` or number formatting, which some servers that speak
the MongoDB protocol lack or render differently.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from ecomcli import summary_tables as st
from ecomcli.summary_tables import SALE_EXCLUDED

Params = dict[str, Any]
Doc = dict[str, Any]

DAY_MS = 86_400_000
QUARTER_OF_MONTH = ["", "1", "1", "1", "2", "2", "2", "3", "3", "3", "4", "4", "4"]


def midnight(day: date) -> datetime:
    """The BSON date starting `day`."""
    return datetime(day.year, day.month, day.day)


def between(field: str, p: Params) -> Doc:
    """`{field: {$gte: from, $lt: to + 1 day}}`: from inclusive, to's whole day included."""
    cond: Doc = {}
    if p.get("from"):
        cond["$gte"] = midnight(p["from"])
    if p.get("to"):
        cond["$lt"] = midnight(p["to"] + timedelta(days=1))
    return {field: cond} if cond else {}


def sale(p: Params, *, with_lines: bool = False) -> Doc:
    match: Doc = {"status": {"$nin": list(SALE_EXCLUDED)}, **between("purchased_at", p)}
    if with_lines:  # as the SQL's join with order_items: an order without lines is no sale
        match["items.0"] = {"$exists": True}
    return match


def period(field: str, by: str) -> Any:
    ref = f"${field}"
    day = {"$dateToString": {"format": "%Y-%m-%d", "date": ref}}
    if by == "day":
        return day
    if by == "week":  # the Monday on or before
        monday = {
            "$subtract": [ref, {"$multiply": [{"$subtract": [{"$isoDayOfWeek": ref}, 1]}, DAY_MS]}]
        }
        return {"$dateToString": {"format": "%Y-%m-%d", "date": monday}}
    if by == "month":
        return {"$substrCP": [day, 0, 7]}
    if by == "year":
        return {"$substrCP": [day, 0, 4]}
    return {
        "$concat": [
            {"$substrCP": [day, 0, 4]},
            "-Q",
            {"$arrayElemAt": [QUARTER_OF_MONTH, {"$month": ref}]},
        ]
    }


def lookup(source: str, local: str, foreign: str, as_: str, *, keep: bool = False) -> list[Doc]:
    """Join one document of `source` (as `as_`), unwound; `keep` keeps unmatched ones."""
    return [
        {"$lookup": {"from": source, "localField": local, "foreignField": foreign, "as": as_}},
        {"$unwind": {"path": f"${as_}", "preserveNullAndEmptyArrays": keep}},
    ]


def nullable(expr: Any) -> Doc:
    return {"$ifNull": [expr, None]}


def line_revenue(prefix: str = "$items") -> Doc:
    return {"$multiply": [f"{prefix}.quantity", f"{prefix}.unit_price"]}


def total(array: str, each: Any) -> Doc:
    """The sum over `array` of `each` (an expression on `$$i`). Spelt with `$map` rather than
    `{"$sum": "$array.field"}`: some servers do not traverse arrays in expression paths."""
    return {"$sum": {"$map": {"input": f"${array}", "as": "i", "in": each}}}


def order_units() -> Doc:
    return total("items", "$$i.quantity")


def order_revenue() -> Doc:
    return {
        "$sum": {
            "$map": {
                "input": "$items",
                "as": "i",
                "in": {"$multiply": ["$$i.quantity", "$$i.unit_price"]},
            }
        }
    }


def in_range(field: str, p: Params) -> Any:
    """An expression: `field` lies in [--from, --to] (true without a range)."""
    terms = [{op: [f"${field}", v]} for op, v in between(field, p).get(field, {}).items()]
    return {"$and": terms} if terms else True


def sold_per_product(p: Params) -> list[Doc]:
    """Stages: one document per product sold in the period (`_id`: its id), its units and
    revenue (as `sqlparts.sold_per_product`)."""
    return [
        {"$match": sale(p)},
        {"$unwind": "$items"},
        {
            "$group": {
                "_id": "$items.product_id",
                "units": {"$sum": "$items.quantity"},
                "revenue": {"$sum": line_revenue()},
            }
        },
    ]


def whole_months(months: tuple[str | None, str | None] | None) -> list[Doc]:
    """A monthly summary's `$match` of the whole months `st.split` found (none: no stage,
    and no month either: see the caller)."""
    if months is None:
        return []
    ops = zip(("$gte", "$lte"), months, strict=True)
    cond = {op: month for op, month in ops if month is not None}
    return [{"$match": {"month": cond} if cond else {}}]


def sold_per_product_summarized(p: Params) -> tuple[str, list[Doc]]:
    """The collection and stages of `sold_per_product` over the summaries: the monthly
    summary's whole months inside the period, with the days left at the period's edges,
    as the SQL's `sqlparts.sold_per_product`. The edge days lead: found in the daily
    summary (one document per day) and joined by day to the daily product sales (an
    equality `$lookup`, which the day index serves on every server, where two ranges of
    `orders` are one `$or` that some servers answer by a scan); the summary's months join
    them by `$unionWith`."""
    months, edges = st.split(p.get("from"), p.get("to"))
    summary = whole_months(months)
    spans = [{"day": {"$gte": midnight(start), "$lt": midnight(before)}}
             for start, before in edges]  # fmt: skip
    group = {"$group": {"_id": "$product_id", "units": {"$sum": "$units"},
                        "revenue": {"$sum": "$revenue"}}}  # fmt: skip
    if not spans:
        return st.MONTHLY, [*summary, group]
    days = [
        {"$match": spans[0] if len(spans) == 1 else {"$or": spans}},
        {"$lookup": {"from": st.DAILY_PRODUCTS, "localField": "day", "foreignField": "day",
                     "as": "sold"}},
        {"$unwind": "$sold"},
        {"$replaceRoot": {"newRoot": "$sold"}},
    ]  # fmt: skip
    union = [{"$unionWith": {"coll": st.MONTHLY, "pipeline": summary}}] if summary else []
    return st.DAILY, [*days, *union, group]
