"""The summary tables the SQL backends keep (`ecomcli.backends.summaries` builds and
maintains them) and the report statements read: their names, the definition of a sale
they are built on, and the month arithmetic both sides share. Below both layers, so
that a report names a summary without importing a backend."""

from __future__ import annotations

from datetime import date, datetime, timedelta

SALE_EXCLUDED = ("pending", "cancelled", "returned")  # order statuses that are not sales
# the definition of a sale, as a condition on orders `o`
SALE = "o.status NOT IN (" + ", ".join(f"'{s}'" for s in SALE_EXCLUDED) + ")"
# ... with at least one line: what every report counts (an invoice whose lines were all
# returned is no purchase); the reports over lines get it from their join to them
PURCHASE = f"{SALE} AND EXISTS (SELECT 1 FROM order_items li WHERE li.order_id = o.order_id)"

MONTHLY = "summary_sales_monthly"
DAILY = "summary_sales_daily"
# MongoDB: per day and product, the sales' units and revenue (a period's edge days)
DAILY_PRODUCTS = "summary_sales_daily_products"
CUSTOMERS = "summary_customer_sales"
CUSTOMER_MONTHS = "summary_customer_months"
PAIRS = "summary_pairs_monthly"
# MongoDB: the pairs of every sale (product_a < product_b), indexed by their count, and
# the sales of each product (the pairs of a product with itself)
PAIR_TOTALS = "summary_pairs"
PRODUCT_SALES = "summary_product_sales"
DELIVERY = "summary_delivery_monthly"
CARTS = "summary_carts"
CART_PRICES = "summary_cart_prices"
# MongoDB: the total of the TOP_CARTS-th cart of `summary_carts` (highest totals first), so
# that a report of fewer carts reads those above it by a range of the total's index
CART_FLOOR = "summary_cart_floor"
TOP_CARTS = 1000
REVIEWS = "summary_product_reviews"
WISHLISTS = "summary_product_wishlists"
CUSTOMER_WISHLISTS = "summary_customer_wishlists"
# its index in the order of wishlists --by customer, which reads its first N from it
CUSTOMER_WISHLISTS_INDEX = f"ix_{CUSTOMER_WISHLISTS}_report"
PAYMENTS = "summary_payments_daily"
SUPPLIERS = "summary_supplier_products"
# a payment without `paid_at`: its day in the payments summary, its month in the marks
UNDATED = "''"
# the groups of summaries a report reads (`SUMMARIES` in a report module), each rebuilt
# from its own marks: see ecomcli/backends/summaries.py
KINDS = ("months", "customers", "carts", "products", "payments", "suppliers", "pairs",
         "wishlists")


def month_of(moment: datetime | date) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def month_bounds(month: str) -> tuple[date, date]:
    """The first day of `month` (YYYY-MM) and of the month after."""
    first = date(int(month[:4]), int(month[5:7]), 1)
    return first, (first + timedelta(days=32)).replace(day=1)


def split(start: date | None, end: date | None) -> tuple[tuple[str | None, str | None] | None,
                                                          list[tuple[date | None, date | None]]]:
    """A period [start, end] (whole days, either open) as the whole months inside it, read
    from the monthly summary (first and last month, None: open; or None: no whole month),
    and the day ranges [from, before) left at its edges, read from the lines."""
    first = start if start is None or start.day == 1 else month_bounds(month_of(start))[1]
    after = None if end is None else end + timedelta(days=1)
    stop = after if after is None or after.day == 1 else after.replace(day=1)
    if first is not None and stop is not None and first >= stop:
        return None, [(start, after)]
    months = (
        None if first is None else month_of(first),
        None if stop is None else month_of(stop - timedelta(days=1)),
    )
    edges = []
    if start is not None and first is not None and start < first:
        edges.append((start, first))
    if after is not None and stop is not None and stop < after:
        edges.append((stop, after))
    return months, edges


def supplier_counts(where: str = "") -> str:
    """Per supplier with supplies (`where` them): the products it supplies, their units."""
    return (
        "SELECT sp.supplier_id, COUNT(*) AS products, SUM(sp.units) AS units"
        f" FROM supplies sp{where} GROUP BY sp.supplier_id"
    )


def pair_counts(month: str, where: str, *, group_month: bool, big: str = "",
                orders: str = "orders o") -> str:
    """Per pair of two products bought in the same sale (`product_a` < `product_b`) and
    month label `month` (an expression to group by too, or a value: `group_month`): the
    number of sales (`orders`) among the orders `o` that pass `where`. A product twice in
    an order counts once (COUNT(DISTINCT)). `orders`: the orders `o`, as the engine should
    read them (`Dialect.orders_by_key`)."""
    by_month = f", {month}" if group_month else ""
    return (
        f"SELECT {big}a.product_id AS product_a, b.product_id AS product_b, {month} AS month,"
        f" COUNT(DISTINCT a.order_id) AS orders FROM {orders}"
        " JOIN order_items a ON a.order_id = o.order_id JOIN order_items b"
        " ON b.order_id = a.order_id AND b.product_id > a.product_id"
        f" WHERE {SALE}{where} GROUP BY a.product_id, b.product_id{by_month}"
    )


def sale_products(month: str, orders: str = "orders o", where: str = "") -> str:
    """Each sale's month label `month` (an expression on `o`) and its distinct products
    as a JSON array `products` (SQLite), its lines read by key from the orders in key
    order (no sort). `orders`: the orders `o`, as the engine should look them up
    (`Dialect.orders_by_key`); `where`: more conditions on them (` AND ...`)."""
    return (
        f"SELECT MAX({month}) AS month, json_group_array(DISTINCT i.product_id) AS products"
        f" FROM {orders} JOIN order_items i ON i.order_id = o.order_id WHERE {SALE}{where}"
        " GROUP BY o.order_id"
    )


def pair_counts_from_arrays(sales: str) -> str:
    """`pair_counts` of every sale per month, for an engine with JSON arrays (SQLite),
    from `sales`: a SELECT of each sale's `month` and `products` (`sale_products`). Each
    pair comes from two walks of a sale's array; the join of the sales' products to
    themselves instead needed them stored and indexed on the fly first
    (bench/README.md)."""
    return (
        "SELECT a.value AS product_a, b.value AS product_b, s.month AS month,"
        f" COUNT(*) AS orders FROM ({sales}) s, json_each(s.products) a,"
        " json_each(s.products) b WHERE b.value > a.value"
        " GROUP BY a.value, b.value, s.month"
    )
