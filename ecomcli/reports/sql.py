"""Reports as SQL for SQLite and MySQL/MariaDB: `build(name, dialect, params)`.

Each statement aggregates inside the database and returns one row per group; the
finishing touches (exact averages, ranks, defined order) are in `ecomcli.reports`.
SQLite stores money as integer cents and datetimes as `YYYY-MM-DD HH:MM:SS` text, so the
same SQL sums cents there and DECIMAL on MySQL. No `%` appears in any statement (it is
the MySQL driver's placeholder character).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from ecomcli.reports import spec, summaries

Params = dict[str, Any]
Built = tuple[str, list[Any]]

SALE = summaries.SALE  # the definition of a sale, as a condition on orders `o`


class SQL:
    """What differs between the dialects: placeholders, quoting, dates."""

    def __init__(self, dialect: str, summarized: bool = False) -> None:
        self.dialect = dialect
        self.ph = "?" if dialect == "sqlite" else "%s"
        # read the sales summaries (`summaries.needed`), refreshed by the caller
        self.summarized = summarized

    def q(self, name: str) -> str:
        return f'"{name}"' if self.dialect == "sqlite" else f"`{name}`"

    def bound(self, day: date) -> Any:
        moment = datetime(day.year, day.month, day.day)
        return moment.isoformat(sep=" ") if self.dialect == "sqlite" else moment

    def day(self, day: date) -> Any:
        return day.isoformat() if self.dialect == "sqlite" else day

    def period(self, col: str, by: str) -> str:
        """The period label of datetime column `col`: see docs/reports.md."""
        if self.dialect == "sqlite":  # substr on the ISO text is faster than strftime
            return {
                "day": f"substr({col}, 1, 10)",
                "week": f"date({col}, '-6 days', 'weekday 1')",
                "month": f"substr({col}, 1, 7)",
                "quarter": f"substr({col}, 1, 4) || '-Q' || "
                f"((CAST(substr({col}, 6, 2) AS INTEGER) + 2) / 3)",
                "year": f"substr({col}, 1, 4)",
            }[by]
        return {
            "day": f"CAST(DATE({col}) AS CHAR)",
            "week": f"CAST(DATE({col}) - INTERVAL WEEKDAY({col}) DAY AS CHAR)",
            "month": f"LEFT(CAST({col} AS CHAR), 7)",
            "quarter": f"CONCAT(YEAR({col}), '-Q', QUARTER({col}))",
            "year": f"CAST(YEAR({col}) AS CHAR)",
        }[by]

    def late_seconds(self, actual: str, promised: str) -> str:
        """Seconds late, 0 when on time; the difference is only computed for late rows
        (SQLite: delivery 1.22 s to 0.89 s at 1M orders, as `strftime` is the costly part)."""
        if self.dialect == "sqlite":
            diff = f"strftime('%s', {actual}) - strftime('%s', {promised})"
        else:
            diff = f"TIMESTAMPDIFF(SECOND, {promised}, {actual})"
        return f"CASE WHEN {actual} > {promised} THEN {diff} ELSE 0 END"

    def between(self, col: str, p: Params, binds: list[Any]) -> str:
        """` AND col in [--from, --to]`: from inclusive, to inclusive of its whole day."""
        sql = ""
        if p.get("from"):
            sql += f" AND {col} >= {self.ph}"
            binds.append(self.bound(p["from"]))
        if p.get("to"):
            sql += f" AND {col} < {self.ph}"
            binds.append(self.bound(p["to"] + timedelta(days=1)))
        return sql

    def lines_then_orders(self) -> str:
        """`order_items i JOIN orders o`, read in the lines' key order, each line's order
        found by its key. Without this SQLite walked the lines through the product_id index
        (a random table read per line: top-products 6.1 s at 1M orders, 1.6 s with) and
        MariaDB through the orders (customer_id, ...) index (3.0 s, 2.0 s with)."""
        if self.dialect == "sqlite":
            return "order_items i NOT INDEXED JOIN orders o ON o.order_id = i.order_id"
        return "order_items i STRAIGHT_JOIN orders o ON o.order_id = i.order_id"

    def whole(self, expr: str) -> str:
        """A sum of integers as an integer. MySQL sums integers into DECIMAL, which its
        Python driver turns into `Decimal` objects at ~2 us each (3 s for carts' 1.2M rows)."""
        return expr if self.dialect == "sqlite" else f"CAST({expr} AS SIGNED)"

    def cents(self, expr: str) -> str:
        """A money sum as integer cents: SQLite stores money so; on MySQL see `whole`."""
        return expr if self.dialect == "sqlite" else f"CAST({expr} * 100 AS SIGNED)"

    def prices(self) -> str:
        """The products' prices, to join to lines. SQLite reads the covering index
        `products (product_id, price)`; MariaDB a derived table it materialises with a hash
        key (a B-tree lookup of the primary key per cart line was 30% slower)."""
        if self.dialect == "sqlite":
            return "products"
        return "(SELECT DISTINCT product_id, price FROM products)"

    def then(self) -> str:
        """A join that MySQL must run in the order written (SQLite's planner already does)."""
        return "JOIN" if self.dialect == "sqlite" else "STRAIGHT_JOIN"

    def big_result(self) -> str:
        """`SELECT SQL_BIG_RESULT` (MySQL and MariaDB): group many rows by sorting them,
        instead of in a temporary table that outgrows memory (tmp_table_size) and goes to
        disk: with 200k groups keyed by a VARCHAR(64), 6.2 s against 2.1 s at 1M orders."""
        return "" if self.dialect == "sqlite" else "SQL_BIG_RESULT "

    def select(self, *columns: tuple[str, str]) -> str:
        return "SELECT " + ", ".join(f"{expr} AS {self.q(alias)}" for expr, alias in columns)

    # --- added for the intelligence reports ---

    def days_before(self, moment: str, days: int) -> str:
        """The start of the day `days` days before the day of datetime `moment`, comparable
        with the datetime columns (restock: the first day of the sales window)."""
        if self.dialect == "sqlite":  # 'YYYY-MM-DD' sorts before every time of that day
            return f"date({moment}, '-{int(days)} days')"
        return f"(DATE({moment}) - INTERVAL {int(days)} DAY)"


def low_stock(d: SQL, p: Params) -> Built:
    sql = d.select(
        ("p.product_id", "product_id"),
        ("p.name", "name"),
        ("p.units_in_stock", "units_in_stock"),
        ("p.reorder_level", "reorder_level"),
        ("s.supplier_id", "supplier_id"),
        ("s.name", "supplier_name"),
    )
    sql += (
        " FROM products p LEFT JOIN supplies sp ON sp.product_id = p.product_id"
        " LEFT JOIN suppliers s ON s.supplier_id = sp.supplier_id"
        f" WHERE p.units_in_stock < {d.ph}"
    )
    return sql, [p["threshold"]]


def ratings(d: SQL, p: Params) -> Built:
    """Only the candidates cross the wire: the N lowest and the N highest by average score
    (the finishing picks its rows from these with exact arithmetic). Doubles order the
    averages exactly here: two different fractions with denominators below ~10^7 differ by
    more than a double's rounding, and equal ones round alike."""
    least = int(p["min_reviews"])
    per_product = (
        "SELECT r.product_id, COUNT(*) AS n, SUM(r.score) AS score_sum"
        " FROM reviews r WHERE r.product_id IS NOT NULL GROUP BY r.product_id"
        f" HAVING COUNT(*) >= {least}"
    )
    if d.summarized:  # one row per reviewed product (5,000 instead of 420k reviews)
        per_product = (
            "SELECT s.product_id, s.reviews AS n, s.score_sum"
            f" FROM {summaries.REVIEWS} s WHERE s.reviews >= {least}"
        )
    columns = d.select(
        ("p.product_id", "product_id"),
        ("p.name", "name"),
        ("x.n", "reviews"),
        (d.whole("x.score_sum"), "score_sum"),
    )
    avg = "t.score_sum * 1e0 / t.n"  # 1e0: a double on MySQL too (not a 4-digit DECIMAL)
    # each end cut to N before the names are joined: joined first, MariaDB sorted every
    # product in a temporary table (0.22 s to 0.09 s at 420k reviews)
    ends = [
        f"SELECT * FROM ({columns} FROM (SELECT * FROM t"
        f" ORDER BY {avg}{way}, t.n DESC, t.product_id LIMIT {int(p['limit'])}) x"
        f" JOIN products p ON p.product_id = x.product_id) {alias}"
        for way, alias in (("", "lowest"), (" DESC", "highest"))
    ]
    # SQLite computes the CTE once; MariaDB 10.11 twice (0.05 s each at 420k reviews)
    return f"WITH t AS ({per_product}) " + " UNION ".join(ends), []


def carts(d: SQL, p: Params) -> Built:
    binds: list[Any] = []
    if d.summarized:
        return summarized_carts(d, p)
    order = f" ORDER BY {d.q('total')} DESC, {d.q('cart_id')}"  # the finishing order
    if p.get("limit"):  # only the carts shown cross the wire
        sql = top_carts(d, int(p["limit"]))
        order += f" LIMIT {int(p['limit'])}"
    else:
        # GROUP BY the key alone (MAX() of the cart's own columns): grouping by more columns
        # made MariaDB sort 3M joined rows in a temporary table instead of streaming in key
        # order
        sql = d.select(
            ("c.cart_id", "cart_id"),
            ("MAX(c.customer_id)", "customer_id"),
            ("MAX(c.status)", "status"),
            ("COUNT(ci.product_id)", "lines"),
            (d.whole("COALESCE(SUM(ci.quantity), 0)"), "items"),
            (d.cents("COALESCE(SUM(ci.quantity * p.price), 0)"), "total"),
        )
        sql += (
            " FROM carts c LEFT JOIN cart_items ci ON ci.cart_id = c.cart_id"
            f" LEFT JOIN {d.prices()} p ON p.product_id = ci.product_id"
            " GROUP BY c.cart_id"
        )
    join, pays = "", "0"
    if p.get("discount") and p.get("payment_method"):
        # does the cart's customer pay by the method: once per cart, after the grouping
        binds.append(p["payment_method"])
        join, pays = pays_by(d, every_cart=d.dialect == "sqlite" and not p.get("limit"))
    return f"SELECT t.*, {pays} AS {d.q('pays_by')} FROM ({sql}) t{join}{order}", binds


def summarized_carts(d: SQL, p: Params) -> Built:
    """Every cart from `summary_carts`, read in the finishing order from its covering
    index `(total DESC, cart_id, ...)` (so `--limit N` reads N rows, and the whole report
    no sort: at 1.24M carts SQLite 2.9 s to 1.3 s, MariaDB 2.5 s to 1.8 s, against an index
    of `(total DESC, cart_id)` alone, which both planners passed over for a scan and a
    sort. Keying the table so instead built it twice as slowly on MariaDB)."""
    binds: list[Any] = []
    join, pays = "", "0"
    if p.get("discount") and p.get("payment_method"):
        # --limit: N lookups, not 75k paying customers found first (MariaDB 0.47 s of
        # --limit 10; SQLite 43 ms of 44)
        join, pays = pays_by(d, every_cart=not p.get("limit"))
        binds.append(p["payment_method"])
    sql = d.select(
        ("t.cart_id", "cart_id"),
        ("t.customer_id", "customer_id"),
        ("t.status", "status"),
        ("t.n_lines", "lines"),
        (d.whole("t.items"), "items"),
        (d.cents("t.total"), "total"),
        (pays, "pays_by"),
    )
    sql += f" FROM {summaries.CARTS} t{join} ORDER BY t.total DESC, t.cart_id"
    if p.get("limit"):
        sql += f" LIMIT {int(p['limit'])}"
    return sql, binds


def pays_by(d: SQL, every_cart: bool) -> tuple[str, str]:
    """A join to add after cart rows `t`, and the expression: 1 when the cart's customer
    pays by the method (the next bind), else 0.

    `every_cart`: the paying customers found once. SQLite: `IN` them, kept in a B-tree read
    from the covering payments (customer_id, method) index (`+`: not through the method
    index and the table, 6.0 s against 4.4 s at 1.24M carts; a LEFT JOIN to them relied on
    an automatic index SQLite stopped building once payments had a (method, ...) index).
    MariaDB: a LEFT JOIN to them as a derived table, materialised with a hash key from
    that same covering index (forced: its planner read the (method, paid_at, amount) index,
    since replaced, and the table, 0.63 s against 0.19 s for the 75k customers of 1M
    payments), in memory while tmp_table_size allows (the MySQL backend raises it to
    128 MB): the whole carts report 1.8 s to 1.45 s against `IN`. Otherwise `EXISTS` per
    cart: for a few carts, or MariaDB over the lines, which put the 75k on disk."""
    if every_cart and d.dialect == "sqlite":
        return "", (
            "CASE WHEN t.customer_id IN (SELECT pm.customer_id FROM payments pm"
            f" WHERE +pm.method = {d.ph}) THEN 1 ELSE 0 END"
        )
    if every_cart:
        paying = (
            "SELECT DISTINCT pm.customer_id FROM payments pm"
            f" FORCE INDEX (ix_payments_customer_id_method) WHERE pm.method = {d.ph}"
        )
        join = f" LEFT JOIN ({paying}) m ON m.customer_id = t.customer_id"
        return join, "CASE WHEN m.customer_id IS NULL THEN 0 ELSE 1 END"
    return "", (
        "CASE WHEN EXISTS (SELECT 1 FROM payments pm WHERE pm.customer_id ="
        f" t.customer_id AND pm.method = {d.ph}) THEN 1 ELSE 0 END"
    )


def top_carts(d: SQL, n: int) -> str:
    """The candidates for the first `n` carts of the finishing order (highest total, then
    cart_id), without a lookup per cart: the `n` highest of the lines summed per cart
    (cart_items read in key order, no join to carts until `n` are left; MariaDB: 3.2 s to
    1.7 s at 1.24M carts), UNION ALL the carts without lines among the first `n` by cart_id
    (any empty cart in the top `n` is there: every cart with a smaller id precedes it)."""
    lines = (
        "SELECT ci.cart_id, COUNT(*) AS n, SUM(ci.quantity) AS items,"
        f" SUM(ci.quantity * p.price) AS total FROM cart_items ci {d.then()} {d.prices()} p"
        " ON p.product_id = ci.product_id GROUP BY ci.cart_id"
        f" ORDER BY total DESC, ci.cart_id LIMIT {n}"
    )
    sql = d.select(
        ("c.cart_id", "cart_id"),
        ("c.customer_id", "customer_id"),
        ("c.status", "status"),
        ("l.n", "lines"),
        (d.whole("l.items"), "items"),
        (d.cents("l.total"), "total"),
    )
    return (
        f"{sql} FROM ({lines}) l {d.then()} carts c ON c.cart_id = l.cart_id"
        " UNION ALL SELECT e.cart_id, e.customer_id, e.status, 0, 0, 0 FROM (SELECT"
        f" cart_id, customer_id, status FROM carts ORDER BY cart_id LIMIT {n}) e"
        " WHERE NOT EXISTS (SELECT 1 FROM cart_items ci WHERE ci.cart_id = e.cart_id)"
    )


def wishlists(d: SQL, p: Params) -> Built:
    """Grouped by the lines' own product_id (or the wishlists' customer_id), the names
    joined to the grouped rows: at 1M orders (314k wishlist lines) `--by product` took
    MariaDB 0.60 s to 0.25 s and SQLite 0.25 s to 0.12 s against grouping the joined
    products by their id and name. The database sorts them and cuts them to `--limit`."""
    limit = f" LIMIT {int(p['limit'])}" if p.get("limit") else ""
    if p["by"] == "product":
        grouped = (
            "SELECT wi.product_id, COUNT(*) AS n, COUNT(DISTINCT w.customer_id) AS customers"
            " FROM wishlist_items wi JOIN wishlists w ON w.wishlist_id = wi.wishlist_id"
            " GROUP BY wi.product_id"
        )
        if d.summarized:  # one row per wishlisted product, instead of every line
            grouped = (
                "SELECT s.product_id, s.wishlists AS n, s.customers"
                f" FROM {summaries.WISHLISTS} s WHERE s.wishlists > 0"
            )
        sql = d.select(
            ("g.product_id", "product_id"),
            ("p.name", "name"),
            ("g.n", "wishlists"),
            ("g.customers", "customers"),
        )
        sql += f" FROM ({grouped}) g JOIN products p ON p.product_id = g.product_id"
        return f"{sql} ORDER BY g.n DESC, g.customers DESC, g.product_id{limit}", []
    grouped = (
        "SELECT w.customer_id, COUNT(DISTINCT w.wishlist_id) AS n,"
        " COUNT(DISTINCT wi.product_id) AS products FROM wishlists w"
        " LEFT JOIN wishlist_items wi ON wi.wishlist_id = w.wishlist_id GROUP BY w.customer_id"
    )
    sql = d.select(
        ("g.customer_id", "customer_id"),
        ("c.first_name", "first_name"),
        ("c.last_name", "last_name"),
        ("g.n", "wishlists"),
        ("g.products", "products"),
    )
    sql += f" FROM ({grouped}) g JOIN customers c ON c.customer_id = g.customer_id"
    return f"{sql} ORDER BY g.products DESC, g.customer_id{limit}", []


def sold_per_product(d: SQL, p: Params, binds: list[Any]) -> str:
    """`SELECT product_id, units, revenue` sold in the period, one row per product.

    From the monthly summary: its whole months inside the period, UNION ALL the lines of
    the days left at the period's edges (read through the purchased_at index), so that
    `--from/--to` keep day precision. At 1M orders 106k summary rows instead of 2.35M
    lines: top-products 1.4 s to ~0.05 s on SQLite."""
    if not d.summarized:
        return (
            "SELECT i.product_id, SUM(i.quantity) AS units,"
            " SUM(i.quantity * i.unit_price) AS revenue"
            f" FROM {d.lines_then_orders()}"
            f" WHERE {SALE}{d.between('o.purchased_at', p, binds)} GROUP BY i.product_id"
        )
    months, edges = summaries.split(p.get("from"), p.get("to"))
    parts = []
    if months is not None:
        where = ""
        for month, op in zip(months, (">=", "<="), strict=True):
            if month is not None:
                where += f" AND s.month {op} {d.ph}"
                binds.append(month)
        parts.append(
            f"SELECT s.product_id, s.units, s.revenue FROM {summaries.MONTHLY} s WHERE 1 = 1{where}"
        )
    for start, before in edges:
        parts.append(
            "SELECT i.product_id, i.quantity AS units, i.quantity * i.unit_price AS revenue"
            " FROM orders o JOIN order_items i ON i.order_id = o.order_id"
            f" WHERE {SALE} AND o.purchased_at >= {d.ph} AND o.purchased_at < {d.ph}"
        )
        binds += [d.bound(start), d.bound(before)]
    return (
        "SELECT u.product_id, SUM(u.units) AS units, SUM(u.revenue) AS revenue"
        f" FROM ({' UNION ALL '.join(parts)}) u GROUP BY u.product_id"
    )


def top_products(d: SQL, p: Params) -> Built:
    binds: list[Any] = []
    inner = sold_per_product(d, p, binds)
    sql = d.select(
        ("t.product_id", "product_id"),
        ("p.name", "name"),
        (d.whole("t.units"), "units"),
        (d.cents("t.revenue"), "revenue"),
    )
    sql += f" FROM ({inner}) t JOIN products p ON p.product_id = t.product_id"
    if p.get("limit"):
        # only the products ranked N or better cross the wire (the finishing ranks them
        # again, alike: they are the top of the same dense ranking), not all 5,000
        metric = d.q(p["metric"])
        ranked = f"SELECT r.*, DENSE_RANK() OVER (ORDER BY r.{metric} DESC) AS n FROM ({sql}) r"
        names = ", ".join(f"x.{d.q(c)}" for c in ("product_id", "name", "units", "revenue"))
        sql = f"SELECT {names} FROM ({ranked}) x WHERE x.n <= {int(p['limit'])}"
    return sql, binds


def customer_activity(d: SQL, p: Params) -> Built:
    binds: list[Any] = []
    if d.summarized:
        return summarized_customer_activity(d, p)
    sold = f"{SALE}{d.between('o.purchased_at', p, binds)}"  # a sale in the period
    if p["list"] is None and d.dialect != "sqlite":
        # MySQL/MariaDB: the distinct buyers from the covering orders (customer_id, ...)
        # index, as the foreign key keeps them among the customers: 0.48 s to 0.19 s at 1M
        # orders (SQLite runs the EXISTS form below in 0.08 s, this one in 0.36 s)
        sql = d.select(
            ("(SELECT COUNT(*) FROM customers)", "customers"),
            ("COUNT(DISTINCT o.customer_id)", "active"),
        )
        return f"{sql} FROM orders o WHERE {sold}", binds
    active = f"SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND {sold}"
    if p["list"] is None:
        sql = d.select(
            ("COUNT(*)", "customers"),
            (d.whole(f"COALESCE(SUM(CASE WHEN EXISTS ({active}) THEN 1 ELSE 0 END), 0)"), "active"),
        )
        return sql + " FROM customers c", binds
    sql = d.select(
        ("c.customer_id", "customer_id"),
        ("c.first_name", "first_name"),
        ("c.last_name", "last_name"),
        ("c.email", "email"),
        ("COALESCE(x.n, 0)", "orders"),
        ("x.last_at", "last_purchase_at"),
    )
    negate = "NOT " if p["list"] == "inactive" else ""
    sql += (
        " FROM customers c LEFT JOIN (SELECT o.customer_id, COUNT(*) AS n,"
        f" MAX(o.purchased_at) AS last_at FROM orders o WHERE {SALE} GROUP BY o.customer_id) x"
        f" ON x.customer_id = c.customer_id WHERE {negate}EXISTS ({active})"
    )
    return sql, binds


def summarized_customer_activity(d: SQL, p: Params) -> Built:
    """From the per-customer summary, for a period with at most one end: a customer with
    a sale on or after `--from` is one whose last sale is; before the end of `--to`, one
    whose first sale is; with no period, one with any sale (a row in the summary). At 1M
    orders MariaDB 0.19 s to ~0.03 s against the distinct buyers of the orders index."""
    binds: list[Any] = []
    if p.get("from"):
        active = f"s.last_sale_at >= {d.ph}"
        binds.append(d.bound(p["from"]))
    elif p.get("to"):
        active = f"s.first_sale_at < {d.ph}"
        binds.append(d.bound(p["to"] + timedelta(days=1)))
    else:
        active = "s.customer_id IS NOT NULL"
    if p["list"] is None:
        sql = d.select(
            ("(SELECT COUNT(*) FROM customers)", "customers"),
            ("COUNT(*)", "active"),
        )
        return f"{sql} FROM {summaries.CUSTOMERS} s WHERE {active}", binds
    sql = d.select(
        ("c.customer_id", "customer_id"),
        ("c.first_name", "first_name"),
        ("c.last_name", "last_name"),
        ("c.email", "email"),
        ("COALESCE(s.sales, 0)", "orders"),
        ("s.last_sale_at", "last_purchase_at"),
    )
    # NOT: a customer without sales (no summary row) is inactive: `active` is NULL or false
    where = f"COALESCE({active}, 0) = 0" if p["list"] == "inactive" else active
    sql += f" FROM customers c LEFT JOIN {summaries.CUSTOMERS} s"
    return sql + f" ON s.customer_id = c.customer_id WHERE {where}", binds


def suppliers(d: SQL, p: Params) -> Built:
    """Per supplier, the products it supplies and their units: from
    `summary_supplier_products` when summarized (417 suppliers, 6,500 supplies: SQLite
    0.9 to 0.2 ms, MariaDB 2.1 to 0.6 ms), else the supplies counted per supplier first
    (their key's order) and the names joined to the counts (MariaDB 3.6 ms to 2.2 ms, SQLite
    1.07 to 0.88 ms against grouping the joined rows by id and name: a temporary table)."""
    counts = summaries.SUPPLIERS if d.summarized else f"({summaries.supplier_counts()})"
    if p["top"]:
        sql = d.select(
            ("s.supplier_id", "supplier_id"),
            ("s.name", "supplier"),
            ("c.products", "products"),
            ("pr.product_id", "product_id"),
            ("pr.name", "product"),
            ("sp.units", "units"),
        )
        sql += (
            f" FROM {counts} c JOIN suppliers s ON s.supplier_id = c.supplier_id"
            " JOIN supplies sp ON sp.supplier_id = c.supplier_id"
            " JOIN products pr ON pr.product_id = sp.product_id"
            f" WHERE c.products = (SELECT MAX(m.products) FROM {counts} m)"
        )
        return sql, []
    sql = d.select(
        ("s.supplier_id", "supplier_id"),
        ("s.name", "name"),
        ("COALESCE(g.products, 0)", "products"),
        (d.whole("COALESCE(g.units, 0)"), "units"),
    )
    return sql + f" FROM suppliers s LEFT JOIN {counts} g ON g.supplier_id = s.supplier_id", []


def customer_orders(d: SQL, p: Params) -> Built:
    """Every customer with zeros, UNION ALL the sales pre-aggregated per order (so an order
    counts once without COUNT(DISTINCT)), summed per customer, then the names joined to the
    grouped rows: one pass over orders and lines in key order. MariaDB groups by sorting
    (`big_result`): at 1M orders 3.7 s to 2.6 s with `--limit 10` (4.0 s to 3.0 s in full)
    against the walk from each customer to its orders and their lines, which made 0.93M
    random lookups in the lines' key."""
    order = f" ORDER BY {d.q('items')} DESC, {d.q('orders')} DESC, c.customer_id"
    limit = f" LIMIT {int(p['limit'])}" if p.get("limit") else ""
    if d.summarized:  # every customer, with the all-time summary (no --from/--to)
        sql = d.select(
            ("c.customer_id", "customer_id"),
            ("c.first_name", "first_name"),
            ("c.last_name", "last_name"),
            (d.whole("COALESCE(s.orders, 0)"), "orders"),
            (d.whole("COALESCE(s.items, 0)"), "items"),
            (d.cents("COALESCE(s.revenue, 0)"), "revenue"),
        )
        if limit:  # the first N of the summary (its report index), and the first N of the
            # customers it lacks (all zeros), then their names: at 1M orders SQLite 80 ms ->
            # 0.1 ms, MariaDB 480 -> 1 ms (sorting all 200k customers joined, before). The
            # second part walks the customers by id until N lack a summary row: fast when
            # customers without sales are spread among the ids, as here
            first = (
                f"SELECT * FROM (SELECT t.customer_id, t.orders, t.items, t.revenue"
                f" FROM {summaries.CUSTOMERS} t WHERE EXISTS (SELECT 1 FROM customers k"
                " WHERE k.customer_id = t.customer_id) ORDER BY t.items DESC, t.orders DESC,"
                f" t.customer_id{limit}) a UNION ALL SELECT * FROM (SELECT k.customer_id,"
                " 0 AS orders, 0 AS items, 0 AS revenue FROM customers k"
                f" LEFT JOIN {summaries.CUSTOMERS} t ON t.customer_id = k.customer_id"
                f" WHERE t.customer_id IS NULL ORDER BY k.customer_id{limit}) b"
            )
            sql += f" FROM ({first}) s {d.then()} customers c ON c.customer_id = s.customer_id"
            return sql + order + limit, []
        sql += f" FROM customers c LEFT JOIN {summaries.CUSTOMERS} s"
        return sql + f" ON s.customer_id = c.customer_id{order}", []
    order += limit
    binds: list[Any] = []
    sold = (
        "SELECT MAX(o.customer_id) AS customer_id, 1 AS n, SUM(i.quantity) AS units,"
        " SUM(i.quantity * i.unit_price) AS revenue"
        " FROM orders o JOIN order_items i ON i.order_id = o.order_id"
        f" WHERE {SALE}{d.between('o.purchased_at', p, binds)} GROUP BY o.order_id"
    )
    everyone = "SELECT c.customer_id, 0 AS n, 0 AS units, 0 AS revenue FROM customers c"
    per_customer = (
        f"SELECT {d.big_result()}u.customer_id, SUM(u.n) AS n, SUM(u.units) AS units,"
        f" SUM(u.revenue) AS revenue FROM ({everyone} UNION ALL {sold}) u GROUP BY u.customer_id"
    )
    sql = d.select(
        ("g.customer_id", "customer_id"),
        ("c.first_name", "first_name"),
        ("c.last_name", "last_name"),
        (d.whole("g.n"), "orders"),
        (d.whole("g.units"), "items"),
        (d.cents("g.revenue"), "revenue"),
    )
    # the finishing order (with --limit only the rows shown cross the wire)
    sql += f" FROM ({per_customer}) g {d.then()} customers c ON c.customer_id = g.customer_id"
    return sql + order, binds


def sales(d: SQL, p: Params) -> Built:
    binds: list[Any] = []
    if d.summarized:  # the daily summary: 730 rows at 1M orders
        where = ""
        for bound, op in ((p.get("from"), ">="), (p.get("to"), "<=")):
            if bound:
                where += f" AND s.day {op} {d.ph}"
                binds.append(d.day(bound))
        sql = d.select(
            (d.period("s.day", p["by"]), "period"),
            (d.whole("SUM(s.orders)"), "orders"),
            (d.whole("SUM(s.units)"), "units"),
            (d.cents("SUM(s.revenue)"), "revenue"),
        )
        label = d.q("period")
        sql += f" FROM {summaries.DAILY} s WHERE 1 = 1{where} GROUP BY {label} ORDER BY {label}"
        return sql, binds
    period = d.period("o.purchased_at", p["by"])
    # per order first, grouped by the key alone: MariaDB streams it in key order (grouping
    # by order_id, purchased_at made it sort 1M groups: 18 s at 1M orders)
    inner = (
        f"SELECT MAX({period}) AS label, SUM(i.quantity) AS units,"
        " SUM(i.quantity * i.unit_price) AS revenue"
        " FROM orders o JOIN order_items i ON i.order_id = o.order_id"
        f" WHERE {SALE}{d.between('o.purchased_at', p, binds)}"
        " GROUP BY o.order_id"
    )
    sql = d.select(
        ("t.label", "period"),
        ("COUNT(*)", "orders"),
        (d.whole("SUM(t.units)"), "units"),
        (d.cents("SUM(t.revenue)"), "revenue"),
    )
    sql += f" FROM ({inner}) t GROUP BY t.label ORDER BY t.label"
    return sql, binds


def payments(d: SQL, p: Params) -> Built:
    binds: list[Any] = []
    if d.summarized:  # per day and method: ~3,600 rows at 1M payments
        where = ""
        if p.get("from"):
            where += f" AND s.day >= {d.ph}"
            binds.append(p["from"].isoformat())
        if p.get("to"):  # the day '' (no paid_at) sorts first: out of any period
            where += f" AND s.day <= {d.ph} AND s.day <> {summaries.UNDATED}"
            binds.append(p["to"].isoformat())
        sql = d.select(
            ("s.method", "method"),
            (d.whole("SUM(s.payments)"), "payments"),
            (d.cents("SUM(s.amount)"), "amount"),
        )
        return f"{sql} FROM {summaries.PAYMENTS} s WHERE 1 = 1{where} GROUP BY s.method", binds
    sql = d.select(
        ("pm.method", "method"), ("COUNT(*)", "payments"), (d.cents("SUM(pm.amount)"), "amount")
    )
    sql += f" FROM payments pm WHERE 1 = 1{d.between('pm.paid_at', p, binds)} GROUP BY pm.method"
    return sql, binds


def delivery(d: SQL, p: Params) -> Built:
    """Grouped by the orders' own partner id and month, the names joined to the 144 groups
    (at 1M orders, MariaDB with a 128 MB pool 3.4 s to 0.9 s; SQLite 0.87 s to 0.76 s)."""
    binds: list[Any] = []
    if d.summarized:  # no period: the summary, ~500 rows at 1M orders
        sql = d.select(
            ("g.partner_id", "partner_id"),
            ("dp.name", "partner"),
            ("g.month", "month"),
            (d.whole("g.n"), "delivered"),
            (d.whole("g.on_time"), "on_time"),
            (d.whole("g.late"), "late_seconds"),
        )
        grouped = (
            "SELECT s.partner_id, s.delivered_month AS month, SUM(s.delivered) AS n,"
            " SUM(s.on_time) AS on_time, SUM(s.late_seconds) AS late"
            f" FROM {summaries.DELIVERY} s GROUP BY s.partner_id, s.delivered_month"
        )
        sql += f" FROM ({grouped}) g JOIN delivery_partners dp ON dp.partner_id = g.partner_id"
        return sql, binds
    month = d.period("o.delivered_at", "month")
    on_time = "SUM(CASE WHEN o.delivered_at <= o.estimated_delivery_at THEN 1 ELSE 0 END)"
    late = f"SUM({d.late_seconds('o.delivered_at', 'o.estimated_delivery_at')})"
    grouped = (
        f"SELECT o.delivery_partner_id AS partner_id, {month} AS month, COUNT(*) AS n,"
        f" {d.whole(on_time)} AS on_time, {d.whole(late)} AS late FROM orders o"
        " WHERE o.delivery_partner_id IS NOT NULL AND o.delivered_at IS NOT NULL"
        f" AND o.estimated_delivery_at IS NOT NULL{d.between('o.delivered_at', p, binds)}"
        f" GROUP BY o.delivery_partner_id, {month}"
    )
    sql = d.select(
        ("g.partner_id", "partner_id"),
        ("dp.name", "partner"),
        ("g.month", "month"),
        ("g.n", "delivered"),
        ("g.on_time", "on_time"),
        ("g.late", "late_seconds"),
    )
    sql += f" FROM ({grouped}) g JOIN delivery_partners dp ON dp.partner_id = g.partner_id"
    return sql, binds


def categories(d: SQL, p: Params) -> Built:
    binds: list[Any] = []
    inner = sold_per_product(d, p, binds)
    sql = d.select(
        ("pr.category_id", "category_id"),
        ("c.name", "category"),
        (d.whole("SUM(t.units)"), "units"),
        (d.cents("SUM(t.revenue)"), "revenue"),
    )
    sql += (
        f" FROM ({inner}) t JOIN products pr ON pr.product_id = t.product_id"
        " LEFT JOIN categories c ON c.category_id = pr.category_id"
        " GROUP BY pr.category_id, c.name"
    )
    return sql, binds


BUILDERS: dict[str, Callable[[SQL, Params], Built]] = {
    "low-stock": low_stock,
    "ratings": ratings,
    "carts": carts,
    "wishlists": wishlists,
    "top-products": top_products,
    "customer-activity": customer_activity,
    "suppliers": suppliers,
    "customer-orders": customer_orders,
    "sales": sales,
    "payments": payments,
    "delivery": delivery,
    "categories": categories,
}


def build(name: str, dialect: str, params: Params, *, summarized: bool = False) -> Built:
    """The statement and its bind values for report `name` on `dialect`; `summarized`:
    reading the summaries that `summaries.needed` names, already refreshed.

    `params` may be raw (it is checked and completed by the report's spec)."""
    s = spec(name)
    from ecomcli.reports import MODULES  # SHIM: a report module builds its own statement

    if name in MODULES:
        return MODULES[name].sql(SQL(dialect, summarized), s.params(params))  # type: ignore[no-any-return]
    if name not in BUILDERS:
        raise AssertionError(f"report {name} is computed in Python, not in SQL")
    return BUILDERS[name](SQL(dialect, summarized), s.params(params))
