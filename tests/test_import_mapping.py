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
created_at = { column = "Joined", date_format = "%d.%m.%Y", default = "2000-01-01" }
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


def test_lookup_of_a_key_with_several_values_rejects_the_row(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("cid,person\nk1,P1\nk2,P1\nk2,P2\nk3,P3\nk3,P3\n")
    (tmp_path / "orders.csv").write_text("oid,cid\no1,k1\no2,k2\no3,k3\n")
    (tmp_path / "m.toml").write_text(
        '[orders]\norder_id = "oid"\npurchased_at = { value = "2024-01-01 10:00:00" }\n'
        'customer_id = { column = "cid", lookup = { file = "people.csv", key = "cid", '
        'value = "person" } }\n'
    )
    (tmp_path / "customers.csv").write_text("customer_id\nP1\nP2\nP3\n")
    assert ecom("import", str(tmp_path / "customers.csv"), "--db", db_url).exit_code == 0
    result = ecom("import", str(tmp_path / "orders.csv"), "--map", str(tmp_path / "m.toml"),
                  "--db", db_url, "--rejects", str(tmp_path / "rej.csv"))
    assert result.exit_code == 4, result.stderr
    with ecomcli.connect(db_url) as store:  # k3 is listed twice with the same person: fine
        assert {o["order_id"]: o["customer_id"] for o in store.find("orders")} == {
            "o1": "P1", "o3": "P3"
        }
    (bad,) = csv.DictReader((tmp_path / "rej.csv").open())
    assert (bad["line"], bad["field"]) == ("3", "customer_id")
    assert "'k2' has several values in lookup file people.csv" in bad["reason"]


def test_optional_lookup_leaves_the_field_empty(db_url: str, tmp_path: Path) -> None:
    """A review rates an order; it rates a product when its order holds exactly one."""
    (tmp_path / "lines.csv").write_text(
        "order_id,product_id\no1,p1\no2,p1\no2,p2\no3,p2\no3,p2\no5,\n"
    )
    (tmp_path / "reviews.csv").write_text(
        "rid,oid,score\nr1,o1,5\nr2,o2,4\nr3,o3,2\nr4,o4,1\nr5,o5,3\n"
    )
    (tmp_path / "m.toml").write_text(
        '[reviews]\nreview_id = "rid"\nscore = "score"\n'
        'product_id = { column = "oid", lookup = { file = "lines.csv", key = "order_id", '
        'value = "product_id", optional = true } }\n'
    )
    (tmp_path / "products.csv").write_text("product_id,name,price\np1,Tee,9.99\np2,Mug,4.50\n")
    assert ecom("import", str(tmp_path / "products.csv"), "--db", db_url).exit_code == 0
    result = ecom("import", str(tmp_path / "reviews.csv"), "--map", str(tmp_path / "m.toml"),
                  "--db", db_url)
    assert result.exit_code == 0, result.stderr
    told = " ".join(result.stderr.split())  # as wrapped on a narrow terminal
    blank = "reviews.product_id left empty where lines.csv gives it no value or several"
    assert f"{blank}, on 3 rows" in told
    with ecomcli.connect(db_url) as store:
        rated = {r["review_id"]: r["product_id"] for r in store.find("reviews")}
    assert rated == {"r1": "p1", "r2": None, "r3": "p2", "r4": None, "r5": None}
    (tmp_path / "more.csv").write_text("rid,oid,score\nr6,o9,5\nr7,o1,x\nr8,o1,y\n")
    stopped = ecom("import", str(tmp_path / "more.csv"), "--map", str(tmp_path / "m.toml"),
                   "--db", db_url, "--max-errors", "1", "--rejects", str(tmp_path / "rej"))
    assert stopped.exit_code not in (0, 4), stopped.stderr  # stopped early, and still told
    assert f"{blank}, on 1 row" in " ".join(stopped.stderr.split())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[orders]\nnope = 'x'\n", "no field 'nope'"),
        ("[wat]\nx = 'y'\n", "neither a setting"),
        ("[orders]\norder_id = { column = 'a', value = 'b' }\n", "only one of"),
        ("[orders\n", "invalid TOML"),
        ("[orders]\norder_id = { colum = 'a' }\n", "unknown key 'colum'"),
        ("[orders]\norder_id.lookup = { file = 'f.csv', key = 'k' }\n", "lookup needs"),
        ("[orders]\nstatus.lookup = { file = 'f.csv', key = 'k', value = 'v', optional = 'no' }\n",
         "optional must be true or false, got 'no'"),
        ("[orders]\norder_id = { column = 'a', trim = 1 }\n", "trim must be true or false"),
        ("[sources.x]\nmatch = 'x.csv'\nskip = 'yes'\n", "skip must be true or false"),
        ("trim = true\n[orders]\norder_id = 'a'\n", "'trim' is neither a setting"),
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


OLIST = {  # the export's layout, our own rows: o1 holds one product, o2 two, o3 none
    "product_category_name_translation.csv": "product_category_name,product_category_name_english\n"
    "casa,home\n",
    "olist_customers_dataset.csv": "customer_id,customer_unique_id,customer_zip_code_prefix,"
    "customer_city,customer_state\nc1,u1,01046,sao paulo,SP\nc2,u1,01046,sao paulo,SP\n"
    "c3,u2,70740,brasilia,DF\n",
    "olist_sellers_dataset.csv": "seller_id,seller_zip_code_prefix,seller_city,seller_state\n"
    "s1,70740,brasilia,DF\n",
    "olist_products_dataset.csv": "product_id,product_category_name,product_weight_g,"
    "product_length_cm,product_height_cm,product_width_cm\np1,casa,100.0,10,10,10\n"
    "p2,casa,200.0,20,20,20\n",
    "olist_orders_dataset.csv": "order_id,customer_id,order_status,order_purchase_timestamp,"
    "order_approved_at,order_delivered_carrier_date,order_delivered_customer_date,"
    "order_estimated_delivery_date\n"
    "o1,c1,delivered,2018-01-05 10:00:00,2018-01-05 10:30:00,,,\n"
    "o2,c2,delivered,2018-02-05 10:00:00,2018-02-06 09:00:00,,,\n"
    "o3,c3,created,2018-03-05 10:00:00,,,,\n",
    "olist_order_items_dataset.csv": "order_id,order_item_id,product_id,seller_id,price,"
    "freight_value\no1,1,p1,s1,10.0,1.0\no2,1,p1,s1,10.0,1.0\no2,2,p2,s1,20.0,1.0\n",
    "olist_order_payments_dataset.csv": "order_id,payment_sequential,payment_type,"
    "payment_installments,payment_value\no1,1,credit_card,1,11.0\no2,1,boleto,1,32.0\n"
    "o3,1,voucher,0,5.0\n",
    "olist_order_reviews_dataset.csv": "review_id,order_id,review_score,review_comment_title,"
    "review_comment_message,review_creation_date\nr1,o1,2,,,2018-01-10 00:00:00\n"
    "r2,o2,5,,,2018-02-10 00:00:00\nr3,o3,1,,,2018-03-10 00:00:00\n",
}


def test_olist_reviews_rate_their_orders_product_and_payments_take_its_approval(
    tmp_path: Path,
) -> None:
    for name, text in OLIST.items():
        (tmp_path / name).write_text(text)
    db = f"sqlite:///{tmp_path / 'olist.db'}"
    assert ecom("init-db", "--db", db).exit_code == 0
    result = ecom("import", str(tmp_path), "--map", str(SAMPLES / "olist.toml"), "--db", db)
    assert result.exit_code == 0, result.stderr
    with ecomcli.connect(db) as store:
        reviewed = {r["review_id"]: r["product_id"] for r in store.find("reviews")}
        paid = {p["order_id"]: p["paid_at"] for p in store.find("payments")}
        ratings = store.report("ratings").to_dict("records")
        payments = store.report("payments", from_="2018-02-01").to_dict("records")
    assert reviewed == {"r1": "p1", "r2": None, "r3": None}  # o2 holds two products, o3 none
    assert paid == {"o1": datetime(2018, 1, 5, 10, 30), "o2": datetime(2018, 2, 6, 9), "o3": None}
    assert {(r["end"], r["product_id"], r["reviews"]) for r in ratings} == {
        ("lowest", "p1", 1), ("highest", "p1", 1)
    }  # fmt: skip
    assert [(p["method"], p["payments"]) for p in payments] == [("bank_transfer", 1)]


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


@pytest.mark.parametrize("batch", [[], ["--batch-size", "1"]])
def test_flat_line_keeps_a_parent_an_earlier_line_wrote(db_url: str, tmp_path: Path,
                                                        batch: list[str]) -> None:
    # README "Splitting a flat file": a line whose order row is rejected keeps its order
    # line when an earlier line wrote that order; with no such line it is rejected too;
    # whatever the batch size
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    path = tmp_path / "sales.csv"
    path.write_text(header
                    + "9001,A,Thing,1,12/1/2010 8:26,1.00,1.0,UK\n"  # line 2
                    + "9001,B,Other,2,12/1/2010 9:30,2.00,1.0,UK\n"  # 3: another time
                    + "9002,A,Thing,1,not a date,1.00,1.0,UK\n")  # 4: no order at all
    rej = tmp_path / "rejects.csv"
    result = ecom("import", str(path), "--map", str(SAMPLES / "flat-sales.toml"),
                  "--db", db_url, "--rejects", str(rej), *batch)
    assert result.exit_code == 4, result.stderr
    got = {(r["line"], r["entity"], r["field"]) for r in csv.DictReader(rej.open(newline=""))}
    assert got == {("3", "orders", "purchased_at"), ("4", "orders", "purchased_at"),
                   ("4", "order_items", "order_id")}
    with ecomcli.connect(db_url) as store:
        assert [(r["order_id"], r["line_no"], r["quantity"]) for r in store.find("order_items")
                ] == [("9001", 1, 1), ("9001", 2, 2)]
        assert [r["order_id"] for r in store.find("orders")] == ["9001"]


def test_mapped_numbers_out_of_range_are_rejected_rows(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "stock.csv").write_text(
        "Code,Units,Cents\n"
        "a,5,100\n"
        "b,99999999999999999999,100\n"  # line 3: more units than a field holds
        "c,inf,100\n"  # 4
        "d,1e999999999,100\n"  # 5: int() of it would take 400 MB
        "e,5,1e999999\n"  # 6: past Decimal's exponent once scaled
        "f,5,1e30\n"  # 7: a price of 1e28
        "g,6,200\n"
    )
    (tmp_path / "map.toml").write_text(
        """
[sources.stock]
match = "stock.csv"
[sources.stock.products]
product_id = "Code"
name = { value = "thing" }
units_in_stock = { column = "Units", as_int = true }
price = { column = "Cents", scale = 0.01 }
"""
    )
    rej = tmp_path / "rejects.csv"
    result = ecom("import", str(tmp_path / "stock.csv"), "--map", str(tmp_path / "map.toml"),
                  "--db", db_url, "--rejects", str(rej))
    assert result.exit_code == 4, result.stderr
    got = {(r["line"], r["field"]) for r in csv.DictReader(rej.open(newline=""))}
    assert got == {("3", "units_in_stock"), ("4", "units_in_stock"), ("5", "units_in_stock"),
                   ("6", "price"), ("7", "price")}
    with ecomcli.connect(db_url) as store:
        assert sorted(r["product_id"] for r in store.find("products")) == ["a", "g"]
