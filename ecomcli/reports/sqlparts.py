"""SQL pieces more than one report statement shares (see reports/defs/)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecomcli import summary_tables as st
from ecomcli.summary_tables import PURCHASE, SALE

if TYPE_CHECKING:
    from ecomcli.backends.dialect import Dialect

Params = dict[str, Any]

__all__ = ["PURCHASE", "SALE", "sold_per_product"]


def sold_per_product(
    d: Dialect, p: Params, binds: list[Any], summarized: bool = False
) -> str:
    """`SELECT product_id, units, revenue` sold in the period, one row per product.

    From the monthly summary: its whole months inside the period, UNION ALL the lines of
    the days left at the period's edges (read through the purchased_at index), so that
    `--from/--to` keep day precision. At 1M orders 106k summary rows instead of 2.35M
    lines: top-products 1.4 s to ~0.05 s on SQLite."""
    if not summarized:
        return (
            "SELECT i.product_id, SUM(i.quantity) AS units,"
            " SUM(i.quantity * i.unit_price) AS revenue"
            f" FROM {d.lines_then_orders()}"
            f" WHERE {SALE}{d.between('o.purchased_at', p, binds)} GROUP BY i.product_id"
        )
    months, edges = st.split(p.get("from"), p.get("to"))
    parts = []
    if months is not None:
        where = ""
        for month, op in zip(months, (">=", "<="), strict=True):
            if month is not None:
                where += f" AND s.month {op} {d.ph}"
                binds.append(month)
        parts.append(
            f"SELECT s.product_id, s.units, s.revenue FROM {st.MONTHLY} s WHERE 1 = 1{where}"
        )
    for start, before in edges:
        parts.append(
            "SELECT i.product_id, i.quantity AS units, i.quantity * i.unit_price AS revenue"
            " FROM orders o JOIN order_items i ON i.order_id = o.order_id"
            f" WHERE {SALE} AND o.purchased_at >= {d.ph} AND o.purchased_at < {d.ph}"
        )
        binds += [d.bound(start), d.bound(before)]
    return (
        "SELECT u.product_id, SUM(u.units) AS units, SUM(u.revenue) AS revenue"
        f" FROM ({' UNION ALL '.join(parts)}) u GROUP BY u.product_id"
    )
