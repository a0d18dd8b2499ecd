"""The repository contract: the one door through which every command reaches data.

A backend (SQLite, MySQL, MongoDB) subclasses `Repository` and implements its abstract
primitives. Everything above it (imports, records, orders, reports, the CLI and the
Python API) is written once against this class. The contract test suite
(`tests/test_contract.py`) runs unchanged against every backend.

Rows cross this boundary as plain dicts of Python values, whatever the backend stores:
str, int, `Decimal` (money and decimals), `date`, naive-UTC `datetime` (whole seconds),
bool or None. Keys are tuples in the order of `Entity.key`.

Rules every backend keeps:
- identifiers (table, collection, field names) come only from `ecomcli.schema`, never from
  user input; values are always bound parameters (or BSON values, never operators);
- `write_batch` is atomic: the batch is written whole or not at all;
- `transaction()` nests: an inner block joins the outer one;
- `add_stock` is a conditional atomic update: it never lets stock go below zero, even with
  concurrent processes, and says so instead;
- `update(..., expect=...)` is compare-and-set: it changes the row only while the current
  values equal `expect` (order status transitions rely on this).
"""

from __future__ import annotations

import importlib
import itertools
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from ecomcli import schema
from ecomcli.config import DbUrl, parse_url
from ecomcli.errors import ConflictError, NotFoundError, TransientError, UsageError

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from ecomcli.backends.dialect import Dialect
    from ecomcli.table import Table

T = TypeVar("T")
Key = tuple[Any, ...]

OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "~", "in")

# how long a bulk write (an import's batch, a copy's batch) keeps retrying transient
# write conflicts before it fails
RETRY_PATIENCE = 120.0


class Mode(StrEnum):
    """How `write_batch` treats a row whose key already exists (as mongoimport does)."""

    INSERT = "insert"  # existing key: the row is rejected
    IGNORE = "ignore"  # existing key: the stored row is left alone and counted as ignored
    UPSERT = "upsert"  # existing key: the row replaces the stored one
    MERGE = "merge"  # existing key: only the fields given are updated


@dataclass(frozen=True)
class Filter:
    """`field op value`; `value` is already converted to the field's type (a list for `in`).

    `~` means "contains" (case-insensitive substring of a text field).
    """

    field: str
    op: str
    value: Any

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            raise UsageError(f"unknown operator {self.op!r}; use one of {' '.join(OPERATORS)}")


@dataclass(frozen=True)
class Query:
    filters: Sequence[Filter] = ()
    sort: Sequence[tuple[str, bool]] = ()  # (field, descending); the key breaks ties
    limit: int | None = None
    offset: int = 0
    fields: Sequence[str] = ()  # only these fields in each row (all when empty)


@dataclass
class WriteResult:
    """What a write did. `rejected` holds (index of the row in the batch, reason)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def add(self, other: WriteResult, offset: int = 0) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.ignored += other.ignored
        self.rejected.extend((i + offset, why) for i, why in other.rejected)


@dataclass(frozen=True)
class InitResult:
    created: list[str]  # what init_schema created or changed; empty: nothing to do
    version: int


class ReportQuery(Protocol):
    """What a backend runs of a report (`ecomcli.reports.model.Report` is one): the
    statement over the base tables and, for the summaries it reads, over them; the
    MongoDB pipeline; which result columns are money and datetimes."""

    name: str
    money: tuple[str, ...]  # as the database returns them (cents, Decimal128, ...)
    datetimes: tuple[str, ...]

    def sql(self, d: Dialect, p: dict[str, Any]) -> tuple[str, list[Any]]: ...

    def summarized_sql(self, d: Dialect, p: dict[str, Any]) -> tuple[str, list[Any]]: ...

    def summaries(self, p: dict[str, Any]) -> tuple[str, ...]: ...

    def checked_in_statement(self, p: dict[str, Any]) -> bool: ...

    def pipeline(self, p: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]: ...

    def summarized_pipeline(self, p: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | None: ...

    def mongo_summaries(self, p: dict[str, Any]) -> tuple[str, ...]: ...

    def facts(self, p: dict[str, Any]) -> dict[str, tuple[str, list[dict[str, Any]]]]: ...


class SummaryBuild(Protocol):
    """Summaries being built beside an import (`Repository.build_summaries_beside`)."""

    def done(self) -> bool: ...

    def finish(self) -> None:
        """Wait for the build, then put what it built in the store."""

    def stop(self) -> None:
        """Abandon the build."""


class Repository(ABC):
    backend: ClassVar[str]
    url: DbUrl
    max_retries: ClassVar[int] = 10
    # rows per `write_batch` call in imports: the unit of atomicity and of memory
    bulk_batch_size: ClassVar[int] = 10_000
    # `write_batch` refuses a batch holding a dangling reference (`MissingReference`,
    # nothing written): the database checks foreign keys, so importers need not first
    enforces_references: ClassVar[bool] = False

    # --- schema ---------------------------------------------------------------------------

    @abstractmethod
    def init_schema(self, *, drop: bool = False) -> InitResult:
        """Create every entity's table/collection, indexes and the schema version.

        Idempotent: on an up-to-date store it changes nothing and returns no `created`.
        `drop=True` destroys the store's data first (callers confirm with the user).
        """

    def init_sharded(self, shards: list[str], *, drop: bool = False) -> InitResult:
        """`init_schema` spread over the data nodes at `shards` (MariaDB Spider only)."""
        raise UsageError(f"--shards: {self.backend} stores are not sharded by ecom (MariaDB only)")

    @abstractmethod
    def schema_version(self) -> int | None:
        """The stored schema version, or None when `init-db` has not run."""

    # --- records --------------------------------------------------------------------------

    @abstractmethod
    def get(self, entity: str, key: Key) -> dict[str, Any] | None: ...

    @abstractmethod
    def find(self, entity: str, query: Query = Query()) -> Iterator[dict[str, Any]]:
        """Rows matching every filter, sorted (then by key), paged by limit/offset."""

    @abstractmethod
    def count(self, entity: str, filters: Sequence[Filter] = ()) -> int: ...

    @abstractmethod
    def distinct(self, entity: str, field: str, filters: Sequence[Filter] = ()) -> list[Any]:
        """Distinct non-null values of `field`, sorted."""

    @abstractmethod
    def insert(self, entity: str, row: dict[str, Any]) -> None:
        """Insert one validated row; `ConflictError` if the key exists, `NotFoundError`
        if a reference points nowhere."""

    @abstractmethod
    def update(
        self,
        entity: str,
        key: Key,
        changes: dict[str, Any],
        *,
        expect: dict[str, Any] | None = None,
    ) -> bool:
        """Change the given fields of one row. False if no row has that key, or (with
        `expect`) if the row's current values differ from `expect`."""

    @abstractmethod
    def delete(self, entity: str, key: Key) -> bool:
        """Delete one row (no reference check: see `delete_record`). False if absent."""

    @abstractmethod
    def existing_keys(self, entity: str, keys: Iterable[Key]) -> set[Key]:
        """Which of `keys` exist: used to check references a batch at a time."""

    @abstractmethod
    def write_batch(
        self,
        entity: str,
        rows: list[dict[str, Any]],
        mode: Mode,
        fields: Sequence[str],
        prepared: Any = None,
    ) -> WriteResult:
        """Write validated rows atomically, by mode. Keys are unique within the batch and
        references already checked (or, where `enforces_references`, a dangling one raises
        `MissingReference` and nothing is written). `fields` are the fields the input
        carried (for MERGE). Rows equal to the stored ones count as unchanged and are not
        rewritten.
        `prepared`: what `prepare_rows` returned for exactly these rows, or None."""

    def prepare_rows(self, entity: str, rows: list[dict[str, Any]], mode: Mode) -> Any:
        """The work of `write_batch(entity, rows, mode, ...)` that needs no database
        (encoding the rows, the text of a bulk-load file), done ahead: the importer calls
        it from its reader thread while the previous batch is written, so it must not use
        the connection. None when there is nothing to prepare."""
        return None

    # whether `prepare_columns` works (the columnar lane of `ecom import`)
    prepares_columns = False

    def prepare_columns(self, entity: str, table: Any, mode: Mode) -> Any:
        """`prepare_rows` for a batch given as validated columns (a pyarrow table of
        `columnar.validated`'s types, a row per row of the batch)."""
        raise NotImplementedError

    @abstractmethod
    def add_stock(self, product_id: str, delta: int) -> int | None:
        """Atomically add `delta` (may be negative) to a product's units in stock.
        Returns the new stock, or None (changing nothing) if it would go below zero.
        `NotFoundError` if there is no such product."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """A unit of work: commits at the end of the block, rolls back on an exception."""

    # --- reports --------------------------------------------------------------------------

    @abstractmethod
    def run_report(self, report: ReportQuery, p: dict[str, Any]) -> Table:
        """Run a report inside the database (its SQL or its pipeline, with checked params
        `p`): its result rows as tuples, with names, money as Decimal and datetimes as
        datetime in the columns `report` names."""

    @abstractmethod
    def close(self) -> None: ...

    # --- ad-hoc queries -------------------------------------------------------------------

    def read_query(self, text: str) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
        """Run one read-only ad-hoc query (SQL, or a JSON find/aggregate on MongoDB) with a
        guard the text cannot lift: its column names and rows, values as stored."""
        raise UsageError(f"{self.backend} has no ad-hoc queries")

    def build_summaries_beside(self, written: Collection[str],
                               later: Collection[str]) -> SummaryBuild | None:
        """Start building, beside an import, the summaries not built yet whose inputs it
        has written (entities `written`) and will not write again (`later`), so that the
        first reports after it read them at once. None where the backend does not: its
        first reports build them, as they always may."""
        return None

    def files(self) -> list[Path]:
        """The files the store lives in (an embedded database and its journals), which no
        output may overwrite; none for a server."""
        return []

    # --- shared behaviour, written once on top of the primitives --------------------------

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def atomic(self, work: Callable[[], T]) -> T:
        """Run `work` in one transaction, retrying it when the database reports a transient
        conflict (deadlock, lock wait timeout, busy, write conflict)."""

        def in_transaction() -> T:
            with self.transaction():
                return work()

        return self.retrying(in_transaction)

    def retrying(self, work: Callable[[], T], *, patience: float | None = None) -> T:
        """Run `work`, again after a `TransientError`: `max_retries` times, or for up to
        `patience` seconds. Pauses are random and growing, so that many writers racing for
        one row (the last units of a product) spread their retries out instead of
        colliding again. `work` must be safe to repeat (a rolled-back transaction)."""
        started = time.monotonic()
        for attempt in itertools.count():
            try:
                return work()
            except TransientError:
                waited = time.monotonic() - started
                if attempt >= self.max_retries if patience is None else waited >= patience:
                    raise
                time.sleep(random.uniform(0.005, 0.01 * 2 ** min(attempt, 7)))
        raise AssertionError("unreachable")

    def require(self, entity: str, key: Key) -> dict[str, Any]:
        row = self.get(entity, key)
        if row is None:
            ent = schema.entity(entity)
            shown = ":".join(str(k) for k in key)
            raise NotFoundError(f"{ent.name} {shown!r} not found")
        return row

    def counts(self) -> dict[str, int]:
        return {e.name: self.count(e.name) for e in schema.ENTITIES}

    def status(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "url": self.url.masked,
            "schema_version": self.schema_version(),
            "entities": self.counts() if self.schema_version() is not None else {},
        }

    def references_to(self, entity: str, key: Key) -> list[tuple[str, int]]:
        """(entity, count) of rows that still refer to this row."""
        ent = schema.entity(entity)
        if len(ent.key) != 1:
            return []
        found = []
        for child, fld in schema.referencing(ent.name):
            n = self.count(child.name, [Filter(fld.name, "=", key[0])])
            if n:
                found.append((child.name, n))
        return found

    def delete_record(self, entity: str, key: Key, *, cascade: bool = False) -> None:
        """Delete a row, refusing while others refer to it (or, with `cascade`, deleting
        the rows that refer to it first). Never leaves a dangling reference."""

        def work() -> None:
            self.require(entity, key)
            refs = self.references_to(entity, key)
            if refs and not cascade:
                listed = ", ".join(f"{n} {name}" for name, n in refs)
                raise ConflictError(
                    f"{schema.entity(entity).name} {':'.join(map(str, key))!r} is referenced "
                    f"by {listed}: delete those first, or pass --cascade"
                )
            for child, fld in schema.referencing(schema.entity(entity).name):
                for row in list(self.find(child.name, Query([Filter(fld.name, "=", key[0])]))):
                    self.delete_record(child.name, child.key_of(row), cascade=True)
            self.delete(entity, key)

        self.atomic(work)

    def neighbour_tables(self) -> Any:
        """The recommender's stored tables on this backend (`ecomcli.backends.recs_*`)."""
        raise UsageError(f"recommendations are not available on {self.backend}")

    def recommend(self, customer: str, limit: int = 10, **options: Any) -> pd.DataFrame:
        """Products to show a customer (product_id, name, score, reason): see
        `ecomcli.recommend.recommend`."""
        from ecomcli import recommend

        return recommend.recommend(self, customer, limit, **options).frame()

    def similar(self, product: str, limit: int = 10) -> pd.DataFrame:
        """Products bought with `product` (product_id, name, score, reason)."""
        from ecomcli import recommend

        return recommend.similar(self, product, limit).frame()

    def report(self, name: str, **params: Any) -> pd.DataFrame:
        """Run a report and return it as a pandas DataFrame (the notebook entry point)."""
        from ecomcli import reports

        return reports.run(self, name, params).frame()

    def search_image(self, image: str | Path | bytes, limit: int = 5) -> pd.DataFrame:
        """The products whose stored images look most like `image` (a file or its bytes):
        rank, product_id, name, score (see `ecomcli.images`)."""
        from ecomcli.images import catalogue

        return catalogue.search(self, image, limit)


def with_defaults(entity: schema.Entity, row: dict[str, Any]) -> dict[str, Any]:
    """A partial row (`--mode merge`) completed with field defaults, for when it is new."""
    return {f.name: f.default if row.get(f.name) is None else row[f.name] for f in entity.fields}


def missing_required(entity: schema.Entity, row: dict[str, Any]) -> str | None:
    """The reason a new row cannot be written, or None."""
    for f in entity.fields:
        if f.required and row.get(f.name) is None:
            return f"{f.name}: required for a new row"
    return None


def connect(url: str | None = None, *, create: bool = True) -> Repository:
    """Open the store at `url` (or `ECOM_DB`, or `sqlite:///ecom.db`). `create=False`: a
    store that does not exist yet (an embedded database's file) is a `ConnectionFailed`
    naming it rather than a new empty store, as a server says of a missing database."""
    db = parse_url(url)
    module, name = BACKENDS[db.backend].split(":")
    # imported on use: a SQLite user needs neither MySQL's driver nor MongoDB's
    repository = getattr(importlib.import_module(module), name)
    return repository(db, create=create)  # type: ignore[no-any-return]


# backend name (from the URL's scheme) -> its repository class
BACKENDS = {
    "sqlite": "ecomcli.backends.sqlite:SQLiteRepository",
    "mysql": "ecomcli.backends.mysql:MySQLRepository",
    "mongodb": "ecomcli.backends.mongo:MongoRepository",
}
