"""The `ecom` command: a thin Typer layer over the library.

Each module registers one concern: `store` (init-db, status), `data` (import, export,
copy), `report`, `records` (a sub-app per entity, orders, carts, wishlists, inventory)
and `sample` (generate, demo). `main()` is the console-script entry point.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated

import typer

from ecomcli import __version__
from ecomcli.cli import data, recommend, records, report, sample, store
from ecomcli.cli.common import App, fail, settings
from ecomcli.errors import EcomError

app = App(
    name="ecom",
    help="Manage an online store's data (SQLite, MySQL, MongoDB) and report on it.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ecom {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks and more detail.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing but data and errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    settings.verbose = verbose
    settings.quiet = quiet


for module in (store, data, report, records, sample, recommend):
    module.register(app)


def main() -> None:
    try:
        app()
    except EcomError as e:  # raised outside a command (rare): same message and code
        raise SystemExit(fail(e).exit_code) from None
    except KeyboardInterrupt:
        sys.exit(130)
    finally:  # a reader such as `head` closed the pipe: leave quietly, as Unix tools do
        with contextlib.suppress(BrokenPipeError):
            sys.stdout.flush()
