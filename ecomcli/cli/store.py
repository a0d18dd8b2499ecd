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
    shards: Annotated[
        str | None,
        typer.Option(
            "--shards",
            help="Shard the store over these MariaDB data nodes (comma-separated mysql:// "
            "URLs) with Spider; --db is the Spider head. See docs/clusters.md.",
        ),
    ] = None,
) -> None:
    """Create the store's schema, or add what an earlier ecom's lacks (idempotent)."""
    url = parse_url(db)
    if drop and not yes:
        if not common.interactive():
            raise UsageError("--drop destroys data: pass --yes when not on a terminal")
        if not typer.confirm(f"Destroy all ecom data in {url.masked}?", default=False, err=True):
            raise UsageError("not confirmed: nothing dropped (pass --yes to skip the question)")
    with open_store(db, create=True) as store:
        if shards:
            result = store.init_sharded([u.strip() for u in shards.split(",")], drop=drop)
        else:
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
    shards = data.get("shards", [])
    for s in shards:  # a sharded store: the rows of each entity on each data node
        for row in rows:
            row[f"shard {s['shard']}"] = s["rows"].get(row["entity"], "")
    if shards and fmt is OutputFormat.table:
        info("shards: " + ", ".join(f"{s['shard']}: {s['server']}" for s in shards))
    render(rows, ["entity", "rows", *(f"shard {s['shard']}" for s in shards)], fmt)
