"""rfm: recency, frequency and monetary value per customer, scored 1-5 by quintiles, and the
segment each customer falls in (docs/reports.md, "rfm").

Every score is computed in the database: per customer the sales up to the as-of date,
then a standard competition rank (`RANK()`, ties share the lowest rank) per measure over
all those customers, then `score = 1 + floor(5 * (rank - 1) / N)`, written as a sum of
comparisons so that no dialect's integer division is needed. The statements get there
without ranking every customer: the segment table from counts per (last day, orders)
pair (`_segments`), a list over the stored summary from four thresholds per measure
(`_by_thresholds`); a list over the lines ranks (`_ranked`). The segments
come from the R and F scores by the first matching rule of `SEGMENTS`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from ecomcli import summary_tables as st
from ecomcli.reports.model import (
    Built,
    Chart,
    Option,
    Params,
    Pipeline,
    ReportSpec,
    Table,
    integer,
    ratio,
)
from ecomcli.reports.mongoparts import lookup, midnight, nullable, order_revenue, sale
from ecomcli.reports.sqlparts import SALE

if TYPE_CHECKING:
    from ecomcli.backends.dialect import Dialect

# (segment, R scores, F scores): the first rule a customer's R and F scores match names
# its segment; the rules cover every pair of scores
SEGMENTS: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...] = (
    ("champions", (4, 5), (4, 5)),
    ("loyal", (3, 5), (3, 5)),
    ("promising", (4, 5), (2, 2)),
    ("new", (4, 5), (1, 1)),
    ("need-attention", (3, 3), (1, 2)),
    ("cant-lose", (1, 1), (4, 5)),
    ("at-risk", (1, 2), (3, 5)),
    ("hibernating", (2, 2), (1, 2)),
    ("lost", (1, 1), (1, 2)),
)
NAMES = tuple(s[0] for s in SEGMENTS)
CUSTOMER_COLUMNS = [
    "customer_id", "first_name", "last_name", "email", "last_purchase", "recency_days",
    "orders", "revenue", "r", "f", "m", "rfm", "segment",
]  # fmt: skip
SEGMENT_COLUMNS = [
    "segment", "customers", "share_pct", "orders", "revenue", "revenue_per_customer",
]  # fmt: skip


def listing(p: Params) -> bool:
    """One row per customer (else one per segment)."""
    return bool(p["list"] or p["segment"] or p["by"] == "customer")


def finish(t: Table, p: Params) -> Table:
    if not listing(p):
        found = {
            s: (integer(n), integer(o), rev)
            for s, n, o, rev in t.select(["segment", "customers", "orders", "revenue"])
        }
        total = sum(n for n, _, _ in found.values())
        rows = [
            (s, n, ratio(100 * n, total, 1), o, rev, ratio(rev, n))
            for s in NAMES
            if s in found
            for n, o, rev in (found[s],)
        ]
        return Table(SEGMENT_COLUMNS, rows)
    names = ["customer_id", "first_name", "last_name", "email", "last_purchase", "store_last",
             "orders", "revenue", "r", "f", "m", "segment"]  # fmt: skip
    if not len(t):
        return Table(CUSTOMER_COLUMNS, [])
    ids, first, last_name, email, day, store_last, orders, revenue, r, f, m, seg = (
        t.select(names).columns
    )
    as_of = p["as_of"] or date.fromisoformat(str(store_last[0]))  # the same on every row
    # a few hundred distinct days: each parsed once
    seen = {v: date.fromisoformat(str(v)) for v in set(day)}
    shown = {v: (d.isoformat(), (as_of - d).days) for v, d in seen.items()}
    r, f, m = (list(map(int, s)) for s in (r, f, m))
    # best first: R, F, M scores descending, then the customer's id
    rank = [100 * a + 10 * b + c for a, b, c in zip(r, f, m, strict=True)]
    order = sorted(range(len(ids)), key=ids.__getitem__)
    order.sort(key=rank.__getitem__, reverse=True)
    if p["limit"]:
        order = order[: p["limit"]]
    days = [shown[day[i]] for i in order]
    return Table(CUSTOMER_COLUMNS, columns=[
        [ids[i] for i in order], [first[i] for i in order], [last_name[i] for i in order],
        [email[i] for i in order], [d[0] for d in days], [d[1] for d in days],
        [int(orders[i]) for i in order], [revenue[i] for i in order],
        [r[i] for i in order], [f[i] for i in order], [m[i] for i in order],
        [str(rank[i]) for i in order], [seg[i] for i in order],
    ])  # fmt: skip


SPEC = ReportSpec(
    "rfm",
    "customer segments by recency, frequency and monetary value (quintile scores 1-5)",
    (
        Option("as_of", "date", "score the sales up to this day (default: the last sale)"),
        Option("by", "choice", "segment or customer", "segment", ("segment", "customer")),
        Option("segment", "choice", "only the customers of this segment", None, NAMES),
        Option("list", "flag", "list the customers (with --segment: of that segment)", False),
        Option("limit", "int", "at most N customers in a list"),
    ),
    lambda p: CUSTOMER_COLUMNS if listing(p) else SEGMENT_COLUMNS,
    finish,
    money=("revenue",),
    derived_money=("revenue_per_customer",),
    chart=lambda p: (
        None if listing(p) else Chart("bar", "segment", "revenue", "revenue (currency units)")
    ),
)


def score(rank: str, n: str) -> str:
    """1 + floor(5 * (rank - 1) / n) without a division (comparisons are 0 or 1)."""
    return "1 + " + " + ".join(f"(5 * ({rank} - 1) >= {k} * {n})" for k in range(1, 5))


def segment_case() -> str:
    whens = " ".join(
        f"WHEN x.r BETWEEN {r[0]} AND {r[1]} AND x.f BETWEEN {f[0]} AND {f[1]} THEN '{name}'"
        for name, r, f in SEGMENTS
    )
    return f"CASE {whens} END"


def SUMMARIES(p: Params) -> tuple[str, ...]:
    """The all-time per-customer summary, when every sale counts (no `--as-of`)."""
    return () if p["as_of"] else ("customers",)


def sql(d: Dialect, p: Params) -> Built:
    binds: list[Any] = []
    until = ""
    if p["as_of"]:
        until = f" AND o.purchased_at < {d.ph}"
        binds.append(d.bound(p["as_of"] + timedelta(days=1)))
    # datetimes until the last step: text labels made MariaDB's temporary tables go to disk
    # (rfm took minutes at 200k orders); DATE() is the day on both (text on SQLite)
    per_order = (  # grouped by the order's key alone (a stream in key order on MariaDB)
        "SELECT MAX(o.customer_id) AS customer_id, MAX(o.purchased_at) AS at,"
        " SUM(i.quantity * i.unit_price) AS revenue FROM orders o"
        f" JOIN order_items i ON i.order_id = o.order_id WHERE {SALE}{until} GROUP BY o.order_id"
    )
    per_customer = (
        f"SELECT {d.big_result()}t.customer_id, COUNT(*) AS orders, MAX(t.at) AS last_at,"
        f" SUM(t.revenue) AS revenue FROM ({per_order}) t GROUP BY t.customer_id"
    )
    if d.on_nodes:  # each data node's customers from its own orders, added up here
        per_customer = (
            f"SELECT {d.big_result()}n.customer_id, {d.whole('SUM(n.orders)')} AS orders,"
            " MAX(n.last_at) AS last_at, SUM(n.revenue) AS revenue"
            f" FROM ({d.node_rows(per_customer)}) n GROUP BY n.customer_id"
        )
    if not listing(p):
        return _segments(d, per_customer), binds
    return _listed(d, p, *_ranked(per_customer), binds)


def summarized_sql(d: Dialect, p: Params) -> Built:
    per_customer = (
        "SELECT customer_id, orders, last_sale_at AS last_at, revenue"
        f" FROM {st.CUSTOMERS}"
    )
    if not listing(p):
        return _segments(d, per_customer), []
    return _listed(d, p, *_by_thresholds(per_customer, p["segment"]), [])


def _ranked(per_customer: str) -> tuple[str, str]:
    """Scores from each customer's three ranks: over the lines, where `per_customer` is
    computed once and read once (MariaDB would compute a CTE once per reference)."""
    # FIRST_VALUE, not MAX() OVER (): MariaDB recomputes a MAX window per row (n^2)
    last = "FIRST_VALUE(DATE(g.last_at)) OVER (ORDER BY g.last_at DESC)"
    ranked = (
        "SELECT g.customer_id, g.orders, g.revenue, DATE(g.last_at) AS last_day,"
        " RANK() OVER (ORDER BY DATE(g.last_at)) AS rr,"
        " RANK() OVER (ORDER BY g.orders) AS rf, RANK() OVER (ORDER BY g.revenue) AS rm,"
        f" COUNT(*) OVER () AS n, {last} AS store_last FROM ({per_customer}) g"
    )
    return "", (
        f"SELECT k.*, {score('k.rr', 'k.n')} AS r, {score('k.rf', 'k.n')} AS f,"
        f" {score('k.rm', 'k.n')} AS m FROM ({ranked}) k"
    )


def _by_thresholds(per_customer: str, segment: str | None) -> tuple[str, str]:
    """Scores without ranking every customer, over the stored summary (read four times).
    With rank = 1 + (customers below), score >= k + 1 exactly when the value is above the
    value at sorted position ceil(k * n / 5). Day and orders take few values: their
    positions are running sums over a count per value, no sort of every customer."""
    g = f"SELECT h.*, DATE(h.last_at) AS last_day FROM ({per_customer}) h"
    per_value = "SELECT {0} AS x, COUNT(*) AS c FROM g GROUP BY {0}"
    running = "SELECT v.x, SUM(v.c) OVER (ORDER BY v.x) AS pos, SUM(v.c) OVER () AS n FROM ({}) v"
    revenue = ("SELECT g.revenue AS x, ROW_NUMBER() OVER (ORDER BY g.revenue) AS pos,"
               " COUNT(*) OVER () AS n FROM g")
    ctes = (
        f"WITH g AS ({g}),"
        f" tr AS ({_thresholds(running.format(per_value.format('last_day')), ', MAX(x) AS top')}),"
        f" tf AS ({_thresholds(running.format(per_value.format('orders')))}),"
        f" tm AS ({_thresholds(revenue)}) "
    )
    scored = (
        "SELECT g.customer_id, g.orders, g.revenue, g.last_day, tr.top AS store_last,"
        f" {_above('g.last_day', 'tr')} AS r, {_above('g.orders', 'tf')} AS f,"
        f" {_above('g.revenue', 'tm')} AS m FROM g CROSS JOIN tr CROSS JOIN tf CROSS JOIN tm"
    )
    if segment:  # its R and F ranges first: the rest is computed for its customers only
        _, r, f = next(rule for rule in SEGMENTS if rule[0] == segment)
        scored += " WHERE " + " AND ".join(
            [*_within("g.last_day", "tr", *r), *_within("g.orders", "tf", *f)]
        )
    return ctes, scored


def _thresholds(positions: str, extra: str = "") -> str:
    """t1..t4: the values at sorted positions ceil(k * n / 5), from rows (x, pos, n) where
    pos is how many customers have a value up to x."""
    cut = ", ".join(f"MIN(CASE WHEN 5 * p.pos >= {k} * p.n THEN p.x END) AS t{k}"
                    for k in range(1, 5))
    return f"SELECT {cut}{extra} FROM ({positions}) p"


def _within(value: str, cuts: str, lo: int, hi: int) -> list[str]:
    """Conditions for a score from `lo` to `hi` (see `_above`)."""
    return [
        *([f"{value} > {cuts}.t{lo - 1}"] if lo > 1 else []),
        *([f"{value} <= {cuts}.t{hi}"] if hi < 5 else []),
    ]


def _above(value: str, cuts: str) -> str:
    """The quintile score: 1 + how many of the four thresholds `value` is above."""
    return "1 + " + " + ".join(f"({value} > {cuts}.t{k})" for k in range(1, 5))


def _listed(d: Dialect, p: Params, ctes: str, scored: str, binds: list[Any]) -> Built:
    """One row per customer (of `--segment`) from `scored` (customer_id, orders, revenue,
    last_day, store_last, r, f, m), after the `ctes` it reads."""
    segmented = f"SELECT x.*, {segment_case()} AS segment FROM ({scored}) x"
    sql = d.select(
        ("s.customer_id", "customer_id"),
        ("c.first_name", "first_name"),
        ("c.last_name", "last_name"),
        ("c.email", "email"),
        ("s.last_day", "last_purchase"),
        ("s.store_last", "store_last"),
        ("s.orders", "orders"),
        (d.cents("s.revenue"), "revenue"),
        ("s.r", "r"),
        ("s.f", "f"),
        ("s.m", "m"),
        ("s.segment", "segment"),
    )
    joined = f"({segmented}) s JOIN customers c"
    if d.on_nodes:
        # a Spider head reads every customer once, rather than look each one's name up on
        # the nodes batch by batch (as customer-orders over a period)
        joined = f"customers c {d.then()} ({segmented}) s"
    sql = f"{ctes}{sql} FROM {joined} ON c.customer_id = s.customer_id"
    if p["segment"]:
        sql += f" WHERE s.segment = {d.ph}"
        binds.append(p["segment"])
    return sql, binds


def _segments(d: Dialect, per_customer: str) -> str:
    """The segment table without a sort of every customer: a segment follows from the R
    and F scores alone, and a customer's rank is 1 + the number of customers with a
    smaller value (`RANK()`'s ties), so the customers are first counted per (last day,
    orders) pair, a few thousand rows, and the ranks are running sums over those counts."""
    pairs = (
        "SELECT DATE(g.last_at) AS day, g.orders AS orders, COUNT(*) AS n,"
        f" SUM(g.revenue) AS revenue FROM ({per_customer}) g GROUP BY DATE(g.last_at), g.orders"
    )
    below = "SUM(k.n) OVER (ORDER BY k.{0}) - SUM(k.n) OVER (PARTITION BY k.{0})"
    ranked = (
        f"SELECT k.n, k.orders, k.revenue, 1 + {below.format('day')} AS rr,"
        f" 1 + {below.format('orders')} AS rf, SUM(k.n) OVER () AS total FROM ({pairs}) k"
    )
    scored = (
        f"SELECT y.*, {score('y.rr', 'y.total')} AS r, {score('y.rf', 'y.total')} AS f"
        f" FROM ({ranked}) y"
    )
    segmented = f"SELECT x.*, {segment_case()} AS segment FROM ({scored}) x"
    sql = d.select(
        ("s.segment", "segment"),
        (d.whole("SUM(s.n)"), "customers"),
        (d.whole("SUM(s.n * s.orders)"), "orders"),
        (d.cents("SUM(s.revenue)"), "revenue"),
    )
    return f"{sql} FROM ({segmented}) s GROUP BY s.segment"


def m_score(rank: str) -> dict[str, Any]:
    return {
        "$add": [1, *(
            {"$cond": [{"$gte": [{"$multiply": [5, {"$subtract": [rank, 1]}]},
                                 {"$multiply": [k, "$n"]}]}, 1, 0]}
            for k in range(1, 5)
        )]
    }  # fmt: skip


def m_segment() -> dict[str, Any]:
    def within(field: str, lo: int, hi: int) -> dict[str, Any]:
        return {"$and": [{"$gte": [field, lo]}, {"$lte": [field, hi]}]}

    return {
        "$switch": {
            "branches": [
                {"case": {"$and": [within("$r", *r), within("$f", *f)]}, "then": name}
                for name, r, f in SEGMENTS
            ]
        }
    }


def pipeline(p: Params) -> Pipeline:
    match = sale({}, with_lines=True)
    if p["as_of"]:
        match["purchased_at"] = {"$lt": midnight(p["as_of"] + timedelta(days=1))}
    per_customer: list[dict[str, Any]] = [
        {"$match": match},
        {"$project": {"customer_id": 1, "purchased_at": 1, "revenue": order_revenue()}},
        {
            "$group": {
                "_id": "$customer_id",
                "orders": {"$sum": 1},
                "last": {"$max": "$purchased_at"},
                "revenue": {"$sum": "$revenue"},
            }
        },
    ]
    return "orders", _scored_pipeline(p, per_customer)


def facts(p: Params) -> dict[str, Pipeline]:
    """The customers scored and the last sale day, read first: as constants, not as
    windows over every customer (which some servers compute once per customer)."""
    day = {"$dateToString": {"format": "%Y-%m-%d", "date": "$last"}}
    both = [{"$group": {"_id": None, "n": {"$sum": 1}, "last": {"$max": "$last"}}},
            {"$project": {"value": {"n": "$n", "store_last": day}}}]  # fmt: skip
    return {"everyone": (st.CUSTOMERS, both)}  # one pass for both


def summarized_pipeline(p: Params) -> Pipeline | None:
    """Over MongoDB's per-customer summary (every sale: no `--as-of`)."""
    if p["as_of"]:
        return None
    per_customer = [{"$project": {"orders": 1, "last": 1, "revenue": 1}}]
    known = p["everyone"] or {"n": 0, "store_last": None}
    return st.CUSTOMERS, _scored_pipeline(p, per_customer, known)


def _scored_pipeline(
    p: Params, per_customer: list[dict[str, Any]], known: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """After one document per customer ({_id, orders, last, revenue}): scores, segments,
    and the segment table or the list. `known`: the customers' count `n` and `store_last`
    (else windows over every customer find them)."""
    everyone: dict[str, Any] = {"n": {"$count": {}}, "store_last": {"$max": "$last_day"}}
    stages: list[dict[str, Any]] = [
        *per_customer,
        {"$addFields": {"last_day": {"$dateToString": {"format": "%Y-%m-%d", "date": "$last"}}}},
        {
            "$setWindowFields": {
                "sortBy": {"last_day": 1},
                "output": {"rr": {"$rank": {}}, **({} if known else everyone)},
            }
        },
        *([{"$addFields": {k: {"$literal": v} for k, v in known.items()}}] if known else []),
        {"$setWindowFields": {"sortBy": {"orders": 1}, "output": {"rf": {"$rank": {}}}}},
        {"$setWindowFields": {"sortBy": {"revenue": 1}, "output": {"rm": {"$rank": {}}}}},
        {"$addFields": {"r": m_score("$rr"), "f": m_score("$rf"), "m": m_score("$rm")}},
        {"$addFields": {"segment": m_segment()}},
    ]
    if not listing(p):
        stages.append(
            {
                "$group": {
                    "_id": "$segment",
                    "customers": {"$sum": 1},
                    "orders": {"$sum": "$orders"},
                    "revenue": {"$sum": "$revenue"},
                }
            }
        )
        stages.append(
            {"$project": {"_id": 0, "segment": "$_id", "customers": 1, "orders": 1, "revenue": 1}}
        )
        return stages
    if p["segment"]:
        stages.append({"$match": {"segment": p["segment"]}})
    stages += [
        *lookup("customers", "_id", "customer_id", "c"),
        {
            "$project": {
                "_id": 0,
                "customer_id": "$_id",
                "first_name": nullable("$c.first_name"),
                "last_name": nullable("$c.last_name"),
                "email": nullable("$c.email"),
                "last_purchase": "$last_day",
                "store_last": 1,
                "orders": 1,
                "revenue": 1,
                "r": 1,
                "f": 1,
                "m": 1,
                "segment": 1,
            }
        },
    ]
    return stages
