"""Mapping files: renames, constants, conversions, lookups, and splitting a flat export."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ecomcli
from ecomcli.cli import app
from ecomcli.errors import UsageError
from ecomcli.mapping import load

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data" / "mappings"


def ecom(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_flat_sales_sample_splits_into_four_entities(db_url: str, tmp_path: Path) -> None:
    rej = tmp_path / "rejects.csv"
    args = ["import", str(SAMPLES / "flat-sales.csv"), "--map", str(SAMPLES / "flat-sales.toml"),
            "--db", db_url, "--rejects", str(rej), "--json"]
    result = ecom(*args)
    assert result.exit_code == 4, result.stderr
    counts = {r["entity"]: r for r in json.loads(result.stdout)["entities"]}
    with ecomcli.connect(db_url) as store:
        stored = store.counts()
        customer = store.get("customers", ("17850",))
        order = store.get("orders", ("536365",))
        lines = list(store.find("order_items", ecomcli.Query([ecomcli.Filter(
            "order_id", "=", "536365")])))
        shoe = store.get("products", ("85123A",))
    # 8 distinct customers (one line has none), 13 invoices with a customer
    assert stored["customers"] == 8 and counts["customers"]["inserted"] == 8
    assert stored["orders"] == 13
    assert stored["order_items"] == 28
    assert customer is not None  # 17850.0 became 17850 because the mapping says as_int
    assert order["purchased_at"] == datetime(2010, 12, 1, 8, 26)
    assert [(li["line_no"], li["product_id"]) for li in lines][:2] == [(1, "85123A"), (2, "71053")]
    assert shoe["price"] == Decimal("2.55")  # the first line's price; the later one conflicts
    got = list(csv.DictReader(rej.open(newline="")))
    reasons = {(r["line"], r["entity"], r["field"]) for r in got}
    assert reasons == {
        ("26", "products", "price"),  # same product at another price: names line 2
        ("28", "orders", "customer_id"),  # a sale without a customer
        ("28", "order_items", "order_id"),  # ... so its line has no order
        ("29", "order_items", "quantity"),  # a cancellation (negative quantity)
    }
    assert any("line 2" in r["reason"] for r in got if r["line"] == "26")
    before = {e: list(ecomcli.connect(db_url).find(e)) for e in ("orders", "order_items")}
    again = ecom(*args)
    rows = json.loads(again.stdout)["entities"]
    assert all(r["inserted"] == r["updated"] == 0 for r in rows)
    assert {e: list(ecomcli.connect(db_url).find(e)) for e in before} == before


def test_conversions(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text(
        "ID,Name,Spent cents,Joined,Sex\n 7.0 , Ada ,1999,01.02.2024,F\n8,Bob,5,,M\n"
    )
    (tmp_path / "map.toml").write_text(
        """
[sources.people]
match = "people.csv"
[sources.people.customers]
customer_id = { column = "ID", trim = true, as_int = true }
first_name = { column = "Name", trim = true }
last_name = { value = "Imported" }
email = { template = "{Sex}{spent cents}@example.com" }
created_at = { column = "Joined", date_format = "%d.%m.%Y", default = "01.01.2000" }
gender = { column = "Sex", map = { F = "female", M = "male" } }
[sources.people.products]
optional = true
product_id = { template = "spend-{ID}", trim = true }
name = { value = "spend" }
price = { column = "Spent cents", scale = 0.01 }
"""
    )
    result = ecom("import", str(tmp_path / "people.csv"), "--map", str(tmp_path / "map.toml"),
                  "--db", db_url)
    assert result.exit_code == 0, result.stderr
    with ecomcli.connect(db_url) as store:
        bob = store.get("customers", ("8",))
        ada = store.get("customers", ("7",))
        assert store.get("products", ("spend-8",))["price"] == Decimal("0.05")
        assert store.get("products", ("spend- 7.0",))["price"] == Decimal("19.99")
    assert ada is not None and ada["first_name"] == "Ada"
    assert ada["created_at"] == datetime(2024, 2, 1)
    assert (bob["email"], bob["gender"], bob["last_name"]) == ("M5@example.com", "male", "Imported")
    assert bob["created_at"] == datetime(2000, 1, 1)


def test_lookup_and_value_map_over_a_folder(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "shop_customers.csv").write_text("cid,person\nk1,P1\nk2,P1\nk3,P2\n")
    (folder / "shop_orders.csv").write_text(
        "oid,cid,state,at\no1,k1,canceled,2017-01-01 10:00:00\no2,k2,invoiced,2017-01-02 "
        "10:00:00\no3,k9,delivered,2017-01-03 10:00:00\n"
    )
    (folder / "geo.csv").write_text("zip,lat\n1,2\n")
    (tmp_path / "m.toml").write_text(
        """
[sources.c]
match = "shop_customers.csv"
[sources.c.customers]
customer_id = "person"
[sources.o]
match = "shop_orders*.csv"
[sources.o.orders]
order_id = "oid"
customer_id.column = "cid"
customer_id.lookup = { file = "shop_customers.csv", key = "cid", value = "person" }
status = { column = "state", map = { canceled = "cancelled", invoiced = "paid" } }
purchased_at = "at"
[sources.geo]
match = "geo.csv"
skip = true
"""
    )
    result = ecom("import", str(folder), "--map", str(tmp_path / "m.toml"), "--db", db_url,
                  "--rejects", str(tmp_path / "rej"))
    assert result.exit_code == 4, result.stderr
    assert "geo.csv" in result.stderr
    with ecomcli.connect(db_url) as store:
        assert store.count("customers") == 2
        orders = {o["order_id"]: o for o in store.find("orders")}
    assert (orders["o1"]["customer_id"], orders["o1"]["status"]) == ("P1", "cancelled")
    assert (orders["o2"]["customer_id"], orders["o2"]["status"]) == ("P1", "paid")
    (bad,) = csv.DictReader((tmp_path / "rej" / "shop_orders.rejects.csv").open())
    assert bad["line"] == "4" and "k9" in bad["reason"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[orders]\nnope = 'x'\n", "no field 'nope'"),
        ("[wat]\nx = 'y'\n", "neither a setting"),
        ("[orders]\norder_id = { column = 'a', value = 'b' }\n", "only one of"),
        ("[orders\n", "invalid TOML"),
        ("[orders]\norder_id = { colum = 'a' }\n", "unknown key 'colum'"),
    ],
)
def test_bad_mapping_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        load(path)


def test_mapped_column_missing_from_file_stops_before_writing(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    (tmp_path / "m.toml").write_text("[customers]\ncustomer_id = 'CustomerID'\n")
    result = ecom("import", str(tmp_path / "x.csv"), "--map", str(tmp_path / "m.toml"),
                  "--db", db_url)
    assert result.exit_code == 1
    assert "customerid" in result.stderr and "x.csv" in result.stderr


def test_shipped_mappings_load() -> None:
    olist = load(SAMPLES / "olist.toml")
    assert olist.source_for("olist_orders_dataset.csv") is not None
    assert olist.source_for("olist_geolocation_dataset.csv").skip  # type: ignore[union-attr]
    lines = olist.source_for("olist_order_items_dataset.csv")
    assert lines is not None  # each line also says which seller supplies its product
    assert sorted(t.entity.name for t in lines.targets) == ["order_items", "supplies"]
    flat = load(SAMPLES / "flat-sales.toml")
    assert [t.entity.name for t in flat.sources[0].targets] == [
        "customers", "products", "orders", "order_items"
    ]
