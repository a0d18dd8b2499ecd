"""The summary collections the MongoDB backend keeps so that a report after the first reads
small collections, not every order line (the counterpart of `backends/summaries.py`).

Each summary kind of `summary_tables.KINDS` that MongoDB keeps is a few collections, named
as the SQL summary tables, rebuilt whole from the base collections by one aggregation each
ending in `$out` (which replaces its target atomically):

- months: `summary_sales_daily` (per day: purchases, units, revenue),
  `summary_sales_daily_products` (per day and product: units, revenue of the sales; a
  period's edge days are looked up in it by day), summed into `summary_sales_monthly`
  (per month and product) and
  `summary_delivery_monthly` (per partner and month of delivery: delivered, on time, late
  seconds);
- customers: `summary_customer_months` (per customer and month of purchase, the month's
  first day: purchases, units, revenue, first and last purchase, purchase days, and the
  customer's first month), summed into `summary_customer_sales` (per customer);
- payments: `summary_payments_daily` (per day, null for an undated payment, and method:
  payments, amount);
- pairs: `summary_pairs_monthly` (per month and pair of products sold together,
  product_a <= product_b: the sales holding both), summed into `summary_pairs` (every
  sale's pairs of two products, indexed by their count) and `summary_product_sales` (the
  sales holding each product);
- carts: `summary_carts` (per cart: customer, status, lines, items and total at today's
  prices), indexed in the carts report's order (total descending, then cart_id), and
  `summary_cart_floor` (the total of its TOP_CARTS-th cart: `--limit N` reads the carts
  above it by a range of that index, not by sorting every cart).

**Freshness.** Every write through ecom to an entity of `MARKINGS` inserts, after the data
and in the same transaction when there is one, a mark per summary kind it may change into
`ecom_marks` (an insert: concurrent writers never conflict on it). A report that reads a
kind first lists its marks, rebuilds the kind if any (or if `ecom_summaries` does not say
it was built), then deletes only the marks it listed: a write committed meanwhile leaves a
mark for the next report. `ecom init-db --drop` forgets what was built.

Not maintained: documents written around ecom (mongosh, mongoimport); `ecom init-db`
rebuilds them (`forget`). Inside a transaction (`$out` cannot run there) or when a
rebuild is refused (a read-only user), a report reads the lines.

This module never imports the report layer: the reports name kinds and collections
through `ecomcli.summary_tables`, and each report's `summarized_pipeline(p)` reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bson.objectid import ObjectId

from ecomcli import summary_tables as st

if TYPE_CHECKING:
    from pymongo.database import Database

Doc = dict[str, Any]

MARKS = "ecom_marks"
BUILT = "ecom_summaries"
# bumped when a collection's definition changes: a store built earlier rebuilds it
LAYOUT = 4
# entity -> the summary kinds a write to it may change
MARKINGS: dict[str, tuple[str, ...]] = {
    "orders": ("months", "customers", "pairs"),
    "order_items": ("months", "customers", "pairs"),
    "payments": ("payments",),
    "carts": ("carts",),
    "cart_items": ("carts",),
    "products": ("carts",),  # a cart's total is at today's prices
}
KEPT = ("months", "customers", "payments", "carts", "pairs")  # the kinds MongoDB keeps
EXCLUDED = list(st.SALE_EXCLUDED)
DAY_MS = 86_400_000


def day(field: str) -> Doc:
    """The midnight (UTC) starting the day of the date `$field` (null stays null)."""
    ref = f"${field}"
    return {
        "$cond": [
            {"$eq": [{"$ifNull": [ref, None]}, None]},
            None,
            {"$dateFromString": {"dateString": _day_text(ref)}},
        ]
    }


def _day_text(ref: str) -> Doc:
    return {"$dateToString": {"format": "%Y-%m-%d", "date": ref}}


def _month(ref: str) -> Doc:
    """YYYY-MM of the date `ref`, as the reports' `period(field, "month")`."""
    return {"$substrCP": [_day_text(ref), 0, 7]}


def _units() -> Doc:
    return {"$sum": {"$map": {"input": "$items", "as": "i", "in": "$$i.quantity"}}}


def _revenue() -> Doc:
    each = {"$multiply": ["$$i.quantity", "$$i.unit_price"]}
    return {"$sum": {"$map": {"input": "$items", "as": "i", "in": each}}}


_SALES = {"status": {"$nin": EXCLUDED}}
_PURCHASES = {**_SALES, "items.0": {"$exists": True}}


def _daily() -> list[Doc]:
    return [
        {"$match": _PURCHASES},
        {"$project": {"day": day("purchased_at"), "units": _units(), "revenue": _revenue()}},
        {
            "$group": {
                "_id": "$day",
                "orders": {"$sum": 1},
                "units": {"$sum": "$units"},
                "revenue": {"$sum": "$revenue"},
            }
        },
        {"$project": {"_id": 0, "day": "$_id", "orders": 1, "units": 1, "revenue": 1}},
    ]


def _daily_products() -> list[Doc]:
    return [
        {"$match": _SALES},
        {"$project": {"_id": 0, "day": day("purchased_at"), "items": 1}},
        {"$unwind": "$items"},
        {
            "$group": {
                "_id": {"d": "$day", "p": "$items.product_id"},
                "units": {"$sum": "$items.quantity"},
                "revenue": {"$sum": {"$multiply": ["$items.quantity", "$items.unit_price"]}},
            }
        },
        {
            "$project": {
                "_id": 0, "day": "$_id.d", "product_id": "$_id.p", "units": 1, "revenue": 1,
            }
        },
    ]


def _monthly() -> list[Doc]:
    """From `summary_sales_daily_products`."""
    return [
        {
            "$group": {
                "_id": {"m": _month("$day"), "p": "$product_id"},
                "units": {"$sum": "$units"},
                "revenue": {"$sum": "$revenue"},
            }
        },
        {
            "$project": {
                "_id": 0, "month": "$_id.m", "product_id": "$_id.p", "units": 1, "revenue": 1,
            }
        },
    ]


def _delivery() -> list[Doc]:
    late_ms = {"$subtract": ["$delivered_at", "$estimated_delivery_at"]}
    month = _month("$delivered_at")
    return [
        {
            "$match": {
                "delivered_at": {"$ne": None},
                "estimated_delivery_at": {"$ne": None},
            }
        },
        {
            "$group": {  # (no partner, null or missing alike: one group)
                "_id": {"p": {"$ifNull": ["$delivery_partner_id", None]}, "m": month},
                "delivered": {"$sum": 1},
                "on_time": {
                    "$sum": {"$cond": [{"$lte": ["$delivered_at", "$estimated_delivery_at"]}, 1, 0]}
                },
                "late_seconds": {"$sum": {"$max": [0, {"$trunc": {"$divide": [late_ms, 1000]}}]}},
            }
        },
        {
            "$project": {
                "_id": 0, "partner": "$_id.p", "month": "$_id.m",
                "delivered": 1, "on_time": 1, "late_seconds": 1,
            }
        },
    ]


def _customer_months() -> list[Doc]:
    """Per customer and month of purchase (both first days: dates): the sales' count,
    units, revenue, first and last purchase, purchase days, and the customer's first month.
    One pass over the orders; `summary_customer_sales` is summed from it."""
    return [
        {"$match": _PURCHASES},
        {"$project": {"customer_id": 1, "purchased_at": 1, "day": _day_text("$purchased_at"),
                      "units": _units(), "revenue": _revenue()}},
        {
            "$group": {
                "_id": {"c": "$customer_id", "m": {"$substrCP": ["$day", 0, 7]}},
                "orders": {"$sum": 1},
                "items": {"$sum": "$units"},
                "revenue": {"$sum": "$revenue"},
                "first": {"$min": "$purchased_at"},
                "last": {"$max": "$purchased_at"},
                "day_set": {"$addToSet": "$day"},
            }
        },
        {"$setWindowFields": {"partitionBy": "$_id.c", "output": {"cohort": {"$min": "$_id.m"}}}},
        {
            "$project": {
                "_id": 0, "customer_id": "$_id.c", "month": _first_day("$_id.m"),
                "cohort": _first_day("$cohort"), "orders": 1, "items": 1, "revenue": 1,
                "first": 1, "last": 1, "days": {"$size": "$day_set"},
            }
        },
    ]


def _first_day(month: str) -> Doc:
    return {"$dateFromString": {"dateString": {"$concat": [month, "-01"]}}}


def _customers() -> list[Doc]:
    """From `summary_customer_months` (a month's purchase days are its own: they add up)."""
    return [
        {
            "$group": {
                "_id": "$customer_id",
                "orders": {"$sum": "$orders"},
                "days": {"$sum": "$days"},
                "items": {"$sum": "$items"},
                "revenue": {"$sum": "$revenue"},
                "first": {"$min": "$first"},
                "last": {"$max": "$last"},
            }
        },
    ]


def _payments() -> list[Doc]:
    return [
        {
            "$group": {
                "_id": {"d": day("paid_at"), "m": "$method"},
                "payments": {"$sum": 1},
                "amount": {"$sum": "$amount"},
            }
        },
        {"$project": {"_id": 0, "day": "$_id.d", "method": "$_id.m", "payments": 1, "amount": 1}},
    ]


def _carts() -> list[Doc]:
    price = {"$ifNull": ["$p.price", 0]}
    quantity = {"$ifNull": ["$items.quantity", 0]}
    return [
        {"$unwind": {"path": "$items", "preserveNullAndEmptyArrays": True}},
        {"$lookup": {"from": "products", "localField": "items.product_id",
                     "foreignField": "product_id", "as": "p"}},
        {"$unwind": {"path": "$p", "preserveNullAndEmptyArrays": True}},
        {
            "$group": {
                "_id": "$cart_id",
                "customer_id": {"$first": "$customer_id"},
                "status": {"$first": "$status"},
                "lines": {"$sum": {"$cond": [{"$ifNull": ["$items.product_id", False]}, 1, 0]}},
                "items": {"$sum": quantity},
                "total": {"$sum": {"$multiply": [quantity, price]}},
            }
        },
        {"$project": {"_id": 0, "cart_id": "$_id", "customer_id": 1, "status": 1, "lines": 1,
                      "items": 1, "total": 1}},
    ]


def _pairs_monthly() -> list[Doc]:
    """Per month and pair of products bought in the same sale (product_a <= product_b: a
    product with itself counts the sales holding it): the sales. (The SQL summary holds
    the pairs of two products; its monthly sales count a product's own.)"""
    ids = {"$map": {"input": "$items", "as": "i", "in": "$$i.product_id"}}
    products = {"$setUnion": [ids, []]}  # each product of an order once
    return [
        {"$match": _SALES},
        {"$project": {"_id": 0, "m": _month("$purchased_at"), "a": products, "b": products}},
        {"$unwind": "$a"},
        {"$unwind": "$b"},
        {"$match": {"$expr": {"$lte": ["$a", "$b"]}}},
        {"$group": {"_id": {"m": "$m", "a": "$a", "b": "$b"}, "orders": {"$sum": 1}}},
        {"$project": {"_id": 0, "month": "$_id.m", "product_a": "$_id.a",
                      "product_b": "$_id.b", "orders": 1}},
    ]


def _pair_totals() -> list[Doc]:
    """From `summary_pairs_monthly`: every sale's pairs of two products."""
    return [
        {"$match": {"$expr": {"$lt": ["$product_a", "$product_b"]}}},
        {"$group": {"_id": {"a": "$product_a", "b": "$product_b"}, "orders": {"$sum": "$orders"}}},
        {"$project": {"_id": 0, "product_a": "$_id.a", "product_b": "$_id.b", "orders": 1}},
    ]


def _product_sales() -> list[Doc]:
    """From `summary_pairs_monthly`: the sales holding each product."""
    return [
        {"$match": {"$expr": {"$eq": ["$product_a", "$product_b"]}}},
        {"$group": {"_id": "$product_a", "orders": {"$sum": "$orders"}}},
        {"$project": {"_id": 0, "product_id": "$_id", "orders": 1}},
    ]


# kind -> (summary collection, source collection, the stages that build it)
BUILDS: dict[str, tuple[tuple[str, str, list[Doc]], ...]] = {
    "months": (
        (st.DAILY, "orders", _daily()),
        (st.DAILY_PRODUCTS, "orders", _daily_products()),  # feeds the next
        (st.MONTHLY, st.DAILY_PRODUCTS, _monthly()),
        (st.DELIVERY, "orders", _delivery()),
    ),
    "customers": (  # in this order: the first feeds the second
        (st.CUSTOMER_MONTHS, "orders", _customer_months()),
        (st.CUSTOMERS, st.CUSTOMER_MONTHS, _customers()),
    ),
    "payments": ((st.PAYMENTS, "payments", _payments()),),
    "carts": ((st.CARTS, "carts", _carts()),),
    "pairs": (  # in this order: the first feeds the others
        (st.PAIRS, "orders", _pairs_monthly()),
        (st.PAIR_TOTALS, st.PAIRS, _pair_totals()),
        (st.PRODUCT_SALES, st.PAIRS, _product_sales()),
    ),
}
# summary collection -> the index its readers sort by ($out keeps an existing one)
INDEXES: dict[str, list[tuple[str, int]]] = {
    st.CARTS: [("total", -1), ("cart_id", 1)],
    st.DAILY_PRODUCTS: [("day", 1)],  # a period's edge days, looked up by day
    st.PAIR_TOTALS: [("orders", -1)],  # basket's support: a range of it
}


def _cart_floor(db: Database) -> None:
    """`summary_cart_floor`: the total of the TOP_CARTS-th cart (read through the index: a
    find, which every server serves in index order; none without carts)."""
    top = list(db[st.CARTS].find({}, {"_id": 0, "total": 1}).sort(INDEXES[st.CARTS])
               .limit(st.TOP_CARTS))  # fmt: skip
    if top:
        db[st.CART_FLOOR].insert_one({"carts": len(top), "total": top[-1]["total"]})


def mark(db: Database, entity: str, session: Any) -> None:
    """After a write to `entity`: a mark per summary kind it may change."""
    kinds = MARKINGS.get(entity, ())
    if kinds:
        db[MARKS].insert_many([{"kind": k} for k in kinds], session=session)


def kept(kinds: Sequence[str]) -> bool:
    return all(k in KEPT for k in kinds)


def refresh(db: Database, kinds: Sequence[str]) -> None:
    """Rebuild each kind in `kinds` that is marked or was never built.

    The marks are first taken (`taken`: this refresh's token, also over a token of a
    refresh that died or runs alongside: their data was committed before), the kind is
    rebuilt from what is committed, then only the marks still holding this token go: a
    mark made meanwhile stays for the next report."""
    for kind in kinds:
        token = ObjectId()
        taken = db[MARKS].update_many({"kind": kind}, {"$set": {"taken": token}})
        built = db[BUILT].find_one({"_id": kind, "layout": LAYOUT})
        if built is not None and not taken.matched_count:
            continue
        if kind == "carts":  # no floor while the carts change: readers sort them all
            db[st.CART_FLOOR].delete_many({})
        for target, source, stages in BUILDS[kind]:
            db[source].aggregate([*stages, {"$out": target}])
            if target in INDEXES:
                db[target].create_index(INDEXES[target])
            if target == st.CARTS:
                _cart_floor(db)
        db[BUILT].replace_one({"_id": kind}, {"layout": LAYOUT}, upsert=True)
        db[MARKS].delete_many({"kind": kind, "taken": token})


def forget(db: Database) -> None:
    """Every summary is rebuilt by the next report that reads it."""
    db.drop_collection(BUILT)
    db.drop_collection(MARKS)
