"""Import benchmark: `ecom import` of an order-lines CSV against the native bulk loaders.

    .venv/bin/python bench/import_bench.py [--lines 1000000] [--batch N]
        [--backends sqlite,mysql] [--mysql-url mysql://root@127.0.0.1:3306/ecom_bench]

1. generates `order_items.csv` (order_id, line_no, product_id, quantity, unit_price) with
   4 lines per order, plus the orders, customers and products it refers to;
2. per backend: a fresh store, the referenced rows pre-loaded (not timed), then
   `ecom import order_items.csv` in a child process (validation, reference checks and
   upsert semantics on) — wall time, rows/s and the child's peak RSS (`wait4`);
3. the native loader into an equivalent table, side by side in the same run:
   the sqlite3 shell's `.import --csv` (`native_sqlite`), and for MySQL
   `LOAD DATA LOCAL INFILE` (`native_mysql`; the MySQL engineer's section);
   for SQLite also `.import` into ecom's own `order_items` table (`native_sqlite_schema`:
   via a TEMP table and one INSERT ... SELECT, with its foreign keys, index and CHECKs),
   which shows what the schema itself costs;
4. a re-run of the same import (every row unchanged).

Targets (issue 4): ecom >= 50% of the native loader's rows/s; peak RSS < 300 MB and the
same for 1M and 4M lines.
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
CUSTOMERS = 20000


# --- data ---------------------------------------------------------------------------------


def generate(folder: Path, lines: int) -> Path:
    """The order-lines file and, in `folder/refs`, what it refers to."""
    refs = folder / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    orders = (lines + LINES_PER_ORDER - 1) // LINES_PER_ORDER
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
                f"O{i // LINES_PER_ORDER:08d},{1 + i % LINES_PER_ORDER},P{p:06d},"
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
    while time.monotonic() < deadline:
        cur.execute("SHOW ENGINE INNODB STATUS")
        status = cur.fetchone()[2]
        history = int(status.split("History list length", 1)[1].split()[0])
        cur.execute("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")
        dirty = int(cur.fetchone()[1])
        if history < 1000 and dirty < 1000:
            break
        time.sleep(1)
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


def native_sqlite_schema(path: Path, folder: Path, url: str) -> float:
    """`.import` into a copy of the pre-loaded ecom store's `order_items` table (foreign
    keys on, its index and CHECKs; money as cents): SQL only, no validation, no counts."""
    db = folder / "native_schema.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(ecomcli.config.parse_url(url).database, db)
    script = (
        "PRAGMA foreign_keys=ON; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;\n"
        "CREATE TEMP TABLE s (order_id TEXT, line_no INTEGER, product_id TEXT, "
        "quantity INTEGER, unit_price TEXT);\n"
        f".import --csv --skip 1 --schema temp {path} s\n"
        "INSERT INTO order_items SELECT order_id, line_no, product_id, NULL, quantity, "
        "CAST(round(unit_price * 100) AS INTEGER), NULL FROM temp.s;\n"
    )
    started = time.perf_counter()
    subprocess.run(["sqlite3", str(db)], input=script.encode(), check=True,
                   stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return seconds


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


def native_mysql_schema(path: Path, url: str) -> float:
    """`LOAD DATA LOCAL INFILE` into the pre-loaded ecom store's own `order_items` table
    (foreign keys, secondary index, CHECKs): SQL only, no validation. The store is
    pre-loaded again afterwards."""
    import mysql.connector

    db = ecomcli.config.parse_url(url)
    conn = mysql.connector.connect(
        host=db.host, port=db.port or 3306, user=db.user, password=db.password or "",
        database=db.database, allow_local_infile=True,
    )
    cur = conn.cursor()
    started = time.perf_counter()
    cur.execute(
        f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE order_items FIELDS TERMINATED BY ','"
        " LINES TERMINATED BY '\\n' IGNORE 1 LINES"
        " (order_id, line_no, product_id, quantity, unit_price)"
    )
    conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def report(label: str, lines: int, seconds: float, rss: int | None = None,
           native: float | None = None) -> None:
    rate = lines / seconds
    extra = f"  peak RSS {rss} MB" if rss else ""
    ratio = f"  = {rate / native:.0%} of native" if native else ""
    print(f"  {label:<34} {seconds:7.2f} s  {rate:>9,.0f} rows/s{extra}{ratio}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, help="--batch-size (default: the backend's)")
    ap.add_argument("--backends", default="sqlite")
    ap.add_argument("--mysql-url", default="mysql://root@127.0.0.1:3306/ecom_bench")
    ap.add_argument("--keep", type=Path, help="folder to keep the generated files in")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ecom-import-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        path = generate(folder, args.lines)
        size = path.stat().st_size / 1e6
        print(f"{args.lines:,} order lines ({size:.0f} MB) generated in "
              f"{time.perf_counter() - started:.1f} s; ecom batches of "
              f"{args.batch or 'the default size'}")
        for backend in args.backends.split(","):
            print(f"{backend}:")
            if backend == "sqlite":
                url = f"sqlite:///{folder / 'ecom.db'}"
                seconds, _ = native_sqlite(path, folder)
            elif backend == "mysql":
                url = args.mysql_url
                preload(url, folder / "refs")
                seconds = native_mysql(path, url)
            else:
                raise SystemExit(f"unknown backend {backend}")
            native_rate = args.lines / seconds if seconds else None
            if seconds:
                report("native loader", args.lines, seconds)
            preload(url, folder / "refs")
            if backend == "sqlite":
                report(".import into ecom's table", args.lines,
                       native_sqlite_schema(path, folder, url), native=native_rate)
            else:
                report("LOAD DATA into ecom's table", args.lines,
                       native_mysql_schema(path, url), native=native_rate)
                preload(url, folder / "refs")
            took, rss, counts = ecom_import(url, path, args.batch)
            assert counts["inserted"] == args.lines, counts
            report("ecom import (new rows)", args.lines, took, rss, native_rate)
            if backend == "mysql":
                settle(url)
            took, rss, counts = ecom_import(url, path, args.batch)
            assert counts["unchanged"] == args.lines, counts
            report("ecom import again (all unchanged)", args.lines, took, rss, native_rate)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
