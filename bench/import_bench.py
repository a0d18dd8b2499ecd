"""Import benchmark: `ecom import` of an order-lines CSV against the native bulk loaders.

    .venv/bin/python bench/import_bench.py [--lines 1000000] [--orders 1000000]
        [--rounds 2] [--batch N[,N...]] [--backends sqlite,mysql]
        [--mysql-url mysql://root@127.0.0.1:3306/ecom_bench] [--keep DIR]

1. generates `order_items.csv` (order_id, line_no, product_id, quantity, unit_price) with
   4 lines per order, spread over a store of `--orders` orders (200,000 customers, 5,000
   products: the parents of a generated 1M-order store), and those parents;
2. per backend, the parents are loaded once (not timed); every timed run starts from a
   copy of that store (SQLite) or from it with its lines deleted (MySQL, on a settled
   server);
3. side by side, alternating, `--rounds` times: the native loader into ecom's own
   `order_items` table (the sqlite3 shell's `.import` through a TEMP table and one
   `INSERT ... SELECT`; MariaDB's `LOAD DATA LOCAL INFILE`: foreign keys, the product
   index and CHECKs), then `ecom import` in a child process (validation, reference checks,
   counts; peak RSS via `wait4`); then the same again on the full table: the native
   `INSERT ... ON CONFLICT DO NOTHING` / `LOAD DATA ... IGNORE`, and `ecom import` with
   every row unchanged;
4. once, the native loader into a bare keyed table (no foreign keys, no index): what the
   schema itself costs.

Targets (issue 25): ecom at least 0.8x the native loader into the same table, for new rows
and for an all-unchanged re-run; peak RSS under 300 MB at 4M lines.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ecomcli  # first: loads the MySQL connector's C extension before OpenSSL
from ecomcli.importing import ImportOptions, import_paths

ECOM = str(Path(sys.executable).parent / "ecom")
LINES_PER_ORDER = 4
PRODUCTS = 5000
CUSTOMERS = 200_000


# --- data ---------------------------------------------------------------------------------


def generate(folder: Path, lines: int, orders: int) -> Path:
    """The order-lines file and, in `folder/refs`, what it refers to: `orders` orders, the
    lines spread evenly over them."""
    refs = folder / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    with_lines = (lines + LINES_PER_ORDER - 1) // LINES_PER_ORDER
    if with_lines > orders:
        raise SystemExit(f"{lines:,} lines need at least {with_lines:,} orders")
    stride = orders // with_lines
    with (refs / "customers.csv").open("w") as fh:
        fh.write("customer_id,first_name\n")
        fh.writelines(f"C{i:07d},Name{i % 997}\n" for i in range(CUSTOMERS))
    with (refs / "products.csv").open("w") as fh:
        fh.write("product_id,name,price\n")
        fh.writelines(
            f"P{i:06d},Product {i},{1 + i % 300}.{i % 100:02d}\n" for i in range(PRODUCTS)
        )
    with (refs / "orders.csv").open("w") as fh:
        fh.write("order_id,customer_id,status,purchased_at\n")
        fh.writelines(
            f"O{i:08d},C{i % CUSTOMERS:07d},paid,2024-{1 + i % 12:02d}-{1 + i % 28:02d} "
            f"{i % 24:02d}:{i % 60:02d}:00\n"
            for i in range(orders)
        )
    path = folder / "order_items.csv"
    with path.open("w") as fh:
        fh.write("order_id,line_no,product_id,quantity,unit_price\n")
        for i in range(lines):
            p = (i * 7919) % PRODUCTS
            fh.write(
                f"O{i // LINES_PER_ORDER * stride:08d},{1 + i % LINES_PER_ORDER},P{p:06d},"
                f"{1 + i % 5},{1 + p % 300}.{p % 100:02d}\n"
            )
    return path


def preload(url: str, refs: Path) -> None:
    with ecomcli.connect(url) as store:
        store.init_schema(drop=True)
        import_paths(store, [refs], ImportOptions(batch_size=20000))
    if url.startswith("mysql"):
        settle(url)


def settle(url: str, timeout: float = 180) -> None:
    """Wait until InnoDB has purged and flushed what earlier loads left behind (it does
    both in the background after a large load or delete), so that no timed load pays
    for the one before it."""
    import mysql.connector

    db = ecomcli.config.parse_url(url)
    conn = mysql.connector.connect(host=db.host, port=db.port or 3306, user=db.user,
                                   password=db.password or "")
    cur = conn.cursor()
    deadline = time.monotonic() + timeout
    before = -1
    while time.monotonic() < deadline:
        cur.execute("SHOW ENGINE INNODB STATUS")
        status = cur.fetchone()[2]
        history = int(status.split("History list length", 1)[1].split()[0])
        cur.execute("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")
        dirty = int(cur.fetchone()[1])
        # an idle server may keep some dirty pages without flushing them: what does not
        # shrink is not being written in the background
        if history < 1000 and (dirty < 1000 or dirty == before):
            break
        before = dirty
        time.sleep(2)
    conn.close()


# --- runs ---------------------------------------------------------------------------------


def child(argv: list[str]) -> tuple[float, int, str]:
    """Run a command; (wall seconds, peak RSS in MB, stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read().decode()  # type: ignore[union-attr]
    err = proc.stderr.read().decode()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0,):
        raise SystemExit(f"{argv[0]} failed: {err.strip()[-500:]}")
    return seconds, usage.ru_maxrss // 1024, out


def ecom_import(url: str, path: Path, batch: int | None) -> tuple[float, int, dict]:
    size = ["--batch-size", str(batch)] if batch else []  # default: the backend's own
    seconds, rss, out = child([ECOM, "import", str(path), "--db", url, *size, "--json"])
    return seconds, rss, json.loads(out)["entities"][0]


def native_sqlite(path: Path, folder: Path) -> tuple[float, int]:
    """The sqlite3 shell's `.import --csv` into an equivalent table (key, STRICT)."""
    db = folder / "native.db"
    db.unlink(missing_ok=True)
    script = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;\n"
        "CREATE TABLE order_items (order_id TEXT NOT NULL, line_no INTEGER NOT NULL, "
        "product_id TEXT NOT NULL, quantity INTEGER NOT NULL, unit_price TEXT NOT NULL, "
        "PRIMARY KEY (order_id, line_no)) STRICT;\n"
        f".import --csv --skip 1 {path} order_items\n"
    )
    started = time.perf_counter()
    subprocess.run(["sqlite3", str(db)], input=script.encode(), check=True,
                   stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    return seconds, 0


def sqlite_copy(parents: Path, db: Path) -> Path:
    """A fresh copy of the store holding the parents."""
    drop_sqlite(db)
    shutil.copy(parents, db)
    return db


def drop_sqlite(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def native_sqlite_schema(path: Path, db: Path, again: bool = False) -> float:
    """`.import` into the store's own `order_items` table (foreign keys on, its index and
    CHECKs; money as cents) through a TEMP table and one `INSERT ... SELECT`; `again`:
    `ON CONFLICT DO NOTHING`, for rows that are all there already. SQL only: no
    validation, no counts."""
    conflict = " WHERE true ON CONFLICT DO NOTHING" if again else ""
    script = (
        "PRAGMA foreign_keys=ON; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;\n"
        "CREATE TEMP TABLE s (order_id TEXT, line_no INTEGER, product_id TEXT, "
        "quantity INTEGER, unit_price TEXT);\n"
        f".import --csv --skip 1 --schema temp {path} s\n"
        "INSERT INTO order_items SELECT order_id, line_no, product_id, NULL, quantity, "
        f"CAST(round(unit_price * 100) AS INTEGER), NULL FROM temp.s{conflict};\n"
    )
    started = time.perf_counter()
    subprocess.run(["sqlite3", str(db)], input=script.encode(), check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def native_mysql(path: Path, url: str) -> float | None:
    """`LOAD DATA LOCAL INFILE` into an equivalent InnoDB table; None when unavailable.
    (The MySQL engineer may extend this: server settings, REPLACE/IGNORE variants.)"""
    try:
        import mysql.connector

        db = ecomcli.config.parse_url(url)
        conn = mysql.connector.connect(
            host=db.host, port=db.port or 3306, user=db.user, password=db.password or "",
            database=db.database, allow_local_infile=True,
        )
    except Exception as e:
        print(f"  native mysql: unavailable ({e})")
        return None
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS native_order_items")
    cur.execute(
        "CREATE TABLE native_order_items (order_id VARCHAR(64) NOT NULL, line_no INT NOT NULL,"
        " product_id VARCHAR(64) NOT NULL, quantity INT NOT NULL, unit_price DECIMAL(12,2) "
        "NOT NULL, PRIMARY KEY (order_id, line_no)) ENGINE=InnoDB"
    )
    started = time.perf_counter()
    cur.execute(
        f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE native_order_items FIELDS TERMINATED BY ','"
        " LINES TERMINATED BY '\\n' IGNORE 1 LINES"
    )
    conn.commit()
    seconds = time.perf_counter() - started
    cur.execute("DROP TABLE native_order_items")
    conn.close()
    return seconds


def mysql_connection(url: str):  # type: ignore[no-untyped-def]
    import mysql.connector

    db = ecomcli.config.parse_url(url)
    return mysql.connector.connect(
        host=db.host, port=db.port or 3306, user=db.user, password=db.password or "",
        database=db.database, allow_local_infile=True,
    )


def native_mysql_schema(path: Path, url: str, again: bool = False) -> float:
    """`LOAD DATA LOCAL INFILE` into the store's own `order_items` table (foreign keys,
    secondary index, CHECKs); `again`: `IGNORE`, for rows that are all there already. SQL
    only: no validation, no counts."""
    conn = mysql_connection(url)
    cur = conn.cursor()
    ignore = " IGNORE" if again else ""
    started = time.perf_counter()
    cur.execute(
        f"LOAD DATA LOCAL INFILE '{path}'{ignore} INTO TABLE order_items FIELDS TERMINATED BY"
        " ',' LINES TERMINATED BY '\\n' IGNORE 1 LINES"
        " (order_id, line_no, product_id, quantity, unit_price)"
    )
    conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def clear_lines(url: str) -> None:
    """The store as preloaded: its parents, no lines; then a settled server."""
    conn = mysql_connection(url)
    cur = conn.cursor()
    cur.execute("DELETE FROM order_items")
    conn.commit()
    conn.close()
    settle(url)


def report(label: str, lines: int, seconds: float, rss: int | None = None) -> None:
    rate = lines / seconds
    extra = f"  peak RSS {rss} MB" if rss else ""
    print(f"  {label:<34} {seconds:7.2f} s  {rate:>9,.0f} rows/s{extra}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=1_000_000, help="orders in the store")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch", type=batch_sizes, default=[None],
                    help="--batch-size, or several, comma-separated, run in turn (default: "
                         "the backend's)")
    ap.add_argument("--backends", default="sqlite")
    ap.add_argument("--mysql-url", default="mysql://root@127.0.0.1:3306/ecom_bench")
    ap.add_argument("--keep", type=Path, help="folder to keep the generated files in")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ecom-import-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        path = generate(folder, args.lines, args.orders)
        size = path.stat().st_size / 1e6
        print(f"{args.lines:,} order lines ({size:.0f} MB) over {args.orders:,} orders, "
              f"generated in {time.perf_counter() - started:.1f} s; ecom batches of "
              f"{', '.join(str(b or 'the default size') for b in args.batch)}")
        for backend in args.backends.split(","):
            print(f"{backend}:")
            if backend == "sqlite":
                run_sqlite(args, folder, path)
            elif backend == "mysql":
                run_mysql(args, folder, path)
            else:
                raise SystemExit(f"unknown backend {backend}")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def run_sqlite(args: argparse.Namespace, folder: Path, path: Path) -> None:
    parents = folder / "parents.db"
    if not parents.exists():
        preload(f"sqlite:///{parents}", folder / "refs")
    bare, _ = native_sqlite(path, folder)
    report("native loader, bare table", args.lines, bare)
    db = folder / "ecom.db"
    for r in range(args.rounds):
        sides = [native_sqlite_side, ecom_sqlite_side]
        for side in sides if r % 2 == 0 else reversed(sides):
            side(args, parents, db, path, r)
    drop_sqlite(db)


def native_sqlite_side(
    args: argparse.Namespace, parents: Path, db: Path, path: Path, _round: int
) -> None:
    sqlite_copy(parents, db)
    report(".import into ecom's table", args.lines, native_sqlite_schema(path, db))
    report("the same, ON CONFLICT DO NOTHING", args.lines,
           native_sqlite_schema(path, db, again=True))


def ecom_sqlite_side(
    args: argparse.Namespace, parents: Path, db: Path, path: Path, r: int
) -> None:
    for batch in in_turn(args.batch, r):
        sqlite_copy(parents, db)
        ecom_sides(args, f"sqlite:///{db}", path, batch)


def in_turn(sizes: list[int | None], r: int) -> list[int | None]:
    """The batch sizes, in the other order each round: no size always runs first."""
    return sizes if r % 2 == 0 else sizes[::-1]


def batch_sizes(text: str) -> list[int | None]:
    return [int(part) for part in text.split(",")]


def ecom_sides(args: argparse.Namespace, url: str, path: Path, batch: int | None) -> None:
    label = f", batch {batch}" if len(args.batch) > 1 else ""
    took, rss, counts = ecom_import(url, path, batch)
    assert counts["inserted"] == args.lines, counts
    report(f"ecom import (new rows{label})", args.lines, took, rss)
    if url.startswith("mysql"):
        settle(url)
    took, rss, counts = ecom_import(url, path, batch)
    assert counts["unchanged"] == args.lines, counts
    report(f"ecom import again (unchanged{label})", args.lines, took, rss)


def run_mysql(args: argparse.Namespace, folder: Path, path: Path) -> None:
    url = args.mysql_url
    preload(url, folder / "refs")
    bare = native_mysql(path, url)
    if bare:
        report("native loader, bare table", args.lines, bare)
    for r in range(args.rounds):
        sides = [native_mysql_side, ecom_mysql_side]
        for side in sides if r % 2 == 0 else reversed(sides):
            side(args, url, path, r)


def native_mysql_side(args: argparse.Namespace, url: str, path: Path, _round: int) -> None:
    clear_lines(url)
    report("LOAD DATA into ecom's table", args.lines, native_mysql_schema(path, url))
    settle(url)
    report("the same, LOAD DATA IGNORE", args.lines, native_mysql_schema(path, url, again=True))


def ecom_mysql_side(args: argparse.Namespace, url: str, path: Path, r: int) -> None:
    for batch in in_turn(args.batch, r):
        clear_lines(url)
        ecom_sides(args, url, path, batch)


if __name__ == "__main__":
    main()
