"""`ecom report NAME`: run a named report (see `ecom report --list` and docs/reports.md).

One command whose report options are generated from the report specs
(`ecomcli/reports/defs/`): each report accepts only its own, and any other one given is
a usage error naming the valid ones. `ecom report NAME --help` shows that report's
options and columns, generated from its spec too.
"""

from __future__ import annotations

import functools
import inspect
import typing
from pathlib import Path
from typing import Annotated, Any

import typer

from ecomcli import reports
from ecomcli.cli.common import (
    TERMINAL_ROWS,
    App,
    Callback,
    Command,
    DbOption,
    FormatOption,
    default_format,
    info,
    open_store,
    render,
    render_records,
)
from ecomcli.cli.progress import after_a_second
from ecomcli.errors import EcomError, UsageError
from ecomcli.outputs import open_replacing, refuse_clobber
from ecomcli.reports.chart import chart_of, charted
from ecomcli.reports.model import Option, ReportSpec

LIST_DEFAULT = "inactive"  # customer-activity --list: the win-back mailing
# how each kind of option value is shown in help
METAVARS = {"date": "YYYY-MM-DD", "int": "N", "decimal": "PERCENT", "text": "ID"}


def register(app: App) -> None:
    # made when first run: its options come from every report module, which a run that
    # does not name `report` (`ecom --help`) need not import
    command = Callback(report, make=lambda: _generated(report))
    app.command("report", no_args_is_help=True, cls=ReportCommand)(command)


def _fixed(
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
    fmt: FormatOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the result to FILE.")
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart",
            help="Also draw the result into FILE.png. Reports with a chart: "
            + ", ".join(charted()) + ".",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """The parameters every report takes (its own are generated: `_generated`)."""


def report(
    name: str | None,
    which: str | None,
    list_: bool,
    fmt: Any,
    output: Path | None,
    chart: Path | None,
    db: str | None,
    **options: Any,
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
    given: dict[str, Any] = {"list": (which or LIST_DEFAULT) if list_ else None}
    for opt in _options().values():
        value = options[_python_name(opt)]
        given[opt.name] = (value or None) if opt.kind == "flag" else value
    params = {k: v for k, v in given.items() if v is not None}
    spec.params(params)  # a wrong option is a usage error before connecting
    drawn = chart_of(name, params, chart) if chart is not None else None
    with open_store(db) as store:
        outputs = [("--output", output), ("--chart", chart)]
        refuse_clobber(outputs, store.files(), store_name=store.url.masked)
        with after_a_second(
            f"report {name}: working (after new data, a first report rebuilds its summaries)"
        ):
            result = reports.run(store, name, params)
    for note in result.notes:
        info(note)
    if chart is not None and drawn is not None:
        from ecomcli.reports.chart import write_chart

        write_chart(result, drawn, chart)
        info(f"chart written to {chart}")
    if output is None:
        # a report with --limit shows its first rows on a terminal unless given one
        cap = TERMINAL_ROWS if spec.option("limit") and "limit" not in params else None
        render_records(
            result.table, result.columns, default_format(fmt), title=result.title,
            cap=cap, total=len(result),
            more="--limit N for more, --format csv or --output FILE for every row",
        )  # fmt: skip
        if not len(result):  # (an empty table alone leaves a person wondering why)
            period = " in this period" if {"from", "to"} & params.keys() else ""
            info(f"report {name}: no rows: nothing in the store for it{period}")
        return
    try:
        with open_replacing(output, gz=False) as out:
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


# --- options and help generated from the specs ---------------------------------------------


# the command's own options: no report may name one of its options so
RESERVED = ("format", "output", "chart", "db", "help")


@functools.cache
def _options() -> dict[str, Option]:
    """Each option name any report takes, once (`list` is the command's own --list)."""
    found: dict[str, Option] = {}
    for s in reports.REPORTS.values():
        for opt in s.options:
            if opt.name in RESERVED:
                raise AssertionError(f"report {s.name}: {opt.flag} is ecom report's own")
            first = found.setdefault(opt.name, opt) if opt.name != "list" else opt
            if first.kind != opt.kind:  # one flag, one type of value
                raise AssertionError(f"report {s.name}: {opt.flag} is a {first.kind} elsewhere")
    return found


def _python_name(opt: Option) -> str:
    return "from_" if opt.name == "from" else opt.name


def _shared_help(name: str) -> str:
    """The option's help, once if every report gives the same, else per report."""
    helps = {
        s.name: opt.help for s in reports.REPORTS.values() for opt in s.options if opt.name == name
    }
    if len(set(helps.values())) == 1:
        return next(iter(helps.values()))
    return "; ".join(f"{report}: {text}" for report, text in helps.items())


def _metavar(name: str) -> str | None:
    """Its values' form: the choices any report allows, or the kind's."""
    found = [o for s in reports.REPORTS.values() for o in s.options if o.name == name]
    choices = dict.fromkeys(c for o in found for c in o.choices)
    return "|".join(choices) if choices else METAVARS.get(found[0].kind)


def _parameter(opt: Option) -> inspect.Parameter:
    kind: Any = {"flag": bool, "int": int | None}.get(opt.kind, str | None)
    default: Any = False if opt.kind == "flag" else None
    meta = typer.Option(
        opt.flag, help=_shared_help(opt.name), metavar=_metavar(opt.name), show_default=False
    )
    return inspect.Parameter(
        _python_name(opt), inspect.Parameter.KEYWORD_ONLY, default=default,
        annotation=Annotated[kind, meta],
    )  # fmt: skip


def _generated(fn: Any) -> Any:
    """`fn` (taking the report options as keywords) with a signature Typer reads: the
    parameters of `_fixed`, then one option per report option name (`_options`)."""
    hints = typing.get_type_hints(_fixed, include_extras=True)
    fixed = [
        p.replace(annotation=hints[p.name], kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(_fixed).parameters.values()
    ]
    params = [*fixed, *map(_parameter, _options().values())]

    def command(**kwargs: Any) -> None:
        fn(**kwargs)

    command.__doc__ = fn.__doc__
    command.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command


class ReportCommand(Command):
    """`ecom report NAME --help`: that report's own help, from its spec."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if any(a in ctx.help_option_names for a in args):
            name = next((a for a in args if a in reports.REPORTS), None)
            if name is not None:
                typer.echo(report_help(reports.spec(name)))
                ctx.exit(0)
        return super().parse_args(ctx, args)


def report_help(s: ReportSpec) -> str:
    """A report's usage, options (with defaults and choices) and columns."""
    lines = [f"Usage: ecom report {s.name} [OPTIONS]", "", s.description, "", "Options:"]
    rows = []
    for opt in s.options:
        shown = opt.flag
        if opt.name == "list" or opt.kind == "choice":
            shown += f" [{'|'.join(opt.choices)}]"
        elif opt.kind != "flag":
            shown += f" {METAVARS[opt.kind]}"
        text = opt.help
        if opt.default not in (None, False):
            text += f" (default: {opt.default})"
        if opt.name == "list":
            text += f" (alone: {LIST_DEFAULT})"
        rows.append((shown, text))
    width = min(max((len(f) for f, _ in rows), default=0), 28)
    for shown, text in rows:  # a long one (many choices): its help on the next line
        lines += (
            [f"  {shown}", f"  {'':{width}}  {text}"]
            if len(shown) > width
            else [f"  {shown:{width}}  {text}"]
        )
    if not rows:
        lines.append("  (none)")
    lines += ["", "Columns:", f"  {', '.join(s.columns(s.params({})))}"]
    for opt in s.options:  # an option that changes the columns: its own
        for value in opt.choices or ((True,) if opt.kind == "flag" else ()):
            other = s.columns(s.params({opt.name: value}))
            if other != s.columns(s.params({})):
                how = opt.flag if value is True else f"{opt.flag} {value}"
                lines.append(f"  with {how}: {', '.join(other)}")
    if s.money:
        money = [c for c in (*s.money, *s.derived_money)]
        lines += ["", f"Money columns (two decimals): {', '.join(money)}"]
    lines += [
        "",
        "Every report also takes --format, --output FILE, --chart FILE.png and --db URL",
        "(see `ecom report --help`).",
    ]
    return "\n".join(lines)
