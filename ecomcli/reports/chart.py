"""PNG charts of report results (matplotlib, Agg backend: no display needed).

A line chart for time series (sales, forecast, delivery), a bar chart for rankings, a heat
map for a table of two keys (cohorts: cohort by period since). The title says what is
drawn (`sales: revenue by period`), a bar chart writes each bar's value above it (so a
zero is seen, not a gap), and a legend sits beside the plot, never over the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecomcli.errors import EcomError, UsageError
from ecomcli.reports import spec
from ecomcli.reports.model import Chart, ReportResult

MAX_BARS = 40


def _number(value: Any) -> float:
    return 0.0 if value is None else float(value)


def chart_of(name: str, params: dict[str, Any], path: Path) -> Chart:
    """The chart report `name` draws with `params` into `path`, checked before the report
    runs: a report (with these options) without one, or a file not named *.png, is a
    usage error naming the user's path."""
    s = spec(name)
    chart: Chart | None = s.chart(s.params(params))
    if chart is None:
        raise UsageError(f"report {name} (with these options) has no chart")
    if path.suffix.lower() != ".png":
        raise UsageError(f"--chart {path}: charts are written as PNG, name the file *.png")
    return chart


def write_chart(result: ReportResult, chart: Chart, path: Path) -> None:
    """Draw `result` into the PNG file `path`, written whole or not at all (a temporary
    file renamed into place)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecomcli.outputs import replacing

    fig = draw(result, chart)
    try:
        with replacing(path) as tmp:
            try:
                fig.savefig(tmp, format="png")
            except OSError as e:
                raise EcomError(f"cannot write chart {path}: {e.strerror or e}") from None
    finally:
        plt.close(fig)


def draw(result: ReportResult, chart: Chart) -> Any:
    """The matplotlib figure of `result` (close it with `plt.close`)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5.5), dpi=100)
    if not len(result):
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    elif chart.kind == "line":
        _lines(ax, result, chart)
    elif chart.kind == "heatmap":
        _heatmap(fig, ax, result, chart)
    else:
        _bars(ax, result, chart)
    ax.set_title(title(result.name, chart, result.columns))
    ax.set_xlabel(chart.x.replace("_", " "))
    ax.set_ylabel(chart.rows.replace("_", " ") if chart.kind == "heatmap" else chart.ylabel)
    if chart.kind != "heatmap":
        ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()  # makes room for a legend beside the plot too
    return fig


def title(name: str, chart: Chart, columns: Any) -> str:
    """What the chart shows: `sales: revenue (currency units) by period`."""
    what = f"{name}: {chart.ylabel} by {chart.x.replace('_', ' ')}"
    return what + (", per partner" if "partner_id" in columns else "")


# the legend's name for the deliveries of no partner
NO_PARTNER = "no partner"


def _lines(ax: Any, result: ReportResult, chart: Chart) -> None:
    rows = result.rows
    labels = sorted({str(r[chart.x]) for r in rows})
    index = {label: i for i, label in enumerate(labels)}
    if "kind" in result.columns:  # forecast: history solid, projection dashed
        series = {"history": "-", "forecast": "--"}
        key = "kind"
    elif "partner_id" in result.columns:  # delivery: one line per partner, by name
        series = {r["partner_id"]: "-" for r in rows}
        key = "partner_id"
        names = {r["partner_id"]: r.get("partner") or r["partner_id"] or NO_PARTNER
                 for r in rows}
    else:
        series, key = {None: "-"}, ""
    for name, style in series.items():
        points = [r for r in rows if not key or r[key] == name]
        if key == "kind" and name == "forecast":  # join the projection to the history
            last = [r for r in rows if r["kind"] == "history"][-1:]
            points = last + points
        xs = [index[str(r[chart.x])] for r in points]
        ys = [_number(r[chart.y]) for r in points]
        label = str(names[name] if key == "partner_id" else name) if key else None
        ax.plot(xs, ys, style, marker="o", markersize=3, label=label)
    if key:  # beside the plot, not over the lines
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  fontsize=8)
    step = max(1, len(labels) // 16)
    ax.set_xticks(range(0, len(labels), step))
    ax.set_xticklabels(labels[::step], rotation=45, ha="right")


def _bars(ax: Any, result: ReportResult, chart: Chart) -> None:
    rows = result.table.head(MAX_BARS).dicts()  # not a dict for each of 1.2M carts
    labels = [str(r[chart.x]) for r in rows]
    values = [_number(r[chart.y]) for r in rows]
    bars = ax.bar(range(len(rows)), values)
    # each bar's value above it: a zero would otherwise be an empty slot
    ax.bar_label(bars, labels=[_short(v) for v in values], padding=2, fontsize=7)
    zeros = [i for i, v in enumerate(values) if v == 0]
    if zeros:
        ax.plot(zeros, [0] * len(zeros), linestyle="none", marker="^", markersize=7,
                color="tab:red", clip_on=False, zorder=3, label=f"zero {chart.ylabel}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  fontsize=8)
    top = max(values, default=0)
    ax.set_ylim(top=(top or 1) * 1.08)  # room for the labels
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, rotation=45, ha="right")
    if len(result) > MAX_BARS:
        ax.set_title(f"(first {MAX_BARS} of {len(result)})", loc="right", fontsize=8)


def _short(value: float) -> str:
    """A bar's label: whole numbers as they are, others to two places, big ones in k."""
    if abs(value) >= 10_000:
        return f"{value / 1000:,.0f}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def charted() -> list[str]:
    """The reports that draw a chart with their default options (for `--help`)."""
    from ecomcli.reports import REPORTS

    return [s.name for s in REPORTS.values() if s.chart(s.params({})) is not None]


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
