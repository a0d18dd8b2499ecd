"""Prototype for a maintained sales summary (docs/reports.md, "Toward 10x"): not ecom code.

    .venv/bin/python bench/summary_prototype.py [--db /tmp/ecom-report-bench/orders-1000000.db]

On the SQLite store report_bench.py loaded: builds `sales_monthly (month, product_id,
units, revenue)` in a scratch table (dropped at the end), times top-products and
categories from it against today's statement over the lines, one month's rebuild, a range
with partial months; then, on an in-memory scratch store, the cost on writes of keeping it:
600k order lines inserted 50k a batch with no maintenance, with the touched months marked
once per batch, with a trigger marking the month per line, with a trigger upserting the
summary per line.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import time

SALE = "o.status NOT IN ('pending', 'cancelled', 'returned')"
MONTHLY = (
    "SELECT substr(o.purchased_at, 1, 7), i.product_id, SUM(i.quantity),"
    " SUM(i.quantity * i.unit_price)"
    " FROM order_items i NOT INDEXED JOIN orders o ON o.order_id = i.order_id"
    f" WHERE {SALE}{{where}} GROUP BY 1, 2"
)


def timed(db: sqlite3.Connection, label: str, sql: str, repeat: int = 2) -> list[tuple]:
    best, rows = float("inf"), []
    for _ in range(repeat):
        t = time.perf_counter()
        rows = db.execute(sql).fetchall()
        best = min(best, time.perf_counter() - t)
    print(f"{label}: {best:.3f} s ({len(rows)} rows)")
    return rows


def reads(db: sqlite3.Connection) -> None:
    db.execute("DROP TABLE IF EXISTS proto_sales_monthly")
    db.execute(
        "CREATE TABLE proto_sales_monthly (month TEXT NOT NULL, product_id TEXT NOT NULL,"
        " units INTEGER NOT NULL, revenue INTEGER NOT NULL, PRIMARY KEY (month, product_id))"
        " WITHOUT ROWID"
    )
    t = time.perf_counter()
    db.execute("INSERT INTO proto_sales_monthly " + MONTHLY.format(where=""))
    db.commit()
    n = db.execute("SELECT COUNT(*) FROM proto_sales_monthly").fetchone()[0]
    print(f"build sales_monthly from the lines: {time.perf_counter() - t:.2f} s, {n} rows")
    try:
        lines = timed(
            db,
            "top-products from the lines",
            "SELECT i.product_id, SUM(i.quantity), SUM(i.quantity * i.unit_price)"
            " FROM order_items i NOT INDEXED JOIN orders o ON o.order_id = i.order_id"
            f" WHERE {SALE} GROUP BY i.product_id",
        )
        summary = timed(
            db,
            "top-products from the summary",
            "SELECT product_id, SUM(units), SUM(revenue) FROM proto_sales_monthly"
            " GROUP BY product_id",
            3,
        )
        assert sorted(lines) == sorted(summary)
        timed(
            db,
            "categories from the summary",
            "SELECT pr.category_id, SUM(s.units), SUM(s.revenue) FROM proto_sales_monthly s"
            " JOIN products pr ON pr.product_id = s.product_id GROUP BY pr.category_id",
            3,
        )
        t = time.perf_counter()
        db.execute("DELETE FROM proto_sales_monthly WHERE month = '2025-03'")
        month = " AND o.purchased_at >= '2025-03-01' AND o.purchased_at < '2025-04-01'"
        db.execute("INSERT INTO proto_sales_monthly " + MONTHLY.format(where=month))
        db.commit()
        print(f"rebuild one month: {time.perf_counter() - t:.2f} s")
        edges = (
            "(o.purchased_at >= '2025-01-10' AND o.purchased_at < '2025-02-01')"
            " OR (o.purchased_at >= '2025-06-01' AND o.purchased_at < '2025-06-21')"
        )
        timed(
            db,
            "top-products 2025-01-10..2025-06-20, summary months + edge days from the lines",
            "SELECT product_id, SUM(u), SUM(r) FROM (SELECT product_id, units u, revenue r"
            " FROM proto_sales_monthly WHERE month BETWEEN '2025-02' AND '2025-05' UNION ALL"
            " SELECT i.product_id, i.quantity, i.quantity * i.unit_price FROM orders o"
            f" JOIN order_items i ON i.order_id = o.order_id WHERE {SALE} AND ({edges}))"
            " GROUP BY product_id",
        )
        timed(
            db,
            "the same from the lines",
            "SELECT i.product_id, SUM(i.quantity), SUM(i.quantity * i.unit_price)"
            f" FROM orders o JOIN order_items i ON i.order_id = o.order_id WHERE {SALE}"
            " AND o.purchased_at >= '2025-01-10' AND o.purchased_at < '2025-06-21'"
            " GROUP BY i.product_id",
        )
    finally:
        db.execute("DROP TABLE proto_sales_monthly")
        db.commit()


MARK_PER_LINE = """CREATE TRIGGER mark AFTER INSERT ON order_items BEGIN
  INSERT OR IGNORE INTO dirty_months
  SELECT substr(o.purchased_at, 1, 7) FROM orders o WHERE o.order_id = NEW.order_id;
END;"""
UPSERT_PER_LINE = f"""CREATE TRIGGER upsert AFTER INSERT ON order_items BEGIN
  INSERT INTO sales_monthly
  SELECT substr(o.purchased_at, 1, 7), NEW.product_id, NEW.quantity, NEW.quantity * NEW.unit_price
  FROM orders o WHERE o.order_id = NEW.order_id AND {SALE}
  ON CONFLICT (month, product_id) DO UPDATE
  SET units = units + excluded.units, revenue = revenue + excluded.revenue;
END;"""
MARK_BATCH = (
    "INSERT OR IGNORE INTO dirty_months SELECT DISTINCT substr(o.purchased_at, 1, 7)"
    " FROM orders o WHERE o.order_id IN (SELECT value FROM json_each(?))"
)


def writes(how: str) -> float:
    m = sqlite3.connect(":memory:")
    m.executescript(
        """CREATE TABLE orders (order_id TEXT PRIMARY KEY, status TEXT, purchased_at TEXT);
        CREATE TABLE order_items (order_id TEXT, line_no INTEGER, product_id TEXT,
          quantity INTEGER, unit_price INTEGER, PRIMARY KEY (order_id, line_no));
        CREATE INDEX ix_order_items_product_id ON order_items (product_id);
        CREATE TABLE sales_monthly (month TEXT, product_id TEXT, units INTEGER,
          revenue INTEGER, PRIMARY KEY (month, product_id)) WITHOUT ROWID;
        CREATE TABLE dirty_months (month TEXT PRIMARY KEY) WITHOUT ROWID;"""
        + {"mark per line": MARK_PER_LINE, "upsert per line": UPSERT_PER_LINE}.get(how, "")
    )
    rnd = random.Random(1)
    orders = [
        (f"O{i:08d}", "paid", f"2025-{rnd.randrange(1, 13):02d}-15 10:00:00")
        for i in range(200_000)
    ]
    m.executemany("INSERT INTO orders VALUES (?, ?, ?)", orders)
    lines = [
        (o[0], k, f"P{rnd.randrange(5000):06d}", rnd.randrange(1, 4), rnd.randrange(100, 10000))
        for o in orders
        for k in range(1, 4)
    ]
    t = time.perf_counter()
    for start in range(0, len(lines), 50_000):
        batch = lines[start : start + 50_000]
        with m:
            m.executemany("INSERT INTO order_items VALUES (?, ?, ?, ?, ?)", batch)
            if how == "mark per batch":
                m.execute(MARK_BATCH, (json.dumps(sorted({r[0] for r in batch})),))
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="/tmp/ecom-report-bench/orders-1000000.db")
    args = ap.parse_args()
    reads(sqlite3.connect(args.db))
    for how in ("none", "mark per batch", "mark per line", "upsert per line", "none"):
        print(f"insert 600k lines, 50k a batch, {how}: {writes(how):.2f} s")


if __name__ == "__main__":
    main()
