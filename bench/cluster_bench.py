"""One MariaDB node vs a 2-shard Spider cluster vs a 3-node Galera cluster, same data.

    .venv/bin/python bench/cluster_bench.py --orders 20000
    .venv/bin/python bench/cluster_bench.py --orders 200000 --repeat 3 --buyers 8
    .venv/bin/python bench/cluster_bench.py --orders 1000000 --repeat 2 --only single,spider \
        --buffer-pool 1G

Starts its own nodes on free local ports (tests/clusters/servers.py: small buffer pools
unless `--buffer-pool` says, same options on every node), generates one store (`ecom
generate`), then on each target:
1. import: `import_paths` of the generated folder (wall time, rows/s), through the one
   node, the Spider head, Galera's first node;
2. reports: every case of the parity test, its first run (which builds the summaries it
   reads) and the median of --repeat runs after it (Galera: read through its second node);
3. orders: --buyers processes place orders of one unit of a random product for a random
   customer for --seconds (Galera: the buyers spread over the 3 nodes): orders/s.

Or only the reports, on stores already imported (say one server and a Spider head holding
the same generated store), the stores in turn, --rounds times:

    .venv/bin/python bench/cluster_bench.py --repeat 2 --rounds 2 \
        --stores one=mysql://root@127.0.0.1/bench1m,spider=mysql://root@127.0.0.1:PORT/shop
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import ecomcli  # first: the MySQL C extension must load before ssl (see ecomcli/__init__.py)
from ecomcli import orders, reports
from ecomcli.errors import EcomError
from ecomcli.generate import GenerateOptions, generate
from ecomcli.importing import import_paths

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from clusters import servers  # noqa: E402
from clusters.servers import (  # noqa: E402 (the test harness starts the nodes)
    Cluster,
    new_node,
    start_galera,
    start_spider,
)
from test_reports_parity import CASES  # noqa: E402

DB = "bench"


def start_single(folder: Path) -> Cluster:
    from clusters.servers import free_ports

    node = new_node(folder, "single", free_ports(1)[0], [])
    node.start()
    node.wait_ready()
    return Cluster("single", folder, [node])


def timed_import(url: str, data: Path, shards: list[str] | None = None) -> float:
    with ecomcli.connect(url) as store:
        if shards:
            store.init_sharded(shards)
        else:
            store.init_schema()
        start = time.perf_counter()
        summary = import_paths(store, [data])
        elapsed = time.perf_counter() - start
    assert not summary.rejected, summary.rejected[:3]
    return elapsed


def report_times(url: str, repeat: int) -> dict[str, tuple[float, float]]:
    """Per report case: its first run after the import (which builds the summaries it
    reads) and the median of `repeat` runs after it."""
    times = {}
    with ecomcli.connect(url) as store:
        for name, params in CASES:
            runs = []
            for _ in range(repeat + 1):
                start = time.perf_counter()
                reports.run(store, name, params)
                runs.append(time.perf_counter() - start)
            times[f"{name} {params}" if params else name] = (runs[0], statistics.median(runs[1:]))
    return times


def compare_reports(stores: dict[str, str], repeat: int, rounds: int) -> None:
    """`report_times` of each store in turn, `rounds` times: per case, each round's
    median of the runs after the first, then each round's total."""
    times: dict[str, list[dict[str, tuple[float, float]]]] = {name: [] for name in stores}
    for _ in range(rounds):
        for name, url in stores.items():
            times[name].append(report_times(url, repeat))
            print(f"{name}: runs after {sum(t[1] for t in times[name][-1].values()):.2f} s",
                  flush=True)
    print("\n| case (ms, runs after, each round) | " + " | ".join(stores) + " |")
    print("| --- |" + " --- |" * len(stores))
    for case in times[next(iter(stores))][0]:
        cells = [" / ".join(f"{r[case][1] * 1000:.0f}" for r in times[n]) for n in stores]
        print(f"| {case} | " + " | ".join(cells) + " |")
    for label, run in (("first runs", 0), ("runs after", 1)):
        cells = [" / ".join(f"{sum(t[run] for t in r.values()):.2f}" for r in times[n])
                 for n in stores]  # fmt: skip
        print(f"| all cases, {label} (s) | " + " | ".join(cells) + " |")


def _buyer(url: str, seed: int, seconds: float, customers: int, products: int, out) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    placed = failed = 0
    try:
        with ecomcli.connect(url) as store:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                customer = f"C{rng.randint(1, customers):07d}"
                product = f"P{rng.randint(1, products):06d}"
                request = orders.OrderRequest(customer, [orders.Line(product, 1)], "wallet")
                try:
                    orders.place_order(store, request)
                    placed += 1
                except EcomError:  # out of stock, or a race lost 10 times: not placed
                    failed += 1
    finally:  # the parent waits for every buyer's count
        out.put((placed, failed))


def orders_per_second(
    urls: list[str], buyers: int, seconds: float, customers: int, products: int
) -> tuple[float, int]:
    out: multiprocessing.Queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(
            target=_buyer, args=(urls[i % len(urls)], i, seconds, customers, products, out)
        )
        for i in range(buyers)
    ]
    start = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - start
    return sum(r[0] for r in results) / elapsed, sum(r[1] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--buyers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--only", default="single,spider,galera")
    parser.add_argument("--buffer-pool", help="each node's InnoDB buffer pool (say 1G);"
                        " the test harness's 48M by default")
    parser.add_argument("--stores", help="NAME=URL,...: only time the reports on these"
                        " stores, already imported")
    parser.add_argument("--rounds", type=int, default=1, help="with --stores")
    args = parser.parse_args()
    if args.stores:
        stores = dict(item.split("=", 1) for item in args.stores.split(","))
        compare_reports(stores, args.repeat, args.rounds)
        return
    if args.buffer_pool:  # the same on every node, as the harness's other options
        servers.COMMON[:] = [o if not o.startswith("--innodb-buffer-pool-size=")
                             else f"--innodb-buffer-pool-size={args.buffer_pool}"
                             for o in servers.COMMON]
    folder = Path(tempfile.mkdtemp(prefix="ecom-cluster-bench-"))
    customers, products = max(200, args.orders // 5), max(60, args.orders // 40)
    data = folder / "data"
    generate(GenerateOptions(data, customers=customers, products=products, orders=args.orders))
    clusters: dict[str, Cluster] = {}
    try:
        targets: dict[str, tuple[str, str, list[str]]] = {}  # name: import, read, buyer URLs
        only = args.only.split(",")
        if "single" in only:
            c = clusters["single"] = start_single(folder / "single")
            targets["one node"] = (f"{c.urls[0]}/{DB}", f"{c.urls[0]}/{DB}", [f"{c.urls[0]}/{DB}"])
        if "spider" in only:
            c = clusters["spider"] = start_spider(folder / "spider")
            head = f"{c.urls[0]}/{DB}"
            targets["spider 2 shards"] = (head, head, [head])
        if "galera" in only:
            c = clusters["galera"] = start_galera(folder / "galera")
            urls = [f"{u}/{DB}" for u in c.urls]
            targets["galera 3 nodes"] = (urls[0], urls[1], urls)
        rows = sum(1 for f in data.glob("*.csv") for _ in f.open()) - len(list(data.glob("*.csv")))
        print(f"{args.orders:,} orders, {rows:,} rows in all", flush=True)
        imports, times, rates = {}, {}, {}
        for name, (url, read, buyers) in targets.items():
            shards = (
                [f"{u}/{DB}" for u in clusters["spider"].urls[1:]] if "spider" in name else None
            )
            imports[name] = timed_import(url, data, shards)
            print(
                f"{name}: import {imports[name]:.1f} s ({rows / imports[name]:,.0f} rows/s)",
                flush=True,
            )
            times[name] = report_times(read, args.repeat)
            rates[name] = orders_per_second(buyers, args.buyers, args.seconds, customers, products)
            print(f"{name}: {rates[name][0]:.0f} orders/s ({rates[name][1]} refused)", flush=True)
        names = list(targets)
        print("\n| | " + " | ".join(names) + " |")
        print("| --- |" + " --- |" * len(names))
        print("| import (s) | " + " | ".join(f"{imports[n]:.1f}" for n in names) + " |")
        print(
            f"| orders/s ({args.buyers} processes) | "
            + " | ".join(f"{rates[n][0]:.0f}" for n in names)
            + " |"
        )
        for case in times[names[0]]:
            cells = [f"{times[n][case][0] * 1000:.0f} / {times[n][case][1] * 1000:.1f}"
                     for n in names]  # fmt: skip
            print(f"| {case}, first / then (ms) | " + " | ".join(cells) + " |")
        for label, run in (("first runs", 0), ("runs after", 1)):
            total = [sum(t[run] for t in times[n].values()) * 1000 for n in names]
            print(f"| all reports, {label} (ms) | " + " | ".join(f"{t:.0f}" for t in total) + " |")
    finally:
        for c in clusters.values():
            c.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
