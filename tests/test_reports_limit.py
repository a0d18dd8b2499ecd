"""--limit on the reports with a large result (carts, customer-orders) is applied in SQL;
the rows kept must be exactly the first N of the full, finished report (ties included)."""

from __future__ import annotations

from decimal import Decimal

from test_reports import (  # noqa: F401  (shop, rows: fixtures)
    frames,
    oracle_carts,
    oracle_customer_orders,
    rows,
    run,
    shop,
)


def test_carts_limit_keeps_the_largest_totals_then_cart_id(shop, rows) -> None:  # noqa: F811
    full = oracle_carts(frames(rows), Decimal("10"), "credit_card")
    assert any(r["discount"] for r in full[:5])
    for n in (1, 3, len(full) - 1, len(full) + 5):
        got = run(shop, "carts", discount="10", payment_method="credit_card", limit=n)
        assert got == full[:n]


def test_customer_orders_limit_cuts_after_items_orders_then_customer_id(
    shop,  # noqa: F811
    rows,  # noqa: F811
) -> None:
    full = oracle_customer_orders(frames(rows))
    idle = [r for r in full if r["items"] == 0]
    assert len(idle) >= 2  # customers without orders tie; customer_id decides
    for n in (1, 4, len(full) - len(idle) + 1):
        assert run(shop, "customer-orders", limit=n) == full[:n]
