"""suppliers: suppliers by number of products supplied; --top: the leader(s) and their products.

Its spec, statements (over the lines and over the summaries it reads), MongoDB pipeline
and finisher: see docs/reports.md for the definitions."""

from __future__ import annotations

from operator import itemgetter
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
    limited,
)
from ecomcli.reports.mongoparts import (
    lookup,
    total,
)

if TYPE_CHECKING:
    from ecomcli.backends.dialect import Dialect


def finish(t: Table, p: Params) -> Table:
    if p["top"]:
        names = ["supplier_id", "supplier", "products", "product_id", "product", "units"]
        rows = [(s, n, integer(c), pid, pn, integer(u)) for s, n, c, pid, pn, u in t.select(names)]
        rows.sort(key=itemgetter(0, 3))  # supplier_id, product_id
        return Table(names, rows)
    names = ["supplier_id", "name", "products", "units"]
    rows = [(s, n, integer(c), integer(u)) for s, n, c, u in t.select(names)]
    rows.sort(key=itemgetter(0))
    rows.sort(key=itemgetter(2, 3), reverse=True)  # stable: most products, most units, id
    return Table(names, limited(rows, p))


SPEC = ReportSpec(
    "suppliers",
    "suppliers by number of products supplied; --top: the leader(s) and their products",
    (Option("top", "flag", "show the leading supplier(s) and their products", False), LIMIT()),
    lambda p: (
        ["supplier_id", "supplier", "products", "product_id", "product", "units"]
        if p["top"]
        else ["supplier_id", "name", "products", "units"]
    ),
    finish,
    chart=lambda p: (
        None if p["top"] else Chart("bar", "supplier_id", "products", "products supplied")
    ),
    listed=70,
)

SUMMARIES = ("suppliers",)


def sql(d: Dialect, p: Params) -> Built:
    return _statement(d, p, summarized=False)


def summarized_sql(d: Dialect, p: Params) -> Built:
    return _statement(d, p, summarized=True)


def _statement(d: Dialect, p: Params, summarized: bool) -> Built:
    """Per supplier, the products it supplies and their units: from
    `summary_supplier_products` when summarized (417 suppliers, 6,500 supplies: SQLite
    0.9 to 0.2 ms, MariaDB 2.1 to 0.6 ms), else the supplies counted per supplier first
    (their key's order) and the names joined to the counts (MariaDB 3.6 ms to 2.2 ms, SQLite
    1.07 to 0.88 ms against grouping the joined rows by id and name: a temporary table)."""
    counts = st.SUPPLIERS if summarized else f"({st.supplier_counts()})"
    if p["top"]:
        sql = d.select(
            ("s.supplier_id", "supplier_id"),
            ("s.name", "supplier"),
            ("c.products", "products"),
            ("pr.product_id", "product_id"),
            ("pr.name", "product"),
            ("sp.units", "units"),
        )
        sql += (
            f" FROM {counts} c JOIN suppliers s ON s.supplier_id = c.supplier_id"
            " JOIN supplies sp ON sp.supplier_id = c.supplier_id"
            " JOIN products pr ON pr.product_id = sp.product_id"
            f" WHERE c.products = (SELECT MAX(m.products) FROM {counts} m)"
        )
        return sql, []
    sql = d.select(
        ("s.supplier_id", "supplier_id"),
        ("s.name", "name"),
        ("COALESCE(g.products, 0)", "products"),
        (d.whole("COALESCE(g.units, 0)"), "units"),
    )
    return sql + f" FROM suppliers s LEFT JOIN {counts} g ON g.supplier_id = s.supplier_id", []


def pipeline(p: Params) -> Pipeline:
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
