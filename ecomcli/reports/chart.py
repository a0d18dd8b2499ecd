"""PNG charts of report results (matplotlib, Agg backend: no display needed).

A line chart for time series (sales, forecast, delivery), a bar chart for rankings, a heat
map for a table of two keys (cohorts: cohort by period since).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecomcli.errors import EcomError, UsageError
from ecomcli.reports import Chart, ReportResult, spec

MAX_BARS = 40


def _number(value: Any) -> float:
    return 0.0 if value is None else float(value)


def write_chart(result: ReportResult, params: dict[str, Any], path: Path) -> None:
    """Draw `result` as its report's chart into the PNG file `path`."""
    chart: Chart | None = spec(result.name).chart(spec(result.name).params(params))
    if chart is None:
        raise UsageError(f"report {result.name} (with these options) has no chart")
    if path.suffix.lower() != ".png":
        raise UsageError(f"--chart {path}: charts are written as PNG, name the file *.png")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5.5), dpi=100)
    try:
        if not len(result):
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        elif chart.kind == "line":
            _lines(ax, result, chart)
        elif chart.kind == "heatmap":
            _heatmap(fig, ax, result, chart)
        else:
            _bars(ax, result, chart)
        ax.set_title(result.title or result.name)
        ax.set_xlabel(chart.x.replace("_", " "))
        ax.set_ylabel(chart.rows.replace("_", " ") if chart.kind == "heatmap" else chart.ylabel)
        if chart.kind != "heatmap":
            ax.grid(True, axis="y", alpha=0.3)
        fig.tight_layout()
        try:
            fig.savefig(path, format="png")
        except OSError as e:
            raise EcomError(f"cannot write chart {path}: {e.strerror or e}") from None
    finally:
        plt.close(fig)


def _lines(ax: Any, result: ReportResult, chart: Chart) -> None:
    rows = result.rows
    labels = sorted({str(r[chart.x]) for r in rows})
    index = {label: i for i, label in enumerate(labels)}
    if "kind" in result.columns:  # forecast: history solid, projection dashed
        series = {"history": "-", "forecast": "--"}
        key = "kind"
    elif "partner_id" in result.columns:  # delivery: one line per partner
        series = {r["partner_id"]: "-" for r in rows}
        key = "partner_id"
    else:
        series, key = {None: "-"}, ""
    for name, style in series.items():
        points = [r for r in rows if not key or r[key] == name]
        if key == "kind" and name == "forecast":  # join the projection to the history
            last = [r for r in rows if r["kind"] == "history"][-1:]
            points = last + points
        xs = [index[str(r[chart.x])] for r in points]
        ys = [_number(r[chart.y]) for r in points]
        ax.plot(xs, ys, style, marker="o", markersize=3, label=str(name) if key else None)
    if key:
        ax.legend()
    step = max(1, len(labels) // 16)
    ax.set_xticks(range(0, len(labels), step))
    ax.set_xticklabels(labels[::step], rotation=45, ha="right")


def _bars(ax: Any, result: ReportResult, chart: Chart) -> None:
    rows = result.table.head(MAX_BARS).dicts()  # not a dict for each of 1.2M carts
    labels = [str(r[chart.x]) for r in rows]
    values = [_number(r[chart.y]) for r in rows]
    ax.bar(range(len(rows)), values)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, rotation=45, ha="right")
    if len(result) > MAX_BARS:
        ax.set_title(f"(first {MAX_BARS} of {len(result)})", loc="right", fontsize=8)


def _heatmap(fig: Any, ax: Any, result: ReportResult, chart: Chart) -> None:
    """One row per value of `chart.rows`, one column per `chart.x`, cells coloured by
    `chart.y` (an empty cell: no value), each cell labelled when the grid is small."""
    rows = result.rows
    ys = sorted({str(r[chart.rows]) for r in rows})
    xs = sorted({r[chart.x] for r in rows})
    at_y, at_x = {v: i for i, v in enumerate(ys)}, {v: i for i, v in enumerate(xs)}
    import numpy as np

    grid = np.full((len(ys), len(xs)), np.nan)
    for r in rows:
        grid[at_y[str(r[chart.rows])], at_x[r[chart.x]]] = _number(r[chart.y])
    image = ax.imshow(grid, aspect="auto", cmap="viridis", interpolation="nearest")
    fig.colorbar(image, ax=ax, label=chart.ylabel)
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels([str(x) for x in xs], fontsize=7)
    ax.set_yticks(range(len(ys)))
    ax.set_yticklabels(ys, fontsize=7)
    if len(xs) * len(ys) <= 400:
        for (i, j), value in np.ndenumerate(grid):
            if not np.isnan(value):
                ax.text(
                    j,
                    i,
                    f"{value:.0f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if value < np.nanmax(grid) * 0.6 else "black",
                )
