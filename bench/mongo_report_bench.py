"""Time the reports on MongoDB: the first run (rebuilds the summary collections it reads)
and the second (reads them), optionally against the pipeline over the lines.

    .venv/bin/python bench/mongo_report_bench.py --orders 200000
    .venv/bin/python bench/mongo_report_bench.py --url mongodb://host:27017/bench --reuse
    .venv/bin/python bench/mongo_report_bench.py --orders 20000 --lines
    .venv/bin/python bench/mongo_report_bench.py --url ... --reuse --only carts,rfm

Without --url a SecantusDB server (the test server, a dev dependency) is started on a
temporary directory. The store is `ecom generate` (cached under --data, per size) loaded
through `write_batch` in 10,000-row batches (what `ecom import` does, marks included).
`--lines` also times each report's pipeline over the lines once (minutes at 200k orders).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import ecomcli
from ecomcli import Mode, reports, schema
from ecomcli.generate import GenerateOptions, generate
from ecomcli.validation import Validator

CASES: list[tuple[str, dict[str, Any]]] = [
    ("sales", {"by": "month"}),
    ("sales", {"by": "week", "from": "2024-03-05", "to": "2024-09-09"}),
    ("top-products", {"limit": 10}),
    ("top-products", {"from": "2024-03-11", "to": "2024-08-09", "limit": 10}),
    ("categories", {}),
    ("customer-orders", {"limit": 10}),
    ("customer-activity", {"from": "2025-01-01"}),
    ("payments", {}),
    ("delivery", {}),
    ("forecast", {}),
    ("carts", {"limit": 10}),
    ("ratings", {}),
    ("wishlists", {}),
    ("suppliers", {}),
    ("low-stock", {}),
    ("rfm", {}),
    ("cohorts", {}),
    ("basket", {}),
    ("restock", {}),
    ("clv", {"limit": 10}),
]
BATCH = 10_000


def load(store: Any, folder: Path) -> float:
    start = time.perf_counter()
    for e in schema.load_order():
        path = folder / f"{e.name}.csv"
        if not path.exists():
            continue
        check = Validator(e)
        with path.open(newline="", encoding="utf-8") as f:
            batch: list[dict[str, Any]] = []
            for row in csv.DictReader(f):
                batch.append(check(row))
                if len(batch) == BATCH:
                    store.write_batch(e.name, batch, Mode.INSERT, e.field_names)
                    batch = []
            if batch:
                store.write_batch(e.name, batch, Mode.INSERT, e.field_names)
    return time.perf_counter() - start


def timed(store: Any, name: str, params: dict[str, Any]) -> float:
    start = time.perf_counter()
    reports.run(store, name, params)
    return time.perf_counter() - start


def lines(store: Any, name: str, params: dict[str, Any]) -> float:
    report = reports.report(name)
    collection, pipeline = report.pipeline(report.spec.params(params))
    start = time.perf_counter()
    list(store.db[collection].aggregate(pipeline))
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=200_000)
    ap.add_argument("--url", help="a MongoDB URL with a database (default: a SecantusDB)")
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "ecom-bench")
    ap.add_argument("--reuse", action="store_true", help="the store is loaded already")
    ap.add_argument("--lines", action="store_true", help="also time the pipelines over lines")
    ap.add_argument("--only", help="comma-separated report names to time ('' to only load)")
    args = ap.parse_args()
    folder = args.data / f"orders-{args.orders}"
    if not (folder / "order_items.csv").exists():
        generate(GenerateOptions(folder, orders=args.orders))  # as `ecom generate --orders N`
    server = None
    url = args.url
    if url is None:
        from secantus import SecantusDBServer

        storage = tempfile.mkdtemp(prefix="ecom-bench-secantus-")
        server = SecantusDBServer(port=0, storage_path=storage)
        server.start()
        host, port = server.address
        url = f"mongodb://{host}:{port}/bench"
    try:
        with ecomcli.connect(url) as store:
            if not args.reuse:
                store.init_schema(drop=True)
                print(f"loaded {args.orders} orders in {load(store, folder):.1f} s", flush=True)
            print("| report | options | first run s | second run s | lines s |")
            print("| --- | --- | --- | --- | --- |")
            wanted = None if args.only is None else set(filter(None, args.only.split(",")))
            for name, params in CASES:
                if wanted is not None and name not in wanted:
                    continue
                first, second = timed(store, name, params), timed(store, name, params)
                over_lines = f"{lines(store, name, params):.2f}" if args.lines else "-"
                shown = " ".join(f"--{k} {v}" for k, v in params.items())
                print(f"| {name} | {shown} | {first:.2f} | {second:.2f} | {over_lines} |",
                      flush=True)
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(storage, ignore_errors=True)


if __name__ == "__main__":
    main()
