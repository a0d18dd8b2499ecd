"""What every command shares: option aliases, the output-format enum, rendering, and the
single place where an `EcomError` becomes a one-line message and an exit code.

Data goes to stdout; messages, progress and errors go to stderr, so stdout stays
parseable in scripts.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import json
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, TextIO, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from ecomcli.cli.pipes import closed_stdout
from ecomcli.config import mask_secret
from ecomcli.errors import EcomError
from ecomcli.exporting import plain
from ecomcli.repository import Repository, connect

F = TypeVar("F", bound=Callable[..., Any])

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class Settings:
    """Global flags from the root callback."""

    verbose = False
    quiet = False


settings = Settings()


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    ndjson = "ndjson"
    md = "md"


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="ECOM_DB",
        show_envvar=True,
        help="Database URL: sqlite:///FILE, mysql://USER@HOST/DB, mongodb://HOST/DB. "
        "Default sqlite:///ecom.db. The password may come from ECOM_DB_PASSWORD.",
    ),
]
FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format", "-f", help="Output format (default: table on a terminal, csv otherwise)."
    ),
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def interactive() -> bool:
    """Whether a person can answer a question on stdin."""
    return sys.stdin.isatty()


def open_store(db: str | None, *, create: bool = False) -> Repository:
    """The store at `db`; only a command that creates one (`create`) makes a new file."""
    return connect(db, create=create)


def fail(error: EcomError) -> typer.Exit:
    """Print `error` as one line on stderr and return the Exit to raise."""
    if settings.verbose:
        traceback.print_exception(error, file=sys.stderr)
    stderr.print(f"[bold red]error:[/] {mask_secret(str(error))}", markup=True, highlight=False)
    return typer.Exit(error.exit_code)


def _mapped(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EcomError as e:
            raise fail(e) from None
        except KeyboardInterrupt:
            stderr.print("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            raise closed_stdout() from None

    return wrapper  # type: ignore[return-value]


class App(typer.Typer):
    """A Typer app whose commands turn `EcomError` into a message and its exit code."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("pretty_exceptions_enable", False)
        kwargs.setdefault("rich_markup_mode", "rich")
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:  # type: ignore[override]
        register = super().command(*args, **kwargs)

        def decorator(fn: F) -> F:
            register(_mapped(fn))
            return fn

        return decorator

    def callback(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:  # type: ignore[override]
        register = super().callback(*args, **kwargs)

        def decorator(fn: F) -> F:
            register(_mapped(fn))
            return fn

        return decorator


# --- output -------------------------------------------------------------------------------


TERMINAL_ROWS = 100  # at most this many rows in a table on a terminal, unless --limit


def default_format(fmt: OutputFormat | None, out: TextIO | None = None) -> OutputFormat:
    if fmt is not None:
        return fmt
    return OutputFormat.table if (out or sys.stdout).isatty() else OutputFormat.csv


def render(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    fmt: OutputFormat,
    out: TextIO | None = None,
    *,
    title: str | None = None,
    cap: int | None = None,
    more: str = "",
) -> None:
    """Write dict rows to `out` (stdout) in `fmt`: see `render_records`."""
    records = (tuple(row.get(c) for c in columns) for row in rows)
    render_records(records, columns, fmt, out, title=title, cap=cap, more=more)


# `str()` of a Decimal, date or datetime is what `exporting.plain` gives (and a C call)
JSON: dict[str, Any] = {"ensure_ascii": False, "default": str}


def render_records(
    records: Iterable[Sequence[Any]],
    columns: Sequence[str],
    fmt: OutputFormat,
    out: TextIO | None = None,
    *,
    title: str | None = None,
    cap: int | None = None,
    total: int | None = None,
    more: str = "",
) -> None:
    """Write records (values in `columns` order) to `out` (stdout) in `fmt`. Streams for
    csv and ndjson. Values are written as `exporting.plain` gives them: `str()` of a
    Decimal, date or datetime is that (the csv module's own conversion, and JSON's
    `default`), and None is empty in csv: 1.2M report rows are written without a Python
    function call per value.

    A table on a terminal shows at most `cap` rows (None: all, as when the user chose a
    --limit) and says so on stderr, with how many there are (`total`, if known) and how to
    get the rest (`more`): Rich lays out 50,000 rows in ~30 s, and nobody reads them on a
    screen."""
    out = out or sys.stdout
    if fmt is OutputFormat.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(records)
    elif fmt is OutputFormat.ndjson:
        encode = json.JSONEncoder(**JSON).encode  # one encoder: json.dumps makes one a call
        for record in records:
            out.write(encode(dict(zip(columns, record, strict=True))))
            out.write("\n")
    elif fmt is OutputFormat.json:
        data = [dict(zip(columns, record, strict=True)) for record in records]
        out.write(json.JSONEncoder(indent=2, **JSON).encode(data) + "\n")
    elif fmt is OutputFormat.md:
        out.write("| " + " | ".join(columns) + " |\n")
        out.write("|" + "|".join(" --- " for _ in columns) + "|\n")
        for record in records:
            cells = [_cell(v).replace("|", "\\|") for v in record]
            out.write("| " + " | ".join(cells) + " |\n")
    else:
        table = Table(title=title, show_lines=False)
        capped = cap is not None and out.isatty()
        materialized = list(itertools.islice(records, cap + 1) if capped else records)
        left_out = capped and len(materialized) > cap
        if left_out:
            del materialized[cap:]
        for i, c in enumerate(columns):
            numeric = any(isinstance(r[i], int | float | Decimal) for r in materialized[:50])
            table.add_column(c, justify="right" if numeric else "left")
        for record in materialized:
            table.add_row(*map(_cell, record))
        Console(file=out, highlight=False).print(table)
        if left_out:
            of = f" of {total:,}" if total is not None else ""
            info(f"showing the first {cap}{of} rows{': ' + more if more else ''}")


def _cell(value: Any) -> str:
    value = plain(value)
    return "" if value is None else str(value)


def render_one(row: dict[str, Any], fmt: OutputFormat, out: TextIO | None = None) -> None:
    """One record: a two-column field/value table on a terminal, else like `render`."""
    if fmt is OutputFormat.table:
        render(({"field": k, "value": v} for k, v in row.items()), ["field", "value"], fmt, out)
    elif fmt is OutputFormat.json:
        (out or sys.stdout).write(
            json.dumps({k: plain(v) for k, v in row.items()}, ensure_ascii=False, indent=2) + "\n"
        )
    else:
        render([row], list(row), fmt, out)


def info(message: str) -> None:
    """A progress or confirmation message on stderr (silent with --quiet)."""
    if not settings.quiet:
        stderr.print(message, markup=False, highlight=False)


def to_text(rows: Iterable[dict[str, Any]], columns: Sequence[str], fmt: OutputFormat) -> str:
    buf = io.StringIO()
    render(rows, columns, fmt, buf)
    return buf.getvalue()
