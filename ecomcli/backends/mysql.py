"""MySQL 8.0+ / MariaDB 10.6+ over mysql-connector-python (its C extension when present).

    mysql://user[:password]@host[:port]/dbname[?connect_timeout=10&read_timeout=600]

- Values are native: DECIMAL for money (exact), DATE, DATETIME; the driver converts them.
- The session runs in autocommit; a unit of work is an explicit `START TRANSACTION` at
  READ COMMITTED (see `_begin`). Deadlocks and lock-wait timeouts become `TransientError`,
  which `Repository.atomic` retries.
- `write_batch` stages the batch in a temporary table with `LOAD DATA LOCAL INFILE` (or,
  when the server refuses it, one multi-row INSERT) and then classifies and writes it with
  set-based statements inside the server (see `MySQLRepository.write_batch`).
- `query(sql, params)` uses the `%s` placeholder; see its docstring about `%`.
"""

from __future__ import annotations

import contextlib
import operator
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ecomcli.backends import galera, spider, stored_as_is, summaries
from ecomcli.backends.build_beside import BuildInServer
from ecomcli.backends.dialect import MYSQL, NODE_ROWS
from ecomcli.backends.mysql_beside import SecondSession, indexes, scratch_like
from ecomcli.backends.sql import META_TABLE, R, SQLRepository, T, schema_file
from ecomcli.config import DbUrl
from ecomcli.errors import (
    ConflictError,
    ConnectionFailed,
    EcomError,
    MissingReference,
    ReadOnly,
    TransientError,
    UsageError,
)
from ecomcli.repository import (
    InitResult,
    Key,
    Mode,
    WriteResult,
    missing_required,
    with_defaults,
)
from ecomcli.schema import (
    RETIRED_INDEXES,
    SCHEMA_VERSION,
    Entity,
    Field,
    index_name,
    stored_entities,
)

# The C extension must load before OpenSSL's system libcrypto does (`ssl`, `hashlib`):
# ecomcli/__init__.py imports it first thing.
try:
    import _mysql_connector  # noqa: F401

    CEXT_ERROR = ""
except ImportError as e:
    CEXT_ERROR = str(e)

import mysql.connector
from mysql.connector import errorcode

DEFAULT_PORT = 3306
CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 600  # a long report may legitimately run for minutes
TRANSIENT = {errorcode.ER_LOCK_DEADLOCK, errorcode.ER_LOCK_WAIT_TIMEOUT}  # 1213, 1205
# server has gone away, lost connection (during query), connection killed (MariaDB)
GONE = {2006, 2013, 2055, 1927}
# a command denied to this account; --read-only; a READ ONLY transaction; MariaDB read-only
READ_ONLY = {1142, 1290, 1792, 1836}

STAGE = "`_ecom_stage`"  # the temporary staging table of `write_batch`
# the server or the client refuses LOAD DATA LOCAL: fall back to INSERT
LOCAL_REFUSED = {3948, 1148, 2068, 4166}

_warned_pure_python = False
_noticed: set[str] = set()


def _notice_once(message: str) -> None:
    """A notice on stderr, once per process."""
    if message not in _noticed:
        _noticed.add(message)
        print(f"notice: {message}", file=sys.stderr)


def _escape_tsv(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _odku_columns(e: Entity, mode: Mode, fields: Sequence[str]) -> list[str]:
    """The columns ON DUPLICATE KEY UPDATE sets: all (upsert), those given (merge), none."""
    if mode is Mode.UPSERT:
        return [n for n in e.field_names if n not in e.key]
    if mode is Mode.MERGE:
        given = set(fields)
        return [n for n in e.field_names if n in given and n not in e.key]
    return []


def tsv(e: Entity, rows: list[dict[str, Any]]) -> str:
    """Rows as LOAD DATA's default text format: `_i`, then the fields, tab-separated, with
    `\\` escapes and `\\N` for NULL. Rows are validated: decimals are quantized (never
    in exponent notation), datetimes have whole seconds and text holds no NUL."""
    get = operator.itemgetter(*e.field_names)
    slow = [_tsv_formatter(f) for f in e.fields]
    tabs = len(e.fields) - 1
    plain = not any(f.type == "bool" for f in e.fields)
    lines = []
    for i, row in enumerate(rows):
        try:
            values = get(row) if len(slow) > 1 else (get(row),)
        except KeyError:  # a row without some optional fields: they are NULL
            values = tuple(row.get(n) for n in e.field_names)
        # NULL as NUL first (validated text never holds one): the plain form is right
        # when no value has a character to escape
        line = "\t".join(["\0" if v is None else str(v) for v in values])
        if (
            plain
            and line.count("\t") == tabs
            and "\\" not in line
            and "\n" not in line
            and "\r" not in line
        ):
            line = line.replace("\0", "\\N")
        else:
            line = "\t".join(
                ["\\N" if v is None else to(v) for v, to in zip(values, slow, strict=True)]
            )
        lines.append(f"{i}\t{line}\n")
    return "".join(lines)


def columns_tsv(e: Entity, table: Any) -> bytes:
    """`tsv` of a batch given as validated columns (`columnar.validated`'s types), made
    by pyarrow's kernels: each column as text (decimals with their scale, moments in
    whole seconds), text escaped, NULL as `\\N`, then every row's columns joined."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from ecomcli.columnar import as_text

    n = table.num_rows
    if not n:
        return b""
    parts = [pc.cast(pa.array(np.arange(n)), pa.string())]  # `_i`
    for f in e.fields:
        column = table.column(f.name)
        text = as_text(column)  # (moments and dates as LOAD DATA reads them)
        # one pass to find a character to escape, rather than four to replace none
        if f.type in ("key", "string", "text", "enum") and pc.any(
            pc.match_substring_regex(text, "[\\\\\t\n\r]")
        ).as_py():
            for char, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
                text = pc.replace_substring(text, char, escaped)
        parts.append(pc.fill_null(text, "\\N"))
    rows = pc.binary_join_element_wise(*parts, "\t")
    lines = pc.binary_join_element_wise(rows, "", "\n")  # each row and a newline
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    # the lines lie end to end in the array's data buffer, between its first and last offset
    _, offsets, data = lines.buffers()
    width = np.int64 if pa.types.is_large_string(lines.type) else np.int32
    start, end = np.frombuffer(offsets, dtype=width)[[lines.offset, lines.offset + n]]
    return bytes(memoryview(data)[start:end])


# Result column types (the protocol's codes) whose text holds no tab, newline or
# backslash: numbers, dates and times. Other columns are escaped for LOAD DATA.
PLAIN_TYPES = frozenset({0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 246})


def _raw_plain(value: bytes | None) -> bytes:
    return b"\\N" if value is None else value


def _raw_escaped(value: bytes | None) -> bytes:
    if value is None:
        return b"\\N"
    if b"\\" in value or b"\t" in value or b"\n" in value or b"\r" in value:
        value = (
            bytes(value).replace(b"\\", b"\\\\")
            .replace(b"\t", b"\\t")
            .replace(b"\n", b"\\n")
            .replace(b"\r", b"\\r")
        )
    return value


def raw_tsv(description: Sequence[Sequence[Any]]) -> Callable[[Sequence[Sequence[Any]]], bytes]:
    """A function writing rows of a raw cursor (values as the server's text, bytes) with
    this `description` in `tsv`'s format, without `_i`: no Python value is made."""
    write = [_raw_plain if d[1] in PLAIN_TYPES else _raw_escaped for d in description]
    tabs = len(write) - 1
    checked = any(w is _raw_escaped for w in write)

    def value_by_value(rows: Sequence[Sequence[Any]]) -> bytes:
        return b"".join(
            b"\t".join([w(v) for w, v in zip(write, row, strict=True)]) + b"\n" for row in rows
        )

    def whole(rows: Sequence[Sequence[Any]]) -> bytes:
        # Most chunks hold no NULL and nothing to escape: joined at once (a function call
        # per value took 40 times as long). A tab or newline inside a text would add one
        # to the count of those that part the values and rows.
        try:
            text = b"\n".join([b"\t".join(row) for row in rows])
        except TypeError:  # a NULL
            return value_by_value(rows)
        if checked and (
            b"\\" in text or b"\r" in text or text.count(b"\t") != len(rows) * tabs
            or text.count(b"\n") != len(rows) - 1
        ):
            return value_by_value(rows)
        return text + b"\n" if rows else b""

    return whole


def _tsv_formatter(f: Field) -> Any:
    """How a value of `f` is written in a LOAD DATA file (NULL is `\\N`)."""
    if f.type in ("key", "string", "text", "enum"):
        return _escape_tsv
    if f.type == "bool":
        return lambda v: "1" if v else "0"
    if f.type in ("money", "decimal"):
        return lambda v: format(v, "f")  # exact, never in exponent notation
    return str  # int, date, datetime (whole seconds: 'YYYY-MM-DD HH:MM:SS')


def _key_column(rows: Sequence[dict[str, Any]], name: str) -> list[Any]:
    """Field `name` of every row (a columnar batch gives it without making the rows)."""
    column = getattr(rows, "column", None)
    return column(name) if column else [r[name] for r in rows]


def uses_c_extension(conn: Any) -> bool:
    """Whether `conn` is the C extension's connection class (twice the throughput)."""
    return type(conn).__name__ == "CMySQLConnection"


def _warn_pure_python() -> None:
    global _warned_pure_python
    if _warned_pure_python:
        return
    _warned_pure_python = True
    openssl = any(m in sys.modules for m in ("ssl", "_ssl", "_hashlib"))
    why = (
        "the system OpenSSL was loaded before it: import ecomcli before ssl or hashlib"
        if openssl
        else CEXT_ERROR or "it is not installed"
    )
    warnings.warn(
        f"mysql-connector-python is running without its C extension ({why}): "
        "expect about half the throughput",
        RuntimeWarning,
        stacklevel=3,
    )


def _driver_error(error: Exception) -> Exception:
    """The C extension's `commit()` raises its own `MySQLInterfaceError`, not a
    `mysql.connector.Error`: made the driver's error of that number (a Galera certification
    failure is a deadlock, 1213, at COMMIT, and must be retried like any other)."""
    errno = getattr(error, "errno", None)
    if type(error).__name__ == "MySQLInterfaceError" and errno:
        msg, state = getattr(error, "msg", str(error)), getattr(error, "sqlstate", None)
        return mysql.connector.errors.get_mysql_exception(errno, msg, state)
    return error


def quote_name(name: str) -> str:
    """A MySQL identifier, quoted (for the database name, which comes from the URL)."""
    return "`" + name.replace("`", "``") + "`"


def set_up_session(cur: Any) -> None:
    """Every session's settings, through its cursor `cur`."""
    cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")  # see _begin
    cur.execute("SET time_zone = '+00:00'")  # NOW() and friends in UTC, like the data
    # in-memory temporary tables up to 128 MB (the servers' default is 16 MB): the carts
    # report's paying customers stay in memory (see reports/defs/carts.py summarized_sql),
    # and a rebuild's monthly sales sort in 5.6 s instead of 29 s at 1M orders
    cur.execute(
        "SET SESSION tmp_table_size = GREATEST(@@tmp_table_size, 134217728),"
        " max_heap_table_size = GREATEST(@@max_heap_table_size, 134217728)"
    )


class MySQLRepository(SQLRepository):
    backend = "mysql"
    dialect = MYSQL
    placeholder = MYSQL.ph
    keys_per_query = 5000  # one round trip for a batch's parents (a statement well under 1 MB)
    # fewer, bigger LOAD DATA statements, nearer the speed of one for the whole file
    # (bench/README.md, import_bench.py)
    bulk_batch_size = 50_000
    no_limit = "18446744073709551615"  # MySQL has no LIMIT-less OFFSET: the documented idiom
    # one round trip per report, not two (SQLite keeps two statements: it has no round
    # trip to save, and its planner read suppliers more slowly under the check's join)
    checks_in_report = True
    sharded = False  # a Spider head made by `init-db --shards` (see backends/spider.py)
    # a build beside an import: its rebuilds read on its own session alone, leaving the
    # server's other core to the import's writes (and so reading the sales once for
    # several summaries: `summaries.read_sales_once`)
    reads_alone = False
    _nodes: list[MySQLRepository] | None = None  # its data nodes, for bulk writes
    _marking_shards = False  # marking a batch written to the data nodes (`write_batch`)

    @property
    def marks_taken_back(self) -> bool:  # type: ignore[override]
        # a Spider head's tables are not trusted to roll back to a savepoint
        return not self.sharded

    @property
    def skips_unbuilt(self) -> bool:  # type: ignore[override]
        # a lock taken on a Galera node or a Spider head does not hold on the other nodes
        return not (self.sharded or self._replicated)

    def hold_builds(self, *, exclusive: bool) -> None:
        # the summaries' layout row, read with a lock: shared by the writers that skip marks,
        # exclusive for a first rebuild (summaries.unbuilt)
        lock = self.dialect.locking("FOR UPDATE" if exclusive else "LOCK IN SHARE MODE")
        cur = self.execute(
            f"SELECT value FROM ecom_meta WHERE name = '{summaries.LAYOUT_ROW}'{lock}"
        )
        cur.fetchall()
        cur.close()

    @property
    def builds_beside(self) -> bool:
        """A second session rebuilds them in the server (`BuildInServer`); on a Spider
        head, reading the data nodes as a report's rebuild does. Not on a Galera node."""
        return not self._replicated

    def _build_beside(self, kinds: list[str]) -> BuildInServer:
        return BuildInServer(self, kinds)

    def __init__(self, url: DbUrl, *, create: bool = True) -> None:
        # `create` is for embedded stores: a server's database is made by init-db alone
        self.url = url
        self._depth = 0
        self._missing_db = False
        self.local_infile = url.options.get("local_infile", "1") not in ("0", "false", "no")
        self._fresh: dict[str, bool] = {}  # entity: its last batch was all new rows
        self._as_is: dict[str, bool] = {}  # entity: its last batch changed no stored row
        self._wide: set[str] = set()  # entities whose batches' key ranges hold other rows
        try:
            self.conn = self._connect(database=url.database)
        except mysql.connector.Error as e:
            if e.errno != errorcode.ER_BAD_DB_ERROR:
                raise self._connect_error(e) from None
            # `init-db` may create it; anything else says to run `init-db` (see `execute`)
            try:
                self.conn = self._connect(database=None)
            except mysql.connector.Error as e2:
                raise self._connect_error(e2) from None
            self._missing_db = True
        if not uses_c_extension(self.conn):
            _warn_pure_python()
        cur = self.conn.cursor()
        self._cursor_class = type(cur)  # see `_cursor`
        set_up_session(cur)
        self._replicated, max_ws_size = galera.settings(cur)  # a Galera node?
        if self._replicated:
            cur.execute(galera.CAUSAL_READS)
        self.bulk_batch_size = galera.batch_size(  # type: ignore[misc]
            self._replicated, max_ws_size, self.bulk_batch_size
        )
        self._scratch: list[str] = []  # a rebuild's scratch tables to drop (`_scratch_for`)
        spider.adapt(self, cur)  # a Spider head: ecom checks the references (spider.py)
        cur.close()

    def _connect(self, database: str | None) -> Any:
        url = self.url
        opts = url.options
        kwargs: dict[str, Any] = {
            "host": url.host or "localhost",
            "port": url.port or DEFAULT_PORT,
            "user": url.user or "root",
            "password": url.password or "",
            "charset": "utf8mb4",
            "collation": "utf8mb4_bin",
            "autocommit": True,
            "use_pure": not mysql.connector.HAVE_CEXT,
            "connection_timeout": int(opts.get("connect_timeout", CONNECT_TIMEOUT_S)),
            "read_timeout": int(opts.get("read_timeout", READ_TIMEOUT_S)),
            "write_timeout": int(opts.get("write_timeout", READ_TIMEOUT_S)),
            "allow_local_infile": self.local_infile,
        }
        if database:
            kwargs["database"] = database
        return mysql.connector.connect(**kwargs)

    def _connect_error(self, e: Any) -> EcomError:
        where = self.url.masked
        host = f"{self.url.host}:{self.url.port or DEFAULT_PORT}"
        match e.errno:
            case 2003:
                reason = f"connection refused or timed out at {host}: is the server running?"
            case 2005:
                reason = f"unknown host {self.url.host!r}"
            case errorcode.ER_ACCESS_DENIED_ERROR | errorcode.ER_DBACCESS_DENIED_ERROR:
                using = "with a password" if self.url.password else "without a password"
                reason = (
                    f"access denied for user {self.url.user or 'root'!r} ({using}; "
                    "the password may come from ECOM_DB_PASSWORD)"
                )
            case _ if e.errno in GONE:
                reason = f"the server at {host} closed the connection ({e.msg})"
            case _:
                reason = f"{e.msg} (MySQL error {e.errno})"
        return ConnectionFailed(f"cannot connect to {where}: {reason}")

    # dialect hooks ------------------------------------------------------------------------

    def encode(self, f: Field, value: Any) -> Any:
        if f.type == "bool":
            return int(value)
        return value

    def decode(self, f: Field, value: Any) -> Any:
        match f.type:
            case "bool":
                return bool(value)
            case "money" | "decimal":
                return value if isinstance(value, Decimal) else Decimal(str(value))
            case "datetime":
                return value if isinstance(value, datetime) else datetime.fromisoformat(value)
            case "date":
                return value if isinstance(value, date) else date.fromisoformat(value)
            case "int":
                return int(value)
            case "bytes":  # the driver may return a bytearray
                return bytes(value)
        return value

    def normalize_stored(self, e: Entity, columns: Sequence[str], values: Sequence[Any]) -> tuple:
        # The driver's values already compare equal to encoded ones: DECIMAL comes back as
        # a Decimal with the column's scale (equal to the validated value whatever its
        # exponent), DATETIME without microseconds, DATE as date, and BOOLEAN as the int
        # that `encode` makes of a bool. (`write_batch` below compares inside the server;
        # this serves the generic path that logins take.)
        return tuple(values)

    def reads_beside(self) -> bool:
        """In a rebuild's transaction of its own (an outer one's writes are not a second
        session's to read), on one server: on a Galera node or a Spider head a scratch
        table would be DDL replicated to, or made on, other servers."""
        return self._rebuilds_alone() and not self.reads_alone

    def _rebuilds_alone(self) -> bool:
        """In a rebuild's transaction of its own, on one server (see `reads_beside`)."""
        return self._depth == 1 and not (self._replicated or self.sharded)

    def insert_selects(self, inserts: Sequence[summaries.Insert]) -> None:
        """The first half of the inserts (rounded down) on this session, the others' at
        the same time on a second one (`SecondSession`), each into a scratch table, then
        copied (a rebuild orders its statements so that the halves take about as long).
        On a Spider head, each data node reads its own rows."""
        sharded = self.sharded and self._depth == 1 and all(i.adds for i in inserts)
        if sharded and (nodes := self._data_nodes()):  # each data node reads its own orders
            for insert in inserts:
                spider.insert_added(self, nodes, insert)
            return
        if len(inserts) < 2 or not self.reads_beside():
            super().insert_selects(inserts)
            return
        mine, rest = inserts[: len(inserts) // 2], inserts[len(inserts) // 2 :]
        side = self._side_session()
        tables = side and self._scratch_for(side, [i.table for i in rest])
        if not side or not tables:  # (no second connection, no CREATE grant): one by one
            if side:
                side.close()
            super().insert_selects(inserts)
            return
        session = self.conn.connection_id
        reading = SecondSession(side, [(table, i.columns, i.select, i.binds)
                                       for table, i in zip(tables, rest, strict=True)])
        try:
            super().insert_selects(mine)
        except BaseException:
            reading.stop(lambda: self.execute(f"KILL QUERY {int(session)}").close())
            raise
        if failed := reading.wait():  # the rest read here, as without it
            warnings.warn(f"{failed}; read by one session instead", RuntimeWarning,
                          stacklevel=2)
            super().insert_selects(rest)
            return
        for insert, table in zip(rest, tables, strict=True):
            columns = insert.columns.strip("()")
            self.execute(f"INSERT INTO {insert.table} {insert.columns}"
                         f" SELECT {columns} FROM {table}").close()

    def replace_rows(self, inserts: Sequence[summaries.Insert], *, here: bool = False) -> None:
        """Into tables that hold rows: every insert read into a scratch table of its own
        (on two other sessions, or on this one: `here`), then merged in, writing only the
        rows that differ. A whole rebuild most often finds the rows it had (after
        `init-db`, or a big import that changed a few): deleting and inserting 1.2M rows
        in one transaction cost InnoDB over twice as long as reading them. Into empty
        ones (a new store, a build beside its import), loaded in bulk."""
        tables = list(dict.fromkeys(i.table for i in inserts))
        if self._rebuilds_alone() and not any(map(self._holds_rows, tables)):
            with self._loading_empty_tables():
                super().replace_rows(inserts, here=here)
            return
        if not self.reads_beside():
            super().replace_rows(inserts, here=here)
            return
        sessions = (self._side_session() for _ in range(1 if here else min(2, len(inserts))))
        sides = [conn for conn in sessions if conn]
        made = sides and self._scratch_for(sides[0], [i.table for i in inserts])
        if here or not made:
            for conn in sides:
                conn.close()
        if not made:  # (no second connection, no CREATE grant): one by one, here
            super().replace_rows(inserts, here=True)
            return
        jobs = [(s, i.columns, i.select, i.binds) for s, i in zip(made, inserts, strict=True)]
        rows = [self._insert_rows(*job) for job in jobs] if here else self._read_beside(sides, jobs)
        if rows is None:
            super().replace_rows(inserts, here=True)
            return
        for table in tables:
            parts = [n for n, i in enumerate(inserts) if i.table == table]
            self._merge(table, [made[n] for n in parts], inserts[parts[0]].columns,
                        sum(rows[n] for n in parts))

    @contextlib.contextmanager
    def _loading_empty_tables(self) -> Iterator[None]:
        """Inside, the first insert of this transaction into an empty table is loaded in
        bulk by InnoDB (MariaDB 10.6+), as the second sessions load their scratch tables
        (mysql_beside.SecondSession): for a rebuild in its own transaction (a failed
        statement then rolls all of it back) into summary tables, which have no foreign
        keys and no unique index beside their key; a build beside an import too. Other
        sessions' reads of those tables see them empty until it commits, without waiting."""
        self.execute("SET SESSION unique_checks = 0, foreign_key_checks = 0").close()
        try:
            yield
        finally:
            self.execute("SET SESSION unique_checks = 1, foreign_key_checks = 1").close()

    def _insert_rows(self, table: str, columns: str, select: str, binds: Sequence[Any]) -> int:
        """The number of rows `INSERT INTO table columns select` inserted."""
        cur = self.execute(f"INSERT INTO {table} {columns} {select}", binds)
        inserted = cur.rowcount
        cur.close()
        return int(inserted)

    def _read_beside(self, sides: list[Any], jobs: list[tuple[str, str, str, Sequence[Any]]],
                     ) -> list[int] | None:
        """The rows each of `jobs` inserted, their first half on the first of `sides` and
        the others on the second, as in `insert_selects` (None: one failed, and a warning
        says why)."""
        half = len(jobs) // 2
        shares = [jobs[:half], jobs[half:]] if len(sides) > 1 else [jobs]
        reading = [SecondSession(conn, share) for conn, share in zip(sides, shares, strict=True)]
        if failed := next(filter(None, [r.wait() for r in reading]), ""):
            warnings.warn(f"{failed}; read by one session instead", RuntimeWarning,
                          stacklevel=3)
            return None
        return [n for r in reading for n in r.rows]

    def _side_session(self) -> Any | None:
        """A new session reading as this one does (None: the server refused it)."""
        try:
            conn = self._connect(self.url.database)
            cur = conn.cursor()
            set_up_session(cur)
            cur.close()
        except mysql.connector.Error:
            return None
        return conn

    def _scratch_for(self, conn: Any, tables: Sequence[str]) -> list[str]:
        """A scratch table like each of `tables`, made on `conn` (dropped when this
        transaction ends: `_ended`); none when the server refuses (no CREATE grant)."""
        made: list[str] = []
        try:
            for table in tables:
                made.append(scratch_like(conn, table))
        except mysql.connector.Error as e:
            warnings.warn(f"a summary rebuild's second session failed: {e.msg}; read by one"
                          " session instead", RuntimeWarning, stacklevel=3)
            self._scratch.extend(made)
            return []
        self._scratch.extend(made)
        return made

    def _holds_rows(self, table: str) -> bool:
        cur = self.execute(f"SELECT 1 FROM {table} LIMIT 1")
        found = cur.fetchone() is not None
        cur.close()
        return found

    def _merge(self, table: str, scratch: Sequence[str], columns: str, rows: int) -> None:
        """`table`'s rows made those of the `scratch` tables (their keys disjoint,
        `rows` rows in all), writing only those that differ: one pass over each finds the
        rows `table` lacks or holds with other values (their join on every column finds no
        row) and upserts them; then, when `table` holds more rows, the rows none of them
        has go. (An UPDATE joined on the key, then an INSERT of the keys missing, read
        each scratch table twice: twice as long. An upsert of every row took half as long
        again.)"""
        cur = self.execute(f"SHOW INDEX FROM {table}")
        keys = indexes(cur.fetchall())["PRIMARY"]
        cur.close()
        names = [c.strip() for c in columns.strip("()").split(",")]
        values = [c for c in names if c not in keys]
        same = " AND ".join([f"t.{k} = s.{k}" for k in keys] + [f"t.{c} <=> s.{c}" for c in values])
        # (a key without values: only the missing keys, which the upsert never finds)
        update = ", ".join(f"{c} = s.{c}" for c in values or keys[:1])
        read = ", ".join(f"s.{c}" for c in names)
        for part in scratch:
            self.execute(f"INSERT INTO {table} {columns} SELECT {read}"
                         f" FROM {part} s LEFT JOIN {table} t ON {same}"
                         f" WHERE t.{keys[0]} IS NULL ON DUPLICATE KEY UPDATE {update}").close()
        # every row of the scratch tables is in `table` now: as many rows, no others
        if self._count(table) != rows:
            joins = " ".join(
                f"LEFT JOIN {part} s{n} ON " + " AND ".join(f"s{n}.{k} = t.{k}" for k in keys)
                for n, part in enumerate(scratch))
            missing = " AND ".join(f"s{n}.{keys[0]} IS NULL" for n in range(len(scratch)))
            self.execute(f"DELETE t FROM {table} t {joins} WHERE {missing}").close()

    def rows_about(self, table: str) -> int | None:
        """InnoDB's estimate of `table`'s rows, which the planner reads too (`COUNT(*)`
        reads every row); the count when it has none."""
        cur = self.execute(f"EXPLAIN SELECT 1 FROM {table}")
        names = [d[0].lower() for d in cur.description]
        plan = cur.fetchall()
        cur.close()
        estimate = plan[0][names.index("rows")] if plan and "rows" in names else None
        return int(estimate) if estimate else super().rows_about(table)

    def _count(self, table: str) -> int:
        cur = self.execute(f"SELECT COUNT(*) FROM {table}")
        (n,) = cur.fetchone()
        cur.close()
        return int(n)

    def _ended(self) -> None:
        """Drop a rebuild's scratch tables (a DROP would have committed its transaction).
        A session that can no longer drop them (it was killed) leaves them."""
        for name in self._scratch:
            with contextlib.suppress(mysql.connector.Error):
                cur = self.conn.cursor()
                cur.execute(f"DROP TABLE IF EXISTS {name}")
                cur.close()
        self._scratch = []

    def _begin(self) -> None:
        # READ COMMITTED (set for the session): each statement sees the latest committed
        # rows and InnoDB takes no gap locks, so concurrent order placements do not
        # deadlock on index gaps. Overselling is prevented by `add_stock`'s conditional
        # `UPDATE ... WHERE stock + delta >= 0`, which locks the product row until commit:
        # a second buyer waits for it and then re-evaluates the condition on the new stock.
        self.execute("START TRANSACTION").close()

    def _translate(self, error: Exception) -> Exception | None:
        error = _driver_error(error)
        if not isinstance(error, mysql.connector.Error):
            return None
        no, msg = error.errno, error.msg
        if no is None or no < 0:  # the driver's own checks: "MySQL Connection not available"
            if isinstance(error, mysql.connector.OperationalError | mysql.connector.InterfaceError):
                return ConnectionFailed(f"lost the connection to {self.url.masked}: {msg}")
            return None
        if no in TRANSIENT:
            return TransientError(f"{self.url.masked}: {msg} (MySQL error {no})")
        if no in GONE:
            return ConnectionFailed(
                f"lost the connection to {self.url.masked}: {msg} (MySQL error {no})"
            )
        if no in READ_ONLY:
            return ReadOnly(f"{self.url.masked}: {msg} (MySQL error {no})")
        if no == errorcode.ER_DUP_ENTRY:
            return ConflictError(f"already exists: {msg}")
        if no in (errorcode.ER_NO_REFERENCED_ROW_2, errorcode.ER_NO_REFERENCED_ROW):
            return MissingReference(f"a reference points nowhere: {msg}")
        if no in (errorcode.ER_ROW_IS_REFERENCED_2, errorcode.ER_ROW_IS_REFERENCED):
            return ConflictError(f"still referenced: {msg}")
        if no == errorcode.ER_NO_SUCH_TABLE:
            return EcomError(f"{self.url.masked} has no ecom schema ({msg}): run `ecom init-db`")
        if no == errorcode.ER_BAD_DB_ERROR:
            return self._no_database()
        if 1000 <= no < 2000 or no >= 3000:  # a server-side error about this statement
            return EcomError(f"{self.url.masked}: {msg} (MySQL error {no})")
        return None

    def _no_database(self) -> EcomError:
        return ConnectionFailed(
            f"cannot use {self.url.masked}: database {self.url.database!r} does not exist: "
            "run `ecom init-db` to create it"
        )

    # plumbing -----------------------------------------------------------------------------

    def _cursor(self) -> Any:
        """A cursor of the kind `conn.cursor()` makes, without its ping: a round trip per
        statement (0.12 ms, half of a report's freshness check). A lost connection is
        still reported, by the statement (`GONE`)."""
        return self._cursor_class(self.conn)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self._missing_db:
            raise self._no_database()
        if self._gathers(sql) and (nodes := self._data_nodes()):
            sql, params = spider.gathered(self, nodes, sql, params)
        try:  # the base class translates errors of the statement; this, those of `cursor()`
            return super().execute(sql, params or None)
        except mysql.connector.Error as e:
            raise self._translate(e) or e from e

    def _gathers(self, sql: str) -> bool:
        """Whether each data node runs the parts of `sql` marked by
        `SpiderDialect.node_rows` (the nodes show what is committed): on a Spider head,
        outside a transaction, or in a summary rebuild's own (an INSERT at depth 1: one
        inside a caller's transaction runs deeper). In a caller's transaction, which may
        have written to the shards, the head reads them, its own writes included."""
        if not self.sharded or NODE_ROWS[0] not in sql:
            return False
        return self._depth == 0 or (self._depth == 1 and sql.startswith("INSERT"))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        if self._missing_db:
            raise self._no_database()
        try:
            return super().executemany(sql, rows)
        except mysql.connector.Error as e:
            raise self._translate(e) or e from e

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only statement as dicts (reports use this).

        The placeholder is `%s`. mysql-connector-python (9.x, 26.x, C extension and pure
        Python alike) replaces only `%s` and does NOT turn `%%` into `%`, so write a
        literal percent sign as a single `%` with or without params (`LIKE 'x%'`,
        `DATE_FORMAT(ts, '%Y-%m')`); `'%%Y'` would reach the server as `%%Y`. But `%s`
        is a placeholder even inside quotes: for seconds write `%S`, not `%s`.
        """
        return super().query(sql, params)

    def tables(self) -> set[str]:
        cur = self.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
        )
        names = {r[0] for r in cur.fetchall()}
        cur.close()
        return names

    # schema ------------------------------------------------------------------------------

    def init_schema(self, *, drop: bool = False) -> InitResult:
        created = []
        if self._missing_db:
            self._create_database()
            created.append(f"database {self.url.database}")
        if drop:
            self.execute("SET FOREIGN_KEY_CHECKS = 0").close()
            try:
                for name in (
                    *summaries.TABLES, *(e.name for e in reversed(stored_entities())), META_TABLE
                ):
                    self.execute(f"DROP TABLE IF EXISTS {self.q(name)}").close()
            finally:
                self.execute("SET FOREIGN_KEY_CHECKS = 1").close()
        version = self.schema_version()
        if version is not None and version > SCHEMA_VERSION:
            raise EcomError(
                f"{self.url.masked} has schema version {version}, newer than this ecom "
                f"({SCHEMA_VERSION}): upgrade ecom"
            )
        before = self.tables()
        # DDL commits implicitly in MySQL: no transaction; every statement is idempotent
        remade = summaries.drop_outdated(self)
        self._run_script(schema_file("mysql").read_text())
        self._upgrade_indexes()
        created += self.add_missing_columns()
        with self.transaction():
            summaries.forget(self)
        self._has_summaries = None
        wanted = [META_TABLE, *(e.name for e in stored_entities()), *summaries.TABLES]
        created += [name for name in wanted if name not in before or name in remade]
        return InitResult(created=created, version=SCHEMA_VERSION)

    def init_sharded(self, shards: list[str], *, drop: bool = False) -> InitResult:
        return spider.init_sharded(self, shards, drop=drop)

    def status(self) -> dict[str, Any]:
        data = super().status()
        if self.sharded:
            data["shards"] = spider.shard_status(self)
        return data

    def _upgrade_indexes(self) -> None:
        """Create the indexes a table made by an earlier ecom lacks, and drop the retired
        ones: MySQL declares them inside `CREATE TABLE IF NOT EXISTS` (MySQL 8 has no
        `CREATE INDEX IF NOT EXISTS`), which leaves an existing table as it was."""
        cur = self.execute(
            "SELECT DISTINCT table_name, index_name FROM information_schema.statistics"
            " WHERE table_schema = DATABASE()"
        )
        have = {(t, i) for t, i in cur.fetchall()}
        cur.close()
        for e in stored_entities():
            for ix in e.indexes:
                name = index_name(e.name, ix.fields)
                if not ix.sqlite_only and (e.name, name) not in have:
                    cols = ", ".join(self.q(c) for c in ix.fields)
                    sql = f"CREATE INDEX {self.q(name)} ON {self.q(e.name)} ({cols})"
                    self.execute(sql).close()
        for table, name in RETIRED_INDEXES:
            if (table, name) in have:
                self.execute(f"DROP INDEX {self.q(name)} ON {self.q(table)}").close()

    def _create_database(self) -> None:
        name = quote_name(self.url.database)
        cur = self.conn.cursor()
        try:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8mb4")
            cur.execute(f"USE {name}")
        except mysql.connector.Error as e:
            raise EcomError(
                f"database {self.url.database!r} does not exist on {self.url.masked} and "
                f"this account may not create it ({e.msg}): ask the DBA to create it",
                exit_code=ConnectionFailed.exit_code,
            ) from None
        finally:
            cur.close()
        self._missing_db = False

    # records -----------------------------------------------------------------------------

    # bulk writes --------------------------------------------------------------------------

    def write_batch(
        self,
        entity: str,
        rows: list[dict[str, Any]],
        mode: Mode,
        fields: Sequence[str],
        prepared: Any = None,
    ) -> WriteResult:
        """Write a batch with LOAD DATA LOCAL and set-based statements inside the server.

        Fast path, while an entity's batches keep being all new (a fresh import): inside a
        savepoint, `LOAD DATA LOCAL INFILE ... IGNORE` straight into the table. If every
        row went in without a warning, that is the whole job (every row inserted, in any
        mode). Otherwise (a key existed, or a row was refused) roll back to the savepoint
        and take the staged path; the next batches of that entity start staged.

        Stored as it is (an upsert or an ignore): one read of the batch's key range tells
        whether the table holds exactly the batch's rows there (`_stored_as_is`); if so,
        nothing is staged, marked or written.

        Staged path:
        1. stage: the encoded rows, numbered `_i`, go into the temporary table
           `_ecom_stage` (LOAD DATA LOCAL, or one multi-row INSERT when LOCAL is refused);
        2. classify: one join of the stage with the table gives the numbers of the rows
           whose key exists (rejected in insert mode, ignored in ignore mode), and in
           upsert mode how many hold the stored values: when all of them, the batch stops
           here (no marks, no write);
        3. mark the summaries, then write: `INSERT INTO t SELECT ... FROM stage ON
           DUPLICATE KEY UPDATE c = VALUES(c)`; its affected-rows count is 1 per inserted
           row, 2 per changed row and 0 per row left as it was, so updated = (affected -
           inserted) / 2 and unchanged = existing - updated, exactly as the server judged
           equality.

        Entities with a unique non-key field (logins.email) take the generic path: ON
        DUPLICATE KEY would turn a clash on that field into an update of another row.
        """
        e = self._entity(entity)
        if not rows or any(f.unique for f in e.fields):
            return super().write_batch(entity, rows, mode, fields)
        if self._writes_shards(entity) and (nodes := self._data_nodes()):
            # the head's marks first, made before the rows change and committed; they read
            # the stored orders from the nodes, as this transaction writes none of them
            with self.transaction():
                self._marking_shards = True
                try:
                    self._mark(e, rows, mode=mode, fields=fields)
                finally:
                    self._marking_shards = False
            return spider.write_sharded(nodes, entity, rows, mode, fields)
        if mode is Mode.MERGE:
            rows = [with_defaults(e, r) for r in rows]
        with self.transaction(), tempfile.TemporaryDirectory(prefix="ecom-") as tmp:
            path = os.path.join(tmp, "batch.tsv")
            if self.local_infile:
                text = prepared or tsv(e, rows)  # (bytes from `prepare_columns`)
                with open(path, "wb") as fh:
                    fh.write(text.encode() if isinstance(text, str) else text)
            # (not into a Spider table: a savepoint cannot roll back what it wrote)
            fresh = self._fresh.get(e.name, True) and not (
                mode is Mode.MERGE and any(missing_required(e, r) for r in rows)
            ) and not self._on_spider(entity)
            if fresh and self.local_infile and self._load_direct(e, path, len(rows)):
                # marked after the load: every row was new (no order to look up for new
                # orders), and the foreign-key checks locked the orders of the lines, so
                # reading them needs no lock
                self._mark(e, rows, new=True, locked=True)
                return WriteResult(inserted=len(rows))
            if self.local_infile and (same := self._stored_as_is(e, rows, mode, text)):
                self._fresh[e.name] = False
                return same
            # marked inside the write, once it is known that some row changes
            result = self._marked_write(lambda: None, lambda: self._write_staged(
                e, rows, mode, fields, path, lambda: self._mark(e, rows, mode=mode, fields=fields)
            ))
        self._fresh[e.name] = result.inserted == len(rows)
        # the next batch tries the range read again once a batch has changed nothing
        self._as_is[e.name] = not (result.inserted or result.updated or result.rejected)
        return result

    def _stored_as_is(self, e: Entity, rows: Sequence[dict[str, Any]], mode: Mode,
                      text: bytes | str) -> WriteResult | None:
        """An upsert's or an ignore's result when the table holds this batch (the LOAD
        DATA file `text`) exactly as it is, found by one read of its keys' range
        (backends/stored_as_is.py); else None. Tried while the entity's batches change
        nothing (after a batch that changed rows, the next one goes straight to the
        stage), and not again once a range held more rows than its batch: the file is not
        in the table's key order (random ids, numbers of several widths), and every
        batch's range would span much of the table."""
        if mode not in (Mode.UPSERT, Mode.IGNORE) or not self._as_is.get(e.name, True):
            return None
        if e.name in self._wide or not (reads := stored_as_is.range_reads(
                e, self.q, [_key_column(rows, k) for k in e.key], len(rows))):
            return None
        count = total = 0
        for at, (sql, binds) in enumerate(reads):
            cur = self.execute(sql, binds)
            found, part = cur.fetchone()
            cur.close()
            if at == 0 and found > len(rows):  # the range, or its inside
                self._wide.add(e.name)
            count, total = count + found, total + int(part or 0)
        if count != len(rows) or total != stored_as_is.line_sum(text):
            self._as_is[e.name] = False
            return None
        if mode is Mode.IGNORE:
            return WriteResult(ignored=len(rows))
        return WriteResult(unchanged=len(rows))

    def _on_spider(self, entity: str) -> bool:
        """Whether `entity` is a Spider table of this store (sharded across its nodes)."""
        return self.sharded and entity in spider.SHARD_KEYS

    def _writes_shards(self, entity: str) -> bool:
        """Whether a batch of `entity` goes straight to the data nodes: on a Spider head,
        for a sharded entity, outside a transaction of the caller's (whose other writes
        the nodes' own commits would not wait for)."""
        return self._on_spider(entity) and not self._depth

    def _data_nodes(self) -> list[MySQLRepository] | None:
        """A Spider head's data nodes, opened on the first bulk write (spider.data_nodes)."""
        if self._nodes is None:
            self._nodes = spider.data_nodes(self) or []
        return self._nodes or None

    def on_shards(
        self,
        entity: str,
        values: Iterable[T],
        work: Callable[[SQLRepository, list[T]], R],
        shard_key: Callable[[T], Any] = lambda value: value,
    ) -> list[R] | None:
        if (nodes := self._nodes_of(entity)) is None:
            return None
        parts = spider.split(values, len(nodes), shard_key)
        return [done for _, done in spider.on_each(nodes, parts, work)]

    def on_every_shard(
        self, entity: str, values: Iterable[T], work: Callable[[SQLRepository, list[T]], R]
    ) -> list[R] | None:
        # through the head, a batch's keys went to the nodes a few at a time, round trip
        # after round trip (a payment batch's months: 0.2 s a batch)
        if (nodes := self._nodes_of(entity)) is None:
            return None
        everything = list(values)
        return [done for _, done in spider.on_each(nodes, [everything] * len(nodes), work)]

    def _nodes_of(self, entity: str) -> list[MySQLRepository] | None:
        """The data nodes to read `entity`'s rows from directly: outside a transaction
        (whose writes through the head the nodes would not show yet), or while marking a
        batch the nodes are about to write; else None."""
        marking = self._marking_shards and entity in spider.SHARD_KEYS  # (a head table: no)
        if not (self._writes_shards(entity) or marking):
            return None
        return self._data_nodes()

    def existing_keys(self, entity: str, keys: Iterable[Key]) -> set[Key]:
        # on a Spider head each data node is asked for its own share of the keys, in one
        # statement, rather than the head asking every node for all of them
        e = self._entity(entity)
        if self._on_spider(entity):
            def look_up(node: SQLRepository, part: list[Key]) -> set[Key]:
                return node.existing_keys(entity, part)

            if spider.SHARD_KEYS[entity] in e.key:
                by = operator.itemgetter(e.key.index(spider.SHARD_KEYS[entity]))
                found = self.on_shards(entity, keys, look_up, by)
            else:  # a payment's id, a card's: every node is asked for all of them
                found = self.on_every_shard(entity, keys, look_up)
            if found is not None:
                return set().union(*found)
        return super().existing_keys(entity, keys)

    def prepare_rows(self, entity: str, rows: list[dict[str, Any]], mode: Mode) -> Any:
        """The LOAD DATA file's text (`tsv`) of the batch (not for MERGE, which writes
        the rows completed with defaults, nor for a data node's part of a batch)."""
        e = self._entity(entity)
        if mode is Mode.MERGE or not self.local_infile or any(f.unique for f in e.fields):
            return None
        if self._writes_shards(entity):
            return None
        return tsv(e, rows)

    @property
    def prepares_columns(self) -> bool:  # type: ignore[override]
        """The columnar lane hands batches to LOAD DATA (not to a Spider head's nodes,
        which take rows)."""
        return self.local_infile and not self.sharded

    def prepare_columns(self, entity: str, table: Any, mode: Mode) -> Any:
        """`prepare_rows` of a columnar batch: the same LOAD DATA text, made by pyarrow
        (`columns_tsv`) in the reader thread."""
        e = self._entity(entity)
        if mode is Mode.MERGE or not self.local_infile or any(f.unique for f in e.fields):
            return None
        return columns_tsv(e, table)

    def _load_direct(self, e: Entity, path: str, n: int) -> bool:
        """LOAD DATA ... IGNORE into the table; False (and nothing written) unless all `n`
        rows went in cleanly."""
        names = ["@i", *(self.q(f) for f in e.field_names)]
        self.execute("SAVEPOINT ecom_direct").close()
        loaded = self._load_file(path, f"IGNORE INTO TABLE {self.q(e.name)}", names)
        if loaded == n and not self._warnings():
            self.execute("RELEASE SAVEPOINT ecom_direct").close()
            return True
        self.execute("ROLLBACK TO SAVEPOINT ecom_direct").close()
        return False

    def _write_staged(
        self, e: Entity, rows: list[dict[str, Any]], mode: Mode, fields: Sequence[str], path: str,
        mark: Callable[[], None],
    ) -> WriteResult:
        """Stage the batch, find the rows whose key is stored, then `mark` and write,
        unless an upsert finds every row stored exactly as it is (a re-import of what is
        stored): then it neither marks nor writes."""
        result = WriteResult()
        self._stage(e, rows, path)
        try:
            update = _odku_columns(e, mode, fields)
            matched, same = self._matched(e, update if mode is Mode.UPSERT else [])
            if mode is Mode.UPSERT and same == len(rows):
                return WriteResult(unchanged=len(rows))
            mark()  # before the rows change: the marks read the stored rows
            skip = set(matched) if mode in (Mode.INSERT, Mode.IGNORE) else set()
            if mode is Mode.INSERT:
                result.rejected = [(i, "key already exists") for i in sorted(matched)]
            elif mode is Mode.IGNORE:
                result.ignored = len(matched)
            elif mode is Mode.MERGE:
                have = set(matched)
                for i, row in enumerate(rows):
                    if i not in have and (why := missing_required(e, row)):
                        result.rejected.append((i, why))
                        skip.add(i)
            self._unstage(skip)
            written = len(rows) - len(skip)
            if mode is Mode.MERGE and matched:
                self._keep_stored(e, update)
            affected = self._insert_staged(e, update) if written else 0
        finally:
            self.execute(f"DROP TEMPORARY TABLE IF EXISTS {STAGE}").close()
        existing = len(matched) if mode in (Mode.UPSERT, Mode.MERGE) else 0
        result.inserted = written - existing
        result.updated = (affected - result.inserted) // 2
        result.unchanged = existing - result.updated
        if result.updated < 0 or result.unchanged < 0 or (affected - result.inserted) % 2:
            raise EcomError(  # only if the server counted differently from what we expect
                f"{e.name}: unexpected affected-rows count {affected} for {written} rows "
                f"({existing} existing): the batch was not written"
            )
        return result

    def _stage(self, e: Entity, rows: list[dict[str, Any]], path: str) -> None:
        cols = ["`_i` INT NOT NULL"]
        cols += [f"{self.q(f.name)} {self.dialect.sql_type(f)}" for f in e.fields]
        cols.append(f"PRIMARY KEY ({', '.join(self.q(k) for k in e.key)})")
        self.execute(f"DROP TEMPORARY TABLE IF EXISTS {STAGE}").close()
        # TEMPORARY: private to this connection, no implicit commit, gone with the connection
        self.execute(
            f"CREATE TEMPORARY TABLE {STAGE} ({', '.join(cols)}){self.dialect.table_tail}"
        ).close()
        names = ["`_i`", *(self.q(n) for n in e.field_names)]
        if self.local_infile:
            loaded = self._load_file(path, f"INTO TABLE {STAGE}", names)
            if loaded is not None:
                if loaded != len(rows) or self._warnings():
                    # LOCAL turns conversion errors into warnings: say which
                    raise EcomError(
                        f"{e.name}: staging the batch loaded {loaded} of {len(rows)} rows: "
                        f"{self._warnings_text()}"
                    )
                return
        marks = ", ".join(["%s"] * (len(e.fields) + 1))
        self.executemany(
            f"INSERT INTO {STAGE} ({', '.join(names)}) VALUES ({marks})",
            [[i, *self._encode_row(e, r)] for i, r in enumerate(rows)],
        )

    def _load_file(self, path: str, into: str, names: list[str]) -> int | None:
        """LOAD DATA LOCAL of a `tsv` file: the rows loaded, or None when the server
        or the client refuses LOCAL (then every later batch uses INSERT, after a notice)."""
        try:
            cur = self.execute(
                f"LOAD DATA LOCAL INFILE %s {into} CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
                f"LINES TERMINATED BY '\\n' ({', '.join(names)})",
                [path],
            )
        except (EcomError, mysql.connector.Error) as err:
            cause = err.__cause__ if isinstance(err, EcomError) else err
            if not isinstance(cause, mysql.connector.Error) or cause.errno not in LOCAL_REFUSED:
                raise
            self.local_infile = False
            _notice_once(
                f"{self.url.masked} refuses LOAD DATA LOCAL INFILE ({cause.msg}): "
                "writing batches with multi-row INSERTs instead (slower)"
            )
            return None
        loaded = int(cur.rowcount)
        cur.close()
        return loaded

    def tsv_chunks(self, sql: str, params: Sequence[Any] = (), rows: int = 5000) -> Iterator[bytes]:
        """The result of `sql` as chunks of a `load_rows` file, `rows` at a time, written
        from the server's text (a raw cursor): a data node's rows for a Spider head,
        without making Python values of them only to format them again."""
        cur = self.conn.cursor(raw=True)
        try:
            with self.translated():
                cur.execute(sql, params or None)
            write = raw_tsv(cur.description)
            while part := cur.fetchmany(rows):
                yield write(part)
        finally:
            cur.close()

    def load_rows(self, table: str, names: list[str], path: str) -> bool:
        """LOAD DATA LOCAL of a file of rows (`tsv_chunks`) into `table`'s `names`; False
        when LOCAL is refused (nothing loaded)."""
        quoted = [self.q(n) for n in names]
        return self._load_file(path, f"INTO TABLE {table}", quoted) is not None

    def _warnings(self) -> int:
        cur = self.execute("SELECT @@warning_count")
        (n,) = cur.fetchone()
        cur.close()
        return int(n)

    def _warnings_text(self) -> str:
        cur = self.execute("SHOW WARNINGS LIMIT 3")
        text = "; ".join(str(r[2]) for r in cur.fetchall())
        cur.close()
        return text or "row count differs"

    def _matched(self, e: Entity, compared: Sequence[str]) -> tuple[list[int], int]:
        """The numbers of the staged rows whose key is stored, and how many of them hold
        the very values stored in the `compared` columns (their text byte for byte: a
        column of the same type, so the same stored value, which an upsert would leave
        as it is)."""
        on = " AND ".join(f"t.{self.q(k)} = s.{self.q(k)}" for k in e.key)
        same = " AND ".join(
            f"CAST(t.{self.q(c)} AS BINARY) <=> CAST(s.{self.q(c)} AS BINARY)" for c in compared
        )
        cur = self.execute(f"SELECT s.`_i`, {same or 0} FROM {STAGE} s"
                           f" JOIN {self.q(e.name)} t ON {on}")
        rows = cur.fetchall()
        cur.close()
        return [r[0] for r in rows], sum(1 for r in rows if r[1])

    def _unstage(self, numbers: set[int]) -> None:
        ordered = sorted(numbers)
        for start in range(0, len(ordered), 1000):
            part = ordered[start : start + 1000]
            marks = ", ".join(["%s"] * len(part))
            self.execute(f"DELETE FROM {STAGE} WHERE `_i` IN ({marks})", part).close()

    def _keep_stored(self, e: Entity, update: list[str]) -> None:
        """Merge: give staged rows of existing keys the stored values of the fields the
        input lacks, so that the INSERT half of INSERT ... ON DUPLICATE KEY UPDATE sees
        complete rows (a NULL in a NOT NULL column fails before the key clash is found)."""
        kept = [n for n in e.field_names if n not in e.key and n not in update]
        if not kept:
            return
        on = " AND ".join(f"t.{self.q(k)} = s.{self.q(k)}" for k in e.key)
        sets = ", ".join(f"s.{self.q(n)} = t.{self.q(n)}" for n in kept)
        self.execute(f"UPDATE {STAGE} s JOIN {self.q(e.name)} t ON {on} SET {sets}").close()

    def _insert_staged(self, e: Entity, update: list[str]) -> int:
        table = self.q(e.name)
        cols = ", ".join(self.q(n) for n in e.field_names)
        # VALUES(col), not MySQL 8's `AS new` alias, which MariaDB lacks (MySQL 8.0.20+
        # deprecates VALUES() here but still runs it). With nothing to update, `k = k`
        # leaves an existing row alone and counts 0 for it.
        sets = update or [e.key[0]]
        assign = ", ".join(
            f"{table}.{self.q(n)} = "
            + (f"VALUES({self.q(n)})" if update else f"{table}.{self.q(n)}")
            for n in sets
        )
        cur = self.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {STAGE} "
            f"ON DUPLICATE KEY UPDATE {assign}"
        )
        affected = cur.rowcount
        cur.close()
        return int(affected)

    def close(self) -> None:
        for node in self._nodes or ():
            node.close()
        with contextlib.suppress(mysql.connector.Error):  # the server may have gone away
            self.conn.close()

    # --- ad-hoc queries -------------------------------------------------------------------

    def read_query(self, text: str) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
        """One statement in a `START TRANSACTION READ ONLY` (the server refuses any write
        to a table in it), rolled back after. A `;` inside is refused, so no second
        statement can end the transaction first; so is INTO OUTFILE/DUMPFILE."""
        statement = text.strip().rstrip(";").rstrip()
        if ";" in statement:
            raise UsageError("ecom query runs one statement: no ';' inside it")
        # DDL commits the transaction implicitly, before it runs: only reading statements
        # (and no /*! ... */ comment, which MySQL runs as code)
        if not READING.match(statement) or "/*!" in statement:
            raise ReadOnly("ecom query only reads: give a SELECT, WITH, SHOW, DESCRIBE or "
                           "EXPLAIN statement")
        if INTO_FILE.search(statement):
            raise ReadOnly("ecom query only reads: INTO OUTFILE/DUMPFILE writes a file")
        cur = self.execute("START TRANSACTION READ ONLY")
        cur.close()
        try:
            cur = self.execute(statement)
        except EcomError as e:
            self.conn.rollback()
            if "READ ONLY" in str(e).upper():
                raise ReadOnly(f"ecom query only reads: {e}") from None
            raise UsageError(f"query: {e}") from None
        columns = [d[0] for d in cur.description or ()]

        def rows() -> Iterator[tuple[Any, ...]]:
            try:
                while batch := cur.fetchmany(1000):
                    yield from batch
            finally:
                with contextlib.suppress(mysql.connector.Error):
                    cur.close()
                    self.conn.rollback()

        return columns, rows()


READING = re.compile(r"\(*\s*(select|with|show|describe|desc|explain|table|values)\b",
                     re.IGNORECASE)
INTO_FILE = re.compile(r"\binto\s+(outfile|dumpfile)\b", re.IGNORECASE)
