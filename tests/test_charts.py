"""Charts that read right: a zero-height bar is marked and labelled, a title says what is
drawn, the delivery legend names the partners beside the plot. Expected values come from
the sample CSV files through pandas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import ecomcli
from ecomcli import reports
from ecomcli.cli import app
from ecomcli.reports import chart

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('charts') / 'shop.db'}"
    assert runner.invoke(app, ["--db", url, "init-db", "-q"]).exit_code == 0
    assert runner.invoke(app, ["--db", url, "import", str(SAMPLE), "-q"]).exit_code == 0
    return url


def drawn(url: str, name: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
    with ecomcli.connect(url) as store:
        result = reports.run(store, name, params or {})
    spec = reports.spec(name)
    fig = chart.draw(result, spec.chart(spec.params(params or {})))
    try:
        yield fig.axes[0]
    finally:
        plt.close(fig)


def test_low_stock_zero_bars_are_marked_and_labelled(shop: str) -> None:
    products = pd.read_csv(SAMPLE / "products.csv")
    out_of_stock = int((products["units_in_stock"] == 0).sum())
    assert 0 < out_of_stock <= chart.MAX_BARS  # most urgent first: all of them are drawn
    for ax in drawn(shop, "low-stock"):
        zero_bars = [p for p in ax.patches if p.get_height() == 0]
        assert len(zero_bars) == out_of_stock
        labels = [t.get_text() for t in ax.texts]
        assert labels.count("0") == out_of_stock  # every bar's value is written
        (marker,) = [line for line in ax.lines if line.get_marker() == "^"]
        assert list(marker.get_ydata()) == [0] * out_of_stock
        assert "units in stock" in ax.get_title()


def test_sales_title_says_what_the_line_shows(shop: str) -> None:
    for ax in drawn(shop, "sales"):
        assert ax.get_title() == "sales: revenue (currency units) by period"
        (line,) = ax.lines
    with ecomcli.connect(shop) as store:
        revenue = [float(r["revenue"]) for r in reports.run(store, "sales", {}).rows]
    assert list(line.get_ydata()) == revenue


def test_delivery_legend_names_partners_beside_the_plot(shop: str) -> None:
    partners = pd.read_csv(SAMPLE / "delivery_partners.csv")
    with ecomcli.connect(shop) as store:
        used = {r["partner_id"] for r in reports.run(store, "delivery", {}).rows}
    names = [*partners[partners["partner_id"].isin(used)]["name"],
             *(["no partner"] if None in used else [])]
    for ax in drawn(shop, "delivery"):
        legend = ax.get_legend()
        assert sorted(t.get_text() for t in legend.get_texts()) == sorted(names)
        renderer = ax.figure.canvas.get_renderer()
        box, plot = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
        assert box.x0 >= plot.x1  # beside the data, not over it
        assert box.x1 <= ax.figure.bbox.x1  # and inside the picture


def test_delivery_legend_names_the_deliveries_of_no_partner() -> None:
    columns = ["partner_id", "partner", "month", "delivered", "on_time", "on_time_pct",
               "avg_delay_days"]
    rows = [("d1", "Fast Co", "2024-01", 3, 2, 66.7, 0.5), (None, None, "2024-01", 2, 2, 100.0, 0)]
    spec = reports.spec("delivery")
    fig = chart.draw(reports.ReportResult("delivery", reports.Table(columns, rows)),
                     spec.chart(spec.params({})))
    try:
        legend = fig.axes[0].get_legend()
        assert [t.get_text() for t in legend.get_texts()] == ["Fast Co", "no partner"]
    finally:
        plt.close(fig)


def test_report_help_lists_the_reports_with_a_chart() -> None:
    text = " ".join(runner.invoke(app, ["report", "--help"], terminal_width=200).stdout.split())
    with_chart = [s.name for s in reports.REPORTS.values() if s.chart(s.params({}))]
    assert "sales" in with_chart and "customer-activity" not in with_chart
    assert "Reports with a chart: " + ", ".join(with_chart) in text.replace("│ ", "")


def test_a_wrong_chart_is_refused_naming_the_users_file_before_the_report_runs(
    shop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    monkeypatch.setattr(reports, "run", lambda *a: ran.append(a[1]))
    for args, said in (
        (["sales", "--chart", str(tmp_path / "sales.jpg")], f"--chart {tmp_path / 'sales.jpg'}"),
        (["customer-activity", "--chart", str(tmp_path / "a.png")], "has no chart"),
    ):
        done = runner.invoke(app, ["--db", shop, "report", *args])
        assert done.exit_code == 2, done.output
        assert said in done.stderr
    assert ran == [] and list(tmp_path.iterdir()) == []


def test_a_chart_is_written_whole_where_asked(shop: str, tmp_path: Path) -> None:
    path = tmp_path / "sales.png"
    done = runner.invoke(app, ["--db", shop, "report", "sales", "--chart", str(path), "-q"])
    assert done.exit_code == 0, done.output
    assert [p.name for p in tmp_path.iterdir()] == ["sales.png"]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
