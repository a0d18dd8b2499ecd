"""Mapping files for real exports as they are: whitespace-aligned files, files without a
header line, exact decimal arithmetic (`expr`), cases (`when`), skipped lines
(`skip_if`), and a default taken as given."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import ecomcli
from ecomcli.cli import app
from ecomcli.errors import UsageError
from ecomcli.mapping import parse

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
TRANSACTIONS = ROOT / "sample_data" / "mappings" / "customer-transactions.txt"
TRANSACTIONS_MAP = ROOT / "sample_data" / "mappings" / "customer-transactions.toml"


def ecom(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def imported(db_url: str, data: Path, mapping: Path, *more: str) -> dict[str, dict]:
    result = ecom("import", str(data), "--map", str(mapping), "--db", db_url, "--json", *more)
    assert result.exit_code in (0, 4), result.stderr
    return {r["entity"]: r for r in json.loads(result.stdout)["entities"]}


def test_customer_transactions_sample(db_url: str) -> None:
    """The shipped mapping reads a whitespace-aligned CRLF file as it is; pandas reads
    the same file independently."""
    frame = pd.read_csv(TRANSACTIONS, sep=r"\s+", dtype=str)
    sold = frame[frame["number_of_cds"] != "0"]
    counts = imported(db_url, TRANSACTIONS, TRANSACTIONS_MAP)
    assert {c: counts[c]["rejected"] for c in counts} == dict.fromkeys(counts, 0)
    assert counts["order_items"]["skipped"] == len(frame) - len(sold) == 1
    with ecomcli.connect(db_url) as store:
        customers = {c["customer_id"] for c in store.find("customers")}
        orders = list(store.find("orders"))
        lines = list(store.find("order_items"))
    assert customers == set(frame["customer_id"])  # leading zeros kept: keys are text
    assert len(orders) == len(sold.drop_duplicates(["customer_id", "date"]))
    assert len(lines) == len(sold)
    for line, (_, row) in zip(sorted(lines, key=lambda r: (r["order_id"], r["line_no"])),
                              sold.sort_values(["customer_id", "date"], kind="stable").iterrows(),
                              strict=True):
        assert line["order_id"] == f"{row['customer_id']}-{row['date']}"
        assert line["quantity"] == int(row["number_of_cds"])
        exact = Decimal(row["dollar_value"]) / Decimal(row["number_of_cds"])
        assert line["unit_price"] == exact.quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert abs(line["unit_price"] * line["quantity"] - Decimal(row["dollar_value"])) <= (
            Decimal("0.005") * line["quantity"]
        )


def test_headerless_file_with_columns_named_in_the_mapping(db_url: str, tmp_path: Path) -> None:
    data = tmp_path / "cdnow.txt"
    data.write_text("".join(TRANSACTIONS.read_text().splitlines(keepends=True)[1:]))
    mapping = tmp_path / "m.toml"
    mapping.write_text(TRANSACTIONS_MAP.read_text().replace(
        "# columns = ", "columns = "))
    with_header = imported(db_url, TRANSACTIONS, TRANSACTIONS_MAP)
    without = imported(db_url, data, mapping)
    assert with_header["order_items"]["inserted"] == 11
    assert without["order_items"]["unchanged"] == 11  # the same rows, read again


def test_delimiter_whitespace_on_the_command_line(db_url: str, tmp_path: Path) -> None:
    data = tmp_path / "customers.txt"
    data.write_bytes(b"customer_id \t first_name   last_name\r\n  K1  Ada\tLovelace  \r\n"
                     b"\r\n K2 Alan      Turing\r\n")
    result = ecom("import", str(data), "--entity", "customers", "--delimiter", "whitespace",
                  "--db", db_url)
    assert result.exit_code == 0, result.stderr
    with ecomcli.connect(db_url) as store:
        assert store.get("customers", ("K1",))["last_name"] == "Lovelace"
        assert store.get("customers", ("K2",))["first_name"] == "Alan"


def test_a_header_with_an_empty_column_name_is_an_error_naming_the_file(
    db_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "customers.txt"
    data.write_text("customer_id  first_name\nK1  Ada\n")
    result = ecom("import", str(data), "--entity", "customers", "--delimiter", " ",
                  "--db", db_url)
    assert result.exit_code == 1
    assert "customers.txt: the header has an empty column name" in result.stderr
    assert 'delimiter = "whitespace"' in result.stderr
    assert "unknown columns" not in result.stderr
    with ecomcli.connect(db_url) as store:
        assert store.count("customers") == 0


SALES = """InvoiceNo,StockCode,Quantity,LineTotal,CustomerID
536365,A1,6,15.30,17850.0
C536379,A1,-1,-2.55,
536380,A2,3,10.00,
X1,A2,1,1.00,17850.0
536381,A3,0,0,17850.0
"""


def test_expr_cases_skip_if_and_a_default_taken_as_given(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "sales.csv").write_text(SALES)
    (tmp_path / "m.toml").write_text(
        """
skip_if = [{ column = "InvoiceNo", prefix = "X" }, { column = "Quantity", equals = "0" }]
[customers]
customer_id = { column = "CustomerID", as_int = true, default = "GUEST" }
[orders]
order_id = "InvoiceNo"
customer_id = { column = "CustomerID", as_int = true, default = "GUEST" }
purchased_at = { value = "2010-12-01 08:26:00" }
status.column = "InvoiceNo"
status.when = [{ prefix = "C", value = "cancelled" }, { regex = "^53638", value = "pending" }]
status.value = "paid"
[products]
mode = "ignore"
product_id = "StockCode"
name = { value = "?" }
price = { value = "0" }
[order_items]
order_id = "InvoiceNo"
line_no = { value = 1 }
product_id = "StockCode"
quantity = { column = "Quantity" }
unit_price = { expr = "LineTotal / Quantity", round = 2 }
"""
    )
    counts = imported(db_url, tmp_path / "sales.csv", tmp_path / "m.toml", "--rejects",
                      str(tmp_path / "rej.csv"))
    assert (counts["orders"]["skipped"], counts["orders"]["rejected"]) == (2, 0)
    with ecomcli.connect(db_url) as store:
        orders = {o["order_id"]: o for o in store.find("orders")}
        prices = {i["order_id"]: i["unit_price"] for i in store.find("order_items")}
        assert store.get("customers", ("GUEST",)) is not None
    assert set(orders) == {"536365", "C536379", "536380"}  # X1 and the 0 units skipped
    assert {k: o["status"] for k, o in orders.items()} == {
        "536365": "paid", "C536379": "cancelled", "536380": "pending"}
    assert (orders["536365"]["customer_id"], orders["536380"]["customer_id"]) == (
        "17850", "GUEST")
    # exact decimal arithmetic, rounded half up to cents: 10.00 / 3 = 3.33
    # (the cancellation's line, -1 units, is rejected by the order_items rules)
    assert prices == {"536365": Decimal("2.55"), "536380": Decimal("3.33")}
    assert counts["order_items"]["rejected"] == 1


def test_expr_dividing_by_zero_rejects_the_row(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("id,total,units\nP1,10,0\nP2,10,4\n")
    (tmp_path / "m.toml").write_text(
        '[products]\nproduct_id = "id"\nname = "id"\n'
        'price = { expr = "total / units", round = 3 }\n'
    )
    counts = imported(db_url, tmp_path / "p.csv", tmp_path / "m.toml", "--rejects",
                      str(tmp_path / "rej.csv"))
    assert counts["products"]["rejected"] == 1
    assert "divides by zero" in (tmp_path / "rej.csv").read_text()
    with ecomcli.connect(db_url) as store:
        assert store.get("products", ("P2",))["price"] == Decimal("2.50")


@pytest.mark.parametrize(
    "expr",
    ['__import__("os").system("true")', "units ** 2", "f(units)", "units.real", "'1' + 2"],
)
def test_expr_accepts_only_arithmetic(expr: str) -> None:
    spec = {"products": {"product_id": "id", "price": {"expr": expr}}}
    with pytest.raises(UsageError, match="expr"):
        parse(spec)


def test_skip_if_on_a_column_the_file_lacks_names_it(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "customers.csv").write_text("customer_id\nK1\n")
    (tmp_path / "m.toml").write_text(
        'skip_if = { column = "Kind", equals = "test" }\n[customers]\ncustomer_id = "customer_id"\n'
    )
    result = ecom("import", str(tmp_path / "customers.csv"), "--map", str(tmp_path / "m.toml"),
                  "--db", db_url)
    assert result.exit_code == 1
    assert "no column 'kind' (tested by skip_if)" in result.stderr
