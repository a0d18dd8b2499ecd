"""Revenue forecast: Holt-Winters exponential smoothing over the `sales` report.

The history is the `sales` report's revenue per month or quarter (a small result,
computed inside the database, gaps filled with zero). Only the model runs in Python:

- additive trend, plus additive seasonality when the history holds at least two full
  seasons (24 months, 8 quarters); otherwise trend only (Holt's linear method);
- back-test: the same method is fitted without the last season (12 months or 4
  quarters) and its forecast of that season is compared with what happened: MAPE, the
  mean absolute percentage error over the held-out periods with revenue;
- fewer than one season plus 4 periods of history: refused, the model would be noise;
- periods that are not over yet (the one holding today or the end of `--to`) and the
  empty periods after the last sale do not feed the model (one order today after sales
  ending last year would otherwise add a year of zeros: a forecast of zeros);
- a back-test error above `ABSURD_MAPE` marks the projected rows themselves
  (`kind`: `forecast (unreliable)`), not only the note on stderr.
"""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ecomcli.errors import EcomError
from ecomcli.reports.model import CENT, ReportResult, Table, next_period

SEASON = {"month": 12, "quarter": 4}
MIN_FIT = 4  # periods the trend needs besides the held-out season
# a back-test off by more than the actual values on average: the projection means nothing
ABSURD_MAPE = 100.0
UNRELIABLE = "forecast (unreliable)"


def minimum_history(by: str) -> int:
    return SEASON[by] + MIN_FIT


def fit_predict(values: list[float], season: int, seasonal: bool, steps: int) -> list[float]:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    model = ExponentialSmoothing(
        values,
        trend="add",
        seasonal="add" if seasonal else None,
        seasonal_periods=season if seasonal else None,
        initialization_method="estimated",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short series
        fitted = model.fit()
    return [float(v) for v in fitted.forecast(steps)]


def mape(actual: list[float], predicted: list[float]) -> float | None:
    pairs = [(a, p) for a, p in zip(actual, predicted, strict=True) if a]
    if not pairs:
        return None
    return 100 * sum(abs(a - p) / abs(a) for a, p in pairs) / len(pairs)


def method_name(seasonal: bool, by: str) -> str:
    if seasonal:
        return f"Holt-Winters, additive trend and {SEASON[by]}-{by} additive seasonality"
    return "Holt's linear trend (no seasonality: under two full seasons of history)"


def first_day(label: str, by: str) -> date:
    """The first day of period `label` (YYYY-MM or YYYY-Qn)."""
    month = 3 * int(label[-1]) - 2 if by == "quarter" else int(label[5:7])
    return date(int(label[:4]), month, 1)


def last_day(label: str, by: str) -> date:
    return first_day(next_period(label, by), by) - timedelta(days=1)


def usable(
    history: list[dict[str, Any]], by: str, complete_until: date
) -> tuple[list[dict[str, Any]], list[str]]:
    """The history rows that feed the model, and notes on those left out: trailing
    periods not over by `complete_until` (their last day is after it), then the empty
    periods after the last sale."""
    rows, notes = list(history), []
    unfinished = []
    while rows and last_day(rows[-1]["period"], by) > complete_until:
        unfinished.append(rows.pop()["period"])
    empty = []
    while rows and not rows[-1]["revenue"]:
        empty.append(rows.pop()["period"])
    if unfinished:
        notes.append(f"left out, not over yet: {', '.join(reversed(unfinished))}")
    if empty:
        notes.append(f"left out, no sales after the last: {', '.join(reversed(empty))}")
    return rows, notes


def forecast(
    history: list[dict[str, Any]], by: str, periods: int, complete_until: date | None = None
) -> ReportResult:
    """History rows (`period`, `revenue`) followed by `periods` projected ones; only the
    periods over by `complete_until` (default: yesterday, UTC as the orders' times) feed
    the model (`usable`)."""
    season = SEASON[by]
    over = complete_until or datetime.now(UTC).date() - timedelta(days=1)
    history, left_out = usable(history, by, over)
    if len(history) < minimum_history(by):
        why = f" ({'; '.join(left_out)})" if left_out else ""
        raise EcomError(
            f"forecast --by {by} needs at least {minimum_history(by)} {by}s of sales history "
            f"(one season to back-test on plus {MIN_FIT}); the store has {len(history)}{why}"
        )
    values = [float(r["revenue"]) for r in history]
    seasonal = len(values) >= 2 * season
    train = values[:-season]
    test_seasonal = seasonal and len(train) >= 2 * season
    backtest = fit_predict(train, season, test_seasonal, season)
    error = mape(values[-season:], backtest)
    projected = fit_predict(values, season, seasonal, periods)

    absurd = error is not None and error > ABSURD_MAPE
    kind = UNRELIABLE if absurd else "forecast"
    rows = [(r["period"], "history", r["revenue"]) for r in history]
    label = history[-1]["period"]
    for value in projected:
        label = next_period(label, by)
        rows.append((label, kind, Decimal(str(max(value, 0.0))).quantize(CENT)))
    shown = "n/a (no revenue in the held-out season)" if error is None else f"{error:.1f}%"
    notes = [
        f"method: {method_name(seasonal, by)}, fitted on {len(values)} {by}s",
        f"back-test: fitted without the last {season} {by}s "
        f"({method_name(test_seasonal, by).split(',')[0].split(' (')[0]}), MAPE {shown}",
        *left_out,
    ]
    if absurd:
        notes.append(
            f"unreliable: the back-test is off by {error:.0f}% on average (over"
            f" {ABSURD_MAPE:.0f}%): the history does not support a forecast"
        )
    return ReportResult(
        "forecast",
        Table(["period", "kind", "revenue"], rows),
        money=("revenue",),
        notes=notes,
        title=f"forecast: revenue per {by}, {periods} projected",
    )
