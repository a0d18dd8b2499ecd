"""`ecom report NAME`: run a named report (see `ecom report --list` and docs/reports.md).

One command declares every report option; each report accepts only its own, and any
other one given is a usage error naming the valid ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ecomcli import reports
from ecomcli.cli.common import (
    TERMINAL_ROWS,
    App,
    DbOption,
    FormatOption,
    default_format,
    info,
    open_store,
    render,
    render_records,
)
from ecomcli.errors import EcomError, UsageError

LIST_DEFAULT = "inactive"  # customer-activity --list: the win-back mailing


def register(app: App) -> None:
    app.command("report", no_args_is_help=True)(report)


def report(
    name: Annotated[str | None, typer.Argument(help="Report name (see --list).")] = None,
    which: Annotated[
        str | None,
        typer.Argument(
            help="customer-activity --list active|inactive: which customers to list.",
            show_default=False,
        ),
    ] = None,
    list_: Annotated[
        bool,
        typer.Option(
            "--list",
            help="Alone: list the reports. customer-activity --list [active|inactive]: "
            "list those customers (default inactive).",
        ),
    ] = False,
    from_: Annotated[
        str | None, typer.Option("--from", help="First day included (YYYY-MM-DD).")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Last day included, whole day (YYYY-MM-DD).")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most N rows / ranks.")] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by", help="sales: day|week|month|quarter|year; wishlists: customer|product."
        ),
    ] = None,
    threshold: Annotated[
        int | None, typer.Option("--threshold", help="low-stock: fewer units than this.")
    ] = None,
    min_reviews: Annotated[
        int | None,
        typer.Option("--min-reviews", help="ratings: only products with at least N reviews."),
    ] = None,
    metric: Annotated[
        str | None, typer.Option("--metric", help="top-products: units|revenue.")
    ] = None,
    discount: Annotated[
        str | None, typer.Option("--discount", help="carts: discount in percent.")
    ] = None,
    payment_method: Annotated[
        str | None,
        typer.Option("--payment-method", help="carts: discount only customers paying this way."),
    ] = None,
    top: Annotated[
        bool, typer.Option("--top", help="suppliers: the leader(s) and their products.")
    ] = False,
    periods: Annotated[
        int | None, typer.Option("--periods", help="forecast: periods to project.")
    ] = None,
    # SHIM (intel, issue 21): the intelligence reports' options (issue 20 generates them)
    as_of: Annotated[str | None, typer.Option("--as-of", help="rfm, restock, clv: DAY.")] = None,
    segment: Annotated[str | None, typer.Option("--segment", help="rfm: one segment.")] = None,
    min_support: Annotated[
        str | None, typer.Option("--min-support", help="basket: percent of orders.")
    ] = None,
    min_count: Annotated[int | None, typer.Option("--min-count", help="basket: orders.")] = None,
    product: Annotated[str | None, typer.Option("--product", help="basket: its partners.")] = None,
    window: Annotated[int | None, typer.Option("--window", help="restock: days.")] = None,
    cover: Annotated[int | None, typer.Option("--cover", help="restock: days.")] = None,
    safety: Annotated[int | None, typer.Option("--safety", help="restock: days.")] = None,
    horizon: Annotated[int | None, typer.Option("--horizon", help="clv: months.")] = None,
    fmt: FormatOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the result to FILE.")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Also draw the result into FILE.png.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Run a report inside the database: `ecom report --list` shows them all."""
    if name is None:
        if not list_:
            raise UsageError(f"name a report: {', '.join(reports.REPORTS)} (or --list)")
        show_list(fmt)
        return
    spec = reports.spec(name)
    if which is not None and not list_:
        raise UsageError(f"unexpected argument {which!r}: did you mean --list {which}?")
    given: dict[str, Any] = {
        "list": (which or LIST_DEFAULT) if list_ else None,
        "from": from_,
        "to": to,
        "limit": limit,
        "by": by,
        "threshold": threshold,
        "min_reviews": min_reviews,
        "metric": metric,
        "discount": discount,
        "payment_method": payment_method,
        "top": top or None,
        "periods": periods,
        **{  # SHIM (intel, issue 21)
            "as_of": as_of,
            "segment": segment,
            "min_support": min_support,
            "min_count": min_count,
            "product": product,
            "window": window,
            "cover": cover,
            "safety": safety,
            "horizon": horizon,
        },
    }
    params = {k: v for k, v in given.items() if v is not None}
    spec.params(params)  # a wrong option is a usage error before connecting
    with open_store(db) as store:
        result = reports.run(store, name, params)
    for note in result.notes:
        info(note)
    if chart is not None:
        from ecomcli.reports.chart import write_chart

        write_chart(result, params, chart)
        info(f"chart written to {chart}")
    if output is None:
        # a report with --limit shows its first rows on a terminal unless given one
        cap = TERMINAL_ROWS if spec.option("limit") and "limit" not in params else None
        render_records(
            result.table, result.columns, default_format(fmt), title=result.title,
            cap=cap, total=len(result),
            more="--limit N for more, --format csv or --output FILE for every row",
        )  # fmt: skip
        return
    try:
        with output.open("w", encoding="utf-8", newline="") as out:
            chosen = default_format(fmt, out)
            render_records(result.table, result.columns, chosen, out, title=result.title)
    except OSError as e:
        raise EcomError(f"cannot write {output}: {e.strerror or e}") from None
    info(f"{len(result)} rows written to {output}")


def show_list(fmt: Any) -> None:
    rows = [
        {
            "report": s.name,
            "description": s.description,
            "options": " ".join(o.flag for o in s.options),
        }
        for s in reports.REPORTS.values()
    ]
    render(rows, ["report", "description", "options"], default_format(fmt))
