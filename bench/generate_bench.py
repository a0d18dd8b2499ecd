"""How fast `ecom generate` writes a large store, and its peak memory.

    .venv/bin/python bench/generate_bench.py                 # 1,000,000 orders
    .venv/bin/python bench/generate_bench.py --orders 100000 --format ndjson

Runs the generator in a child process (so the peak RSS measured is the generator's
alone, from `resource.getrusage(RUSAGE_CHILDREN)`), then prints wall time, rows written,
rows per second, peak RSS and the size of the files. Target: 1M orders (~2.5M order
lines) in minutes with a peak under 500 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys
from pathlib import Path
from ecomcli.generate import GenerateOptions, generate
out, customers, products, orders, fmt = sys.argv[1:6]
generate(GenerateOptions(Path(out), customers=int(customers), products=int(products),
                         orders=int(orders), format=fmt))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=None, help="default: orders / 5")
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--format", default="csv", choices=("csv", "ndjson"))
    parser.add_argument("--keep", type=Path, default=None, help="write here and keep the files")
    args = parser.parse_args()
    customers = args.customers or max(100, args.orders // 5)
    out = args.keep or Path(tempfile.mkdtemp(prefix="ecom-generate-bench-"))
    try:
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", CHILD, str(out), str(customers), str(args.products),
             str(args.orders), args.format],
            check=True,
        )
        took = time.perf_counter() - began
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        manifest = json.loads((out / "manifest.json").read_text())
        rows = sum(manifest["rows"].values())
        size_mb = sum(p.stat().st_size for p in out.iterdir()) / 2**20
        print(
            f"generate {args.orders:,} orders, {customers:,} customers, {args.products:,} "
            f"products ({args.format}): {took:.1f} s, {rows:,} rows "
            f"({manifest['rows']['order_items']:,} order lines), {rows / took:,.0f} rows/s, "
            f"peak RSS {peak_mb:.0f} MB, {size_mb:.0f} MB of files"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
