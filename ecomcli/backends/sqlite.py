"""The embedded default: one SQLite file, nothing to install.

Foreign keys on, WAL journal (readers never block the writer), a busy timeout so that
several ecom processes can share one file, and `BEGIN IMMEDIATE` for every unit of work
so two writers never deadlock on a lock upgrade. Money and decimals are stored as
integers scaled by 10^scale (SQLite has no exact decimal type; REAL sums drift).
"""

from __future__ import annotations

import json
import operator
import os
import sqlite3
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from ecomcli.backends import stored_as_is, summaries
from ecomcli.backends.beside import Beside
from ecomcli.backends.build_beside import BuildBeside
from ecomcli.backends.dialect import SQLITE
from ecomcli.backends.sql import META_TABLE, SQLRepository, schema_file
from ecomcli.config import DbUrl, parse_url
from ecomcli.errors import (
    ConflictError,
    ConnectionFailed,
    EcomError,
    MissingReference,
    ReadOnly,
    TransientError,
    UsageError,
)
from ecomcli.repository import InitResult, Mode, WriteResult
from ecomcli.schema import SCHEMA_VERSION, Entity, Field, stored_entities

BUSY_TIMEOUT_MS = 30_000
# page cache for batch writes (the default is 2 MB): half of the 64 MB it was, for an
# import's memory (bench/README.md)
BULK_CACHE_KB = 32 * 1024
# and for everything else: a summary rebuild writes its rows in less time than with 2 MB
# (a whole rebuild at 1M orders: 14.6-15.0 s against 15.8-16.2 s), and more than this
# made it slower (SQLite sorts in memory, on one thread, up to the page cache's size)
CACHE_KB = 16 * 1024
# a build beside an import: its page cache, which sizes its sorts' runs (`Scratch`)
SORT_RUN_KB = 2 * 1024
IN_CHUNK = 1000  # values in one IN (...) list
# helper threads SQLite may use to sort: a summary rebuild's GROUP BY over millions of lines
# sorts in a third less time with a second core (bench/README.md); none by default
SORT_THREADS = min(4, os.cpu_count() or 1)
MAX_SIDES = 4  # scratch files of `insert_selects` attached at once
ROWID_LIMIT = 2**62  # above it, new rowids may be chosen at random
# a batch goes to SQLite as one JSON array, unpacked by `json_each` in one statement (the
# `->>` operator is SQLite 3.38+; older versions take `executemany`)
JSON_ROWS = sqlite3.sqlite_version_info >= (3, 38, 0)
# values to the JSON text `json_each` reads: compact, and no cycle check (flat lists of
# str, int, float and None): ~25% less time per row than `json.dumps`' defaults
to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


class SQLiteRepository(SQLRepository):
    backend = "sqlite"
    dialect = SQLITE
    placeholder = SQLITE.ph
    no_limit = "-1"
    writes_serially = True
    # bigger batches: every commit rewrites the index pages the batch touched, and with
    # 50k rows a commit that cost is paid a fifth as often (bench/README.md)
    bulk_batch_size = 50_000

    def __init__(self, url: DbUrl, *, create: bool = True) -> None:
        self.url = url
        self.path = Path(url.database)
        if str(self.path) != ":memory:" and not self.path.parent.exists():
            raise ConnectionFailed(
                f"cannot open {url.masked}: folder {self.path.parent} does not exist"
            )
        if not create and str(self.path) != ":memory:" and not self.path.exists():
            # as MySQL says of a missing database: a typo must not leave an empty store
            raise ConnectionFailed(
                f"cannot use {url.masked}: file {self.path} does not exist: "
                "run `ecom init-db` to create it"
            )
        try:
            self.conn = sqlite3.connect(
                url.database, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
            )
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            (journal,) = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.execute(f"PRAGMA threads = {SORT_THREADS}")
            self.conn.execute(f"PRAGMA cache_size = {-CACHE_KB}")
        except sqlite3.DatabaseError as e:
            raise ConnectionFailed(f"cannot open {url.masked}: {e}") from None
        self._depth = 0
        self._bulk = False
        # a reader beside the writer needs WAL (a file system may refuse it): in the old
        # journal the writer would wait for that reader to spill its cache
        self._wal = str(journal).lower() == "wal"
        # rebuilds' scratch files not removed yet, by the name each is attached as
        self._sides: dict[str, Path] = {}
        self._side_count = 0
        self._encoders: dict[str, Callable[[dict[str, Any]], tuple[Any, ...]]] = {}
        self._as_is: dict[str, bool] = {}  # entity: its last batch changed no stored row
        self._wide: set[str] = set()  # entities a range read found more rows than asked

    def encode(self, f: Field, value: Any) -> Any:
        match f.type:
            case "money" | "decimal":
                return int(Decimal(value).scaleb(f.scale))
            case "datetime":
                return value.isoformat(sep=" ") if isinstance(value, datetime) else value
            case "date":
                return value.isoformat() if isinstance(value, date) else value
            case "bool":
                return int(value)
        return value

    def decode(self, f: Field, value: Any) -> Any:
        match f.type:
            case "money" | "decimal":
                return Decimal(value).scaleb(-f.scale)
            case "datetime":
                return datetime.fromisoformat(value)
            case "date":
                return date.fromisoformat(value)
            case "bool":
                return bool(value)
        return value

    def _begin(self) -> None:
        self.execute("BEGIN IMMEDIATE").close()

    def reads_beside(self) -> bool:
        """In a transaction of its own (an outer one may hold writes to the base tables
        that another connection cannot see), on a file in WAL mode, with a second core."""
        # (scratch files still attached: a statement of this connection left open keeps
        # them so; past a few, read alone rather than attach more)
        return (self._depth == 1 and self._wal and SORT_THREADS > 1
                and len(self._sides) < MAX_SIDES)

    def insert_selects(self, inserts: Sequence[summaries.Insert]) -> None:
        """The first half of the inserts (rounded down) here, the others' SELECTs read
        beside them by a child process (`Beside`) into a scratch file, then copied from
        it."""
        if len(inserts) < 2 or not self.reads_beside():
            super().insert_selects(inserts)
            return
        mine, rest = inserts[: len(inserts) // 2], inserts[len(inserts) // 2 :]
        try:
            side = Beside(self.path, [(i.select, i.binds) for i in rest],
                          [f"threads = {SORT_THREADS}"])
        except OSError:  # no Python to start (an embedded interpreter): one at a time
            super().insert_selects(inserts)
            return
        name = self.attach_scratch(side.scratch, attach=False)
        try:
            for insert in mine:
                self.execute(insert.statement(), insert.binds).close()
            failed = side.wait()
        except BaseException:
            side.stop()
            raise
        if failed:  # (a full temporary folder, say): the rest read here, as without it
            warnings.warn(f"{failed}; read by one process instead", RuntimeWarning,
                          stacklevel=2)
            super().insert_selects(rest)
            return
        self.execute(f"ATTACH {self.placeholder} AS {name}", [str(side.scratch)]).close()
        for n, insert in enumerate(rest):
            self.execute(f"INSERT INTO {insert.table} {insert.columns}"
                         f" SELECT * FROM {name}.r{n}").close()

    def attach_scratch(self, path: Path, *, attach: bool = True) -> str:
        """The name a rebuild's scratch file is (or, `attach` False, will be) attached as
        in this transaction; the file is detached and removed after it (`_ended`)."""
        self._side_count += 1
        name = f"ecom_side_{self._side_count}"
        self._sides[name] = path
        if attach:
            self.execute(f"ATTACH {self.placeholder} AS {name}", [str(path)]).close()
        return name

    @property
    def builds_beside(self) -> bool:
        """A child process reads the store beside this one (`BuildBeside`): on a file in
        WAL mode, with a second core."""
        return self._wal and SORT_THREADS > 1

    def _build_beside(self, kinds: list[str]) -> BuildBeside:
        return BuildBeside(self, kinds)

    def _ended(self) -> None:
        """Let go of rebuilds' scratch files: a transaction locks every attached file, so
        they are detached only now (or later: a statement still open keeps them)."""
        if not self._sides:
            return
        try:
            attached = {row[1] for row in self.conn.execute("PRAGMA database_list")}
        except sqlite3.Error:  # (a closed connection: `close` removes them)
            return
        for name, path in list(self._sides.items()):
            if name in attached:
                try:
                    self.conn.execute(f"DETACH {name}")
                except sqlite3.OperationalError:
                    continue
            path.unlink(missing_ok=True)
            del self._sides[name]

    def _translate(self, error: Exception) -> Exception | None:
        if isinstance(error, sqlite3.OperationalError):
            text = str(error)
            if "readonly" in text:
                return ReadOnly(f"{self.url.masked} refuses writes: {text}")
            if "locked" in text or "busy" in text:
                return TransientError(f"{self.url.masked} is busy: {text}")
            if "no such table" in text:
                return EcomError(
                    f"{self.url.masked} has no ecom schema ({text}): run `ecom init-db` first"
                )
        if isinstance(error, sqlite3.IntegrityError):
            if "FOREIGN KEY" in str(error):
                return MissingReference("a referenced record does not exist (foreign key check)")
            if "UNIQUE" in str(error):
                return ConflictError(f"duplicate value: {error}")
            return EcomError(f"integrity error: {error}")
        if isinstance(error, sqlite3.DatabaseError) and "not a database" in str(error):
            return ConnectionFailed(f"cannot open {self.url.masked}: file is not a database")
        return None

    def in_clauses(self, values: Sequence[Any]) -> Iterator[tuple[str, list[Any]]]:
        """One `IN` for any number of values: a JSON array read by `json_each`."""
        if not JSON_ROWS:
            yield from super().in_clauses(values)
        elif values:
            yield "IN (SELECT value FROM json_each(?))", [to_json(list(values))]

    def tables(self) -> set[str]:
        cur = self.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        names = {r[0] for r in cur.fetchall()}
        cur.close()
        return names

    def init_schema(self, *, drop: bool = False) -> InitResult:
        if drop:
            self.conn.execute("PRAGMA foreign_keys = OFF")
            for name in (
                *summaries.TABLES, *(e.name for e in reversed(stored_entities())), META_TABLE
            ):
                self.execute(f"DROP TABLE IF EXISTS {self.q(name)}").close()
            self.conn.execute("PRAGMA foreign_keys = ON")
        before = self.tables()
        wanted = [META_TABLE, *(e.name for e in stored_entities()), *summaries.TABLES]
        version = self.schema_version()
        if version is not None and version > SCHEMA_VERSION:
            raise EcomError(
                f"{self.url.masked} has schema version {version}, newer than this ecom "
                f"({SCHEMA_VERSION}): upgrade ecom"
            )
        with self.transaction():
            remade = summaries.drop_outdated(self)
            self._run_script(schema_file(self.dialect).read_text())
            added = self.add_missing_columns()
            summaries.forget(self)
        self._has_summaries = None
        created = [name for name in wanted if name not in before or name in remade] + added
        return InitResult(created=created, version=SCHEMA_VERSION)

    def write_batch(
        self,
        entity: str,
        rows: list[dict[str, Any]],
        mode: Mode,
        fields: Sequence[str],
        prepared: Any = None,
    ) -> WriteResult:
        """Set-based batch write (imports), in the batch's own `BEGIN IMMEDIATE` transaction.

        UPSERT and IGNORE: one `INSERT ... SELECT ... FROM json_each(?) ON CONFLICT (key)
        DO UPDATE SET ... WHERE <a column differs>` (IGNORE: `DO NOTHING`) straight into
        the table, the batch passed as one JSON array: a single statement, during which
        the GIL is released, so the importer's reader thread validates the next batch
        meanwhile (row-by-row `executemany` takes the GIL back per row). The
        cursor's `rowcount` (the sum of `changes()`, which counts neither unchanged rows
        nor trigger or foreign-key actions) is inserted + updated rows. The number
        inserted is the number of rows whose rowid is above the largest rowid before the
        batch: these are rowid tables without AUTOINCREMENT whose keys are not `INTEGER
        PRIMARY KEY`, so SQLite gives each new row max(rowid) + 1 (while that is below
        2^63 - 1; near it we take the staging path), an updated row keeps its rowid, and
        no other connection can write between the two reads because the transaction holds
        the write lock from its start. INSERT (existing keys are rejected with their
        index) goes through a TEMP staging table and one join; MERGE and entities with a
        unique non-key field take the generic path.

        Foreign keys are checked set-based, not row by row: outside an enclosing
        transaction the batch runs with `PRAGMA foreign_keys` off and, before it commits,
        one anti-join per reference over the rows it inserted checks them when it updated
        none (a fresh import; no Python work: `_check_new_references`), else one lookup
        of the distinct referenced values of the batch (`_check_references`); a missing
        parent raises the error SQLite would have raised and nothing is written. An upsert
        never changes a key, so no row that refers to this table can be orphaned.
        """
        e = self._entity(entity)
        if not rows or mode is Mode.MERGE or any(f.unique for f in e.fields):
            return super().write_batch(entity, rows, mode, fields)
        if mode is Mode.INSERT:
            return self._write_staged(e, rows, mode)
        ready: Prepared = prepared or self.prepare_rows(entity, rows, mode)
        if not self._bulk:
            self.execute(f"PRAGMA cache_size = {-BULK_CACHE_KB}").close()
            self._bulk = True
        own_checks = self._depth == 0 and bool(e.references)
        if own_checks:  # a no-op inside a transaction, hence only at depth 0
            self.execute("PRAGMA foreign_keys = OFF").close()
        try:
            with self.transaction():
                if self._stored_as_is(e, ready):  # nothing to write, nothing to mark
                    if mode is Mode.IGNORE:
                        return WriteResult(ignored=len(rows))
                    return WriteResult(unchanged=len(rows))
                result = self._marked_write(
                    lambda: self._mark(e, rows, mode=mode),
                    lambda: self._upsert(e, rows, ready.encoded, ready.payload, mode,
                                         own_checks),
                )
            # the next batch tries the range read again once a batch has changed nothing
            self._as_is[e.name] = not (result.inserted or result.updated)
            return result
        finally:
            if own_checks:
                self.execute("PRAGMA foreign_keys = ON").close()

    def prepare_rows(self, entity: str, rows: list[dict[str, Any]], mode: Mode) -> Any:
        """For the upsert path of `write_batch`: the rows encoded and their JSON arrays
        (`Prepared`), the one to write in the order of the first index (keys are unique,
        so the same rows; fewer B-tree page visits)."""
        e = self._entity(entity)
        if not rows or mode not in (Mode.UPSERT, Mode.IGNORE) or any(f.unique for f in e.fields):
            return None
        encoded = list(map(self._row_encoder(e), rows))
        order = self._index_order(e)
        if order is not None:
            encoded.sort(key=order)
        if not JSON_ROWS:
            return Prepared(encoded, lambda: None, lambda: (None, (), (), None))
        texts = list(map(to_json, encoded))
        at = [e.field_names.index(k) for k in e.key]

        def by_key() -> KeyOrder:
            order = sorted(range(len(texts)), key=lambda i: [encoded[i][j] for j in at])
            keys = [tuple(encoded[i][j] for j in at) for i in order]
            low, high = keys[0], keys[-1]
            return (json_array([texts[i] for i in order]), low, high,
                    stored_as_is.edges(keys, low, high))

        return self._warmed(e, Prepared(encoded, lambda: f"[{','.join(texts)}]", by_key))

    prepares_columns = JSON_ROWS

    def prepare_columns(self, entity: str, table: Any, mode: Mode) -> Any:
        """`prepare_rows` of a columnar batch: the same order and JSON arrays, made by
        pyarrow, the values stored as `_row_encoder` stores them."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from ecomcli.columnar import as_text

        e = self._entity(entity)
        if not table.num_rows or mode not in (Mode.UPSERT, Mode.IGNORE) or any(
                f.unique for f in e.fields):
            return None
        columns = {}
        for f in e.fields:
            column = table.column(f.name)
            if f.type in ("money", "decimal"):
                column = pc.cast(pc.multiply(column, pa.scalar(10**f.scale, pa.int64())),
                                 pa.int64())
            elif f.type in ("datetime", "date"):  # as `_row_encoder` stores them: ISO text
                column = as_text(column)
            columns[f.name] = column
        encoded = pa.table(columns)
        texts = json_texts(encoded)
        first = self._index_order_field(e)

        def payload() -> str:
            if first is None:
                return json_array(texts)
            return json_array(_taken(texts, pc.sort_indices(encoded, [(first, "ascending")])))

        def by_key() -> KeyOrder:
            order = pc.sort_indices(encoded, sort_keys=[(k, "ascending") for k in e.key])
            keys = encoded.select(list(e.key)).take(order)
            low, high = zip(*keys.take([0, len(order) - 1]).to_pydict().values(), strict=True)
            return json_array(_taken(texts, order)), low, high, _column_edges(keys, low, high)

        return self._warmed(e, Prepared(EncodedRows(encoded), payload, by_key))

    def _warmed(self, e: Entity, ready: Prepared) -> Prepared:
        """`ready` with the JSON array its write is expected to need made here, in the
        preparer: the one to compare when the range read will be tried, else the one to
        write (the writer makes the other if it needs it after all)."""
        _ = ready.as_is if self._tries_as_is(e) else ready.payload
        return ready

    def _tries_as_is(self, e: Entity) -> bool:
        """Whether the next batch of `e` is range-read (`_stored_as_is`)."""
        return (self._as_is.get(e.name, True) and e.name not in self._wide
                and stored_as_is.readable(e))

    def _stored_as_is(self, e: Entity, ready: Prepared) -> bool:
        """Whether the table holds the batch `ready` exactly as it is, and no other row
        between its lowest and its highest key but those of the groups it shares with
        other batches (`Prepared.edges`; `stored_as_is`): then there is nothing to write.
        A new row, a changed value or another row in that range says no. As on
        MySQL, tried while the entity's batches change nothing (after a batch that changed
        rows, or a fresh import's first batch, the next one goes straight to the upsert),
        and not again once a range held more rows than its batch: the file is not in the
        table's key order, and every batch's range would span much of the table."""
        if not self._tries_as_is(e) or ready.as_is is None:
            return False
        n = len(ready.encoded)
        count, texts = 0, []
        for sql, binds in self._range_reads(e, ready, n):
            cur = self.execute(sql, binds)
            found, text = cur.fetchone()
            cur.close()
            if found > n:  # the range, or the inside of three (an edge holds at most n)
                self._wide.add(e.name)
            count += found
            texts += [text] if text else []
        return count == n and f"[{','.join(texts)}]" == ready.as_is

    def _range_reads(self, e: Entity, ready: Prepared, n: int) -> list[tuple[str, list[Any]]]:
        """The statements (and binds) reading the stored rows of the batch `ready`'s key
        range: one, or three when the batch's keys begin and end at groups other batches
        share (`Prepared.edges`; `stored_as_is`)."""
        q, (low, high) = self.q, ready.ends
        whole = stored_as_is.json_range_read(e, q)
        assert whole is not None  # `_tries_as_is`
        if ready.edges is None:
            return [(whole, [*stored_as_is.bounds_binds(e, low, high), n + 1])]
        first_keys, last_keys = ready.edges
        edge = stored_as_is.json_range_read(e, q, stored_as_is.at_edge(e, q))
        inside = stored_as_is.json_range_read(e, q, stored_as_is.inside(e, q))
        assert edge is not None and inside is not None
        return [(edge, [low[0], to_json(first_keys), n + 1]),
                (inside, [low[0], high[0], n + 1]),
                (edge, [high[0], to_json(last_keys), n + 1])]

    def _upsert_sql(self, e: Entity, mode: Mode) -> str:
        q = self.q
        cols = ", ".join(q(n) for n in e.field_names)
        keys = ", ".join(q(k) for k in e.key)
        others = [n for n in e.field_names if n not in e.key]
        action = "DO NOTHING"
        if mode is Mode.UPSERT and others:
            sets = ", ".join(f"{q(n)} = excluded.{q(n)}" for n in others)
            differs = " OR ".join(f"{q(n)} IS NOT excluded.{q(n)}" for n in others)
            action = f"DO UPDATE SET {sets} WHERE {differs}"
        if JSON_ROWS:
            values = ", ".join(f"value ->> {i}" for i in range(len(e.fields)))
            rows_in = f"SELECT {values} FROM json_each(?) WHERE true"
        else:
            rows_in = f"VALUES ({', '.join(['?'] * len(e.fields))})"
        return f"INSERT INTO {q(e.name)} ({cols}) {rows_in} ON CONFLICT ({keys}) {action}"

    def _upsert(
        self,
        e: Entity,
        rows: list[dict[str, Any]],
        encoded: list[tuple[Any, ...]],
        payload: str | None,
        mode: Mode,
        own_checks: bool,
    ) -> WriteResult:
        q = self.q
        result = WriteResult()
        cur = self.execute(f"SELECT max(rowid) FROM {q(e.name)}")
        (top,) = cur.fetchone()
        cur.close()
        top = top or 0
        if top >= ROWID_LIMIT:
            staged = self._write_staged(e, rows, mode)
            if own_checks:
                self._check_references(e, encoded)
            return staged
        sql = self._upsert_sql(e, mode)
        if payload is not None:  # one statement: the GIL is released while SQLite works
            cur = self.execute(sql, [payload])
            changed = cur.rowcount
            cur.close()
        else:
            changed = self.executemany(sql, encoded)
        if mode is Mode.IGNORE:
            inserted = changed
            result.ignored = len(rows) - changed
        else:
            cur = self.execute(f"SELECT count(*) FROM {q(e.name)} WHERE rowid > ?", [top])
            (inserted,) = cur.fetchone()
            cur.close()
            result.updated = changed - inserted
            result.unchanged = len(rows) - changed
        result.inserted = inserted
        if own_checks and inserted == changed:  # only new rows were written: SQL alone
            self._check_new_references(e, top)
        elif own_checks:
            self._check_references(e, encoded)
        return result

    def _check_references(self, e: Entity, encoded: list[tuple[Any, ...]]) -> None:
        """Every non-NULL reference in `encoded` names a stored parent row (checked after
        the rows are written, so a category whose parent is in the same batch passes)."""
        for f in e.references:
            i = e.field_names.index(f.name)
            values = list(set(map(operator.itemgetter(i), encoded)) - {None})
            parent = self._entity(f.ref or "")
            found = self._count_keys(parent, values)
            if found != len(values):  # what SQLite's own check would have raised
                error = sqlite3.IntegrityError("FOREIGN KEY constraint failed")
                raise self._translate(error) or error

    def _count_keys(self, e: Entity, values: list[Any]) -> int:
        """How many of the distinct `values` are keys of `e`: one statement (one release
        of the GIL) given the values as a JSON array, or one per chunk before 3.38."""
        key = f"{self.q(e.name)} WHERE {self.q(e.key[0])}"
        if JSON_ROWS:
            chunks = [("IN (SELECT value FROM json_each(?))", [to_json(values)])]
        else:
            chunks = [
                (f"IN ({', '.join(['?'] * len(part))})", part)
                for part in (values[i : i + IN_CHUNK] for i in range(0, len(values), IN_CHUNK))
            ]
        found = 0
        for condition, params in chunks:
            cur = self.execute(f"SELECT count(*) FROM {key} {condition}", params)
            found += cur.fetchone()[0]
            cur.close()
        return found

    def _check_new_references(self, e: Entity, top: int) -> None:
        """`_check_references` for the rows inserted since rowid `top` only."""
        q = self.q
        for f in e.references:
            parent = self._entity(f.ref or "")
            col = q(f.name)
            cur = self.execute(
                f"SELECT count(*) FROM {q(e.name)} t WHERE t.rowid > ? AND t.{col} IS NOT NULL "
                f"AND NOT EXISTS (SELECT 1 FROM {q(parent.name)} p "
                f"WHERE p.{q(parent.key[0])} = t.{col})",
                [top],
            )
            (orphans,) = cur.fetchone()
            cur.close()
            if orphans:
                error = sqlite3.IntegrityError("FOREIGN KEY constraint failed")
                raise self._translate(error) or error

    def _index_order(self, e: Entity) -> Callable[[tuple[Any, ...]], Any] | None:
        """Sort key for encoded rows: the first secondary index's column when it is
        required (no NULLs to order). Inserting in index order touches each index page
        once per batch instead of once per row (~25% faster for order lines)."""
        first = self._index_order_field(e)
        return None if first is None else operator.itemgetter(e.field_names.index(first))

    @staticmethod
    def _index_order_field(e: Entity) -> str | None:
        if not e.indexes:
            return None
        first = e.indexes[0].fields[0]
        return None if not e.field(first).required or first in e.key else first

    def _row_encoder(self, e: Entity) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
        """One compiled function per entity: a row dict to the tuple of stored values
        (what `_encode_row` gives, without a call per value)."""
        encoder = self._encoders.get(e.name)
        if encoder is not None:
            return encoder
        env: dict[str, Any] = {"Decimal": Decimal, "datetime": datetime, "date": date}
        env["ALL"] = operator.itemgetter(*e.field_names)  # one C call for a complete row
        names = ", ".join(f"v{i}" for i in range(len(e.fields)))
        lines = ["    try:", f"        {names}, = ALL(row)", "    except KeyError:"]
        parts = []
        for i, f in enumerate(e.fields):
            env[f"F{i}"] = f
            lines.append(f"        v{i} = row.get({f.name!r})")
            generic = f"ENC(F{i}, v{i})"
            match f.type:
                case "money" | "decimal":
                    scaled = f"int(v{i}.scaleb({f.scale}))"
                    fast = f"{scaled} if v{i}.__class__ is Decimal else {generic}"
                case "datetime":
                    fast = f"v{i}.isoformat(' ') if v{i}.__class__ is datetime else {generic}"
                case "date" | "bool":
                    fast = generic
                case _:
                    parts.append(f"v{i}")
                    continue
            parts.append(f"(None if v{i} is None else {fast})")
        env["ENC"] = self.encode
        code = "def encode(row):\n" + "\n".join(lines) + f"\n    return ({', '.join(parts)},)\n"
        exec(compile(code, f"<sqlite encoder {e.name}>", "exec"), env)
        self._encoders[e.name] = env["encode"]
        return env["encode"]

    def _write_staged(self, e: Entity, rows: list[dict[str, Any]], mode: Mode) -> WriteResult:
        """The encoded rows go into a TEMP staging table, one join finds the keys that
        exist, and one INSERT ... SELECT writes the rest (or, for UPSERT, every row with
        ON CONFLICT DO UPDATE ... WHERE a column differs)."""
        q = self.q
        encode = self._row_encoder(e)
        cols = ", ".join(q(n) for n in e.field_names)
        stage = q(f"_ecom_stage_{e.name}")
        on_key = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in e.key)
        result = WriteResult()
        with self.transaction():
            self._mark(e, rows, mode=mode)
            self.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} (_i INTEGER PRIMARY KEY, {cols})"
            ).close()
            self.execute(f"DELETE FROM {stage}").close()
            marks = ", ".join(["?"] * (len(e.fields) + 1))
            self.executemany(
                f"INSERT INTO {stage} VALUES ({marks})",
                [(i, *encode(r)) for i, r in enumerate(rows)],
            )
            cur = self.execute(
                f"SELECT s._i FROM {stage} s JOIN {q(e.name)} t ON {on_key} ORDER BY s._i"
            )
            existing = [i for (i,) in cur.fetchall()]
            cur.close()
            new = len(rows) - len(existing)
            if mode is Mode.UPSERT:
                others = [n for n in e.field_names if n not in e.key]
                sets = ", ".join(f"{q(n)} = excluded.{q(n)}" for n in others)
                differs = " OR ".join(f"{q(n)} IS NOT excluded.{q(n)}" for n in others)
                action = f"DO UPDATE SET {sets} WHERE {differs}" if others else "DO NOTHING"
                keys = ", ".join(q(k) for k in e.key)
                cur = self.execute(
                    f"INSERT INTO {q(e.name)} ({cols}) SELECT {cols} FROM {stage} WHERE true "
                    f"ON CONFLICT ({keys}) {action}"
                )
                cur.close()
                changed = self.conn.execute("SELECT changes()").fetchone()[0]
                result.inserted = new
                result.updated = changed - new
                result.unchanged = len(existing) - result.updated
                return result
            if new:
                self.execute(
                    f"INSERT INTO {q(e.name)} ({cols}) SELECT {cols} FROM {stage} s "
                    f"WHERE NOT EXISTS (SELECT 1 FROM {q(e.name)} t WHERE {on_key})"
                ).close()
            result.inserted = new
            if mode is Mode.INSERT:
                result.rejected = [(i, "key already exists") for i in existing]
            else:
                result.ignored = len(existing)
        return result

    def close(self) -> None:
        self.conn.close()
        for path in self._sides.values():
            path.unlink(missing_ok=True)
        self._sides.clear()

    def files(self) -> list[Path]:
        if str(self.path) == ":memory:":
            return []
        return [self.path, *(Path(f"{self.path}{tail}") for tail in ("-wal", "-shm", "-journal"))]

    # --- ad-hoc queries -------------------------------------------------------------------

    def read_query(self, text: str) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
        """On a connection of its own that cannot write: the file opened read-only
        (`mode=ro`), `PRAGMA query_only`, and an authorizer that allows reading only (no
        ATTACH, PRAGMA or VACUUM INTO, which the first two let through)."""
        if str(self.path) == ":memory:":
            raise UsageError("ecom query needs a database file, not :memory:")
        try:
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
        except sqlite3.Error as e:
            raise ConnectionFailed(f"cannot open {self.url.masked} read-only: {e}") from None
        conn.execute("PRAGMA query_only = ON")
        conn.execute(f"PRAGMA threads = {SORT_THREADS}")
        conn.set_authorizer(_read_only)
        try:
            cur = conn.execute(text)
        except sqlite3.Error as e:
            conn.close()
            raise _query_error(e) from None
        columns = [d[0] for d in cur.description or ()]

        def rows() -> Iterator[tuple[Any, ...]]:
            try:
                while batch := cur.fetchmany(1000):
                    yield from batch
            except sqlite3.Error as e:
                raise _query_error(e) from None
            finally:
                conn.close()

        return columns, rows()


READ_ACTIONS = {
    sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_RECURSIVE,
}


def _read_only(action: int, *_: Any) -> int:
    return sqlite3.SQLITE_OK if action in READ_ACTIONS else sqlite3.SQLITE_DENY


def _query_error(error: sqlite3.Error) -> EcomError:
    text = str(error)
    if "not authorized" in text or "readonly" in text or "read-only" in text:
        return ReadOnly(f"ecom query only reads: {text}")
    return UsageError(f"query: {text}")


class EncodedRows(Sequence[tuple[Any, ...]]):
    """A columnar batch's encoded rows (`prepare_columns`), as tuples made on demand."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self._rows: list[tuple[Any, ...]] | None = None

    def __len__(self) -> int:
        return self.table.num_rows

    def __getitem__(self, i: Any) -> Any:
        if self._rows is None:
            self._rows = list(zip(*(c.to_pylist() for c in self.table.columns), strict=True))
        return self._rows[i]


# a batch's JSON array in key order, its lowest and highest key, and `Prepared.edges`
KeyOrder = tuple[str | None, tuple[Any, ...], tuple[Any, ...], Any]


class Prepared:
    """What `prepare_rows` makes of a batch: the rows encoded, and their JSON arrays (None
    before SQLite 3.38): `payload` for `json_each`, in the order of the first index, and
    `as_is` in key order, with the batch's lowest and highest key (`ends`) and `edges`,
    which `_stored_as_is` compares with the stored rows. Each array is made when first
    asked for (`SQLiteRepository._warmed`)."""

    def __init__(self, encoded: Sequence[tuple[Any, ...]], payload: Callable[[], str | None],
                 by_key: Callable[[], KeyOrder]) -> None:
        self.encoded = encoded
        self._payload, self._by_key = payload, by_key

    @cached_property
    def payload(self) -> str | None:
        return self._payload()

    @cached_property
    def _in_key_order(self) -> KeyOrder:
        return self._by_key()

    @property
    def as_is(self) -> str | None:
        return self._in_key_order[0]

    @property
    def ends(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return self._in_key_order[1], self._in_key_order[2]

    @property
    def edges(self) -> tuple[list[list[Any]], list[list[Any]]] | None:
        """For a key of several columns whose first column has another value in the
        batch's first row (in key order) than in its last: the other key columns of the
        rows at each of these two values, which other batches may share (a cart's lines);
        else None."""
        return self._in_key_order[3]


def _column_edges(keys: Any, low: tuple[Any, ...], high: tuple[Any, ...]
                  ) -> tuple[list[list[Any]], list[list[Any]]] | None:
    """`stored_as_is.edges` of a table of keys in key order, whose first and last are
    `low` and `high`, by Arrow's kernels."""
    import pyarrow.compute as pc

    if keys.num_columns < 2 or low[0] == high[0]:
        return None
    first = keys.column(0)
    rest = keys.select(keys.column_names[1:])

    def rows(at: int, count: Any) -> list[list[Any]]:
        part = rest.slice(at, count.as_py())
        return [list(r) for r in zip(*(c.to_pylist() for c in part.columns), strict=True)]

    at_low, at_high = pc.sum(pc.equal(first, low[0])), pc.sum(pc.equal(first, high[0]))
    return rows(0, at_low), rows(keys.num_rows - at_high.as_py(), at_high)


def _taken(texts: Any, order: Any) -> Any:
    """The rows' JSON texts (`json_texts`) in the order of the indexes `order` (None: as
    they are)."""
    import pyarrow as pa

    if order is None:
        return texts
    if isinstance(texts, pa.Array):
        return texts.take(order)
    return [texts[i] for i in order.to_pylist()]


def json_texts(table: Any) -> Any:
    """Each row of a table of string and int columns as the JSON array `json_each` reads,
    a pyarrow string array made by Arrow's string kernels (C code) in one join of the
    columns and the text between them; or a list of str made by `to_json` for a table
    holding control characters, which JSON escapes as \\uXXXX."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pieces: list[Any] = []
    before = "["  # what goes before the next column: "[", "," or '",' (and its quote)
    for column in table.columns:
        if pa.types.is_integer(column.type) or pa.types.is_null(column.type):
            text = pc.cast(column, pa.string())
        else:
            text = column
            if pc.any(pc.match_substring_regex(column, '[\\x00-\\x1f"\\\\]')).as_py():
                if pc.any(pc.match_substring_regex(column, "[\\x00-\\x1f]")).as_py():
                    rows = zip(*(c.to_pylist() for c in table.columns), strict=True)
                    return list(map(to_json, rows))
                text = pc.replace_substring(pc.replace_substring(column, "\\", "\\\\"),
                                            '"', '\\"')
            if not column.null_count:  # the quotes go with the text around the column
                pieces += [before + '"', text]
                before = '",'
                continue
            text = pc.binary_join_element_wise('"', text, '"', "")
        pieces += [before, pc.fill_null(text, "null") if column.null_count else text]
        before = ","
    rows = pc.binary_join_element_wise(*pieces, before[:-1] + "]", "")
    return rows.combine_chunks() if isinstance(rows, pa.ChunkedArray) else rows


def json_array(texts: Any) -> str:
    """The JSON array of the rows whose JSON texts are `texts` (`json_texts`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(texts, pa.Array):
        return f"[{','.join(texts)}]"
    whole = pa.ListArray.from_arrays(pa.array([0, len(texts)], pa.int32()), texts)
    return "[" + pc.binary_join(whole, ",")[0].as_py() + "]"


class Scratch(SQLiteRepository):
    """The file of summary tables a build beside an import rebuilds into (`build_beside`),
    reading the store attached to it: no journal (the file is thrown away if the build
    fails), and no second reader (it shares the cores with the import)."""

    def __init__(self, path: Path) -> None:
        super().__init__(parse_url(f"sqlite:///{path}"))
        self.conn.execute("PRAGMA journal_mode = OFF")
        self.conn.execute("PRAGMA synchronous = OFF")
        # no helper threads to sort: the import keeps the other core busy
        self.conn.execute("PRAGMA threads = 0")
        # SQLite sorts a GROUP BY in runs as large as the main file's page cache, and runs
        # of about 2 MB sort within the CPU's own caches: the whole build at 1M orders took
        # 22 s of one core against 24 s with the store's 16 MB (the pairs 7.4 s against 8.5)
        self.conn.execute(f"PRAGMA cache_size = {-SORT_RUN_KB}")
        self._wal = False
