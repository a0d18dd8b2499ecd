"""categories: units and revenue by product category.

Its spec, statements (over the lines and over the summaries it reads), MongoDB pipeline
and finisher: see docs/reports.md for the definitions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecomcli.reports import mongoparts
from ecomcli.reports.model import (
    FROM,
    LIMIT,
    TO,
    Built,
    Params,
    Pipeline,
    ReportSpec,
    Row,
    bar,
    cols,
    integer,
    limited,
    per_row,
)
from ecomcli.reports.mongoparts import (
    lookup,
    nullable,
)
from ecomcli.reports.sqlparts import sold_per_product

if TYPE_CHECKING:
    from ecomcli.backends.dialect import Dialect


@per_row
def finish(rows: list[Row], p: Params) -> list[Row]:
    out = [
        {
            "category_id": r["category_id"],
            "category": r["category"],
            "units": integer(r["units"]),
            "revenue": r["revenue"],
        }
        for r in rows
    ]
    out.sort(key=lambda r: (-r["revenue"], r["category_id"] or ""))
    return limited(out, p)


SPEC = ReportSpec(
    "categories",
    "units and revenue by product category",
    (FROM, TO, LIMIT()),
    cols("category_id", "category", "units", "revenue"),
    finish,
    money=("revenue",),
    chart=bar("category_id", "revenue", "revenue (currency units)"),
    listed=130,
)

SUMMARIES = ("months",)


def sql(d: Dialect, p: Params) -> Built:
    return _statement(d, p, summarized=False)


def summarized_sql(d: Dialect, p: Params) -> Built:
    return _statement(d, p, summarized=True)


def _statement(d: Dialect, p: Params, summarized: bool) -> Built:
    binds: list[Any] = []
    inner = sold_per_product(d, p, binds, summarized)
    sql = d.select(
        ("pr.category_id", "category_id"),
        ("c.name", "category"),
        (d.whole("SUM(t.units)"), "units"),
        (d.cents("SUM(t.revenue)"), "revenue"),
    )
    sql += (
        f" FROM ({inner}) t JOIN products pr ON pr.product_id = t.product_id"
        " LEFT JOIN categories c ON c.category_id = pr.category_id"
        " GROUP BY pr.category_id, c.name"
    )
    return sql, binds


def pipeline(p: Params) -> Pipeline:
    return "orders", [*mongoparts.sold_per_product(p), *_per_category()]


def summarized_pipeline(p: Params) -> Pipeline:
    collection, sold = mongoparts.sold_per_product_summarized(p)
    return collection, [*sold, *_per_category()]


def _per_category() -> list[dict[str, Any]]:
    """After the products sold (`_id`: the product, units, revenue): per category."""
    return [
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
