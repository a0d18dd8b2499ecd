"""MongoDB specifics: the document design, validators, indexes, connection errors.

The contract itself (tests/test_contract.py) runs on MongoDB too; these tests look at
what is stored, the way the reports engineer's aggregation pipelines see it.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal

import pymongo
import pytest
from bson.decimal128 import Decimal128
from pymongo.errors import WriteError
from typer.testing import CliRunner

import ecomcli
from ecomcli import Filter, Mode, Query, schema
from ecomcli.backends.mongo import MongoRepository
from ecomcli.cli import app
from ecomcli.errors import ConflictError, EcomError, NotFoundError, TransientError
from ecomcli.validation import Validator, validate

BACKENDS = os.environ.get("ECOM_TEST_BACKENDS", "sqlite,mysql,mongodb").split(",")
pytestmark = pytest.mark.skipif("mongodb" not in BACKENDS, reason="mongodb not selected")


@pytest.fixture
def mongo_url(mongo_server: str) -> Iterator[str]:
    name = f"ecom_test_{uuid.uuid4().hex[:10]}"
    yield f"{mongo_server}/{name}"
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_server, serverSelectionTimeoutMS=3000)
    client.drop_database(name)
    client.close()


@pytest.fixture
def mongo(mongo_url: str) -> Iterator[MongoRepository]:
    with ecomcli.connect(mongo_url) as store:
        assert isinstance(store, MongoRepository)
        store.init_schema()
        yield store


def add(store: MongoRepository, entity: str, **values: object) -> None:
    store.insert(entity, validate(schema.entity(entity), values))


@pytest.fixture
def shop(mongo: MongoRepository) -> MongoRepository:
    add(mongo, "customers", customer_id="c1", first_name="Ada", date_of_birth="1990-02-28")
    add(mongo, "products", product_id="p1", name="Red shoe", price="19.99", units_in_stock=5)
    add(mongo, "products", product_id="p2", name="Cap (wool)", price="0.10", units_in_stock=0)
    add(mongo, "suppliers", supplier_id="s1", name="Acme")
    add(
        mongo,
        "orders",
        order_id="o1",
        customer_id="c1",
        status="paid",
        purchased_at="2024-03-01T10:00:00Z",
    )
    for line_no, product, price in ((1, "p1", "19.99"), (2, "p2", "0.10")):
        add(
            mongo,
            "order_items",
            order_id="o1",
            line_no=line_no,
            product_id=product,
            supplier_id="s1",
            unit_price=price,
        )
    return mongo


# --- connection ----------------------------------------------------------------------------


def test_unreachable_server_is_a_one_line_error_with_exit_code_7() -> None:
    started = time.monotonic()
    url = "mongodb://ecom:s3cret@127.0.0.1:1/x"
    result = CliRunner().invoke(app, ["status", "--db", url])
    assert result.exit_code == 7
    assert len(result.stderr.strip().splitlines()) == 1
    assert "mongodb://ecom:***@127.0.0.1:1/x" in result.stderr
    assert "refused" in result.stderr
    assert "s3cret" not in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 10


def test_timeouts_given_in_the_url_win_over_ecoms(mongo_url: str) -> None:
    sep = "&" if "?" in mongo_url else "?"
    with ecomcli.connect(f"{mongo_url}{sep}connectTimeoutMS=45000") as store:
        assert store.client.options.pool_options.connect_timeout == 45.0  # type: ignore[attr-defined]
    with ecomcli.connect(mongo_url) as store:
        assert store.client.options.pool_options.connect_timeout == 3.0  # type: ignore[attr-defined]


def test_cli_init_db_then_status(mongo_url: str) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["init-db", "--db", mongo_url])
    assert first.exit_code == 0, first.stderr
    assert "orders" in first.stderr
    again = runner.invoke(app, ["init-db", "--db", mongo_url])
    assert again.exit_code == 0
    assert "nothing to do" in again.stderr
    status = runner.invoke(app, ["status", "--db", mongo_url, "--format", "json"])
    assert status.exit_code == 0, status.stderr
    assert "mongodb" in status.stdout


# --- schema: validators, indexes, version -------------------------------------------------


def test_init_schema_creates_collections_validators_indexes_and_version(
    mongo: MongoRepository,
) -> None:
    names = set(mongo.db.list_collection_names())
    assert {"customers", "products", "orders", "carts", "wishlists", "ecom_meta"} <= names
    # embedded children have no collection of their own
    assert not {"order_items", "cart_items", "wishlist_items"} & names
    assert mongo.db.ecom_meta.find_one({"_id": "schema_version"})["value"] == (
        schema.SCHEMA_VERSION
    )
    options = {c["name"]: c["options"] for c in mongo.db.list_collections()}
    products = options["products"]["validator"]["$jsonSchema"]
    assert "price" in products["required"]
    assert products["properties"]["price"]["bsonType"] == "decimal"
    assert products["properties"]["kind"]["enum"] == list(schema.PRODUCT_KINDS)
    lines = options["orders"]["validator"]["$jsonSchema"]["properties"]["items"]
    assert lines["bsonType"] == "array"
    assert "order_id" not in lines["items"]["properties"]
    assert "unit_price" in lines["items"]["required"]


def test_init_schema_again_reports_nothing_and_keeps_data(shop: MongoRepository) -> None:
    again = shop.init_schema()
    assert again.created == []
    assert shop.count("order_items") == 2


def test_init_schema_drop_empties_the_store(shop: MongoRepository) -> None:
    result = shop.init_schema(drop=True)
    assert "orders" in result.created
    assert shop.counts() == {e.name: 0 for e in schema.ENTITIES}
    assert shop.schema_version() == schema.SCHEMA_VERSION


def test_init_schema_restores_a_removed_validator_and_index(mongo: MongoRepository) -> None:
    mongo.db.command("collMod", "customers", validator={})
    mongo.db.orders.drop_index("ix_orders_purchased_at")
    created = mongo.init_schema().created
    assert "customers validator" in created
    assert "orders.ix_orders_purchased_at" in created
    assert mongo.init_schema().created == []


@pytest.mark.parametrize(
    "bad",
    [
        {"price": "19.99"},  # money must be Decimal128
        {"kind": "furniture"},  # not in the enum
        {"name": "x" * 201},  # longer than the field
        {"units_in_stock": -1},  # below the minimum
        {"name": None},  # required
    ],
)
def test_validator_rejects_a_bad_document_written_directly(
    mongo: MongoRepository, bad: dict
) -> None:
    good = {
        "_id": "p9",
        **{f.name: None for f in schema.entity("products").fields},
        "product_id": "p9",
        "name": "Lamp",
        "kind": "general",
        "price": Decimal128("5.00"),
        "units_in_stock": 1,
        "reorder_level": 10,
    }
    mongo.db.products.insert_one(dict(good))  # the valid document passes
    mongo.db.products.delete_one({"_id": "p9"})
    with pytest.raises(WriteError, match="validation"):
        mongo.db.products.insert_one({**good, **bad})


def test_indexes_serve_lookups_and_reports(mongo: MongoRepository) -> None:
    def keys(collection: str) -> list[list[str]]:
        info = mongo.db[collection].index_information()
        return [[k for k, _ in ix["key"]] for ix in info.values()]

    orders = keys("orders")
    assert ["purchased_at"] in orders
    assert ["customer_id", "purchased_at", "status"] in orders
    assert ["items.product_id"] in orders  # order lines, by product: a multikey index
    assert ["order_id"] in keys("payments")
    assert ["product_id"] in keys("reviews")
    logins = mongo.db.logins.index_information()
    assert any(ix.get("unique") and ix["key"] == [("email", 1)] for ix in logins.values())


def test_login_email_is_unique(mongo: MongoRepository) -> None:
    add(mongo, "customers", customer_id="c1")
    add(mongo, "customers", customer_id="c2")
    add(mongo, "logins", customer_id="c1", email="a@example.com", password_hash="h")
    with pytest.raises(ConflictError, match=r"email 'a@example\.com' already exists"):
        add(mongo, "logins", customer_id="c2", email="a@example.com", password_hash="h")


# --- the document design ----------------------------------------------------------------------


def test_order_lines_live_inside_the_order_document(shop: MongoRepository) -> None:
    order = shop.db.orders.find_one({"_id": "o1"})
    assert order["order_id"] == "o1"
    assert order["purchased_at"] == datetime(2024, 3, 1, 10, 0, 0)
    assert [item["line_no"] for item in order["items"]] == [1, 2]
    assert set(order["items"][0]) == {
        "line_no",
        "product_id",
        "supplier_id",
        "quantity",
        "unit_price",
        "freight",
    }
    assert order["items"][0]["freight"] is None  # empty fields are stored as null


def test_money_is_decimal128_and_sums_exactly(shop: MongoRepository) -> None:
    add(shop, "products", product_id="p3", name="Pin", price="0.20", units_in_stock=1)
    assert shop.db.products.find_one({"_id": "p1"})["price"] == Decimal128("19.99")
    [total] = shop.db.products.aggregate([{"$group": {"_id": None, "sum": {"$sum": "$price"}}}])
    assert total["sum"].to_decimal() == Decimal("20.29")
    revenue = shop.db.orders.aggregate(
        [
            {"$unwind": "$items"},
            {"$group": {"_id": None, "sum": {"$sum": "$items.unit_price"}}},
        ]
    )
    assert next(revenue)["sum"] == Decimal128("20.09")


def test_dates_are_bson_dates_at_midnight_utc(shop: MongoRepository) -> None:
    stored = shop.db.customers.find_one({"_id": "c1"})["date_of_birth"]
    assert stored == datetime(1990, 2, 28)
    assert shop.require("customers", ("c1",))["date_of_birth"].isoformat() == "1990-02-28"


def test_composite_key_is_an_id_document(shop: MongoRepository) -> None:
    add(shop, "supplies", supplier_id="s1", product_id="p1", units=40)
    doc = shop.db.supplies.find_one()
    assert doc["_id"] == {"supplier_id": "s1", "product_id": "p1"}
    assert (doc["supplier_id"], doc["product_id"], doc["units"]) == ("s1", "p1", 40)
    assert shop.get("supplies", ("s1", "p1"))["units"] == 40
    with pytest.raises(ConflictError, match="already exists"):
        add(shop, "supplies", supplier_id="s1", product_id="p1", units=1)


def test_upserting_an_order_keeps_its_lines(shop: MongoRepository) -> None:
    check = Validator(schema.entity("orders"))
    row = check(
        {"order_id": "o1", "customer_id": "c1", "status": "shipped", "purchased_at": "2024-03-01"}
    )
    result = shop.write_batch("orders", [row], Mode.UPSERT, list(row))
    assert result.updated == 1
    assert shop.require("orders", ("o1",))["status"] == "shipped"
    assert shop.count("order_items", [Filter("order_id", "=", "o1")]) == 2


def test_child_rows_of_a_missing_parent_are_rejected(shop: MongoRepository) -> None:
    check = Validator(schema.entity("order_items"))
    batch = [
        check({"order_id": "o1", "line_no": 3, "product_id": "p1", "unit_price": "1.00"}),
        check({"order_id": "o404", "line_no": 1, "product_id": "p1", "unit_price": "1.00"}),
    ]
    result = shop.write_batch("order_items", batch, Mode.INSERT, list(batch[0]))
    assert result.inserted == 1
    assert result.rejected == [(1, "orders 'o404' not found")]
    with pytest.raises(NotFoundError, match="o404"):
        add(shop, "order_items", order_id="o404", line_no=1, product_id="p1", unit_price="1")


def test_insert_refuses_a_dangling_reference(shop: MongoRepository) -> None:
    with pytest.raises(NotFoundError, match="customers 'nobody' not found"):
        add(shop, "orders", order_id="o2", customer_id="nobody", purchased_at="2024-01-01")
    with pytest.raises(NotFoundError, match="products"):
        add(shop, "order_items", order_id="o1", line_no=3, product_id="p404", unit_price="1")


def test_contains_filter_treats_user_text_literally(shop: MongoRepository) -> None:
    def names(text: str) -> list[str]:
        found = shop.find("products", Query([Filter("name", "~", text)]))
        return [r["product_id"] for r in found]

    assert names("(WOOL)") == ["p2"]
    assert names(".*") == []
    assert names("(") == ["p2"]


def test_filters_on_lines_use_the_parent_and_the_line(shop: MongoRepository) -> None:
    query = Query([Filter("order_id", "=", "o1"), Filter("unit_price", "<", Decimal("1"))])
    assert [r["line_no"] for r in shop.find("order_items", query)] == [2]
    assert shop.distinct("order_items", "product_id") == ["p1", "p2"]
    assert shop.count("order_items", [Filter("product_id", "in", ["p2", "p9"])]) == 1


# --- transactions ----------------------------------------------------------------------------


def test_a_replica_set_runs_units_of_work_as_transactions(mongo: MongoRepository) -> None:
    assert mongo.transactions  # SecantusDB and Atlas are replica sets


def test_a_write_conflict_is_transient(shop: MongoRepository, mongo_url: str) -> None:
    with ecomcli.connect(mongo_url) as other, shop.transaction():
        shop.update("customers", ("c1",), {"first_name": "A"})
        with pytest.raises(TransientError), other.transaction():
            other.update("customers", ("c1",), {"first_name": "B"})
    assert shop.require("customers", ("c1",))["first_name"] == "A"


def test_a_failed_batch_writes_nothing(shop: MongoRepository) -> None:
    add(shop, "customers", customer_id="c2")
    add(shop, "logins", customer_id="c1", email="a@example.com", password_hash="h")
    check = Validator(schema.entity("logins"))
    batch = [
        check({"customer_id": "c3", "email": "new@example.com", "password_hash": "h"}),
        check({"customer_id": "c2", "email": "a@example.com", "password_hash": "h"}),
    ]
    with pytest.raises(ConflictError):
        shop.write_batch("logins", batch, Mode.INSERT, list(batch[0]))
    assert shop.get("logins", ("c3",)) is None


def test_without_transactions_units_of_work_still_run_and_nest(shop: MongoRepository) -> None:
    shop.transactions = False  # as on a standalone mongod
    with shop.transaction():
        add(shop, "customers", customer_id="c7")
        with shop.transaction():
            assert shop.add_stock("p1", -5) == 0
    assert shop.get("customers", ("c7",)) is not None
    assert shop.add_stock("p1", -1) is None  # the stock guard needs no transaction


def test_a_document_the_validator_refuses_names_the_field(mongo: MongoRepository) -> None:
    row = validate(schema.entity("categories"), {"category_id": "k1", "name": "Hats"})
    short = {"$jsonSchema": {"properties": {"name": {"bsonType": "string", "maxLength": 2}}}}
    mongo.db.command("collMod", "categories", validator=short)
    with pytest.raises(EcomError, match="validator refused a document: field name"):
        mongo.insert("categories", row)


def test_concurrent_sales_never_oversell(shop: MongoRepository, mongo_url: str) -> None:
    def sell_twenty() -> list[int | None]:
        with ecomcli.connect(mongo_url) as store:
            return [store.add_stock("p1", -1) for _ in range(20)]

    with ThreadPoolExecutor(2) as pool:
        results = [r for batch in pool.map(lambda _: sell_twenty(), range(2)) for r in batch]
    assert sorted(r for r in results if r is not None) == [0, 1, 2, 3, 4]
    assert shop.require("products", ("p1",))["units_in_stock"] == 0
