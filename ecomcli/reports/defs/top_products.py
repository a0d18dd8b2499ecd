"""top-products: best sellers by units or revenue, dense-ranked (ties share a rank).

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
    Chart,
    Option,
    Params,
    Pipeline,
    ReportSpec,
    Row,
    cols,
    dense_rank,
    integer,
    per_row,
)
from ecomcli.reports.mongoparts import (
    lookup,
)
from ecomcli.reports.sqlparts import sold_per_product

if TYPE_CHECKING:
    from ecomcli.backends.dialect import Dialect


@per_row
def finish(rows: list[Row], p: Params) -> list[Row]:
    out = [
        {
            "product_id": r["product_id"],
            "name": r["name"],
            "units": integer(r["units"]),
            "revenue": r["revenue"],
        }
        for r in rows
    ]
    ranked = dense_rank(out, p["metric"], "product_id")
    if p["limit"]:
        ranked = [r for r in ranked if r["rank"] <= p["limit"]]
    return ranked


SPEC = ReportSpec(
    "top-products",
    "best sellers by units or revenue, dense-ranked (ties share a rank)",
    (
        FROM,
        TO,
        LIMIT("every product whose rank is N or better (ties included)"),
        Option("metric", "choice", "units or revenue", "units", ("units", "revenue")),
    ),
    cols("rank", "product_id", "name", "units", "revenue"),
    finish,
    money=("revenue",),
    chart=lambda p: Chart(
        "bar",
        "product_id",
        p["metric"],
        "revenue (currency units)" if p["metric"] == "revenue" else "units sold",
    ),
    listed=50,
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
        ("t.product_id", "product_id"),
        ("p.name", "name"),
        (d.whole("t.units"), "units"),
        (d.cents("t.revenue"), "revenue"),
    )
    sql += f" FROM ({inner}) t JOIN products p ON p.product_id = t.product_id"
    if p.get("limit"):
        # only the products ranked N or better cross the wire (the finishing ranks them
        # again, alike: they are the top of the same dense ranking), not all 5,000
        metric = d.q(p["metric"])
        ranked = f"SELECT r.*, DENSE_RANK() OVER (ORDER BY r.{metric} DESC) AS n FROM ({sql}) r"
        names = ", ".join(f"x.{d.q(c)}" for c in ("product_id", "name", "units", "revenue"))
        sql = f"SELECT {names} FROM ({ranked}) x WHERE x.n <= {int(p['limit'])}"
    return sql, binds


def pipeline(p: Params) -> Pipeline:
    return "orders", [*mongoparts.sold_per_product(p), *_named()]


def summarized_pipeline(p: Params) -> Pipeline:
    collection, sold = mongoparts.sold_per_product_summarized(p)
    return collection, [*sold, *_named()]


def _named() -> list[dict[str, Any]]:
    """After the products sold (`_id`: the product, units, revenue): their names."""
    return [
        *lookup("products", "_id", "product_id", "p"),
        {"$project": {"_id": 0, "product_id": "$_id", "name": "$p.name", "units": 1, "revenue": 1}},
    ]
