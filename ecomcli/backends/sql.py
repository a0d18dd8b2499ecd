"""What the SQL backends share: DDL generated from the schema, and the contract in SQL.

`SQLRepository` implements the repository contract over a DB-API connection; SQLite and
MySQL subclass it with their dialect: how a value is stored, how an identifier is
quoted, the placeholder, the transaction statements and the error translation.

`ddl(dialect)` renders the schema as the SQL that `init-db` runs; the files under `sql/`
are its output (`python -m ecomcli.backends.sql` rewrites them and a test keeps them equal).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ecomcli import schema
from ecomcli.backends import summaries
from ecomcli.backends.dialect import DIALECTS, Dialect
from ecomcli.errors import ConflictError, EcomError, NotFoundError, ReadOnly
from ecomcli.repository import (
    Filter,
    Key,
    Mode,
    Query,
    ReportQuery,
    Repository,
    SummaryBuild,
    WriteResult,
    missing_required,
    with_defaults,
)
from ecomcli.schema import Entity, Field, index_name
from ecomcli.table import Cents, Table, typed

T = TypeVar("T")
R = TypeVar("R")

META_TABLE = "ecom_meta"
MARKS_SAVEPOINT = "ecom_marks"  # a batch's marks, taken back when it changed nothing
# field types every SQL backend stores as the Python value itself (`encode` is the identity)
STORED_AS_IS = frozenset({"key", "string", "text", "int", "enum"})

# --- DDL --------------------------------------------------------------------------------


def _checks(f: Field, d: Dialect) -> list[str]:
    col, out = d.q(f.name), []
    if f.enum:
        out.append(f"{col} IN ({', '.join(repr(v) for v in f.enum)})")
    sqlite = d.name == "sqlite"  # TEXT columns: their length checked; money scaled
    if sqlite and f.length and f.type in ("key", "string"):
        out.append(f"length({col}) <= {f.length}")
    factor = 10**f.scale if sqlite and f.type in ("money", "decimal") else 1
    if f.min is not None:
        out.append(f"{col} >= {f.min * factor}")
    if f.max is not None:
        out.append(f"{col} <= {f.max * factor}")
    return out


def _comment(f: Field, d: Dialect) -> str:
    notes = []
    if d.name == "sqlite" and f.type in ("money", "decimal"):
        notes.append(f"exact: value x {10**f.scale}")
    if d.name == "sqlite" and f.type in ("date", "datetime"):
        notes.append("ISO 8601" + (" UTC" if f.type == "datetime" else ""))
    if f.doc:
        notes.append(f.doc)
    return f" -- {'; '.join(notes)}" if notes else ""


def dialect_of(dialect: str | Dialect) -> Dialect:
    return DIALECTS[dialect] if isinstance(dialect, str) else dialect


def column_ddl(f: Field, d: Dialect) -> str:
    parts = [d.q(f.name), d.sql_type(f)]
    if f.required:
        parts.append("NOT NULL")
    if f.default is not None:
        default = f.default if isinstance(f.default, int) else f"'{f.default}'"
        parts.append(f"DEFAULT {default}")
    if f.unique:
        parts.append("UNIQUE")
    checks = _checks(f, d)
    if checks:
        parts.append(f"CHECK ({' AND '.join(checks)})")
    return " ".join(parts)


def table_ddl(e: Entity, dialect: str | Dialect) -> str:
    d = dialect_of(dialect)
    q = d.q
    lines = [(column_ddl(f, d), _comment(f, d)) for f in e.fields]  # (definition, comment)
    lines.append((f"PRIMARY KEY ({', '.join(q(k) for k in e.key)})", ""))
    for f in e.references:
        parent = schema.BY_NAME[f.ref]  # type: ignore[index]
        name = f"fk_{e.name}_{f.name}"
        lines.append(
            (
                f"CONSTRAINT {q(name)} FOREIGN KEY ({q(f.name)}) "
                f"REFERENCES {q(parent.name)} ({q(parent.key[0])})",
                "",
            )
        )
    if d.inline_indexes:  # MySQL 8 has no CREATE INDEX IF NOT EXISTS: declare them inline
        for ix in (ix for ix in e.indexes if not ix.sqlite_only):
            cols = ", ".join(q(c) for c in ix.fields)
            lines.append((f"INDEX {q(index_name(e.name, ix.fields))} ({cols})", f" -- {ix.serves}"))
    body = []
    for i, (definition, comment) in enumerate(lines):
        comma = "," if i < len(lines) - 1 else ""
        body.append(f"    {definition}{comma}{comment}")
    # MySQL: a binary collation, so that keys, `=`, DISTINCT and ORDER BY treat text as
    # SQLite and MongoDB do (case- and accent-sensitive, byte order); the servers' defaults
    # differ (MariaDB utf8mb4_general_ci, MySQL 8 utf8mb4_0900_ai_ci) and are insensitive.
    # It still ignores trailing spaces (PAD SPACE): no NO PAD binary collation exists on
    # both MySQL 8 and MariaDB.
    text = f"-- {e.name}: {e.doc}\nCREATE TABLE IF NOT EXISTS {q(e.name)} (\n"
    text += "\n".join(body) + f"\n){d.table_tail};\n"
    if not d.inline_indexes:
        for ix in e.indexes:
            cols = ", ".join(q(c) for c in ix.fields)
            text += (
                f"-- serves: {ix.serves}\nCREATE INDEX IF NOT EXISTS "
                f"{q(index_name(e.name, ix.fields))} ON {q(e.name)} ({cols});\n"
            )
    return text


def ddl(dialect: str | Dialect) -> str:
    """The whole schema as the SQL script `init-db` runs on `dialect`."""
    d = dialect_of(dialect)
    q, text_type = d.q, d.text
    head = [
        f"-- ecom schema version {schema.SCHEMA_VERSION}, {d.name} dialect.",
        "-- Generated from ecomcli/schema.py by `python -m ecomcli.backends.sql`: do not edit.",
        "-- Runnable by hand; `ecom init-db` runs exactly this file.",
    ]
    if d.name == "sqlite":
        head.append("-- Money and decimals are stored exactly, as integers scaled by 10^scale.")
        head.append("PRAGMA foreign_keys = ON;")
    # (ecom_meta: MySQL's default collation, as ever: the layout fingerprint is of this text)
    tail = " STRICT" if d.name == "sqlite" else " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    meta = (
        f"-- ecom's own bookkeeping: the schema version, for migrations\n"
        f"CREATE TABLE IF NOT EXISTS {q(META_TABLE)} (\n"
        f"    {q('name')} {text_type(64)} NOT NULL PRIMARY KEY,\n"
        f"    {q('value')} {text_type(255)} NOT NULL\n"
        f"){tail};\n"
    )
    version = (
        f"{d.ignore} INTO {q(META_TABLE)} ({q('name')}, {q('value')}) "
        f"VALUES ('schema_version', '{schema.SCHEMA_VERSION}');\n"
    )
    tables = [table_ddl(e, d) for e in schema.stored_entities()]
    derived = summaries.ddl(d)
    retired = []
    if not d.inline_indexes:  # MySQL 8 has no DROP INDEX IF EXISTS: see MySQLRepository
        retired = ["-- indexes an earlier ecom made, replaced since\n" + "".join(
            f"DROP INDEX IF EXISTS {q(name)};\n" for _, name in schema.RETIRED_INDEXES
        )]
    return "\n".join(["\n".join(head) + "\n", meta, *tables, derived, *retired, version])


def sql_dir() -> Path:
    """Where the shipped SQL lives: inside the wheel, or `sql/` in a source checkout."""
    packaged = resources.files("ecomcli") / "sql"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "sql"


def schema_file(dialect: str | Dialect) -> Path:
    return sql_dir() / dialect_of(dialect).name / "schema.sql"


def statements(script: str) -> list[str]:
    """Split a script of `;`-terminated statements (no `;` inside our literals)."""
    text = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    text = re.sub(r"\s--[^\n]*", "", text)
    return [s.strip() for s in text.split(";\n") if s.strip().rstrip(";")]


# --- the contract in SQL ----------------------------------------------------------------


class SQLRepository(Repository):
    """The contract over a DB-API connection; subclasses supply the dialect."""

    dialect: ClassVar[Dialect]
    placeholder: ClassVar[str]
    # LIMIT without a limit, for OFFSET alone
    no_limit: ClassVar[str]
    # keys looked up by one `IN (...)` (SQLite before 3.32 allows 999 parameters)
    keys_per_query: ClassVar[int] = 500
    # a report over a summary checks it is fresh in the report's own statement (a server:
    # one round trip, not two) rather than in a statement before it
    checks_in_report: ClassVar[bool] = False
    enforces_references = True  # foreign keys

    conn: Any
    _depth: int = 0
    # orders whose month and customer the current transaction has marked (see `_mark`)
    _marked: set[Any]
    marks_taken_back = True  # by `_marked_write`, with a savepoint
    # one writer at a time (SQLite's lock): a whole rebuild may clear every mark at once
    writes_serially = False
    # the summaries not built yet, as this transaction found them (see `unbuilt_kinds`)
    _unbuilt: frozenset[str] | None = None
    _has_summaries: bool | None = None  # see `summarized`

    # dialect hooks ------------------------------------------------------------------------

    def q(self, name: str) -> str:
        return self.dialect.q(name)

    def encode(self, f: Field, value: Any) -> Any:
        """A Python value as the database stores it."""
        raise NotImplementedError

    def decode(self, f: Field, value: Any) -> Any:
        raise NotImplementedError

    def _begin(self) -> None:
        raise NotImplementedError

    def _translate(self, error: Exception) -> Exception | None:
        """The EcomError for a driver error, or None to let it propagate."""
        return None

    # plumbing -----------------------------------------------------------------------------

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Driver errors inside the block become EcomErrors (see `_translate`)."""
        try:
            yield
        except Exception as e:
            mapped = self._translate(e)
            if mapped is None:
                raise
            raise mapped from e

    def _cursor(self) -> Any:
        return self.conn.cursor()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cur = self._cursor()
        with self.translated():
            cur.execute(sql, params)
        return cur

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run `sql` for every row; the number of rows it changed."""
        if not rows:
            return 0
        cur = self._cursor()
        try:
            with self.translated():
                cur.executemany(sql, rows)
            return int(cur.rowcount)
        finally:
            cur.close()

    def reads_beside(self) -> bool:
        """Whether `insert_selects` runs some of its inserts' SELECTs beside the others
        (then a rebuild splits a big statement in parts for it)."""
        return False

    def insert_selects(self, inserts: Sequence[summaries.Insert]) -> None:
        """Run the independent `inserts` of a summary rebuild (one after another here;
        SQLite reads some beside the others: `reads_beside`)."""
        for insert in inserts:
            self.execute(insert.statement(), insert.binds).close()

    def rows_about(self, table: str) -> int | None:
        """About the number of rows of `table` (0 or None: empty), where a rebuild splits
        them in two (`Dialect.rows_about`)."""
        cur = self.execute(self.dialect.rows_about(table))
        (count,) = cur.fetchone()
        cur.close()
        return count

    def replace_rows(self, inserts: Sequence[summaries.Insert], *, here: bool = False) -> None:
        """A whole rebuild: each table of `inserts` left holding exactly their rows.
        `here`: their selects read what this transaction wrote (a summary just rebuilt),
        so they run on this connection alone."""
        for table in dict.fromkeys(i.table for i in inserts):
            self.execute(f"DELETE FROM {table}").close()
        if here:
            for insert in inserts:
                self.execute(insert.statement(), insert.binds).close()
        else:
            self.insert_selects(inserts)

    # whether `build_summaries_beside` builds anything (`_build_beside`)
    builds_beside = False

    def build_summaries_beside(self, written: Collection[str],
                               later: Collection[str]) -> SummaryBuild | None:
        """See `Repository.build_summaries_beside` (backends/build_beside.py)."""
        if self._depth or not self.builds_beside or not self.summarized:
            return None
        kinds = summaries.ready(self, written, later)
        if not kinds:
            return None
        try:
            return self._build_beside(kinds)
        except (OSError, EcomError):  # (no temporary file, no second session, the store
            return None  # busy): the first reports build them

    def _build_beside(self, kinds: list[str]) -> SummaryBuild:
        raise NotImplementedError

    def in_clauses(self, values: Sequence[Any]) -> Iterator[tuple[str, list[Any]]]:
        """`IN (...)` and its binds for stored `values`, in as many parts as it takes."""
        for start in range(0, len(values), self.keys_per_query):
            part = list(values[start : start + self.keys_per_query])
            yield f"IN ({', '.join([self.placeholder] * len(part))})", part

    @property
    def skips_unbuilt(self) -> bool:
        """Whether writes leave the summaries not built yet unmarked: their first refresh
        rebuilds every row anyway. A writer that skips them must keep their first rebuild
        from reading the tables until it commits (`hold_builds`); a cluster whose locks
        hold on one node only cannot, and marks every summary."""
        return True

    def hold_builds(self, *, exclusive: bool) -> None:
        """Until this transaction ends, keep a first rebuild of a summary from starting
        (a writer that skips marks: shared) or wait for writers that skip marks and keep
        new ones out (the rebuild: `exclusive`). SQLite needs nothing: its writers,
        rebuilds included, take turns."""

    def unbuilt_kinds(self) -> frozenset[str]:
        """The summaries (keys of `summaries.BUILT`) not built yet: a write in this
        transaction need not mark them. Read once per transaction (`summaries.unbuilt`)."""
        if self._unbuilt is None:
            self._unbuilt = summaries.unbuilt(self) if self.skips_unbuilt else frozenset()
        return self._unbuilt

    @property
    def summarized(self) -> bool:
        """Whether the store has today's summary tables: one made by an older ecom (other
        tables, or the same ones defined otherwise) has not until `init-db` runs again;
        meanwhile writes mark nothing and reports read the lines, as that ecom did. Asked
        once per connection."""
        if self._has_summaries is None:
            self._has_summaries = set(summaries.TABLES) <= self.tables() and (
                summaries.current_layout(self)
            )
        return self._has_summaries

    def _mark(
        self,
        e: Entity,
        rows: Sequence[dict[str, Any]] = (),
        keys: Sequence[Key] = (),
        *,
        new: bool = False,
        locked: bool = False,
        mode: Mode | None = None,
        fields: Sequence[str] = (),
    ) -> None:
        """In a write's transaction, before it (or after a fresh bulk load): mark the
        summaries a write to `e` may change, as `summaries.MARKERS` says for `e`, except
        those not built yet (`unbuilt_kinds`).
        `new`: the rows are inserted, so no stored row has their keys. `mode`, `fields`:
        a batch's (None: `update`'s rows are its changes). `locked`: the orders are
        already locked by this transaction (after the write, by its foreign-key checks),
        so they need no locking read."""
        markers = summaries.MARKERS.get(e.name)
        if not markers or not self.summarized:
            return
        written = self._partial_fields(rows, new, mode, fields)
        write = summaries.Write(e, rows, keys, new, locked, mode, written)
        for marking in markers:
            if not marking.kinds or not set(marking.kinds) <= self.unbuilt_kinds():
                marking.mark(self, write)

    def _marked_write(
        self, mark: Callable[[], None], write: Callable[[], WriteResult]
    ) -> WriteResult:
        """In a batch's transaction: mark, then write. A batch that changed no row (a
        re-import of what is stored) takes its marks back, so that the next report does
        not rebuild summaries that nothing changed."""
        if not self.marks_taken_back:
            mark()
            return write()
        self.execute(f"SAVEPOINT {MARKS_SAVEPOINT}").close()
        mark()
        result = write()
        if not (result.inserted or result.updated):
            self.execute(f"ROLLBACK TO SAVEPOINT {MARKS_SAVEPOINT}").close()
            self._marked.clear()  # what the rollback took back is no longer marked
        self.execute(f"RELEASE SAVEPOINT {MARKS_SAVEPOINT}").close()
        return result

    @staticmethod
    def _partial_fields(
        rows: Sequence[dict[str, Any]], new: bool, mode: Mode | None, fields: Sequence[str]
    ) -> set[str] | None:
        """The fields a write of only some fields writes: a merge's input fields (its rows
        are completed with defaults), an update's changes; None for whole rows (inserts,
        upserts) or a delete."""
        if mode is Mode.MERGE:
            return set(fields)
        if mode is None and not new and rows:
            return set(rows[0])
        return None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a read-only statement and return its rows as dicts (reports use this)."""
        cur = self.execute(sql, params)
        names = [d[0] for d in cur.description]
        with self.translated():
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        cur.close()
        return rows

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            except BaseException:
                # the database may have undone the transaction (a deadlock), or the caller
                # may go on after a refused write: what was marked is no longer known, nor
                # whether this transaction still holds builds off (`unbuilt_kinds`)
                self._marked.clear()
                self._unbuilt = None
                raise
            finally:
                self._depth -= 1
            return
        self._begin()
        self._depth = 1
        self._marked = set()
        self._unbuilt = None
        try:
            yield
        except BaseException:
            self._depth = 0
            # a lost connection cannot roll back (the server undoes the transaction itself):
            # the error that stopped the work is the one to report, not the rollback's
            with suppress(Exception):
                self.conn.rollback()
            self._ended()
            raise
        self._depth = 0
        try:
            with self.translated():
                self.conn.commit()
        finally:
            self._ended()

    def _ended(self) -> None:
        """After the outermost transaction (SQLite lets go of a rebuild's scratch file)."""

    # schema ------------------------------------------------------------------------------

    def tables(self) -> set[str]:
        raise NotImplementedError

    def schema_version(self) -> int | None:
        if META_TABLE not in self.tables():
            return None
        rows = self.query(
            f"SELECT {self.q('value')} AS v FROM {self.q(META_TABLE)} "
            f"WHERE {self.q('name')} = {self.placeholder}",
            ["schema_version"],
        )
        return int(rows[0]["v"]) if rows else None

    def _run_script(self, script: str) -> None:
        for statement in statements(script):
            self.execute(statement).close()

    # records -----------------------------------------------------------------------------

    def _entity(self, name: str) -> Entity:
        return schema.entity(name)

    def _where(self, e: Entity, filters: Sequence[Filter]) -> tuple[str, list[Any]]:
        if not filters:
            return "", []
        clauses, params = [], []
        ph = self.placeholder
        for flt in filters:
            f = e.field(flt.field)
            col = self.q(f.name)
            if flt.op == "in":
                values = list(flt.value)
                if not values:
                    clauses.append("1 = 0")
                    continue
                clauses.append(f"{col} IN ({', '.join([ph] * len(values))})")
                params.extend(self.encode(f, v) for v in values)
            elif flt.op == "~":
                pattern = str(flt.value).lower()
                pattern = pattern.replace("!", "!!").replace("%", "!%").replace("_", "!_")
                clauses.append(f"LOWER({col}) LIKE {ph} ESCAPE '!'")
                params.append(f"%{pattern}%")
            elif flt.value is None and flt.op in ("=", "!="):
                clauses.append(f"{col} IS {'NOT ' if flt.op == '!=' else ''}NULL")
            else:
                clauses.append(f"{col} {'<>' if flt.op == '!=' else flt.op} {ph}")
                params.append(self.encode(f, flt.value))
        return " WHERE " + " AND ".join(clauses), params

    def add_missing_columns(self) -> list[str]:
        """Add the optional fields a table made by an earlier ecom lacks (`CREATE TABLE IF
        NOT EXISTS` leaves an existing table as it was); "table.column" of each added."""
        added = []
        for e in schema.stored_entities():
            cur = self.execute(f"SELECT * FROM {self.q(e.name)} WHERE 1 = 0")
            have = {c[0] for c in cur.description}
            cur.fetchall()
            cur.close()
            for f in e.fields:
                if f.name not in have and not f.required:
                    ddl = column_ddl(f, self.dialect)
                    self.execute(f"ALTER TABLE {self.q(e.name)} ADD COLUMN {ddl}").close()
                    added.append(f"{e.name}.{f.name}")
        return added

    def _select(self, e: Entity, fields: Sequence[Field] = ()) -> str:
        names = [f.name for f in fields] or e.field_names
        return f"SELECT {', '.join(self.q(n) for n in names)} FROM {self.q(e.name)}"

    def _decode_row(
        self, e: Entity, values: Sequence[Any], fields: Sequence[Field] = ()
    ) -> dict[str, Any]:
        return {
            f.name: (None if v is None else self.decode(f, v))
            for f, v in zip(fields or e.fields, values, strict=True)
        }

    def _key_where(self, e: Entity, key: Key) -> tuple[str, list[Any]]:
        if len(key) != len(e.key):
            raise NotFoundError(f"{e.name} keys have {len(e.key)} parts: {', '.join(e.key)}")
        clause = " AND ".join(f"{self.q(k)} = {self.placeholder}" for k in e.key)
        params = [self.encode(e.field(k), v) for k, v in zip(e.key, key, strict=True)]
        return f" WHERE {clause}", params

    def get(self, entity: str, key: Key) -> dict[str, Any] | None:
        e = self._entity(entity)
        where, params = self._key_where(e, key)
        cur = self.execute(self._select(e) + where, params)
        with self.translated():  # MySQL reports a deadlock when the row is read (Galera)
            row = cur.fetchone()
        cur.close()
        return None if row is None else self._decode_row(e, row)

    def find(self, entity: str, query: Query = Query()) -> Iterator[dict[str, Any]]:
        e = self._entity(entity)
        where, params = self._where(e, query.filters)
        order = [f"{self.q(e.field(n).name)}{' DESC' if desc else ''}" for n, desc in query.sort]
        order += [self.q(k) for k in e.key if k not in {n for n, _ in query.sort}]
        fields = [e.field(n) for n in query.fields]
        sql = self._select(e, fields) + where + " ORDER BY " + ", ".join(order)
        if query.limit is not None or query.offset:
            sql += f" LIMIT {int(query.limit) if query.limit is not None else self.no_limit}"
            sql += f" OFFSET {int(query.offset)}"
        cur = self.execute(sql, params)
        try:
            while batch := cur.fetchmany(1000):
                for values in batch:
                    yield self._decode_row(e, values, fields)
        finally:
            with suppress(Exception):  # the reader stopped early and the store is closed
                cur.close()

    def count(self, entity: str, filters: Sequence[Filter] = ()) -> int:
        e = self._entity(entity)
        where, params = self._where(e, filters)
        cur = self.execute(f"SELECT COUNT(*) FROM {self.q(e.name)}{where}", params)
        with self.translated():
            (n,) = cur.fetchone()
        cur.close()
        return int(n)

    def distinct(self, entity: str, field: str, filters: Sequence[Filter] = ()) -> list[Any]:
        e = self._entity(entity)
        f = e.field(field)
        col = self.q(f.name)
        where, params = self._where(e, [*filters, Filter(f.name, "!=", None)])
        cur = self.execute(
            f"SELECT DISTINCT {col} FROM {self.q(e.name)}{where} ORDER BY {col}", params
        )
        with self.translated():
            values = [self.decode(f, v) for (v,) in cur.fetchall()]
        cur.close()
        return values

    def _insert_sql(self, e: Entity) -> str:
        cols = ", ".join(self.q(n) for n in e.field_names)
        marks = ", ".join([self.placeholder] * len(e.fields))
        return f"INSERT INTO {self.q(e.name)} ({cols}) VALUES ({marks})"

    def _encode_row(self, e: Entity, row: dict[str, Any]) -> list[Any]:
        return [None if (v := row.get(f.name)) is None else self.encode(f, v) for f in e.fields]

    def insert(self, entity: str, row: dict[str, Any]) -> None:
        e = self._entity(entity)
        with self.transaction():
            self._mark(e, [row], new=True)
            if self.get(e.name, e.key_of(row)) is not None:
                shown = ":".join(str(k) for k in e.key_of(row))
                raise ConflictError(f"{e.name} {shown!r} already exists")
            self.execute(self._insert_sql(e), self._encode_row(e, row)).close()

    def update(
        self,
        entity: str,
        key: Key,
        changes: dict[str, Any],
        *,
        expect: dict[str, Any] | None = None,
    ) -> bool:
        e = self._entity(entity)
        if not changes:
            return self.get(e.name, key) is not None
        sets = ", ".join(f"{self.q(e.field(n).name)} = {self.placeholder}" for n in changes)
        params = [None if v is None else self.encode(e.field(n), v) for n, v in changes.items()]
        where, key_params = self._key_where(e, key)
        params += key_params
        for name, value in (expect or {}).items():
            f = e.field(name)
            if value is None:
                where += f" AND {self.q(f.name)} IS NULL"
            else:
                where += f" AND {self.q(f.name)} = {self.placeholder}"
                params.append(self.encode(f, value))
        with self.transaction():
            self._mark(e, [changes], [key])
            cur = self.execute(f"UPDATE {self.q(e.name)} SET {sets}{where}", params)
            changed = cur.rowcount
            cur.close()
            if changed == 0 and expect is None:
                # MySQL counts rows changed, not matched: an update to equal values is 0
                return self.get(e.name, key) is not None
        return changed > 0

    def delete(self, entity: str, key: Key) -> bool:
        e = self._entity(entity)
        where, params = self._key_where(e, key)
        with self.transaction():
            self._mark(e, keys=[key])
            cur = self.execute(f"DELETE FROM {self.q(e.name)}{where}", params)
            deleted = cur.rowcount
            cur.close()
        return deleted > 0

    def on_shards(
        self,
        entity: str,
        values: Iterable[T],
        work: Callable[[SQLRepository, list[T]], R],
        shard_key: Callable[[T], Any] = lambda value: value,
    ) -> list[R] | None:
        """On a store whose data nodes hold `entity`'s rows (a Spider head:
        `MySQLRepository`), `work(node, part)` run by each node on its share of `values`
        (split by `shard_key` of each), reading the node's committed rows directly; None
        where the store holds the rows itself."""
        return None

    def on_every_shard(
        self, entity: str, values: Iterable[T], work: Callable[[SQLRepository, list[T]], R]
    ) -> list[R] | None:
        """As `on_shards`, but each data node runs `work` on all of `values`: for keys
        that do not name their shard (a payment's id; its shard is its order's)."""
        return None

    def existing_keys(self, entity: str, keys: Iterable[Key]) -> set[Key]:
        e = self._entity(entity)
        key_fields = [e.field(k) for k in e.key]
        if all(f.type in STORED_AS_IS for f in key_fields):
            wanted = {k: k for k in keys}
        else:
            wanted = {
                tuple(self.encode(f, v) for f, v in zip(key_fields, k, strict=True)): k
                for k in keys
            }
        found = self._fetch_by_keys(e, list(wanted), [])
        return {wanted[r] for r in found if r in wanted}

    def write_batch(
        self,
        entity: str,
        rows: list[dict[str, Any]],
        mode: Mode,
        fields: Sequence[str],
        prepared: Any = None,
    ) -> WriteResult:
        e = self._entity(entity)
        result = WriteResult()
        if not rows:
            return result
        nkey = len(e.key)
        key_idx = [e.field_names.index(k) for k in e.key]
        if mode is Mode.MERGE:
            rows = [with_defaults(e, r) for r in rows]
        encoded = [self._encode_row(e, r) for r in rows]
        keys = [tuple(values[i] for i in key_idx) for values in encoded]
        merge_names = [n for n in e.field_names if n in set(fields) and n not in e.key]
        compare = (
            merge_names if mode is Mode.MERGE else [n for n in e.field_names if n not in e.key]
        )
        compare_idx = [e.field_names.index(n) for n in compare]
        inserts: list[list[Any]] = []
        updates: list[list[Any]] = []
        with self.transaction():
            self._mark(e, rows, mode=mode, fields=fields)
            stored = {r[:nkey]: r[nkey:] for r in self._fetch_by_keys(e, keys, compare)}
            for i, (values, key) in enumerate(zip(encoded, keys, strict=True)):
                old = stored.get(key)
                if old is None:
                    if mode is Mode.MERGE and (why := missing_required(e, rows[i])):
                        result.rejected.append((i, why))
                        continue
                    inserts.append(values)
                    result.inserted += 1
                elif mode is Mode.INSERT:
                    result.rejected.append((i, "key already exists"))
                elif mode is Mode.IGNORE:
                    result.ignored += 1
                elif tuple(values[j] for j in compare_idx) == tuple(old):
                    result.unchanged += 1
                else:
                    updates.append([*(values[j] for j in compare_idx), *key])
                    result.updated += 1
            self._write_encoded(e, inserts, updates, compare)
        return result

    def _fetch_by_keys(
        self, e: Entity, keys: Sequence[tuple[Any, ...]], columns: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        """Stored rows for encoded keys: key columns, then `columns`, normalised so that
        they compare equal to freshly encoded ones."""
        out = []
        chunk = self.keys_per_query
        cols = ", ".join(self.q(c) for c in [*e.key, *columns])
        for start in range(0, len(keys), chunk):
            part = keys[start : start + chunk]
            params = [v for k in part for v in k]
            if len(e.key) == 1:
                where = f"{self.q(e.key[0])} IN ({', '.join([self.placeholder] * len(part))})"
            else:
                one = "(" + ", ".join([self.placeholder] * len(e.key)) + ")"
                where = (
                    f"({', '.join(self.q(k) for k in e.key)}) IN ({', '.join([one] * len(part))})"
                )
            cur = self.execute(f"SELECT {cols} FROM {self.q(e.name)} WHERE {where}", params)
            with self.translated():
                stored = cur.fetchall()
            out.extend(self.normalize_stored(e, [*e.key, *columns], r) for r in stored)
            cur.close()
        return out

    def normalize_stored(self, e: Entity, columns: Sequence[str], values: Sequence[Any]) -> tuple:
        """Stored values in the form `encode` produces (for change detection)."""
        return tuple(values)

    def _write_encoded(
        self, e: Entity, inserts: list[list[Any]], updates: list[list[Any]], columns: list[str]
    ) -> None:
        self.executemany(self._insert_sql(e), inserts)
        if updates:
            sets = ", ".join(f"{self.q(c)} = {self.placeholder}" for c in columns)
            where = " AND ".join(f"{self.q(k)} = {self.placeholder}" for k in e.key)
            self.executemany(f"UPDATE {self.q(e.name)} SET {sets} WHERE {where}", updates)

    def add_stock(self, product_id: str, delta: int) -> int | None:
        stock, pk = self.q("units_in_stock"), self.q("product_id")
        ph = self.placeholder
        with self.transaction():
            cur = self.execute(
                f"UPDATE {self.q('products')} SET {stock} = {stock} + {ph} "
                f"WHERE {pk} = {ph} AND {stock} + {ph} >= 0",
                [delta, product_id, delta],
            )
            changed = cur.rowcount
            cur.close()
            row = self.get("products", (product_id,))
        if row is None:
            raise NotFoundError(f"products {product_id!r} not found")
        return row["units_in_stock"] if changed else None

    def neighbour_tables(self) -> Any:
        from ecomcli.backends.recs_sql import SQLNeighbours

        return SQLNeighbours(self)

    def run_report(self, report: ReportQuery, p: dict[str, Any]) -> Table:
        """`report.sql(dialect, p)`, or `report.summarized_sql` over the summaries it
        reads (`report.summaries(p)`) once they are fresh; money (integer cents) as
        Decimal, datetimes as datetime."""
        kinds = report.summaries(p) if self.summarized else ()
        table = None
        try:
            if kinds:
                statement, binds = report.summarized_sql(self.dialect, p)
                # one summary can be checked fresh in the statement that reads it
                if self.checks_in_report and len(kinds) == 1 and report.checked_in_statement(p):
                    (kind,) = kinds
                    fresh = summaries.read_fresh(self, kind, statement, binds)
                    if fresh is not None:
                        table = Table(*fresh)
                if table is None:
                    summaries.refresh(self, kinds)
            else:
                statement, binds = report.sql(self.dialect, p)
        except ReadOnly:  # a read-only account or replica: the statements over the lines
            statement, binds = report.sql(self.dialect, p)
        if table is None:
            cur = self.execute(statement, binds)
            try:  # the driver's tuples as they are: no dict per row (carts: 1.2M rows)
                with self.translated():
                    table = Table([d[0] for d in cur.description], cur.fetchall())
            finally:
                cur.close()
        return typed(table, report.money, Cents().__getitem__, report.datetimes)


def write_sql_files(root: Path | None = None) -> list[Path]:
    root = root or Path(__file__).resolve().parents[2] / "sql"
    written = []
    for dialect in DIALECTS:
        path = root / dialect / "schema.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(ddl(dialect))
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_sql_files():
        print(f"wrote {p}")
