"""Placing orders: throughput in one process, under contention, and `ecom` latency.

    .venv/bin/python bench/orders_bench.py                         # sqlite + MariaDB
    .venv/bin/python bench/orders_bench.py --mongo                 # also SecantusDB
    .venv/bin/python bench/orders_bench.py --db mysql://root@127.0.0.1:3306/x --orders 500

1. sequential: one process places --orders orders of two lines (`orders.place_order`: one
   transaction each: stock taken, order, lines, payment, movements);
2. contended: --procs processes place orders at once, every order taking one unit of the
   same hot product (plus one other line), until its stock runs out: orders/s, and
   whether units sold == orders placed (it must);
3. cli: the wall time of `ecom orders place` as a process (median of 5).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import ecomcli  # first: the MySQL C extension must load before ssl (see ecomcli/__init__.py)
from ecomcli import orders
from ecomcli.errors import EcomError, OutOfStockError
from ecomcli.records import add_record

PRODUCTS = 50


def prepare(url: str, hot_units: int) -> None:
    with ecomcli.connect(url) as store:
        store.init_schema(drop=True)
        add_record(store, "customers", {"customer_id": "c1"})
        add_record(
            store, "products", {"product_id": "hot", "name": "Hot", "price": "5.00",
                                "units_in_stock": hot_units},
        )  # fmt: skip
        for i in range(PRODUCTS):
            add_record(
                store, "products", {"product_id": f"p{i}", "name": f"P{i}", "price": "1.99",
                                    "units_in_stock": 1_000_000},
            )  # fmt: skip


def sequential(url: str, n: int) -> float:
    prepare(url, hot_units=10 * n)
    with ecomcli.connect(url) as store:
        start = time.perf_counter()
        for i in range(n):
            lines = [orders.Line("hot", 1), orders.Line(f"p{i % PRODUCTS}", 2)]
            orders.place_order(store, orders.OrderRequest("c1", lines, "wallet"))
        return n / (time.perf_counter() - start)


def _buyer(url: str, seed: int, results: multiprocessing.Queue) -> None:
    placed = 0
    try:
        with ecomcli.connect(url) as store:
            while True:
                lines = [orders.Line("hot", 1), orders.Line(f"p{seed % PRODUCTS}", 1)]
                try:
                    orders.place_order(store, orders.OrderRequest("c1", lines, "wallet"))
                except OutOfStockError:
                    break
                placed += 1
    except EcomError as e:  # e.g. a transaction that kept losing races: say so, go on
        print(f"buyer {seed}: {e}", file=sys.stderr)
    finally:
        results.put(placed)


def contended(url: str, procs: int, units: int) -> tuple[float, bool]:
    prepare(url, hot_units=units)
    results: multiprocessing.Queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_buyer, args=(url, i, results)) for i in range(procs)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    placed = sum(results.get() for _ in workers)
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    with ecomcli.connect(url) as store:
        left = store.require("products", ("hot",))["units_in_stock"]
        written = store.count("orders")
    return placed / elapsed, (placed == written == units and left == 0)


def cli_latency(url: str) -> float:
    prepare(url, hot_units=100)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "ecomcli", "orders", "place", "--db", url, "-c", "c1",
             "-i", "hot:1", "-i", "p1:1", "--payment-method", "wallet"],
            check=True, capture_output=True,
        )  # fmt: skip
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", help="a store URL (repeatable)")
    parser.add_argument("--mongo", action="store_true", help="also a SecantusDB server")
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--procs", type=int, default=8)
    parser.add_argument("--units", type=int, default=400, help="hot stock, contended run")
    args = parser.parse_args()
    urls = args.db or [
        f"sqlite:///{tempfile.mkdtemp()}/bench.db",
        f"mysql://root@127.0.0.1:3306/ecom_orders_bench_{uuid.uuid4().hex[:6]}",
    ]
    server = None
    if args.mongo:
        from secantus import SecantusDBServer

        server = SecantusDBServer(port=0, storage_path=tempfile.mkdtemp())
        server.start()
        host, port = server.address
        urls.append(f"mongodb://{host}:{port}/ecom_orders_bench")
    try:
        print("| backend | sequential orders/s | contended orders/s (procs) | oversold? | cli |")
        print("| --- | --- | --- | --- | --- |")
        for url in urls:
            seq = sequential(url, args.orders)
            rate, exact = contended(url, args.procs, args.units)
            cli = cli_latency(url)
            backend = url.split(":", 1)[0]
            print(
                f"| {backend} | {seq:.0f} | {rate:.0f} ({args.procs}) | "
                f"{'no' if exact else 'YES'} | {cli * 1000:.0f} ms |",
                flush=True,
            )
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
