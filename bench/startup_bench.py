"""Start-up of the `ecom` command, whole process, against `sqlite-utils --version`.

Each round runs every command once, in turn (the sides alternate, so a busy moment of a
shared machine falls on all of them); the table shows each command's median over the
rounds and its ratio to `sqlite-utils --version` of the same run. `python -c pass` is the
floor. With `--db`, also `ecom status`, a warm `ecom report top-products --limit 10` (one
untimed run first) and `ecom orders place` of one line (a customer and a product in stock
read from the store first; each placed order stays in the store: use a copy).

    .venv/bin/python bench/startup_bench.py --sqlite-utils /tmp/su-venv/bin/sqlite-utils
    .venv/bin/python bench/startup_bench.py --sqlite-utils /tmp/su-venv/bin/sqlite-utils \\
        --db sqlite:////tmp/store.db --rounds 5
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ECOM = str(Path(sys.executable).with_name("ecom"))
# as installed: byte-compiled modules written on first use and read after
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run (CPU: less disturbed by a busy machine)."""
    began, began_cpu = time.perf_counter(), cpu()
    done = subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV
    )
    took, took_cpu = time.perf_counter() - began, cpu() - began_cpu
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")
    return took, took_cpu


def order_line(db: str) -> tuple[str, str]:
    """A customer and a product with stock, from a SQLite store."""
    path = db.removeprefix("sqlite:///")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (customer,) = con.execute("SELECT customer_id FROM customers LIMIT 1").fetchone()
        (product,) = con.execute(
            "SELECT product_id FROM products ORDER BY units_in_stock DESC LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    return customer, product


def commands(sqlite_utils: str, db: str | None) -> dict[str, list[str]]:
    found = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "sqlite-utils --version": [sqlite_utils, "--version"],
        "ecom --version": [ECOM, "--version"],
        "ecom --help": [ECOM, "--help"],
        "ecom report --list": [ECOM, "report", "--list"],
    }
    if db:
        customer, product = order_line(db)
        found["ecom status"] = [ECOM, "status", "--db", db]
        found["ecom report top-products --limit 10"] = [
            ECOM, "report", "top-products", "--limit", "10", "--db", db,
        ]  # fmt: skip
        found["ecom orders place"] = [
            ECOM, "orders", "place", "-c", customer, "-i", f"{product}:1", "--db", db,
        ]  # fmt: skip
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sqlite-utils", default="sqlite-utils", help="the sqlite-utils to compare")
    ap.add_argument("--db", help="a SQLite store URL for status, report and orders place")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    cmds = commands(args.sqlite_utils, args.db)
    for argv in cmds.values():  # warm: files cached, report summaries fresh
        timed(argv)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    for _ in range(args.rounds):
        for name, argv in cmds.items():
            times[name].append(timed(argv))
    base = [statistics.median(r[i] for r in times["sqlite-utils --version"]) for i in (0, 1)]
    print(f"medians of {args.rounds} rounds; x: ratio to sqlite-utils --version")
    print("| command | wall s | x | CPU s | x |\n| --- | --- | --- | --- | --- |")
    for name, runs in times.items():
        wall, used = (statistics.median(r[i] for r in runs) for i in (0, 1))
        ratios = f"{wall / base[0]:.2f} | {used:.3f} | {used / base[1]:.2f}"
        print(f"| `{name}` | {wall:.3f} | {ratios} |")


if __name__ == "__main__":
    main()
