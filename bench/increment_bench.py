"""Time what a nightly cron job pays: `ecom import` of the latest days' orders into a
store whose summaries are built, then the first run of each report (which rebuilds what
the import marked), then a second run.

    .venv/bin/python bench/increment_bench.py --db sqlite:////tmp/copy-of-big.db \\
        --data /tmp/g1m --days 1 7

`--data` is the `ecom generate` folder the store was imported from. For each `--days D`
the script takes the orders of the store's last D days out of it (with their lines,
payments, reviews and stock movements, by SQL), rebuilds every summary (untimed), writes
those rows from the folder's files to a new folder, and times `ecom import` of it and
the reports, each as its own process. It changes the store: run it on a copy.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ecomcli  # first: the MySQL C extension must load before ssl
from ecomcli.backends import summaries

ECOM = str(Path(sys.executable).with_name("ecom"))
# the files whose rows belong to an order, and the column naming it
BY_ORDER = {"orders": "order_id", "order_items": "order_id", "payments": "order_id",
            "reviews": "order_id", "stock_movements": "order_id"}  # fmt: skip
REPORTS = ["top-products", "sales", "customer-orders", "carts", "basket", "cohorts", "rfm",
           "payments", "delivery", "ratings"]  # fmt: skip
# `--limit 10` where a report takes it: the time of writing 1.24M carts to a terminal
# is not the summaries'
LIMITED = {"top-products", "customer-orders", "carts", "basket", "rfm", "ratings"}


def latest_orders(store: object, days: int) -> set[str]:
    """The ids of the orders purchased in the store's last `days` days."""
    d = store.dialect  # type: ignore[attr-defined]
    cur = store.execute("SELECT MAX(purchased_at) FROM orders")  # type: ignore[attr-defined]
    (last,) = cur.fetchone()
    cur.close()
    since = d.days_before(d.ph, days - 1)
    cur = store.execute(  # type: ignore[attr-defined]
        f"SELECT order_id FROM orders WHERE purchased_at >= {since}", [last]
    )
    ids = {r[0] for r in cur.fetchall()}
    cur.close()
    return ids


def take_out(store: object, ids: set[str]) -> None:
    """Delete the orders `ids` and what refers to them, then rebuild every summary."""
    keys = sorted(ids)
    for table in ("stock_movements", "reviews", "payments", "order_items", "orders"):
        for where, binds in store.in_clauses(keys):  # type: ignore[attr-defined]
            store.execute(f"DELETE FROM {table} WHERE order_id {where}", binds).close()  # type: ignore[attr-defined]
    store.conn.commit()  # type: ignore[attr-defined]
    store.init_schema()  # type: ignore[attr-defined]
    summaries.refresh(store, summaries.BUILT)  # type: ignore[arg-type]


def write_increment(data: Path, ids: set[str], out: Path) -> int:
    """The rows of `data`'s files that belong to the orders `ids`, as files in `out`."""
    total = 0
    for name, column in BY_ORDER.items():
        with open(data / f"{name}.csv", newline="") as f:
            reader = csv.DictReader(f)
            rows = [row for row in reader if row[column] in ids]
        with open(out / f"{name}.csv", "w", newline="") as g:
            writer = csv.DictWriter(g, reader.fieldnames or [])
            writer.writeheader()
            writer.writerows(rows)
        total += len(rows)
    return total


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([ECOM, "-q", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--days", type=int, nargs="+", default=[1, 7])
    args = ap.parse_args()
    for days in args.days:
        with ecomcli.connect(args.db) as store:
            ids = latest_orders(store, days)
            take_out(store, ids)
        with tempfile.TemporaryDirectory() as folder:
            rows = write_increment(args.data, ids, Path(folder))
            took = timed(["import", folder, "--db", args.db])
        print(f"{days} day(s): {len(ids):,} orders, {rows:,} rows, import {took:.2f} s")
        for name in REPORTS:
            command = ["report", name, "--db", args.db]
            if name in LIMITED:
                command += ["--limit", "10"]
            first, second = timed(command), timed(command)
            print(f"  {name:16s} first {first:6.2f} s  second {second:6.2f} s", flush=True)


if __name__ == "__main__":
    main()
