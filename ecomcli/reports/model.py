"""The report model every report module uses: options, specs, results, exact arithmetic.

A report is one module under `ecomcli/reports/defs/` (see docs/reports.md, "Adding a
report"): its `SPEC` (a `ReportSpec`: options, columns, money, chart, finisher), its SQL
and its MongoDB pipeline. Everything a finisher needs to be exact is here: money as
`Decimal` to the cent, ratios rounded half-up, dense ranks, period labels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cached_property
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from ecomcli.errors import UsageError
from ecomcli.summary_tables import SALE_EXCLUDED
from ecomcli.table import CENT, ZERO, Cents, Row, Table, money, to_datetime

if TYPE_CHECKING:
    import pandas as pd

    from ecomcli.backends.dialect import Dialect
    from ecomcli.repository import Repository

PERIODS = ("day", "week", "month", "quarter", "year")
Params = dict[str, Any]
Built = tuple[str, list[Any]]  # a statement and its bind values
Pipeline = tuple[str, list[dict[str, Any]]]  # a collection and its aggregation pipeline

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
    # where `ecom report --list` shows it (then by name): the first questions first
    listed: int = 1000

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


def per_row(
    finish: Callable[[list[Row], Params], list[Row]],
) -> Callable[[Table, Params], Table]:
    """A finisher written over dict rows (small results) as one over tables."""
    return lambda t, p: Table.of(finish(t.dicts(), p))


def cols(*names: str) -> Callable[[Params], list[str]]:
    return lambda p: list(names)


def bar(x: str, y: str, ylabel: str) -> Callable[[Params], Chart]:
    return lambda p: Chart("bar", x, y, ylabel)




@dataclass(frozen=True)
class Report:
    """A report module as the registry finds it and a backend runs it
    (`Repository.run_report(report, p)`): its spec, and the module's `sql(d, p)`,
    `summarized_sql(d, p)` with `SUMMARIES`, and `pipeline(p)` (with `summarized_pipeline(p)`
    over the same summaries on MongoDB, where it has one)."""

    spec: ReportSpec
    module: ModuleType

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def money(self) -> tuple[str, ...]:
        return self.spec.money

    @property
    def datetimes(self) -> tuple[str, ...]:
        return self.spec.datetimes

    def sql(self, d: Dialect, p: Params) -> Built:
        """The statement over the base tables."""
        return self._part("sql")(d, p)  # type: ignore[no-any-return]

    def summarized_sql(self, d: Dialect, p: Params) -> Built:
        """The statement over the summaries `summaries(p)` names, already fresh."""
        return self._part("summarized_sql")(d, p)  # type: ignore[no-any-return]

    def summaries(self, p: Params) -> tuple[str, ...]:
        """The summaries the report reads with params `p` (none: it reads the lines).
        `SUMMARIES` is a tuple of `summary_tables.KINDS`, or a function of the params."""
        kinds = getattr(self.module, "SUMMARIES", ())
        if not hasattr(self.module, "summarized_sql"):
            return ()
        return tuple(kinds(p) if callable(kinds) else kinds)

    def checked_in_statement(self, p: Params) -> bool:
        return self.spec.checked_in_statement(p)

    def pipeline(self, p: Params) -> Pipeline:
        """The MongoDB collection to aggregate and the pipeline."""
        return self._part("pipeline")(p)  # type: ignore[no-any-return]

    def summarized_pipeline(self, p: Params) -> Pipeline | None:
        """The MongoDB pipeline over the summary collections `mongo_summaries(p)` names,
        already fresh, with `p` holding the `facts(p)` too (None: the module has none, the
        backend aggregates the lines)."""
        part = getattr(self.module, "summarized_pipeline", None)
        return None if part is None else part(p)  # type: ignore[no-any-return]

    def mongo_summaries(self, p: Params) -> tuple[str, ...]:
        """The summaries the MongoDB pipeline reads: `MONGO_SUMMARIES` where the module
        declares it (its SQL reads the lines), else those of `summaries(p)`; none without a
        `summarized_pipeline`."""
        if not hasattr(self.module, "summarized_pipeline"):
            return ()
        kinds = getattr(self.module, "MONGO_SUMMARIES", None)
        if kinds is None:
            return self.summaries(p)
        return tuple(kinds(p) if callable(kinds) else kinds)

    def facts(self, p: Params) -> dict[str, Pipeline]:
        """Values the MongoDB pipeline over the summaries needs as constants (the last sale
        day, a count): name -> a pipeline whose first document holds `value`. The backend
        reads them first and adds them to the params, so that the report's leading `$match`
        is a plain range an index serves, and no window spans every document."""
        part = getattr(self.module, "facts", None)
        return {} if part is None else part(p)  # type: ignore[no-any-return]

    @cached_property
    def computed(self) -> bool:
        return self.spec.compute is not None

    def _part(self, name: str) -> Callable[..., Any]:
        found = getattr(self.module, name, None)
        if found is None:
            how = "computed in Python" if self.computed else "not defined"
            raise AssertionError(f"report {self.name}: {name} is {how}")
        return found  # type: ignore[no-any-return]


__all__ = [
    "CENT", "FROM", "LIMIT", "PERIODS", "SALE_EXCLUDED", "TO", "ZERO", "Built", "Cents",
    "Chart", "Option", "Params", "Pipeline", "Report", "ReportResult", "ReportSpec", "Row",
    "Table", "bar", "cols", "dense_rank", "fill_periods", "integer", "limited", "money",
    "next_period", "per_row", "ratio", "to_datetime",
]  # fmt: skip
