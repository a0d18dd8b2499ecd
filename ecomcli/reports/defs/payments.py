"""payments: count and value of payments by method.

Its spec, statements (over the lines and over the summaries it reads), MongoDB pipeline
and finisher: see docs/reports.md for the definitions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecomcli import summary_tables as st
from ecomcli.reports.model import (
    FROM,
    TO,
    Built,
    Params,
    Pipeline,
    ReportSpec,
    Row,
    bar,
    cols,
    integer,
    per_row,
    ratio,
)
from ecomcli.reports.mongoparts import (
    between,
)

if TYPE_CHECKING:
    from ecomcli.backends.dialect import Dialect


@per_row
def finish(rows: list[Row], p: Params) -> list[Row]:
    out = [
        {
            "method": r["method"],
            "payments": integer(r["payments"]),
            "amount": r["amount"],
            "avg_amount": ratio(r["amount"], integer(r["payments"])),
        }
        for r in rows
    ]
    out.sort(key=lambda r: (-r["amount"], r["method"]))
    return out


SPEC = ReportSpec(
    "payments",
    "count and value of payments by method",
    (FROM, TO),
    cols("method", "payments", "amount", "avg_amount"),
    finish,
    money=("amount",),
    derived_money=("avg_amount",),
    chart=bar("method", "amount", "amount paid (currency units)"),
    listed=110,
)

SUMMARIES = ("payments",)


def sql(d: Dialect, p: Params) -> Built:
    return _statement(d, p, summarized=False)


def summarized_sql(d: Dialect, p: Params) -> Built:
    return _statement(d, p, summarized=True)


def _statement(d: Dialect, p: Params, summarized: bool) -> Built:
    binds: list[Any] = []
    if summarized:  # per day and method: ~3,600 rows at 1M payments
        where = ""
        if p.get("from"):
            where += f" AND s.day >= {d.ph}"
            binds.append(p["from"].isoformat())
        if p.get("to"):  # the day '' (no paid_at) sorts first: out of any period
            where += f" AND s.day <= {d.ph} AND s.day <> {st.UNDATED}"
            binds.append(p["to"].isoformat())
        sql = d.select(
            ("s.method", "method"),
            (d.whole("SUM(s.payments)"), "payments"),
            (d.cents("SUM(s.amount)"), "amount"),
        )
        return f"{sql} FROM {st.PAYMENTS} s WHERE 1 = 1{where} GROUP BY s.method", binds
    sql = d.select(
        ("pm.method", "method"), ("COUNT(*)", "payments"), (d.cents("SUM(pm.amount)"), "amount")
    )
    sql += f" FROM payments pm WHERE 1 = 1{d.between('pm.paid_at', p, binds)} GROUP BY pm.method"
    return sql, binds


def pipeline(p: Params) -> Pipeline:
    return "payments", [
        {"$match": between("paid_at", p)},
        {"$group": {"_id": "$method", "payments": {"$sum": 1}, "amount": {"$sum": "$amount"}}},
        {"$project": {"_id": 0, "method": "$_id", "payments": 1, "amount": 1}},
    ]


def summarized_pipeline(p: Params) -> Pipeline:
    """Over the daily summary per method (an undated payment's day is null: only a report
    without a period counts it, as over the payments)."""
    return st.PAYMENTS, [
        {"$match": between("day", p)},
        {
            "$group": {
                "_id": "$method",
                "payments": {"$sum": "$payments"},
                "amount": {"$sum": "$amount"},
            }
        },
        {"$project": {"_id": 0, "method": "$_id", "payments": 1, "amount": 1}},
    ]
