"""`ecom report`: listing, formats, files, charts and option checking, through the CLI."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from test_reports import load, shop_rows, tie_rows, typed
from typer.testing import CliRunner

import ecomcli
from ecomcli import reports
from ecomcli.cli import app

runner = CliRunner()


def ecom(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def shop_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'shop.db'}"
    with ecomcli.connect(url) as store:
        store.init_schema()
        load(store, typed(shop_rows()))
    return url


@pytest.fixture
def ties_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ties.db'}"
    with ecomcli.connect(url) as store:
        store.init_schema()
        load(store, tie_rows())
    return url


def test_list_names_every_report_with_a_description() -> None:
    result = ecom("report", "--list", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    listed = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["report"] for r in listed] == list(reports.REPORTS)
    by_name = {r["report"]: r for r in listed}
    assert "dense-ranked" in by_name["top-products"]["description"]
    assert by_name["sales"]["options"] == "--from --to --by"


SAMPLE = {
    "int": "2", "from": "2000-01-01", "to": "2099-12-31", "as_of": "2099-12-31",
    "decimal": "10", "flag": None, "text": "P000001",
}


@pytest.mark.parametrize(
    ("name", "option"),
    [(s.name, o) for s in reports.REPORTS.values() for o in s.options if o.name != "list"],
    ids=lambda v: getattr(v, "flag", v),
)
def test_every_option_a_report_documents_is_a_flag_of_ecom_report(
    shop_url: str, name: str, option: reports.Option, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = option.choices[-1] if option.kind == "choice" else SAMPLE.get(option.kind)
    value = SAMPLE[option.name] if option.kind == "date" else value
    given = [option.flag] if value is None else [option.flag, value]
    asked: list[dict[str, object]] = []
    run = reports.run
    monkeypatch.setattr(reports, "run", lambda s, n, p: asked.append(p) or run(s, n, p))
    result = ecom("report", name, *given, "--format", "csv", "--db", shop_url)
    assert result.exit_code == 0, result.stderr
    params = asked[0]  # forecast runs sales too
    assert reports.spec(name).params(params)[option.name] == option.convert(value or True)


@pytest.mark.parametrize("name", list(reports.REPORTS))
def test_report_help_shows_its_own_options_and_columns(name: str) -> None:
    result = ecom("report", name, "--help")
    assert result.exit_code == 0, result.stderr
    s = reports.spec(name)
    assert result.stdout.startswith(f"Usage: ecom report {name} [OPTIONS]")
    assert s.description in result.stdout
    flags = set(re.findall(r"^  (--[a-z-]+)", result.stdout, re.M))
    assert flags == {o.flag for o in s.options}  # its own, none of another report's
    assert ", ".join(s.columns(s.params({}))) in result.stdout


def test_formats_carry_the_documented_columns(ties_url: str) -> None:
    args = ("report", "top-products", "--limit", "1", "--db", ties_url)
    as_csv = ecom(*args, "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.stderr
    assert as_csv.stdout.splitlines() == [
        "rank,product_id,name,units,revenue",
        "1,x,X,5,5.50",
        "1,y,Y,5,5.50",
    ]
    as_json = json.loads(ecom(*args, "--format", "json").stdout)
    assert as_json[0] == {"rank": 1, "product_id": "x", "name": "X", "units": 5, "revenue": "5.50"}
    lines = ecom(*args, "--format", "ndjson").stdout.splitlines()
    assert [json.loads(line)["product_id"] for line in lines] == ["x", "y"]
    md = ecom(*args, "--format", "md").stdout.splitlines()
    assert md[0] == "| rank | product_id | name | units | revenue |"
    assert md[2] == "| 1 | x | X | 5 | 5.50 |"
    table = ecom(*args, "--format", "table").stdout
    assert "5.50" in table and "product_id" in table


def test_output_file(ties_url: str, tmp_path: Path) -> None:
    out = tmp_path / "sales.csv"
    result = ecom("report", "sales", "--by", "month", "--output", str(out), "--db", ties_url)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert out.read_text().splitlines() == [
        "period,orders,units,revenue,avg_order_value",
        "2024-01,1,13,12.05,12.05",
    ]
    assert "1 rows written" in result.stderr


def test_an_option_of_another_report_is_a_usage_error_naming_the_valid_ones(
    ties_url: str,
) -> None:
    result = ecom("report", "sales", "--threshold", "5", "--db", ties_url)
    assert result.exit_code == 2
    assert "report sales has no option --threshold; its options: --from, --to, --by" in (
        result.stderr
    )
    assert result.stdout == ""
    bad = ecom("report", "sales", "--by", "fortnight", "--db", ties_url)
    assert bad.exit_code == 2 and "--by: expected one of day, week" in bad.stderr
    zero = ecom("report", "ratings", "--min-reviews", "0", "--db", ties_url)
    assert zero.exit_code == 2
    assert "--min-reviews: expected a whole number of at least 1, got 0" in zero.stderr
    unknown = ecom("report", "bestsellers", "--db", ties_url)
    assert unknown.exit_code == 3 and "reports: low-stock, ratings" in unknown.stderr
    stray = ecom("report", "sales", "inactive", "--db", ties_url)
    assert stray.exit_code == 2


def test_customer_activity_list_inactive(shop_url: str) -> None:
    result = ecom(
        "report", "customer-activity", "--list", "inactive", "--format", "json", "--db", shop_url
    )
    assert result.exit_code == 0, result.stderr
    listed = json.loads(result.stdout)
    with ecomcli.connect(shop_url) as store:
        expected = reports.run(store, "customer-activity", {"list": "inactive"}).rows
    assert [r["customer_id"] for r in listed] == [r["customer_id"] for r in expected]
    assert {"c024", "c025"} <= {r["customer_id"] for r in listed}


def test_carts_discount_for_credit_card_payers(shop_url: str) -> None:
    result = ecom(
        "report",
        "carts",
        "--discount",
        "10",
        "--payment-method",
        "credit_card",
        "--format",
        "json",
        "--db",
        shop_url,
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    discounted = [r for r in rows if r["discount"] != "0.00"]
    assert discounted and len(discounted) < len([r for r in rows if r["total"] != "0.00"])
    for r in rows:
        assert Decimal(r["total_due"]) == Decimal(r["total"]) - Decimal(r["discount"])


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("sales", ["--by", "quarter"]),
        ("top-products", ["--metric", "revenue"]),
        ("forecast", ["--by", "quarter"]),
    ],
)
def test_chart_writes_a_png(shop_url: str, tmp_path: Path, name: str, extra: list[str]) -> None:
    png = tmp_path / f"{name}.png"
    result = ecom("report", name, *extra, "--chart", str(png), "--format", "csv", "--db", shop_url)
    assert result.exit_code == 0, result.stderr
    assert png_size(png) == (1000, 550)
    assert result.stdout.startswith("period," if name != "top-products" else "rank,")


def test_a_bar_chart_shows_the_first_rows_of_a_long_report(
    shop_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecomcli.reports import chart

    monkeypatch.setattr(chart, "MAX_BARS", 5)
    result = reports.run(ecomcli.connect(shop_url), "carts", {})
    assert len(result) > chart.MAX_BARS  # held as columns: the chart reads only its rows
    fig, ax = plt.subplots()
    chart._bars(ax, result, reports.Chart("bar", "cart_id", "total", "total"))
    assert len(ax.patches) == chart.MAX_BARS
    shown = [t.get_text() for t in ax.get_xticklabels()]
    assert shown == [r[0] for r in result.records[: chart.MAX_BARS]]
    assert [p.get_height() for p in ax.patches] == [
        float(r[5]) for r in result.records[: chart.MAX_BARS]
    ]
    plt.close(fig)
    png = tmp_path / "carts.png"
    assert ecom("report", "carts", "--chart", str(png), "--db", shop_url).exit_code == 0
    assert png_size(png) == (1000, 550)


def test_an_empty_report_says_so_on_stderr(shop_url: str) -> None:
    empty = ecom("report", "sales", "--from", "1990-01-01", "--to", "1990-12-31", "--db", shop_url)
    assert empty.exit_code == 0 and empty.stdout.splitlines() == [
        "period,orders,units,revenue,avg_order_value"]
    assert "report sales: no rows: nothing in the store for it in this period" in empty.stderr
    assert "no rows" not in ecom("report", "sales", "--db", shop_url).stderr


def test_chart_needs_a_png_name(shop_url: str, tmp_path: Path) -> None:
    result = ecom("report", "sales", "--chart", str(tmp_path / "x.jpg"), "--db", shop_url)
    assert result.exit_code == 2 and "PNG" in result.stderr


def test_forecast_prints_its_method_and_error_on_stderr(shop_url: str) -> None:
    result = ecom("report", "forecast", "--by", "quarter", "--periods", "2", "--db", shop_url)
    assert result.exit_code == 0, result.stderr
    assert "method: Holt-Winters" in result.stderr and "MAPE" in result.stderr
    assert [line.split(",")[1] for line in result.stdout.splitlines()[-2:]] == [
        "forecast",
        "forecast",
    ]


def test_forecast_refuses_with_too_little_history(ties_url: str) -> None:
    result = ecom("report", "forecast", "--db", ties_url)
    assert result.exit_code == 1
    assert "needs at least 8 quarters" in result.stderr and "Traceback" not in result.stderr


def test_every_format_writes_each_value_as_plain_gives_it(shop_url: str) -> None:
    """Datetimes in ISO 8601 and nothing for a missing one (the inactive customers since a
    day: some bought before it, some never), money as an exact string."""
    from ecomcli.exporting import plain

    with ecomcli.connect(shop_url) as store:
        buyers = reports.run(store, "customer-activity", {"list": "active"}).rows
        since = max(r["last_purchase_at"] for r in buyers).date().isoformat()
        expected = reports.run(store, "customer-activity", {"list": "inactive", "from": since})
    want = [{c: plain(v) for c, v in r.items()} for r in expected.rows]
    assert any(r["last_purchase_at"] is None for r in want)
    assert any(r["last_purchase_at"] is not None for r in want)
    args = ("report", "customer-activity", "--list", "--from", since, "--db", shop_url)
    as_csv = ecom(*args, "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.stderr
    got = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert got == [{c: "" if v is None else str(v) for c, v in r.items()} for r in want]
    as_json = ecom(*args, "--format", "json")
    assert json.loads(as_json.stdout) == want
    as_ndjson = ecom(*args, "--format", "ndjson")
    assert [json.loads(line) for line in as_ndjson.stdout.splitlines()] == want
    money = ecom("report", "customer-orders", "--limit", "2", "--format", "ndjson", "--db",
                 shop_url)  # fmt: skip
    revenue = json.loads(money.stdout.splitlines()[0])["revenue"]
    assert isinstance(revenue, str) and Decimal(revenue).as_tuple().exponent == -2


# --- a table on a terminal ----------------------------------------------------------------


def on_a_terminal(*args: str) -> tuple[str, str]:
    """Run `ecom ARGS` with its stdout on a pseudo-terminal, as a person at a shell does;
    return what the terminal showed and stderr."""
    import os
    import pty
    import subprocess
    import sys

    screen, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecomcli", *args], stdout=child, stderr=subprocess.PIPE
    )
    os.close(child)
    shown = []
    while True:  # read as it writes: a pty holds a few kB
        try:
            chunk = os.read(screen, 65536)
        except OSError:  # EIO: the child has closed its side
            break
        if not chunk:
            break
        shown.append(chunk)
    os.close(screen)
    err = proc.stderr.read() if proc.stderr else b""
    assert proc.wait(timeout=60) == 0, err
    return b"".join(shown).decode(), err.decode()


def test_a_table_on_a_terminal_shows_the_first_rows_and_how_to_get_all(tmp_path: Path) -> None:
    from ecomcli.cli.common import TERMINAL_ROWS

    url = f"sqlite:///{tmp_path / 'shop.db'}"
    sample = Path(__file__).resolve().parents[1] / "sample_data"
    assert ecom("init-db", "--db", url).exit_code == 0
    assert ecom("import", str(sample), "--db", url, "--quiet").exit_code == 0
    carts = len(ecomcli.connect(url).report("carts"))
    assert carts > TERMINAL_ROWS

    shown, err = on_a_terminal("report", "carts", "--db", url)
    assert shown.count("CT0") == TERMINAL_ROWS
    assert f"showing the first {TERMINAL_ROWS} of {carts:,} rows" in err
    assert "--format csv or --output FILE for every row" in err

    shown, err = on_a_terminal("report", "carts", "--limit", "150", "--db", url)
    assert shown.count("CT0") == 150 and "showing" not in err  # --limit: what was asked

    shown, err = on_a_terminal("customers", "list", "--db", url)
    assert shown.count("C000") == TERMINAL_ROWS and f"first {TERMINAL_ROWS} rows" in err
    assert "--limit N (and --offset) for more" in err and "--output" not in err

    # a report without --limit shows every row: there would be no way to see the rest
    days = len(ecomcli.connect(url).report("sales", by="day"))
    assert days > TERMINAL_ROWS
    shown, err = on_a_terminal("report", "sales", "--by", "day", "--db", url)
    assert len(re.findall(r"\d{4}-\d{2}-\d{2}", shown)) == days and "showing" not in err

    piped = ecom("report", "carts", "--db", url)  # not a terminal: every row, as csv
    assert len(piped.stdout.splitlines()) == carts + 1 and "showing" not in piped.stderr
