"""MySQL: a summary rebuild's statements run on a second session while this one works.

The server runs each statement on one thread. The months' rebuild is three statements
over the order lines (the monthly sales, the daily sums, the deliveries); the second two
run on a second session, each into a scratch table made like its summary table, while the
first runs here; then this session copies their few rows (hundreds) into the summaries.

The second session reads at READ COMMITTED, as every statement of a refresh does: a write
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


class SecondSession:
    """Each (like-table, columns, select, binds) of `jobs` into a scratch table of its
    own, read on `conn` (a new session, autocommit) in a thread started now."""

    def __init__(self, conn: Any, jobs: Sequence[tuple[str, str, str, Sequence[Any]]]) -> None:
        self._conn = conn
        self.tables = [f"ecom_side_{uuid.uuid4().hex[:16]}" for _ in jobs]
        self._jobs = list(jobs)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ecom-second-session",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            cur = self._conn.cursor()
            for table, (like, columns, select, binds) in zip(self.tables, self._jobs,
                                                             strict=True):
                cur.execute(f"CREATE TABLE {table} LIKE {like}")
                cur.execute(f"INSERT INTO {table} {columns} {select}", tuple(binds) or None)
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
