"""MySQL: a summary rebuild's statements run on other sessions, beside each other.

The server runs each statement on one thread. A whole rebuild is several big statements
(the monthly sales, the daily sums and the deliveries; the pairs in two parts; the
customers' months and the carts, each in two halves), shared by halves of their list.
Into summaries that hold rows, two other sessions read them all, each statement into a
new scratch table made like its summary and loaded in bulk, and the first session then
merges those into their summary, writing only the rows that differ
(`MySQLRepository.replace_rows`). Into empty summaries, the first session inserts the
first half's rows itself while a second session reads the rest into scratch tables,
which the first then copies.

The other sessions read at READ COMMITTED, as every statement of a refresh does: a write
committed while the rebuild runs left its marks for the next refresh (see the summaries'
concurrency notes), whichever session read before it. Scratch tables are dropped once the
rebuild's transaction has ended (a DROP would commit it): `MySQLRepository._ended`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any


def scratch_like(conn: Any, table: str) -> str:
    """A new empty table made like summary `table` on `conn` (autocommit), with its
    primary key but not the report's indexes, which would only slow its rows down."""
    name = f"ecom_side_{uuid.uuid4().hex[:16]}"
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE {name} LIKE {table}")
    cur.execute(f"SHOW INDEX FROM {name}")
    others = [k for k in indexes(cur.fetchall()) if k != "PRIMARY"]
    if others:
        cur.execute(f"ALTER TABLE {name} " + ", ".join(f"DROP INDEX {k}" for k in others))
    cur.close()
    return name


def indexes(shown: Sequence[Sequence[Any]]) -> dict[str, list[str]]:
    """The indexes by name ("PRIMARY": the key), each its columns in order, of the rows
    of `SHOW INDEX`: (Table, Non_unique, Key_name, Seq_in_index, Column_name, ...)."""
    found: dict[str, list[str]] = {}
    for row in shown:  # (in index and column order)
        found.setdefault(row[2], []).append(row[4])
    return found


class SecondSession:
    """Each (table, columns, select, binds) of `jobs` inserted into its (scratch) table,
    read on `conn` (a new session, autocommit) in a thread started now."""

    def __init__(self, conn: Any, jobs: Sequence[tuple[str, str, str, Sequence[Any]]]) -> None:
        self._conn = conn
        self._jobs = list(jobs)
        self.rows: list[int] = []  # the rows each job inserted
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ecom-second-session",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            cur = self._conn.cursor()
            # each job into a new empty table of its own: with these off, InnoDB (MariaDB
            # 10.6+) loads it by sorting its rows into the key once, instead of inserting
            # them one by one with an undo record each (the pairs at 1M orders: 1.09M
            # rows in 3 s against 8 s). The rows are grouped by the key: no duplicates
            cur.execute("SET SESSION unique_checks = 0, foreign_key_checks = 0")
            for table, columns, select, binds in self._jobs:
                cur.execute(f"INSERT INTO {table} {columns} {select}", tuple(binds) or None)
                self.rows.append(cur.rowcount)
            cur.close()
        except BaseException as e:
            self._error = e

    def wait(self) -> str:
        """'' when every job is in its table, else the error's first line."""
        self._thread.join()
        with suppress(Exception):  # (a session already gone)
            self._conn.close()
        if self._error is None:
            return ""
        return f"a summary rebuild's second session failed: {str(self._error).splitlines()[0]}"

    def stop(self, kill: Callable[[], None]) -> None:
        """Abandon the jobs (the first session failed): `kill` ends the running statement."""
        with suppress(Exception):
            kill()
        self.wait()
