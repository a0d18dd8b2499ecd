"""MySQL bulk-load benchmark: `LOAD DATA LOCAL INFILE` against ecom's `write_batch`.

    .venv/bin/python bench/mysql_load_bench.py [--entity customers|order_items]
        [--rows 200000] [--batch 10000] [--url mysql://root@127.0.0.1:3306/ecom_bench]

Measures on synthetic rows of `customers` (8 columns, no foreign keys) or `order_items`
(7 columns, foreign keys to orders, products and suppliers, which are created first):

1. `LOAD DATA LOCAL INFILE` of the CSV into the empty table (the yardstick);
2. ecom's path into the empty table: csv.DictReader + `Validator` + `write_batch(UPSERT)`
   in batches (what an import does), and `write_batch` alone on pre-validated rows;
3. the same upsert again on the full table (every row unchanged) and with every row changed;
4. the generic `SQLRepository.write_batch` (SELECT, classify in Python, executemany).

Run it by hand; the database named in the URL is dropped and recreated. InnoDB flushes
in the background after a big load: the script pauses between runs.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ecomcli  # first: loads the connector's C extension before anything loads OpenSSL
from ecomcli import Mode, schema
from ecomcli.backends.mysql import MySQLRepository, uses_c_extension
from ecomcli.backends.sql import SQLRepository
from ecomcli.validation import Validator

ENTITY = "customers"  # set by --entity
FIELDS = [f.name for f in schema.entity(ENTITY).fields]
LINES_PER_ORDER = 10
PRODUCTS = 1000


def customer_row(i: int, suffix: str) -> list[Any]:
    return [
        f"C{i:08d}",
        f"First{i % 977}{suffix}",
        f"Last{i % 1013}",
        f"user{i}@example.com",
        f"+1 555 {i % 10000:04d}",
        ("female", "male", "other")[i % 3],
        f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}",
        f"2024-0{1 + i % 9}-1{i % 10} 1{i % 10}:2{i % 10}:3{i % 10}",
    ]


def line_row(i: int, suffix: str) -> list[Any]:
    cents = 100 + (i * 37) % 99_900 + (1 if suffix else 0)
    return [
        f"O{i // LINES_PER_ORDER:08d}",
        i % LINES_PER_ORDER + 1,
        f"P{i % PRODUCTS:05d}",
        "S1",
        1 + i % 5,
        f"{cents // 100}.{cents % 100:02d}",
        f"{(i % 7)}.{i % 100:02d}",
    ]


def write_csv(path: Path, n: int, suffix: str = "") -> None:
    make = customer_row if ENTITY == "customers" else line_row
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(FIELDS)
        for i in range(n):
            w.writerow(make(i, suffix))


def parents(store: MySQLRepository, n: int) -> None:
    """What order lines refer to: one customer and supplier, the products and orders."""
    if ENTITY != "order_items":
        return

    def put(entity: str, raw: list[dict[str, Any]]) -> None:
        check = Validator(schema.entity(entity))
        rows = [check(r) for r in raw]
        for start in range(0, len(rows), 10_000):
            store.write_batch(entity, rows[start : start + 10_000], Mode.UPSERT, list(raw[0]))

    put("customers", [{"customer_id": "C1"}])
    put("suppliers", [{"supplier_id": "S1", "name": "Acme"}])
    put(
        "products",
        [{"product_id": f"P{i:05d}", "name": "x", "price": "1.00"} for i in range(PRODUCTS)],
    )
    orders = (n + LINES_PER_ORDER - 1) // LINES_PER_ORDER
    put(
        "orders",
        [
            {"order_id": f"O{i:08d}", "customer_id": "C1", "purchased_at": "2024-01-01 00:00:00"}
            for i in range(orders)
        ],
    )


def read_valid(path: Path) -> list[dict[str, Any]]:
    check = Validator(schema.entity(ENTITY))
    with path.open(newline="") as fh:
        return [check(r) for r in csv.DictReader(fh)]


def reset(url: str, n_rows: int) -> MySQLRepository:
    store = ecomcli.connect(url)
    assert isinstance(store, MySQLRepository)
    store.init_schema(drop=True)
    parents(store, n_rows)
    return store


def timed(label: str, n: int, work: Callable[[], Any], results: dict[str, float]) -> Any:
    start = time.perf_counter()
    out = work()
    seconds = time.perf_counter() - start
    results[label] = n / seconds
    print(f"{label:<58} {seconds:7.2f} s {n / seconds:>10,.0f} rows/s", flush=True)
    return out


def load_data(store: MySQLRepository, path: Path) -> None:
    cur = store.execute(
        f"LOAD DATA LOCAL INFILE %s INTO TABLE `{ENTITY}` FIELDS TERMINATED BY ',' "
        f"OPTIONALLY ENCLOSED BY '\"' IGNORE 1 LINES ({', '.join(FIELDS)})",
        [str(path)],
    )
    cur.close()


def import_file(store: SQLRepository, path: Path, batch: int) -> None:
    check = Validator(schema.entity(ENTITY))
    with path.open(newline="") as fh:
        rows: list[dict[str, Any]] = []
        for raw in csv.DictReader(fh):
            rows.append(check(raw))
            if len(rows) == batch:
                store.write_batch(ENTITY, rows, Mode.UPSERT, FIELDS)
                rows = []
        if rows:
            store.write_batch(ENTITY, rows, Mode.UPSERT, FIELDS)


def write_all(store: SQLRepository, rows: list[dict[str, Any]], batch: int) -> list[int]:
    totals = [0, 0, 0]
    for start in range(0, len(rows), batch):
        r = store.write_batch(ENTITY, rows[start : start + batch], Mode.UPSERT, FIELDS)
        totals = [totals[0] + r.inserted, totals[1] + r.updated, totals[2] + r.unchanged]
    return totals


def generic_write_all(store: MySQLRepository, rows: list[dict[str, Any]], batch: int) -> None:
    for start in range(0, len(rows), batch):
        SQLRepository.write_batch(store, ENTITY, rows[start : start + batch], Mode.UPSERT, FIELDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entity", choices=["customers", "order_items"], default="customers")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--url", default="mysql://root@127.0.0.1:3306/ecom_bench")
    parser.add_argument("--pause", type=float, default=5.0, help="seconds between runs")
    args = parser.parse_args()
    global ENTITY, FIELDS
    ENTITY, FIELDS = args.entity, [f.name for f in schema.entity(args.entity).fields]
    n, batch = args.rows, args.batch
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path, changed = Path(tmp) / "rows.csv", Path(tmp) / "rows2.csv"
        write_csv(path, n)
        write_csv(changed, n, suffix="x")
        rows, rows2 = read_valid(path), read_valid(changed)
        store = reset(args.url, n)
        print(
            f"{n:,} {ENTITY} rows, batches of {batch:,}; C extension: "
            f"{uses_c_extension(store.conn)}; LOCAL INFILE staging: {store.local_infile}"
        )
        timed("LOAD DATA LOCAL INFILE (empty table)", n, lambda: load_data(store, path), results)
        store.close()

        for label, work in [
            (
                "ecom import: csv + validate + write_batch (empty)",
                lambda s: import_file(s, path, batch),
            ),
            ("write_batch only, pre-validated (empty)", lambda s: write_all(s, rows, batch)),
            (
                "generic SQLRepository.write_batch (empty)",
                lambda s: generic_write_all(s, rows, batch),
            ),
        ]:
            time.sleep(args.pause)
            store = reset(args.url, n)
            timed(label, n, lambda w=work, s=store: w(s), results)  # type: ignore[misc]
            store.close()

        time.sleep(args.pause)
        store = ecomcli.connect(args.url)
        assert isinstance(store, MySQLRepository)
        counts = timed(
            "write_batch re-run, every row unchanged",
            n,
            lambda: write_all(store, rows, batch),
            results,
        )
        assert counts == [0, 0, n], counts
        time.sleep(args.pause)
        counts = timed(
            "write_batch, every row changed", n, lambda: write_all(store, rows2, batch), results
        )
        assert counts == [0, n, 0], counts
        time.sleep(args.pause)
        timed(
            "generic write_batch re-run, every row changed back",
            n,
            lambda: generic_write_all(store, rows, batch),
            results,
        )
        store.execute("DROP DATABASE IF EXISTS `" + store.url.database + "`").close()
        store.close()
    base = results["LOAD DATA LOCAL INFILE (empty table)"]
    print("\nratios to LOAD DATA LOCAL INFILE:")
    for label, rate in results.items():
        print(f"  {label:<58} {rate / base:5.2f}x")


if __name__ == "__main__":
    main()
