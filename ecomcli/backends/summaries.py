"""Summaries that the SQL backends keep, so that the reports reading every order line,
cart line, review, wishlist line, payment or supply (top-products, categories, sales,
forecast, customer-orders, delivery, carts, ratings, wishlists, payments, suppliers) read a
few rows instead (at 1M orders: top-products 1.4 s to 0.04 s on SQLite).

Tables derived from those rows (and products' prices), never written by hand:
- `summary_sales_monthly (month, product_id, units, revenue, orders)`: sales (the
  definition in docs/reports.md) per calendar month and product, and the sales holding
  it: top-products, categories, basket (a product's sales);
- `summary_sales_daily (day, orders, units, revenue)`: sales per day: sales and forecast
  at any `--by` and `--from/--to`;
- `summary_customer_sales (customer_id, orders, items, revenue, sales, days,
  first_sale_at, last_sale_at)`: per customer with purchases (sales with lines; `sales` =
  `orders`; `days`: distinct days with a purchase), all time: customer-orders without a
  period, customer-activity with at most one end to its period, rfm and clv without
  `--as-of`;
- `summary_customer_months (customer_id, month, cohort, orders, items, revenue, days,
  first_at, last_at)`: the same per customer and calendar month, with the month of the
  customer's first purchase (`cohort`): cohorts, and the source of the row above;
- `summary_delivery_monthly`: deliveries per purchase month, partner (`''`: none) and
  delivery month: delivery without a period;
- `summary_carts`: every cart's customer, status, lines, items and total, at the prices
  noted in `summary_cart_prices`: carts;
- `summary_product_reviews`, `summary_product_wishlists`: per product, its reviews and
  their score sum; the wishlists holding it and their distinct customers: ratings,
  wishlists `--by product`;
- `summary_customer_wishlists (customer_id, wishlists, products)`: per customer with
  wishlists, how many, and the distinct products on them: wishlists `--by customer`;
- `summary_payments_daily (day, method, payments, amount)`: payments per day paid (`''`:
  no `paid_at`) and method: payments at any `--from/--to`;
- `summary_supplier_products (supplier_id, products, units)`: per supplier with supplies,
  the products it supplies and their units: suppliers;
- `summary_pairs_monthly (product_a, product_b, month, orders)`: per pair of two products
  bought in the same sale (a < b) and month, the number of those sales: basket (which
  reads a product's own sales from the monthly summary). Its months are marked with the
  sales summaries' but rebuilt apart (kind `pairs`), so that only basket pays for them.

**Kept lazily, set-based.** Every write to orders, order_items, carts, cart_items,
reviews, wishlists, wishlist_items, payments or supplies, and every write of a stored
product's price (`insert`, `update`, `delete`, `write_batch`: imports, copies, records,
order placement) first marks, in the same transaction, what it may change (`MARKINGS`
says which entity's writes mark which summaries, and how: `mark`, `mark_carts`,
`mark_products`, `mark_wishers`, `mark_prices`, `mark_payments`, `mark_suppliers`): the
months and customers of the orders as stored (one statement per batch) and of new order
rows; the carts written; the products of the reviews and wishlist lines as stored and as
written; the customers of the wishlists as stored and as written; the products whose price
is written; the months of the payments as stored and as written; the
suppliers of the supplies written.
A report that reads a summary first rebuilds what is marked (`refresh`): per dirty month
one `DELETE` and one `INSERT ... SELECT` through the `purchased_at` index (past
`MANY_MONTHS` of them, every month in one pass: after an import); the dirty customers
(in the dirty months), carts, products and suppliers in one statement each; and, after a
price mark, the carts holding a product whose price differs from the one their totals
used. The first report after a big import pays for rebuilding what the import touched
(seconds at 1M orders). A whole rebuild on SQLite reads part of each big statement in a
second process (`Insert`, `SQLRepository.insert_selects`, `_middle`; docs/reports.md).
An import of a whole export into a new store builds the summaries not built yet beside
itself, once it has written their rows (`PENDING`, `ready`, backends/build_beside.py).

**Concurrency.** Writers mark before they write. `refresh` first flags the marks it will
clear (`UPDATE ... SET taken = 1`: on MySQL this waits for the writers holding them, and a
writer marking them later waits for the refresh), rebuilds from what is committed, then
deletes only the flagged marks: a mark made meanwhile survives for the next report. On
SQLite writers and the refresh are serialised by the database lock anyway.

**Not maintained:** rows written around ecom (hand-written SQL, a native bulk loader).
`ecom init-db` forgets what was built, so the next report rebuilds everything. A read-only
connection that cannot refresh reads the lines (`SQLRepository.run_report`). MongoDB keeps
no summaries: its pipelines read the lines (and, sharded, run on every shard).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from ecomcli import schema
from ecomcli.backends import recs_sql
from ecomcli.backends.recs_inputs import changes_inputs
from ecomcli.errors import TransientError
from ecomcli.repository import Mode
from ecomcli.schema import CART_STATUSES, PAYMENT_METHODS
from ecomcli.summary_tables import (
    CART_PRICES,
    CARTS,
    CUSTOMER_MONTHS,
    CUSTOMER_WISHLISTS,
    CUSTOMER_WISHLISTS_INDEX,
    CUSTOMERS,
    DAILY,
    DELIVERY,
    MONTHLY,
    PAIRS,
    PAYMENTS,
    REVIEWS,
    SALE,
    SUPPLIERS,
    UNDATED,
    WISHLISTS,
    month_bounds,
    month_of,
    pair_counts,
    pair_counts_from_arrays,
    sale_products,
    split,
    supplier_counts,
)

if TYPE_CHECKING:
    from ecomcli.backends.dialect import Dialect
    from ecomcli.backends.sql import SQLRepository
    from ecomcli.schema import Entity

__all__ = ["CARTS", "CART_PRICES", "CUSTOMERS", "DAILY", "DELIVERY", "MONTHLY", "PAYMENTS",
           "REVIEWS", "SUPPLIERS", "UNDATED", "WISHLISTS", "month_bounds", "month_of",
           "split", "supplier_counts"]  # fmt: skip

DIRTY_CARTS = "summary_dirty_carts"
DIRTY_MONTHS = "summary_dirty_months"
DIRTY_CUSTOMERS = "summary_dirty_customers"
DIRTY_PRODUCTS = "summary_dirty_products"
DIRTY_PRICES = "summary_dirty_prices"
DIRTY_PAYMENTS = "summary_dirty_payment_months"
DIRTY_SUPPLIERS = "summary_dirty_suppliers"
DIRTY_PAIRS = "summary_dirty_pair_months"
DIRTY_CUSTOMER_MONTHS = "summary_dirty_customer_months"
DIRTY_WISHERS = "summary_dirty_wishlist_customers"
TABLES = (
    MONTHLY, DAILY, CUSTOMERS, CUSTOMER_MONTHS, DELIVERY, CARTS, CART_PRICES, REVIEWS,
    WISHLISTS, PAYMENTS, SUPPLIERS, DIRTY_MONTHS, DIRTY_CUSTOMERS, DIRTY_CARTS,
    DIRTY_PRODUCTS, DIRTY_PRICES, DIRTY_PAYMENTS, DIRTY_SUPPLIERS, PAIRS, DIRTY_PAIRS,
    DIRTY_CUSTOMER_MONTHS, CUSTOMER_WISHLISTS, DIRTY_WISHERS,
)  # fmt: skip
# the ecom_meta rows saying a summary was built (absent: the next refresh builds it all)
# (a name changes with what its summary holds: a store built by an earlier ecom then
# rebuilds it on its next report; customers_2: purchases only, an order needs a line;
# customers_3: with the per-month rows and the purchase days)
BUILT = {"months": "summaries_months", "customers": "summaries_customers_3",
         "carts": "summaries_carts", "products": "summaries_products",
         "payments": "summaries_payments", "suppliers": "summaries_suppliers",
         "pairs": "summaries_pairs", "wishlists": "summaries_wishlists"}  # fmt: skip
# the ecom_meta rows saying a summary's first build is under way beside an import
# (`build_beside`): writers mark it meanwhile, as if built, and reports still rebuild it
PENDING = {kind: f"{name}_pending" for kind, name in BUILT.items()}
# the tables a summary's rebuild fills (a build beside copies them into the store)
TABLES_OF = {"months": (MONTHLY, DAILY, DELIVERY), "customers": (CUSTOMER_MONTHS, CUSTOMERS),
             "carts": (CART_PRICES, CARTS), "products": (REVIEWS, WISHLISTS),
             "payments": (PAYMENTS,), "suppliers": (SUPPLIERS,),
             "pairs": (PAIRS,), "wishlists": (CUSTOMER_WISHLISTS,)}  # fmt: skip
DIRTY = {"months": DIRTY_MONTHS, "customers": DIRTY_CUSTOMERS, "carts": DIRTY_CARTS,
         "products": DIRTY_PRODUCTS, "payments": DIRTY_PAYMENTS,
         "suppliers": DIRTY_SUPPLIERS, "pairs": DIRTY_PAIRS,
         "wishlists": DIRTY_WISHERS}  # fmt: skip
KEYS = {"months": "month", "customers": "customer_id", "carts": "cart_id",
        "products": "product_id", "payments": "month", "suppliers": "supplier_id",
        "pairs": "month", "wishlists": "customer_id"}  # fmt: skip
# the carts report reads every cart from this index, in its order (reports/defs/carts.py)
CARTS_INDEX = f"ix_{CARTS}_report"
CARTS_ORDER = "(total DESC, cart_id, customer_id, status, n_lines, items)"
# customer-orders --limit N reads its first N customers from it (reports/defs/customer_orders.py)
CUSTOMERS_INDEX = f"ix_{CUSTOMERS}_report"
CUSTOMERS_ORDER = "(items DESC, orders DESC, customer_id)"
# wishlists --by customer --limit N reads its first N customers from its index in this
# order (summary_tables.CUSTOMER_WISHLISTS_INDEX, reports/defs/wishlists.py)
WISHERS_ORDER = "(products DESC, customer_id)"
# a month's pair counts are deleted through it when the month is rebuilt
PAIRS_INDEX = f"ix_{PAIRS}_month"
# the payment fields the payments summary holds (a write of only others marks nothing)
PAYMENT_FIELDS = ("paid_at", "method", "amount")
# the ecom_meta row noting the summary tables' definitions (`layout`)
LAYOUT_ROW = "summaries_layout"
# above this many dirty customers (carts), their totals are rebuilt from a pass over every
# order (cart line) rather than from each one's own (a lookup each)
MANY_CUSTOMERS = 20_000
MANY_CARTS = 50_000
MANY_PRODUCTS = 2_000
MANY_MONTHS = 3
# a product's units, revenue and sales (a product twice in a sale: one sale), from its
# lines `i` of orders `o`: the monthly summary's values. Its sales are basket's counts of
# a product with itself, counted here where the lines are grouped anyway, instead of by a
# second grouping of every line beside the pairs (MariaDB at 1M orders: ~5 s of one core)
MONTHLY_COLUMNS = "(month, product_id, units, revenue, orders)"
PRODUCT_SALES = "SUM(i.quantity), SUM(i.quantity * i.unit_price), COUNT(DISTINCT o.order_id)"



@dataclass(frozen=True)
class Insert:
    """`INSERT INTO table columns select`: a rebuild's statement. Given to
    `SQLRepository.insert_selects` or `replace_rows`, each reads only the base tables
    (never a summary or a mark), so that a store may read its `select` beside another (or
    on its data nodes); except with `replace_rows(..., here=True)`, which reads it on the
    rebuild's own connection, and on a store that reads nothing beside, which may read
    the temporary table of `read_sales_once`."""

    table: str
    columns: str  # "(a, b, ...)"
    select: str
    binds: Sequence[Any] = ()
    # how many of the last columns add up: `select` sums or counts per key over rows that a
    # Spider data node holds whole (an order with its lines, a payment, a review), so each
    # data node may run it on its own rows and the head add up the rows of one key
    # (`spider.insert_added`); 0: it must read every row at once
    adds: int = 0

    def statement(self) -> str:
        return f"INSERT INTO {self.table} {self.columns} {self.select}"


def ddl(d: Dialect) -> str:
    """The summary tables, for the schema script that `init-db` runs."""
    key = schema.entity("order_items").field("product_id")
    ident = d.text(key.length or 64)
    big = d.big
    money = d.decimal(20, 2)  # SQLite: cents
    day = d.date_type
    moment = d.datetime_type
    status = d.text(max(map(len, CART_STATUSES)))
    f = schema.entity("products").field("price")
    price = d.decimal(f.precision or 10, f.scale or 2)
    month = d.fixed(7)
    day_text = d.fixed(10)  # text: '' for no paid_at
    method = d.text(max(map(len, PAYMENT_METHODS)))
    tail = d.summary_tail
    # the carts report reads every cart from this index, in its order, without the table
    # (see reports/defs/carts.py summarized_sql); MySQL declares it inline
    carts_index = f", INDEX {CARTS_INDEX} {CARTS_ORDER}" if d.inline_indexes else ""
    customers_index = (
        f", INDEX {CUSTOMERS_INDEX} {CUSTOMERS_ORDER}" if d.inline_indexes else ""
    )
    pairs_index = f", INDEX {PAIRS_INDEX} (month)" if d.inline_indexes else ""
    wishers_index = (
        f", INDEX {CUSTOMER_WISHLISTS_INDEX} {WISHERS_ORDER}" if d.inline_indexes else ""
    )
    tables = [
        (MONTHLY, "sales per calendar month (YYYY-MM) and product: units, revenue, and"
         " the sales holding it",
         f"month {month} NOT NULL, product_id {ident} NOT NULL, units {big} NOT NULL,"
         f" revenue {money} NOT NULL, orders {big} NOT NULL, PRIMARY KEY (month, product_id)"),
        (DAILY, "sales per day: orders, units, revenue",
         f"day {day} NOT NULL PRIMARY KEY, orders {big} NOT NULL, units {big} NOT NULL,"
         f" revenue {money} NOT NULL"),
        (CUSTOMERS, "purchases (sales with lines) per customer, all time; sales = orders",
         f"customer_id {ident} NOT NULL PRIMARY KEY, orders {big} NOT NULL,"
         f" items {big} NOT NULL, revenue {money} NOT NULL, sales {big} NOT NULL,"
         f" days {big} NOT NULL, first_sale_at {moment} NOT NULL,"
         f" last_sale_at {moment} NOT NULL{customers_index}"),
        (CUSTOMER_MONTHS, "purchases per customer and calendar month (YYYY-MM), with the"
         " month of the customer's first purchase (cohort)",
         f"customer_id {ident} NOT NULL, month {month} NOT NULL, cohort {month} NOT NULL,"
         f" orders {big} NOT NULL, items {big} NOT NULL, revenue {money} NOT NULL,"
         f" days {big} NOT NULL, first_at {moment} NOT NULL, last_at {moment} NOT NULL,"
         " PRIMARY KEY (customer_id, month)"),
        (DELIVERY, "deliveries per purchase month, partner ('' for none) and delivery month",
         f"month {month} NOT NULL, partner_id {ident} NOT NULL, delivered_month {month}"
         f" NOT NULL, delivered {big} NOT NULL, on_time {big} NOT NULL, late_seconds {big}"
         " NOT NULL, PRIMARY KEY (month, partner_id, delivered_month)"),
        (CARTS, "every cart with its lines, items and total at the prices in summary_cart_prices",
         f"cart_id {ident} NOT NULL PRIMARY KEY, customer_id {ident} NOT NULL,"
         f" status {status} NOT NULL, n_lines {big} NOT NULL, items {big} NOT NULL,"
         f" total {money} NOT NULL{carts_index}"),
        (CART_PRICES, "the product prices the cart totals were computed with",
         f"product_id {ident} NOT NULL PRIMARY KEY, price {price} NOT NULL"),
        (REVIEWS, "reviews per product: how many, and the sum of their scores",
         f"product_id {ident} NOT NULL PRIMARY KEY, reviews {big} NOT NULL,"
         f" score_sum {big} NOT NULL"),
        (WISHLISTS, "wishlists per product: how many hold it, and their distinct customers",
         f"product_id {ident} NOT NULL PRIMARY KEY, wishlists {big} NOT NULL,"
         f" customers {big} NOT NULL"),
        (PAYMENTS, "payments per day paid (YYYY-MM-DD, '' without paid_at) and method",
         f"day {day_text} NOT NULL, method {method} NOT NULL, payments {big} NOT NULL,"
         f" amount {money} NOT NULL, PRIMARY KEY (day, method)"),
        (SUPPLIERS, "per supplier with supplies: the products it supplies and their units",
         f"supplier_id {ident} NOT NULL PRIMARY KEY, products {big} NOT NULL,"
         f" units {big} NOT NULL"),
        (DIRTY_MONTHS, "months whose orders changed since the summaries were rebuilt",
         f"month {month} NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0"),
        (DIRTY_CUSTOMERS, "customers whose sales changed since the summaries were rebuilt",
         f"customer_id {ident} NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0"),
        (DIRTY_CARTS, "carts whose lines changed since the summaries were rebuilt",
         f"cart_id {ident} NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0"),
        (DIRTY_PRODUCTS, "products whose reviews or wishlists changed since the summaries"
         " were rebuilt",
         f"product_id {ident} NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0"),
        (DIRTY_PRICES, "products whose price may have changed since the cart totals were"
         " computed",
         f"product_id {ident} NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0"),
        (DIRTY_PAYMENTS, "months (YYYY-MM, '' without paid_at) whose payments changed since"
         " the summaries were rebuilt",
         f"month {month} NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0"),
        (DIRTY_SUPPLIERS, "suppliers whose supplies changed since the summaries were rebuilt",
         f"supplier_id {ident} NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0"),
        # keyed by pair first: basket sums every month of a pair in one pass of the key
        (PAIRS, "sales per pair of products bought together (a < b) and month",
         f"product_a {ident} NOT NULL, product_b {ident} NOT NULL, month {month} NOT NULL,"
         f" orders {big} NOT NULL, PRIMARY KEY (product_a, product_b, month){pairs_index}"),
        (DIRTY_PAIRS, "months whose orders changed since the pair counts were rebuilt",
         f"month {month} NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0"),
        (DIRTY_CUSTOMER_MONTHS, "months whose orders changed since the customers' rows"
         " were rebuilt",
         f"month {month} NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0"),
        (CUSTOMER_WISHLISTS, "per customer with wishlists: how many, and the distinct"
         " products on them",
         f"customer_id {ident} NOT NULL PRIMARY KEY, wishlists {big} NOT NULL,"
         f" products {big} NOT NULL{wishers_index}"),
        (DIRTY_WISHERS, "customers whose wishlists changed since the summaries were rebuilt",
         f"customer_id {ident} NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0"),
    ]  # fmt: skip
    text = "\n".join(
        f"-- {name}: {doc} (derived: see ecomcli/backends/summaries.py)\n"
        f"CREATE TABLE IF NOT EXISTS {name} ({columns}){tail};\n"
        for name, doc, columns in tables
    )
    if not d.inline_indexes:
        text += (
            "-- serves: the carts report, in its order\n"
            f"{_carts_index()};\n"
            "-- serves: customer-orders --limit, its first customers\n"
            f"CREATE INDEX IF NOT EXISTS {CUSTOMERS_INDEX} ON {CUSTOMERS} {CUSTOMERS_ORDER};\n"
            "-- serves: rebuilding one month's pair counts\n"
            f"CREATE INDEX IF NOT EXISTS {PAIRS_INDEX} ON {PAIRS} (month);\n"
            "-- serves: wishlists --by customer --limit, its first customers\n"
            f"CREATE INDEX IF NOT EXISTS {CUSTOMER_WISHLISTS_INDEX} ON {CUSTOMER_WISHLISTS}"
            f" {WISHERS_ORDER};\n"
        )
    return text


def _carts_index() -> str:
    """SQLite's statement for the carts report's index (MySQL declares it in the table)."""
    return f"CREATE INDEX IF NOT EXISTS {CARTS_INDEX} ON {CARTS} {CARTS_ORDER}"


# --- marking: called by the SQL backends before every write to a summarised entity ------


def mark(
    store: SQLRepository,
    order_ids: Iterable[Any],
    new_orders: Sequence[dict[str, Any]] = (),
    *,
    lock: str | None = None,
) -> None:
    """Before orders or their lines are written: mark as dirty the months and customers of
    the stored orders `order_ids` (their values before the write) and of the order rows
    about to be written (`new_orders`, which may be partial: changes).

    Cost: one statement per dirty table per batch, and on MySQL the marks' own inserts
    (~2,500 customers per 10,000 lines): importing 1M lines takes MariaDB ~10.3 s instead
    of ~8.5 s, SQLite ~5.9 s instead of ~5.6 s (bench/README.md). Marking the lines' order
    ids instead, resolved by the refresh, inserted as many rows and was no faster.

    On MySQL the stored orders are first read with `lock` (the caller passes `FOR UPDATE`
    when the write is to them, `LOCK IN SHARE MODE` for their lines; None when they are
    already locked), which waits for a writer that has them uncommitted: a plain READ
    COMMITTED read would mark their old month (or, for an order not committed yet,
    nothing), and a refresh between that writer's commit and this one's would then miss
    this write. (A fresh MySQL LOAD DATA batch marks after the load, whose foreign-key
    checks have locked the orders.)"""
    months = {month_of(r["purchased_at"]) for r in new_orders if r.get("purchased_at")}
    customers = {r["customer_id"] for r in new_orders if r.get("customer_id") is not None}
    ids = [i for i in dict.fromkeys(order_ids) if i is not None]
    # a Spider head: each data node reads its share of the orders in one statement (through
    # the head, each of `_mark_customers_of`'s three statements asks every node)
    read = partial(_months_and_customers, lock=lock)
    if (on_nodes := store.on_shards("orders", ids, read)) is not None:
        for month, customer in set().union(*on_nodes):
            months.add(month)
            customers.add(customer)
    else:
        months |= _mark_customers_of(store, ids, lock)
    months.discard(None)
    customers.discard(None)
    ignore = store.dialect.ignore
    dirty = ((DIRTY_MONTHS, months), (DIRTY_PAIRS, months), (DIRTY_CUSTOMER_MONTHS, months),
             (DIRTY_CUSTOMERS, customers))
    for table, values in dirty:
        if values:
            sql = f"{ignore} INTO {table} VALUES ({store.placeholder}, 0)"
            store.executemany(sql, [[v] for v in values])


def _mark_customers_of(store: SQLRepository, ids: list[Any], lock: str | None) -> set[Any]:
    """Mark the customers of the stored orders `ids` (read by `lock`, see `mark`), and
    return the orders' months."""
    months = set()
    month = store.dialect.period("o.purchased_at", "month")
    for where, binds in store.in_clauses(ids):  # SQLite: one statement, no GIL held
        if locking := store.dialect.locking(lock):
            cur = store.execute(f"SELECT 1 FROM orders o WHERE o.order_id {where}{locking}", binds)
            cur.fetchall()
            cur.close()
        # the few months are read back once for both month tables: on SQLite each pass
        # over a batch's orders costs about 5% of a fresh import of their lines
        cur = store.execute(
            f"SELECT DISTINCT {month} FROM orders o WHERE o.order_id {where}", binds
        )
        months.update(m for (m,) in cur.fetchall())
        cur.close()
        store.execute(
            f"{store.dialect.ignore} INTO {DIRTY_CUSTOMERS} SELECT DISTINCT o.customer_id, 0"
            f" FROM orders o WHERE o.order_id {where}",
            binds,
        ).close()
    return months


def _months_and_customers(node: SQLRepository, ids: list[Any], *, lock: str | None
                          ) -> set[tuple[Any, Any]]:
    """The (month, customer) pairs of the stored orders `ids` on a data node, read by
    `lock` (outside a transaction: the read waits for a writer holding them, then lets
    them go)."""
    month = node.dialect.period("o.purchased_at", "month")
    found: set[tuple[Any, Any]] = set()
    for where, binds in node.in_clauses(ids):
        cur = node.execute(
            f"SELECT DISTINCT {month}, o.customer_id FROM orders o"
            f" WHERE o.order_id {where}{node.dialect.locking(lock)}",
            binds,
        )
        found.update(cur.fetchall())
        cur.close()
    return found


def mark_carts(store: SQLRepository, cart_ids: Iterable[Any]) -> None:
    """Before carts or their lines are written: mark the carts as dirty."""
    _mark_keys(store, DIRTY_CARTS, cart_ids)


def mark_suppliers(store: SQLRepository, supplier_ids: Iterable[Any]) -> None:
    """Before supplies are written: mark their suppliers (the key names them)."""
    _mark_keys(store, DIRTY_SUPPLIERS, supplier_ids)


def mark_prices(store: SQLRepository, product_ids: Iterable[Any]) -> None:
    """Before a price is written to stored products: mark them. The refresh then compares
    every price with the one the cart totals used (`summary_cart_prices`) and rebuilds the
    carts holding a product whose price differs; without a mark it compares nothing (the
    comparison is 5,000 lookups: 5-9 ms on MariaDB, 1.2 ms on SQLite, on every carts
    report)."""
    _mark_keys(store, DIRTY_PRICES, product_ids)


def mark_payments(
    store: SQLRepository,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[Any],
    *,
    stored: bool,
    dated: bool,
    lock: bool,
) -> None:
    """Before payments are written: mark the months of the payments as stored, when the
    write may change `stored` ones, and of the rows' `paid_at` when they write it (`dated`;
    `''`: none). On MySQL the stored payments are read `FOR UPDATE` unless already locked
    (`lock`, see `mark`); the marks are then inserted in one statement, in key order."""
    months = {month_of(r["paid_at"]) if r.get("paid_at") else "" for r in rows} if dated else set()
    ids = ([k[0] for k in keys] + [r.get("payment_id") for r in rows]) if stored else []
    ids = [i for i in dict.fromkeys(ids) if i is not None]
    read = partial(_payment_months, lock="FOR UPDATE" if lock else None)
    # a Spider head: each data node looks them all up (a payment's id does not name its
    # shard: its order's id does)
    if (on_nodes := store.on_every_shard("payments", ids, read)) is not None:
        months.update(*on_nodes)
    else:
        months.update(read(store, ids))
    _mark_keys(store, DIRTY_PAYMENTS, months)


def _payment_months(store: SQLRepository, ids: list[Any], *, lock: str | None) -> set[str]:
    """The months (`''`: no paid_at) of the stored payments `ids`, read by `lock`."""
    month = f"COALESCE({store.dialect.period('pm.paid_at', 'month')}, {UNDATED})"
    found: set[str] = set()
    for where, binds in store.in_clauses(ids):
        cur = store.execute(
            f"SELECT {month} FROM payments pm WHERE pm.payment_id {where}"
            f"{store.dialect.locking(lock)}",
            binds,
        )
        found.update(r[0] for r in cur.fetchall())
        cur.close()
    return found


def _mark_keys(store: SQLRepository, table: str, values: Iterable[Any]) -> None:
    # in key order, as the refresh's UPDATE locks them: two writers or a writer and a
    # refresh then never hold marks the other waits for (a deadlock on MySQL)
    rows = [[v] for v in sorted({v for v in values if v is not None})]
    if rows:
        sql = f"{store.dialect.ignore} INTO {table} VALUES ({store.placeholder}, 0)"
        store.executemany(sql, rows)


def mark_products(
    store: SQLRepository,
    entity: str,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[Any],
    *,
    new: bool,
    lock: bool,
) -> None:
    """Before reviews, wishlists or wishlist lines are written: mark the products whose
    summaries they may change: those of the rows written (reviews, wishlist lines) and,
    unless the rows are `new`, those they hold as stored (a review's product; a wishlist's
    lines' products, whose customer may change; a wishlist line's key names its product).
    On MySQL the stored reviews and wishlists are first read `FOR UPDATE` when `lock`
    (see `mark`: a writer holding them uncommitted is waited for)."""
    products = [r.get("product_id") for r in rows]
    if entity == "wishlist_items":  # the key (wishlist_id, product_id) names the product
        products += [k[1] for k in keys]
    elif not new:
        own_key = schema.entity(entity).key[0]  # review_id, wishlist_id
        ids = [k[0] for k in keys] + [r.get(own_key) for r in rows]
        ids = [i for i in dict.fromkeys(ids) if i is not None]
        # a Spider head: each data node reads its share (reviews by review id, a wishlist's
        # lines by wishlist id: their shard keys)
        read = partial(_products_held, entity=entity, lock=lock, into="")
        if (on_nodes := store.on_shards(entity, ids, read)) is not None:
            products += [p for held in on_nodes for p in held]
        else:
            _products_held(store, ids, entity=entity, lock=lock, into=DIRTY_PRODUCTS)
    _mark_keys(store, DIRTY_PRODUCTS, products)


def _products_held(store: SQLRepository, ids: list[Any], *, entity: str, lock: bool,
                   into: str) -> list[Any]:
    """The products held by the stored reviews or wishlists `ids` (read `FOR UPDATE` first
    when `lock`, see `mark_products`): inserted into the mark table `into`, or (`into`
    empty) read back."""
    own_key = schema.entity(entity).key[0]  # review_id, wishlist_id
    if entity == "reviews":
        lookup = (  # (MySQL's INSERT IGNORE would turn a NULL product into '')
            "SELECT DISTINCT r.product_id, 0 FROM reviews r"
            " WHERE r.product_id IS NOT NULL AND r.review_id"
        )
    else:
        lookup = "SELECT DISTINCT wi.product_id, 0 FROM wishlist_items wi WHERE wi.wishlist_id"
    held = []
    for where, binds in store.in_clauses(ids):
        if locking := store.dialect.locking("FOR UPDATE" if lock else None):
            cur = store.execute(f"SELECT 1 FROM {entity} WHERE {own_key} {where}{locking}", binds)
            cur.fetchall()
            cur.close()
        if into:
            store.execute(f"{store.dialect.ignore} INTO {into} {lookup} {where}", binds).close()
        else:
            cur = store.execute(f"{lookup} {where}", binds)
            held += [product for product, _ in cur.fetchall()]
            cur.close()
    return held


def mark_wishers(store: SQLRepository, wishlist_ids: Iterable[Any],
                 customers: Iterable[Any] = (), *, lock: str | None) -> None:
    """Before wishlists or their lines are written: mark the customers of the stored
    wishlists `wishlist_ids` (read by `lock`, see `mark`: a writer giving one to another
    customer is waited for) and the `customers` the written wishlists name."""
    marked = list(customers)
    ids = [i for i in dict.fromkeys(wishlist_ids) if i is not None]
    # a Spider head: each data node reads its share (wishlists by wishlist id)
    read = partial(_wishers_of, lock=lock)
    if (on_nodes := store.on_shards("wishlists", ids, read)) is not None:
        marked += [c for held in on_nodes for c in held]
    else:
        marked += _wishers_of(store, ids, lock=lock)
    _mark_keys(store, DIRTY_WISHERS, marked)


def _wishers_of(store: SQLRepository, ids: list[Any], *, lock: str | None) -> list[Any]:
    """The customers of the stored wishlists `ids`, read by `lock`."""
    found: list[Any] = []
    for where, binds in store.in_clauses(ids):
        cur = store.execute(
            f"SELECT DISTINCT w.customer_id FROM wishlists w WHERE w.wishlist_id {where}"
            f"{store.dialect.locking(lock)}",
            binds,
        )
        found += [c for (c,) in cur.fetchall()]
        cur.close()
    return found


# --- which writes mark which summaries (read by `SQLRepository._mark`) ------------------


@dataclass(frozen=True)
class Write:
    """A write about to happen to one entity, as the marks need to know it."""

    e: Entity
    rows: Sequence[dict[str, Any]]  # whole rows, or an update's changes
    keys: Sequence[Any]  # the keys of the stored rows written (update, delete)
    new: bool  # inserted rows: no stored row has their keys
    locked: bool  # the rows' orders are locked by this transaction already
    mode: Mode | None  # a batch's (None: `insert`, `update`, `delete`)
    written: set[str] | None  # the fields a partial write writes (None: whole rows)

    @property
    def changes_stored(self) -> bool:
        return not self.new and self.mode not in (Mode.INSERT, Mode.IGNORE)

    def ids(self, field: str) -> list[Any]:
        """The first key part of the stored rows, then `field` of the written ones."""
        column = getattr(self.rows, "column", None)  # an import's columnar batch
        written = column(field) if column else [r.get(field) for r in self.rows]
        return [k[0] for k in self.keys] + written


def _orders_written(store: SQLRepository, w: Write) -> None:
    """Months and customers (sales summaries): the orders as stored and as written. An
    order marked earlier in the same transaction is not looked up again (placing an
    order: its lines), as its month and customer can only change by a write to the order,
    which marks the new ones."""
    ids = w.ids("order_id")
    if w.e.name == "orders" and w.new:
        stored = []
    else:
        stored = [i for i in dict.fromkeys(ids) if i is not None and i not in store._marked]
    writing = w.e.name == "orders"
    lock = None if w.locked else "FOR UPDATE" if writing else "LOCK IN SHARE MODE"
    mark(store, stored, w.rows if writing else (), lock=lock)
    store._marked.update(i for i in ids if i is not None)


def _prices_written(store: SQLRepository, w: Write) -> None:
    # new products are in no cart yet; a product is deleted only when in none
    if w.changes_stored and w.rows and (w.written is None or "price" in w.written):
        mark_prices(store, w.ids("product_id"))


def _carts_written(store: SQLRepository, w: Write) -> None:
    mark_carts(store, w.ids("cart_id"))


def _supplies_written(store: SQLRepository, w: Write) -> None:
    mark_suppliers(store, w.ids("supplier_id"))


def _products_written(store: SQLRepository, w: Write) -> None:
    mark_products(store, w.e.name, w.rows, w.keys, new=w.new, lock=not w.locked)


def _wishers_written(store: SQLRepository, w: Write) -> None:
    """Customers' wishlists: a wishlist's customer as stored and as written (a write of
    its other fields changes no count); a line's wishlist's customer, as stored."""
    lines = w.e.name == "wishlist_items"
    if not lines and w.written is not None and "customer_id" not in w.written:
        return
    stored = w.ids("wishlist_id") if lines or not w.new else []
    customers = [] if lines else [r.get("customer_id") for r in w.rows]
    lock = None if w.locked else "LOCK IN SHARE MODE" if lines else "FOR UPDATE"
    mark_wishers(store, stored, customers, lock=lock)


def _recs_written(store: SQLRepository, w: Write) -> None:
    """Added lines change the tables' signature (their number); a write that changes or
    deletes stored ones may not, so it makes the next `recommend` rebuild them."""
    if w.changes_stored and changes_inputs(w.e.name, w.written):
        recs_sql.forget(store)


def _payments_written(store: SQLRepository, w: Write) -> None:
    if w.written is not None and not w.written & set(PAYMENT_FIELDS):
        return  # a card, installments or customer: nothing the summary holds
    mark_payments(
        store, w.rows, w.keys, lock=not w.locked, stored=w.changes_stored,
        # a merge inserts unknown ids whole, completed with defaults ('': no paid_at)
        dated=w.written is None or "paid_at" in w.written or w.mode is Mode.MERGE,
    )


Marker = Callable[["SQLRepository", Write], None]


@dataclass(frozen=True)
class Marking:
    """Summaries (`kinds`, keys of `BUILT`) that writes to `entities` may change, and how
    such a write marks them."""

    kinds: tuple[str, ...]
    entities: tuple[str, ...]
    mark: Marker


MARKINGS = (
    Marking(("months", "customers", "pairs"), ("orders", "order_items"), _orders_written),
    Marking(("carts",), ("carts", "cart_items"), _carts_written),
    Marking(("carts",), ("products",), _prices_written),  # the prices of cart totals
    Marking(("products",), ("reviews", "wishlists", "wishlist_items"), _products_written),
    Marking(("wishlists",), ("wishlists", "wishlist_items"), _wishers_written),
    Marking(("payments",), ("payments",), _payments_written),
    Marking(("suppliers",), ("supplies",), _supplies_written),
    Marking((), ("orders", "order_items"), _recs_written),  # the recommender's tables
)
# entity -> how a write to it marks: what the write path reads
MARKERS: dict[str, tuple[Marking, ...]] = {
    e: tuple(m for m in MARKINGS if e in m.entities) for m in MARKINGS for e in m.entities
}


def unbuilt(store: SQLRepository) -> frozenset[str]:
    """The summaries not built yet, which a write need not mark: their first refresh
    rebuilds every row and clears every mark, and clearing the marks a whole import made
    was much of that rebuild (docs/reports.md). A writer that finds some holds their
    first rebuild off until it commits, then reads again: a rebuild already under way has
    built them by then."""
    kinds = _unbuilt_now(store)
    if kinds:
        store.hold_builds(exclusive=False)
        kinds = _unbuilt_now(store)
    return kinds


def _unbuilt_now(store: SQLRepository) -> frozenset[str]:
    """The summaries neither built nor being built beside an import (`PENDING`)."""
    noted = _noted(store)
    return frozenset(k for k in BUILT if BUILT[k] not in noted and PENDING[k] not in noted)


def pending(store: SQLRepository) -> frozenset[str]:
    """The summaries being built beside an import, not built meanwhile (`PENDING`)."""
    noted = _noted(store)
    return frozenset(k for k in BUILT if PENDING[k] in noted and BUILT[k] not in noted)


def _noted(store: SQLRepository) -> set[str]:
    """The names of the `BUILT` and `PENDING` rows in ecom_meta."""
    names = ", ".join(f"'{n}'" for n in (*BUILT.values(), *PENDING.values()))
    cur = store.execute(f"SELECT name FROM ecom_meta WHERE name IN ({names})")
    noted = {name for (name,) in cur.fetchall()}
    cur.close()
    return noted


def inputs(kind: str) -> frozenset[str]:
    """The entities whose writes may change summary `kind` (what marks it)."""
    return frozenset(e for m in MARKINGS if kind in m.kinds for e in m.entities)


def ready(store: SQLRepository, written: Collection[str], later: Collection[str]) -> list[str]:
    """The summaries not built yet that an import may build now: it has written some of
    their inputs, and will write none of them again (`later`)."""
    return [k for k in sorted(_unbuilt_now(store))
            if inputs(k) & set(written) and not inputs(k) & set(later)]


def layout(dialect: Dialect) -> str:
    """A fingerprint of the summary tables' definitions."""
    return f"{zlib.crc32(ddl(dialect).encode()):08x}"


def current_layout(store: SQLRepository) -> bool:
    """Whether `init-db` of this ecom made the summary tables (`layout`)."""
    cur = store.execute(f"SELECT value FROM ecom_meta WHERE name = '{LAYOUT_ROW}'")
    row = cur.fetchone()
    cur.close()
    return row is not None and row[0] == layout(store.dialect)


def drop_outdated(store: SQLRepository) -> list[str]:
    """Before `init-db` runs the schema script: drop the summary tables if another ecom
    defined them differently (`layout`), so that the script makes them anew. They cost
    nothing to drop: `init-db` makes the next report rebuild them anyway (`forget`).
    Returns the tables dropped (for `init-db` to say it made them)."""
    if "ecom_meta" not in store.tables() or current_layout(store):
        return []
    # unbuilt first: on MySQL each DROP and CREATE commits, and a report meanwhile
    # must not take the new empty tables for built ones (`forget` runs again after)
    names = ", ".join(f"'{n}'" for n in BUILT.values())
    store.execute(f"DELETE FROM ecom_meta WHERE name IN ({names})").close()
    for name in TABLES:
        store.execute(f"DROP TABLE IF EXISTS {name}").close()
    return list(TABLES)


def forget(store: SQLRepository) -> None:
    """Make the next `refresh` rebuild every summary, and note the tables' layout
    (`init-db` calls it after its script)."""
    names = ", ".join(f"'{n}'" for n in (*BUILT.values(), *PENDING.values(), LAYOUT_ROW))
    store.execute(f"DELETE FROM ecom_meta WHERE name IN ({names})").close()
    recs_sql.forget(store)
    store.execute(
        f"INSERT INTO ecom_meta (name, value) VALUES ('{LAYOUT_ROW}', {store.placeholder})",
        [layout(store.dialect)],
    ).close()


# --- rebuilding: before a report reads a summary -------------------------------------


def refresh(store: SQLRepository, kinds: Iterable[str]) -> None:
    """Bring the summaries of `kinds` (keys of `BUILT`) up to date."""
    for kind in kinds:
        if _stale(store, kind):
            store.atomic(lambda kind=kind: _rebuild(store, kind))  # type: ignore[misc]


def _stale(store: SQLRepository, kind: str) -> bool:
    cur = store.execute(*_check(store, kind))
    (stale,) = cur.fetchone()
    cur.close()
    return bool(stale)


def _check(store: SQLRepository, kind: str) -> tuple[str, list[Any]]:
    """One row, one column `stale`: 1 when summary `kind` is not built yet or is marked
    dirty (carts: or a price is marked)."""
    dirty = f"SELECT 1 FROM {DIRTY[kind]}"
    if kind == "carts":
        dirty += f" UNION ALL SELECT 1 FROM {DIRTY_PRICES}"
    return (
        f"SELECT CASE WHEN (SELECT COUNT(*) FROM ecom_meta WHERE name = {store.placeholder})"
        f" = 1 AND (SELECT COUNT(*) FROM ({dirty} LIMIT 1) x) = 0 THEN 0 ELSE 1 END AS stale",
        [BUILT[kind]],
    )


def read_fresh(
    store: SQLRepository, kind: str, statement: str, binds: Sequence[Any]
) -> tuple[list[str], list[tuple[Any, ...]]] | None:
    """The rows of a report `statement` over summary `kind`, read with the check that the
    summary is fresh in one statement (one round trip, one snapshot), or None when it is
    not (then the join leaves the report out: a stale summary costs no wasted report).
    The rows come in no defined order. A report row always has a value (a group's key or
    a count), so the one row of NULLs the join gives is an empty result."""
    check, check_binds = _check(store, kind)
    cur = store.execute(
        f"SELECT k.stale, r.* FROM ({check}) k LEFT JOIN ({statement}) r"
        " ON k.stale = 0",
        [*check_binds, *binds],
    )
    try:
        names = [d[0] for d in cur.description][1:]
        rows = cur.fetchall()
    finally:
        cur.close()
    if rows[0][0]:
        return None
    if len(rows) == 1 and all(v is None for v in rows[0][1:]):
        return names, []
    return names, [r[1:] for r in rows]


def _repriced() -> str:
    """The products whose price differs from the one the cart totals used."""
    return (
        f"SELECT p.product_id FROM products p LEFT JOIN {CART_PRICES} s"
        " ON s.product_id = p.product_id WHERE s.product_id IS NULL OR s.price <> p.price"
    )


def _built(store: SQLRepository, kind: str) -> bool:
    cur = store.execute(f"SELECT 1 FROM ecom_meta WHERE name = {store.placeholder}", [BUILT[kind]])
    found = cur.fetchone() is not None
    cur.close()
    return found


def _rebuild(store: SQLRepository, kind: str) -> None:
    table = DIRTY[kind]
    everything = not _built(store, kind)
    if everything and store.skips_unbuilt:
        # writers may have skipped its marks: wait for them to commit before reading
        store.hold_builds(exclusive=True)
        everything = not _built(store, kind)  # unless a rebuild did it meanwhile
    if everything:
        note_built(store, kind)
    if everything and store.writes_serially:
        # nobody else writes meanwhile, so every mark goes, one statement a table (after an
        # import into a new store, the 1.24M carts marked: 0.45 s, against ~1.2 s to flag
        # them, read their keys and delete those)
        for marks in _marks_of(kind):
            store.execute(f"DELETE FROM {marks}").close()
        _rebuild_kind(store, kind, [], everything=True)
        _rebuilt(store)
        return
    prices: list[Any] = []
    if kind == "carts":  # the price marks first: repricing marks carts
        prices = _take(store, DIRTY_PRICES, "product_id")
        if not everything:
            _reprice(store)
    months: list[Any] = []
    if kind == "customers":  # their months before them (see `_rebuild_customers`)
        months = _take(store, DIRTY_CUSTOMER_MONTHS, "month")
    key = KEYS[kind]
    flagged = _take(store, table, key)
    _rebuild_kind(store, kind, flagged, everything)
    # by key, not by a scan of `taken`: a scan would wait for writers' new marks while
    # holding the flagged ones, which those writers may want (a deadlock)
    _delete_keys(store, table, key, flagged)
    _delete_keys(store, DIRTY_PRICES, "product_id", prices)
    _delete_keys(store, DIRTY_CUSTOMER_MONTHS, "month", months)
    _rebuilt(store)


def note_built(store: SQLRepository, kind: str) -> None:
    """Note summary `kind` built (a build beside an import of it then is not installed)."""
    ph = store.placeholder
    store.execute(f"{store.dialect.ignore} INTO ecom_meta (name, value) VALUES ({ph}, 'built')",
                  [BUILT[kind]]).close()
    store.execute(f"DELETE FROM ecom_meta WHERE name = {ph}", [PENDING[kind]]).close()


def rebuild_whole(store: SQLRepository, kind: str, sales: str | None = None) -> None:
    """Summary `kind` rebuilt from every row (its tables only: no marks, no notes).
    `sales`: the table of `read_sales_once`, which the summaries that can read instead
    of the lines."""
    _rebuild_kind(store, kind, [], everything=True, sales=sales)


# the temporary table of `read_sales_once`
SALES = "ecom_sales"


def read_sales_once(store: SQLRepository, kinds: Collection[str]) -> str | None:
    """Where two or more of summaries `kinds` read every sale with its lines summed (the
    daily sums of `months`, the customers' months, and on SQLite the pairs of products
    from each sale's array of them), those sales read once now into a temporary table
    that their whole rebuilds then read (`rebuild_whole`), instead of each reading them
    from the lines (bench/README.md): its name, or None. For a store that reads nothing
    beside (another connection would not see the table), such as a build beside an
    import's; the table lasts as long as the store's connection, so call it once per
    connection."""
    d = store.dialect
    wanted = _reading_sales(d).intersection(kinds)
    if len(wanted) < 2 or store.reads_beside():
        return None
    products = (", json_group_array(DISTINCT i.product_id) AS products"
                if "pairs" in wanted else "")
    columns = f", MAX(o.customer_id) AS customer_id{products}"
    store.execute(f"CREATE TEMPORARY TABLE {SALES} AS {_sales(d, columns)}").close()
    return SALES


def _sales(d: Dialect, columns: str = "") -> str:
    """Every sale with its lines summed: its moment `at`, `units` and `revenue`, and
    `columns` (`, ...`: more aggregates of its order `o` and lines `i`), grouped per
    order in the order the engine reads them best (`Dialect.lines_per_order`)."""
    lines, order = d.lines_per_order()
    return (
        "SELECT MAX(o.purchased_at) AS at, SUM(i.quantity) AS units,"
        f" SUM(i.quantity * i.unit_price) AS revenue{columns}"
        f" FROM {lines} WHERE {SALE} GROUP BY {order}"
    )


def _reading_sales(d: Dialect) -> set[str]:
    """The summaries whose whole rebuild can read the table of `read_sales_once`."""
    return {"months", "customers", *(["pairs"] if d.json_arrays else [])}


def copy_whole(store: SQLRepository, source: str, kind: str) -> None:
    """Summary `kind`'s tables replaced by those of the attached database `source` (built
    there by `rebuild_whole` into tables made like the store's, indexes included), and
    noted built. The marks stay: they say what changed since that build read the rows."""
    # SQLite copies a table into an empty one of the same shape as it is, index entries
    # included, instead of inserting its rows one by one: the whole store's summaries at
    # 1M orders in 1.5 s against 5.6 s, on the import's critical path
    for table in TABLES_OF[kind]:
        store.execute(f"DELETE FROM {table}").close()
        store.execute(f"INSERT INTO {table} SELECT * FROM {source}.{table}").close()
    if kind == "carts":  # (a store that had lost it gets it back)
        store.execute(_carts_index()).close()
    note_built(store, kind)


def _rebuilt(store: SQLRepository) -> None:
    """A write later in this transaction must mark again, the summary built now too."""
    store._marked.clear()
    store._unbuilt = None


def _marks_of(kind: str) -> list[str]:
    """The mark tables a rebuild of summary `kind` clears."""
    extra = {"carts": [DIRTY_PRICES], "customers": [DIRTY_CUSTOMER_MONTHS]}
    return [DIRTY[kind], *extra.get(kind, [])]


def _rebuild_kind(store: SQLRepository, kind: str, flagged: Sequence[Any],
                  everything: bool, sales: str | None = None) -> None:
    rebuild = {"months": _rebuild_months, "payments": _rebuild_payments,
               "customers": _rebuild_customers, "products": _rebuild_products,
               "suppliers": _rebuild_suppliers, "pairs": _rebuild_pairs,
               "carts": _rebuild_carts, "wishlists": _rebuild_wishlists}  # fmt: skip
    if sales is not None and kind in _reading_sales(store.dialect):
        rebuild[kind](store, flagged, everything, sales=sales)
    else:
        rebuild[kind](store, flagged, everything)


def _take(store: SQLRepository, table: str, key: str) -> list[Any]:
    """Flag the marks in `table` as taken by this refresh, and return their keys."""
    store.execute(f"UPDATE {table} SET taken = 1").close()
    cur = store.execute(f"SELECT {key} FROM {table} WHERE taken = 1 ORDER BY {key}")
    flagged = [r[0] for r in cur.fetchall()]
    cur.close()
    return flagged


def _delete_keys(store: SQLRepository, table: str, key: str, values: Sequence[Any]) -> None:
    for where, binds in store.in_clauses(values):
        store.execute(f"DELETE FROM {table} WHERE {key} {where}", binds).close()


def _middle(store: SQLRepository, table: str, column: str) -> Any | None:
    """The middle `column` value of `table`, where a rebuild splits its rows in two for a
    store that reads one part beside the other (`reads_beside`); else (or empty) None."""
    if not store.reads_beside():
        return None
    count = store.rows_about(table)
    if count is None:
        return None
    cur = store.execute(
        f"SELECT {column} FROM {table} ORDER BY {column} LIMIT 1 OFFSET {store.placeholder}",
        [count // 2],
    )
    middle = cur.fetchone()
    cur.close()
    return None if middle is None else middle[0]


def _month_start(store: SQLRepository, moment: Any | None) -> Any | None:
    """The first moment of the month of a stored `moment` (None: None)."""
    if moment is None:
        return None
    return store.dialect.bound(month_bounds(str(moment)[:7])[0])


def _halves(store: SQLRepository, expr: str, middle: Any | None) -> list[tuple[str, list[Any]]]:
    """` AND ...` conditions and their binds: `expr` below `middle`, and from it (or, no
    middle, one part with all rows)."""
    if middle is None:
        return [("", [])]
    ph = store.placeholder
    return [(f" AND {expr} < {ph}", [middle]), (f" AND {expr} >= {ph}", [middle])]


def _rebuild_months(store: SQLRepository, flagged: Sequence[str], everything: bool,
                    sales: str | None = None) -> None:
    """The dirty months' sales and deliveries, each through the purchased_at index; past
    `MANY_MONTHS` of them (or never built: after `init-db`, the first import), every
    month's from one pass over the lines and one over the orders (bench/README.md:
    cheaper than a lookup of every order of every month), the daily sums from `sales`
    when given (`read_sales_once`). Either reads only what is committed, so rebuilding
    a month nobody marked is exact too."""
    if not everything and len(flagged) <= MANY_MONTHS:
        for month in flagged:
            _rebuild_month(store, month)
        return
    d = store.dialect
    lines = f"FROM {d.lines_then_orders(d.orders_by_key())} WHERE {SALE}"
    # (a sale's lines are on one Spider data node with it: the nodes' counts add up)
    monthly = Insert(
        MONTHLY, MONTHLY_COLUMNS,
        f"SELECT {d.big_result()}{d.period('o.purchased_at', 'month')}, i.product_id,"
        f" {PRODUCT_SALES} {lines} GROUP BY {d.period('o.purchased_at', 'month')}, i.product_id",
        adds=3,
    )
    per_sale = sales or f"({_sales(d)})"
    day = d.date_of("t.at")
    daily = Insert(
        DAILY, "(day, orders, units, revenue)",
        f"SELECT {day}, COUNT(*), SUM(t.units), SUM(t.revenue) FROM {per_sale} t"
        f" GROUP BY {day}",
        adds=3,
    )
    month = d.period("o.purchased_at", "month")
    store.replace_rows([monthly, daily, _delivery(store, month, "", [], f", {month}")])


def _rebuild_month(store: SQLRepository, month: str) -> None:
    first, after = month_bounds(month)
    ph = store.placeholder
    d = store.dialect
    days = [d.day(first), d.day(after)]
    store.execute(f"DELETE FROM {MONTHLY} WHERE month = {ph}", [month]).close()
    store.execute(f"DELETE FROM {DELIVERY} WHERE month = {ph}", [month]).close()
    store.execute(f"DELETE FROM {DAILY} WHERE day >= {ph} AND day < {ph}", days).close()
    period = f"o.purchased_at >= {ph} AND o.purchased_at < {ph}"
    span = [d.bound(first), d.bound(after)]
    lines = "FROM orders o JOIN order_items i ON i.order_id = o.order_id"
    store.execute(
        f"INSERT INTO {MONTHLY} {MONTHLY_COLUMNS} SELECT {ph}, i.product_id, {PRODUCT_SALES}"
        f" {lines} WHERE {period} AND {SALE} GROUP BY i.product_id",
        [month, *span],
    ).close()
    delivery = _delivery(store, store.placeholder, f" AND {period}", [month, *span])
    store.execute(delivery.statement(), delivery.binds).close()
    day = d.date_of("o.purchased_at")
    store.execute(
        f"INSERT INTO {DAILY} (day, orders, units, revenue)"
        " SELECT t.day, COUNT(*), SUM(t.units), SUM(t.revenue) FROM"
        f" (SELECT MAX({day}) AS day, SUM(i.quantity) AS units,"
        f" SUM(i.quantity * i.unit_price) AS revenue {lines}"
        # `unindexed`: else SQLite scans every line to group them in key order
        f" WHERE {period} AND {SALE} GROUP BY {d.unindexed('o.order_id')}) t GROUP BY t.day",
        span,
    ).close()


def _rebuild_pairs(store: SQLRepository, flagged: Sequence[str], everything: bool,
                   sales: str | None = None) -> None:
    """The dirty months' pair counts, each month's orders through the purchased_at index;
    past `MANY_MONTHS` of them (or never built), every month's from one pass (from
    `sales` when given: `read_sales_once`)."""
    d = store.dialect
    cols = "(product_a, product_b, month, orders)"
    if everything or len(flagged) > MANY_MONTHS:
        month = d.period("o.purchased_at", "month")
        if sales is not None:
            each = f"SELECT {d.period('s.at', 'month')} AS month, s.products FROM {sales} s"
            store.replace_rows([Insert(PAIRS, cols, pair_counts_from_arrays(each))])
        elif d.json_arrays:
            # in two parts, by month (a pair's count is per month) when read beside
            middle = _month_start(store, _middle(store, "orders", "purchased_at"))
            parts = _halves(store, "o.purchased_at", middle)
            store.replace_rows([
                Insert(PAIRS, cols,
                       pair_counts_from_arrays(sale_products(month, d.orders_by_key(), where)),
                       binds)
                for where, binds in parts
            ])
        else:
            # when read beside, in two parts by month, one on each session. The orders in
            # key order, so that their lines are read in key order too (MariaDB at 1M
            # orders, alone: 9.9 s to 8.6 s)
            big, orders = d.big_result(), d.orders_by_key()
            parts = _halves(store, "o.purchased_at",
                            _month_start(store, _middle(store, "orders", "purchased_at")))
            store.replace_rows([
                Insert(PAIRS, cols,
                       pair_counts(month, where, group_month=True, big=big, orders=orders),
                       binds, adds=1)
                for where, binds in parts
            ])
        return
    ph = store.placeholder
    for month in flagged:
        first, after = month_bounds(month)
        store.execute(f"DELETE FROM {PAIRS} WHERE month = {ph}", [month]).close()
        where = f" AND o.purchased_at >= {ph} AND o.purchased_at < {ph}"
        store.execute(
            f"INSERT INTO {PAIRS} {cols} {pair_counts(ph, where, group_month=False)}",
            [month, d.bound(first), d.bound(after)],
        ).close()


def _delivery(store: SQLRepository, month: str, where: str, binds: list[Any],
              by_month: str = "") -> Insert:
    """The deliveries of the orders purchased in `month` (an expression) that pass `where`
    (through the purchased_at index), per partner and delivery month: keyed by purchase
    month, the delivery summary is rebuilt with the sales ones, from the same marks (a
    change of delivered_at is a write to the order)."""
    d = store.dialect
    delivered = d.period("o.delivered_at", "month")
    on_time = "SUM(CASE WHEN o.delivered_at <= o.estimated_delivery_at THEN 1 ELSE 0 END)"
    late = f"SUM({d.late_seconds('o.delivered_at', 'o.estimated_delivery_at')})"
    # (no partner: '', a key column cannot be NULL)
    return Insert(
        DELIVERY, "(month, partner_id, delivered_month, delivered, on_time, late_seconds)",
        f"SELECT {month}, COALESCE(o.delivery_partner_id, ''), {delivered},"
        f" COUNT(*), {on_time}, {late} FROM orders o WHERE o.delivered_at IS NOT NULL"
        f" AND o.estimated_delivery_at IS NOT NULL{where}"
        f" GROUP BY o.delivery_partner_id, {delivered}{by_month}",
        binds,
        adds=3,
    )


def _rebuild_payments(store: SQLRepository, flagged: Sequence[str], everything: bool) -> None:
    """The dirty months' payments per day and method, each through the covering payments
    (paid_at, method, amount) index (month `''`: those without paid_at); never built,
    every payment's from one pass."""
    d = store.dialect
    day = f"COALESCE({d.period('pm.paid_at', 'day')}, {UNDATED})"
    columns = "(day, method, payments, amount)"
    select = f"SELECT {day}, pm.method, COUNT(*), SUM(pm.amount) FROM payments pm"
    insert = f"INSERT INTO {PAYMENTS} {columns} {select}"
    group = f" GROUP BY {day}, pm.method"
    if everything:
        store.replace_rows([Insert(PAYMENTS, columns, select + group, adds=2)])
        return
    ph = store.placeholder
    for month in flagged:
        if month == "":
            store.execute(f"DELETE FROM {PAYMENTS} WHERE day = {UNDATED}").close()
            store.execute(f"{insert} WHERE pm.paid_at IS NULL{group}").close()
            continue
        first, after = month_bounds(month)
        store.execute(
            f"DELETE FROM {PAYMENTS} WHERE day >= {ph} AND day < {ph}",
            [first.isoformat(), after.isoformat()],
        ).close()
        store.execute(
            f"{insert} WHERE pm.paid_at >= {ph} AND pm.paid_at < {ph}{group}",
            [d.bound(first), d.bound(after)],
        ).close()


def _reprice(store: SQLRepository) -> None:
    """Mark the carts holding a product whose price changed, and note the new prices."""
    cur = store.execute(_repriced())
    products = [r[0] for r in cur.fetchall()]
    cur.close()
    ignore = store.dialect.ignore
    for where, binds in store.in_clauses(products):
        store.execute(
            f"{ignore} INTO {DIRTY_CARTS} SELECT DISTINCT ci.cart_id, 0 FROM cart_items ci"
            f" WHERE ci.product_id {where}",
            binds,
        ).close()
        store.execute(f"DELETE FROM {CART_PRICES} WHERE product_id {where}", binds).close()
        store.execute(
            f"INSERT INTO {CART_PRICES} SELECT product_id, price FROM products"
            f" WHERE product_id {where}",
            binds,
        ).close()


def _rebuild_carts(store: SQLRepository, flagged: Sequence[Any], everything: bool) -> None:
    """The dirty carts' lines, items and totals at the current prices; past `MANY_CARTS`
    of them (or never built), every cart's from one pass over the cart lines."""
    everything = everything or len(flagged) > MANY_CARTS
    d = store.dialect
    cols = "(cart_id, customer_id, status, n_lines, items, total)"
    if not everything:
        _delete_keys(store, CARTS, "cart_id", flagged)
        taken = f"SELECT cart_id FROM {DIRTY_CARTS} WHERE taken = 1"
        select = _carts_grouped(d.prices(), f" WHERE c.cart_id IN ({taken})")
        store.execute(f"INSERT INTO {CARTS} {cols} {select}").close()
        return
    store.replace_rows([Insert(CART_PRICES, "(product_id, price)",
                               "SELECT product_id, price FROM products")])
    unindexed = not d.ddl_commits and _drop_carts_index(store)
    # in two parts by cart, one read by another connection when read beside: it cannot
    # see the prices just noted, and reads the products' (the same)
    halves = _halves(store, "{cart}", _middle(store, "carts", "cart_id"))
    if d.on_nodes:
        # on a Spider head, each data node totals its own carts at the prices just noted,
        # copied to it (through the head, every cart line is fetched)
        select = _carts_grouped(CART_PRICES)
        store.execute(f"DELETE FROM {CARTS}").close()
        store.execute(f"INSERT INTO {CARTS} {cols} SELECT * FROM"
                      f" ({d.node_rows(select, copies=[CART_PRICES])}) n").close()
    elif not d.materialized_cte:
        store.replace_rows([
            Insert(CARTS, cols, _carts_grouped(d.prices(), f" WHERE 1 = 1{where}"
                                               .format(cart="c.cart_id")), binds)
            for where, binds in halves
        ])
    elif len(halves) > 1:
        parts = [every_cart(d.prices(), *half) for half in halves]
        store.replace_rows([Insert(CARTS, cols, *part) for part in parts])
    else:  # the prices just noted: the same as the products' (SQLite reads them 2 s faster)
        store.execute(f"DELETE FROM {CARTS}").close()
        store.execute(f"INSERT INTO {CARTS} {cols} {every_cart(CART_PRICES)[0]}").close()
    if unindexed:
        store.execute(_carts_index()).close()


def _carts_grouped(prices: str, where: str = "") -> str:
    """The carts' rows (those that pass `where`, ` WHERE ...` on `c`), grouped by the key
    alone, MAX() of the cart's own columns (reports/defs/carts.py), at `prices`."""
    return (
        "SELECT c.cart_id, MAX(c.customer_id) AS customer_id, MAX(c.status) AS status,"
        " COUNT(ci.product_id) AS n_lines, COALESCE(SUM(ci.quantity), 0) AS items,"
        " COALESCE(SUM(ci.quantity * p.price), 0) AS total"
        " FROM carts c LEFT JOIN cart_items ci ON ci.cart_id = c.cart_id"
        f" LEFT JOIN {prices} p ON p.product_id = ci.product_id{where} GROUP BY c.cart_id"
    )


def every_cart(prices: str, where: str = "", binds: Sequence[Any] = ()) -> tuple[str, list[Any]]:
    """Every cart's row (those whose key passes `where`, a condition on `{cart}`, and its
    `binds`), for an engine that computes a MATERIALIZED common table once: the cart
    lines grouped per cart in one pass over their (cart_id, ...) index, then joined to
    the carts read in table order. SQLite walked the carts by key instead, a random read
    of each, and looked up each cart's lines (3 s against 9.4 s at 1.24M carts); MariaDB
    joins such a grouped table cart by cart (30 s against 5.5 s), so it keeps the join."""
    lines = (
        "SELECT ci.cart_id, COUNT(*) AS n_lines, SUM(ci.quantity) AS items,"
        " SUM(ci.quantity * p.price) AS total FROM cart_items ci"
        f" LEFT JOIN {prices} p ON p.product_id = ci.product_id"
        f" WHERE 1 = 1{where.format(cart='ci.cart_id')} GROUP BY ci.cart_id"
    )
    statement = (
        f"WITH l AS MATERIALIZED ({lines}) SELECT c.cart_id, c.customer_id, c.status,"
        " COALESCE(l.n_lines, 0), COALESCE(l.items, 0), COALESCE(l.total, 0)"
        f" FROM carts c LEFT JOIN l ON l.cart_id = c.cart_id"
        f" WHERE 1 = 1{where.format(cart='c.cart_id')}"
    )
    return statement, [*binds, *binds]


def _drop_carts_index(store: SQLRepository) -> bool:
    """SQLite, before every cart is rebuilt: drop the carts report's index, to make it
    after the rows by one sort (1.24M carts, the statements alone: 9.4-12.3 s inserting
    into it, 4.6 s making it after; on MySQL an index change commits, so it cannot be part
    of a refresh). False when a statement of this connection is still open (a `find`
    being read), which locks the table against DDL: the rows then go into the index."""
    try:
        store.execute(f"DROP INDEX IF EXISTS {CARTS_INDEX}").close()
    except TransientError:
        return False
    return True


def _rebuild_customers(store: SQLRepository, flagged: Sequence[Any], everything: bool,
                       sales: str | None = None) -> None:
    """The dirty customers' rows for the dirty months, from their orders in those months
    (through the orders (customer_id, ...) index), then their cohorts and all-time rows
    from their months; or, when there are many, every customer's from one pass over all
    orders (at 1M orders: 4 s on MariaDB, where filtering that pass by the marks took
    17 s), or from `sales` when given (`read_sales_once`). Both read only what is
    committed, so either is exact.

    Why the dirty months suffice: a write marks the customers and the months of the
    orders it changes (as stored and as written), so every changed (customer, month) is
    a marked customer in a marked month. A week's import at 1M orders marks 15,000
    customers with 350,000 sales, but only one or two months of them. The months are
    taken before the customers, and all of them are read once after, taken or not: a
    writer that commits between the two takes has its months read, and one that commits
    later keeps its customer's mark and its months' for the next refresh (a writer
    marking a taken customer waits for this refresh)."""
    d = store.dialect
    taken = f"SELECT customer_id FROM {DIRTY_CUSTOMERS} WHERE taken = 1"
    everything = everything or len(flagged) > MANY_CUSTOMERS
    # the purchases (sales with lines: an order without lines is none), per order first;
    # orders first, through their (customer_id, ...) index when the customers are few
    parts: list[tuple[str, list[Any]]] = [("", [])]
    if everything and sales is None:  # in two parts by customer, when read beside
        parts = _halves(store, "o.customer_id", _middle(store, "customers", "customer_id"))
    # a part scans the orders in key order as the whole does (not by the customer index)
    orders = d.orders_by_key() if len(parts) > 1 else "orders o"
    per_order = (
        "SELECT MAX(o.customer_id) AS customer_id, SUM(i.quantity) AS units,"
        " SUM(i.quantity * i.unit_price) AS revenue, MAX(o.purchased_at) AS at"
        f" FROM {orders} {d.then()} order_items i ON i.order_id = o.order_id"
        f" WHERE {SALE}"
    )
    months_of, months = "", []
    if not everything:
        # read once: the delete and the insert must see the same months
        cur = store.execute(f"SELECT month FROM {DIRTY_CUSTOMER_MONTHS}")
        months = [m for (m,) in cur.fetchall()]
        cur.close()
        cells = f"customer_id IN ({taken})"
        per_order += f" AND o.customer_id IN ({taken})"
        if months:  # (none: customers marked by an older ecom, all their months)
            of_months = f" IN ({', '.join([store.placeholder] * len(months))})"
            cells += f" AND month{of_months}"
            per_order += f" AND {d.period('o.purchased_at', 'month')}{of_months}"
        store.execute(f"DELETE FROM {CUSTOMER_MONTHS} WHERE {cells}", months).close()
        _delete_keys(store, CUSTOMERS, "customer_id", flagged)
        months_of = f" WHERE m.customer_id IN ({taken})"
    month = d.period("g.at", "month")

    def customer_months(where: str, binds: list[Any]) -> Insert:
        orders_of = f"{per_order}{where} GROUP BY o.order_id"
        # every order's: a data node's own orders (the marks read above are the head's)
        g = sales or f"({d.node_rows(orders_of) if everything else orders_of})"
        # days never span two months: a customer's purchase days are the sum of its months'
        per_month = (
            f"SELECT {d.big_result()}g.customer_id, {month} AS month, COUNT(*) AS orders,"
            " SUM(g.units) AS items, SUM(g.revenue) AS revenue,"
            f" COUNT(DISTINCT {d.date_of('g.at')}) AS days, MIN(g.at) AS first_at,"
            f" MAX(g.at) AS last_at FROM {g} g GROUP BY g.customer_id, {month}"
        )
        return Insert(
            CUSTOMER_MONTHS,
            "(customer_id, month, cohort, orders, items, revenue, days, first_at, last_at)",
            "SELECT m.customer_id, m.month, MIN(m.month) OVER (PARTITION BY m.customer_id),"
            " m.orders, m.items, m.revenue, m.days, m.first_at, m.last_at"
            f" FROM ({per_month}) m",
            [*months, *binds],
        )

    months_rows = [customer_months(*part) for part in parts]
    if everything:
        store.replace_rows(months_rows)
    else:
        store.insert_selects(months_rows)
    if not everything:  # a cohort is the first of all the customer's months
        cohorts = (
            f"SELECT m.customer_id, MIN(m.month) AS cohort FROM {CUSTOMER_MONTHS} m"
            f"{months_of} GROUP BY m.customer_id"
        )
        store.execute(d.update_from(CUSTOMER_MONTHS, cohorts, "customer_id", "cohort")).close()
    totals = Insert(
        CUSTOMERS,
        "(customer_id, orders, items, revenue, sales, days, first_sale_at, last_sale_at)",
        f"SELECT {d.big_result()}m.customer_id, SUM(m.orders), SUM(m.items), SUM(m.revenue),"
        " SUM(m.orders), SUM(m.days), MIN(m.first_at), MAX(m.last_at)"
        f" FROM {CUSTOMER_MONTHS} m{months_of} GROUP BY m.customer_id",
    )
    if everything:  # from the months just rebuilt
        store.replace_rows([totals], here=True)
    else:
        store.execute(totals.statement()).close()


def _rebuild_products(store: SQLRepository, flagged: Sequence[Any], everything: bool) -> None:
    """The dirty products' reviews (through the reviews (product_id, score) index) and
    wishlists (through the wishlist lines' product_id index); past `MANY_PRODUCTS` of them
    (or never built), every product's from one pass over each."""
    dirty = ""
    if not (everything or len(flagged) > MANY_PRODUCTS):
        for table in (REVIEWS, WISHLISTS):
            _delete_keys(store, table, "product_id", flagged)
        dirty = f"IN (SELECT product_id FROM {DIRTY_PRODUCTS} WHERE taken = 1)"
    reviews = Insert(
        REVIEWS, "(product_id, reviews, score_sum)",
        "SELECT r.product_id, COUNT(*), SUM(r.score) FROM reviews r"
        f" WHERE r.product_id IS NOT NULL{f' AND r.product_id {dirty}' if dirty else ''}"
        " GROUP BY r.product_id",
        adds=2,
    )
    wishlists = Insert(
        WISHLISTS, "(product_id, wishlists, customers)",
        "SELECT wi.product_id, COUNT(*), COUNT(DISTINCT w.customer_id) FROM wishlist_items wi"
        " JOIN wishlists w ON w.wishlist_id = wi.wishlist_id"
        f"{f' WHERE wi.product_id {dirty}' if dirty else ''} GROUP BY wi.product_id",
    )
    if dirty:  # reads the marks: not for a data node, nor beside
        store.execute(reviews.statement()).close()
        store.execute(wishlists.statement()).close()
    else:  # (apart: on a Spider head the data nodes add up the reviews, not the wishlists)
        store.replace_rows([reviews])
        store.replace_rows([wishlists])


def _rebuild_suppliers(store: SQLRepository, flagged: Sequence[Any], everything: bool) -> None:
    """The dirty suppliers' products and units, through the supplies key (supplier_id,
    product_id); never built, every supplier's from one pass."""
    columns = "(supplier_id, products, units)"
    if everything:
        store.replace_rows([Insert(SUPPLIERS, columns, supplier_counts())])
        return
    _delete_keys(store, SUPPLIERS, "supplier_id", flagged)
    taken = f"SELECT supplier_id FROM {DIRTY_SUPPLIERS} WHERE taken = 1"
    rows = supplier_counts(f" WHERE sp.supplier_id IN ({taken})")
    store.execute(f"INSERT INTO {SUPPLIERS} {columns} {rows}").close()


def _rebuild_wishlists(store: SQLRepository, flagged: Sequence[Any], everything: bool) -> None:
    """The dirty customers' wishlists and distinct products, through the wishlists'
    customer_id index, the customers named in the statement (a Spider head sends them to
    each data node; a subquery of the marks it would answer by reading every wishlist);
    past `MANY_CUSTOMERS` of them (or never built), every customer's from one pass."""
    columns = "(customer_id, wishlists, products)"
    select = (
        "SELECT w.customer_id, COUNT(DISTINCT w.wishlist_id), COUNT(DISTINCT wi.product_id)"
        " FROM wishlists w LEFT JOIN wishlist_items wi ON wi.wishlist_id = w.wishlist_id"
    )
    if everything or len(flagged) > MANY_CUSTOMERS:
        store.replace_rows([Insert(CUSTOMER_WISHLISTS, columns,
                                   f"{select} GROUP BY w.customer_id")])
        return
    _delete_keys(store, CUSTOMER_WISHLISTS, "customer_id", flagged)
    for where, binds in store.in_clauses(flagged):
        store.execute(f"INSERT INTO {CUSTOMER_WISHLISTS} {columns} {select}"
                      f" WHERE w.customer_id {where} GROUP BY w.customer_id", binds).close()
