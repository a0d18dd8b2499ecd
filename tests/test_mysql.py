"""MySQL/MariaDB specifics, against the real server: connection errors as the CLI reports
them, init-db, the bulk write path, the C extension, and lock conflicts."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import mysql.connector
import pytest
from conftest import cart_lines, cart_parents, empty, noting
from typer.testing import CliRunner

import ecomcli
from ecomcli import Mode, schema
from ecomcli.backends.mysql import MySQLRepository
from ecomcli.cli import app
from ecomcli.config import parse_url
from ecomcli.errors import CONNECTION, ConnectionFailed, NotFoundError, TransientError
from ecomcli.records import add_record
from ecomcli.validation import Validator

CUSTOMER_FIELDS = ["customer_id", "first_name", "email", "created_at"]


def root_conn(url: str):  # type: ignore[no-untyped-def]
    db = parse_url(url)
    return mysql.connector.connect(
        host=db.host,
        port=db.port or 3306,
        user=db.user,
        password=db.password or "",
        autocommit=True,
    )


def status(url: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["status", "--db", url])


def assert_connection_error(result, *words: str, secret: str | None = None) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == CONNECTION, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.output
    if secret:
        assert secret not in result.output


def test_refused_port_is_a_one_line_connection_error(mysql_server: str) -> None:
    assert_connection_error(status("mysql://root@127.0.0.1:1/shop"), "refused", "127.0.0.1:1")


def test_wrong_password_is_reported_without_the_password(mysql_server: str) -> None:
    user = f"ecom_t_{uuid.uuid4().hex[:8]}"
    conn = root_conn(mysql_server)
    cur = conn.cursor()
    cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'right-pass-1'")
    try:
        host = mysql_server.split("@", 1)[1]
        result = status(f"mysql://{user}:Wr0ngSecret@{host}")
        assert_connection_error(result, "access denied", user, secret="Wr0ngSecret")
        assert ":***@" in result.stderr
    finally:
        cur.execute(f"DROP USER '{user}'@'%'")
        conn.close()


def test_unknown_database_suggests_init_db(mysql_server: str) -> None:
    result = status(f"{mysql_server}_missing")
    assert_connection_error(result, "does not exist", "ecom init-db")


def test_init_db_creates_the_database_then_has_nothing_to_do(mysql_server: str) -> None:
    url = f"{mysql_server}_created"
    first = CliRunner().invoke(app, ["init-db", "--db", url])
    assert first.exit_code == 0, first.output
    assert "created database" in first.stderr
    second = CliRunner().invoke(app, ["init-db", "--db", url])
    assert second.exit_code == 0, second.output
    assert "nothing to do" in second.stderr
    with ecomcli.connect(url) as store:
        assert store.schema_version() == schema.SCHEMA_VERSION
        store.insert("customers", {"customer_id": "c1"})
    dropped = CliRunner().invoke(app, ["init-db", "--drop", "--yes", "--db", url])
    assert dropped.exit_code == 0, dropped.output
    assert "created ecom_meta, categories" in dropped.stderr
    with ecomcli.connect(url) as store:
        assert store.schema_version() == schema.SCHEMA_VERSION
        assert store.count("customers") == 0


def test_a_lost_connection_is_a_connection_error(mysql_server: str) -> None:
    with ecomcli.connect(mysql_server) as store:
        killer = root_conn(mysql_server)
        killer.cursor().execute(f"KILL {store.conn.connection_id}")  # type: ignore[attr-defined]
        killer.close()
        with pytest.raises(ConnectionFailed, match="lost the connection") as failed:
            store.count("customers")
        assert failed.value.exit_code == CONNECTION


def test_query_binds_percent_s_and_keeps_literal_percent_signs(mysql_server: str) -> None:
    with ecomcli.connect(mysql_server) as store:
        assert isinstance(store, MySQLRepository)
        rows = store.query(
            "SELECT DATE_FORMAT(%s, '%Y-%m %H:%i:%S') AS month, 'a%' LIKE %s AS hit",
            [datetime(2024, 3, 5, 10, 11, 12), "a%"],
        )
        assert rows == [{"month": "2024-03 10:11:12", "hit": 1}]


# --- the bulk write path ----------------------------------------------------------------


@pytest.fixture(params=["load-data", "insert"])
def mysql_store(request: pytest.FixtureRequest, mysql_server: str) -> Iterator[MySQLRepository]:
    """An empty store written through LOAD DATA LOCAL, or with LOCAL switched off."""
    url = mysql_server + ("?local_infile=0" if request.param == "insert" else "")
    with ecomcli.connect(url) as store:
        assert isinstance(store, MySQLRepository)
        store.init_schema()
        empty(store)  # whatever an earlier test left in the shared database
        yield store


def customers(n: int, start: int = 0, name: str = "Ann") -> list[dict]:
    check = Validator(schema.entity("customers"))
    return [
        check(
            {
                "customer_id": f"c{i}",
                "first_name": f"{name} {i}\t\\ 😀" if i % 7 == 0 else f"{name} {i}",
                "email": None if i % 5 == 0 else f"u{i}@example.com",
                "created_at": "2024-05-01T12:00:00Z",
            }
        )
        for i in range(start, start + n)
    ]


def test_write_batch_counts_are_exact_on_a_large_batch(mysql_store: MySQLRepository) -> None:
    r = mysql_store.write_batch("customers", customers(3000), Mode.UPSERT, CUSTOMER_FIELDS)
    assert (r.inserted, r.updated, r.unchanged) == (3000, 0, 0)
    # 1000 unchanged, 1000 renamed, 1000 new
    batch = customers(1000) + customers(1000, 1000, name="Bo") + customers(1000, 3000)
    r = mysql_store.write_batch("customers", batch, Mode.UPSERT, CUSTOMER_FIELDS)
    assert (r.inserted, r.updated, r.unchanged, r.rejected) == (1000, 1000, 1000, [])
    assert mysql_store.count("customers") == 4000
    assert mysql_store.require("customers", ("c1002",))["first_name"] == "Bo 1002"
    stored = mysql_store.require("customers", ("c7",))
    assert stored == {
        **customers(1, 7)[0],
        "last_name": None,
        "phone": None,
        "gender": None,
        "date_of_birth": None,
    }

    r = mysql_store.write_batch("customers", customers(10, 3995), Mode.INSERT, CUSTOMER_FIELDS)
    assert r.inserted == 5
    assert r.rejected == [(i, "key already exists") for i in range(5)]
    r = mysql_store.write_batch("customers", customers(10, 3998), Mode.IGNORE, CUSTOMER_FIELDS)
    assert (r.inserted, r.ignored) == (3, 7)
    assert mysql_store.count("customers") == 4008


def staged(statements: list[str]) -> list[str]:
    return [sql for sql in statements if sql.startswith("CREATE TEMPORARY TABLE")]


def written(statements: list[str], table: str = "customers") -> list[str]:
    return [sql for sql in statements if sql.startswith(f"INSERT INTO `{table}`")]


def in_key_order(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: r["customer_id"])


def test_a_batch_stored_as_it_is_is_not_written_again(
    mysql_store: MySQLRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upsert or an ignore of rows stored exactly as they are (a nightly re-import of a
    whole export) writes nothing. Through LOAD DATA one read of the batch's key range
    finds them (the server writes a tab, a backslash, an emoji, NULLs and moments back as
    the batch's lines hold them): nothing is staged either. Without LOAD DATA the stage's
    comparison finds them."""
    batch = in_key_order(customers(300))
    mysql_store.write_batch("customers", batch, Mode.UPSERT, CUSTOMER_FIELDS)
    statements = noting(mysql_store, monkeypatch)
    r = mysql_store.write_batch("customers", batch, Mode.UPSERT, CUSTOMER_FIELDS)
    assert (r.inserted, r.updated, r.unchanged) == (0, 0, 300)
    r = mysql_store.write_batch("customers", batch, Mode.IGNORE, CUSTOMER_FIELDS)
    assert (r.inserted, r.ignored) == (0, 300)
    assert not written(statements)
    assert bool(staged(statements)) == (not mysql_store.local_infile)


def test_a_range_holding_rows_its_batch_lacks_is_compared_on_the_stage(
    mysql_store: MySQLRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every other stored row, as it is: the range read cannot tell (the range holds the
    rows between them too), the stage's comparison finds them unchanged, nothing is
    written, and the next batches are not range-read (the file is not in the table's key
    order): "c0" to "c149" span "c0" to "c99", which holds all 300."""
    batch = in_key_order(customers(300))
    mysql_store.write_batch("customers", batch, Mode.UPSERT, CUSTOMER_FIELDS)
    statements = noting(mysql_store, monkeypatch)
    for again in (batch[::2], customers(150), customers(150, 150)):
        r = mysql_store.write_batch("customers", again, Mode.UPSERT, CUSTOMER_FIELDS)
        assert (r.inserted, r.updated, r.unchanged) == (0, 0, len(again))
    assert len(staged(statements)) == 3 and not written(statements)
    range_reads = [sql for sql in statements if "MD5(" in sql]
    assert len(range_reads) == (1 if mysql_store.local_infile else 0)


def test_a_batch_in_any_order_within_its_range_is_range_read(
    mysql_store: MySQLRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All 300 customers in the order of their numbers ("c2" before "c10"): from "c0" to
    "c99" the range holds exactly them, so one read finds them as they are."""
    mysql_store.write_batch("customers", customers(300), Mode.UPSERT, CUSTOMER_FIELDS)
    statements = noting(mysql_store, monkeypatch)
    r = mysql_store.write_batch("customers", customers(300), Mode.UPSERT, CUSTOMER_FIELDS)
    assert (r.inserted, r.updated, r.unchanged) == (0, 0, 300)
    assert bool(staged(statements)) == (not mysql_store.local_infile)


CHANGES = {  # a change: the customer, the field and its new value
    "a trailing space": ("c5", "first_name", "Ann 5 "),  # equal under PAD SPACE
    "a NULL given a value": ("c10", "email", "u10@example.com"),
    "a moment a second later": ("c3", "created_at", datetime(2024, 5, 1, 12, 0, 1)),
    "a backslash for a tab": ("c7", "first_name", "Ann 7\\t\\ 😀"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_one_changed_row_gets_its_batch_written(mysql_store: MySQLRepository,
                                                monkeypatch: pytest.MonkeyPatch,
                                                change: str) -> None:
    """The range read never takes a batch with one row changed, however slightly, for one
    stored as it is: the batch is written, that row updated."""
    batch = in_key_order(customers(300))
    mysql_store.write_batch("customers", batch, Mode.UPSERT, CUSTOMER_FIELDS)
    key, field, value = CHANGES[change]
    rows = [{**r, field: value} if r["customer_id"] == key else r for r in batch]
    statements = noting(mysql_store, monkeypatch)
    r = mysql_store.write_batch("customers", rows, Mode.UPSERT, CUSTOMER_FIELDS)
    assert (r.inserted, r.updated, r.unchanged) == (0, 1, 299)
    assert written(statements)
    assert mysql_store.require("customers", (key,))[field] == value


def test_a_new_row_inside_the_key_range_is_inserted(mysql_store: MySQLRepository) -> None:
    batch = in_key_order(customers(300))
    mysql_store.write_batch("customers", batch, Mode.UPSERT, CUSTOMER_FIELDS)
    more = in_key_order(batch + customers(1, 1500))  # "c1500": between "c150" and "c151"
    r = mysql_store.write_batch("customers", more, Mode.UPSERT, CUSTOMER_FIELDS)
    assert (r.inserted, r.updated, r.unchanged) == (1, 0, 300)
    assert mysql_store.count("customers") == 301


@pytest.mark.parametrize("lane", ["columnar", "values"])
def test_a_re_import_of_cart_lines_split_across_batches_stages_nothing(
    mysql_server: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, lane: str
) -> None:
    """Cart lines, a cart's products in no order, batches of 7 ending inside carts: each
    batch is found as it is by the rows strictly between its first and last cart and, in
    those two carts, its own lines only; then a changed line shared by two batches' cart
    is staged and updated."""
    from ecomcli import importing
    from ecomcli.importing import ImportOptions, import_paths

    monkeypatch.setattr(importing, "COLUMNAR_MIN_BYTES", 0 if lane == "columnar" else 1 << 60)
    lines = cart_lines()
    path = tmp_path / "cart_items.csv"
    path.write_text("cart_id,product_id,quantity\n" + "".join(lines))
    options = ImportOptions(batch_size=7, rejects=tmp_path / "rejects.csv")
    with ecomcli.connect(mysql_server) as store:
        store.init_schema(drop=True)
        cart_parents(store)
        import_paths(store, [path], options)
    with ecomcli.connect(mysql_server) as store:  # a later import
        assert isinstance(store, MySQLRepository)
        statements = noting(store, monkeypatch)
        again = import_paths(store, [path], options).stats["cart_items"]
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(lines))
        assert not staged(statements) or not store.local_infile
        assert lines[8] == "k02,p1,3\n"  # the second batch's, its cart begun in the first
        lines[8] = "k02,p1,1\n"
        path.write_text("cart_id,product_id,quantity\n" + "".join(lines))
        changed = import_paths(store, [path], options).stats["cart_items"]
        assert (changed.inserted, changed.updated) == (0, 1)
        assert store.require("cart_items", ("k02", "p1"))["quantity"] == 1


@pytest.mark.parametrize("lane", ["columnar", "values"])
def test_a_re_import_of_stored_files_stages_nothing(
    mysql_server: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, lane: str
) -> None:
    """The whole files again (each in key order, as exports are), through either import
    lane: decimals with their scale, moments, enums, NULLs and a backslash, as LOAD DATA's
    text holds them, are what the server writes back, so each batch is found by its range
    read."""
    from ecomcli import importing
    from ecomcli.importing import ImportOptions, import_paths

    monkeypatch.setattr(importing, "COLUMNAR_MIN_BYTES", 0 if lane == "columnar" else 1 << 60)
    user = {0: "back\\slash"}  # a backslash: escaped in LOAD DATA's text
    (tmp_path / "customers.csv").write_text("customer_id,email,created_at\n" + "".join(
        f"c{i:02d},{user.get(i % 9, 'u')}{i}@b.co,"
        f"{'' if i % 4 == 0 else '2024-01-01 10:00:00'}\n" for i in range(40)))
    (tmp_path / "products.csv").write_text("product_id,name,price\n" + "".join(
        f"p{i},Pen {i},{i}.50\n" for i in range(10)))
    (tmp_path / "orders.csv").write_text("order_id,customer_id,status,purchased_at\n" + "".join(
        f"o{i:03d},c{i % 40:02d},delivered,2024-0{1 + i % 9}-02 10:00:00\n" for i in range(60)))
    (tmp_path / "order_items.csv").write_text(
        "order_id,line_no,product_id,quantity,unit_price\n" + "".join(
            f"o{i // 2:03d},{1 + i % 2},p{i % 10},{1 + i % 3},{i % 10}.50\n" for i in range(120)))
    with ecomcli.connect(mysql_server) as store:
        assert isinstance(store, MySQLRepository)
        store.init_schema(drop=True)
        options = ImportOptions(batch_size=25)
        import_paths(store, [tmp_path], options)
        statements = noting(store, monkeypatch)
        again = import_paths(store, [tmp_path], options).rows()
    assert [(r["inserted"], r["updated"], r["unchanged"]) for r in again] == [
        (0, 0, n) for n in (40, 10, 60, 120)]
    assert not staged(statements)


def test_write_batch_merge_keeps_fields_not_given(mysql_store: MySQLRepository) -> None:
    mysql_store.write_batch("customers", customers(50), Mode.UPSERT, CUSTOMER_FIELDS)
    partial = Validator(schema.entity("customers"), partial=True)
    batch = [partial({"customer_id": f"c{i}", "phone": "+1 555"}) for i in range(40, 60)]
    r = mysql_store.write_batch("customers", batch, Mode.MERGE, ["customer_id", "phone"])
    assert (r.inserted, r.updated, r.unchanged) == (10, 10, 0)
    kept = mysql_store.require("customers", ("c41",))
    assert (kept["phone"], kept["email"]) == ("+1 555", "u41@example.com")
    # a required field the input lacks keeps its stored value
    mysql_store.insert(
        "products",
        Validator(schema.entity("products"))(
            {"product_id": "p1", "name": "Shoe", "price": "9.99", "units_in_stock": 5}
        ),
    )
    partial = Validator(schema.entity("products"), partial=True)
    r = mysql_store.write_batch(
        "products",
        [partial({"product_id": "p1", "price": "25.00"})],
        Mode.MERGE,
        ["product_id", "price"],
    )
    assert (r.updated, r.rejected) == (1, [])
    p1 = mysql_store.require("products", ("p1",))
    assert (p1["name"], p1["price"], p1["units_in_stock"]) == ("Shoe", Decimal("25.00"), 5)


def test_write_batch_is_all_or_nothing(mysql_store: MySQLRepository) -> None:
    check = Validator(schema.entity("order_items"))
    mysql_store.write_batch("customers", customers(1), Mode.UPSERT, CUSTOMER_FIELDS)
    mysql_store.insert(
        "products",
        Validator(schema.entity("products"))({"product_id": "p1", "name": "Shoe", "price": "9.99"}),
    )
    mysql_store.insert(
        "orders",
        Validator(schema.entity("orders"))(
            {"order_id": "o1", "customer_id": "c0", "purchased_at": "2024-01-01T00:00:00"}
        ),
    )
    lines = [
        check({"order_id": "o1", "line_no": n, "product_id": p, "unit_price": "9.99"})
        for n, p in [(1, "p1"), (2, "no-such-product"), (3, "p1")]
    ]
    with pytest.raises(NotFoundError):
        mysql_store.write_batch("order_items", lines, Mode.UPSERT, ["order_id"])
    assert mysql_store.count("order_items") == 0
    r = mysql_store.write_batch("order_items", lines[::2], Mode.UPSERT, ["order_id"])
    assert r.inserted == 2
    assert mysql_store.require("order_items", ("o1", 3))["unit_price"] == Decimal("9.99")


def test_a_refused_load_data_falls_back_with_one_notice(
    mysql_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with ecomcli.connect(mysql_server + "?local_infile=0") as store:
        assert isinstance(store, MySQLRepository)
        store.init_schema()
        store.local_infile = True  # the client connection still refuses LOCAL
        r = store.write_batch("customers", customers(20, 9000), Mode.UPSERT, CUSTOMER_FIELDS)
        assert r.inserted == 20
        r = store.write_batch("customers", customers(20, 9010), Mode.UPSERT, CUSTOMER_FIELDS)
        assert (r.inserted, r.unchanged) == (10, 10)
        assert store.count("customers", [ecomcli.Filter("customer_id", ">=", "c9000")]) == 30
    err = capsys.readouterr().err
    assert err.count("refuses LOAD DATA LOCAL INFILE") == 1


# --- the C extension --------------------------------------------------------------------


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}  # as a user runs it
    return subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cli_path_uses_the_c_extension(mysql_server: str) -> None:
    done = run_python(
        "from ecomcli.cli import app\n"
        "import ecomcli\n"
        f"store = ecomcli.connect({mysql_server!r})\n"
        "print(type(store.conn).__name__)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "CMySQLConnection"


def test_pure_python_fallback_is_announced(mysql_server: str) -> None:
    done = run_python(
        "import hashlib\n"  # loads the system OpenSSL before the connector's C extension
        "import ecomcli\n"
        f"ecomcli.connect({mysql_server!r})\n"
    )
    assert done.returncode != 0
    assert "without its C extension" in done.stderr


# --- lock conflicts ---------------------------------------------------------------------


def test_lock_wait_timeout_is_transient(mysql_store: MySQLRepository) -> None:
    product = Validator(schema.entity("products"))(
        {"product_id": "p1", "name": "Shoe", "price": "1", "units_in_stock": 3}
    )
    mysql_store.insert("products", product)
    with ecomcli.connect(mysql_store.url.raw) as other:
        other.execute("SET SESSION innodb_lock_wait_timeout = 1").close()  # type: ignore[attr-defined]
        with mysql_store.transaction():
            assert mysql_store.add_stock("p1", -1) == 2  # holds the row lock until commit
            with pytest.raises(TransientError, match="1205"):
                other.add_stock("p1", -1)
        assert other.add_stock("p1", -1) == 1


def test_a_deadlock_is_transient_and_atomic_retries_it(mysql_store: MySQLRepository) -> None:
    """Two transactions take two product rows in opposite orders: InnoDB kills one of them
    with error 1213; `atomic` rolls it back and runs it again, so both sales happen."""
    make = Validator(schema.entity("products"))
    for pid in ("p1", "p2"):
        mysql_store.insert("products", make({"product_id": pid, "name": pid, "price": "1",
                                             "units_in_stock": 10}))
    both_hold_one = threading.Barrier(2, timeout=10)
    failures: list[str] = []

    def sell(store: MySQLRepository, first: str, second: str) -> None:
        attempts = 0

        def work() -> None:
            nonlocal attempts
            attempts += 1
            store.add_stock(first, -1)
            if attempts == 1:
                both_hold_one.wait()  # each holds one row lock and asks for the other's
            store.add_stock(second, -1)

        original = store.retrying

        def watched(fn, **kw):  # type: ignore[no-untyped-def]
            def recorded():  # type: ignore[no-untyped-def]
                try:
                    return fn()
                except TransientError as e:
                    failures.append(str(e))
                    raise
            return original(recorded, **kw)

        store.retrying = watched  # type: ignore[method-assign]
        store.atomic(work)

    with ecomcli.connect(mysql_store.url.raw) as other:
        threads = [
            threading.Thread(target=sell, args=(mysql_store, "p1", "p2")),
            threading.Thread(target=sell, args=(other, "p2", "p1")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert any("1213" in f for f in failures), failures
    assert mysql_store.require("products", ("p1",))["units_in_stock"] == 8
    assert mysql_store.require("products", ("p2",))["units_in_stock"] == 8


# --- a result as LOAD DATA text (a Spider head gathers its data nodes' rows so) ----------


def test_a_result_written_as_load_data_text_loads_back_exactly(
    mysql_server: str, tmp_path: Path
) -> None:
    """`tsv_chunks` writes a result from the server's text, a chunk at once unless it
    holds a NULL or a character to escape: chunks of both kinds load back as they were
    (a tab, newline, carriage return or backslash in a text; NULL; numbers and times)."""
    titles = ["plain", "also plain", "a\tb", "x", "line\nbreak", "y", "back\\slash",
              "cr\rhere", None, "z", "\\N", "tab at end\t"]
    with ecomcli.connect(mysql_server) as store:
        assert isinstance(store, MySQLRepository)
        store.init_schema()
        empty(store)
        for i, title in enumerate(titles):
            add_record(store, "reviews", {"review_id": f"r{i:02}", "score": 1 + i % 5,
                                          "title": title, "comment": f"comment {i}",
                                          "created_at": f"2024-02-0{1 + i % 9} 12:34:5{i % 10}"})
        sql = ("SELECT review_id, title, comment, score, created_at, DATE(created_at) AS day,"
               " score * 1.25 AS n FROM reviews ORDER BY review_id")
        store.execute(f"CREATE TEMPORARY TABLE copied AS {sql} LIMIT 0").close()
        path = tmp_path / "rows.tsv"
        with path.open("wb") as fh:
            for chunk in store.tsv_chunks(sql, (), rows=2):  # 6 chunks, the first plain
                fh.write(chunk)
        names = ["review_id", "title", "comment", "score", "created_at", "day", "n"]
        assert store.load_rows("copied", names, str(path))
        assert store.query("SELECT * FROM copied ORDER BY review_id") == store.query(sql)
        assert [r["title"] for r in store.query(sql)] == titles
