"""What differs between the SQL engines ecom runs on, one class per engine: quoting,
placeholders, column types, insert-ignore, period and money expressions, optimizer hints.

The DDL (`backends.sql.ddl`), the summaries' maintenance (`backends.summaries`) and the
report statements (`reports/defs/*.py`, handed the backend's instance) all ask it, so no
code outside this module tests which engine it runs on. SQLite stores money as integer
cents and datetimes as `YYYY-MM-DD HH:MM:SS` text, so the same SQL sums cents there and
DECIMAL on MySQL. No `%` appears in any statement (it is the MySQL driver's placeholder
character).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from ecomcli.schema import SALES_INDEX

if TYPE_CHECKING:
    from ecomcli.schema import Field

Params = dict[str, Any]


class Dialect:
    """The interface; `SQLiteDialect` and `MySQLDialect` fill it in."""

    name: ClassVar[str]
    ph: ClassVar[str]  # the driver's placeholder
    ignore: ClassVar[str]  # an INSERT that skips rows whose key exists
    # after CREATE TABLE (...): SQLite STRICT; MySQL InnoDB, utf8mb4 with a binary collation
    table_tail: ClassVar[str]
    # the same for a summary table, all of which have small rows and a primary key: SQLite
    # keeps such a table in its key's B-tree alone (WITHOUT ROWID), not in a table and an
    # index, so a rebuild writes each row once (InnoDB tables are kept that way anyway)
    summary_tail: ClassVar[str]
    # MySQL 8 has no CREATE INDEX IF NOT EXISTS: it declares indexes inside CREATE TABLE
    inline_indexes: ClassVar[bool]
    # a large set membership reads best as `x IN (SELECT ...)` (SQLite keeps the set in a
    # B-tree), not as a LEFT JOIN to a derived table (MariaDB hashes that one)
    sets_by_in: ClassVar[bool]
    # count distinct buyers from the orders (customer_id, ...) index rather than an
    # EXISTS per customer (MariaDB 0.48 s to 0.19 s at 1M orders; SQLite the reverse)
    buyers_from_index: ClassVar[bool]
    # a schema change (DROP INDEX) commits the transaction (MySQL): none inside a refresh
    ddl_commits: ClassVar[bool]
    # `WITH x AS MATERIALIZED (...)` computes x once for every reference (SQLite); MariaDB
    # has no such form and computed a CTE once per reference, on disk
    materialized_cte: ClassVar[bool]
    # `json_group_array` and `json_each` are built in (SQLite 3.38+): the pairs of products
    # a sale holds come from its array of them (`pair_counts_from_arrays`)
    json_arrays: ClassVar[bool]

    def q(self, name: str) -> str:
        raise NotImplementedError

    # --- values -------------------------------------------------------------------------

    def bound(self, day: date) -> Any:
        """The first moment of `day`, as a datetime column compares with it."""
        raise NotImplementedError

    def day(self, day: date) -> Any:
        raise NotImplementedError

    # --- expressions --------------------------------------------------------------------

    def period(self, col: str, by: str) -> str:
        """The period label of datetime column `col`: see docs/reports.md."""
        raise NotImplementedError

    def month_period(self, month: str, by: str) -> str:
        """The label of the period (month or quarter) holding `month`, a 'YYYY-MM' text
        column, as `period` labels that period."""
        if by == "month":
            return month
        return self._quarter_of_month(month)

    def _quarter_of_month(self, month: str) -> str:
        raise NotImplementedError

    def late_seconds(self, actual: str, promised: str) -> str:
        """Seconds late, 0 when on time; the difference is only computed for late rows
        (SQLite: delivery 1.22 s to 0.89 s at 1M orders, as `strftime` is the costly part)."""
        return f"CASE WHEN {actual} > {promised} THEN {self._seconds(actual, promised)} ELSE 0 END"

    def _seconds(self, actual: str, promised: str) -> str:
        raise NotImplementedError

    def date_of(self, col: str) -> str:
        """The day of datetime column `col`, as a date column stores it."""
        raise NotImplementedError

    def days_before(self, moment: str, days: int) -> str:
        """The start of the day `days` days before the day of datetime `moment`, comparable
        with the datetime columns (restock: the first day of the sales window)."""
        raise NotImplementedError

    def between(self, col: str, p: Params, binds: list[Any]) -> str:
        """` AND col in [--from, --to]`: from inclusive, to inclusive of its whole day."""
        sql = ""
        if p.get("from"):
            sql += f" AND {col} >= {self.ph}"
            binds.append(self.bound(p["from"]))
        if p.get("to"):
            sql += f" AND {col} < {self.ph}"
            binds.append(self.bound(p["to"] + timedelta(days=1)))
        return sql

    def whole(self, expr: str) -> str:
        """A sum of integers as an integer. MySQL sums integers into DECIMAL, which its
        Python driver turns into `Decimal` objects at ~2 us each (3 s for carts' 1.2M rows)."""
        return expr

    def cents(self, expr: str) -> str:
        """A money sum as integer cents: SQLite stores money so; on MySQL see `whole`."""
        return expr

    def select(self, *columns: tuple[str, str]) -> str:
        return "SELECT " + ", ".join(f"{expr} AS {self.q(alias)}" for expr, alias in columns)

    # --- plans --------------------------------------------------------------------------

    def lines_then_orders(self, orders: str = "orders o") -> str:
        """`order_items i JOIN orders o`, read in the lines' key order, each line's order
        found by its key. Without this SQLite walked the lines through the product_id index
        (a random table read per line: top-products 6.1 s at 1M orders, 1.6 s with) and
        MariaDB through the orders (customer_id, ...) index (3.0 s, 2.0 s with).
        `orders`: `orders_by_key()` in the summaries' rebuilds."""
        raise NotImplementedError

    def orders_by_key(self) -> str:
        """`orders o`, for a summary rebuild that looks each line's order up by its key:
        on SQLite through `SALES_INDEX`, which holds the columns the rebuilds read (one
        lookup, not the key's index and then the table; an InnoDB table is its key's index
        already)."""
        return "orders o"

    # whether `node_rows` hands its selects to the data nodes (a Spider head)
    on_nodes: ClassVar[bool] = False

    def node_rows(self, select: str, copies: Sequence[str] = ()) -> str:
        """`select`, which reads only what one data node of a Spider cluster holds whole
        (orders with their lines, carts with theirs), and the small head tables named in
        `copies`: a Spider head may have each node run it on its own rows, with a copy of
        those tables (`SpiderDialect`)."""
        return select

    def lines_per_order(self) -> tuple[str, str]:
        """The lines `i` joined to their orders `o`, for a summary rebuild that groups them
        per order, and the key to group by: both read in order key order, so that the
        groups need no sort. MySQL reads the lines in their clustered key's order."""
        return self.lines_then_orders(self.orders_by_key()), "i.order_id"

    def prices(self) -> str:
        """The products' prices, to join to lines. SQLite reads the covering index
        `products (product_id, price)`; MariaDB a derived table it materialises with a hash
        key (a B-tree lookup of the primary key per cart line was 30% slower)."""
        return "products"

    def then(self) -> str:
        """A join that MySQL must run in the order written (SQLite's planner already does)."""
        return "JOIN"

    def big_result(self) -> str:
        """`SELECT SQL_BIG_RESULT` (MySQL and MariaDB): group many rows by sorting them,
        instead of in a temporary table that outgrows memory (tmp_table_size) and goes to
        disk: with 200k groups keyed by a VARCHAR(64), 6.2 s against 2.1 s at 1M orders."""
        return ""

    def force_index(self, index: str) -> str:
        """` FORCE INDEX (index)` after a table, where the engine takes hints."""
        return ""

    def unindexed(self, expr: str) -> str:
        """`expr` so that the planner does not look it up through an index on it."""
        return expr

    def rows_about(self, table: str) -> str:
        """One row, one column: about the number of rows of `table`, where a rebuild
        splits them in two (an exact count where nothing cheaper is known)."""
        return f"SELECT COUNT(*) FROM {table}"

    def update_from(self, table: str, rows: str, key: str, column: str) -> str:
        """`UPDATE table SET column = x.column` from the derived table `rows` (x) joined
        on `key`, where the two differ. `rows` may read `table` itself: it is computed
        before the update (a GROUP BY keeps MySQL from merging it into the update)."""
        raise NotImplementedError

    def locking(self, lock: str | None) -> str:
        """` FOR UPDATE` / ` LOCK IN SHARE MODE` after a read that must wait for writers
        holding the rows (MySQL); SQLite serialises writers anyway."""
        return ""

    # --- DDL ----------------------------------------------------------------------------

    def sql_type(self, f: Field) -> str:
        """The column type of a schema field."""
        raise NotImplementedError

    def text(self, length: int) -> str:
        """A short text (a key, a name, a label) of at most `length` characters."""
        raise NotImplementedError

    def fixed(self, length: int) -> str:
        """A text of exactly `length` characters (a month, a day as text)."""
        raise NotImplementedError

    def decimal(self, precision: int, scale: int) -> str:
        """Exact money (SQLite: integer cents)."""
        raise NotImplementedError

    big: ClassVar[str]  # a count or a sum of counts
    date_type: ClassVar[str]
    datetime_type: ClassVar[str]


class SQLiteDialect(Dialect):
    name = "sqlite"
    ph = "?"
    ignore = "INSERT OR IGNORE"
    table_tail = " STRICT"
    summary_tail = " STRICT, WITHOUT ROWID"
    inline_indexes = False
    sets_by_in = True
    buyers_from_index = False
    ddl_commits = False
    materialized_cte = True
    json_arrays = sqlite3.sqlite_version_info >= (3, 38, 0)
    big = "INTEGER"
    date_type = "TEXT"
    datetime_type = "TEXT"

    def q(self, name: str) -> str:
        return f'"{name}"'

    def bound(self, day: date) -> Any:
        return datetime(day.year, day.month, day.day).isoformat(sep=" ")

    def day(self, day: date) -> Any:
        return day.isoformat()

    def period(self, col: str, by: str) -> str:
        # substr on the ISO text is faster than strftime
        return {
            "day": f"substr({col}, 1, 10)",
            "week": f"date({col}, '-6 days', 'weekday 1')",
            "month": f"substr({col}, 1, 7)",
            "quarter": f"substr({col}, 1, 4) || '-Q' || "
            f"((CAST(substr({col}, 6, 2) AS INTEGER) + 2) / 3)",
            "year": f"substr({col}, 1, 4)",
        }[by]

    def _seconds(self, actual: str, promised: str) -> str:
        return f"strftime('%s', {actual}) - strftime('%s', {promised})"

    def _quarter_of_month(self, month: str) -> str:
        return self.period(month, "quarter")  # it reads only the year and month digits

    def date_of(self, col: str) -> str:
        return f"substr({col}, 1, 10)"

    def days_before(self, moment: str, days: int) -> str:
        # 'YYYY-MM-DD' sorts before every time of that day
        return f"date({moment}, '-{int(days)} days')"

    def lines_then_orders(self, orders: str = "orders o") -> str:
        return f"order_items i NOT INDEXED JOIN {orders} ON o.order_id = i.order_id"

    def orders_by_key(self) -> str:
        # the planner prefers the key's own index, which then reads the table too
        return f"orders o INDEXED BY {SALES_INDEX}"

    def lines_per_order(self) -> tuple[str, str]:
        # the orders from that index, each one's lines through their key (the daily
        # summary at 1M orders: 2.2 s against 2.9-3.7 s from the lines in table order)
        lines = f"{self.orders_by_key()} JOIN order_items i ON i.order_id = o.order_id"
        return lines, "o.order_id"

    def update_from(self, table: str, rows: str, key: str, column: str) -> str:
        return (
            f"UPDATE {table} SET {column} = x.{column} FROM ({rows}) x"
            f" WHERE {table}.{key} = x.{key} AND {table}.{column} <> x.{column}"
        )

    def unindexed(self, expr: str) -> str:
        return f"+{expr}"

    def rows_about(self, table: str) -> str:
        # the span of the row ids, two lookups, where COUNT(*) reads every row (0.25 s at
        # 1.2M carts): rows deleted only make the halves unequal
        return f"SELECT (SELECT MAX(rowid) FROM {table}) - (SELECT MIN(rowid) FROM {table}) + 1"

    def sql_type(self, f: Field) -> str:
        # STRICT tables: INTEGER or TEXT; exact numbers as scaled integers
        if f.type == "bytes":
            return "BLOB"
        return "INTEGER" if f.type in ("int", "money", "decimal", "bool") else "TEXT"

    def text(self, length: int) -> str:
        return "TEXT"

    def fixed(self, length: int) -> str:
        return "TEXT"

    def decimal(self, precision: int, scale: int) -> str:
        return "INTEGER"


class MySQLDialect(Dialect):
    name = "mysql"
    ph = "%s"
    ignore = "INSERT IGNORE"
    # a binary collation, so that keys, `=`, DISTINCT and ORDER BY treat text as SQLite
    # and MongoDB do (case- and accent-sensitive, byte order); see backends.sql.table_ddl
    table_tail = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
    summary_tail = table_tail
    inline_indexes = True
    sets_by_in = False
    buyers_from_index = True
    ddl_commits = True
    materialized_cte = False
    json_arrays = False
    big = "BIGINT"
    date_type = "DATE"
    datetime_type = "DATETIME"

    def q(self, name: str) -> str:
        return f"`{name}`"

    def bound(self, day: date) -> Any:
        return datetime(day.year, day.month, day.day)

    def day(self, day: date) -> Any:
        return day

    def period(self, col: str, by: str) -> str:
        return {
            "day": f"CAST(DATE({col}) AS CHAR)",
            "week": f"CAST(DATE({col}) - INTERVAL WEEKDAY({col}) DAY AS CHAR)",
            "month": f"LEFT(CAST({col} AS CHAR), 7)",
            "quarter": f"CONCAT(YEAR({col}), '-Q', QUARTER({col}))",
            "year": f"CAST(YEAR({col}) AS CHAR)",
        }[by]

    def _seconds(self, actual: str, promised: str) -> str:
        return f"TIMESTAMPDIFF(SECOND, {promised}, {actual})"

    def _quarter_of_month(self, month: str) -> str:
        quarter = f"(CAST(SUBSTRING({month}, 6, 2) AS UNSIGNED) + 2) DIV 3"
        return f"CONCAT(LEFT({month}, 4), '-Q', {quarter})"

    def whole(self, expr: str) -> str:
        return f"CAST({expr} AS SIGNED)"

    def cents(self, expr: str) -> str:
        return f"CAST({expr} * 100 AS SIGNED)"

    def date_of(self, col: str) -> str:
        return f"DATE({col})"

    def days_before(self, moment: str, days: int) -> str:
        return f"(DATE({moment}) - INTERVAL {int(days)} DAY)"

    def lines_then_orders(self, orders: str = "orders o") -> str:
        return f"order_items i STRAIGHT_JOIN {orders} ON o.order_id = i.order_id"

    def orders_by_key(self) -> str:
        # a half of the customers' rebuild (`o.customer_id < ?`) read their orders through
        # the covering (customer_id, ...) index, then sorted them by key to group their
        # lines: as long as the whole, at 1M orders
        return "orders o FORCE INDEX (PRIMARY)"

    def prices(self) -> str:
        return "(SELECT DISTINCT product_id, price FROM products)"

    def then(self) -> str:
        return "STRAIGHT_JOIN"

    def big_result(self) -> str:
        return "SQL_BIG_RESULT "

    def force_index(self, index: str) -> str:
        return f" FORCE INDEX ({index})"

    def locking(self, lock: str | None) -> str:
        return f" {lock}" if lock else ""

    def update_from(self, table: str, rows: str, key: str, column: str) -> str:
        return (
            f"UPDATE {table} t JOIN ({rows}) x ON x.{key} = t.{key}"
            f" SET t.{column} = x.{column} WHERE t.{column} <> x.{column}"
        )

    def sql_type(self, f: Field) -> str:
        match f.type:
            case "bytes":
                return "MEDIUMBLOB"
            case "key" | "string":
                return f"VARCHAR({f.length})"
            case "enum":
                return f"VARCHAR({max(len(v) for v in f.enum)})"
            case "text":
                return "TEXT"
            case "int":
                return "INT"
            case "money" | "decimal":
                return f"DECIMAL({f.precision},{f.scale})"
            case "date":
                return "DATE"
            case "datetime":
                return "DATETIME"
            case "bool":
                return "BOOLEAN"
        raise AssertionError(f.type)

    def text(self, length: int) -> str:
        return f"VARCHAR({length})"

    def fixed(self, length: int) -> str:
        return f"CHAR({length})"

    def decimal(self, precision: int, scale: int) -> str:
        return f"DECIMAL({precision},{scale})"


# the comments around a `node_rows` select on a Spider head (the statement stays valid
# SQL): the opening one names the head tables the nodes need copies of, then closes
NODE_ROWS = ("/*ecom:node-rows", "/*ecom:end*/")


class SpiderDialect(MySQLDialect):
    """A Spider head (backends/spider.py): MariaDB's SQL, but reading a sharded table
    through an index costs the head a round trip to a data node per step."""

    on_nodes = True

    def orders_by_key(self) -> str:
        return "orders o"  # (its rebuilds are read whole, by each data node)

    def node_rows(self, select: str, copies: Sequence[str] = ()) -> str:
        # marked for `spider.gathered`: each data node runs `select`, the head reads a
        # temporary table of their rows (through the head, the join would fetch every
        # line from the nodes to group them itself)
        return f"{NODE_ROWS[0]}{''.join(' ' + t for t in copies)}*/{select}{NODE_ROWS[1]}"


SQLITE = SQLiteDialect()
MYSQL = MySQLDialect()
SPIDER = SpiderDialect()
DIALECTS = {d.name: d for d in (SQLITE, MYSQL)}
