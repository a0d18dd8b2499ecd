"""Import a whole export into a new store, then time the first reports (which build the
summaries they read): what a cron job that imports and then reports pays. With `--old`,
the code at that path (a checkout's root) runs the same steps in turn with this one.

    .venv/bin/python bench/after_import_bench.py --files /tmp/g1m --store /tmp/after
    .venv/bin/python bench/after_import_bench.py --files /tmp/g1m --store /tmp/after \\
        --old /tmp/old --rounds 2
    .venv/bin/python bench/after_import_bench.py --files /tmp/g1m \\
        --store mysql://root@127.0.0.1/ecom_after --reports top-products

`--store`: a folder for the SQLite files, or a MySQL URL whose database is dropped and
made anew for each run. Whole processes (`python -m ecomcli`), one after another.
`--alone`: each round also runs this checkout with no summaries built beside the import
(the import alone, issue 25's reference: its first reports then build them).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

REPORTS = ("top-products", "customer-orders", "carts", "basket")
HERE = str(Path(__file__).resolve().parent.parent)


# `ecom` with `builds_beside` off on every store: the import alone
ALONE = (
    "import sys, ecomcli\n"
    "from ecomcli.backends import mysql, sqlite\n"
    "for c in (mysql.MySQLRepository, sqlite.SQLiteRepository):\n"
    "    c.builds_beside = property(lambda self: False)\n"
    "from ecomcli.launch import main\n"
    "main()\n"
)


def ecom(code: str, *args: str, alone: bool = False) -> float:
    """Seconds `ecom args` took, run from the checkout at `code` (`alone`: with no
    summaries built beside an import)."""
    env = {**os.environ, "PYTHONPATH": code}
    started = time.perf_counter()
    # -P: `-m` would otherwise put the working directory first on the path, before
    # PYTHONPATH, and a run from another checkout would take that checkout's code
    entry = ["-c", ALONE] if alone else ["-m", "ecomcli"]
    subprocess.run([sys.executable, "-P", *entry, *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def new_store(store: str, side: str) -> str:
    """The URL of an empty store for one run."""
    if store.startswith("mysql://"):
        import mysql.connector  # the bench's own reset: ecom never drops a database

        parts = urlsplit(store)
        parts = parts._replace(path=f"{parts.path}_{side}")  # before any ?options
        url = urlunsplit(parts)
        conn = mysql.connector.connect(
            host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
            user=unquote(parts.username or "root"), password=unquote(parts.password or ""),
        )
        conn.cursor().execute(f"DROP DATABASE IF EXISTS `{parts.path.lstrip('/')}`")
        conn.close()
        return url
    path = Path(store) / f"after-{side}.db"
    for old in Path(store).glob(f"after-{side}.db*"):
        old.unlink()
    return f"sqlite:///{path}"


def run(code: str, side: str, files: str, store: str, reports: list[str]) -> str:
    url = new_store(store, side)
    ecom(code, "-q", "init-db", "--db", url)
    seconds = ecom(code, "-q", "import", files, "--db", url, alone=side == "alone")
    took = [f"import {seconds:.1f}"]
    for name in reports:
        took.append(f"{name} {ecom(code, 'report', name, '--limit', '10', '--db', url):.2f}")
    return f"{side}: " + ", ".join(took) + " s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", required=True, help="the export (`ecom generate --out`)")
    ap.add_argument("--store", default=tempfile.gettempdir())
    ap.add_argument("--old", help="another checkout to run in turn with this one")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--reports", nargs="+", default=list(REPORTS))
    ap.add_argument("--alone", action="store_true", help="also the import without builds")
    args = ap.parse_args()
    sides = [("old", args.old), ("new", HERE)] if args.old else [("new", HERE)]
    sides += [("alone", HERE)] if args.alone else []
    for n in range(args.rounds):
        for side, code in sides:
            print(f"round {n + 1} {run(code, side, args.files, args.store, args.reports)}",
                  flush=True)


if __name__ == "__main__":
    main()
