"""`ecom <entity> add|get|list|update|delete` and `products distinct`, through the CLI,
on every backend."""

from __future__ import annotations

import json
import shlex
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ecomcli
from ecomcli import errors, schema
from ecomcli.cli import app
from ecomcli.cli.records import command_name

runner = CliRunner()


class Ecom:
    """Runs `ecom ...` against one store (its URL in ECOM_DB): `ecom("customers", "get",
    "c1")`, or one string split like a shell line, `ecom("customers get c1")`."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    def __call__(self, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, argv(args), input=input, env={"ECOM_DB": self.db_url})

    def ok(self, *args: str, input: str | None = None) -> str:
        result = self(*args, input=input)
        assert result.exit_code == 0, f"{args}: {result.stderr}"
        return result.stdout

    def json(self, *args: str) -> object:
        return json.loads(self.ok(*argv(args), "--format", "json"))


def argv(args: tuple[str, ...]) -> list[str]:
    return shlex.split(args[0]) if len(args) == 1 else list(args)


@pytest.fixture
def ecom(db_url: str) -> Ecom:
    return Ecom(db_url)


@pytest.fixture
def shop(ecom: Ecom) -> Ecom:
    """Two customers, clothes in several sizes, one order with two lines."""
    ecom.ok("customers", "add", "--customer-id", "c1", "--first-name", "Ada", "--email", "a@x.io")
    ecom.ok("customers", "add", "--customer-id", "c2", "--first-name", "Bob")
    clothes = [
        ("p1", "Wool coat", "XXL", "wool", "women", "120.00"),
        ("p2", "Linen shirt", "XXXL", "linen", "men", "35.50"),
        ("p3", "Wool scarf", "M", "wool", "women", "15.00"),
        ("p4", "Cotton tee", "XXL", "cotton", "men", "9.99"),
    ]
    for pid, name, size, material, gender, price in clothes:
        ecom.ok(
            f"products add --product-id {pid} --name '{name}' --kind clothes --size {size} "
            f"--material {material} --gender {gender} --price {price} --units-in-stock 5"
        )
    ecom.ok("products", "add", "--product-id", "tv", "--name", "TV", "--price", "499.00")
    ecom.ok("orders add --order-id o1 --customer-id c1 --purchased-at '2024-01-02 03:04:05'")
    ecom.ok("order-items add --order-id o1 --line-no 1 --product-id p1 --unit-price 120.00")
    ecom.ok(
        "order-items add --order-id o1 --line-no 2 --product-id p4 --quantity 2 --unit-price 9.99"
    )
    return ecom


def ids(rows: object, key: str = "product_id") -> list[str]:
    assert isinstance(rows, list)
    return [r[key] for r in rows]


def test_every_entity_has_its_command_group(ecom: Ecom) -> None:
    for entity in schema.ENTITIES:
        result = ecom(command_name(entity), "--help")
        assert result.exit_code == 0, entity.name
        for command in ("get", "list", "update", "delete"):
            assert command in result.stdout
    assert "order-items" in ecom("--help").stdout
    assert "--delivery-partner-id" in ecom("orders", "add", "--help").stdout


def test_add_get_update_delete_a_customer(ecom: Ecom) -> None:
    out = ecom.ok(
        "customers",
        "add",
        "--customer-id",
        "c1",
        "--first-name",
        "Ada",
        "--email",
        "ada@example.com",
        "--date-of-birth",
        "1990-02-28",
    )
    assert out.strip() == "c1"
    got = ecom.json("customers", "get", "c1")
    assert got["email"] == "ada@example.com"
    assert got["date_of_birth"] == "1990-02-28"

    ecom.ok("customers", "update", "c1", "--phone", "+44 20 7946 0000")
    got = ecom.json("customers", "get", "c1")
    assert (got["phone"], got["first_name"]) == ("+44 20 7946 0000", "Ada")

    ecom.ok("customers", "delete", "c1")
    missing = ecom("customers", "get", "c1")
    assert missing.exit_code == errors.NOT_FOUND
    assert missing.stderr.strip() == "error: customers 'c1' not found"
    assert ecom("customers", "delete", "c1").exit_code == errors.NOT_FOUND
    assert ecom("customers", "update", "c1", "--phone", "1").exit_code == errors.NOT_FOUND


def test_add_generates_a_missing_id_and_prints_it(ecom: Ecom) -> None:
    new_id = ecom.ok("customers", "add", "--first-name", "Cy").strip()
    assert new_id
    assert ecom.json("customers", "get", new_id)["first_name"] == "Cy"


def test_add_from_json_json_file_and_set(ecom: Ecom, tmp_path: Path) -> None:
    ecom.ok("products", "add", "--json", '{"product_id": "p1", "name": "Shoe", "price": 19.99}')
    doc = tmp_path / "p2.json"
    doc.write_text('{"product_id": "p2", "name": "Hat", "price": "0.10", "units_in_stock": 3}')
    ecom.ok("products", "add", "--json-file", str(doc), "--set", "rating=4.5")
    ecom.ok("products", "update", "p1", "--json", '{"price": 0.07}')
    with ecomcli.connect(ecom.db_url) as store:
        assert store.require("products", ("p1",))["price"] == Decimal("0.07")
        p2 = store.require("products", ("p2",))
    assert (p2["price"], p2["rating"], p2["units_in_stock"]) == (Decimal("0.10"), Decimal("4.5"), 3)


def test_update_changes_only_what_is_given_and_validates_the_whole_row(shop: Ecom) -> None:
    shop.ok("products", "update", "p1", "--price", "99.90")
    p1 = shop.json("products", "get", "p1")
    assert (p1["price"], p1["size"], p1["name"]) == ("99.90", "XXL", "Wool coat")
    # a coat with a size cannot become a general product
    result = shop("products", "update", "p1", "--kind", "general")
    assert result.exit_code == errors.ERROR
    assert "size: is a clothes attribute" in result.stderr
    result = shop("products", "update", "p1", "--set", "product_id=p9")
    assert result.exit_code == errors.USAGE
    assert "cannot be changed" in result.stderr
    assert shop("products", "update", "p1").exit_code == errors.USAGE  # nothing to update


def test_invalid_values_name_the_field(ecom: Ecom) -> None:
    result = ecom("products", "add", "--product-id", "p1", "--name", "x", "--price", "1.999")
    assert result.exit_code == errors.ERROR
    assert result.stderr.startswith("error: price: more than 2 decimal places")
    result = ecom("customers", "add", "--customer-id", "c1", "--email", "not-an-email")
    assert "email: not an email address" in result.stderr
    result = ecom(
        "orders",
        "add",
        "--order-id",
        "o1",
        "--customer-id",
        "nobody",
        "--purchased-at",
        "2024-01-01",
    )
    assert result.exit_code == errors.NOT_FOUND
    assert "customer_id: customers 'nobody' not found" in result.stderr
    assert ecom.json("orders", "list") == []


def test_composite_keys_are_written_order_colon_line(shop: Ecom) -> None:
    line = shop.json("order-items", "get", "o1:2")
    assert (line["product_id"], line["quantity"], line["unit_price"]) == ("p4", 2, "9.99")
    shop.ok("order-items", "update", "o1:2", "--quantity", "3")
    assert shop.json("order-items", "get", "o1:2")["quantity"] == 3
    assert shop("order-items", "get", "o1:9").exit_code == errors.NOT_FOUND
    bad = shop("order-items", "get", "o1")
    assert bad.exit_code == errors.USAGE
    assert "ORDER_ID:LINE_NO" in bad.stderr
    assert shop("order-items", "get", "o1:x").exit_code == errors.USAGE
    shop.ok("order-items", "delete", "o1:2")
    assert ids(shop.json("order-items", "list"), "line_no") == [1]


def test_list_filters_sorts_and_pages(shop: Ecom) -> None:
    assert ids(shop.json("products", "list", "--where", "size in XXL,XXXL")) == ["p1", "p2", "p4"]
    assert ids(shop.json("products", "list", "-w", "price>=35.5", "-w", "kind = clothes")) == [
        "p1",
        "p2",
    ]
    assert ids(shop.json("products", "list", "-w", "name ~ WOOL")) == ["p1", "p3"]
    three_words = shop.json("products list --where size in XXL,XXXL --where gender = men")
    assert ids(three_words) == ["p2", "p4"]
    assert ids(shop.json("products", "list", "-w", "material != wool")) == ["p2", "p4"]
    assert ids(shop.json("products", "list", "-w", "size =")) == ["tv"]  # empty: no size
    assert ids(shop.json("products", "list", "--sort", "price", "--desc", "--limit", "2")) == [
        "tv",
        "p1",
    ]
    assert ids(shop.json("products", "list", "--sort", "price", "--offset", "3")) == ["p1", "tv"]


def test_list_output_formats(shop: Ecom) -> None:
    csv_out = shop.ok("customers", "list", "--format", "csv").splitlines()
    assert csv_out[0].startswith("customer_id,first_name,last_name,email")
    assert csv_out[1].startswith("c1,Ada,,a@x.io")
    ndjson = shop.ok("customers", "list", "--format", "ndjson").splitlines()
    assert [json.loads(line)["customer_id"] for line in ndjson] == ["c1", "c2"]
    table = shop.ok("customers", "list", "-w", "first_name=Bob", "--format", "table")
    assert "Bob" in table and "Ada" not in table


def test_q9_plus_sizes_for_a_gender_and_q10_materials_of_clothes(shop: Ecom) -> None:
    plus_for_men = shop.json(
        "products", "list", "-w", "kind=clothes", "-w", "gender=men", "-w", "size in XXL,XXXL"
    )
    assert ids(plus_for_men) == ["p2", "p4"]
    materials = shop.json("products", "distinct", "material", "--where", "kind=clothes")
    assert materials == [{"material": m} for m in ("cotton", "linen", "wool")]
    women = shop.json("products", "distinct", "material", "-w", "gender=women")
    assert women == [{"material": "wool"}]
    assert shop("products", "distinct", "colour").exit_code == errors.USAGE


def test_bad_where_sort_and_options_are_usage_errors(shop: Ecom) -> None:
    for where, message in [
        ("colour = red", "products has no field 'colour'"),
        ("price > cheap", "price: not a number"),
        ("size in XXL,HUGE", "'HUGE' is not one of"),
        ("price", "expected FIELD OP VALUE"),
        ("price > ", "> needs a value"),
    ]:
        result = shop("products", "list", "--where", where)
        assert result.exit_code == errors.USAGE, where
        assert message in result.stderr, (where, result.stderr)
    assert shop("products", "list", "--sort", "colour").exit_code == errors.USAGE
    assert shop("products list --where size in").exit_code == errors.USAGE
    assert shop("products list XXL").exit_code == errors.USAGE
    assert shop("products", "add", "--colour", "red").exit_code == errors.USAGE


def test_delete_of_a_referenced_record_needs_cascade(shop: Ecom) -> None:
    refused = shop("customers", "delete", "c1")
    assert refused.exit_code == errors.CONFLICT
    assert "referenced by 1 orders" in refused.stderr and "--cascade" in refused.stderr
    refused = shop("products", "delete", "p4")
    assert refused.exit_code == errors.CONFLICT and "order_items" in refused.stderr
    assert shop.json("customers", "get", "c1")["customer_id"] == "c1"

    shop.ok("customers", "delete", "c1", "--cascade")
    assert shop("customers", "get", "c1").exit_code == errors.NOT_FOUND
    assert shop.json("orders", "list") == []
    assert shop.json("order-items", "list") == []
    shop.ok("products", "delete", "p4")  # no order line refers to it any more


NASTY = [
    "'; DROP TABLE customers; --",
    "Robert'); DELETE FROM orders;--",
    '{"$ne": null}',
    "$where",
    "a.b",
    '100% _x_ \\ "q"',
]


def test_sql_and_mongodb_syntax_is_only_ever_data(shop: Ecom) -> None:
    for i, text in enumerate(NASTY):
        shop.ok("customers", "add", "--customer-id", f"n{i}", "--last-name", text)
        shop.ok("customers", "update", f"n{i}", "--first-name", text)
    for i, text in enumerate(NASTY):
        got = shop.json("customers", "get", f"n{i}")
        assert (got["first_name"], got["last_name"]) == (text, text)
        found = shop.json("customers", "list", "--where", f"last_name = {text}")
        assert ids(found, "customer_id") == [f"n{i}"]
    assert len(shop.json("customers", "list")) == 2 + len(NASTY)  # nothing dropped
    assert len(shop.json("orders", "list")) == 1

    # an id that is an operator is just an id that does not exist
    assert shop("customers", "get", '{"$ne": null}').exit_code == errors.NOT_FOUND
    assert shop("customers", "get", "' OR '1'='1").exit_code == errors.NOT_FOUND
    assert shop.json("customers", "list", "-w", "customer_id in ' OR 1=1 --,$gt") == []
    assert ids(shop.json("customers", "list", "-w", "last_name ~ 100%"), "customer_id") == ["n5"]
    assert shop.json("customers", "list", "-w", "first_name ~ %") != []  # a literal %: n5

    # operators and nested documents in JSON are refused, not interpreted
    for doc, message in [
        ('{"$where": "1"}', "$where: customers has no such field"),
        ('{"customer_id": "x", "first_name": {"$ne": null}}', "expected a single value"),
        ('{"customer_id": {"$gt": ""}}', "expected a single value"),
        ('{"a.b": 1}', "a.b: customers has no such field"),
        ("[1, 2]", "expected a JSON object"),
    ]:
        result = shop("customers", "add", "--json", doc)
        assert result.exit_code in (errors.ERROR, errors.USAGE), doc
        assert message in result.stderr, (doc, result.stderr)
    result = shop("customers", "update", "c2", "--json", '{"$set": {"first_name": "x"}}')
    assert result.exit_code == errors.ERROR and "$set" in result.stderr
    assert shop("customers", "update", "c2", "--set", "$where=1").exit_code == errors.ERROR
    assert shop.json("customers", "get", "c2")["first_name"] == "Bob"
    assert len(shop.json("customers", "list")) == 2 + len(NASTY)


def test_payment_cards_never_take_a_number_or_cvv(shop: Ecom) -> None:
    card = ["payment-cards", "add", "--card-id", "k1", "--customer-id", "c1", "--brand", "VISA"]
    for extra in (
        ["--number", "4111111111111111", "--last4", "1111"],
        ["--cvv", "123", "--last4", "1111"],
        ["--json", '{"card_number": "4111 1111 1111 1111"}'],
        ["--set", "CVC=123"],
    ):
        result = shop(*card, "--exp-month", "12", "--exp-year", "2030", *extra)
        assert result.exit_code == errors.ERROR, extra
        assert "never stored" in result.stderr
    add = "payment-cards add --card-id k1 --customer-id c1 --exp-month 1 --exp-year 2030"
    result = shop(f"{add} --brand 4111-1111-1111-1111 --last4 1111")
    assert result.exit_code == errors.ERROR and "looks like a full card number" in result.stderr
    result = shop(f"{add} --brand VISA --last4 12345")
    assert result.exit_code == errors.ERROR and "last4: longer than 4 characters" in result.stderr
    assert shop.json("payment-cards", "list") == []

    shop.ok(*card, "--last4", "1111", "--exp-month", "12", "--exp-year", "2030")
    assert shop.json("payment-cards", "get", "k1")["last4"] == "1111"


def test_logins_refuse_a_password_field(shop: Ecom) -> None:
    result = shop("logins", "add", "--customer-id", "c1", "--email", "a@x.io", "--password", "x")
    assert result.exit_code == errors.ERROR
    assert "set-password" in result.stderr
