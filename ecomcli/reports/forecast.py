"""Revenue forecast: Holt-Winters exponential smoothing over the `sales` report.

The history is the `sales` report's revenue per month or quarter (a small result,
computed inside the database, gaps filled with zero). Only the model runs in Python:

- additive trend, plus additive seasonality when the history holds at least two full
  seasons (24 months, 8 quarters); otherwise trend only (Holt's linear method);
- back-test: the same method is fitted without the last season (12 months or 4
  quarters) and its forecast of that season is compared with what happened: MAPE, the
  mean absolute percentage error over the held-out periods with revenue;
- fewer than one season plus 4 periods of history: refused, the model would be noise.
"""

from __future__ import annotations

import warnings
from decimal import Decimal
from typing import Any

from ecomcli.errors import EcomError
from ecomcli.reports.model import CENT, ReportResult, Table, next_period

SEASON = {"month": 12, "quarter": 4}
MIN_FIT = 4  # periods the trend needs besides the held-out season


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


def forecast(history: list[dict[str, Any]], by: str, periods: int) -> ReportResult:
    """History rows (`period`, `revenue`) followed by `periods` projected ones."""
    season = SEASON[by]
    if len(history) < minimum_history(by):
        raise EcomError(
            f"forecast --by {by} needs at least {minimum_history(by)} {by}s of sales history "
            f"(one season to back-test on plus {MIN_FIT}); the store has {len(history)}"
        )
    values = [float(r["revenue"]) for r in history]
    seasonal = len(values) >= 2 * season
    train = values[:-season]
    test_seasonal = seasonal and len(train) >= 2 * season
    backtest = fit_predict(train, season, test_seasonal, season)
    error = mape(values[-season:], backtest)
    projected = fit_predict(values, season, seasonal, periods)

    rows = [(r["period"], "history", r["revenue"]) for r in history]
    label = history[-1]["period"]
    for value in projected:
        label = next_period(label, by)
        rows.append((label, "forecast", Decimal(str(max(value, 0.0))).quantize(CENT)))
    shown = "n/a (no revenue in the held-out season)" if error is None else f"{error:.1f}%"
    notes = [
        f"method: {method_name(seasonal, by)}, fitted on {len(values)} {by}s",
        f"back-test: fitted without the last {season} {by}s "
        f"({method_name(test_seasonal, by).split(',')[0].split(' (')[0]}), MAPE {shown}",
    ]
    return ReportResult(
        "forecast",
        Table(["period", "kind", "revenue"], rows),
        money=("revenue",),
        notes=notes,
        title=f"forecast: revenue per {by}, {periods} projected",
    )
