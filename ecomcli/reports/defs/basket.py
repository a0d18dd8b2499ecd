"""basket: product pairs bought together in the same order, with support, confidence and
lift (docs/reports.md, "basket").

Counted in the database: the distinct (order, product) pairs of the sales, the pairs of
products of one order (a self-join / two `$unwind`s), grouped and filtered by
`--min-count` and `--min-support` there. The statement also returns the number of orders
of each product sold and of all sales; the finisher computes the ratios exactly and sorts.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ecomcli import summary_tables as st
from ecomcli.reports.model import (
    FROM,
    LIMIT,
    TO,
    Built,
    Chart,
    Option,
    Params,
    Pipeline,
    ReportSpec,
    Table,
    cols,
    integer,
    ratio,
)
from ecomcli.reports.mongoparts import lookup, midnight, sale, whole_months
from ecomcli.reports.sqlparts import SALE

if TYPE_CHECKING:
    from ecomcli.backends.dialect import Dialect

COLUMNS = [
    "product_a", "name_a", "product_b", "name_b", "orders", "support_pct",
    "confidence_ab_pct", "confidence_ba_pct", "lift", "pair",
]  # fmt: skip


def finish(t: Table, p: Params) -> Table:
    total, per_product, names, pairs = 0, {}, {}, []
    for kind, a, b, n, name in t.select(["kind", "product_a", "product_b", "orders", "name"]):
        if kind == "all":
            total = integer(n)
        elif kind == "product":
            per_product[a], names[a] = integer(n), name
        else:
            pairs.append((a, b, integer(n)))
    rows = []
    for a, b, n in pairs:
        if p["product"] and b == p["product"]:  # the product asked for first
            a, b = b, a
        na, nb = per_product[a], per_product[b]
        lift = Fraction(n * total, na * nb)
        rows.append((
            (-lift, -n, a, b),
            (a, names[a], b, names[b], n, ratio(100 * n, total), ratio(100 * n, na),
             ratio(100 * n, nb), ratio(lift.numerator, lift.denominator), f"{a} + {b}"),
        ))  # fmt: skip
    rows.sort(key=lambda r: r[0])  # highest lift, then most orders, then the ids
    out = [r[1] for r in rows]
    return Table(COLUMNS, out[: p["limit"]] if p["limit"] else out)


SPEC = ReportSpec(
    "basket",
    "product pairs bought in the same order: support, confidence and lift, highest lift first",
    (
        FROM,
        TO,
        Option("min_support", "decimal", "pairs in at least this % of orders", Decimal("0.5")),
        Option("min_count", "int", "pairs in at least N orders", 1),
        Option("product", "text", "the partners of this product (its id)"),
        LIMIT("at most N pairs", 20),
    ),
    cols(*COLUMNS),
    finish,
    chart=lambda p: Chart("bar", "pair", "lift", "lift"),  # pair: "A + B", the bar's label
)


def support_terms(p: Params) -> tuple[int, int]:
    """--min-support as an exact fraction num / den of a percent."""
    num, den = Decimal(p["min_support"] or 0).as_integer_ratio()
    return num, den


def sql(d: Dialect, p: Params) -> Built:
    """No common table expression: MariaDB evaluated the distinct (order, product) table
    once per reference, on disk (87 s at 200k orders); each part reads the lines itself,
    a product twice in an order counted once by COUNT(DISTINCT order_id)."""
    binds: list[Any] = []

    def sold() -> str:  # the sales condition on `o`, its binds added in text order
        return f"{SALE}{d.between('o.purchased_at', p, binds)}"

    def total() -> str:
        return (
            f"(SELECT COUNT(*) FROM orders o WHERE {sold()} AND EXISTS"
            " (SELECT 1 FROM order_items y WHERE y.order_id = o.order_id))"
        )

    num, den = support_terms(p)
    pairs = (
        "SELECT a.product_id AS a, b.product_id AS b, COUNT(DISTINCT a.order_id) AS n"
        " FROM orders o JOIN order_items a ON a.order_id = o.order_id JOIN order_items b"
        f" ON b.order_id = a.order_id AND b.product_id > a.product_id WHERE {sold()}"
    )
    if p["product"]:
        pairs += f" AND (a.product_id = {d.ph} OR b.product_id = {d.ph})"
        binds += [p["product"], p["product"]]
    pairs += (
        " GROUP BY a.product_id, b.product_id"
        f" HAVING COUNT(DISTINCT a.order_id) >= {int(p['min_count'])}"
        f" AND 100 * {den} * COUNT(DISTINCT a.order_id) >= {num} * {total()}"
    )
    kind, a, b, n, name = (d.q(c) for c in ("kind", "product_a", "product_b", "orders", "name"))
    sql = (
        f"SELECT 'pair' AS {kind}, x.a AS {a}, x.b AS {b}, x.n AS {n}, NULL AS {name}"
        f" FROM ({pairs}) x"
    )
    per_product = (
        "SELECT i.product_id, COUNT(DISTINCT i.order_id) AS n FROM orders o"
        f" JOIN order_items i ON i.order_id = o.order_id WHERE {sold()} GROUP BY i.product_id"
    )
    sql += (
        f" UNION ALL SELECT 'product', g.product_id, NULL, g.n, pr.name FROM ({per_product}) g"
        " JOIN products pr ON pr.product_id = g.product_id"
    )
    sql += f" UNION ALL SELECT 'all', NULL, NULL, {total()}, NULL"
    return sql, binds


SUMMARIES = ("months", "pairs")


def summarized_sql(d: Dialect, p: Params) -> Built:
    """The pair counts of the whole months in the period (`summary_pairs_monthly`, keyed
    by pair: summed in one pass of its key) and of the days at its edges (from the
    lines); each product's sales likewise from the monthly sales summary and the lines;
    the sales from the daily summary."""
    binds: list[Any] = []
    months, edges = st.split(p["from"], p["to"])

    def counts(columns: str, summary: str, lines: str, condition: str, given: list[Any]) -> str:
        """`columns` (of `s`) of the counts passing `condition` (on `s`, with binds
        `given`) of the whole months (from `summary`) and of the edge days (`lines`: a
        SELECT of the lines, given the range `{period}` of `o.purchased_at`); the binds
        added in text order."""
        parts = []
        if months is not None:
            where, month_binds = "", []
            for month, op in zip(months, (">=", "<="), strict=True):
                if month is not None:
                    where += f" AND s.month {op} {d.ph}"
                    month_binds.append(month)
            parts.append(f"SELECT {columns} FROM {summary} s WHERE {condition}{where}")
            binds.extend([*given, *month_binds])
        for start, before in edges:
            period = f" AND o.purchased_at >= {d.ph} AND o.purchased_at < {d.ph}"
            lines_of = lines.format(period=period)
            parts.append(f"SELECT {columns} FROM ({lines_of}) s WHERE {condition}")
            binds.extend([d.bound(start), d.bound(before), *given])
        return " UNION ALL ".join(parts)

    def pair_counts(condition: str, given: list[Any]) -> str:
        """product_a, product_b, orders of the pairs passing `condition`."""
        lines = st.pair_counts("''", "{period}", group_month=False)
        return counts("s.product_a, s.product_b, s.orders", st.PAIRS, lines, condition, given)

    def product_sales() -> str:
        """product_id, orders: the sales holding each product."""
        lines = (
            "SELECT i.product_id, COUNT(DISTINCT o.order_id) AS orders FROM orders o"
            f" JOIN order_items i ON i.order_id = o.order_id WHERE {st.SALE}{{period}}"
            " GROUP BY i.product_id"
        )
        return counts("s.product_id, s.orders", st.MONTHLY, lines, "1 = 1", [])

    def total() -> str:
        where = ""
        for bound, op in ((p["from"], ">="), (p["to"], "<=")):
            if bound:
                where += f" AND t.day {op} {d.ph}"
                binds.append(d.day(bound))
        return f"(SELECT COALESCE(SUM(t.orders), 0) FROM {st.DAILY} t WHERE 1 = 1{where})"

    num, den = support_terms(p)
    pair, given = "1 = 1", []
    if p["product"]:
        pair = f"(s.product_a = {d.ph} OR s.product_b = {d.ph})"
        given = [p["product"], p["product"]]
    kind, a, b, n, name = (d.q(c) for c in ("kind", "product_a", "product_b", "orders", "name"))
    sql = (
        f"SELECT 'pair' AS {kind}, x.product_a AS {a}, x.product_b AS {b},"
        f" {d.whole('SUM(x.orders)')} AS {n}, NULL AS {name}"
        f" FROM ({pair_counts(pair, given)}) x GROUP BY x.product_a, x.product_b"
        f" HAVING SUM(x.orders) >= {int(p['min_count'])}"
    )
    sql += f" AND 100 * {den} * SUM(x.orders) >= {num} * {total()}"
    per_product = (
        "SELECT x.product_id, SUM(x.orders) AS n"
        f" FROM ({product_sales()}) x GROUP BY x.product_id"
    )
    sql += (
        f" UNION ALL SELECT 'product', g.product_id, NULL, {d.whole('g.n')}, pr.name"
        f" FROM ({per_product}) g JOIN products pr ON pr.product_id = g.product_id"
    )
    sql += f" UNION ALL SELECT 'all', NULL, NULL, {d.whole(total())}, NULL"
    return sql, binds


def pipeline(p: Params) -> Pipeline:
    num, den = support_terms(p)
    match = sale(p, with_lines=True)
    ids = {"$map": {"input": "$items", "as": "i", "in": "$$i.product_id"}}
    products = {"$setUnion": [ids, []]}  # each product of an order once
    pair_match: dict[str, Any] = {"$expr": {"$lt": ["$a", "$b"]}}
    if p["product"]:
        pair_match["$or"] = [{"a": p["product"]}, {"b": p["product"]}]
    pairs = [
        {"$match": match},
        # every sale counted once on each order (a window over all of them, no sort)
        {"$setWindowFields": {"output": {"total": {"$sum": 1}}}},
        {"$project": {"_id": 0, "a": products, "b": products, "total": 1}},
        {"$unwind": "$a"},
        {"$unwind": "$b"},
        {"$match": pair_match},
        {
            "$group": {
                "_id": {"a": "$a", "b": "$b"},
                "n": {"$sum": 1},
                "total": {"$first": "$total"},
            }
        },
        {
            "$match": {
                "n": {"$gte": int(p["min_count"])},
                "$expr": {
                    "$gte": [
                        {"$multiply": [100 * den, "$n"]},
                        {"$multiply": [num, "$total"]},
                    ]
                },
            }
        },
        {
            "$project": {
                "_id": 0,
                "kind": {"$literal": "pair"},
                "name": {"$literal": None},
                "product_a": "$_id.a",
                "product_b": "$_id.b",
                "orders": "$n",
            }
        },
    ]
    per_product = [
        {"$match": match},
        {"$project": {"_id": 0, "p": products}},
        {"$unwind": "$p"},
        {"$group": {"_id": "$p", "n": {"$sum": 1}}},
        {
            "$lookup": {
                "from": "products",
                "localField": "_id",
                "foreignField": "product_id",
                "as": "pr",
            }
        },
        {"$unwind": "$pr"},
        {
            "$project": {
                "_id": 0,
                "kind": {"$literal": "product"},
                "product_b": {"$literal": None},
                "product_a": "$_id",
                "orders": "$n",
                "name": "$pr.name",
            }
        },
    ]
    everything = [
        {"$match": match},
        {"$group": {"_id": None, "orders": {"$sum": 1}}},
        {  # every field on every row, as the SQL's UNION (a result may hold only this one)
            "$project": {
                "_id": 0,
                "kind": {"$literal": "all"},
                "product_a": {"$literal": None},
                "product_b": {"$literal": None},
                "orders": 1,
                "name": {"$literal": None},
            }
        },
    ]
    return "orders", [
        *pairs,
        {"$unionWith": {"coll": "orders", "pipeline": per_product}},
        {"$unionWith": {"coll": "orders", "pipeline": everything}},
    ]


def facts(p: Params) -> dict[str, Pipeline]:
    """The sales of the period, from the daily summary: the support's denominator, read
    first so that `--min-support` is a plain lower bound on a pair's count."""
    total = {"$group": {"_id": None, "value": {"$sum": "$orders"}}}
    return {"total": (st.DAILY, [*_days(p), total])}


def _days(p: Params) -> list[dict[str, Any]]:
    """The daily summary's days in the period."""
    days: dict[str, Any] = {}
    if p["from"]:
        days["$gte"] = midnight(p["from"])
    if p["to"]:
        days["$lte"] = midnight(p["to"])
    return [{"$match": {"day": days}}] if days else []


def least_count(p: Params) -> int:
    """The fewest sales a pair shown is in: --min-count, and --min-support of the total
    (100 * den * n >= num * total, n an integer: n >= ceil(num * total / (100 * den)))."""
    num, den = support_terms(p)
    return max(int(p["min_count"]), -(-num * (p["total"] or 0) // (100 * den)))


def summarized_pipeline(p: Params) -> Pipeline:
    """Every sale (no --from/--to): the pairs counted at least `least_count` times, a range
    of `summary_pairs`' count index, and `summary_product_sales`. A period: the pair counts
    of its whole months (`summary_pairs_monthly`) and of the lines of its edge days."""
    least = least_count(p)
    pair: dict[str, Any] = {}
    if p["product"]:
        pair["$or"] = [{"product_a": p["product"]}, {"product_b": p["product"]}]
    everything = {"$unionWith": {"coll": st.DAILY, "pipeline": [
        *_days(p),
        {"$group": {"_id": None, "orders": {"$sum": "$orders"}}},
        {"$project": {"_id": 0, "kind": {"$literal": "all"}, "product_a": {"$literal": None},
                      "product_b": {"$literal": None}, "orders": 1, "name": {"$literal": None}}},
    ]}}  # fmt: skip
    if p["from"] is None and p["to"] is None:
        pairs = [
            {"$match": {"orders": {"$gte": least}, **pair}},
            {"$project": {"_id": 0, "kind": {"$literal": "pair"}, "name": {"$literal": None},
                          "product_a": "$product_a", "product_b": "$product_b",
                          "orders": "$orders"}},
        ]  # fmt: skip
        per_product = [
            *lookup("products", "product_id", "product_id", "pr"),
            {"$project": {"_id": 0, "kind": {"$literal": "product"}, "name": "$pr.name",
                          "product_a": "$product_id", "product_b": {"$literal": None},
                          "orders": "$orders"}},
        ]  # fmt: skip
        return st.PAIR_TOTALS, [
            *pairs,
            {"$unionWith": {"coll": st.PRODUCT_SALES, "pipeline": per_product}},
            everything,
        ]
    collection, counts = _period_counts(p)
    a, b = "$product_a", "$product_b"
    alike = {"$eq": [a, b]}
    wanted = {"$and": [{"$lt": [a, b]}, {"$gte": ["$orders", least]}]}
    if p["product"]:
        wanted["$and"].append({"$in": [p["product"], [a, b]]})
    return collection, [
        *counts,
        {"$group": {"_id": {"a": a, "b": b}, "orders": {"$sum": "$orders"}}},
        {"$project": {"_id": 0, "product_a": "$_id.a", "product_b": "$_id.b", "orders": 1}},
        {"$match": {"$expr": {"$or": [alike, wanted]}}},
        {"$lookup": {"from": "products", "localField": "product_a",
                     "foreignField": "product_id", "as": "pr"}},
        {"$match": {"$expr": {"$or": [{"$not": [alike]}, {"$gt": [{"$size": "$pr"}, 0]}]}}},
        {"$project": {
            "kind": {"$cond": [alike, "product", "pair"]},
            # the first product's name ($let: a path into an array of documents is not
            # read alike by every server)
            "name": {"$cond": [alike, {"$let": {"vars": {"p": {"$arrayElemAt": ["$pr", 0]}},
                                                "in": "$$p.name"}}, None]},
            "product_a": a,
            "product_b": {"$cond": [alike, None, b]},
            "orders": "$orders",
        }},
        everything,
    ]  # fmt: skip


def _period_counts(p: Params) -> Pipeline:
    """The pair counts (product_a <= product_b, orders) of the period: its whole months
    from the monthly summary, its edge days from the lines (leading, as one `$match` on
    the orders, which the purchased_at index serves)."""
    months, edges = st.split(p["from"], p["to"])
    summary = whole_months(months)
    if not edges:
        return st.PAIRS, summary
    spans = [{"purchased_at": {"$gte": midnight(a), "$lt": midnight(b)}} for a, b in edges]
    ids = {"$map": {"input": "$items", "as": "i", "in": "$$i.product_id"}}
    products = {"$setUnion": [ids, []]}
    lines = [
        {"$match": {"status": {"$nin": list(st.SALE_EXCLUDED)},
                    **(spans[0] if len(spans) == 1 else {"$or": spans})}},
        {"$project": {"_id": 0, "product_a": products, "product_b": products}},
        {"$unwind": "$product_a"},
        {"$unwind": "$product_b"},
        {"$match": {"$expr": {"$lte": ["$product_a", "$product_b"]}}},
        {"$addFields": {"orders": 1}},
    ]  # fmt: skip
    union = [{"$unionWith": {"coll": st.PAIRS, "pipeline": summary}}] if months else []
    return "orders", [*lines, *union]
