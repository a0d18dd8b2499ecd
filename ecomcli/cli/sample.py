"""`ecom generate` (a realistic sample store as files) and `ecom demo` (the tour)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

import ecomcli
from ecomcli.cli.common import (
    App,
    DbOption,
    FormatOption,
    default_format,
    info,
    open_store,
    render,
    render_records,
)
from ecomcli.errors import NotFoundError, UsageError

# The headline reports of the tour: (title, report name, parameters).
TOUR: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("Best-selling products", "top-products", {"limit": 3}),
    ("Sales by quarter", "sales", {"by": "quarter"}),
    ("Low stock (restock these)", "low-stock", {}),
    ("Active and inactive customers", "customer-activity", {}),
    ("Customer segments (recency, frequency, monetary)", "rfm", {"by": "segment"}),
    ("Bought together (highest lift first)", "basket", {"limit": 5}),
)


def register(app: App) -> None:
    app.command("generate")(generate_command)
    app.command("demo")(demo)


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option}: not a date: {value!r} (expected YYYY-MM-DD)") from None


def generate_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write the files to.")],
    customers: Annotated[int, typer.Option(help="Number of customers.")] = 1000,
    products: Annotated[int, typer.Option(help="Number of products.")] = 300,
    orders: Annotated[int, typer.Option(help="Number of orders.")] = 5000,
    start: Annotated[
        str, typer.Option("--from", help="First day of orders (YYYY-MM-DD).")
    ] = "2024-01-01",
    end: Annotated[
        str, typer.Option("--to", help="Last day of orders (YYYY-MM-DD).")
    ] = "2025-12-31",
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 42,
    fmt: Annotated[str, typer.Option("--format", help="File format: csv or ndjson.")] = "csv",
    locale: Annotated[str, typer.Option(help="Faker locale for names and addresses.")] = "en_US",
    dirty: Annotated[
        float,
        typer.Option(
            help="Fraction of bad rows to plant (0-0.5), listed with their line in dirty.json."
        ),
    ] = 0.0,
    images: Annotated[
        bool,
        typer.Option(help="Also draw a picture per product in OUT/images (ecom images import)."),
    ] = False,
) -> None:
    """Write a realistic store (one file per entity, importable with `ecom import DIR`)."""
    from ecomcli.generate import FORMATS, GenerateOptions, generate  # on use: start-up

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    opts = GenerateOptions(
        out=out,
        customers=customers,
        products=products,
        orders=orders,
        start=_date(start, "--from"),
        end=_date(end, "--to"),
        seed=seed,
        format=fmt,
        locale=locale,
        dirty=dirty,
    )
    began = time.perf_counter()
    summary = generate(opts)
    took = time.perf_counter() - began
    bad = f", {summary.bad_rows:,} bad rows listed in dirty.json" if dirty else ""
    info(
        f"wrote {summary.total:,} rows in {len(summary.counts)} {fmt} files to {out} "
        f"in {took:.1f} s ({summary.counts['orders']:,} orders, "
        f"{summary.counts['order_items']:,} order lines{bad}); see manifest.json"
    )
    if images:
        from ecomcli.images.drawing import draw_catalogue

        info(f"drew product pictures in {draw_catalogue(out)}")


def sample_dir() -> Path:
    """The committed sample store, next to the package (a source checkout)."""
    found = Path(ecomcli.__file__).resolve().parents[1] / "sample_data"
    if not (found / "orders.csv").is_file():
        raise NotFoundError(
            f"sample data not found at {found}: `ecom demo` needs a source checkout of ecom "
            "(or make your own store with `ecom generate --out DIR` and `ecom import DIR`)"
        )
    return found


def demo(db: DbOption = None, fmt: FormatOption = None) -> None:
    """Create the store, import the sample data and tour the headline reports."""
    from ecomcli import reports
    from ecomcli.importing import ImportOptions, import_paths

    data = sample_dir()
    fmt = default_format(fmt)
    with open_store(db, create=True) as store:
        store.init_schema()
        held = sum(store.counts().values())
        if held:
            info(
                f"{store.url.masked} already holds {held:,} rows: importing the sample anyway "
                "(imports are idempotent upserts)"
            )
        info(f"importing {data} into {store.url.masked} ...")
        summary = import_paths(store, [data], ImportOptions())
        rows = summary.rows()
        _section("Import")
        render(rows, list(rows[0]) if rows else [], fmt)
        if summary.rejected:
            info(f"{summary.rejected:,} rows rejected")
        status = store.status()
        _section(f"Status: {status['backend']} {status['url']}")
        render(
            [{"entity": k, "rows": v} for k, v in status["entities"].items()],
            ["entity", "rows"],
            fmt,
        )
        for title, name, params in TOUR:
            result = reports.run(store, name, params)
            shown = " ".join(f"--{k} {v}" for k, v in params.items())
            _section(f"{title}: ecom report {name} {shown}".rstrip())
            render_records(result.table, result.columns, fmt)
        from ecomcli.cli.images import tour

        tour(store, _section, fmt)
    info("next: `ecom report --help` lists every report; `ecom status` shows the store")


def _section(title: str) -> None:
    info("")
    info(f"== {title}")
