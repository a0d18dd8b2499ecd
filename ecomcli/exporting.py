"""Export a store's rows to files `ecom import` reads back losslessly, and copy a store
between backends.

Values are written the way the importer parses them: money and decimals as exact
strings (`19.90`), dates and datetimes in ISO 8601, NULL as an empty CSV cell or JSON
`null`. Rows stream from `store.find` (a generator), so memory stays flat.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from ecomcli import schema
from ecomcli.errors import EcomError, UsageError
from ecomcli.outputs import open_replacing, refuse_clobber
from ecomcli.repository import RETRY_PATIENCE, Mode, Repository
from ecomcli.schema import Entity

FORMATS = ("csv", "tsv", "json", "ndjson")


def plain(value: Any) -> Any:
    """A value as CSV and JSON carry it (Decimal as an exact string, ISO 8601 dates)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_rows(
    rows: Iterable[dict[str, Any]],
    ent: Entity,
    fmt: str,
    out: TextIO,
    columns: list[str] | None = None,
) -> int:
    """Write `rows` of `ent` (only `columns`, default all) to `out` in `fmt`; returns how
    many were written."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    columns = columns or ent.field_names
    n = 0
    if fmt in ("csv", "tsv"):
        writer = csv.writer(out, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if (v := plain(row.get(c))) is None else v for c in columns])
            n += 1
    elif fmt == "ndjson":
        for row in rows:
            out.write(json.dumps({c: plain(row.get(c)) for c in columns}, ensure_ascii=False))
            out.write("\n")
            n += 1
    else:  # a JSON array, written element by element
        out.write("[")
        for row in rows:
            out.write(",\n" if n else "\n")
            out.write(json.dumps({c: plain(row.get(c)) for c in columns}, ensure_ascii=False))
            n += 1
        out.write("\n]\n" if n else "]\n")
    return n


def export_entity(store: Repository, entity: str, fmt: str, out: TextIO) -> int:
    ent = schema.entity(entity)
    return write_rows(store.find(ent.name), ent, fmt, out)


def counted(
    rows: Iterable[dict[str, Any]], name: str, progress: Callable[[str, int], None] | None,
    every: int = 1000,
) -> Iterable[dict[str, Any]]:
    """`rows`, telling `progress(name, rows so far)` every `every` rows and at the end."""
    if progress is None:
        yield from rows
        return
    n = 0
    for n, row in enumerate(rows, 1):
        yield row
        if n % every == 0:
            progress(name, n)
    progress(name, n)


def export_all(
    store: Repository, folder: Path, fmt: str,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """One file per entity (`orders.csv`, ...) in `folder`, which `ecom import FOLDER` reads.
    Empty entities get no file (a header-only file is an error for `ecom import`).
    `progress(entity, rows written)` is told as the rows go."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {folder} is a file: --all writes one file per entity")
    entities = [ent for ent in schema.load_order() if store.count(ent.name)]
    paths = {ent.name: folder / f"{ent.name}.{fmt}" for ent in entities}
    refuse_clobber([("--out", p) for p in paths.values()], store.files(), store_name=str(store.url))
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for ent in entities:
        with open_replacing(paths[ent.name]) as out:
            rows = counted(store.find(ent.name), ent.name, progress)
            counts[ent.name] = write_rows(rows, ent, fmt, out)
    return counts


@dataclass
class CopyResult:
    copied: dict[str, int] = field(default_factory=dict)  # rows written per entity
    source_counts: dict[str, int] = field(default_factory=dict)
    target_counts: dict[str, int] = field(default_factory=dict)

    @property
    def differences(self) -> list[str]:
        return [
            f"{name}: {self.source_counts[name]} in the source, {self.target_counts[name]} copied"
            for name in self.source_counts
            if self.source_counts[name] != self.target_counts.get(name)
        ]


def copy_store(
    source: Repository,
    target: Repository,
    entities: list[str] | None = None,
    batch_size: int = 10_000,
    progress: Callable[[str, int], None] | None = None,
) -> CopyResult:
    """Copy rows (upsert) in foreign-key order, in batches; then compare counts per entity.

    Raises `EcomError` when the counts differ (e.g. the target held extra rows)."""
    if batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    wanted = {schema.entity(e).name for e in entities} if entities else None
    if target.schema_version() is None:
        target.init_schema()
    result = CopyResult()
    for ent in schema.load_order():
        if wanted is not None and ent.name not in wanted:
            continue
        try:
            done = _copy_entity(source, target, ent, batch_size, progress)
        except EcomError as e:
            raise _stopped(e, ent, result) from e
        result.copied[ent.name] = done
        result.source_counts[ent.name] = source.count(ent.name)
        result.target_counts[ent.name] = target.count(ent.name)
    if result.differences:
        raise EcomError("copy finished but counts differ: " + "; ".join(result.differences))
    return result


def _copy_entity(source: Repository, target: Repository, ent: Entity, batch_size: int,
                 progress: Callable[[str, int], None] | None) -> int:
    done = 0
    batch: list[dict[str, Any]] = []
    self_ref = any(f.ref == ent.name for f in ent.references)
    size = batch_size if not self_ref else 1 << 62  # a tree is copied in one batch
    for row in source.find(ent.name):
        batch.append(row)
        if len(batch) >= size:
            done += _write(target, ent, batch)
            batch = []
            if progress:
                progress(ent.name, done)
    if batch:
        done += _write(target, ent, batch)
        if progress:
            progress(ent.name, done)
    return done


def _stopped(error: EcomError, ent: Entity, result: CopyResult) -> EcomError:
    """What a failed copy tells: what it copied, and that a re-run finishes the job."""
    copied = ", ".join(f"{name} ({n})" for name, n in result.copied.items()) or "nothing"
    return EcomError(
        f"copy stopped in {ent.name}: {error}; copied in full before it: {copied}; run the "
        "same `ecom copy` again to finish (rows are upserted: a re-run copies nothing twice)",
        exit_code=error.exit_code,
    )


def parents_first(
    ent: Entity, rows: list[Any], row_of: Callable[[Any], dict[str, Any]] = lambda r: r
) -> list[Any]:
    """Rows of a self-referencing entity (a category tree) ordered so that a parent in the
    same batch is written before its children (foreign keys are checked per statement)."""
    own = [f.name for f in ent.references if f.ref == ent.name]
    if not own or len(ent.key) != 1:
        return rows
    key = ent.key[0]
    pending = {row_of(r)[key]: r for r in rows}
    done: set[Any] = set()
    out: list[Any] = []
    while pending:
        ready = [
            k
            for k, r in pending.items()
            if all(
                row_of(r).get(f) in (None, k)
                or row_of(r).get(f) in done
                or row_of(r).get(f) not in pending
                for f in own
            )
        ]
        if not ready:  # a cycle: leave the rest as it is (the database will say)
            ready = list(pending)
        for k in ready:
            out.append(pending.pop(k))
            done.add(k)
    return out


def _write(target: Repository, ent: Entity, rows: list[dict[str, Any]]) -> int:
    rows = parents_first(ent, rows)
    # a transient conflict (a MongoDB write conflict or expired transaction, a deadlock)
    # is retried for a while, as an import's batch is; an upsert is safe to repeat
    res = target.retrying(lambda: target.write_batch(ent.name, rows, Mode.UPSERT,
                                                     ent.field_names),
                          patience=RETRY_PATIENCE)
    if res.rejected:
        i, why = res.rejected[0]
        raise EcomError(f"copy of {ent.name} failed at key {ent.key_of(rows[i])}: {why}")
    return len(rows)
