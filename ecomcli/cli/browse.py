"""Conveniences users reach for first: `ecom customers orders C` (a customer's orders
with their totals), `ecom orders get O` (an order with its lines and total) and
`ecom query` (a read-only ad-hoc query, as `sqlite-utils query` gives)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ecomcli import history
from ecomcli.cli.common import (
    App,
    DbOption,
    FormatOption,
    OutputFormat,
    default_format,
    info,
    open_store,
    render,
    render_one,
    render_records,
)
from ecomcli.exporting import plain


def register(app: App) -> None:
    app.command("query")(query_command)


def query_command(
    text: Annotated[
        str,
        typer.Argument(
            metavar="QUERY",
            help='SQL (one SELECT) on SQLite and MySQL; on MongoDB a JSON find or pipeline: '
            '\'{"find": "orders", "filter": {"status": "paid"}}\' or '
            '\'{"aggregate": "orders", "pipeline": [...]}\'.',
        ),
    ],
    db: DbOption = None,
    fmt: FormatOption = None,
) -> None:
    """Run a read-only ad-hoc query and print its rows. The store cannot be changed by it:
    SQLite opens the file read-only, MySQL runs it in a READ ONLY transaction, MongoDB
    refuses $out and $merge. Values are as the database stores them (SQLite keeps money
    as whole cents)."""
    with open_store(db) as store:
        columns, rows = store.read_query(text)
        render_records(rows, columns, default_format(fmt))


def customers_orders(
    customer_id: Annotated[str, typer.Argument(metavar="ID", help="The customer id.")],
    db: DbOption = None,
    fmt: FormatOption = None,
) -> None:
    """The customer's orders, oldest first, with lines, units and total (exit 3 if there
    is no such customer)."""
    with open_store(db) as store:
        orders = history.customer_orders(store, customer_id)
    render(orders, history.ORDER_COLUMNS, default_format(fmt))
    spent = sum(o["total"] for o in orders)
    info(f"customer {customer_id}: {len(orders)} order(s), total {spent}")


def orders_get(
    order_id: Annotated[str, typer.Argument(metavar="ID", help="The order id.")],
    db: DbOption = None,
    fmt: FormatOption = None,
) -> None:
    """Show one order with its lines and total (exit 3 if there is none). JSON nests the
    lines; csv, tsv, ndjson and md give the order's row with its lines, units and total
    (`ecom order-items list -w order_id=ID` lists the lines)."""
    with open_store(db) as store:
        order, lines = history.order_with_lines(store, order_id)
    fmt = default_format(fmt)
    if fmt is OutputFormat.json:
        nested = {k: plain(v) for k, v in order.items()}
        nested["items"] = [{k: plain(v) for k, v in line.items()} for line in lines]
        typer.echo(json.dumps(nested, ensure_ascii=False, indent=2))
        return
    render_one(order, fmt)
    if fmt is OutputFormat.table:
        render(lines, history.LINE_COLUMNS, fmt, title="lines")
