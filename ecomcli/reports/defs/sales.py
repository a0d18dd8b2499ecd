"""sales: orders, units, revenue and average order value per period.

Its spec, statements (over the lines and over the summaries it reads), MongoDB pipeline
and finisher: see docs/reports.md for the definitions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecomcli import summary_tables as st
from ecomcli.reports.model import (
    FROM,
    PERIODS,
    TO,
    ZERO,
    Built,
    Chart,
    Option,
    Params,
    Pipeline,
    ReportSpec,
    Table,
    cols,
    fill_periods,
    integer,
    ratio,
)
from ecomcli.reports.mongoparts import (
    between,
    order_revenue,
    order_units,
    period,
    sale,
)
from ecomcli.reports.sqlparts import SALE

if TYPE_CHECKING:
    from ecomcli.backends.dialect import Dialect


def finish(t: Table, p: Params) -> Table:
    names = ["period", "orders", "units", "revenue"]
    rows = [
        (str(period), integer(orders), integer(units), revenue, ratio(revenue, integer(orders)))
        for period, orders, units, revenue in t.select(names)
    ]
    rows = fill_periods(rows, p["by"], lambda label: (label, 0, 0, ZERO, None))
    return Table([*names, "avg_order_value"], rows)


SPEC = ReportSpec(
    "sales",
    "orders, units, revenue and average order value per period",
    (FROM, TO, Option("by", "choice", "period length", "month", PERIODS)),
    cols("period", "orders", "units", "revenue", "avg_order_value"),
    finish,
    money=("revenue",),
    derived_money=("avg_order_value",),
    chart=lambda p: Chart("line", "period", "revenue", "revenue (currency units)"),
    listed=90,
)

SUMMARIES = ("months",)


def sql(d: Dialect, p: Params) -> Built:
    return _statement(d, p, summarized=False)


def summarized_sql(d: Dialect, p: Params) -> Built:
    return _statement(d, p, summarized=True)


def _statement(d: Dialect, p: Params, summarized: bool) -> Built:
    binds: list[Any] = []
    if summarized:  # the daily summary: 730 rows at 1M orders
        where = ""
        for bound, op in ((p.get("from"), ">="), (p.get("to"), "<=")):
            if bound:
                where += f" AND s.day {op} {d.ph}"
                binds.append(d.day(bound))
        sql = d.select(
            (d.period("s.day", p["by"]), "period"),
            (d.whole("SUM(s.orders)"), "orders"),
            (d.whole("SUM(s.units)"), "units"),
            (d.cents("SUM(s.revenue)"), "revenue"),
        )
        label = d.q("period")
        sql += f" FROM {st.DAILY} s WHERE 1 = 1{where} GROUP BY {label} ORDER BY {label}"
        return sql, binds
    period = d.period("o.purchased_at", p["by"])
    # per order first, grouped by the key alone: MariaDB streams it in key order (grouping
    # by order_id, purchased_at made it sort 1M groups: 18 s at 1M orders)
    inner = (
        f"SELECT MAX({period}) AS label, SUM(i.quantity) AS units,"
        " SUM(i.quantity * i.unit_price) AS revenue"
        " FROM orders o JOIN order_items i ON i.order_id = o.order_id"
        f" WHERE {SALE}{d.between('o.purchased_at', p, binds)}"
        " GROUP BY o.order_id"
    )
    sql = d.select(
        ("t.label", "period"),
        ("COUNT(*)", "orders"),
        (d.whole("SUM(t.units)"), "units"),
        (d.cents("SUM(t.revenue)"), "revenue"),
    )
    sql += f" FROM ({inner}) t GROUP BY t.label ORDER BY t.label"
    return sql, binds


def pipeline(p: Params) -> Pipeline:
    return "orders", [
        {"$match": sale(p, with_lines=True)},
        {
            "$project": {
                "label": period("purchased_at", p["by"]),
                "units": order_units(),
                "revenue": order_revenue(),
            }
        },
        *_per_period("$label", {"$sum": 1}),
    ]


def summarized_pipeline(p: Params) -> Pipeline:
    """Over the daily summary (one document per day with a purchase)."""
    return st.DAILY, [
        {"$match": between("day", p)},
        *_per_period(period("day", p["by"]), {"$sum": "$orders"}),
    ]


def _per_period(label: Any, orders: Any) -> list[dict[str, Any]]:
    return [
        {
            "$group": {
                "_id": label,
                "orders": orders,
                "units": {"$sum": "$units"},
                "revenue": {"$sum": "$revenue"},
            }
        },
        {"$sort": {"_id": 1}},
        {"$project": {"_id": 0, "period": "$_id", "orders": 1, "units": 1, "revenue": 1}},
    ]
