"""--limit on the reports with a large result (carts, customer-orders) is applied in SQL;
the rows kept must be exactly the first N of the full, finished report (ties included)."""

from __future__ import annotations

from decimal import Decimal

from test_reports import (  # noqa: F401  (shop, rows: fixtures)
    frames,
    load,
    oracle_carts,
    oracle_customer_orders,
    rows,
    run,
    shop,
    typed,
)

from ecomcli import summary_tables
from ecomcli.repository import Repository


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


def five_carts(store: Repository) -> None:
    load(store, typed({
        "customers": [{"customer_id": "u1", "first_name": "U"}],
        "products": [{"product_id": "free", "name": "F", "price": "0.00"},
                     {"product_id": "five", "name": "V", "price": "5.00"}],
        "carts": [{"cart_id": k, "customer_id": "u1"} for k in "abcde"],
        "cart_items": [{"cart_id": "b", "product_id": "free", "quantity": 1},
                       {"cart_id": "c", "product_id": "five", "quantity": 2},
                       {"cart_id": "e", "product_id": "five", "quantity": 1}],
    }))  # fmt: skip


def test_carts_limit_ranks_empty_carts_by_id_among_zero_totals(store: Repository) -> None:
    # totals: c 10.00, e 5.00, then 0 for a (empty), b (a free product), d (empty): the
    # limited statement takes the largest summed lines plus the empty carts among the first
    # n ids, so n = 3 must bring in a, and n = 4 b before d
    five_carts(store)
    full = run(store, "carts")
    assert [r["cart_id"] for r in full] == ["c", "e", "a", "b", "d"]
    for n in range(1, 7):
        assert run(store, "carts", limit=n) == full[:n], n


def test_carts_limit_reads_from_a_floor_that_follows_price_changes(
    store: Repository, monkeypatch
) -> None:
    # MongoDB reads `--limit N` (N up to TOP_CARTS) from the TOP_CARTS-th total up: here
    # 5.00 (carts c, e), until the price change brings every total to 0
    monkeypatch.setattr(summary_tables, "TOP_CARTS", 2)
    five_carts(store)
    full = run(store, "carts")
    for n in (1, 2, 3):
        assert run(store, "carts", limit=n) == full[:n], n
    store.update("products", ("five",), {"price": Decimal("0.00")})
    full = run(store, "carts")
    assert [r["cart_id"] for r in full] == ["a", "b", "c", "d", "e"]
    for n in (1, 2, 3):
        assert run(store, "carts", limit=n) == full[:n], n
