"""Reports as MongoDB aggregation pipelines: `build(name, params) -> (collection, pipeline)`.

The pipelines return the same fields as the SQL in `reports.sql` (one document per
group, `_id` projected away); `ecomcli.reports` finishes them identically. Order lines,
cart lines and wishlist lines are embedded (`orders.items`, `carts.items`,
`wishlists.items`); money is Decimal128, datetimes are BSON dates.

Portability: only long-standing operators are used (`$lookup` with `let`/`pipeline`,
`$unionWith`, `$facet`, `$setUnion`, `$dateToString` with `%Y-%m-%d`, `$isoDayOfWeek`,
`$month`, `$substrCP`).
Period labels are cut from `$dateToString` and quarters looked up from `$month` instead
of `$dateTrunc`, `$setWindowFields` or number formatting, which some servers that speak
the MongoDB protocol lack or render differently.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from ecomcli.reports import SALE_EXCLUDED, spec

Params = dict[str, Any]
Doc = dict[str, Any]
Built = tuple[str, list[Doc]]

DAY_MS = 86_400_000
QUARTER_OF_MONTH = ["", "1", "1", "1", "2", "2", "2", "3", "3", "3", "4", "4", "4"]


def _moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def between(field: str, p: Params) -> Doc:
    """`{field: {$gte: from, $lt: to + 1 day}}`: from inclusive, to's whole day included."""
    cond: Doc = {}
    if p.get("from"):
        cond["$gte"] = _moment(p["from"])
    if p.get("to"):
        cond["$lt"] = _moment(p["to"] + timedelta(days=1))
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


def low_stock(p: Params) -> Built:
    return "products", [
        {"$match": {"units_in_stock": {"$lt": p["threshold"]}}},
        *lookup("supplies", "product_id", "product_id", "sp", keep=True),
        *lookup("suppliers", "sp.supplier_id", "supplier_id", "s", keep=True),
        {
            "$project": {
                "_id": 0,
                "product_id": 1,
                "name": 1,
                "units_in_stock": 1,
                "reorder_level": 1,
                "supplier_id": nullable("$s.supplier_id"),
                "supplier_name": nullable("$s.name"),
            }
        },
    ]


def ratings(p: Params) -> Built:
    """Only the candidates cross the wire, as in the SQL: the N lowest and the N highest by
    average score (`$facet`: two sorted, limited ends of one grouping), each product once,
    then their names. `$divide` gives a double, which orders these averages exactly (see
    `reports.sql.ratings`); the finishing picks its rows with exact arithmetic."""
    n = int(p["limit"])
    end = [{"$limit": n}]
    return "reviews", [
        {"$match": {"product_id": {"$ne": None}}},
        {"$group": {"_id": "$product_id", "reviews": {"$sum": 1}, "score_sum": {"$sum": "$score"}}},
        {"$match": {"reviews": {"$gte": int(p["min_reviews"])}}},
        {"$addFields": {"avg": {"$divide": ["$score_sum", "$reviews"]}}},
        {
            "$facet": {
                "lowest": [{"$sort": {"avg": 1, "reviews": -1, "_id": 1}}, *end],
                "highest": [{"$sort": {"avg": -1, "reviews": -1, "_id": 1}}, *end],
            }
        },
        {"$project": {"t": {"$setUnion": ["$lowest", "$highest"]}}},  # each product once
        {"$unwind": "$t"},
        *lookup("products", "t._id", "product_id", "p"),
        {
            "$project": {
                "_id": 0,
                "product_id": "$t._id",
                "name": "$p.name",
                "reviews": "$t.reviews",
                "score_sum": "$t.score_sum",
            }
        },
    ]


def carts(p: Params) -> Built:
    pipeline: list[Doc] = [
        {"$unwind": {"path": "$items", "preserveNullAndEmptyArrays": True}},
        *lookup("products", "items.product_id", "product_id", "p", keep=True),
        {
            "$group": {
                "_id": "$cart_id",
                "customer_id": {"$first": "$customer_id"},
                "status": {"$first": "$status"},
                "lines": {"$sum": {"$cond": [{"$ifNull": ["$items.product_id", False]}, 1, 0]}},
                "items": {"$sum": {"$ifNull": ["$items.quantity", 0]}},
                "total": {
                    "$sum": {
                        "$multiply": [
                            {"$ifNull": ["$items.quantity", 0]},
                            {"$ifNull": ["$p.price", 0]},
                        ]
                    }
                },
            }
        },
    ]
    pays: Any = {"$literal": 0}
    if p.get("discount") and p.get("payment_method"):
        pipeline.append(
            {
                "$lookup": {
                    "from": "payments",
                    "localField": "customer_id",
                    "foreignField": "customer_id",
                    "as": "pm",
                }
            }
        )
        method = {
            "$filter": {
                "input": "$pm",
                "as": "m",
                "cond": {"$eq": ["$$m.method", p["payment_method"]]},
            }
        }
        pays = {"$cond": [{"$gt": [{"$size": method}, 0]}, 1, 0]}
    pipeline.append(
        {
            "$project": {
                "_id": 0,
                "cart_id": "$_id",
                "customer_id": 1,
                "status": 1,
                "lines": 1,
                "items": 1,
                "total": 1,
                "pays_by": pays,
            }
        }
    )
    pipeline.append({"$sort": {"total": -1, "cart_id": 1}})  # the finishing order
    return "carts", pipeline


def wishlists(p: Params) -> Built:
    """Sorted and cut to `--limit` here, as in the SQL."""
    limit = [{"$limit": int(p["limit"])}] if p.get("limit") else []
    if p["by"] == "product":
        return "wishlists", [
            {"$unwind": "$items"},
            {
                "$group": {
                    "_id": "$items.product_id",
                    "wishlists": {"$sum": 1},
                    "custs": {"$addToSet": "$customer_id"},
                }
            },
            *lookup("products", "_id", "product_id", "p"),
            {
                "$project": {
                    "_id": 0,
                    "product_id": "$_id",
                    "name": "$p.name",
                    "wishlists": 1,
                    "customers": {"$size": "$custs"},
                }
            },
            {"$sort": {"wishlists": -1, "customers": -1, "product_id": 1}},
            *limit,
        ]
    return "wishlists", [
        {"$unwind": {"path": "$items", "preserveNullAndEmptyArrays": True}},
        {
            "$group": {
                "_id": "$customer_id",
                "lists": {"$addToSet": "$wishlist_id"},
                "prods": {"$addToSet": {"$ifNull": ["$items.product_id", None]}},
            }
        },
        *lookup("customers", "_id", "customer_id", "c"),
        {
            "$project": {
                "_id": 0,
                "customer_id": "$_id",
                "first_name": nullable("$c.first_name"),
                "last_name": nullable("$c.last_name"),
                "wishlists": {"$size": "$lists"},
                "products": {
                    "$size": {
                        "$filter": {"input": "$prods", "as": "x", "cond": {"$ne": ["$$x", None]}}
                    }
                },
            }
        },
        {"$sort": {"products": -1, "customer_id": 1}},
        *limit,
    ]


def top_products(p: Params) -> Built:
    return "orders", [
        {"$match": sale(p)},
        {"$unwind": "$items"},
        {
            "$group": {
                "_id": "$items.product_id",
                "units": {"$sum": "$items.quantity"},
                "revenue": {"$sum": line_revenue()},
            }
        },
        *lookup("products", "_id", "product_id", "p"),
        {"$project": {"_id": 0, "product_id": "$_id", "name": "$p.name", "units": 1, "revenue": 1}},
    ]


def in_range(field: str, p: Params) -> Any:
    """An expression: `field` lies in [--from, --to] (true without a range)."""
    terms = [{op: [f"${field}", v]} for op, v in between(field, p).get(field, {}).items()]
    return {"$and": terms} if terms else True


def customer_activity(p: Params) -> Built:
    """One pass over the sales, grouped per customer, joined with every customer by
    `$unionWith` (zeros) rather than a correlated `$lookup` per customer."""
    pipeline: list[Doc] = [
        {"$match": sale({})},
        {
            "$group": {
                "_id": "$customer_id",
                "n": {"$sum": 1},
                "last": {"$max": "$purchased_at"},
                "active": {"$max": {"$cond": [in_range("purchased_at", p), 1, 0]}},
            }
        },
        {
            "$unionWith": {
                "coll": "customers",
                "pipeline": [
                    {
                        "$project": {
                            "_id": "$customer_id",
                            "n": {"$literal": 0},
                            "last": {"$literal": None},
                            "active": {"$literal": 0},
                        }
                    }
                ],
            }
        },
        {
            "$group": {
                "_id": "$_id",
                "n": {"$sum": "$n"},
                "last": {"$max": "$last"},
                "active": {"$max": "$active"},
            }
        },
    ]
    if p["list"] is None:
        pipeline += [
            {"$group": {"_id": None, "customers": {"$sum": 1}, "active": {"$sum": "$active"}}},
            {"$project": {"_id": 0, "customers": 1, "active": 1}},
        ]
        return "orders", pipeline
    pipeline += [
        {"$match": {"active": 1 if p["list"] == "active" else 0}},
        *lookup("customers", "_id", "customer_id", "c"),
        {
            "$project": {
                "_id": 0,
                "customer_id": "$_id",
                "first_name": nullable("$c.first_name"),
                "last_name": nullable("$c.last_name"),
                "email": nullable("$c.email"),
                "orders": "$n",
                "last_purchase_at": nullable("$last"),
            }
        },
    ]
    return "orders", pipeline


def suppliers(p: Params) -> Built:
    if p["top"]:
        return "supplies", [
            {
                "$group": {
                    "_id": "$supplier_id",
                    "n": {"$sum": 1},
                    "lines": {"$push": {"product_id": "$product_id", "units": "$units"}},
                }
            },
            {"$group": {"_id": None, "most": {"$max": "$n"}, "sups": {"$push": "$$ROOT"}}},
            {"$unwind": "$sups"},
            {"$match": {"$expr": {"$eq": ["$sups.n", "$most"]}}},
            {"$unwind": "$sups.lines"},
            *lookup("suppliers", "sups._id", "supplier_id", "s"),
            *lookup("products", "sups.lines.product_id", "product_id", "pr"),
            {
                "$project": {
                    "_id": 0,
                    "supplier_id": "$sups._id",
                    "supplier": "$s.name",
                    "products": "$sups.n",
                    "product_id": "$sups.lines.product_id",
                    "product": "$pr.name",
                    "units": "$sups.lines.units",
                }
            },
        ]
    return "suppliers", [
        {
            "$lookup": {
                "from": "supplies",
                "localField": "supplier_id",
                "foreignField": "supplier_id",
                "as": "sp",
            }
        },
        {
            "$project": {
                "_id": 0,
                "supplier_id": 1,
                "name": 1,
                "products": {"$size": "$sp"},
                "units": total("sp", "$$i.units"),
            }
        },
    ]


def customer_orders(p: Params) -> Built:
    zero = {"$literal": 0}
    return "orders", [
        {"$match": sale(p, with_lines=True)},
        {
            "$project": {
                "customer_id": 1,
                "units": order_units(),
                "revenue": order_revenue(),
            }
        },
        {
            "$group": {
                "_id": "$customer_id",
                "orders": {"$sum": 1},
                "items": {"$sum": "$units"},
                "revenue": {"$sum": "$revenue"},
            }
        },
        {  # customers without orders, with zeros
            "$unionWith": {
                "coll": "customers",
                "pipeline": [
                    {
                        "$project": {
                            "_id": "$customer_id",
                            "orders": zero,
                            "items": zero,
                            "revenue": zero,
                        }
                    }
                ],
            }
        },
        {
            "$group": {
                "_id": "$_id",
                "orders": {"$sum": "$orders"},
                "items": {"$sum": "$items"},
                "revenue": {"$sum": "$revenue"},
            }
        },
        *lookup("customers", "_id", "customer_id", "c"),
        {
            "$project": {
                "_id": 0,
                "customer_id": "$_id",
                "first_name": nullable("$c.first_name"),
                "last_name": nullable("$c.last_name"),
                "orders": 1,
                "items": 1,
                "revenue": 1,
            }
        },
        {"$sort": {"items": -1, "orders": -1, "customer_id": 1}},  # the finishing order
    ]


def sales(p: Params) -> Built:
    return "orders", [
        {"$match": sale(p, with_lines=True)},
        {
            "$project": {
                "label": period("purchased_at", p["by"]),
                "units": order_units(),
                "revenue": order_revenue(),
            }
        },
        {
            "$group": {
                "_id": "$label",
                "orders": {"$sum": 1},
                "units": {"$sum": "$units"},
                "revenue": {"$sum": "$revenue"},
            }
        },
        {"$sort": {"_id": 1}},
        {"$project": {"_id": 0, "period": "$_id", "orders": 1, "units": 1, "revenue": 1}},
    ]


def payments(p: Params) -> Built:
    return "payments", [
        {"$match": between("paid_at", p)},
        {"$group": {"_id": "$method", "payments": {"$sum": 1}, "amount": {"$sum": "$amount"}}},
        {"$project": {"_id": 0, "method": "$_id", "payments": 1, "amount": 1}},
    ]


def delivery(p: Params) -> Built:
    late_ms = {"$subtract": ["$delivered_at", "$estimated_delivery_at"]}
    return "orders", [
        {
            "$match": {
                "delivered_at": {"$ne": None, **between("delivered_at", p).get("delivered_at", {})},
                "estimated_delivery_at": {"$ne": None},
                "delivery_partner_id": {"$ne": None},
            }
        },
        {
            "$project": {
                "partner": "$delivery_partner_id",
                "month": period("delivered_at", "month"),
                "on_time": {"$cond": [{"$lte": ["$delivered_at", "$estimated_delivery_at"]}, 1, 0]},
                "late": {"$max": [0, {"$trunc": {"$divide": [late_ms, 1000]}}]},
            }
        },
        {
            "$group": {
                "_id": {"p": "$partner", "m": "$month"},
                "delivered": {"$sum": 1},
                "on_time": {"$sum": "$on_time"},
                "late_seconds": {"$sum": "$late"},
            }
        },
        *lookup("delivery_partners", "_id.p", "partner_id", "d"),
        {
            "$project": {
                "_id": 0,
                "partner_id": "$_id.p",
                "partner": "$d.name",
                "month": "$_id.m",
                "delivered": 1,
                "on_time": 1,
                "late_seconds": 1,
            }
        },
    ]


def categories(p: Params) -> Built:
    return "orders", [
        {"$match": sale(p)},
        {"$unwind": "$items"},
        {
            "$group": {
                "_id": "$items.product_id",
                "units": {"$sum": "$items.quantity"},
                "revenue": {"$sum": line_revenue()},
            }
        },
        *lookup("products", "_id", "product_id", "p"),
        {
            "$group": {
                "_id": {"$ifNull": ["$p.category_id", None]},
                "units": {"$sum": "$units"},
                "revenue": {"$sum": "$revenue"},
            }
        },
        *lookup("categories", "_id", "category_id", "c", keep=True),
        {
            "$project": {
                "_id": 0,
                "category_id": "$_id",
                "category": nullable("$c.name"),
                "units": 1,
                "revenue": 1,
            }
        },
    ]


BUILDERS: dict[str, Callable[[Params], Built]] = {
    "low-stock": low_stock,
    "ratings": ratings,
    "carts": carts,
    "wishlists": wishlists,
    "top-products": top_products,
    "customer-activity": customer_activity,
    "suppliers": suppliers,
    "customer-orders": customer_orders,
    "sales": sales,
    "payments": payments,
    "delivery": delivery,
    "categories": categories,
}


def build(name: str, params: Params) -> Built:
    """The collection to aggregate and the pipeline for report `name`."""
    s = spec(name)
    from ecomcli.reports import MODULES  # SHIM: a report module builds its own pipeline

    if name in MODULES:
        return MODULES[name].pipeline(s.params(params))  # type: ignore[no-any-return]
    if name not in BUILDERS:
        raise AssertionError(f"report {name} is computed in Python, not in a pipeline")
    return BUILDERS[name](s.params(params))
