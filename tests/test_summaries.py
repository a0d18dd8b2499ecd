"""The sales summaries stay equal to the lines through any write (MongoDB's summary
collections too, for the reports that read them there).

Each check compares a report read from the summaries (`store.run_report`, which refreshes
them first) with the same report computed from the order lines (the report's `sql`,
without summaries), on a store that random writes keep changing through every write path:
imports in each mode, record inserts, updates and deletes, order placement and status
changes, orders moved between months and customers.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from conftest import BACKENDS
from test_reports_parity import generated_rows, load

import ecomcli
from ecomcli import Mode, reports, schema
from ecomcli.backends import mongo_summaries, summaries
from ecomcli.backends.mongo import plain
from ecomcli.backends.sql import SQLRepository
from ecomcli.orders import cart_add, set_status
from ecomcli.repository import Repository, with_defaults
from ecomcli.schema import SALES_INDEX
from ecomcli.table import Cents, Table, money, typed

SQL_BACKENDS = [b for b in BACKENDS if b in ("sqlite", "mysql")]
CHECKS: list[tuple[str, dict[str, Any]]] = [
    ("top-products", {}),
    ("top-products", {"from": "2024-03-01", "to": "2024-08-31"}),  # whole months
    ("top-products", {"from": "2024-03-11", "to": "2024-08-09"}),  # ragged edges
    ("top-products", {"from": "2024-05-03", "to": "2024-05-20"}),  # inside one month
    ("top-products", {"to": "2024-06-15"}),
    ("top-products", {"from": "2024-06-15"}),
    ("categories", {"from": "2024-02-10"}),
    ("sales", {"by": "day"}),
    ("sales", {"by": "week", "from": "2024-03-05", "to": "2024-09-09"}),
    ("sales", {"by": "quarter"}),
    ("customer-orders", {}),
    ("customer-orders", {"limit": 7}),
    ("customer-activity", {}),
    ("customer-activity", {"from": "2024-06-15"}),
    ("customer-activity", {"to": "2024-03-20"}),
    ("customer-activity", {"list": "inactive", "from": "2024-09-02"}),
    ("customer-activity", {"list": "active", "to": "2024-02-11"}),
    ("customer-activity", {"list": "inactive"}),
    ("delivery", {}),
    ("carts", {}),
    ("carts", {"discount": "10", "payment_method": "credit_card", "limit": 25}),
    ("ratings", {}),
    ("ratings", {"limit": 1000}),
    ("ratings", {"min_reviews": 3}),
    ("wishlists", {"by": "product"}),
    ("wishlists", {"by": "customer"}),
    ("wishlists", {"by": "customer", "limit": 5}),
    ("payments", {}),
    ("payments", {"from": "2024-03-11", "to": "2024-08-09"}),
    ("payments", {"to": "2024-06-15"}),
    ("payments", {"from": "2024-06-15"}),
    ("suppliers", {}),
    ("suppliers", {"top": True}),
    ("rfm", {}),
    ("rfm", {"list": True}),
    ("cohorts", {}),
    ("cohorts", {"by": "quarter"}),
    ("clv", {}),
    ("basket", {"min_support": "0"}),
    ("basket", {"min_support": "0", "from": "2024-03-11", "to": "2024-08-09"}),  # edges
    ("basket", {"min_support": "0", "from": "2024-05-03", "to": "2024-05-20"}),  # one month
    ("basket", {"min_support": "0.1", "limit": 1000}),
    ("basket", {"min_support": "0.1", "from": "2024-03-11", "to": "2024-08-09"}),
    ("basket", {"min_support": "0", "product": "P000003"}),
    ("restock", {}),  # MongoDB: the last sale day read from the daily summary
    ("restock", {"as_of": "2024-06-15"}),
]


def from_lines(store: Any, name: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    report = reports.report(name)
    if store.backend == "mongodb":  # the report's pipeline over the lines, as the backend's
        collection, pipeline = report.pipeline(report.spec.params(params))
        docs = list(store.db[collection].aggregate(pipeline))
        names = list(dict.fromkeys(k for d in docs for k in d if k != "_id"))
        table = Table(names, [tuple(plain(d.get(k)) for k in names) for d in docs])
        return sorted(typed(table, report.money, money, report.datetimes).rows)
    sql, binds = report.sql(store.dialect, report.spec.params(params))
    cur = store.execute(sql, binds)
    table = Table([d[0] for d in cur.description], cur.fetchall())
    cur.close()
    # as the backend returns it: money (cents) as Decimal, datetimes (text) as datetime
    return sorted(typed(table, report.money, Cents().__getitem__, report.datetimes).rows)


def from_summaries(store: Repository, name: str, params: dict[str, Any]) -> list[tuple]:
    return sorted(store.run_report(reports.report(name), reports.spec(name).params(params)).rows)


def assert_summaries_agree(store: Repository, step: str) -> None:
    mongo = store.backend == "mongodb"
    for name, params in CHECKS:
        p = reports.spec(name).params(params)
        report = reports.report(name)
        assert report.summaries(p) or report.mongo_summaries(p), (name, params)
        if not (report.mongo_summaries(p) if mongo else report.summaries(p)):
            continue  # a report this backend answers from the lines
        expected = from_lines(store, name, params)
        assert expected, (name, params, "an empty result proves nothing")
        assert from_summaries(store, name, params) == expected, (step, name, params)
    if mongo:  # all rebuilt: no mark left, every summary collection read
        assert store.db[mongo_summaries.MARKS].count_documents({}) == 0  # type: ignore[attr-defined]
        return
    marks = (*summaries.DIRTY.values(), summaries.DIRTY_PRICES, summaries.DIRTY_CUSTOMER_MONTHS)
    for table in marks:  # all rebuilt
        assert store.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0  # type: ignore[attr-defined]


@pytest.fixture(params=SQL_BACKENDS)
def loaded(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'summaries.db'}"
    else:
        url = request.getfixturevalue("mysql_server")
    yield from loaded_store(url, tmp_path)


@pytest.fixture
def loaded_sqlite(tmp_path: Path) -> Any:
    yield from loaded_store(f"sqlite:///{tmp_path / 'summaries.db'}", tmp_path)


@pytest.fixture
def loaded_mysql(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if "mysql" not in SQL_BACKENDS:
        pytest.skip("MySQL is not among ECOM_TEST_BACKENDS")
    yield from loaded_store(request.getfixturevalue("mysql_server"), tmp_path)


def loaded_store(url: str, tmp_path: Path) -> Any:
    data = generated_rows(tmp_path / "gen")
    with ecomcli.connect(url) as store:
        store.init_schema()
        if store.backend == "mysql":
            from conftest import empty

            empty(store)
        load(store, data)
        yield store, data


@pytest.fixture
def loaded_mongo(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """A generated store on MongoDB, if it is among the backends under test."""
    if "mongodb" not in BACKENDS:
        pytest.skip("MongoDB is not among ECOM_TEST_BACKENDS")
    prefix = request.getfixturevalue("mongo_server")
    data = generated_rows(tmp_path / "gen")
    with ecomcli.connect(f"{prefix}/ecom_sum_{uuid.uuid4().hex[:10]}") as store:
        store.init_schema(drop=True)
        load(store, data)
        yield store, data
        store.client.drop_database(store.db.name)  # type: ignore[attr-defined]


def test_mongo_summaries_equal_the_lines_through_writes(loaded_mongo: Any) -> None:
    """MongoDB's summary collections: every write path marks them, the next report rebuilds
    them, and each report over them equals its pipeline over the lines."""
    store, data = loaded_mongo
    rng = random.Random(5)
    assert_summaries_agree(store, "after the first load")
    orders = [o["order_id"] for o in data["orders"]]
    lines = [(i["order_id"], i["line_no"]) for i in data["order_items"]]
    payments = [p["payment_id"] for p in data["payments"]]
    products = [p["product_id"] for p in data["products"]]
    cart_ids = [c["cart_id"] for c in data["carts"]]
    cart_lines = [(i["cart_id"], i["product_id"]) for i in data["cart_items"]]
    steps = [
        lambda: store.write_batch(
            "orders",
            [{"order_id": o, "status": rng.choice(["delivered", "cancelled"])}
             for o in rng.sample(orders, 20)],
            Mode.MERGE, ["order_id", "status"],
        ),
        lambda: store.update("orders", (rng.choice(orders),),
                             {"purchased_at": datetime(2024, 2, 29, 23, 59, 59)}),
        lambda: store.update("order_items", rng.choice(lines), {"quantity": 9}),
        lambda: store.delete("order_items", rng.choice(lines)),
        lambda: store.insert("order_items", {
            "order_id": rng.choice(orders), "line_no": rng.randint(50, 10_000),
            "product_id": data["products"][0]["product_id"], "quantity": 3,
            "unit_price": Decimal("7.25"),
        }),
        lambda: store.update("payments", (rng.choice(payments),),
                             {"paid_at": datetime(2024, 5, 28, 23, 59)}),
        lambda: store.delete("payments", (rng.choice(payments),)),
        # carts: a line changed, removed, added; a price; a cart's own columns; a cart gone
        lambda: store.update("cart_items", rng.choice(cart_lines), {"quantity": 7}),
        lambda: store.delete("cart_items", rng.choice(cart_lines)),
        lambda: store.insert("cart_items", {
            "cart_id": rng.choice(cart_ids), "product_id": rng.choice(products), "quantity": 4,
        }),
        lambda: store.update("products", (rng.choice(products),), {"price": Decimal("12.34")}),
        lambda: store.update("carts", (rng.choice(cart_ids),), {"status": "abandoned"}),
        lambda: store.delete_record("carts", (rng.choice(cart_ids),), cascade=True),
    ]  # fmt: skip
    for n, step in enumerate(steps):
        with contextlib.suppress(ecomcli.EcomError):
            step()
        assert_summaries_agree(store, f"step {n}")


def test_summaries_equal_the_lines_through_random_writes(loaded: Any) -> None:
    store, data = loaded
    rng = random.Random(7)
    assert_summaries_agree(store, "after the first load")
    orders = {o["order_id"]: o for o in data["orders"]}
    lines = {(i["order_id"], i["line_no"]): i for i in data["order_items"]}
    customers = [c["customer_id"] for c in data["customers"]]
    products = [p["product_id"] for p in data["products"]]
    partners = [p["partner_id"] for p in data["delivery_partners"]]
    cart_ids = [c["cart_id"] for c in data["carts"]]
    cart_lines = [(i["cart_id"], i["product_id"]) for i in data["cart_items"]]
    review_ids = [r["review_id"] for r in data["reviews"]]
    wishlist_ids = [w["wishlist_id"] for w in data["wishlists"]]
    wishlist_lines = [(i["wishlist_id"], i["product_id"]) for i in data["wishlist_items"]]
    payments = {p["payment_id"]: p for p in data["payments"]}
    suppliers = [s["supplier_id"] for s in data["suppliers"]]
    supplies = [(s["supplier_id"], s["product_id"]) for s in data["supplies"]]

    def moved(order: dict[str, Any]) -> dict[str, Any]:  # another month, maybe customer
        when = order["purchased_at"] + timedelta(days=rng.choice([-95, -40, 31, 62]))
        return {**order, "purchased_at": when, "customer_id": rng.choice(customers)}

    steps = [
        # imports, in every mode and path
        lambda: store.write_batch(
            "orders", [moved(o) for o in rng.sample(list(orders.values()), 40)], Mode.UPSERT,
            schema.entity("orders").field_names,
        ),
        lambda: store.write_batch(
            "orders",
            [{"order_id": o, "status": rng.choice(["delivered", "cancelled", "returned"])}
             for o in rng.sample(list(orders), 30)],
            Mode.MERGE, ["order_id", "status"],
        ),
        lambda: store.write_batch(
            "order_items",
            [{**i, "quantity": i["quantity"] + 1, "unit_price": i["unit_price"] + Decimal("0.5")}
             for i in rng.sample(list(lines.values()), 50)],
            Mode.UPSERT, schema.entity("order_items").field_names,
        ),
        # records: one row at a time
        lambda: store.update("orders", (rng.choice(list(orders)),),
                             {"purchased_at": datetime(2024, 2, 29, 23, 59, 59)}),
        lambda: store.update("order_items", rng.choice(list(lines)), {"quantity": 9}),
        lambda: store.update("orders", (rng.choice(list(orders)),), {
            "delivered_at": datetime(2024, rng.randint(1, 12), 3, 8),
            "delivery_partner_id": rng.choice(partners),
        }),
        lambda: store.delete("order_items", rng.choice(list(lines))),
        lambda: store.delete_record("orders", (rng.choice(list(orders)),), cascade=True),
        lambda: set_status(store, rng.choice(list(orders)), "cancelled"),
        # carts: lines added, changed, removed; a price change; a cart's own columns
        lambda: cart_add(store, rng.choice(customers), rng.choice(products), 2),
        lambda: store.write_batch(
            "cart_items",
            [{**i, "quantity": i["quantity"] + 2} for i in rng.sample(data["cart_items"], 20)],
            Mode.MERGE, ["cart_id", "product_id", "quantity"],
        ),
        lambda: store.delete("cart_items", rng.choice(cart_lines)),
        lambda: store.update("products", (rng.choice(products),),
                             {"price": Decimal(rng.randint(100, 9999)) / 100}),
        lambda: store.write_batch(  # an import of new prices
            "products",
            [{"product_id": p, "price": Decimal(rng.randint(100, 9999)) / 100}
             for p in rng.sample(products, 3)],
            Mode.MERGE, ["product_id", "price"],
        ),
        lambda: store.update("carts", (rng.choice(cart_ids),),
                             {"status": "abandoned", "customer_id": rng.choice(customers)}),
        lambda: store.delete_record("carts", (rng.choice(cart_ids),), cascade=True),
        lambda: store.insert("order_items", {
            "order_id": rng.choice(list(orders)), "line_no": rng.randint(50, 10_000),
            "product_id": rng.choice(products), "quantity": 3, "unit_price": Decimal("7.25"),
        }),
        # reviews and wishlists: new, moved to another product or customer, removed
        lambda: store.insert("reviews", {
            "review_id": f"r-{rng.randint(0, 10**9)}", "product_id": rng.choice(products),
            "score": rng.randint(1, 5),
        }),
        lambda: store.update("reviews", (rng.choice(review_ids),),
                             {"product_id": rng.choice(products), "score": rng.randint(1, 5)}),
        lambda: store.delete("reviews", (rng.choice(review_ids),)),
        lambda: store.write_batch(
            "reviews",
            [{"review_id": r, "product_id": rng.choice(products), "score": 5}
             for r in rng.sample(review_ids, 15)],
            Mode.MERGE, ["review_id", "product_id", "score"],
        ),
        lambda: store.insert("wishlist_items", {
            "wishlist_id": rng.choice(wishlist_ids), "product_id": rng.choice(products),
        }),
        lambda: store.delete("wishlist_items", rng.choice(wishlist_lines)),
        lambda: store.update("wishlists", (rng.choice(wishlist_ids),),
                             {"customer_id": rng.choice(customers)}),
        lambda: store.delete_record("wishlists", (rng.choice(wishlist_ids),), cascade=True),
        # payments: new (one without a time), moved to another month, changed, removed
        lambda: store.insert("payments", {
            **rng.choice(list(payments.values())), "payment_id": f"p-{rng.randint(0, 10**9)}",
            "paid_at": rng.choice([None, datetime(2024, rng.randint(1, 12), 9, 10)]),
        }),
        lambda: store.update("payments", (rng.choice(list(payments)),), {
            "paid_at": rng.choice([None, datetime(2024, rng.randint(1, 12), 28, 23, 59)]),
        }),
        lambda: store.update("payments", (rng.choice(list(payments)),),
                             {"amount": Decimal(rng.randint(100, 99999)) / 100}),
        lambda: store.delete("payments", (rng.choice(list(payments)),)),
        lambda: store.write_batch(
            "payments",
            [{**p, "paid_at": p["paid_at"] and p["paid_at"] + timedelta(days=rng.randint(-60, 60))}
             for p in rng.sample(list(payments.values()), 20)],
            Mode.UPSERT, schema.entity("payments").field_names,
        ),
        lambda: store.write_batch(
            "payments",
            [{"payment_id": p, "method": rng.choice(schema.PAYMENT_METHODS)}
             for p in rng.sample(list(payments), 20)],
            Mode.MERGE, ["payment_id", "method"],
        ),
        # supplies: new, more units, removed (a supplier may lose its last), imported
        lambda: store.insert("supplies", {
            "supplier_id": rng.choice(suppliers), "product_id": rng.choice(products),
            "units": rng.randint(0, 500),
        }),
        lambda: store.update("supplies", rng.choice(supplies), {"units": rng.randint(0, 500)}),
        lambda: store.update("supplies", rng.choice(supplies),  # to another supplier
                             {"supplier_id": rng.choice(suppliers)}),
        lambda: store.delete("supplies", rng.choice(supplies)),
        lambda: store.write_batch(
            "supplies",
            [{"supplier_id": rng.choice(suppliers), "product_id": p, "units": 7}
             for p in rng.sample(products, 10)],
            Mode.UPSERT, ["supplier_id", "product_id", "units"],
        ),
        lambda: store.write_batch(
            "supplies",
            [{"supplier_id": s, "product_id": p, "units": rng.randint(0, 99)}
             for s, p in rng.sample(supplies, 10)],
            Mode.MERGE, ["supplier_id", "product_id", "units"],
        ),
    ]  # fmt: skip
    for round_no in range(3):
        for step in rng.sample(steps, len(steps)):
            # a row deleted earlier, a status change refused: as a user would see
            with contextlib.suppress(ecomcli.EcomError):
                step()
            # keep the sample pools to rows that still exist
            orders = {o["order_id"]: o for o in store.find("orders")}
            lines = {(i["order_id"], i["line_no"]): i for i in store.find("order_items")}
            cart_ids = [c["cart_id"] for c in store.find("carts")]
            cart_lines = [(i["cart_id"], i["product_id"]) for i in store.find("cart_items")]
            review_ids = [r["review_id"] for r in store.find("reviews")]
            wishlist_ids = [w["wishlist_id"] for w in store.find("wishlists")]
            wishlist_lines = [
                (i["wishlist_id"], i["product_id"]) for i in store.find("wishlist_items")
            ]
            payments = {p["payment_id"]: p for p in store.find("payments")}
            supplies = [(s["supplier_id"], s["product_id"]) for s in store.find("supplies")]
            assert_summaries_agree(store, f"round {round_no}")
    # new orders and lines: a fresh import (insert mode) and single inserts
    new_orders = [
        {**moved(o), "order_id": f"new-{n}", "status": "delivered"}
        for n, o in enumerate(rng.sample(list(orders.values()), 25))
    ]
    store.write_batch("orders", new_orders, Mode.INSERT, schema.entity("orders").field_names)
    new_lines = [
        {"order_id": o["order_id"], "line_no": 1, "product_id": rng.choice(products),
         "quantity": 2, "unit_price": Decimal("3.10")}
        for o in new_orders
    ]  # fmt: skip
    store.write_batch("order_items", new_lines[:20], Mode.IGNORE, ["order_id", "line_no"])
    for line in new_lines[20:]:
        store.insert("order_items", line)
    fields = schema.entity("payments").field_names
    paid = rng.sample(list(payments.values()), len(new_orders))
    new_payments = [
        {**p, "payment_id": f"new-{n}", "paid_at": o["purchased_at"], "order_id": o["order_id"]}
        for n, (p, o) in enumerate(zip(paid, new_orders, strict=True))
    ]
    store.write_batch("payments", new_payments[:10], Mode.INSERT, fields)
    store.write_batch("payments", new_payments, Mode.IGNORE, fields)
    assert_summaries_agree(store, "after new orders")


def test_init_db_rebuilds_summaries_after_writes_around_ecom(loaded: Any) -> None:
    store, _ = loaded
    assert_summaries_agree(store, "first")
    # a write ecom does not see: no mark, so the summaries are stale ...
    store.execute("UPDATE order_items SET quantity = quantity + 1").close()
    store.conn.commit()
    with pytest.raises(AssertionError):
        assert_summaries_agree(store, "stale")
    # ... until init-db, which makes the next report rebuild them all
    store.init_schema()
    assert_summaries_agree(store, "after init-db")


def test_basket_counts_a_sale_holding_a_product_twice_once(loaded: Any) -> None:
    """A sale with two lines of one product is one sale of it, and one of each pair it
    makes: in the monthly summary's sales of a product (which basket reads), in the pair
    counts and in the lines of a period's edge days (from the sale's day), both after
    the month's rebuild and after a whole one."""
    store, data = loaded
    sales = {o["order_id"]: o for o in data["orders"]
             if o["status"] not in ("pending", "cancelled", "returned")}
    # (a sale after the first of its month: the period from its day has an edge)
    line = next(i for i in data["order_items"]
                if i["order_id"] in sales and sales[i["order_id"]]["purchased_at"].day > 1)
    product, month = line["product_id"], sales[line["order_id"]]["purchased_at"]
    assert_summaries_agree(store, "first")
    store.insert("order_items", {**line, "line_no": 999, "quantity": 1})
    whole = {"min_support": "0"}
    period = {"min_support": "0", "from": month.date().isoformat()}

    def product_sales(params: dict[str, Any]) -> int:
        rows = from_summaries(store, "basket", params)
        return next(r[3] for r in rows if r[0] == "product" and r[1] == product)

    expected = [product_sales(params) for params in (whole, period)]
    for params in (whole, period):
        assert from_summaries(store, "basket", params) == from_lines(store, "basket", params)
    holding = sum(1 for i in data["order_items"]
                  if i["order_id"] in sales and i["product_id"] == product)
    assert expected[0] == holding  # (the new line's sale held it already)
    assert_summaries_agree(store, "a month rebuilt")
    summaries.forget(store)
    assert [product_sales(params) for params in (whole, period)] == expected
    assert_summaries_agree(store, "a whole rebuild")


def test_only_a_write_that_may_change_a_price_marks_it(loaded: Any) -> None:
    """A merge of stock levels, an insert or ignore batch of known products, or a stock
    update marks no price (the next carts report compares none); an upsert, a merge
    carrying prices or a price update marks the products it writes."""
    store, data = loaded
    assert_summaries_agree(store, "first")  # a refresh clears every mark

    def marked() -> list[str]:
        cur = store.execute(f"SELECT product_id FROM {summaries.DIRTY_PRICES} ORDER BY 1")
        return [r[0] for r in cur.fetchall()]  # type: ignore[attr-defined]

    ids = sorted(p["product_id"] for p in data["products"])[:3]
    stored = [store.get("products", (i,)) for i in ids]
    stock = [{"product_id": i, "units_in_stock": 7} for i in ids]
    store.write_batch("products", stock, Mode.MERGE, ["product_id", "units_in_stock"])
    store.write_batch("products", stored, Mode.IGNORE, list(stored[0]))
    store.write_batch("products", stored, Mode.INSERT, list(stored[0]))  # rejected
    store.update("products", (ids[0],), {"units_in_stock": 3})
    assert marked() == []
    store.write_batch("products", stored[:1], Mode.UPSERT, list(stored[0]))
    assert marked() == ids[:1]
    prices = [{"product_id": ids[1], "price": Decimal("1.25")}]
    store.write_batch("products", prices, Mode.MERGE, ["product_id", "price"])
    store.update("products", (ids[2],), {"price": Decimal("2.50")})
    assert marked() == ids
    assert_summaries_agree(store, "after the new prices")


def test_a_batch_that_changes_nothing_marks_nothing(loaded: Any) -> None:
    """A re-import of what is stored (every row unchanged) leaves every summary built, so
    the next report rebuilds nothing; a batch that changes a row marks as before."""
    store, data = loaded
    assert_summaries_agree(store, "first")  # a refresh clears every mark

    def marks() -> int:
        tables = (*summaries.DIRTY.values(), summaries.DIRTY_PRICES)
        return sum(store.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables)

    again = [e for e in schema.load_order()
             if data.get(e.name) and e.name in summaries.MARKERS
             and not any(f.unique for f in e.fields)]  # fmt: skip
    assert {"orders", "order_items", "payments", "carts", "cart_items"} <= {e.name for e in again}
    for e in again:
        result = store.write_batch(e.name, data[e.name], Mode.UPSERT, e.field_names)
        assert result.unchanged == len(data[e.name]), e.name
        assert marks() == 0, e.name
    line = dict(data["order_items"][0], quantity=data["order_items"][0]["quantity"] + 1)
    result = store.write_batch("order_items", [line, *data["order_items"][1:]], Mode.UPSERT,
                               schema.entity("order_items").field_names)
    assert (result.updated, marks() > 0) == (1, True)
    assert_summaries_agree(store, "after one changed line")


def marks_in(store: Any) -> dict[str, int]:
    tables = (*summaries.DIRTY.values(), summaries.DIRTY_PRICES, summaries.DIRTY_CUSTOMER_MONTHS)
    return {t: store.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


def test_a_write_marks_no_summary_that_is_not_built(loaded: Any) -> None:
    """A summary's first refresh rebuilds it whole, so writes before it mark nothing: an
    import into a new store leaves no mark to clear. Once built, it is marked again."""
    store, data = loaded
    assert set(marks_in(store).values()) == {0}  # the fixture imported the whole store
    from_summaries(store, "carts", {})  # builds the carts alone
    cart = data["cart_items"][0]
    store.update("cart_items", (cart["cart_id"], cart["product_id"]), {"quantity": 9})
    store.insert("order_items", new_line(data, data["orders"][0]["order_id"], 99))
    marked = {t for t, n in marks_in(store).items() if n}
    assert marked == {summaries.DIRTY["carts"]}
    assert_summaries_agree(store, "after the writes")


def test_a_payment_write_marks_the_months_it_may_change(loaded: Any) -> None:
    """The months of a payment as stored and as written ('' for no paid_at, also when a
    row leaves it out); a write of only fields the summary does not hold marks nothing."""
    store, data = loaded
    assert_summaries_agree(store, "first")  # a refresh clears every mark

    def marked() -> list[str]:
        cur = store.execute(f"SELECT month FROM {summaries.DIRTY_PAYMENTS} ORDER BY 1")
        found = [r[0] for r in cur.fetchall()]  # type: ignore[attr-defined]
        summaries.refresh(store, ["payments"])  # rebuilt: the marks are cleared
        return found

    p = next(p for p in data["payments"] if p["paid_at"] and p["paid_at"].month > 1)
    key, month = (p["payment_id"],), summaries.month_of(p["paid_at"])
    store.update("payments", key, {"installments": 3})
    store.write_batch("payments", [{"payment_id": key[0], "installments": 2}], Mode.MERGE,
                      ["payment_id", "installments"])  # fmt: skip
    assert marked() == []
    store.update("payments", key, {"paid_at": p["paid_at"].replace(month=1, day=5)})
    assert marked() == sorted([month, month[:5] + "01"])
    store.update("payments", key, {"amount": Decimal("1.00")})
    assert marked() == [month[:5] + "01"]
    bare = {k: v for k, v in p.items() if k not in ("paid_at", "payment_id")}
    store.insert("payments", {**bare, "payment_id": "no-time"})  # no paid_at key at all
    assert marked() == [""]
    store.write_batch("payments", [{**bare, "payment_id": key[0]}], Mode.UPSERT, list(bare))
    assert marked() == ["", month[:5] + "01"]
    merged = {"payment_id": "merged-new", "method": p["method"], "amount": Decimal("7.00")}
    merged = with_defaults(schema.entity("payments"), merged)
    store.write_batch("payments", [merged], Mode.MERGE, ["payment_id", "method", "amount"])
    assert marked() == [""]  # a new id: inserted whole, without paid_at
    assert_summaries_agree(store, "after payments without a time")


def test_init_db_gives_a_store_made_by_an_earlier_ecom_todays_indexes(loaded: Any) -> None:
    """The payments index the summary's refresh reads by range replaced the earlier one
    (on MySQL indexes are declared inside CREATE TABLE IF NOT EXISTS, so an existing table
    gets a new one only from init-db's upgrade step)."""
    store, _ = loaded
    new, old = "ix_payments_paid_at_method_amount", "ix_payments_method_paid_at_amount"
    on = "" if store.backend == "sqlite" else " ON payments"
    store.execute(f"DROP INDEX {new}{on}").close()
    store.execute(f"CREATE INDEX {old} ON payments (method, paid_at, amount)").close()
    assert old in index_names(store, "payments") and new not in index_names(store, "payments")
    store.init_schema()
    assert new in index_names(store, "payments") and old not in index_names(store, "payments")
    assert_summaries_agree(store, "after the upgrade")


def test_a_whole_rebuild_of_the_carts_keeps_the_index_the_report_reads(loaded: Any) -> None:
    """SQLite drops it for the rebuild and makes it after (a sort, not an insert per cart)."""
    store, _ = loaded
    store.init_schema()  # the next refresh rebuilds every summary
    assert_summaries_agree(store, "rebuilt")
    assert summaries.CARTS_INDEX in index_names(store, summaries.CARTS)


def test_a_whole_rebuild_of_the_carts_while_a_find_is_being_read(loaded: Any) -> None:
    """A statement of the same connection still open (SQLite: the table is locked against
    dropping its index): the rebuild still runs, the rows going into the index."""
    store, _ = loaded
    if store.backend != "sqlite":
        pytest.skip("MySQL reads one result at a time per connection: no such case")
    store.init_schema()
    reading = store.execute("SELECT cart_id FROM carts")  # as a `find` reads, a batch
    assert reading.fetchone()  # at a time: the statement stays open between them
    assert_summaries_agree(store, "rebuilt while reading")
    assert summaries.CARTS_INDEX in index_names(store, summaries.CARTS)
    assert len(reading.fetchall()) == store.count("carts") - 1


def index_names(store: Any, table: str) -> set[str]:
    if store.backend == "sqlite":
        cur = store.execute(f"PRAGMA index_list({table})")
        return {r[1] for r in cur.fetchall()}
    cur = store.execute(
        "SELECT index_name FROM information_schema.statistics"
        f" WHERE table_schema = DATABASE() AND table_name = '{table}'"
    )
    return {r[0] for r in cur.fetchall()}


def test_summaries_split_a_period_into_whole_months_and_edge_days() -> None:
    from datetime import date

    split = summaries.split
    assert split(None, None) == ((None, None), [])
    assert split(date(2025, 1, 1), date(2025, 3, 31)) == (("2025-01", "2025-03"), [])
    assert split(date(2025, 1, 10), date(2025, 6, 20)) == (
        ("2025-02", "2025-05"),
        [(date(2025, 1, 10), date(2025, 2, 1)), (date(2025, 6, 1), date(2025, 6, 21))],
    )
    assert split(date(2025, 1, 5), date(2025, 1, 20)) == (
        None, [(date(2025, 1, 5), date(2025, 1, 21))],
    )  # fmt: skip
    assert split(None, date(2025, 1, 20)) == (
        (None, "2024-12"), [(date(2025, 1, 1), date(2025, 1, 21))],
    )  # fmt: skip
    assert split(date(2025, 1, 10), None) == (
        ("2025-02", None), [(date(2025, 1, 10), date(2025, 2, 1))],
    )  # fmt: skip


def test_summaries_stay_exact_while_reports_refresh_during_writes(loaded: Any) -> None:
    """Writers on their own connections change orders, lines, prices, carts and payments
    while another connection keeps running reports (each refreshing the summaries): every
    change ends up either in what a refresh read or still marked, so a last refresh equals
    the lines."""
    store, data = loaded
    url = store.url.raw
    order_ids = [o["order_id"] for o in data["orders"]]
    customers = [c["customer_id"] for c in data["customers"]]
    products = [p["product_id"] for p in data["products"]]
    payment_ids = [p["payment_id"] for p in data["payments"]]
    failures: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        with ecomcli.connect(url) as mine:
            for n in range(25):
                key = (rng.choice(order_ids),)
                moved = {
                    "purchased_at": datetime(2024, rng.randint(1, 12), 15, 12),
                    "customer_id": rng.choice(customers),
                }
                status = {"status": rng.choice(["delivered", "cancelled", "shipped"])}
                line = {
                    "order_id": key[0], "line_no": 1000 * seed + n,
                    "product_id": rng.choice(products), "quantity": 2,
                    "unit_price": Decimal("4.40"),
                }  # fmt: skip
                price = {"price": Decimal(rng.randint(100, 9999)) / 100}
                paid = {
                    "paid_at": datetime(2024, rng.randint(1, 12), 15, 12),
                    "amount": Decimal(rng.randint(100, 9999)) / 100,
                }
                work = rng.choice([
                    partial(mine.update, "orders", key, moved),
                    partial(mine.update, "orders", key, status),
                    partial(mine.insert, "order_items", line),
                    partial(mine.update, "products", (rng.choice(products),), price),
                    partial(mine.update, "payments", (rng.choice(payment_ids),), paid),
                    partial(cart_add, mine, rng.choice(customers), rng.choice(products), 1),
                ])  # fmt: skip
                try:
                    mine.retrying(work, patience=30)
                except BaseException as e:  # reported by the main thread
                    failures.append(e)

    def reporter() -> None:
        with ecomcli.connect(url) as mine:
            for _ in range(15):
                for name in ("top-products", "customer-orders", "carts", "payments"):
                    try:
                        params = reports.spec(name).params({})
                        report = reports.report(name)
                        mine.retrying(lambda r=report, p=params: mine.run_report(r, p), patience=30)
                    except BaseException as e:
                        failures.append(e)

    threads = [threading.Thread(target=writer, args=(s,)) for s in (1, 2, 3)]
    threads.append(threading.Thread(target=reporter))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures, failures[:3]
    assert_summaries_agree(store, "after concurrent writes and refreshes")


def test_mysql_checks_a_summary_in_the_statement_that_reads_it(
    loaded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = loaded
    sent: list[str] = []
    execute = store.execute
    monkeypatch.setattr(store, "execute", lambda sql, *a: sent.append(sql) or execute(sql, *a))
    for params in ({}, {"list": "inactive"}):
        reports.run(store, "customer-activity", params)  # built, then fresh
        sent.clear()
        reports.run(store, "customer-activity", params)
        # a small result: one round trip on MySQL; SQLite (no round trip), and a list of
        # customers (a column more on every row), check in a statement of its own
        alone = store.dialect.name == "sqlite" or params
        assert len(sent) == (2 if alone else 1), (params, sent)


def test_a_read_only_connection_reads_the_lines(loaded: Any) -> None:
    """A read-only account or replica cannot refresh the summaries: its reports read the
    lines instead, and still equal them (the summaries here were never built)."""
    store, _ = loaded
    if store.backend == "sqlite":
        store.execute("PRAGMA query_only = ON").close()
    else:
        store.execute("SET SESSION TRANSACTION READ ONLY").close()
    for name, params in CHECKS:
        assert from_summaries(store, name, params) == from_lines(store, name, params)
    with pytest.raises(ecomcli.errors.ReadOnly):
        summaries.refresh(store, ("months",))


def sold_units(store: Any) -> tuple[list[tuple], list[tuple]]:
    """top-products from the summaries (refreshed) and from the lines."""
    return from_summaries(store, "top-products", {}), from_lines(store, "top-products", {})


def new_order(data: dict[str, Any], order_id: str) -> dict[str, Any]:
    return {
        **data["orders"][0], "order_id": order_id, "status": "delivered",
        "purchased_at": datetime(2024, 1, 20, 10),
    }  # fmt: skip


def new_line(data: dict[str, Any], order_id: str, line_no: int = 1) -> dict[str, Any]:
    product = data["products"][0]["product_id"]
    return {"order_id": order_id, "line_no": line_no, "product_id": product, "quantity": 5,
            "unit_price": Decimal("9.99")}  # fmt: skip


def test_a_refresh_inside_a_transaction_does_not_hide_its_later_writes(loaded: Any) -> None:
    store, data = loaded
    with store.transaction():
        store.insert("orders", new_order(data, "t-1"))
        sold_units(store)  # refreshes, in this transaction, and clears the marks
        store.insert("order_items", new_line(data, "t-1"))  # must mark again
    summary, lines = sold_units(store)
    assert summary == lines


def test_a_refused_write_does_not_keep_its_order_as_marked(loaded: Any) -> None:
    store, data = loaded
    existing = data["orders"][5]
    store.update("orders", (existing["order_id"],), {"status": "delivered"})
    sold_units(store)  # clean
    with store.transaction():
        clash = {**existing, "purchased_at": datetime(2023, 2, 2), "customer_id": "nobody"}
        with pytest.raises(ecomcli.errors.ConflictError):
            store.insert("orders", clash)  # refused: the key exists
        store.insert("order_items", new_line(data, existing["order_id"], 99))
    summary, lines = sold_units(store)
    assert summary == lines


def test_a_store_without_the_summary_tables_reads_the_lines(loaded: Any) -> None:
    """A store made by an older ecom: writes and reports work as before, until init-db."""
    store, data = loaded
    for table in summaries.TABLES:
        store.execute(f"DROP TABLE {table}").close()
    store.conn.commit()
    url = store.url.raw
    with ecomcli.connect(url) as old:
        assert not old.summarized
        old.insert("orders", new_order(data, "o-1"))
        old.insert("order_items", new_line(data, "o-1"))
        top = reports.report("top-products")
        got = sorted(old.run_report(top, top.spec.params({})).rows)
        assert got == from_lines(old, "top-products", {})
        old.init_schema()
        assert old.summarized
        assert_summaries_agree(old, "after init-db")


def test_a_wishlist_given_to_another_customer_changes_its_products_customers(
    loaded: Any,
) -> None:
    """Only the wishlist changes, not its lines: the products of its lines are marked."""
    store, data = loaded
    first = data["wishlist_items"][0]
    owner = {w["wishlist_id"]: w["customer_id"] for w in data["wishlists"]}[first["wishlist_id"]]
    other = next(c["customer_id"] for c in data["customers"] if c["customer_id"] != owner)
    store.insert("wishlists", {"wishlist_id": "w-new", "customer_id": other})
    store.insert("wishlist_items", {"wishlist_id": "w-new", "product_id": first["product_id"]})
    assert_summaries_agree(store, "a second customer wishes the product")
    store.update("wishlists", ("w-new",), {"customer_id": owner})  # one customer again
    assert_summaries_agree(store, "the wishlist given to the first customer")


def carts_key(store: Any) -> str:
    """How summary_carts is defined, as the database describes it (without spaces)."""
    if store.dialect.name == "sqlite":
        sql = f"SELECT group_concat(sql) FROM sqlite_master WHERE tbl_name = '{summaries.CARTS}'"
    else:
        sql = f"SHOW CREATE TABLE {summaries.CARTS}"
    cur = store.execute(sql)
    text = cur.fetchone()[-1]
    cur.close()
    return "".join(text.replace("`", "").split())


def test_init_db_remakes_summary_tables_that_an_older_ecom_made(loaded: Any) -> None:
    """An older ecom made summary_carts without the report's covering index: init-db
    makes it anew; with the current layout it leaves the summary tables (and their marks)
    alone."""
    store, _ = loaded
    assert "(totalDESC,cart_id,customer_id,status,n_lines,items)" in carts_key(store)
    sentinel = f"INSERT INTO {summaries.DIRTY_CARTS} VALUES ('sentinel', 0)"
    store.execute(sentinel).close()
    store.conn.commit()
    assert store.init_schema().created == []  # same layout: kept, and nothing to say
    marks = f"SELECT COUNT(*) FROM {summaries.DIRTY_CARTS} WHERE cart_id = 'sentinel'"
    assert store.execute(marks).fetchone()[0] == 1  # type: ignore[attr-defined]
    old = (
        f"CREATE TABLE {summaries.CARTS} (cart_id VARCHAR(64) NOT NULL PRIMARY KEY,"
        " customer_id VARCHAR(64) NOT NULL, status VARCHAR(11) NOT NULL,"
        " n_lines BIGINT NOT NULL, items BIGINT NOT NULL, total BIGINT NOT NULL)"
    )
    store.execute(f"DROP TABLE {summaries.CARTS}").close()
    store.execute(old).close()
    store.execute(f"DELETE FROM ecom_meta WHERE name = '{summaries.LAYOUT_ROW}'").close()
    store.conn.commit()
    # (init-db then says it made them: not "nothing to do")
    assert summaries.CARTS in store.init_schema().created
    assert "(totalDESC,cart_id,customer_id,status,n_lines,items)" in carts_key(store)
    assert store.execute(marks).fetchone()[0] == 0  # type: ignore[attr-defined]
    assert_summaries_agree(store, "after init-db remade them")


def test_init_db_gives_an_older_store_what_the_rebuilds_read(loaded: Any) -> None:
    """A store an older ecom made has another layout and, on SQLite, lacks the orders index
    the rebuilds look orders up in: init-db adds it, and every summary then rebuilds from
    scratch and agrees with the lines."""
    store, _ = loaded
    if store.dialect.name == "sqlite":
        store.execute(f"DROP INDEX {SALES_INDEX}").close()
    store.execute(f"DELETE FROM ecom_meta WHERE name = '{summaries.LAYOUT_ROW}'").close()
    store.conn.commit()
    store.init_schema()
    assert_summaries_agree(store, "rebuilt after init-db")


def test_a_report_while_init_db_remakes_the_tables_reads_no_empty_summary(loaded: Any) -> None:
    """On MySQL each DROP and CREATE commits: another connection's report between them
    and init-db's end must rebuild the new tables, not read them empty."""
    from ecomcli.backends.sql import schema_file

    store, _ = loaded
    assert_summaries_agree(store, "built")
    store.execute(f"DELETE FROM ecom_meta WHERE name = '{summaries.LAYOUT_ROW}'").close()
    store.conn.commit()
    summaries.drop_outdated(store)  # init-db's first steps, as another layout's store
    store._run_script(schema_file(store.dialect).read_text())
    store.conn.commit()
    with ecomcli.connect(store.url.raw) as other:  # before init-db's `forget`
        assert_summaries_agree(other, "during init-db")


def new_mysql_store(url: str) -> dict[str, Any]:
    """Load the generated rows into the new MySQL database at `url`; return them."""
    with ecomcli.connect(url) as setup:
        setup.init_schema()
        from conftest import empty

        empty(setup)
        data = generated_rows(Path(tempfile.mkdtemp()) / "gen")
        load(setup, data)
    return data


class HeldLine(threading.Thread):
    """Writes an order line on `store` and holds its transaction open until `commit` is
    set; an error goes to `errors`."""

    def __init__(self, store: Any, line: dict[str, Any], errors: list[BaseException]) -> None:
        super().__init__()
        self.store, self.line, self.errors = store, line, errors
        self.written, self.commit = threading.Event(), threading.Event()

    def run(self) -> None:
        try:
            with self.store.transaction():
                self.store.insert("order_items", self.line)
                self.written.set()
                self.commit.wait(30)
        except BaseException as e:
            self.errors.append(e)
            self.written.set()


def reporting(store: Any, errors: list[BaseException]) -> threading.Thread:
    """A started thread that reads top-products (refreshing its summaries) on `store`."""

    def report() -> None:
        try:
            sold_units(store)
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=report)
    thread.start()
    return thread


@pytest.mark.skipif("mysql" not in SQL_BACKENDS, reason="mysql not selected")
def test_mysql_a_line_written_while_its_order_is_uncommitted_is_not_lost(
    mysql_server: str,
) -> None:
    """W1 inserts an order and has not committed; W2 writes a line for it; a report refreshes
    between W1's commit and W2's. W2's mark must wait for W1 (a locking read), so that the
    refresh waits for W2 in turn."""
    data = new_mysql_store(mysql_server)
    w1, w2, reporter = (ecomcli.connect(mysql_server) for _ in range(3))
    sold_units(reporter)  # built and clean
    errors: list[BaseException] = []
    w2_line = HeldLine(w2, new_line(data, "race-1"), errors)
    with w1.transaction():
        w1.insert("orders", new_order(data, "race-1"))
        w2_line.start()
        time.sleep(0.5)  # W2 is waiting for W1's order
    assert w2_line.written.wait(30)
    refresher = reporting(reporter, errors)
    time.sleep(0.5)  # the refresh runs (or waits for W2's marks)
    w2_line.commit.set()
    w2_line.join(30)
    refresher.join(30)
    assert not errors, errors
    summary, lines = sold_units(reporter)
    assert summary == lines
    for s in (w1, w2, reporter):
        s.close()


@pytest.mark.skipif("mysql" not in SQL_BACKENDS, reason="mysql not selected")
def test_mysql_a_first_rebuild_waits_for_a_writer_that_skipped_its_marks(
    mysql_server: str,
) -> None:
    """W writes a line while the sales summaries are not built, so it marks nothing, and
    has not committed; a report then builds them. The rebuild must wait for W's commit
    and read its line: nothing marks it for a later refresh."""
    data = new_mysql_store(mysql_server)
    w, reporter = (ecomcli.connect(mysql_server) for _ in range(2))
    reporter.insert("orders", new_order(data, "race-2"))
    errors: list[BaseException] = []
    w_line = HeldLine(w, new_line(data, "race-2"), errors)
    w_line.start()
    assert w_line.written.wait(30)
    refresher = reporting(reporter, errors)
    time.sleep(0.5)  # the first rebuild starts (and waits for W)
    w_line.commit.set()
    w_line.join(30)
    refresher.join(30)
    assert not errors, errors
    assert marks_in(reporter)[summaries.DIRTY["months"]] == 0  # W marked nothing
    summary, lines = sold_units(reporter)
    assert summary == lines
    for s in (w, reporter):
        s.close()


def summary_rows(store: Any) -> dict[str, list[tuple]]:
    rows = {}
    for table in (*summaries.TABLES, summaries.PAIRS):
        cur = store.execute(f"SELECT * FROM {table}")
        rows[table] = sorted(cur.fetchall(), key=repr)
        cur.close()
    return rows


def rebuild_everything(store: Any) -> None:
    summaries.forget(store)
    summaries.refresh(store, summaries.BUILT)


@pytest.fixture
def beside_jobs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of SELECTs of each second reader a rebuild starts (SQLite)."""
    from ecomcli.backends import beside

    jobs: list[int] = []
    start = beside.Beside.__init__

    def counted(self: Any, path: Path, selects: Any, pragmas: Any = ()) -> None:
        jobs.append(len(selects))
        start(self, path, selects, pragmas)

    monkeypatch.setattr(beside.Beside, "__init__", counted)
    return jobs


def side_files() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("ecom-side-*.db"))


def test_a_whole_rebuild_reads_half_beside_and_equals_one_read_alone(
    loaded_sqlite: Any, beside_jobs: list[int]
) -> None:
    """SQLite, a rebuild in its own transaction: a second process reads part of each big
    statement (the daily and delivery sums, half the customers, carts and months of
    pairs) while the writer reads the rest. The summaries equal those of a rebuild that
    reads alone (inside an outer transaction), and no scratch file is left attached."""
    store, _ = loaded_sqlite
    before = side_files()
    rebuild_everything(store)
    assert beside_jobs == [2, 1, 1, 1]  # months, customers, carts, pairs
    beside = summary_rows(store)
    assert side_files() == before
    attached = [r[1] for r in store.execute("PRAGMA database_list").fetchall()]
    assert not [name for name in attached if name.startswith("ecom_side")], attached
    with store.transaction():  # an outer transaction: one connection reads it all
        rebuild_everything(store)
    assert beside_jobs == [2, 1, 1, 1]
    assert summary_rows(store) == beside
    assert all(beside[t] for t in (summaries.MONTHLY, summaries.CARTS, summaries.PAIRS))
    assert_summaries_agree(store, "after both rebuilds")


def test_a_rebuild_inside_a_transaction_reads_its_uncommitted_lines(
    loaded: Any, beside_jobs: list[int]
) -> None:
    """Another reader would not see what the transaction wrote: the rebuild reads alone."""
    store, data = loaded
    summaries.forget(store)
    with store.transaction():
        store.insert("orders", new_order(data, "t-2"))
        store.insert("order_items", new_line(data, "t-2"))
        summary, lines = sold_units(store)
        assert summary == lines
    assert beside_jobs == []


def test_a_failed_second_reader_leaves_its_part_to_the_writer(
    loaded_sqlite: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second reader that fails (a full temporary folder, say): a one-line warning, the
    writer reads its part itself, and the scratch file is removed."""
    from ecomcli.backends import beside

    store, _ = loaded_sqlite
    before = side_files()
    monkeypatch.setattr(beside, "CHILD", "import sys; sys.exit('disk full, say')")
    with pytest.warns(RuntimeWarning, match="second reader failed: disk full, say; read by"):
        assert_summaries_agree(store, "each part read by the writer")
    assert side_files() == before


def test_with_one_core_a_rebuild_reads_alone(
    loaded_sqlite: Any, beside_jobs: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecomcli.backends import sqlite

    store, _ = loaded_sqlite
    monkeypatch.setattr(sqlite, "SORT_THREADS", 1)
    assert_summaries_agree(store, "one core")
    assert beside_jobs == []


@pytest.fixture
def second_sessions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of statements each second session of a MySQL rebuild runs."""
    from ecomcli.backends import mysql_beside

    jobs: list[int] = []
    start = mysql_beside.SecondSession.__init__

    def counted(self: Any, conn: Any, work: Any) -> None:
        jobs.append(len(work))
        start(self, conn, work)

    monkeypatch.setattr(mysql_beside.SecondSession, "__init__", counted)
    return jobs


def scratch_tables(store: Any) -> list[str]:
    cur = store.execute("SHOW TABLES LIKE 'ecom_side%'")
    names = [r[0] for r in cur.fetchall()]
    cur.close()
    return names


def test_mysql_rebuilds_the_months_on_two_sessions(
    loaded_mysql: Any, second_sessions: list[int]
) -> None:
    """A whole rebuild reads its statements beside each other on other sessions (into
    empty summaries, all but the first; into full ones, all of them, on two): the same
    summaries as one session's, and no scratch table left."""
    store, _ = loaded_mysql
    summaries.forget(store)
    store.execute(f"DELETE FROM {summaries.MONTHLY}").close()  # (so into empty ones)
    for table in (summaries.DAILY, summaries.DELIVERY):
        store.execute(f"DELETE FROM {table}").close()
    summaries.refresh(store, ["months"])
    assert second_sessions == [2]  # the daily and delivery sums; the monthly ones here
    second_sessions.clear()
    summaries.forget(store)
    summaries.refresh(store, ["months"])
    assert second_sessions == [1, 2]  # the monthly sums; the daily and delivery ones
    rebuild_everything(store)
    assert scratch_tables(store) == []
    two = summary_rows(store)
    second_sessions.clear()
    with store.transaction():  # an outer transaction: one session reads it all
        rebuild_everything(store)
    assert second_sessions == []
    assert summary_rows(store) == two
    assert_summaries_agree(store, "after both rebuilds")


def test_mysql_rebuilds_the_pairs_in_two_parts_on_two_sessions(
    loaded_mysql: Any, second_sessions: list[int]
) -> None:
    """The pairs in two parts by month, one on each session (the pairs whole were the
    longest statement), and the basket report reads the same counts as from the
    lines."""
    store, _ = loaded_mysql
    summaries.forget(store)
    summaries.refresh(store, ["pairs"])
    assert second_sessions == [1, 1]
    assert scratch_tables(store) == []
    assert_summaries_agree(store, "the pairs read in parts")


def session_checks(store: Any) -> tuple[int, int]:
    cur = store.execute("SELECT @@session.unique_checks, @@session.foreign_key_checks")
    (checks,) = cur.fetchall()
    cur.close()
    return tuple(checks)


def test_mysql_a_rebuild_into_empty_summaries_keeps_the_session_checking_keys(
    loaded_mysql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole rebuild into empty summary tables turns the unique and foreign key checks
    off on its session to load them in bulk (InnoDB), and on again after, even when a
    statement fails: the session's later writes are checked as before."""
    store, _ = loaded_mysql
    summaries.forget(store)
    with store.transaction():
        for table in summaries.TABLES_OF["carts"]:
            store.execute(f"DELETE FROM {table}").close()
    seen: list[tuple[int, int]] = []
    replace_rows = SQLRepository.replace_rows

    def noted(self: Any, inserts: Any, **kwargs: Any) -> None:
        seen.append(session_checks(self))
        replace_rows(self, inserts, **kwargs)

    monkeypatch.setattr(SQLRepository, "replace_rows", noted)
    summaries.refresh(store, ["carts"])
    assert seen and all(checks == (0, 0) for checks in seen)
    assert session_checks(store) == (1, 1)
    assert_summaries_agree(store, "the carts loaded in bulk")

    summaries.forget(store)
    with store.transaction():
        for table in summaries.TABLES_OF["carts"]:
            store.execute(f"DELETE FROM {table}").close()

    def failing(self: Any, inserts: Any, **kwargs: Any) -> None:
        raise RuntimeError("killed, say")

    monkeypatch.setattr(SQLRepository, "replace_rows", failing)
    with pytest.raises(RuntimeError, match="killed, say"):
        summaries.refresh(store, ["carts"])
    assert session_checks(store) == (1, 1)


@contextlib.contextmanager
def summary_writes(store: Any) -> Iterator[list[tuple[str, str]]]:
    """The (table, INSERT | UPDATE | DELETE) of each row written to a summary table while
    inside, as triggers saw them (filled in when the block ends)."""
    tables = sorted({t for kind in summaries.BUILT for t in summaries.TABLES_OF[kind]})
    store.execute("CREATE TABLE test_writes (tbl VARCHAR(64), op VARCHAR(8))").close()
    triggers = [(f"test_w{n}_{op.lower()}", table, op)
                for n, table in enumerate(tables) for op in ("INSERT", "UPDATE", "DELETE")]
    seen: list[tuple[str, str]] = []
    try:
        for name, table, op in triggers:
            store.execute(f"CREATE TRIGGER {name} AFTER {op} ON {table} FOR EACH ROW"
                          f" INSERT INTO test_writes VALUES ('{table}', '{op}')").close()
        yield seen
        cur = store.execute("SELECT tbl, op FROM test_writes ORDER BY tbl, op")
        seen.extend(cur.fetchall())
        cur.close()
    finally:
        for name, _, _ in triggers:
            store.execute(f"DROP TRIGGER IF EXISTS {name}").close()
        store.execute("DROP TABLE test_writes").close()


def test_mysql_a_whole_rebuild_writes_only_the_rows_that_changed(loaded_mysql: Any) -> None:
    """Every summary rebuilt from every row after `init-db` forgot them (and by a big
    import's many marks) writes no row that was current: of a store written around ecom,
    only the rows of what changed."""
    store, data = loaded_mysql
    rebuild_everything(store)
    with summary_writes(store) as writes:
        rebuild_everything(store)
    assert writes == []
    ordered = {o.get("cart_id") for o in data["orders"]}
    with_lines = dict.fromkeys(i["cart_id"] for i in data["cart_items"])
    changed, gone = [c for c in with_lines if c not in ordered][:2]
    with store.transaction():  # around ecom: no marks
        store.execute("UPDATE cart_items SET quantity = quantity + 1 WHERE cart_id = %s",
                      [changed]).close()
        store.execute("DELETE FROM cart_items WHERE cart_id = %s", [gone]).close()
        store.execute("DELETE FROM carts WHERE cart_id = %s", [gone]).close()
        store.execute("INSERT INTO carts (cart_id, customer_id, status, created_at)"
                      " SELECT 'CNEW', customer_id, status, created_at FROM carts"
                      " WHERE cart_id = %s", [changed]).close()
    with summary_writes(store) as writes:
        rebuild_everything(store)
    carts = summaries.CARTS
    assert writes == [(carts, "DELETE"), (carts, "INSERT"), (carts, "UPDATE")]
    assert_summaries_agree(store, "after the carts changed around ecom")


def test_mysql_a_failed_second_session_leaves_its_part_to_the_first(
    loaded_mysql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecomcli.backends import mysql_beside

    store, _ = loaded_mysql

    def refused(self: Any) -> None:
        self._error = RuntimeError("CREATE command denied, say")

    monkeypatch.setattr(mysql_beside.SecondSession, "_run", refused)
    with pytest.warns(RuntimeWarning, match="second session failed: CREATE command denied"):
        assert_summaries_agree(store, "each part read by the first session")
    assert scratch_tables(store) == []


def test_mysql_whole_rebuilds_read_the_orders_in_key_order(
    loaded_mysql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole rebuilds that read every order's lines (the customers', the pairs')
    read the orders in key order, so that their lines come in key order too:
    through the covering (customer_id, ...) index the planner prefers, each order's lines
    were a random lookup (bench/README.md, rebuild_bench.py)."""
    store, _ = loaded_mysql
    selects: list[tuple[str, Sequence[Any]]] = []
    replace_rows = store.replace_rows

    def noted(inserts: Sequence[summaries.Insert], **kwargs: Any) -> None:
        selects.extend((i.select, i.binds) for i in inserts if "orders o" in i.select)
        replace_rows(inserts, **kwargs)

    monkeypatch.setattr(store, "replace_rows", noted)
    summaries.forget(store)
    summaries.refresh(store, ["customers", "pairs"])
    assert len(selects) >= 4  # the customers' halves, the pairs' parts
    for select, binds in selects:
        plan = store.query(f"EXPLAIN {select}", binds)
        keys = [row["key"] for row in plan if row["table"] == "o"]
        assert keys and all(k in (None, "PRIMARY") for k in keys), (select[:120], plan)
