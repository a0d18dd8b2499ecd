"""Values no field can hold, on every path into the store and every backend: numbers out
of their documented bounds, fields longer than the CSV reader's default limit, look-alike
identifiers and JSON objects that give a key twice. Each is a one-line error (or a
rejected row) naming the field; nothing else of the input is lost."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ecomcli
from ecomcli import schema
from ecomcli.cli import app

runner = CliRunner()
HUGE = "99999999999999999999"


def ecom(db_url: str, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), env={"ECOM_DB": db_url})


def one_line_error(result, field: str) -> str:  # type: ignore[no-untyped-def]
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (1, 2), result.stdout + result.stderr
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message, message
    assert field in message, message
    return message


def rejects(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def product(db_url: str) -> str:
    result = ecom(db_url, "products", "add", "--product-id", "p1", "--name", "Shoe",
                  "--price", "1.00", "--units-in-stock", "5")
    assert result.exit_code == 0, result.stderr
    return db_url


# --- bounds of numbers --------------------------------------------------------------------


def test_every_int_field_has_bounds_in_the_schema() -> None:
    for e in schema.ENTITIES:
        for f in e.fields:
            if f.type == "int":
                low, high = f.int_range
                assert schema.INT_RANGE[0] <= low <= high <= schema.INT_RANGE[1], f.name


ADD = ["products", "add", "--product-id", "p2", "--name", "x", "--price", "1"]


@pytest.mark.parametrize(("field", "args"), [
    ("units_in_stock", [*ADD, "--units-in-stock", HUGE]),
    ("units_in_stock", [*ADD, "--units-in-stock", "9223372036854775808"]),
    ("units_in_stock", [*ADD, "--units-in-stock", "1e12"]),
    ("units_in_stock", ["products", "update", "p1", "--units-in-stock", HUGE]),
    ("units_in_stock", ["products", "update", "p1", "--set", "units_in_stock=1e999999999"]),
    ("price", ["products", "update", "p1", "--set", f"price={HUGE}"]),
    ("price", ["products", "add", "--json", '{"product_id": "p2", "name": "x", "price": 1e400}']),
    ("price", ["products", "add", "--json", '{"product_id": "p2", "name": "x", "price": 1e30}']),
    ("reorder_level", ["products", "add", "--json",
                       '{"product_id": "p2", "name": "x", "price": 1, "reorder_level": 1e30}']),
])
def test_out_of_range_is_one_line_naming_the_field(product: str, field: str,
                                                   args: list[str]) -> None:
    assert "out of range" in one_line_error(ecom(product, *args), field)
    with ecomcli.connect(product) as store:
        assert store.count("products") == 1
        assert store.get("products", ("p1",))["units_in_stock"] == 5


def test_bounds_are_inclusive(product: str) -> None:
    high = schema.INT_RANGE[1]
    result = ecom(product, "products", "update", "p1", "--units-in-stock", str(high),
                  "--price", "9999999999.99")
    assert result.exit_code == 0, result.stderr
    with ecomcli.connect(product) as store:
        assert store.get("products", ("p1",))["units_in_stock"] == high


def test_huge_stock_change_is_a_usage_error(product: str) -> None:
    assert ecom(product, "inventory", "restock", "p1", HUGE).exit_code == 2
    assert ecom(product, "inventory", "adjust", "p1", HUGE, "--reason", "count").exit_code in (1, 2)
    with ecomcli.connect(product) as store:
        assert store.get("products", ("p1",))["units_in_stock"] == 5


def test_import_rejects_the_row_with_a_huge_number_and_keeps_the_rest(
    product: str, tmp_path: Path
) -> None:
    for name, text in [
        ("customers.csv", "customer_id\nc1\n"),
        ("orders.csv", "order_id,customer_id,purchased_at\no1,c1,2024-01-01 10:00:00\n"),
    ]:
        (tmp_path / name).write_text(text)
        assert ecom(product, "import", str(tmp_path / name)).exit_code == 0
    path = tmp_path / "order_items.csv"
    path.write_text("order_id,line_no,product_id,quantity,unit_price\n"
                    "o1,1,p1,2,1.00\n"
                    f"o1,2,p1,{HUGE},1.00\n"  # line 3
                    "o1,3,p1,1e12,1.00\n"  # line 4
                    f"o1,4,p1,1,{HUGE}\n"  # line 5
                    "o1,5,p1,1,1.00\n")
    result = ecom(product, "import", str(path))
    assert result.exit_code == 4, result.stderr
    got = {(r["line"], r["field"]) for r in rejects(tmp_path / "order_items.rejects.csv")}
    assert got == {("3", "quantity"), ("4", "quantity"), ("5", "unit_price")}
    with ecomcli.connect(product) as store:
        assert sorted(r["line_no"] for r in store.find("order_items")) == [1, 5]


def test_import_rejects_a_row_with_a_huge_field_naming_line_and_field(
    db_url: str, tmp_path: Path
) -> None:
    # Python's csv stops a whole file at a field over 128 KiB; docs/importing.md documents
    # the 64 MiB limit ecom reads, and the row is rejected by its field's own bound
    path = tmp_path / "reviews.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["review_id", "score", "comment", "title"])
        writer.writerow(["r1", "5", "long review " * 100_000, "ok"])  # 1.2 MB in one field
        writer.writerow(["r2", "4", "short", "x" * 10_000_000])  # a 10 MB line
        writer.writerow(["r3", "3", "é" * 30_000, "ok"])  # 60,000 bytes: what TEXT holds
        writer.writerow(["r4", "3", "é" * 40_000, "ok"])  # 80,000 bytes
    result = ecom(db_url, "import", str(path))
    assert result.exit_code == 4, result.stderr
    got = {(r["line"], r["field"]) for r in rejects(tmp_path / "reviews.rejects.csv")}
    assert got == {("2", "comment"), ("3", "title"), ("5", "comment")}
    with ecomcli.connect(db_url) as store:
        assert [r["review_id"] for r in store.find("reviews")] == ["r3"]
        assert store.get("reviews", ("r3",))["comment"] == "é" * 30_000


# --- look-alike identifiers -----------------------------------------------------------------


def test_ids_are_stored_in_nfc(db_url: str) -> None:
    decomposed = "Cafe\u0301"  # e + combining acute accent
    result = ecom(db_url, "customers", "add", "--customer-id", decomposed)
    assert result.exit_code == 0, result.stderr
    assert ecom(db_url, "customers", "get", "Caf\u00e9").exit_code == 0
    # the same id, composed, is the same customer
    assert ecom(db_url, "customers", "add", "--customer-id", "Caf\u00e9").exit_code == 5
    with ecomcli.connect(db_url) as store:
        assert [r["customer_id"] for r in store.find("customers")] == ["Caf\u00e9"]


@pytest.mark.parametrize("bad", ["C000\u200b0001", "C0000001\u00a0", "C\t1", "\u202eC1",
                                 "C\ufeff1"])
def test_invisible_and_control_characters_in_ids_are_refused(db_url: str, bad: str) -> None:
    one_line_error(ecom(db_url, "customers", "add", "--customer-id", bad), "customer_id")
    one_line_error(ecom(db_url, "customers", "add", "--json",
                        json.dumps({"customer_id": bad})), "customer_id")
    with ecomcli.connect(db_url) as store:
        assert store.count("customers") == 0


def test_import_rejects_invisible_characters_in_keys(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,first_name\nC0000001,Ada\nC0000001\u200b,Eve\n"
                    "Cafe\u0301,Bob\n", encoding="utf-8")
    assert ecom(db_url, "import", str(path)).exit_code == 4
    (row,) = rejects(tmp_path / "customers.rejects.csv")
    assert (row["line"], row["field"]) == ("3", "customer_id")
    assert "U+200B" in row["reason"]
    with ecomcli.connect(db_url) as store:
        assert sorted(r["customer_id"] for r in store.find("customers")) == ["C0000001",
                                                                              "Caf\u00e9"]


# --- duplicate JSON keys ----------------------------------------------------------------------


def test_json_body_with_a_key_twice_is_refused(product: str) -> None:
    result = ecom(product, "products", "update", "p1", "--json",
                  '{"name": "Boot", "name": "Sandal"}')
    assert result.exit_code == 2
    assert "name" in one_line_error(result, "name")
    with ecomcli.connect(product) as store:
        assert store.get("products", ("p1",))["name"] == "Shoe"


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_import_rejects_a_record_with_a_key_twice(db_url: str, tmp_path: Path,
                                                   fmt: str) -> None:
    records = ['{"customer_id": "c1", "first_name": "Ada"}',
               '{"customer_id": "c2", "first_name": "Bob", "first_name": "Eve"}',
               '{"customer_id": "c3"}']
    text = "\n".join(records) if fmt == "ndjson" else "[\n" + ",\n".join(records) + "\n]"
    path = tmp_path / f"customers.{fmt}"
    path.write_text(text + "\n")
    result = ecom(db_url, "import", str(path))
    assert result.exit_code == 4, result.stderr
    (row,) = rejects(tmp_path / "customers.rejects.csv")
    assert (row["line"], row["field"]) == ("2" if fmt == "ndjson" else "3", "first_name")
    with ecomcli.connect(db_url) as store:
        assert sorted(r["customer_id"] for r in store.find("customers")) == ["c1", "c3"]
