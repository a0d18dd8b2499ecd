"""wishlists: products on each customer's wishlists, or the most wishlisted products.

Its spec, statements (over the lines and over the summaries it reads), MongoDB pipeline
and finisher: see docs/reports.md for the definitions."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    integer,
)
from ecomcli.reports.mongoparts import (
    lookup,
    nullable,
)

if TYPE_CHECKING:
    from ecomcli.backends.dialect import Dialect


def finish(t: Table, p: Params) -> Table:
    """Already in the report's order, cut to `--limit` (the database sorts: --by product
    most wishlists, then most customers; --by customer most products; then by id)."""
    if p["by"] == "product":
        names, counts = ["product_id", "name", "wishlists", "customers"], (2, 3)
    else:
        names, counts = ["customer_id", "first_name", "last_name", "wishlists", "products"], (3, 4)
    if not len(t):
        return Table(names, [])
    columns = list(t.select(names).columns)
    for i in counts:
        columns[i] = list(map(integer, columns[i]))
    return Table(names, columns=columns)


SPEC = ReportSpec(
    "wishlists",
    "products on each customer's wishlists, or the most wishlisted products",
    (
        Option("by", "choice", "customer or product", "customer", ("customer", "product")),
        LIMIT(),
    ),
    lambda p: (
        ["product_id", "name", "wishlists", "customers"]
        if p["by"] == "product"
        else ["customer_id", "first_name", "last_name", "wishlists", "products"]
    ),
    finish,
    chart=lambda p: (
        Chart("bar", "product_id", "wishlists", "wishlists")
        if p["by"] == "product"
        else Chart("bar", "customer_id", "products", "products wishlisted")
    ),
    checked_in_statement=lambda p: False,
    listed=40,
)


def SUMMARIES(p: Params) -> tuple[str, ...]:
    return ("products",) if p["by"] == "product" else ("wishlists",)


def sql(d: Dialect, p: Params) -> Built:
    return _statement(d, p, summarized=False)


def summarized_sql(d: Dialect, p: Params) -> Built:
    return _statement(d, p, summarized=True)


def _statement(d: Dialect, p: Params, summarized: bool) -> Built:
    """Grouped by the lines' own product_id (or the wishlists' customer_id), the names
    joined to the grouped rows: at 1M orders (314k wishlist lines) `--by product` took
    MariaDB 0.60 s to 0.25 s and SQLite 0.25 s to 0.12 s against grouping the joined
    products by their id and name. The database sorts them and cuts them to `--limit`."""
    limit = f" LIMIT {int(p['limit'])}" if p.get("limit") else ""
    if p["by"] == "product":
        grouped = (
            "SELECT wi.product_id, COUNT(*) AS n, COUNT(DISTINCT w.customer_id) AS customers"
            " FROM wishlist_items wi JOIN wishlists w ON w.wishlist_id = wi.wishlist_id"
            " GROUP BY wi.product_id"
        )
        if summarized:  # one row per wishlisted product, instead of every line
            grouped = (
                "SELECT s.product_id, s.wishlists AS n, s.customers"
                f" FROM {st.WISHLISTS} s WHERE s.wishlists > 0"
            )
        sql = d.select(
            ("g.product_id", "product_id"),
            ("p.name", "name"),
            ("g.n", "wishlists"),
            ("g.customers", "customers"),
        )
        sql += f" FROM ({grouped}) g JOIN products p ON p.product_id = g.product_id"
        return f"{sql} ORDER BY g.n DESC, g.customers DESC, g.product_id{limit}", []
    grouped = (
        "SELECT w.customer_id, COUNT(DISTINCT w.wishlist_id) AS n,"
        " COUNT(DISTINCT wi.product_id) AS products FROM wishlists w"
        " LEFT JOIN wishlist_items wi ON wi.wishlist_id = w.wishlist_id GROUP BY w.customer_id"
    )
    if summarized:
        grouped = (
            "SELECT s.customer_id, s.wishlists AS n, s.products"
            f" FROM {st.CUSTOMER_WISHLISTS} s"
        )
        if limit:  # its first N customers in the report's order, read from its index,
            # skipping a customer the store lacks (as the join below would). A count, not
            # EXISTS: a Spider head's session turned EXISTS into reading every customer
            # (120-170 ms at 200k customers), where this looks up the first N
            grouped += (
                f"{d.force_index(st.CUSTOMER_WISHLISTS_INDEX)} WHERE (SELECT COUNT(*)"
                " FROM customers k WHERE k.customer_id = s.customer_id) > 0"
                f" ORDER BY s.products DESC, s.customer_id{limit}"
            )
    sql = d.select(
        ("g.customer_id", "customer_id"),
        ("c.first_name", "first_name"),
        ("c.last_name", "last_name"),
        ("g.n", "wishlists"),
        ("g.products", "products"),
    )
    join = d.then() if summarized else "JOIN"
    sql += f" FROM ({grouped}) g {join} customers c ON c.customer_id = g.customer_id"
    return f"{sql} ORDER BY g.products DESC, g.customer_id{limit}", []


def pipeline(p: Params) -> Pipeline:
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
