"""Recommendations on a large store: the neighbour tables' rebuild and the ALS fit next
to the report summaries' rebuild, 1,000 `store.recommend` calls through the API (warm)
per strategy timed, one CLI call, and optionally the `--evaluate` table.

    ecom generate --out /tmp/big --orders 200000 --customers 40000 --products 2000
    ecom init-db --db sqlite:///big.db && ecom import /tmp/big --db sqlite:///big.db -q
    .venv/bin/python bench/recommend_bench.py --db sqlite:///big.db [--evaluate]

The figures go into bench/README.md (section "recommend_bench.py").
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import ecomcli
from ecomcli import Query
from ecomcli.recommend import als, recommend, tables


def summaries_rebuild(store: ecomcli.Repository) -> float | None:
    """Seconds to rebuild every report summary from scratch (SQL stores only)."""
    if store.backend == "mongodb":
        return None
    from ecomcli.backends import summaries

    summaries.forget(store)  # type: ignore[arg-type]
    store.init_schema()
    t = time.perf_counter()
    summaries.refresh(store, tuple(summaries.BUILT))  # type: ignore[arg-type]
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--evaluate", action="store_true")
    parser.add_argument("--strategies", default="auto,als",
                        help="comma-separated strategies whose calls are timed")
    parser.add_argument("--no-summaries", action="store_true",
                        help="skip the report summaries' rebuild (the comparison)")
    args = parser.parse_args()
    with ecomcli.connect(args.db) as store:
        t = time.perf_counter()
        t_tables = tables.fresh(store, refresh=True)
        build = time.perf_counter() - t
        print(f"{store.backend}: neighbour tables built in {build:.2f} s", flush=True)
        if als.available():
            t = time.perf_counter()
            tables.factors(store, t_tables, refresh=True)
            print(f"ALS factors fitted and stored in {time.perf_counter() - t:.2f} s",
                  flush=True)
        summary = None if args.no_summaries else summaries_rebuild(store)
        shown = "n/a" if summary is None else f"{summary:.2f} s"
        print(f"report summaries rebuilt in {shown}", flush=True)
        customers = [r["customer_id"] for r in store.find("orders", Query(limit=args.calls))]
        for strategy in args.strategies.split(","):
            recommend(store, customers[0], strategy=strategy)  # warm: connection, caches
            took = []
            for c in customers:
                t = time.perf_counter()
                recommend(store, c, 10, strategy=strategy)
                took.append(time.perf_counter() - t)
            took.sort()
            print(f"{len(took)} recommend calls, {strategy}: median "
                  f"{statistics.median(took) * 1000:.1f} ms, p95 "
                  f"{took[int(len(took) * 0.95)] * 1000:.1f} ms, total {sum(took):.2f} s",
                  flush=True)
        ecom = Path(sys.executable).with_name("ecom")
        t = time.perf_counter()
        subprocess.run([str(ecom), "recommend", "--customer", customers[0], "--db", args.db,
                        "--format", "csv"], check=True, capture_output=True)
        print(f"one CLI call: {time.perf_counter() - t:.2f} s")
        if args.evaluate:
            from ecomcli.recommend.evaluate import evaluate

            print("| strategy | HR@10 | NDCG@10 | coverage | customers | seconds |")
            print("| --- | --- | --- | --- | --- | --- |")
            for s in evaluate(store, 10):
                print(f"| {s.strategy} | {s.hr:.3f} | {s.ndcg:.3f} | {s.coverage:.3f} | "
                      f"{s.customers:,} | {s.seconds:.1f} |")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"peak RSS of this process: {rss} MB")


if __name__ == "__main__":
    main()
