"""cohorts: customers grouped by the period of their first sale, and for each cohort the
share of its members buying again in each later period, with the revenue per member
(docs/reports.md, "cohorts").

The database groups the sales by (cohort, period of the sale) and counts the distinct
customers of each cell; the finisher numbers the periods since the cohort's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecomcli import summary_tables as st
from ecomcli.reports.model import (
    ZERO,
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
from ecomcli.reports.mongoparts import order_revenue, period, sale
from ecomcli.reports.sqlparts import SALE

if TYPE_CHECKING:
    from ecomcli.backends.dialect import Dialect

COLUMNS = [
    "cohort", "customers", "period", "active", "retention_pct", "revenue",
    "revenue_per_customer",
]  # fmt: skip


def index(label: str, by: str) -> int:
    """A period label as a number that grows by one per period."""
    year = int(label[:4])
    if by == "quarter":
        return year * 4 + int(label[-1]) - 1
    return year * 12 + int(label[5:7]) - 1


def finish(t: Table, p: Params) -> Table:
    cells = [
        (str(c), str(s), integer(n), rev)
        for c, s, n, rev in t.select(["cohort", "period", "active", "revenue"])
    ]
    size = {c: n for c, s, n, _ in cells if c == s}  # every member buys in its own period
    found = {(c, index(s, p["by"]) - index(c, p["by"])): (n, rev) for c, s, n, rev in cells}
    last = max((index(s, p["by"]) for _, s, _, _ in cells), default=0)
    rows = []
    for c in sorted(size):  # every period up to the last sale's, those without a sale at 0
        for k in range(last - index(c, p["by"]) + 1):
            n, rev = found.get((c, k), (0, ZERO))
            rows.append((c, size[c], k, n, ratio(100 * n, size[c], 1), rev, ratio(rev, size[c])))
    return Table(COLUMNS, rows)


SPEC = ReportSpec(
    "cohorts",
    "retention and revenue per member of the customers won in each month (or quarter)",
    (Option("by", "choice", "cohort period", "month", ("month", "quarter")),),
    cols(*COLUMNS),
    finish,
    money=("revenue",),
    derived_money=("revenue_per_customer",),
    chart=lambda p: Chart("heatmap", "period", "retention_pct", "retention (%)", rows="cohort"),
)


def sql(d: Dialect, p: Params) -> Built:
    per_order = (  # grouped by the order's key alone (a stream in key order on MariaDB)
        "SELECT MAX(o.customer_id) AS customer_id, MAX(o.purchased_at) AS at,"
        " SUM(i.quantity * i.unit_price) AS revenue FROM orders o"
        f" JOIN order_items i ON i.order_id = o.order_id WHERE {SALE} GROUP BY o.order_id"
    )
    first = "SELECT t.customer_id, MIN(t.at) AS first_at FROM t GROUP BY t.customer_id"
    cohort, label = d.period("f.first_at", p["by"]), d.period("t.at", p["by"])
    sql = d.select(
        (cohort, "cohort"),
        (label, "period"),
        ("COUNT(DISTINCT t.customer_id)", "active"),
        (d.cents("SUM(t.revenue)"), "revenue"),
    )
    sql += f" FROM t JOIN ({first}) f ON f.customer_id = t.customer_id GROUP BY {cohort}, {label}"
    return f"WITH t AS ({d.node_rows(per_order)}) {sql}", []


SUMMARIES = ("customers",)


def summarized_sql(d: Dialect, p: Params) -> Built:
    """One row per customer and month: a cell's active customers are its rows (by
    quarter, its distinct customers)."""
    cohort, label = d.month_period("m.cohort", p["by"]), d.month_period("m.month", p["by"])
    active = "COUNT(*)" if p["by"] == "month" else "COUNT(DISTINCT m.customer_id)"
    sql = d.select(
        (cohort, "cohort"),
        (label, "period"),
        (active, "active"),
        (d.cents("SUM(m.revenue)"), "revenue"),
    )
    return f"{sql} FROM {st.CUSTOMER_MONTHS} m GROUP BY {cohort}, {label}", []


def pipeline(p: Params) -> Pipeline:
    return "orders", [
        {"$match": sale({}, with_lines=True)},
        {"$project": {"customer_id": 1, "purchased_at": 1, "revenue": order_revenue()}},
        {
            "$setWindowFields": {
                "partitionBy": "$customer_id",
                "output": {"first": {"$min": "$purchased_at"}},
            }
        },
        *_cells(p, "first", "purchased_at"),
    ]


def summarized_pipeline(p: Params) -> Pipeline:
    """Over MongoDB's per customer and month summary (its month and cohort: first days)."""
    return st.CUSTOMER_MONTHS, _cells(p, "cohort", "month")


def _cells(p: Params, first: str, at: str) -> list[dict[str, Any]]:
    """Per (cohort, period) cell, from documents with the customer, the dates `first` (of
    the customer's first purchase) and `at`, and revenue: its customers and revenue."""
    return [
        {
            "$group": {  # each customer once per cell
                "_id": {
                    "cohort": period(first, p["by"]),
                    "period": period(at, p["by"]),
                    "customer": "$customer_id",
                },
                "revenue": {"$sum": "$revenue"},
            }
        },
        {
            "$group": {
                "_id": {"cohort": "$_id.cohort", "period": "$_id.period"},
                "active": {"$sum": 1},
                "revenue": {"$sum": "$revenue"},
            }
        },
        {
            "$project": {
                "_id": 0,
                "cohort": "$_id.cohort",
                "period": "$_id.period",
                "active": 1,
                "revenue": 1,
            }
        },
    ]
