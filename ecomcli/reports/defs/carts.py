"""carts: items and total price per cart, with an optional discount by payment method.

Its spec, statements (over the lines and over the summaries it reads), MongoDB pipeline
and finisher: see docs/reports.md for the definitions."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from ecomcli import summary_tables as st
from ecomcli.reports.model import (
    CENT,
    LIMIT,
    ZERO,
    Built,
    Option,
    Params,
    Pipeline,
    ReportSpec,
    Table,
    bar,
    cols,
)
from ecomcli.reports.mongoparts import (
    Doc,
    lookup,
)
from ecomcli.schema import PAYMENT_METHODS

if TYPE_CHECKING:
    from ecomcli.backends.dialect import Dialect


def finish(t: Table, p: Params) -> Table:
    """One row per cart (1.2M at 1M orders): already in the finishing order (the database
    sorts: highest total, then cart_id), finished column by column, no dict per row."""
    if not len(t):
        return t
    col = dict(zip(t.names, t.columns, strict=True))
    totals, pays = col["total"], col["pays_by"]
    pct = p["discount"] or Decimal(0)
    discounts: Sequence[Decimal] = [ZERO] * len(totals)
    dues: Sequence[Decimal] = totals
    if pct > 0:  # each distinct total priced once
        off = {v: (v * pct / 100).quantize(CENT, ROUND_HALF_UP) for v in set(totals)}
        due = {v: v - d for v, d in off.items()}
        if p["payment_method"] is None:
            discounts, dues = list(map(off.__getitem__, totals)), list(map(due.__getitem__, totals))
        else:
            discounts = [off[v] if y else ZERO for v, y in zip(totals, pays, strict=True)]
            dues = [due[v] if y else v for v, y in zip(totals, pays, strict=True)]
    names = ["cart_id", "customer_id", "status", "lines", "items"]
    return Table(
        [*names, "total", "discount", "total_due"],
        columns=[*(col[n] for n in names), totals, discounts, dues],
    ).head(p["limit"])


SPEC = ReportSpec(
    "carts",
    "items and total price per cart, with an optional discount by payment method",
    (
        Option("discount", "decimal", "discount in percent, 0-100"),
        Option(
            "payment_method",
            "choice",
            "discount only customers who have paid by this method",
            None,
            PAYMENT_METHODS,
        ),
        LIMIT(),
    ),
    cols("cart_id", "customer_id", "status", "lines", "items", "total", "discount", "total_due"),
    finish,
    money=("total",),
    derived_money=("discount", "total_due"),
    chart=bar("cart_id", "total_due", "total due (currency units)"),
    checked_in_statement=lambda p: False,
    listed=30,
)

SUMMARIES = ("carts",)


def sql(d: Dialect, p: Params) -> Built:
    binds: list[Any] = []
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
        # (MariaDB over the lines: EXISTS per cart, as its derived table put the 75k on disk)
        join, pays = pays_by(d, every_cart=d.sets_by_in and not p.get("limit"))
    return f"SELECT t.*, {pays} AS {d.q('pays_by')} FROM ({sql}) t{join}{order}", binds


def summarized_sql(d: Dialect, p: Params) -> Built:
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
    sql += f" FROM {st.CARTS} t{join} ORDER BY t.total DESC, t.cart_id"
    if p.get("limit"):
        sql += f" LIMIT {int(p['limit'])}"
    return sql, binds


def pays_by(d: Dialect, every_cart: bool) -> tuple[str, str]:
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
    if every_cart and d.sets_by_in:
        return "", (
            "CASE WHEN t.customer_id IN (SELECT pm.customer_id FROM payments pm"
            f" WHERE {d.unindexed('pm.method')} = {d.ph}) THEN 1 ELSE 0 END"
        )
    if every_cart:
        paying = (
            "SELECT DISTINCT pm.customer_id FROM payments pm"
            f"{d.force_index('ix_payments_customer_id_method')} WHERE pm.method = {d.ph}"
        )
        if d.on_nodes:  # a Spider head: each data node finds its own through that index
            # (the head reading them itself had to ignore it: through it, a round trip per
            # step), and the head keeps each customer once
            paying = f"SELECT DISTINCT n.customer_id FROM ({d.node_rows(paying)}) n"
        join = f" LEFT JOIN ({paying}) m ON m.customer_id = t.customer_id"
        return join, "CASE WHEN m.customer_id IS NULL THEN 0 ELSE 1 END"
    return "", (
        "CASE WHEN EXISTS (SELECT 1 FROM payments pm WHERE pm.customer_id ="
        f" t.customer_id AND pm.method = {d.ph}) THEN 1 ELSE 0 END"
    )


def top_carts(d: Dialect, n: int) -> str:
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


def pipeline(p: Params) -> Pipeline:
    pipeline: list[Doc] = [
        {"$unwind": {"path": "$items", "preserveNullAndEmptyArrays": True}},
        *lookup("products", "items.product_id", "product_id", "p", keep=True),
        {
            "$group": {
                "_id": "$cart_id",
                "customer_id": {"$first": "$customer_id"},
                "status": {"$first": "$status"},
                "lines": {"$sum": {"$cond": [{"$ifNull": ["$items.product_id", False]}, 1, 0]}},
                "items": {"$sum": {"$ifNull": ["$items.quantity", 0]}},
                "total": {
                    "$sum": {
                        "$multiply": [
                            {"$ifNull": ["$items.quantity", 0]},
                            {"$ifNull": ["$p.price", 0]},
                        ]
                    }
                },
            }
        },
    ]
    pipeline.append({"$addFields": {"cart_id": "$_id"}})
    return "carts", [*pipeline, *_finished(p)]


def facts(p: Params) -> dict[str, Pipeline]:
    """With `--limit N` (N up to TOP_CARTS): the total every cart shown reaches."""
    if not p.get("limit") or p["limit"] > st.TOP_CARTS:
        return {}
    return {"floor": (st.CART_FLOOR, [{"$project": {"value": "$total"}}])}


def summarized_pipeline(p: Params) -> Pipeline:
    """`summary_carts` in the finishing order; with `--limit N`, only the carts from the
    floor up, a range of the (total, cart_id) index (a `$sort` over every cart is not
    served by an index on every server)."""
    floor = p.get("floor")
    lead = [{"$match": {"total": {"$gte": floor}}}] if floor is not None else []
    return st.CARTS, [*lead, *_finished(p)]


def _finished(p: Params) -> list[Doc]:
    """After one document per cart: the finishing order (highest total, then cart_id), the
    limit, then whether the customer pays by the method (looked up for the carts shown)."""
    stages: list[Doc] = [{"$sort": {"total": -1, "cart_id": 1}}]
    if p.get("limit"):
        stages.append({"$limit": int(p["limit"])})
    pays: Any = {"$literal": 0}
    if p.get("discount") and p.get("payment_method"):
        stages.append({"$lookup": {"from": "payments", "localField": "customer_id",
                                   "foreignField": "customer_id", "as": "pm"}})
        method = {"$filter": {"input": "$pm", "as": "m",
                              "cond": {"$eq": ["$$m.method", p["payment_method"]]}}}
        pays = {"$cond": [{"$gt": [{"$size": method}, 0]}, 1, 0]}
    stages.append({"$project": {"_id": 0, "cart_id": 1, "customer_id": 1, "status": 1,
                                "lines": 1, "items": 1, "total": 1, "pays_by": pays}})
    return stages
