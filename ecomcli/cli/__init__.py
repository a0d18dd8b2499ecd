"""The `ecom` command: a thin Typer layer over the library.

Each module registers one concern: `store` (init-db, status), `data` (import, export,
copy), `report`, `records` (a sub-app per entity, orders, carts, wishlists, inventory)
and `sample` (generate, demo). `main()` is the console-script entry point.
"""

from __future__ import annotations

import copy
import os
import sys
import warnings
from typing import Annotated, TextIO

import typer
from typer.models import CommandInfo

from ecomcli.cli import browse, data, images, recommend, records, report, sample, store
from ecomcli.cli.common import (
    App,
    CsvFlag,
    DbOption,
    FormatOption,
    NlFlag,
    QuietOption,
    TsvFlag,
    VerboseOption,
    fail,
    set_globals,
    settings,
    shorthand_format,
)
from ecomcli.cli.pipes import closed_stdout
from ecomcli.errors import EcomError
from ecomcli.launch import version_line

app = App(
    name="ecom",
    help="Manage an online store's data (SQLite, MySQL, MongoDB) and report on it.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(version_line())
        raise typer.Exit()


@app.callback()
def root(
    db: DbOption = None,
    fmt: FormatOption = None,
    csv_: CsvFlag = False,
    tsv_: TsvFlag = False,
    nl_: NlFlag = False,
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Options given here apply to the sub-command, as they do after it."""
    settings.quiet = settings.verbose = False
    settings.db = settings.format = None
    fmt = shorthand_format(fmt, csv_=csv_, tsv_=tsv_, nl_=nl_)
    set_globals(quiet=quiet, verbose=verbose, db=db, fmt=fmt)
    warnings.showwarning = _warning


def _warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:
    """A library's warning (a summary build that failed and was left to the reports, say)
    as one line; `--verbose` adds where it was raised, as Python shows it."""
    if settings.verbose:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))
    else:
        sys.stderr.write(f"warning: {message}\n")


for module in (store, data, report, records, sample, browse, images, recommend):
    module.register(app)


def named_groups_only(argv: list[str]) -> App:
    """`app` for one run: Typer turns every command into a click command on each run,
    reading every parameter's type hints (113 commands, ~40% of the start-up of `ecom
    --version`), so a command or command group that `argv` does not name keeps its name
    and help (what `ecom --help` lists) and no parameters or sub-commands. Shell
    completion gets them all."""
    if any(name.endswith("_COMPLETE") for name in os.environ):
        return app
    words = set(argv)
    run = copy.copy(app)
    run.registered_commands = [
        info if info.name in words else _listed_only(info) for info in app.registered_commands
    ]
    run.registered_groups = []
    for info in app.registered_groups:
        if info.name not in words and info.typer_instance is not None:
            info = copy.copy(info)
            info.typer_instance = copy.copy(info.typer_instance)
            info.typer_instance.registered_commands = []
            info.typer_instance.registered_groups = []
        run.registered_groups.append(info)
    return run


def _listed_only(info: CommandInfo) -> CommandInfo:
    """`info` with a callback of no parameters and the same help."""

    def listed() -> None:
        pass

    listed.__doc__ = info.callback.__doc__ if info.callback else None
    info = copy.copy(info)
    info.callback = listed
    return info


def main() -> None:
    try:
        named_groups_only(sys.argv[1:])()
    except EcomError as e:  # raised outside a command (rare): same message and code
        raise SystemExit(fail(e).exit_code) from None
    except KeyboardInterrupt:
        sys.exit(130)
    finally:  # a reader such as `head` closed the pipe: leave quietly, as Unix tools do
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            raise SystemExit(closed_stdout().exit_code) from None
