"""What every command shares: option aliases, the output-format enum, rendering, and the
single place where an `EcomError` becomes a one-line message and an exit code.

Data goes to stdout; messages, progress and errors go to stderr, so stdout stays
parseable in scripts.
"""

from __future__ import annotations

import csv
import functools
import inspect
import io
import itertools
import json
import re
import sys
import traceback
import typing
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, TextIO, TypeVar

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ecomcli.cli.pipes import closed_stdout
from ecomcli.config import mask_secret
from ecomcli.errors import EcomError, UsageError
from ecomcli.exporting import plain
from ecomcli.repository import Repository, connect

F = TypeVar("F", bound=Callable[..., Any])

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    ndjson = "ndjson"
    md = "md"
    tsv = "tsv"


class Settings:
    """Global options: given before the sub-command (the root callback) or after it (each
    command's own copy, see `with_globals`), with one meaning."""

    verbose = False
    quiet = False
    db: str | None = None
    format: OutputFormat | None = None


settings = Settings()




DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="Database URL: sqlite:///FILE, mysql://USER@HOST/DB, mongodb://HOST/DB. "
        "Default: $ECOM_DB, else sqlite:///ecom.db. The password may come from "
        "ECOM_DB_PASSWORD.",
    ),
]
FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="Output format: table, csv, tsv, json, ndjson, md "
        "(default: table on a terminal, csv otherwise).",
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
    # Escaped: a message naming a value or a file with brackets in it must print whole.
    message = escape(mask_secret(str(error)))
    stderr.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
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


class Callback:
    """`fn` as Typer calls a command: the global options added (`with_globals`) and
    `EcomError` mapped (`_mapped`). It is made when Typer first reads its signature: a run
    makes the click commands of the groups it names only (`named_groups_only`), so most of
    the hundred-odd commands are never made. `make`, if given, makes `fn` itself."""

    def __init__(self, fn: Callable[..., Any],
                 make: Callable[[], Callable[..., Any]] | None = None) -> None:
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        self._make = make or (lambda: fn)

    @functools.cached_property
    def made(self) -> Callable[..., Any]:
        return with_globals(_mapped(self._make()))

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self.made)

    @property
    def __annotations__(self) -> dict[str, Any]:  # type: ignore[override]
        return self.made.__annotations__

    @property
    def __wrapped__(self) -> Callable[..., Any]:
        return self.made  # where `typing.get_type_hints` finds the module of `fn`

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.made(*args, **kwargs)


class App(typer.Typer):
    """A Typer app whose commands turn `EcomError` into a message and its exit code."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("pretty_exceptions_enable", False)
        kwargs.setdefault("rich_markup_mode", None)
        kwargs.setdefault("cls", Group)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:  # type: ignore[override]
        kwargs.setdefault("cls", Command)
        register = super().command(*args, **kwargs)

        def decorator(fn: F) -> F:
            register(fn if isinstance(fn, Callback) else Callback(fn))
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
    if fmt in (OutputFormat.csv, OutputFormat.tsv):
        delimiter = "\t" if fmt is OutputFormat.tsv else ","
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
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


# --- global options anywhere ------------------------------------------------------------
#
# `--db`, `--format` (and its shorthands), `--quiet` and `--verbose` may come before the
# sub-command (the root callback stores them in `settings`) or after it: every command
# gets its own copy, which wins, and the other falls back to `settings`. The copies are
# added here to each command's signature, so no command declares them by hand.

QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print nothing but data and errors.")
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show tracebacks and more detail.")
]
CsvFlag = Annotated[bool, typer.Option("--csv", help="Same as --format csv.")]
TsvFlag = Annotated[bool, typer.Option("--tsv", help="Same as --format tsv.")]
NlFlag = Annotated[bool, typer.Option("--nl", help="Same as --format ndjson (one JSON a line).")]

_FLAGS: dict[str, Any] = {"quiet": QuietOption, "verbose": VerboseOption}
_SHORTHANDS: dict[str, tuple[Any, OutputFormat]] = {
    "csv_": (CsvFlag, OutputFormat.csv),
    "tsv_": (TsvFlag, OutputFormat.tsv),
    "nl_": (NlFlag, OutputFormat.ndjson),
}
_GLOBAL = "global__"  # prefix of the parameters added to a command


def shorthand_format(fmt: Any, **flags: bool) -> Any:
    """The format chosen by --format or one of --csv/--tsv/--nl (not two of them)."""
    chosen = [f for name, (_, f) in _SHORTHANDS.items() if flags.get(name)]
    if fmt is not None:
        chosen.append(fmt)
    if len(set(chosen)) > 1:
        raise UsageError("give one output format: --format, --csv, --tsv or --nl")
    return chosen[0] if chosen else None


def set_globals(
    *, quiet: bool = False, verbose: bool = False, db: str | None = None, fmt: Any = None
) -> None:
    """Merge the global options given on one side of the sub-command into `settings`."""
    settings.quiet = settings.quiet or quiet
    settings.verbose = settings.verbose or verbose
    settings.db = db or settings.db
    settings.format = fmt or settings.format


def _enum_of(annotation: Any) -> type[StrEnum] | None:
    """The StrEnum inside `Annotated[E | None, ...]`, if any."""
    for arg in typing.get_args(typing.get_args(annotation)[0] if typing.get_args(annotation)
                               else annotation):
        if isinstance(arg, type) and issubclass(arg, StrEnum):
            return arg
    return None


def with_globals(fn: F) -> F:
    """`fn` with the global options it does not declare itself added to its signature.

    A command's own `db` and `fmt` (an output format) default to the ones given before
    the sub-command; its `--quiet`/`--verbose` add to them."""
    sig = inspect.signature(fn, eval_str=True)
    own = sig.parameters
    added = [name for name in _FLAGS if name not in own]
    formats = _enum_of(own["fmt"].annotation) if "fmt" in own else None
    shorthands = list(_SHORTHANDS) if formats is not None else []
    extra = [
        inspect.Parameter(_GLOBAL + name, inspect.Parameter.KEYWORD_ONLY, default=False,
                          annotation=_FLAGS.get(name) or _SHORTHANDS[name][0])
        for name in added + shorthands
    ]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {name: kwargs.pop(_GLOBAL + name, False) for name in added + shorthands}
        flags = {name: given.get(name) or kwargs.get(name, False) for name in _FLAGS}
        fmt = None
        try:
            if formats is not None:
                fmt = shorthand_format(kwargs.get("fmt"), **{n: given[n] for n in shorthands})
            set_globals(**flags, db=kwargs.get("db"), fmt=fmt)
            if "db" in own:
                kwargs["db"] = settings.db
            if formats is not None and settings.format is not None:
                kwargs["fmt"] = _as_format(formats, settings.format)
        except EcomError as e:
            raise fail(e) from None
        return fn(*args, **kwargs)

    params = [p for p in own.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    wrapper.__signature__ = sig.replace(parameters=[*params, *extra])  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _as_format(formats: type[StrEnum], value: Any) -> Any:
    try:
        return formats(str(value))
    except ValueError:
        names = ", ".join(f.value for f in formats)
        raise UsageError(f"--format {value}: this command writes one of {names}") from None


# --- help: placeholders people read ---------------------------------------------------


def placeholder(param: Any) -> str:
    """What `--help` shows for a value: a flag nothing, a choice its values, a number N,
    a path FILE, a date DATE, other text the option's name (`--entity ENTITY`)."""
    if getattr(param, "is_flag", False):
        return ""
    kind = param.type  # Click's parameter type, as Typer made it from the annotation
    if kind.name == "choice":
        return "|".join(str(getattr(c, "value", c)) for c in kind.choices)
    if kind.name in ("path", "filename"):
        return "FILE"
    if kind.name in ("int", "float"):
        return "N"
    text = getattr(param, "help", None) or ""
    if "YYYY-MM-DD" in text:
        return "DATE"
    if written := re.match(r"([A-Z][A-Z_]+(?:[:= ][A-Z_]+)+)\b", text):  # "PRODUCT:QTY, ..."
        return written.group(1)
    if re.search(r"\bid\b", text):
        return "ID"
    return (param.name or "value").upper().strip("_")


def _placeholders(params: list[Any]) -> None:
    for param in params:
        if param.metavar is None:
            # Typer writes an argument's metavar as given: the "..." of a list is ours
            many = param.param_type_name == "argument" and param.nargs != 1
            param.metavar = placeholder(param) + ("..." if many else "")
        if param.param_type_name == "argument":
            # an argument's name column shows its metavar; no type column beside it
            param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]


class Command(typer.core.TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _placeholders(params)
        return params


class Group(typer.core.TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _placeholders(params)
        return params
