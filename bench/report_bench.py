"""Time every report on SQLite and MariaDB: ecom vs the same SQL sent directly vs a notebook.

    .venv/bin/python bench/report_bench.py                     # 1,000,000 orders (~2.35M lines)
    .venv/bin/python bench/report_bench.py --orders 100000     # a quick run
    .venv/bin/python bench/report_bench.py --reuse             # skip generating and loading

1. `ecom generate` writes the store's CSV files (cached under --data, per size).
2. They are bulk-loaded (SQLite: executemany in 50k-row transactions; MariaDB:
   LOAD DATA LOCAL INFILE) into a store created by ecom's own schema.
3. For each report: (a) `reports.run(store, name, params)`: ecom, finishing included;
   (b) the same statement (the report module's `sql`, or `summarized_sql` when it reads
       summaries) through the raw driver, rows fetched;
   (c) the notebook way: `pandas.read_sql` of only the columns the question needs, then
   pandas. Each report runs once untimed (warm), then (b) and (a) alternate --repeat times
   and each takes its median; (c) runs once. `frame_s`: turning ecom's result into the
   DataFrame that `store.report()` returns (not included in ecom_s).
4. MariaDB gets an InnoDB buffer pool sized to the working set (--buffer-pool-mb, default
   2048, via SET GLOBAL innodb_buffer_pool_size, restored at the end); 0 leaves it alone.
   With --reuse the schema's indexes are created if missing (an older load lacks new ones).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import ecomcli  # first: the MySQL C extension must load before ssl (see ecomcli/__init__.py)
from ecomcli import reports, schema
from ecomcli.backends import summaries

import intel_bench  # beside this script  # isort: skip

try:
    import pandas as pd
except ImportError:  # pragma: no cover
    sys.exit("pandas is needed for the notebook comparison")

READ = [
    "categories", "customers", "payment_cards", "suppliers", "delivery_partners", "products",
    "supplies", "carts", "cart_items", "wishlists", "wishlist_items", "orders", "order_items",
    "payments", "reviews",
]  # fmt: skip
CASES: list[tuple[str, dict[str, Any]]] = [
    ("low-stock", {}),
    ("ratings", {}),
    ("carts", {"discount": "10", "payment_method": "credit_card"}),
    ("carts", {"discount": "10", "payment_method": "credit_card", "limit": 10}),
    ("wishlists", {"by": "product"}),
    ("top-products", {"limit": 3}),
    ("customer-activity", {"from": "2025-01-01"}),
    ("suppliers", {}),
    ("customer-orders", {}),
    ("customer-orders", {"limit": 10}),
    ("sales", {"by": "quarter"}),
    ("sales", {"by": "month"}),
    ("forecast", {"by": "quarter"}),
    ("payments", {}),
    ("delivery", {}),
    ("categories", {}),
    *intel_bench.CASES,  # the store-intelligence reports, with intel_bench's notebook ways
]
INTELLIGENCE = {name for name, _ in intel_bench.CASES}
SALE_EXCLUDED = ["pending", "cancelled", "returned"]


# --- data -------------------------------------------------------------------------------


def generate_data(folder: Path, orders: int) -> Path:
    from ecomcli.generate import GenerateOptions, generate

    out = folder / f"orders-{orders}"
    if (out / "manifest.json").exists():
        return out
    t = time.perf_counter()
    generate(
        GenerateOptions(
            out, customers=max(100, orders // 5), products=max(60, min(5000, orders // 200)),
            orders=orders, seed=42,
        )
    )  # fmt: skip
    print(f"generated {out} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return out


def sqlite_value(f: schema.Field, text: str) -> Any:
    if text == "":
        return None
    if f.type in ("money", "decimal"):
        return int(Decimal(text).scaleb(f.scale))
    if f.type in ("int", "bool"):
        return int(text)
    return text


def load_sqlite(store: Any, data: Path) -> None:
    store.init_schema(drop=True)
    conn = store.conn
    conn.execute("PRAGMA foreign_keys = OFF")
    for name in READ:
        e = schema.entity(name)
        with (data / f"{name}.csv").open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader)
            fields = [e.field(h) for h in header]
            sql = (
                f"INSERT INTO {name} ({', '.join(header)}) VALUES ({', '.join('?' * len(header))})"
            )
            batch: list[list[Any]] = []
            for row in reader:
                batch.append([sqlite_value(fl, v) for fl, v in zip(fields, row, strict=True)])
                if len(batch) == 50_000:
                    with conn:
                        conn.executemany(sql, batch)
                    batch.clear()
            with conn:
                conn.executemany(sql, batch)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("ANALYZE")


def load_mysql(store: Any, data: Path) -> None:
    import mysql.connector

    store.init_schema(drop=True)
    url = store.url
    conn = mysql.connector.connect(
        host=url.host, port=url.port or 3306, user=url.user, password=url.password or "",
        database=url.database, allow_local_infile=True,
    )  # fmt: skip
    cur = conn.cursor()
    cur.execute("SET foreign_key_checks = 0")
    for name in READ:
        path = data / f"{name}.csv"
        header = path.open(encoding="utf-8").readline().strip().split(",")
        variables = ", ".join(f"@v{i}" for i in range(len(header)))
        sets = ", ".join(f"`{h}` = NULLIF(@v{i}, '')" for i, h in enumerate(header))
        cur.execute(
            f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE `{name}` CHARACTER SET utf8mb4 "
            "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' "
            f"IGNORE 1 LINES ({variables}) SET {sets}"
        )
        conn.commit()
    cur.execute("SET foreign_key_checks = 1")
    for name in READ:
        cur.execute(f"ANALYZE TABLE `{name}`")
        cur.fetchall()
    conn.close()


# --- the three ways ---------------------------------------------------------------------


CURSORS: dict[int, Any] = {}


def direct(store: Any, name: str, params: dict[str, Any]) -> int:
    """The report's statement through the driver, on a cursor made once (mysql-connector's
    `conn.cursor()` pings the server: a round trip that ecom's own cursors do not make).
    The rows are freed before it returns: each timing pays for freeing one result of its
    kind (ecom's, the previous run's, as it is replaced)."""
    if name == "forecast":
        return -1
    report = reports.report(name)
    p = report.spec.params(params)
    build = report.summarized_sql if report.summaries(p) else report.sql
    sql, binds = build(store.dialect, p)
    cur = CURSORS.get(id(store.conn)) or CURSORS.setdefault(id(store.conn), store.conn.cursor())
    cur.execute(sql, binds)
    return len(cur.fetchall())


def notebook(conn: Any, name: str, params: dict[str, Any]) -> int:
    """What the seed's notebook did: read the tables into pandas, aggregate there."""

    def read(table: str, cols: str) -> pd.DataFrame:
        return pd.read_sql(f"SELECT {cols} FROM {table}", conn)

    def sold_lines() -> pd.DataFrame:
        orders = read("orders", "order_id, customer_id, status, purchased_at")
        orders = orders[~orders["status"].isin(SALE_EXCLUDED)]
        lines = read("order_items", "order_id, product_id, quantity, unit_price")
        lines = lines.merge(orders, on="order_id")
        lines["revenue"] = lines["quantity"] * lines["unit_price"].astype(float)
        return lines

    if name in INTELLIGENCE:
        return intel_bench.notebook(conn, name)
    if name == "low-stock":
        p = read("products", "product_id, name, units_in_stock")
        p = p[p["units_in_stock"] < 10]
        s = read("supplies", "supplier_id, product_id").merge(
            read("suppliers", "supplier_id, name AS supplier"), on="supplier_id"
        )
        out = (
            p.merge(s, on="product_id", how="left")
            .groupby("product_id")["supplier"]
            .agg(lambda x: "; ".join(sorted(x.dropna())))
        )
    elif name == "ratings":
        r = read("reviews", "product_id, score").dropna()
        out = r.groupby("product_id")["score"].agg(["mean", "count"]).sort_values("mean")
    elif name == "carts":
        items = read("cart_items", "cart_id, product_id, quantity").merge(
            read("products", "product_id, price"), on="product_id"
        )
        items["total"] = items["quantity"] * items["price"].astype(float)
        carts = read("carts", "cart_id, customer_id").merge(
            items.groupby("cart_id")[["quantity", "total"]].sum(), on="cart_id", how="left"
        )
        pays = read("payments", "customer_id, method")
        card = set(pays[pays["method"] == "credit_card"]["customer_id"])
        carts["discount"] = carts["total"] * 0.1 * carts["customer_id"].isin(card)
        out = carts
    elif name == "wishlists":
        wi = read("wishlist_items", "wishlist_id, product_id").merge(
            read("wishlists", "wishlist_id, customer_id"), on="wishlist_id"
        )
        out = wi.groupby("product_id").agg(n=("wishlist_id", "size"), c=("customer_id", "nunique"))
    elif name in ("top-products", "categories"):
        lines = sold_lines()
        if name == "categories":
            lines = lines.merge(read("products", "product_id, category_id"), on="product_id")
            out = lines.groupby("category_id", dropna=False)[["quantity", "revenue"]].sum()
        else:
            out = lines.groupby("product_id")[["quantity", "revenue"]].sum()
            out["rank"] = out["quantity"].rank(method="dense", ascending=False)
            out = out[out["rank"] <= 3]
    elif name == "customer-activity":
        o = read("orders", "customer_id, status, purchased_at")
        recent = pd.to_datetime(o["purchased_at"]) >= "2025-01-01"
        o = o[~o["status"].isin(SALE_EXCLUDED) & recent]
        c = read("customers", "customer_id")
        out = c["customer_id"].isin(set(o["customer_id"])).value_counts()
    elif name == "suppliers":
        out = (
            read("supplies", "supplier_id, product_id, units")
            .groupby("supplier_id")
            .agg(n=("product_id", "size"), u=("units", "sum"))
        )
    elif name == "customer-orders":
        lines = sold_lines()
        per = lines.groupby("customer_id").agg(
            orders=("order_id", "nunique"), items=("quantity", "sum"), revenue=("revenue", "sum")
        )
        out = read("customers", "customer_id, first_name, last_name").merge(
            per, on="customer_id", how="left"
        )
    elif name in ("sales", "forecast"):
        lines = sold_lines()
        ts = pd.to_datetime(lines["purchased_at"])
        by = params.get("by", "month")
        lines["period"] = ts.dt.to_period("Q" if by == "quarter" else "M").astype(str)
        out = lines.groupby("period").agg(
            orders=("order_id", "nunique"), units=("quantity", "sum"), revenue=("revenue", "sum")
        )
    elif name == "payments":
        pm = read("payments", "method, amount")
        pm["amount"] = pm["amount"].astype(float)
        out = pm.groupby("method")["amount"].agg(["count", "sum"])
    elif name == "delivery":
        o = read("orders", "delivery_partner_id, delivered_at, estimated_delivery_at").dropna()
        d, e = pd.to_datetime(o["delivered_at"]), pd.to_datetime(o["estimated_delivery_at"])
        o["on_time"] = d <= e
        o["late"] = (d - e).dt.total_seconds().clip(lower=0)
        o["month"] = d.dt.to_period("M").astype(str)
        out = o.groupby(["delivery_partner_id", "month"]).agg(
            n=("on_time", "size"), on_time=("on_time", "sum"), late=("late", "mean")
        )
    else:
        raise AssertionError(name)
    return len(out)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def ensure_indexes(store: Any) -> None:
    """Create the schema's indexes that a store loaded by an older version lacks (only
    those `init-db` creates on this backend: not the SQLite-only ones on MariaDB)."""
    exists = "IF NOT EXISTS"  # SQLite and MariaDB (not MySQL 8)
    for e in schema.ENTITIES:
        for ix in e.indexes:
            if ix.sqlite_only and store.dialect.name != "sqlite":
                continue
            name = f"ix_{e.name}_{'_'.join(ix.fields)}"
            cols = ", ".join(ix.fields)
            cur = store.conn.cursor()
            cur.execute(f"CREATE INDEX {exists} {name} ON {e.name} ({cols})")
            cur.close()


def build_summaries(store: Any) -> None:
    """The stores are loaded around ecom (no marks): `init-db` (idempotent: it creates
    the summary tables of a store loaded by an older version) makes the first refresh
    rebuild everything. Time that, then the refresh after one order changes status."""
    store.init_schema()
    kinds = tuple(summaries.BUILT)
    took = {}
    for kind in kinds:
        t = time.perf_counter()
        summaries.refresh(store, [kind])
        took[kind] = time.perf_counter() - t
    each = ", ".join(f"{k} {v:.2f}" for k, v in took.items())
    print(f"{store.backend}: summaries built in {sum(took.values()):.2f} s ({each})",
          file=sys.stderr)  # fmt: skip
    order = next(store.find("orders", ecomcli.Query(limit=1)))
    for status in ("cancelled", order["status"]):  # and back
        store.update("orders", (order["order_id"],), {"status": status})
        t = time.perf_counter()
        summaries.refresh(store, kinds)
        print(
            f"{store.backend}: refresh after one order's status changed:"
            f" {time.perf_counter() - t:.3f} s",
            file=sys.stderr,
        )


def set_buffer_pool(store: Any, megabytes: int) -> int:
    """Set MariaDB's InnoDB buffer pool size; return the old size in MB."""
    cur = store.conn.cursor()
    cur.execute("SELECT @@innodb_buffer_pool_size")
    old = int(cur.fetchall()[0][0]) // (1024 * 1024)
    cur.execute(f"SET GLOBAL innodb_buffer_pool_size = {megabytes * 1024 * 1024}")
    cur.close()
    time.sleep(2)  # the resize runs in the background
    return old


def bench(store: Any, repeat: int, skip_notebook: bool, only: set[str]) -> list[dict[str, Any]]:
    rows = []
    for name, params in CASES:
        if only and name not in only:
            continue
        # forecast: the statement is the sales report's; the rest is the model
        sql_name, sql_params = (
            (name, params) if name != "forecast" else ("sales", {"by": "quarter"})
        )
        result = None  # the last case's result freed here, not in this case's first timing
        reports.run(store, name, params)  # warm the caches
        direct(store, sql_name, sql_params)
        t_ecoms, t_directs = [], []
        for _ in range(repeat):  # alternate, so drift in the machine's load hits both
            t = time.perf_counter()
            direct(store, sql_name, sql_params)
            t_directs.append(time.perf_counter() - t)
            t = time.perf_counter()
            result = reports.run(store, name, params)
            t_ecoms.append(time.perf_counter() - t)
        t_ecom, t_direct = statistics.median(t_ecoms), statistics.median(t_directs)
        t_frame, _ = timed(result.frame, 1)  # what the Python API returns, from the result
        t_nb = float("nan")
        if not skip_notebook:
            t_nb, _ = timed(lambda n=name, p=params: notebook(store.conn, n, p), 1)
        label = name + "".join(f" {k}={v}" for k, v in params.items() if k != "payment_method")
        rows.append(
            {
                "backend": store.backend,
                "report": label,
                "rows": len(result.rows),
                "ecom_s": round(t_ecom, 4),
                "direct_s": round(t_direct, 4),
                "ecom/direct": round(t_ecom / t_direct, 2) if t_direct else None,
                "frame_s": round(t_frame, 3),
                "notebook_s": round(t_nb, 2),
                "notebook/ecom": round(t_nb / t_ecom, 1) if t_ecom else None,
            }
        )
        print(rows[-1], file=sys.stderr)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--data", type=Path, default=Path("/tmp/ecom-report-bench"))
    ap.add_argument("--backends", default="sqlite,mysql")
    ap.add_argument("--mysql", default="mysql://root@127.0.0.1:3306/ecom_report_bench")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--reuse", action="store_true", help="the stores are already loaded")
    ap.add_argument("--no-notebook", action="store_true")
    ap.add_argument("--buffer-pool-mb", type=int, default=2048, help="MariaDB; 0: leave it")
    ap.add_argument("--only", help="comma-separated report names")
    args = ap.parse_args()

    data = generate_data(args.data, args.orders)
    urls = {
        "sqlite": f"sqlite:///{args.data / f'orders-{args.orders}.db'}",
        "mysql": f"{args.mysql}_{args.orders}",
    }
    out: list[dict[str, Any]] = []
    for backend in args.backends.split(","):
        store = ecomcli.connect(urls[backend])
        if not args.reuse:
            t = time.perf_counter()
            (load_sqlite if backend == "sqlite" else load_mysql)(store, data)
            print(f"loaded {backend} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        ensure_indexes(store)
        old_pool = 0
        if backend == "mysql" and args.buffer_pool_mb:
            old_pool = set_buffer_pool(store, args.buffer_pool_mb)
        try:
            build_summaries(store)
            only = set(args.only.split(",")) if args.only else set()
            out.extend(bench(store, args.repeat, args.no_notebook, only))
        finally:
            if old_pool:
                set_buffer_pool(store, old_pool)
        store.close()
    cols = list(out[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "|".join(" --- " for _ in cols) + "|")
    for r in out:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")


if __name__ == "__main__":
    main()
