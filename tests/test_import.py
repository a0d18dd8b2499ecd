"""`ecom import`: formats, modes, rejects, exit codes, bad input; on every backend."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ecomcli
from ecomcli import Mode
from ecomcli.importing import ImportOptions, import_paths

runner = CliRunner()

CUSTOMERS = "customer_id,first_name,email\nc1,Ada,ada@example.com\nc2,Bob,bob@example.com\n"
PRODUCTS = "product_id,name,price,units_in_stock\np1,Shoe,19.99,5\np2,Shirt,0.10,0\n"
ORDERS = "order_id,customer_id,status,purchased_at\no1,c1,paid,2024-03-01T10:00:00+02:00\n"


def ecom(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    from ecomcli.cli import app

    return runner.invoke(app, list(args), input=input)


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_text(text, encoding=encoding, newline="")
    return path


def rejects(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def all_rows(url: str) -> dict[str, list[dict]]:
    with ecomcli.connect(url) as store:
        return {e.name: list(store.find(e.name)) for e in ecomcli.schema.ENTITIES}


@pytest.fixture
def shop_files(tmp_path: Path) -> Path:
    write(tmp_path, "customers.csv", CUSTOMERS)
    write(tmp_path, "products.csv", PRODUCTS)
    write(tmp_path, "orders.csv", ORDERS)
    return tmp_path


# --- formats ------------------------------------------------------------------------------


def test_import_csv_types_values_and_summary(db_url: str, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Products.CSV",
        "\ufeffProduct ID,NAME,Price,units-in-stock,colour\r\n"
        "p1,\"Robert'); DROP TABLE products;--\",144.0,3,red\r\n"
        'p2,"Line one\r\nline ""two"", with comma",0.10,144.0,blue\r\n',
    )
    result = ecom("import", str(path), "--db", db_url, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["entities"][0]["entity"] == "products"
    assert summary["entities"][0]["read"] == 2
    assert summary["entities"][0]["inserted"] == 2
    assert "ignoring unknown columns: colour" in summary["notices"][0]
    with ecomcli.connect(db_url) as store:
        p1 = store.get("products", ("p1",))
        p2 = store.get("products", ("p2",))
    assert p1["name"] == "Robert'); DROP TABLE products;--"
    assert p1["price"] == Decimal("144.00")
    assert p2["name"] == 'Line one\r\nline "two", with comma'
    assert p2["units_in_stock"] == 144


def test_values_that_bulk_loaders_treat_specially_are_stored_verbatim(
    db_url: str, tmp_path: Path
) -> None:
    names = ["\\N", "NULL", "back\\slash", "tab\there", "new\nline", "cr\rhere", "end\\"]
    rows = [{"product_id": f"p{i}", "name": n, "price": "1.00"} for i, n in enumerate(names)]
    path = tmp_path / "products.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = ecom("import", str(path), "--db", db_url, "--json")
    assert result.exit_code == 0, result.stderr
    with ecomcli.connect(db_url) as store:
        stored = {r["product_id"]: r["name"] for r in store.find("products")}
    assert [stored[f"p{i}"] for i in range(len(names))] == names


@pytest.mark.parametrize("fmt", ["tsv", "json", "ndjson", "csv.gz", "ndjson.gz"])
def test_import_every_format(db_url: str, tmp_path: Path, fmt: str) -> None:
    rows = [
        {"customer_id": "c1", "first_name": "Ada", "created_at": "2024-01-02T03:04:05Z"},
        {"customer_id": "c2", "first_name": "Bob", "created_at": "2024-01-02 05:00:00+02:00"},
    ]
    base = fmt.removesuffix(".gz")
    if base == "tsv":
        text = "customer_id\tfirst_name\tcreated_at\n" + "".join(
            f"{r['customer_id']}\t{r['first_name']}\t{r['created_at']}\n" for r in rows
        )
    elif base == "json":
        text = json.dumps(rows, indent=2)
    elif base == "ndjson":
        text = "".join(json.dumps(r) + "\n" for r in rows)
    else:
        text = "customer_id,first_name,created_at\n" + "".join(
            f"{r['customer_id']},{r['first_name']},{r['created_at']}\n" for r in rows
        )
    path = tmp_path / f"customers.{fmt}"
    if fmt.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    result = ecom("import", str(path), "--db", db_url)
    assert result.exit_code == 0, result.stderr
    with ecomcli.connect(db_url) as store:
        assert store.get("customers", ("c2",))["created_at"] == datetime(2024, 1, 2, 3, 0, 0)
        assert store.get("customers", ("c1",))["created_at"] == datetime(2024, 1, 2, 3, 4, 5)


def test_import_stdin_needs_entity_and_reads_format(db_url: str, tmp_path: Path) -> None:
    result = ecom("import", "-", "--db", db_url, input=CUSTOMERS)
    assert result.exit_code == 2
    assert "--entity" in result.stderr
    ndjson = '{"customer_id": "c9", "first_name": "Eve"}\n'
    result = ecom("import", "-", "--entity", "clients", "--format", "ndjson", "--db", db_url,
                  input=ndjson)
    assert result.exit_code == 0, result.stderr
    with ecomcli.connect(db_url) as store:
        assert store.get("customers", ("c9",))["first_name"] == "Eve"


def test_folder_is_imported_in_foreign_key_order(db_url: str, shop_files: Path) -> None:
    write(shop_files, "manifest.json", '{"generator": "x"}')
    write(shop_files, "order_items.csv",
          "order_id,line_no,product_id,quantity,unit_price\no1,1,p1,2,19.99\n")
    result = ecom("import", str(shop_files), "--db", db_url)
    assert result.exit_code == 0, result.stderr
    assert "skipped" in result.stderr and "manifest.json" in result.stderr
    with ecomcli.connect(db_url) as store:
        assert store.counts()["order_items"] == 1
        assert store.counts()["customers"] == 2


def test_a_header_without_rows_imports_nothing_and_the_rest(
    db_url: str, shop_files: Path
) -> None:
    """A nightly export with no reviews that day is a header alone: the folder's other
    files import, and reviews reads no row."""
    write(shop_files, "reviews.csv", "review_id,product_id,order_id,customer_id,score\n")
    result = ecom("import", str(shop_files), "--db", db_url, "--json")
    assert result.exit_code == 0, result.stderr
    stats = {s["entity"]: s for s in json.loads(result.stdout)["entities"]}
    assert stats["reviews"]["read"] == 0 and stats["orders"]["inserted"] == 1
    with ecomcli.connect(db_url) as store:
        assert store.counts()["reviews"] == 0 and store.counts()["orders"] == 1


def test_date_format_option(db_url: str, tmp_path: Path, shop_files: Path) -> None:
    ecom("import", str(shop_files / "customers.csv"), "--db", db_url)
    path = write(tmp_path, "orders.csv",
                 "order_id,customer_id,purchased_at\no2,c1,31/12/2023 23:59\n")
    result = ecom("import", str(path), "--db", db_url, "--date-format", "%d/%m/%Y %H:%M")
    assert result.exit_code == 0, result.stderr
    with ecomcli.connect(db_url) as store:
        assert store.get("orders", ("o2",))["purchased_at"] == datetime(2023, 12, 31, 23, 59)


# --- modes and re-runs --------------------------------------------------------------------


def test_modes(db_url: str, tmp_path: Path) -> None:
    first = write(tmp_path, "products.csv", PRODUCTS)
    assert ecom("import", str(first), "--db", db_url).exit_code == 0
    changed = write(
        tmp_path, "products2.csv",
        "product_id,price\np1,25.00\np3,1.00\n",
    )

    def run(mode: str) -> dict:
        result = ecom("import", str(changed), "--entity", "products", "--mode", mode,
                      "--db", db_url, "--json")
        return {"code": result.exit_code, **json.loads(result.stdout)["entities"][0]}

    merge = run("merge")  # p1: only the price changes; p3 is new but has no name
    assert (merge["updated"], merge["rejected"], merge["code"]) == (1, 1, 4)
    with ecomcli.connect(db_url) as store:
        p1 = store.get("products", ("p1",))
    assert (p1["name"], p1["price"], p1["units_in_stock"]) == ("Shoe", Decimal("25.00"), 5)

    full = write(tmp_path, "full.csv", "product_id,name,price\np1,Shoe,25.00\np3,Hat,1.00\n")
    ins = ecom("import", str(full), "--entity", "products", "--mode", "insert", "--db", db_url,
               "--json")
    counts = json.loads(ins.stdout)["entities"][0]
    assert (counts["inserted"], counts["rejected"], ins.exit_code) == (1, 1, 4)
    assert "key already exists" in (tmp_path / "full.rejects.csv").read_text()

    ign = ecom("import", str(full), "--entity", "products", "--mode", "ignore", "--db", db_url,
               "--json")
    assert json.loads(ign.stdout)["entities"][0]["ignored"] == 2
    assert ign.exit_code == 0

    up = ecom("import", str(full), "--entity", "products", "--db", db_url, "--json")
    counts = json.loads(up.stdout)["entities"][0]
    # upsert replaces the row: p1's stock goes back to the default 0
    assert (counts["updated"], counts["unchanged"]) == (1, 1)
    with ecomcli.connect(db_url) as store:
        assert store.get("products", ("p1",))["units_in_stock"] == 0


def test_rerun_reports_unchanged_and_changes_nothing(db_url: str, shop_files: Path) -> None:
    assert ecom("import", str(shop_files), "--db", db_url).exit_code == 0
    before = all_rows(db_url)
    again = ecom("import", str(shop_files), "--db", db_url, "--json")
    assert again.exit_code == 0
    for row in json.loads(again.stdout)["entities"]:
        assert row["unchanged"] == row["read"] and row["inserted"] == row["updated"] == 0
    assert all_rows(db_url) == before


def test_dry_run_writes_nothing(db_url: str, shop_files: Path) -> None:
    result = ecom("import", str(shop_files), "--db", db_url, "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["dry_run"] is True
    assert {r["entity"]: r["inserted"] for r in summary["entities"]}["orders"] == 1
    with ecomcli.connect(db_url) as store:
        assert sum(store.counts().values()) == 0


# --- rejects ------------------------------------------------------------------------------


def test_rejects_file_lines_reasons_and_values(db_url: str, tmp_path: Path,
                                               shop_files: Path) -> None:
    ecom("import", str(shop_files / "customers.csv"), "--db", db_url)
    ecom("import", str(shop_files / "products.csv"), "--db", db_url)
    ecom("import", str(shop_files / "orders.csv"), "--db", db_url)
    path = write(
        tmp_path,
        "order_items.csv",
        "order_id,line_no,product_id,quantity,unit_price\r\n"
        'o1,1,p1,1,"19.99"\r\n'  # line 2
        "o1,2,p2,1,0.1\r\n"  # line 3
        "o9,1,p1,1,1.00\r\n"  # line 4: no such order
        "o1,3,p1,two,1.00\r\n"  # line 5: bad quantity
        "o1,4,p1,1\r\n"  # line 6: ragged
        "o1,5,p404,1,1.00\r\n"  # line 7: no such product
        "o1,6,p1,1,1.005\r\n",  # line 8: more than two decimals
    )
    result = ecom("import", str(path), "--db", db_url)
    assert result.exit_code == 4
    got = {(r["line"], r["field"]): r for r in rejects(tmp_path / "order_items.rejects.csv")}
    assert set(got) == {("4", "order_id"), ("5", "quantity"), ("6", ""), ("7", "product_id"),
                        ("8", "unit_price")}
    assert "orders 'o9' does not exist" in got[("4", "order_id")]["reason"]
    assert got[("5", "quantity")]["quantity"] == "two"
    assert got[("5", "quantity")]["source"] == str(path)
    assert "header has 5" in got[("6", "")]["reason"]
    with ecomcli.connect(db_url) as store:
        assert store.count("order_items") == 2


def test_dangling_reference_in_a_later_batch(db_url: str, tmp_path: Path,
                                            shop_files: Path) -> None:
    # stores that check foreign keys themselves get clean batches unchecked; the batch
    # they refuse is written again without its orphan, and the batches after it as well
    import_paths(ecomcli.connect(db_url), [shop_files], ImportOptions())
    lines = [f"o1,{n},p1,1,1.00" for n in range(1, 8)]
    lines[4] = "o9,5,p1,1,1.00"  # line 6, in the third batch of two
    lines[6] = "o1,7,p404,1,1.00"  # line 8, in the fourth
    path = write(tmp_path, "order_items.csv",
                 "order_id,line_no,product_id,quantity,unit_price\n" + "\n".join(lines) + "\n")
    with ecomcli.connect(db_url) as store:
        summary = import_paths(store, [path], ImportOptions(batch_size=2))
        assert sorted(r["line_no"] for r in store.find("order_items")) == [1, 2, 3, 4, 6]
    stats = summary.entity("order_items")
    assert (stats.read, stats.inserted, stats.rejected) == (7, 5, 2)
    got = {(r["line"], r["field"]): r["reason"]
           for r in rejects(tmp_path / "order_items.rejects.csv")}
    assert got == {("6", "order_id"): "orders 'o9' does not exist",
                   ("8", "product_id"): "products 'p404' does not exist"}


def test_clean_file_pays_no_reference_lookups(db_url: str, tmp_path: Path,
                                              shop_files: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    store = ecomcli.connect(db_url)
    import_paths(store, [shop_files], ImportOptions())
    looked_up: list[str] = []
    real = store.existing_keys
    monkeypatch.setattr(store, "existing_keys",
                        lambda entity, keys: looked_up.append(entity) or real(entity, keys))
    path = write(tmp_path, "order_items.csv", "order_id,line_no,product_id,quantity,unit_price\n"
                 "o1,1,p1,1,1.00\no1,2,p2,3,0.10\n")
    import_paths(store, [path], ImportOptions())
    assert store.count("order_items") == 2
    # MongoDB has no foreign keys: the importer looks the parents up itself
    assert looked_up == ([] if store.enforces_references else ["orders", "products"])
    store.close()


def test_reject_line_counts_multiline_records(db_url: str, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "customers.csv",
        "customer_id,first_name,email\n"
        'c1,"Ada\nwith\nthree lines",ada@example.com\n'  # lines 2-4
        "c2,Bob,not-an-email\n",  # line 5
    )
    result = ecom("import", str(path), "--db", db_url)
    assert result.exit_code == 4
    (row,) = rejects(tmp_path / "customers.rejects.csv")
    assert (row["line"], row["field"], row["email"]) == ("5", "email", "not-an-email")


def test_duplicate_key_in_batch(db_url: str, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "customers.csv",
        "customer_id,first_name\nc1,Ada\nc1,Ada\nc1,Adele\n",
    )
    result = ecom("import", str(path), "--db", db_url, "--json")
    assert result.exit_code == 4
    counts = json.loads(result.stdout)["entities"][0]
    assert (counts["inserted"], counts["unchanged"], counts["rejected"]) == (1, 1, 1)
    (row,) = rejects(tmp_path / "customers.rejects.csv")
    assert row["line"] == "4" and "line 2" in row["reason"]


def test_max_errors_stops_but_keeps_committed_batches(db_url: str, tmp_path: Path) -> None:
    lines = ["customer_id,email"]
    lines += [f"c{i},c{i}@example.com" for i in range(10)]
    lines += [f"x{i},bad" for i in range(10)]
    path = write(tmp_path, "customers.csv", "\n".join(lines) + "\n")
    rej = tmp_path / "out.csv"
    result = ecom("import", str(path), "--db", db_url, "--batch-size", "5", "--max-errors", "2",
                  "--rejects", str(rej))
    assert result.exit_code == 1
    assert "more than 2 rejected" in result.stderr
    with ecomcli.connect(db_url) as store:
        assert store.count("customers") == 10
    assert len(rejects(rej)) == 5


def test_stdin_rejects_go_to_working_dir(db_url: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    result = ecom("import", "-", "--entity", "customers", "--db", db_url,
                  input="customer_id,email\nc1,nope\n")
    assert result.exit_code == 4
    (row,) = rejects(tmp_path / "stdin.rejects.csv")
    assert (row["source"], row["line"]) == ("<stdin>", "2")


# --- bad input: one line, exit 1, nothing written -----------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("customers.csv", b"", "empty"),
        ("customers.csv", b"first_name,email\n", "customer_id"),  # no rows: still checked
        ("customers.json", b'[{"customer_id": "c1"},\n {"customer_id": }]', "line 2 column"),
        ("customers.json", b'"just a string"', "array of objects or an object"),
        ("customers.ndjson", b'{"customer_id": "c1"}\n[1, 2]\n', "line 2 is not a JSON object"),
        ("customers.ndjson", b'{"customer_id": "c1"}\n{"customer_id": \n', "line 2 column"),
        ("customers.csv", "customer_id,first_name\nc1,Zoë\n".encode("latin-1"), "--encoding"),
        ("customers.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        ("customers.csv", b"customer_id,first_name\nc1,A\nc2,B\x00ob\n", "NUL byte at line 3"),
        ("customers.csv", b"first_name,email\nAda,a@example.com\n", "customer_id"),
        ("payment_cards.csv", b"card_id,customer_id,brand,card_number,exp_month,exp_year\n"
         b"k1,c1,visa,4111111111111111,1,2030\n", "never stored"),
        ("logins.csv", b"customer_id,email,password\nc1,a@example.com,secret\n", "hash"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    db_url: str, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    good = write(tmp_path, "clients.csv", "customer_id\ngood1\n")
    path = tmp_path / name
    path.write_bytes(content)
    result = ecom("import", str(good), str(path), "--db", db_url)
    assert result.exit_code == 1, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    with ecomcli.connect(db_url) as store:
        assert sum(store.counts().values()) == 0


def test_wrong_encoding_can_be_named(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes("customer_id,first_name\nc1,Zoë\n".encode("latin-1"))
    result = ecom("import", str(path), "--db", db_url, "--encoding", "latin-1")
    assert result.exit_code == 0, result.stderr
    with ecomcli.connect(db_url) as store:
        assert store.get("customers", ("c1",))["first_name"] == "Zoë"


def test_dollar_and_dot_keys_and_nested_values_are_rejected(db_url: str, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "customers.ndjson",
        '{"customer_id": "c1", "first_name": "Ada"}\n'
        '{"customer_id": "c2", "$where": "sleep(1000)"}\n'
        '{"customer_id": "c3", "first.name": "x"}\n'
        '{"customer_id": "c4", "first_name": {"$gt": ""}}\n'
        '{"customer_id": "c5", "first_name": ["a"]}\n',
    )
    result = ecom("import", str(path), "--db", db_url)
    assert result.exit_code == 4
    got = {r["customer_id"]: r for r in rejects(tmp_path / "customers.rejects.csv")}
    assert set(got) == {"c2", "c3", "c4", "c5"}
    assert got["c2"]["field"] == "$where"
    assert got["c4"]["field"].startswith("first_name")
    assert got["c5"]["field"] == "first_name"
    with ecomcli.connect(db_url) as store:
        assert [r["customer_id"] for r in store.find("customers")] == ["c1"]


def test_missing_required_column_names_column_and_file(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", "order_id,customer_id\no1,c1\n")
    result = ecom("import", str(path), "--db", db_url)
    assert result.exit_code == 1
    assert "purchased_at" in result.stderr and "orders.csv" in result.stderr


def test_unknown_entity_and_usage(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "stuff.csv", "a\n1\n")
    result = ecom("import", str(path), "--db", db_url)
    assert result.exit_code == 2
    assert "--entity" in result.stderr
    result = ecom("import", str(path), "--db", db_url, "--mode", "replace")
    assert result.exit_code == 2


def test_python_api(store: ecomcli.Repository, tmp_path: Path) -> None:
    path = write(tmp_path, "customers.csv", "customer_id,email\nc1,a@example.com\nc2,bad\n")
    summary = import_paths(store, [path], ImportOptions(mode=Mode.INSERT, batch_size=1))
    assert summary.rejected == 1
    (row,) = summary.rows()
    assert (row["entity"], row["read"], row["inserted"]) == ("customers", 2, 1)
    assert set(row) >= {"updated", "unchanged", "ignored", "seconds", "rows_per_s"}
    assert summary.to_dict()["rejected"] == 1
