"""forecast: revenue of the next periods, Holt-Winters exponential smoothing on sales.

Its spec, statements (over the lines and over the summaries it reads), MongoDB pipeline
and finisher: see docs/reports.md for the definitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ecomcli.reports.model import FROM, TO, Chart, Option, Params, ReportResult, ReportSpec, cols

if TYPE_CHECKING:
    from ecomcli.repository import Repository


def compute(store: Repository, p: Params) -> ReportResult:
    """Holt-Winters on the sales report's revenue per period (see reports/forecast.py)."""
    from ecomcli import reports
    from ecomcli.reports.forecast import forecast

    history = reports.run(store, "sales", {"by": p["by"], "from": p["from"], "to": p["to"]})
    # the periods over: up to yesterday, and to the end of --to
    over = datetime.now(UTC).date() - timedelta(days=1)  # orders' times are UTC
    return forecast(history.rows, p["by"], p["periods"], min(over, p["to"] or over))


SPEC = ReportSpec(
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
    compute=compute,
    listed=100,
)
