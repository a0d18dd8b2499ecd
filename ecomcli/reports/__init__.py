"""Named reports: the questions a store asks of its data, answered inside the database.

Each report is a `ReportSpec` in `REPORTS`: its options, its stable output columns, which
of them are money, and how to chart it. `run(store, name, params)` checks the options,
lets the backend aggregate (`store.run_report`: SQL on SQLite/MySQL built by
`reports.sql`, an aggregation pipeline on MongoDB built by `reports.mongo`) and finishes
the small result here, identically for every backend: money becomes `Decimal` to the
cent, averages are exact ratios rounded half-up, rankings and tie-breaks are applied in
one defined order. Definitions are written down in docs/reports.md.

    >>> from ecomcli import reports
    >>> reports.run(store, "top-products", {"limit": 3}).frame()
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cached_property
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from ecomcli.errors import NotFoundError, UsageError
from ecomcli.schema import PAYMENT_METHODS

if TYPE_CHECKING:
    import pandas as pd

    from ecomcli.repository import Repository

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
SALE_EXCLUDED = ("pending", "cancelled", "returned")  # order statuses that are not sales
PERIODS = ("day", "week", "month", "quarter", "year")
Row = dict[str, Any]
Params = dict[str, Any]


# --- options ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    name: str  # the params key, e.g. "payment_method" (CLI: --payment-method)
    kind: Literal["date", "int", "choice", "decimal", "flag", "text"]
    help: str
    default: Any = None
    choices: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def convert(self, value: Any) -> Any:
        """A raw value (CLI string or Python value) as this option's type."""
        if value is None:
            return None
        try:
            if self.kind == "date":
                if isinstance(value, datetime):
                    return value.date()
                return value if isinstance(value, date) else date.fromisoformat(str(value))
            if self.kind == "int":
                if isinstance(value, bool) or int(value) != float(value) or int(value) < 1:
                    raise ValueError
                return int(value)
            if self.kind == "decimal":
                number = Decimal(str(value))
                if not (0 <= number <= 100):
                    raise ValueError
                return number
            if self.kind == "flag":
                return bool(value)
            if self.kind == "text":  # e.g. an id: any non-empty text
                if not str(value).strip():
                    raise ValueError
                return str(value).strip()
        except (ValueError, TypeError, InvalidOperation):
            if self.kind == "int":
                raise UsageError(
                    f"{self.flag}: expected a whole number of at least 1, got {value!r}"
                ) from None
            raise UsageError(f"{self.flag}: {self.help} (got {value!r})") from None
        text = str(value)
        if text not in self.choices:
            raise UsageError(
                f"{self.flag}: expected one of {', '.join(self.choices)}, got {text!r}"
            )
        return text


FROM = Option("from", "date", "first day included (YYYY-MM-DD)")
TO = Option("to", "date", "last day included, the whole day (YYYY-MM-DD)")


def LIMIT(help: str = "at most N rows", default: int | None = None) -> Option:
    return Option("limit", "int", help, default)


# --- results ----------------------------------------------------------------------------


class Table:
    """Values with their column names: what a backend's report statement returns and what
    the finishing works on. Held as rows (tuples) or as columns, each made from the other
    on first use: no dict per row, so large results stay cheap."""

    def __init__(
        self,
        names: list[str],
        rows: list[tuple[Any, ...]] | None = None,
        columns: list[Sequence[Any]] | None = None,
    ) -> None:
        self.names = names
        if rows is not None:
            self.rows = rows
        if columns is not None:
            self.columns = columns

    @cached_property
    def rows(self) -> list[tuple[Any, ...]]:
        return list(zip(*self.columns, strict=True))

    @cached_property
    def columns(self) -> list[Sequence[Any]]:
        # a pass per column: 1.24M carts in 0.20 s, against 0.28 s for zip(*rows)
        return [list(map(itemgetter(i), self.rows)) for i in range(len(self.names))]

    def __len__(self) -> int:
        if "rows" in self.__dict__ or not self.names:
            return len(self.rows)
        return len(self.columns[0])

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        """The rows, without building a list of them when the table holds columns."""
        return iter(self.rows) if "rows" in self.__dict__ else zip(*self.columns, strict=True)

    def dicts(self) -> list[Row]:
        return [dict(zip(self.names, r, strict=True)) for r in self]

    def select(self, names: list[str]) -> Table:
        """These columns, in this order, from whichever form the table holds."""
        if names == self.names:
            return self
        if not len(self):  # a finisher over no rows may not know its names
            return Table(names, [])
        at = [self.names.index(n) for n in names]
        if "rows" in self.__dict__ and len(at) > 1:
            return Table(names, list(map(itemgetter(*at), self.rows)))
        return Table(names, columns=[self.columns[i] for i in at])

    def head(self, n: int | None) -> Table:
        """The first `n` rows (all of them when `n` is None)."""
        if not n:
            return self
        if "rows" in self.__dict__:
            return Table(self.names, self.rows[:n])
        return Table(self.names, columns=[c[:n] for c in self.columns])

    @classmethod
    def of(cls, rows: Sequence[Row]) -> Table:
        """Dict rows (all with the same keys, in the same order) as a table."""
        names = list(rows[0]) if rows else []
        return cls(names, [tuple(r.values()) for r in rows])


@dataclass
class ReportResult:
    """A report's values, held as the finishing left them (columns for the large ones, so
    neither the DataFrame nor a csv file needs a tuple per row built first)."""

    name: str
    table: Table  # its names are the report's columns, in order
    money: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)  # e.g. the forecast's method and error
    title: str = ""

    @property
    def columns(self) -> list[str]:
        return self.table.names

    @property
    def records(self) -> list[tuple[Any, ...]]:
        """One tuple per row, values in `columns` order (built on first use)."""
        return self.table.rows

    @cached_property
    def rows(self) -> list[Row]:
        """The rows as dicts (column -> value), built on first use."""
        return self.table.dicts()

    def __len__(self) -> int:
        return len(self.table)

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        if len(self.table):  # from columns: a DataFrame from 1M tuples is 2-3x slower
            data = dict(zip(self.columns, map(list, self.table.columns), strict=True))
            df = pd.DataFrame(data, columns=self.columns)
        else:
            df = pd.DataFrame([], columns=self.columns)
        df.attrs["report"] = self.name
        df.attrs["notes"] = list(self.notes)
        return df


@dataclass(frozen=True)
class Chart:
    kind: Literal["line", "bar", "heatmap"]
    x: str
    y: str
    ylabel: str
    rows: str = ""  # heatmap: the column whose values are the rows (y is the cell value)


@dataclass(frozen=True)
class ReportSpec:
    name: str
    description: str
    options: tuple[Option, ...]
    columns: Callable[[Params], list[str]]
    finish: Callable[[Table, Params], Table]
    money: tuple[str, ...] = ()  # money columns as the database returns them
    derived_money: tuple[str, ...] = ()  # money columns computed here from those
    datetimes: tuple[str, ...] = ()
    chart: Callable[[Params], Chart | None] = lambda p: None
    # a report computed in Python from other reports' small results (e.g. forecast)
    compute: Callable[[Repository, Params], ReportResult] | None = None
    # on a server, check the report's summary is fresh in its statement (one round trip):
    # not when the statement's ORDER BY is the report's order (the finishing keeps it) nor
    # when the result is as large as a table (an extra column on every row)
    checked_in_statement: Callable[[Params], bool] = lambda p: True

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)

    def params(self, given: Params) -> Params:
        """`given` checked against this report's options, typed, with defaults."""
        given = {("from" if k == "from_" else k): v for k, v in given.items()}
        valid = ", ".join(o.flag for o in self.options) or "none"
        out: Params = {}
        for key, value in given.items():
            opt = self.option(key)
            if opt is None:
                flag = "--" + key.replace("_", "-")
                raise UsageError(f"report {self.name} has no option {flag}; its options: {valid}")
            out[key] = opt.convert(value)
        for opt in self.options:
            if out.get(opt.name) is None:
                out[opt.name] = opt.default
        if out.get("from") and out.get("to") and out["to"] < out["from"]:
            raise UsageError(f"--to {out['to']} is before --from {out['from']}")
        return out


# --- exact arithmetic shared by every report -------------------------------------------


class Cents(dict[Any, Decimal]):
    """Money as integer cents (how SQLite stores it; the report statements return it so on
    MySQL too) -> a Decimal with two places, each value converted once (`cents[v]`): a
    column of 1.2M cart totals holds ~200k distinct ones."""

    def __missing__(self, value: Any) -> Decimal:
        # exponent -2: already two places
        out = self[value] = ZERO if value is None else Decimal(value).scaleb(-2)
        return out


def money(value: Any) -> Decimal:
    """Money from MongoDB (Decimal from Decimal128, or an int sum) as a Decimal with two
    places."""
    if value is None:
        return ZERO
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(num: Any, den: Any, places: int = 2) -> Decimal | None:
    """num / den rounded half-up to `places`, or None when den is 0."""
    if not den:
        return None
    if type(num) is int and type(den) is int and num >= 0 and den > 0:  # 40% faster
        return Decimal((2 * num * 10**places + den) // (2 * den)).scaleb(-places)
    exp = Decimal(1).scaleb(-places)
    return (Decimal(num) / Decimal(den)).quantize(exp, rounding=ROUND_HALF_UP)


def integer(value: Any) -> int:
    return 0 if value is None else int(value)


def to_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def dense_rank(rows: list[Row], metric: str, tie: str) -> list[Row]:
    """Rows sorted by `metric` descending (then `tie`), with a dense `rank`: ties share it."""
    rows = sorted(rows, key=lambda r: (-r[metric], r[tie]))
    rank, last = 0, None
    for r in rows:
        if r[metric] != last:
            rank, last = rank + 1, r[metric]
        r["rank"] = rank
    return rows


def limited(rows: list[Any], params: Params) -> list[Any]:
    return rows[: params["limit"]] if params.get("limit") else rows


# --- periods ------------------------------------------------------------------------------


def next_period(label: str, by: str) -> str:
    """The label of the period after `label`."""
    if by == "year":
        return str(int(label) + 1)
    if by == "quarter":
        year, q = int(label[:4]), int(label[-1])
        return f"{year + 1}-Q1" if q == 4 else f"{year}-Q{q + 1}"
    if by == "month":
        year, month = int(label[:4]), int(label[5:7])
        return f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"
    step = 7 if by == "week" else 1
    return (date.fromisoformat(label) + timedelta(days=step)).isoformat()


def fill_periods(
    rows: list[tuple[Any, ...]], by: str, empty: Callable[[str], tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """Rows (their period label first) sorted by period, with the missing periods between
    the first and last added."""
    if not rows:
        return []
    found = {r[0]: r for r in rows}
    labels = sorted(found)
    out, label = [], labels[0]
    while label <= labels[-1]:
        out.append(found.get(label) or empty(label))
        label = next_period(label, by)
    return out


# --- finishing each report ----------------------------------------------------------------


def per_row(
    finish: Callable[[list[Row], Params], list[Row]],
) -> Callable[[Table, Params], Table]:
    """A finisher written over dict rows (small results) as one over tables."""
    return lambda t, p: Table.of(finish(t.dicts(), p))


def _low_stock(t: Table, p: Params) -> Table:
    """A row per product (the statement gives one per product and supplier), its
    suppliers' names joined in supplier order; over tuples (a dict per row cost as much as
    the statement, ~0.6 ms for 400 products)."""
    heads: dict[Any, tuple[Any, ...]] = {}
    suppliers: dict[Any, set[tuple[Any, str]]] = defaultdict(set)
    raw = ["product_id", "name", "units_in_stock", "reorder_level", "supplier_id", "supplier_name"]
    for pid, name, stock, reorder, supplier_id, supplier in t.select(raw):
        if pid not in heads:
            heads[pid] = (pid, name, integer(stock), integer(reorder))
        if supplier_id is not None:
            suppliers[pid].add((supplier_id, supplier or ""))
    rows = []
    for pid, head in heads.items():
        listed = suppliers.get(pid, ())
        if len(listed) == 1:  # most products: no sort, no join
            rows.append((*head, 1, next(iter(listed))[1]))
        else:
            rows.append((*head, len(listed), "; ".join(name for _, name in sorted(listed))))
    rows.sort(key=itemgetter(2, 0))  # fewest units first, then product_id
    names = [*raw[:4], "suppliers", "supplier_names"]
    return Table(names, limited(rows, p))


@per_row
def _ratings(rows: list[Row], p: Params) -> list[Row]:
    rated = [
        {
            "product_id": r["product_id"],
            "name": r["name"],
            "reviews": integer(r["reviews"]),
            "avg_score": ratio(r["score_sum"], r["reviews"]),
            "_exact": Decimal(integer(r["score_sum"])) / integer(r["reviews"]),
        }
        for r in rows
        if integer(r["reviews"])
    ]
    n = p["limit"]
    lowest = sorted(rated, key=lambda r: (r["_exact"], -r["reviews"], r["product_id"]))[:n]
    highest = sorted(rated, key=lambda r: (-r["_exact"], -r["reviews"], r["product_id"]))[:n]
    out = [{"end": "lowest", **r} for r in lowest] + [{"end": "highest", **r} for r in highest]
    for r in out:
        del r["_exact"]
    return out


def _carts(t: Table, p: Params) -> Table:
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


def _wishlists(t: Table, p: Params) -> Table:
    """Already in the report's order, cut to `--limit` (the database sorts: --by product
    most wishlists, then most customers; --by customer most products; then by id)."""
    if p["by"] == "product":
        names, counts = ["product_id", "name", "wishlists", "customers"], (2, 3)
    else:
        names, counts = ["customer_id", "first_name", "last_name", "wishlists", "products"], (3, 4)
    if not len(t):
        return Table(names, [])
    columns = list(t.select(names).columns)
    for i in counts:
        columns[i] = list(map(integer, columns[i]))
    return Table(names, columns=columns)


@per_row
def _top_products(rows: list[Row], p: Params) -> list[Row]:
    out = [
        {
            "product_id": r["product_id"],
            "name": r["name"],
            "units": integer(r["units"]),
            "revenue": r["revenue"],
        }
        for r in rows
    ]
    ranked = dense_rank(out, p["metric"], "product_id")
    if p["limit"]:
        ranked = [r for r in ranked if r["rank"] <= p["limit"]]
    return ranked


@per_row
def _customer_activity(rows: list[Row], p: Params) -> list[Row]:
    if p["list"] is None:
        r = rows[0] if rows else {}
        total, active = integer(r.get("customers")), integer(r.get("active"))
        return [
            {
                "customers": total,
                "active": active,
                "inactive": total - active,
                "active_pct": ratio(100 * active, total, 1),
            }
        ]
    out = [
        {
            "customer_id": r["customer_id"],
            "first_name": r["first_name"],
            "last_name": r["last_name"],
            "email": r["email"],
            "orders": integer(r["orders"]),
            "last_purchase_at": r["last_purchase_at"],
        }
        for r in rows
    ]
    out.sort(key=lambda r: r["customer_id"])
    return limited(out, p)


def _suppliers(t: Table, p: Params) -> Table:
    if p["top"]:
        names = ["supplier_id", "supplier", "products", "product_id", "product", "units"]
        rows = [(s, n, integer(c), pid, pn, integer(u)) for s, n, c, pid, pn, u in t.select(names)]
        rows.sort(key=itemgetter(0, 3))  # supplier_id, product_id
        return Table(names, rows)
    names = ["supplier_id", "name", "products", "units"]
    rows = [(s, n, integer(c), integer(u)) for s, n, c, u in t.select(names)]
    rows.sort(key=itemgetter(0))
    rows.sort(key=itemgetter(2, 3), reverse=True)  # stable: most products, most units, id
    return Table(names, limited(rows, p))


def _customer_orders(t: Table, p: Params) -> Table:
    """One row per customer, already in the finishing order (the database sorts: most
    items, most orders, then customer_id)."""
    return t.head(p["limit"])


def _sales(t: Table, p: Params) -> Table:
    names = ["period", "orders", "units", "revenue"]
    rows = [
        (str(period), integer(orders), integer(units), revenue, ratio(revenue, integer(orders)))
        for period, orders, units, revenue in t.select(names)
    ]
    rows = fill_periods(rows, p["by"], lambda label: (label, 0, 0, ZERO, None))
    return Table([*names, "avg_order_value"], rows)


@per_row
def _payments(rows: list[Row], p: Params) -> list[Row]:
    out = [
        {
            "method": r["method"],
            "payments": integer(r["payments"]),
            "amount": r["amount"],
            "avg_amount": ratio(r["amount"], integer(r["payments"])),
        }
        for r in rows
    ]
    out.sort(key=lambda r: (-r["amount"], r["method"]))
    return out


def _delivery(t: Table, p: Params) -> Table:
    names = ["partner_id", "partner", "month", "delivered", "on_time", "late_seconds"]
    rows = []
    for partner_id, partner, month, delivered, on_time, late in t.select(names):
        n, on_time = integer(delivered), integer(on_time)
        pct, delay = ratio(100 * on_time, n, 1), ratio(integer(late), n * 86400)
        rows.append((partner_id, partner, str(month), n, on_time, pct, delay))
    rows.sort(key=itemgetter(0, 2))  # partner_id, month
    return Table([*names[:5], "on_time_pct", "avg_delay_days"], rows)


@per_row
def _categories(rows: list[Row], p: Params) -> list[Row]:
    out = [
        {
            "category_id": r["category_id"],
            "category": r["category"],
            "units": integer(r["units"]),
            "revenue": r["revenue"],
        }
        for r in rows
    ]
    out.sort(key=lambda r: (-r["revenue"], r["category_id"] or ""))
    return limited(out, p)


def _forecast(store: Repository, p: Params) -> ReportResult:
    from ecomcli.reports.forecast import forecast

    history = run(store, "sales", {"by": p["by"], "from": p["from"], "to": p["to"]})
    return forecast(history.rows, p["by"], p["periods"])


# --- the registry ---------------------------------------------------------------------


def cols(*names: str) -> Callable[[Params], list[str]]:
    return lambda p: list(names)


def bar(x: str, y: str, ylabel: str) -> Callable[[Params], Chart]:
    return lambda p: Chart("bar", x, y, ylabel)


_SPECS = (
    ReportSpec(
        "low-stock",
        "products under a stock threshold, most urgent first, with their suppliers",
        (
            Option("threshold", "int", "list products with fewer units than this", 10),
            LIMIT(),
        ),
        cols(
            "product_id", "name", "units_in_stock", "reorder_level", "suppliers", "supplier_names"
        ),
        _low_stock,
        chart=bar("product_id", "units_in_stock", "units in stock"),
    ),
    ReportSpec(
        "ratings",
        "lowest- and highest-rated products by average review score",
        (
            LIMIT("N lowest and N highest", 5),
            Option("min_reviews", "int", "only products with at least N reviews", 1),
        ),
        cols("end", "product_id", "name", "reviews", "avg_score"),
        _ratings,
        chart=bar("product_id", "avg_score", "average score (1-5)"),
    ),
    ReportSpec(
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
        cols(
            "cart_id", "customer_id", "status", "lines", "items", "total", "discount", "total_due"
        ),
        _carts,
        money=("total",),
        derived_money=("discount", "total_due"),
        chart=bar("cart_id", "total_due", "total due (currency units)"),
        checked_in_statement=lambda p: False,
    ),
    ReportSpec(
        "wishlists",
        "products on each customer's wishlists, or the most wishlisted products",
        (
            Option("by", "choice", "customer or product", "customer", ("customer", "product")),
            LIMIT(),
        ),
        lambda p: (
            ["product_id", "name", "wishlists", "customers"]
            if p["by"] == "product"
            else ["customer_id", "first_name", "last_name", "wishlists", "products"]
        ),
        _wishlists,
        chart=lambda p: (
            Chart("bar", "product_id", "wishlists", "wishlists")
            if p["by"] == "product"
            else Chart("bar", "customer_id", "products", "products wishlisted")
        ),
        checked_in_statement=lambda p: False,
    ),
    ReportSpec(
        "top-products",
        "best sellers by units or revenue, dense-ranked (ties share a rank)",
        (
            FROM,
            TO,
            LIMIT("every product whose rank is N or better (ties included)"),
            Option("metric", "choice", "units or revenue", "units", ("units", "revenue")),
        ),
        cols("rank", "product_id", "name", "units", "revenue"),
        _top_products,
        money=("revenue",),
        chart=lambda p: Chart(
            "bar",
            "product_id",
            p["metric"],
            "revenue (currency units)" if p["metric"] == "revenue" else "units sold",
        ),
    ),
    ReportSpec(
        "customer-activity",
        "total, active and inactive customers; --list inactive for a win-back mailing",
        (
            FROM,
            TO,
            Option(
                "list",
                "choice",
                "list the active or inactive customers",
                None,
                ("active", "inactive"),
            ),
            LIMIT(),
        ),
        lambda p: (
            ["customers", "active", "inactive", "active_pct"]
            if p["list"] is None
            else ["customer_id", "first_name", "last_name", "email", "orders", "last_purchase_at"]
        ),
        _customer_activity,
        datetimes=("last_purchase_at",),
        checked_in_statement=lambda p: p["list"] is None,
    ),
    ReportSpec(
        "suppliers",
        "suppliers by number of products supplied; --top: the leader(s) and their products",
        (Option("top", "flag", "show the leading supplier(s) and their products", False), LIMIT()),
        lambda p: (
            ["supplier_id", "supplier", "products", "product_id", "product", "units"]
            if p["top"]
            else ["supplier_id", "name", "products", "units"]
        ),
        _suppliers,
        chart=lambda p: (
            None if p["top"] else Chart("bar", "supplier_id", "products", "products supplied")
        ),
    ),
    ReportSpec(
        "customer-orders",
        "orders, items and revenue per customer, most items first",
        (FROM, TO, LIMIT()),
        cols("customer_id", "first_name", "last_name", "orders", "items", "revenue"),
        _customer_orders,
        money=("revenue",),
        chart=bar("customer_id", "items", "items ordered"),
        checked_in_statement=lambda p: False,
    ),
    ReportSpec(
        "sales",
        "orders, units, revenue and average order value per period",
        (FROM, TO, Option("by", "choice", "period length", "month", PERIODS)),
        cols("period", "orders", "units", "revenue", "avg_order_value"),
        _sales,
        money=("revenue",),
        derived_money=("avg_order_value",),
        chart=lambda p: Chart("line", "period", "revenue", "revenue (currency units)"),
    ),
    ReportSpec(
        "forecast",
        "revenue of the next periods, Holt-Winters exponential smoothing on sales",
        (
            FROM,
            TO,
            Option("by", "choice", "period length", "quarter", ("month", "quarter")),
            Option("periods", "int", "how many periods to project", 4),
        ),
        cols("period", "kind", "revenue"),
        lambda rows, p: rows,
        chart=lambda p: Chart("line", "period", "revenue", "revenue (currency units)"),
        compute=_forecast,
    ),
    ReportSpec(
        "payments",
        "count and value of payments by method",
        (FROM, TO),
        cols("method", "payments", "amount", "avg_amount"),
        _payments,
        money=("amount",),
        derived_money=("avg_amount",),
        chart=bar("method", "amount", "amount paid (currency units)"),
    ),
    ReportSpec(
        "delivery",
        "on-time rate and average delay by delivery partner and month delivered",
        (FROM, TO),
        cols(
            "partner_id",
            "partner",
            "month",
            "delivered",
            "on_time",
            "on_time_pct",
            "avg_delay_days",
        ),
        _delivery,
        chart=lambda p: Chart("line", "month", "on_time_pct", "on time (%)"),
    ),
    ReportSpec(
        "categories",
        "units and revenue by product category",
        (FROM, TO, LIMIT()),
        cols("category_id", "category", "units", "revenue"),
        _categories,
        money=("revenue",),
        chart=bar("category_id", "revenue", "revenue (currency units)"),
    ),
)

REPORTS: dict[str, ReportSpec] = {s.name: s for s in _SPECS}


# SHIM (intel, issue 21): the report modules of reports/defs/ (issue 20's registry
# replaces this): each one's SPEC is a report, its sql(d, p) / pipeline(p) builds it.
def _modules() -> dict[str, Any]:
    import importlib
    import pkgutil

    from ecomcli.reports import defs

    found = {}
    for info in pkgutil.iter_modules(defs.__path__):
        module = importlib.import_module(f"{defs.__name__}.{info.name}")
        found[module.SPEC.name] = module
    return found


MODULES: dict[str, Any] = {}  # filled at the end of this module (they import it)


def spec(name: str) -> ReportSpec:
    found = REPORTS.get(name)
    if found is None:
        raise NotFoundError(f"unknown report {name!r}; reports: {', '.join(REPORTS)}")
    return found


def normalize(t: Table, s: ReportSpec, backend: str) -> Table:
    """Raw rows from any backend in one form, column by column: money as Decimal (2
    places; the SQL statements return integer cents), datetimes as datetime."""
    if not len(t):
        return t
    convert: dict[int, Callable[[Any], Any]] = {}
    for i, name in enumerate(t.names):
        if name in s.money:
            convert[i] = money if backend == "mongodb" else Cents().__getitem__
        elif name in s.datetimes:
            convert[i] = to_datetime
    if not convert:
        return t
    columns = list(t.columns)
    for i, fn in convert.items():
        columns[i] = list(map(fn, columns[i]))
    return Table(t.names, columns=columns)


def run(store: Repository, name: str, params: Params | None = None) -> ReportResult:
    """Run report `name` on `store` with `params` (option name -> value)."""
    s = spec(name)
    p = s.params(params or {})
    if s.compute is not None:
        return s.compute(store, p)
    from ecomcli.importing import gc_paused  # rows hold no cycles: no collections

    with gc_paused():
        done = s.finish(normalize(store.run_report(name, p), s, store.backend), p)
    columns = s.columns(p)
    shown = tuple(
        c
        for c in columns
        if c in (*s.money, "discount", "total_due", "avg_order_value", "avg_amount")
    )
    title = f"{name}: {s.description}"
    return ReportResult(name, done.select(columns), money=shown, title=title)


__all__ = ["REPORTS", "Chart", "Option", "ReportResult", "ReportSpec", "Table", "run", "spec"]

# SHIM (intel, issue 21): the report modules, once every name above exists
MODULES.update(_modules())
REPORTS.update({n: m.SPEC for n, m in MODULES.items()})
