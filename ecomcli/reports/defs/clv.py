"""clv: expected purchases and value per customer over the next `--horizon` months, from
the BG/NBD and Gamma-Gamma models (`reports.clvmodel`, docs/reports.md "clv").

The database returns one row per customer (purchase days, first and last purchase day,
revenue); only that summary crosses the wire, the models are fitted here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from ecomcli import summary_tables as st
from ecomcli.errors import UsageError
from ecomcli.reports.model import (
    LIMIT,
    Built,
    Chart,
    Option,
    Params,
    Pipeline,
    ReportSpec,
    Table,
    cols,
    integer,
)
from ecomcli.reports.mongoparts import order_revenue, sale
from ecomcli.reports.sqlparts import SALE

if TYPE_CHECKING:
    from ecomcli.backends.dialect import Dialect

EPOCH = date(1970, 1, 1).toordinal()  # numpy's day 0
MIN_DAYS = 90  # of history, from the first sale to the as-of day
MIN_REPEAT = 10  # customers with a second purchase day
COLUMNS = [
    "customer_id", "purchases", "recency_days", "age_days", "avg_value", "p_alive",
    "expected_purchases", "expected_value",
]  # fmt: skip


def finish(t: Table, p: Params) -> Table:
    import numpy as np

    names = ["customer_id", "days", "first_day", "last_day", "revenue"]
    # in key order: the fit's sums then add up alike on every backend, to the last bit
    rows = sorted(t.select(names), key=itemgetter(0)) if len(t) else []
    if not rows:
        raise UsageError("clv: no sales up to the as-of day: nothing to fit")
    ids, days_bought, firsts, lasts, revenues = zip(*rows, strict=True)
    as_of = np.datetime64(p["as_of"] or str(max(lasts)), "D")  # default: the last sale
    n = np.array([integer(v) for v in days_bought], dtype=float)
    first = _days(firsts)
    t_x = (_days(lasts) - first).astype(float)
    T = (as_of - first).astype(float)
    x = n - 1
    history, repeat = int(T.max()), int((x > 0).sum())
    if history < MIN_DAYS or repeat < MIN_REPEAT:
        raise UsageError(
            f"clv: the history is too short to fit the model: {history} days of sales and "
            f"{repeat} customers who bought on a second day (needs {MIN_DAYS} days and "
            f"{MIN_REPEAT} customers)"
        )
    m = np.array([float(v) for v in revenues]) / n
    bg, gg = fit(x, t_x, T, n, m)
    purchases = bg.expected(x, t_x, T, p["horizon"] * 365.25 / 12)
    value = purchases * gg.mean(n, m)
    alive = bg.alive(x, t_x, T)
    # most valuable first (to the cent, as shown), then by id: the rows are in id order
    cents = half_up_units(value, 2)
    order = np.lexsort((np.arange(len(ids)), -cents))
    if p["limit"]:
        order = order[: p["limit"]]
    # Python numbers: a numpy scalar is slow to index, convert and print, row by row
    n_, age = n[order].astype(int).tolist(), T[order].astype(int).tolist()
    idle = (T - t_x)[order].astype(int).tolist()
    columns = [
        decimals(half_up_units(m[order], 2), 2),
        decimals(half_up_units(alive[order], 3), 3),
        decimals(half_up_units(purchases[order], 2), 2),
        decimals(cents[order], 2),
    ]
    return Table(COLUMNS, columns=[[ids[i] for i in order.tolist()], n_, idle, age, *columns])


def half_up(values: Any, places: int) -> list[Decimal]:
    """Each float rounded half-up at `places` decimals, as `Decimal(repr(v)).quantize(...,
    ROUND_HALF_UP)` does (the documented rounding)."""
    return decimals(half_up_units(values, places), places)


def half_up_units(values: Any, places: int) -> Any:
    """`half_up` as whole units of the last place (an int64 array): numpy rounds the scaled
    values; those within a hair of a half (where binary and decimal may disagree) take the
    exact Decimal path."""
    import numpy as np

    scaled = values * 10.0**places
    units = np.floor(scaled + 0.5).astype(np.int64)
    near = np.flatnonzero(np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6)
    step = Decimal(1).scaleb(-places)
    for i in near.tolist():
        exact = Decimal(repr(float(values[i]))).quantize(step, ROUND_HALF_UP)
        units[i] = int(exact.scaleb(places))
    return units


def decimals(units: Any, places: int) -> list[Decimal]:
    """Whole units of the last place as Decimals, one made per distinct value (estimates
    repeat: p_alive takes at most a thousand values)."""
    import numpy as np

    distinct, at = np.unique(units, return_inverse=True)
    step = Decimal(1).scaleb(-places)  # a product keeps the step's exponent: 12 * 0.01 = 0.12
    made = [Decimal(k) * step for k in distinct.tolist()]
    return [made[i] for i in at.tolist()]


def _days(values: Any) -> Any:
    """Days (a DATE from MySQL, ISO text from SQLite and MongoDB) as numpy days. Dates go
    through their ordinals: numpy converts date objects ten times slower than text."""
    import numpy as np

    if not values or isinstance(values[0], str):
        return np.array(values, dtype="datetime64[D]")
    ordinals = np.fromiter((v.toordinal() for v in values), np.int64, len(values))
    return (ordinals - EPOCH).astype("datetime64[D]")


def fit(x: Any, t_x: Any, T: Any, n: Any, m: Any) -> tuple[Any, Any]:
    """The BG/NBD model on every customer, Gamma-Gamma on those with a repeat purchase."""
    from threadpoolctl import threadpool_limits

    from ecomcli.reports.clvmodel import fit_bgnbd, fit_gamma_gamma

    repeaters = x > 0
    # one BLAS thread: the optimiser's many small vector operations spent most of the fit
    # waking the other threads (a quarter of the time with one, on two cores)
    with threadpool_limits(1, "blas"):
        return fit_bgnbd(x, t_x, T), fit_gamma_gamma(n[repeaters], m[repeaters])


# model outputs are rounded half-up from their shortest repr (the same on every machine):
# to the cent, p_alive to the thousandth


SPEC = ReportSpec(
    "clv",
    "expected purchases and value per customer over the next months (BG/NBD, Gamma-Gamma)",
    (
        Option("as_of", "date", "fit on the sales up to this day (default: the last sale)"),
        Option("horizon", "int", "months ahead", 12),
        LIMIT(),
    ),
    cols(*COLUMNS),
    finish,
    money=("revenue",),
    derived_money=("avg_value", "expected_value"),
    chart=lambda p: Chart(
        "bar", "customer_id", "expected_value", "expected value (currency units)"
    ),
)


def sql(d: Dialect, p: Params) -> Built:
    binds: list[Any] = []
    until = ""
    if p["as_of"]:
        until = f" AND o.purchased_at < {d.ph}"
        binds.append(d.bound(p["as_of"] + timedelta(days=1)))
    # DATE(): the day on both (a DATE on MySQL: a text label there sent MariaDB's temporary
    # tables to disk, minutes at 200k orders)
    per_order = (
        "SELECT MAX(o.customer_id) AS customer_id, MAX(DATE(o.purchased_at)) AS day,"
        " SUM(i.quantity * i.unit_price) AS revenue FROM orders o"
        f" JOIN order_items i ON i.order_id = o.order_id WHERE {SALE}{until} GROUP BY o.order_id"
    )
    per_customer = (
        f"SELECT {d.big_result()}t.customer_id, COUNT(DISTINCT t.day) AS days,"
        " MIN(t.day) AS first_day, MAX(t.day) AS last_day, SUM(t.revenue) AS revenue"
        f" FROM ({d.node_rows(per_order)}) t GROUP BY t.customer_id"
    )
    return _selected(d, per_customer), binds


def SUMMARIES(p: Params) -> tuple[str, ...]:
    """The all-time per-customer summary, when every sale counts (no `--as-of`)."""
    return () if p["as_of"] else ("customers",)


def summarized_sql(d: Dialect, p: Params) -> Built:
    per_customer = (
        "SELECT customer_id, days, DATE(first_sale_at) AS first_day,"
        f" DATE(last_sale_at) AS last_day, revenue FROM {st.CUSTOMERS}"
    )
    return _selected(d, per_customer), []


def _selected(d: Dialect, per_customer: str) -> str:
    """The columns the finisher fits on, from `per_customer`."""
    sql = d.select(
        ("g.customer_id", "customer_id"),
        ("g.days", "days"),
        ("g.first_day", "first_day"),
        ("g.last_day", "last_day"),
        (d.cents("g.revenue"), "revenue"),
    )
    return f"{sql} FROM ({per_customer}) g"


def pipeline(p: Params) -> Pipeline:
    match = sale({}, with_lines=True)
    if p["as_of"]:
        end = p["as_of"] + timedelta(days=1)
        match["purchased_at"] = {"$lt": datetime(end.year, end.month, end.day)}
    day = {"$dateToString": {"format": "%Y-%m-%d", "date": "$purchased_at"}}
    return "orders", [
        {"$match": match},
        {"$project": {"customer_id": 1, "day": day, "revenue": order_revenue()}},
        {
            "$group": {
                "_id": "$customer_id",
                "days": {"$addToSet": "$day"},
                "first_day": {"$min": "$day"},
                "last_day": {"$max": "$day"},
                "revenue": {"$sum": "$revenue"},
            }
        },
        {"$addFields": {"days": {"$size": "$days"}}},
        *_finished(),
    ]


def summarized_pipeline(p: Params) -> Pipeline | None:
    """Over MongoDB's per-customer summary (every sale: no `--as-of`)."""
    if p["as_of"]:
        return None
    day = "%Y-%m-%d"
    return st.CUSTOMERS, [
        {"$project": {"days": 1, "revenue": 1,
                      "first_day": {"$dateToString": {"format": day, "date": "$first"}},
                      "last_day": {"$dateToString": {"format": day, "date": "$last"}}}},
        *_finished(),
    ]


def _finished() -> list[dict[str, Any]]:
    """After one document per customer (_id, days, first_day, last_day, revenue)."""
    return [
        {"$project": {"_id": 0, "customer_id": "$_id", **{  # in this order, whatever the input's
            k: f"${k}" for k in ("days", "first_day", "last_day", "revenue")}}},
    ]
