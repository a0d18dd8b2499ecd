"""The repository contract, written once: every backend must pass it unchanged."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from ecomcli import Filter, Mode, Query, schema
from ecomcli.errors import ConflictError, EcomError, NotFoundError
from ecomcli.repository import Repository
from ecomcli.validation import Validator, validate


def add(store: Repository, entity: str, **values: object) -> dict:
    row = validate(schema.entity(entity), values)
    store.insert(entity, row)
    return row


def rows(entity: str, *raw: dict) -> list[dict]:
    check = Validator(schema.entity(entity))
    return [check(r) for r in raw]


@pytest.fixture
def shop(store: Repository) -> Repository:
    """A tiny store: two customers, three products, one order with two lines."""
    add(store, "customers", customer_id="c1", first_name="Ada", email="ada@example.com")
    add(store, "customers", customer_id="c2", first_name="Bob", last_name="O'Brien")
    add(store, "categories", category_id="shoes", name="Shoes")
    add(
        store,
        "products",
        product_id="p1",
        name="Red shoe",
        price="19.99",
        category_id="shoes",
        units_in_stock=5,
    )
    add(
        store,
        "products",
        product_id="p2",
        name="Blue 100% wool shirt",
        price="0.10",
        kind="clothes",
        size="XXL",
        material="wool",
        gender="men",
        units_in_stock=0,
    )
    add(
        store,
        "products",
        product_id="p3",
        name="TV",
        price="1299.00",
        kind="electronics",
        weight_g=9000,
        width_cm="120.5",
        units_in_stock=12,
    )
    add(
        store,
        "orders",
        order_id="o1",
        customer_id="c1",
        status="paid",
        purchased_at="2024-03-01T10:00:00+02:00",
    )
    add(
        store,
        "order_items",
        order_id="o1",
        line_no=1,
        product_id="p1",
        quantity=2,
        unit_price="19.99",
    )
    add(
        store,
        "order_items",
        order_id="o1",
        line_no=2,
        product_id="p2",
        quantity=1,
        unit_price="0.10",
    )
    return store


def test_init_schema_is_idempotent_and_versioned(store: Repository) -> None:
    assert store.schema_version() == schema.SCHEMA_VERSION
    again = store.init_schema()
    assert again.created == []
    assert again.version == schema.SCHEMA_VERSION
    assert store.counts() == {e.name: 0 for e in schema.ENTITIES}


def test_values_round_trip_exactly(shop: Repository) -> None:
    p3 = shop.get("products", ("p3",))
    assert p3 is not None
    assert p3["price"] == Decimal("1299.00")
    assert p3["width_cm"] == Decimal("120.50")
    assert p3["weight_g"] == 9000
    order = shop.require("orders", ("o1",))
    assert order["purchased_at"] == datetime(2024, 3, 1, 8, 0, 0)  # stored as UTC
    add(shop, "customers", customer_id="c3", date_of_birth="1990-02-28")
    assert shop.require("customers", ("c3",))["date_of_birth"] == date(1990, 2, 28)


def test_get_missing_and_require(shop: Repository) -> None:
    assert shop.get("customers", ("nobody",)) is None
    with pytest.raises(NotFoundError, match="customers 'nobody' not found"):
        shop.require("customers", ("nobody",))


def test_insert_duplicate_key_is_a_conflict(shop: Repository) -> None:
    with pytest.raises(ConflictError, match="already exists"):
        add(shop, "customers", customer_id="c1")
    with pytest.raises(ConflictError):
        add(shop, "order_items", order_id="o1", line_no=1, product_id="p3", unit_price="1")


def test_find_filters_sort_and_paging(shop: Repository) -> None:
    def ids(*filters: Filter, **kw: object) -> list[str]:
        return [r["product_id"] for r in shop.find("products", Query(filters, **kw))]

    assert ids() == ["p1", "p2", "p3"]
    assert ids(Filter("price", ">", Decimal("1"))) == ["p1", "p3"]
    assert ids(Filter("price", "<=", Decimal("19.99"))) == ["p1", "p2"]
    assert ids(Filter("units_in_stock", "=", 0)) == ["p2"]
    assert ids(Filter("kind", "!=", "general")) == ["p2", "p3"]
    assert ids(Filter("size", "in", ["XXL", "XXXL"])) == ["p2"]
    assert ids(Filter("name", "~", "SHIRT")) == ["p2"]
    assert ids(Filter("name", "~", "100%")) == ["p2"]
    assert ids(Filter("name", "~", "_")) == []
    assert ids(Filter("category_id", "=", None)) == ["p2", "p3"]
    assert ids(Filter("kind", "=", "clothes"), Filter("gender", "=", "men")) == ["p2"]
    assert ids(sort=[("price", True)]) == ["p3", "p1", "p2"]
    assert ids(sort=[("price", False)], limit=2) == ["p2", "p1"]
    assert ids(sort=[("price", False)], limit=2, offset=2) == ["p3"]
    assert ids(offset=1) == ["p2", "p3"]


def test_count_and_distinct(shop: Repository) -> None:
    assert shop.count("products") == 3
    assert shop.count("products", [Filter("units_in_stock", ">", 0)]) == 2
    assert shop.distinct("products", "kind") == ["clothes", "electronics", "general"]
    assert shop.distinct("products", "material", [Filter("kind", "=", "clothes")]) == ["wool"]


def test_child_entities_behave_like_tables(shop: Repository) -> None:
    """Order lines may be embedded in their order (MongoDB); the contract does not care."""
    assert shop.count("order_items") == 2
    assert shop.count("order_items", [Filter("product_id", "=", "p2")]) == 1
    line = shop.require("order_items", ("o1", 2))
    assert line["unit_price"] == Decimal("0.10")
    found = list(shop.find("order_items", Query([Filter("quantity", ">=", 2)])))
    assert [(r["order_id"], r["line_no"]) for r in found] == [("o1", 1)]
    assert shop.update("order_items", ("o1", 2), {"quantity": 3})
    assert shop.require("order_items", ("o1", 2))["quantity"] == 3
    assert shop.delete("order_items", ("o1", 2))
    assert shop.get("order_items", ("o1", 2)) is None
    assert shop.count("order_items") == 1
    assert shop.existing_keys("order_items", [("o1", 1), ("o1", 2), ("zz", 1)]) == {("o1", 1)}


def test_update_changes_only_given_fields(shop: Repository) -> None:
    assert shop.update("customers", ("c1",), {"phone": "+1 555 0100"})
    c1 = shop.require("customers", ("c1",))
    assert (c1["phone"], c1["first_name"], c1["email"]) == ("+1 555 0100", "Ada", "ada@example.com")
    assert shop.update("customers", ("c1",), {"phone": "+1 555 0100"})  # same value: still found
    assert not shop.update("customers", ("nobody",), {"phone": "1"})


def test_update_with_expect_is_compare_and_set(shop: Repository) -> None:
    assert not shop.update("orders", ("o1",), {"status": "shipped"}, expect={"status": "pending"})
    assert shop.require("orders", ("o1",))["status"] == "paid"
    assert shop.update("orders", ("o1",), {"status": "shipped"}, expect={"status": "paid"})
    assert shop.require("orders", ("o1",))["status"] == "shipped"


def test_delete_record_refuses_while_referenced(shop: Repository) -> None:
    with pytest.raises(ConflictError, match="referenced by 1 orders"):
        shop.delete_record("customers", ("c1",))
    with pytest.raises(ConflictError, match="order_items"):
        shop.delete_record("products", ("p1",))
    shop.delete_record("customers", ("c2",))
    assert shop.get("customers", ("c2",)) is None
    shop.delete_record("customers", ("c1",), cascade=True)
    assert shop.count("orders") == 0
    assert shop.count("order_items") == 0
    with pytest.raises(NotFoundError):
        shop.delete_record("customers", ("c1",))


def test_add_stock_never_goes_below_zero(shop: Repository) -> None:
    assert shop.add_stock("p1", -3) == 2
    assert shop.add_stock("p1", -3) is None
    assert shop.require("products", ("p1",))["units_in_stock"] == 2
    assert shop.add_stock("p1", 10) == 12
    with pytest.raises(NotFoundError):
        shop.add_stock("nope", 1)


def test_transaction_rolls_back_everything(shop: Repository) -> None:
    with pytest.raises(RuntimeError), shop.transaction():
        add(shop, "customers", customer_id="c9")
        shop.add_stock("p1", -1)
        with shop.transaction():  # nested: joins the outer unit of work
            add(shop, "customers", customer_id="c10")
        raise RuntimeError("boom")
    assert shop.get("customers", ("c9",)) is None
    assert shop.get("customers", ("c10",)) is None
    assert shop.require("products", ("p1",))["units_in_stock"] == 5
    with shop.transaction():
        add(shop, "customers", customer_id="c9")
    assert shop.get("customers", ("c9",)) is not None


def test_atomic_runs_work_in_one_transaction(shop: Repository) -> None:
    def work() -> str:
        add(shop, "customers", customer_id="c11")
        raise EcomError("nope")

    with pytest.raises(EcomError):
        shop.atomic(work)
    assert shop.get("customers", ("c11",)) is None


def test_write_batch_modes_and_counts(shop: Repository) -> None:
    fields = ["customer_id", "first_name"]
    batch = rows(
        "customers",
        {"customer_id": "c1", "first_name": "Ada"},
        {"customer_id": "c2", "first_name": "Robert"},
        {"customer_id": "c3", "first_name": "Cy"},
    )
    r = shop.write_batch("customers", batch, Mode.INSERT, fields)
    assert (r.inserted, r.updated, r.unchanged) == (1, 0, 0)
    assert r.rejected == [(0, "key already exists"), (1, "key already exists")]
    assert shop.require("customers", ("c2",))["first_name"] == "Bob"

    batch = rows(
        "customers",
        {"customer_id": "c2", "first_name": "Robert"},
        {"customer_id": "c4", "first_name": "Di"},
    )
    r = shop.write_batch("customers", batch, Mode.IGNORE, fields)
    assert (r.inserted, r.ignored, r.updated) == (1, 1, 0)
    assert shop.require("customers", ("c2",))["first_name"] == "Bob"

    # merge: only the fields the input carried change; the rest is kept
    partial = Validator(schema.entity("customers"), partial=True)
    r = shop.write_batch(
        "customers", [partial({"customer_id": "c1", "first_name": "Ada L."})], Mode.MERGE, fields
    )
    assert (r.inserted, r.updated, r.unchanged) == (0, 1, 0)
    assert shop.require("customers", ("c1",))["email"] == "ada@example.com"

    # upsert: the row replaces the stored one (fields it lacks become empty)
    batch = rows(
        "customers",
        {"customer_id": "c1", "first_name": "Ada"},
        {"customer_id": "c2", "first_name": "Bob", "last_name": "O'Brien"},
    )
    r = shop.write_batch("customers", batch, Mode.UPSERT, fields)
    assert (r.inserted, r.updated, r.unchanged) == (0, 1, 1)
    assert shop.require("customers", ("c1",))["email"] is None

    # the same batch again changes nothing
    r = shop.write_batch("customers", batch, Mode.UPSERT, fields)
    assert (r.inserted, r.updated, r.unchanged) == (0, 0, 2)


def test_write_batch_of_child_rows(shop: Repository) -> None:
    batch = rows(
        "order_items",
        {"order_id": "o1", "line_no": 1, "product_id": "p1", "quantity": 2, "unit_price": "19.99"},
        {"order_id": "o1", "line_no": 2, "product_id": "p2", "quantity": 5, "unit_price": "0.10"},
        {
            "order_id": "o1",
            "line_no": 3,
            "product_id": "p3",
            "quantity": 1,
            "unit_price": "1299.00",
        },
    )
    fields = ["order_id", "line_no", "product_id", "quantity", "unit_price"]
    r = shop.write_batch("order_items", batch, Mode.UPSERT, fields)
    assert (r.inserted, r.updated, r.unchanged) == (1, 1, 1)
    assert shop.require("order_items", ("o1", 2))["quantity"] == 5
    assert shop.count("order_items") == 3


def test_merge_of_a_new_row_needs_its_required_fields(shop: Repository) -> None:
    partial = Validator(schema.entity("products"), partial=True)
    r = shop.write_batch(
        "products", [partial({"product_id": "p9", "name": "x"})], Mode.MERGE, ["product_id", "name"]
    )
    assert r.inserted == 0
    assert r.rejected and "price" in r.rejected[0][1]


def test_values_are_stored_verbatim(shop: Repository) -> None:
    nasty = [
        "Robert'); DROP TABLE customers;--",
        '{"$ne": null}',
        "$where",
        "a.b",
        '100% _off_ \\ "quoted"',
        "Zoë 😀 ünïcode",
    ]
    for i, text in enumerate(nasty):
        add(shop, "customers", customer_id=f"n{i}", first_name=text)
    for i, text in enumerate(nasty):
        assert shop.require("customers", (f"n{i}",))["first_name"] == text
    found = list(shop.find("customers", Query([Filter("first_name", "=", '{"$ne": null}')])))
    assert [r["customer_id"] for r in found] == ["n1"]
    assert shop.count("customers") == 2 + len(nasty)


def test_references_to(shop: Repository) -> None:
    assert shop.references_to("products", ("p1",)) == [("order_items", 1)]
    assert shop.references_to("products", ("p3",)) == []


def test_existing_keys(shop: Repository) -> None:
    assert shop.existing_keys("products", [("p1",), ("p3",), ("p7",)]) == {("p1",), ("p3",)}
    assert shop.existing_keys("products", []) == set()
