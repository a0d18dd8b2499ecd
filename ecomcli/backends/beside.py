"""SQLite: a summary rebuild's SELECTs read by a second process while this one works.

A summary rebuild is a few `INSERT ... SELECT` statements, each CPU-bound: SQLite runs a
statement on one core. When the rebuild holds the store's write lock (its own `BEGIN
IMMEDIATE`, no outer transaction), another reader sees exactly what the writer reads of
the base tables: no other writer can commit until the rebuild does, and the rebuild's own
writes (marks, summary rows) are to tables those SELECTs do not read. So a child process
reads some of them on the second core into a scratch file, and the writer copies their
rows from it once its own statement is done.

A process, not a thread: two connections of one process slow each other down in
SQLite's shared allocator (a rebuild's half took 2.5 times as long beside the other half
in a thread, and no longer in another process; bench/README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

# the child: each SELECT's rows into table r<i> of the scratch file, the store attached
# read-only (unqualified names are the store's: the scratch file holds only the r<i>)
CHILD = """
import json, sqlite3, sys
scratch, store = sys.argv[1], sys.argv[2]
job = json.load(sys.stdin)
conn = sqlite3.connect(scratch, isolation_level=None, uri=True)
conn.execute("PRAGMA journal_mode = OFF")
conn.execute("PRAGMA synchronous = OFF")
conn.execute("ATTACH ? AS store", [store])
for pragma in job["pragmas"]:
    conn.execute("PRAGMA " + pragma)
for n, (statement, binds) in enumerate(job["selects"]):
    conn.execute(f"CREATE TABLE r{n} AS {statement}", binds)
conn.close()
"""


class Beside:
    """`selects` ((statement, binds) pairs) read from the store at `path` by a child
    process started now, into tables `r0`, `r1`... of a scratch file (`scratch`, which
    the caller removes)."""

    def __init__(self, path: Path, selects: Sequence[tuple[str, Sequence[Any]]],
                 pragmas: Sequence[str] = ()) -> None:
        handle, name = tempfile.mkstemp(prefix="ecom-side-", suffix=".db")
        os.close(handle)
        self.scratch = Path(name)
        store = f"{path.resolve().as_uri()}?mode=ro"
        job = json.dumps({"selects": [[s, list(b)] for s, b in selects], "pragmas": list(pragmas)})
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-I", "-c", CHILD, str(self.scratch), store],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
        except OSError:
            self.scratch.unlink(missing_ok=True)
            raise
        assert self._child.stdin is not None and self._child.stderr is not None
        with self._child.stdin as job_in, suppress(BrokenPipeError):  # (`wait` says why)
            job_in.write(job.encode())
        self._errors = self._child.stderr

    def wait(self) -> str:
        """Wait for the child: '' when it read every select, else why it failed (the last
        line of its error)."""
        with self._errors:
            err = self._errors.read()
        if self._child.wait() == 0:
            return ""
        lines = err.decode(errors="replace").strip().splitlines() or ["no message"]
        return f"a summary rebuild's second reader failed: {lines[-1]}"

    def stop(self) -> None:
        """Abandon the selects (the writer failed)."""
        self._child.kill()
        self._child.wait()
        self._errors.close()
