"""A customer's orders and an order with its lines: what `ecom customers orders C` and
`ecom orders get O` show. An order's total is the sum of its lines (quantity x unit
price at the time of sale), as `ecom orders place` prints it; freight is apart."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from ecomcli.repository import Filter, Query, Repository

ORDER_COLUMNS = ["order_id", "status", "purchased_at", "lines", "units", "total"]
LINE_COLUMNS = ["line_no", "product_id", "name", "quantity", "unit_price", "line_total"]


def order_with_lines(store: Repository, order_id: str) -> tuple[dict[str, Any], list[dict]]:
    """The order (with `lines`, `units`, `total`) and its lines with product names."""
    order = store.require("orders", (order_id,))
    items = list(store.find("order_items", Query([Filter("order_id", "=", order_id)])))
    ids = sorted({i["product_id"] for i in items})
    names = {
        p["product_id"]: p["name"]
        for p in store.find("products", Query([Filter("product_id", "in", ids)]))
    } if ids else {}
    lines = [
        {**i, "name": names.get(i["product_id"]), "line_total": i["quantity"] * i["unit_price"]}
        for i in items
    ]
    return {**order, **_totals(items)}, lines


def customer_orders(store: Repository, customer_id: str) -> list[dict[str, Any]]:
    """The customer's orders, oldest first, each with its number of lines, units and total
    (exit 3 if there is no such customer)."""
    store.require("customers", (customer_id,))
    orders = list(store.find("orders", Query(
        [Filter("customer_id", "=", customer_id)], sort=[("purchased_at", False)])))
    items: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if orders:
        ids = [o["order_id"] for o in orders]
        for item in store.find("order_items", Query([Filter("order_id", "in", ids)])):
            items[item["order_id"]].append(item)
    return [{**o, **_totals(items[o["order_id"]])} for o in orders]


def _totals(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "lines": len(items),
        "units": sum(i["quantity"] for i in items),
        "total": sum((i["quantity"] * i["unit_price"] for i in items), Decimal("0.00")),
    }
