"""`ecom init-db` and `ecom status`: create the store's schema and look at it."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ecomcli.cli import common
from ecomcli.cli.common import (
    App,
    DbOption,
    FormatOption,
    OutputFormat,
    YesOption,
    default_format,
    info,
    open_store,
    render,
)
from ecomcli.config import parse_url
from ecomcli.errors import UsageError


def register(app: App) -> None:
    app.command("init-db")(init_db)
    app.command("status")(status)


def init_db(
    db: DbOption = None,
    drop: Annotated[
        bool, typer.Option("--drop", help="Destroy every ecom table/collection and recreate it.")
    ] = False,
    yes: YesOption = False,
) -> None:
    """Create the store's schema, or add what an earlier ecom's lacks (idempotent)."""
    url = parse_url(db)
    if drop and not yes:
        if not common.interactive():
            raise UsageError("--drop destroys data: pass --yes when not on a terminal")
        if not typer.confirm(f"Destroy all ecom data in {url.masked}?", default=False, err=True):
            raise UsageError("not confirmed: nothing dropped (pass --yes to skip the question)")
    with open_store(db, create=True) as store:
        result = store.init_schema(drop=drop)
    if result.created:
        info(
            f"initialised {url.masked}: schema version {result.version}, "
            f"created {', '.join(result.created)}"
        )
    else:
        info(f"{url.masked} is up to date (schema version {result.version}): nothing to do")


def status(db: DbOption = None, fmt: FormatOption = None) -> None:
    """Backend, URL (secret masked), schema version and rows per entity."""
    with open_store(db) as store:
        data = store.status()
    fmt = default_format(fmt)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(data, indent=2))
        return
    if fmt is OutputFormat.table:
        version = data["schema_version"]
        info(f"{data['backend']} {data['url']}  schema version: {version or 'none (run init-db)'}")
    rows = [{"entity": k, "rows": v} for k, v in data["entities"].items()]
    render(rows, ["entity", "rows"], fmt)
