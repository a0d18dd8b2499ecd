"""What users reach for first: a customer's orders, an order with its lines, export
--where/--columns, and a read-only ad-hoc query (`ecom query`) in every format. Expected
figures come from the CSV files through pandas."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import ecomcli
from ecomcli.cli import app

runner = CliRunner()

FILES = {
    "customers.csv": "customer_id,first_name,last_name,email\n"
    "C1,Ada,Lovelace,ada@example.com\nC2,Alan,Turing,alan@example.com\n"
    "C3,Grace,Hopper,grace@example.com\n",
    "products.csv": "product_id,name,price,units_in_stock\nP1,Lamp,19.99,5\nP2,Desk,120.00,2\n"
    "P3,Pen,1.25,100\n",
    "orders.csv": "order_id,customer_id,status,purchased_at\n"
    "O1,C1,delivered,2024-01-05 10:00:00\nO2,C1,paid,2024-03-01 09:30:00\n"
    "O3,C2,cancelled,2024-02-11 12:00:00\nO4,C1,pending,2023-12-24 18:00:00\n",
    "order_items.csv": "order_id,line_no,product_id,quantity,unit_price\n"
    "O1,1,P1,2,19.99\nO1,2,P3,10,1.20\nO2,1,P2,1,120.00\nO3,1,P3,3,1.25\n",
}


@pytest.fixture
def shop(db_url: str, tmp_path: Path) -> tuple[str, Path]:
    folder = tmp_path / "shop"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text)
    result = runner.invoke(app, ["--db", db_url, "import", str(folder), "-q"])
    assert result.exit_code == 0, result.stderr
    return db_url, folder


def frame(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str)


def ecom(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_customer_orders_with_totals(shop: tuple[str, Path]) -> None:
    url, folder = shop
    items = frame(folder, "order_items")
    items["total"] = items["quantity"].astype(int) * items["unit_price"].map(Decimal)
    orders = frame(folder, "orders")
    mine = orders[orders["customer_id"] == "C1"].sort_values("purchased_at")
    result = ecom("customers", "orders", "C1", "--db", url, "--format", "json")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert [o["order_id"] for o in shown] == list(mine["order_id"])
    for o in shown:
        lines = items[items["order_id"] == o["order_id"]]
        assert Decimal(o["total"]) == sum(lines["total"], Decimal(0))
        assert o["lines"] == len(lines)
        assert o["units"] == lines["quantity"].astype(int).sum()
    assert "3 order(s)" in result.stderr
    missing = ecom("customers", "orders", "C9", "--db", url)
    assert missing.exit_code == 3


def test_order_get_shows_lines_and_total(shop: tuple[str, Path]) -> None:
    url, folder = shop
    items = frame(folder, "order_items")
    lines = items[items["order_id"] == "O1"]
    expected = sum((int(q) * Decimal(p) for q, p in zip(lines["quantity"], lines["unit_price"],
                                                          strict=True)), Decimal(0))
    nested = json.loads(ecom("orders", "get", "O1", "--db", url, "-f", "json").stdout)
    assert Decimal(nested["total"]) == expected
    assert [i["product_id"] for i in nested["items"]] == list(lines["product_id"])
    assert nested["items"][0]["name"] == "Lamp"
    row = next(csv.DictReader(io.StringIO(ecom("orders", "get", "O1", "--db", url,
                                               "--csv").stdout)))
    assert (row["customer_id"], Decimal(row["total"]), row["lines"]) == ("C1", expected, "2")
    table = ecom("orders", "get", "O1", "--db", url, "-f", "table")
    assert "lines" in table.stdout and "Lamp" in table.stdout
    assert ecom("orders", "get", "O9", "--db", url).exit_code == 3


def test_export_where_and_columns(shop: tuple[str, Path]) -> None:
    url, folder = shop
    orders = frame(folder, "orders")
    want = orders[orders["customer_id"] == "C1"][["order_id", "status"]]
    result = ecom("export", "orders", "--where", "customer_id=C1", "--columns",
                  "order_id,status", "--db", url)
    assert result.exit_code == 0, result.stderr
    got = pd.read_csv(io.StringIO(result.stdout), dtype=str)
    assert list(got.columns) == ["order_id", "status"]
    assert sorted(map(tuple, got.values)) == sorted(map(tuple, want.values))
    bad = ecom("export", "orders", "--columns", "nope", "--db", url)
    assert bad.exit_code == 2 and "no field 'nope'" in bad.stderr


def sql_or_json(backend: str, sql: str, mongo: dict) -> str:
    return json.dumps(mongo) if backend == "mongodb" else sql


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "ndjson", "md", "table"])
def test_query_in_every_format(shop: tuple[str, Path], backend: str, fmt: str) -> None:
    url, folder = shop
    orders = frame(folder, "orders")
    expected = orders.groupby("status").size().to_dict()
    text = sql_or_json(
        backend,
        "SELECT status, COUNT(*) AS n FROM orders GROUP BY status ORDER BY status",
        {"aggregate": "orders", "pipeline": [
            {"$group": {"_id": "$status", "n": {"$sum": 1}}},
            {"$project": {"_id": 0, "status": "$_id", "n": 1}}, {"$sort": {"status": 1}}]},
    )
    result = ecom("query", text, "--db", url, "--format", fmt)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    if fmt in ("csv", "tsv"):
        rows = list(csv.DictReader(io.StringIO(out), delimiter="\t" if fmt == "tsv" else ","))
        got = {r["status"]: int(r["n"]) for r in rows}
    elif fmt == "json":
        got = {r["status"]: r["n"] for r in json.loads(out)}
    elif fmt == "ndjson":
        got = {r["status"]: r["n"] for r in map(json.loads, out.splitlines())}
    else:
        got = {s: n for s, n in expected.items() if s in out and str(n) in out}
    assert got == expected


def test_query_find_on_mongodb(shop: tuple[str, Path], backend: str) -> None:
    if backend != "mongodb":
        pytest.skip("a find filter is MongoDB's query form")
    url, _ = shop
    spec = {"find": "orders", "filter": {"customer_id": "C1"}, "projection": {"_id": 0,
            "order_id": 1}, "sort": {"order_id": 1}}
    result = ecom("query", json.dumps(spec), "--db", url, "--csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == ["order_id", "O1", "O2", "O4"]


@pytest.mark.parametrize(
    ("sql", "mongo"),
    [
        ("DELETE FROM orders", {"aggregate": "orders", "pipeline": [{"$out": "orders_copy"}]}),
        ("UPDATE products SET units_in_stock = 0",
         {"aggregate": "orders", "pipeline": [{"$facet": {"a": [{"$merge": "orders"}]}}]}),
        ("CREATE TABLE sneaky AS SELECT * FROM orders",
         {"aggregate": "orders", "pipeline": [{"$lookup": {"from": "x", "pipeline": [
             {"$out": "y"}], "as": "z"}}]}),
        ("SELECT 1; DELETE FROM orders", {"find": "orders", "remove": {}}),
        ("DROP TABLE order_items", {"drop": "orders"}),
    ],
)
def test_query_cannot_write(shop: tuple[str, Path], backend: str, sql: str, mongo: dict) -> None:
    url, folder = shop
    result = ecom("query", sql_or_json(backend, sql, mongo), "--db", url)
    assert result.exit_code != 0
    assert result.stderr.startswith("error:") and "Traceback" not in result.stderr
    with ecomcli.connect(url) as store:
        assert store.count("orders") == len(frame(folder, "orders"))
        assert store.count("order_items") == len(frame(folder, "order_items"))
        stock = {p["product_id"]: p["units_in_stock"] for p in store.find("products")}
    products = frame(folder, "products")
    assert stock == dict(zip(products["product_id"], products["units_in_stock"].astype(int),
                             strict=True))
    if backend != "mongodb":  # no table was made (MySQL commits DDL before running it)
        assert ecom("query", "SELECT * FROM sneaky", "--db", url).exit_code != 0


def test_sqlite_query_cannot_attach_another_file(shop: tuple[str, Path], backend: str,
                                                 tmp_path: Path) -> None:
    if backend != "sqlite":
        pytest.skip("ATTACH is SQLite's")
    url, _ = shop
    result = ecom("query", f"ATTACH '{tmp_path / 'other.db'}' AS other", "--db", url)
    assert result.exit_code != 0 and "only reads" in result.stderr
    assert not (tmp_path / "other.db").exists()
