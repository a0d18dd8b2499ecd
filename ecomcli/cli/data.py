"""`ecom import`, `ecom export` and `ecom copy`: thin commands over `ecomcli.importing`
and `ecomcli.exporting`."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ecomcli import records, schema
from ecomcli.cli.common import (
    App,
    DbOption,
    fail,
    info,
    open_store,
    settings,
    stderr,
)
from ecomcli.cli.progress import RowsBar
from ecomcli.cli.records import Columns, Where, WhereWords
from ecomcli.errors import OK, REJECTED_ROWS, UsageError
from ecomcli.exporting import copy_store, counted, export_all, write_rows
from ecomcli.outputs import open_replacing, refuse_clobber
from ecomcli.records import ListOptions
from ecomcli.repository import Mode, connect

if TYPE_CHECKING:  # the importer and rich.progress load when a command needs them (issue 25)
    from rich.progress import TaskID

    from ecomcli.importing import ImportSummary


class FileFormat(StrEnum):
    csv = "csv"
    tsv = "tsv"
    json = "json"
    ndjson = "ndjson"


SUMMARY_COLUMNS = [
    "entity", "read", "inserted", "updated", "unchanged", "ignored", "rejected", "skipped",
    "seconds", "rows_per_s",
]


def register(app: App) -> None:
    app.command("import")(import_command)
    app.command("export")(export_command)
    app.command("copy")(copy_command)


class _Bar:
    """A Rich progress bar with rows/s on stderr (terminals only)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[rows]:,} rows"),
            TextColumn("{task.fields[rate]:,.0f} rows/s"),
            TimeElapsedColumn(),
            console=stderr,
            transient=True,
        )
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, name: str, rows: int, done: int, total: int) -> None:
        if name not in self.tasks:
            self.tasks[name] = self.bar.add_task(name, total=total or None, rows=0, rate=0.0)
        task = self.tasks[name]
        elapsed = self.bar.tasks[task].elapsed or 0
        self.bar.update(task, completed=done, rows=rows, rate=rows / elapsed if elapsed else 0)


def _print_summary(summary: ImportSummary, as_json: bool, quiet: bool) -> None:
    if as_json:
        typer.echo(json.dumps(summary.to_dict()))
        return
    if quiet:
        return
    for note in summary.notices:
        info(note)
    for skipped in summary.skipped:
        info(f"skipped {skipped}: not a file ecom recognises (name it after an entity or map it)")
    title = "import (dry run: nothing written)" if summary.dry_run else "import"
    table = Table(title=title)
    for c in SUMMARY_COLUMNS:
        table.add_column(c, justify="left" if c == "entity" else "right")
    for row in summary.rows():
        table.add_row(
            *(f"{row[c]:,}" if isinstance(row[c], int) else str(row[c]) for c in SUMMARY_COLUMNS)
        )
    width = None if sys.stderr.isatty() else 120
    Console(file=sys.stderr, highlight=False, width=width).print(table)
    info(f"{summary.rejected} rejected, {summary.seconds:.2f} s")
    for path in summary.rejects_files:
        info(f"rejected rows written to {path}")


def import_command(
    paths: Annotated[
        list[str], typer.Argument(help="Files, folders, or - for stdin (.gz files too).")
    ],
    db: DbOption = None,
    entity: Annotated[
        str | None, typer.Option("--entity", "-e", help="Entity (default: from the file name).")
    ] = None,
    mode: Annotated[
        Mode, typer.Option("--mode", help="What to do with keys that already exist.")
    ] = Mode.UPSERT,
    map_file: Annotated[
        Path | None, typer.Option("--map", help="A TOML mapping file (see docs/importing.md).")
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects", help="Rejects file (default: NAME.rejects.csv next to the input)."
        ),
    ] = None,
    max_errors: Annotated[
        int | None, typer.Option("--max-errors", help="Stop after more rejected rows.")
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            help="Rows per batch (each batch commits atomically). "
            "Default: 50,000 on SQLite and MySQL, 10,000 on MongoDB.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count; write nothing.")
    ] = False,
    encoding: Annotated[str, typer.Option("--encoding", help="Text encoding.")] = "utf-8-sig",
    delimiter: Annotated[
        str | None, typer.Option(
            "--delimiter",
            help="CSV field delimiter (\\t for tab), or whitespace: columns aligned with "
            "runs of spaces or tabs.",
        )
    ] = None,
    date_format: Annotated[
        str | None, typer.Option("--date-format", help="strptime format, e.g. %d/%m/%Y %H:%M.")
    ] = None,
    input_format: Annotated[
        FileFormat | None,
        typer.Option("--format", help="Input format (default: from the extension)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object on stdout.")
    ] = False,
) -> None:
    """Import rows from files into the store (validated, in batches, safe to re-run).

    Exit codes: 0 all rows imported, 4 some rows rejected, 1 fatal, 2 usage."""
    from ecomcli.importing import ImportOptions, ImportStopped, import_paths

    quiet = quiet or settings.quiet
    options = ImportOptions(
        entity=entity,
        mode=mode,
        mapping=map_file,
        rejects=rejects,
        max_errors=max_errors,
        batch_size=batch_size,
        dry_run=dry_run,
        encoding=encoding,
        delimiter=delimiter,
        date_format=date_format,
        format=input_format.value if input_format else None,
    )
    show_bar = not quiet and sys.stderr.isatty() and sys.stdout.isatty()
    bar = _Bar() if show_bar else None
    with open_store(db) as store:
        try:
            if bar is not None:
                with bar.bar:
                    summary = import_paths(store, paths, options, progress=bar)
            else:
                summary = import_paths(store, paths, options)
        except ImportStopped as stopped:
            _print_summary(stopped.summary, as_json, quiet)
            raise fail(stopped) from None
    _print_summary(summary, as_json, quiet)
    raise typer.Exit(REJECTED_ROWS if summary.rejected else OK)


def export_command(
    entity: Annotated[str | None, typer.Argument(help="The entity to export.")] = None,
    all_entities: Annotated[
        bool, typer.Option("--all", help="Every entity, one file each, into --out (a folder).")
    ] = False,
    fmt: Annotated[
        FileFormat | None, typer.Option("--format", "-f", help="File format (default csv).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="File (or folder with --all); .gz ok.")
    ] = None,
    where: Where = None,
    columns: Columns = None,
    db: DbOption = None,
    words: WhereWords = None,
) -> None:
    """Write rows in a form `ecom import` reads back losslessly (stdout by default)."""
    if all_entities == (entity is not None):
        raise UsageError("give an ENTITY or --all (not both)")
    fmt = fmt or FileFormat.csv
    if all_entities and (where or columns):
        raise UsageError("--where and --columns export one ENTITY, not --all")
    with open_store(db) as store:
        if all_entities:
            if out is None:
                raise UsageError("--all needs --out FOLDER")
            with RowsBar(lambda name: store.count(name)) as bar:
                counts = export_all(store, out, fmt.value, bar)
            info(f"exported {sum(counts.values())} rows of {len(counts)} entities to {out}")
            return
        ent = schema.entity(entity or "")
        name = ent.name
        rows = records.list_records(
            store, name, ListOptions(records.join_where_tokens(where or (), words or ()))
        )
        shown = records.pick_fields(ent, columns)
        with RowsBar(lambda name: None if where else store.count(name)) as bar:
            rows = counted(rows, name, bar)
            if out is None:
                n = write_rows(rows, ent, fmt.value, sys.stdout, shown)
            else:
                refuse_clobber([("--out", out)], store.files(), store_name=store.url.masked)
                with open_replacing(out) as fh:
                    n = write_rows(rows, ent, fmt.value, fh, shown)
        info(f"exported {n} {name}")


def copy_command(
    source: Annotated[str, typer.Option("--from", help="Source database URL.")],
    target: Annotated[str, typer.Option("--to", help="Target database URL.")],
    entity: Annotated[
        list[str] | None, typer.Option("--entity", "-e", help="Only this entity (repeatable).")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Rows per batch.")] = 10_000,
) -> None:
    """Copy a store to another (any backend to any), in foreign-key order, then compare
    row counts per entity."""
    with connect(source, create=False) as src, connect(target) as dst:
        if src.schema_version() is None:
            raise UsageError(f"{src.url.masked} has no ecom schema: nothing to copy")
        with RowsBar(lambda name: src.count(name)) as bar:
            result = copy_store(src, dst, entity or None, batch_size, bar)
    for name, n in result.copied.items():
        info(f"{name}: {n} rows copied ({result.target_counts[name]} in the target)")
