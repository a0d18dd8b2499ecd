"""The summaries an import has written every input of, built beside it while it goes on
with its other files (`importing.SummaryBuilds`).

After an import into a new store every summary is unbuilt, and the first report of each
rebuilds its own from every row: seconds apiece at 1M orders, paid by whoever reports
first. An import of a whole export writes the orders and their lines before the cart
lines, payments and reviews, and the carts' lines before its last files. From then on
the summaries of those rows can be built on the second core while the import writes the
rest:

1. The import notes the summaries pending (an `ecom_meta` row each, committed): from then
   on every writer marks them as if they were built (`summaries.unbuilt`), while reports
   still take them for unbuilt and would rebuild them whole.
2. They are rebuilt whole from what is committed: on SQLite by a child process
   (`BuildBeside`) that reads the store, a statement at a time, into a scratch file
   holding summary tables made like the store's (unqualified names of base tables
   resolve to the store, attached: the scratch file has none), as a WAL file's readers
   do not block its writer; on MySQL by a
   second session (`BuildInServer`), straight into the summary tables in a transaction of
   its own, the server doing the work. (A Spider head's writers mark every summary
   anyway: its second session runs an ordinary `summaries.refresh`, which takes the marks
   made so far.)
3. They are noted built (SQLite: after the import copies the scratch tables in), unless a
   report built one meanwhile. What was written after the build read the rows was marked,
   so the next report rebuilds only that.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import warnings
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

import ecomcli
from ecomcli.backends import summaries
from ecomcli.errors import EcomError

if TYPE_CHECKING:
    from ecomcli.backends.mysql import MySQLRepository
    from ecomcli.backends.sql import SQLRepository
    from ecomcli.backends.sqlite import SQLiteRepository


# what the child runs, after the Python executable
CHILD = ["-m", "ecomcli.backends.build_beside"]


class BuildBeside:
    """SQLite: summaries `kinds` of `store` being built by a child process."""

    def __init__(self, store: SQLiteRepository, kinds: list[str]) -> None:
        self.store = store
        self.kinds = kinds
        handle, name = tempfile.mkstemp(prefix="ecom-build-", suffix=".db")
        os.close(handle)
        self.scratch = Path(name)
        # the child imports this same ecomcli (a checkout run by PYTHONPATH, say)
        root = str(Path(ecomcli.__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        try:
            store.atomic(lambda: _note_pending(store, kinds))  # before the child reads
            self._child = subprocess.Popen(
                [sys.executable, *CHILD, str(self.scratch), str(store.path.resolve()),
                 str(os.getpid()), *kinds],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
            )
        except (OSError, EcomError):
            _remove(self.scratch)
            with suppress(EcomError):
                _forget_pending(store, kinds)
            raise

    def done(self) -> bool:
        return self._child.poll() is not None

    def finish(self) -> None:
        """Wait for the child, then copy what it built into the store (or, if it failed,
        leave those summaries to the next report, with a warning saying why)."""
        assert self._child.stderr is not None
        with self._child.stderr as errors:
            err = errors.read().decode(errors="replace").strip()
        why = (err.splitlines() or ["no message"])[-1]
        if self._child.wait() == 0:
            try:
                self.store.atomic(self._install)
                return
            except EcomError as e:  # (the store busy for too long, say)
                why = str(e)
        _remove(self.scratch)  # the reports build them
        with suppress(EcomError):
            _forget_pending(self.store, self.kinds)
        _failed(why)

    def stop(self) -> None:
        """Abandon the build (the import failed or was interrupted)."""
        if self._child.poll() is None:
            self._child.kill()
        self._child.wait()
        if self._child.stderr is not None:
            self._child.stderr.close()
        _remove(self.scratch)
        with suppress(Exception):  # (a lost connection: the rows stay pending, harmless)
            _forget_pending(self.store, self.kinds)

    def _install(self) -> None:
        store = self.store
        name = store.attach_scratch(self.scratch)  # let go of when the transaction ends
        pending = summaries.pending(store)  # (not: a report built it meanwhile)
        for kind in self.kinds:
            if kind in pending:
                summaries.copy_whole(store, name, kind)


class BuildInServer:
    """MySQL: summaries `kinds` of `store` being rebuilt by a second session of the
    server, from a thread of this process (it waits on the server: no GIL held)."""

    def __init__(self, store: MySQLRepository, kinds: list[str]) -> None:
        self.store = store
        self.kinds = kinds
        self.side = type(store)(store.url)
        self.side.reads_alone = True  # (see `MySQLRepository.reads_alone`)
        try:
            store.atomic(lambda: _note_pending(store, kinds))  # before the session reads
        except EcomError:
            self.side.close()
            raise
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ecom-build-beside",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        side = self.side
        try:
            if side.skips_unbuilt:
                # the writers that skipped these summaries' marks before the note hold the
                # layout row in share mode until they commit: wait for them
                side.atomic(lambda: side.hold_builds(exclusive=True))
                side.atomic(self._build)
            else:  # a Spider head's writers marked every summary: a refresh takes the
                # marks made so far with the rows, leaving later ones to the next report
                summaries.refresh(side, self.kinds)
        except BaseException as e:  # (said by `finish`)
            self._error = e

    def _build(self) -> None:
        sales = summaries.read_sales_once(self.side, self.kinds)
        for kind in self.kinds:
            if kind in summaries.pending(self.side):  # (else a report built it meanwhile)
                summaries.rebuild_whole(self.side, kind, sales)
                summaries.note_built(self.side, kind)

    def done(self) -> bool:
        return not self._thread.is_alive()

    def finish(self) -> None:
        self._thread.join()
        self.side.close()
        if self._error is not None:
            _forget_pending(self.store, self.kinds)
            _failed(str(self._error).splitlines()[0] if str(self._error) else "no message")

    def stop(self) -> None:
        if self._thread.is_alive():
            with suppress(Exception):  # ends the statement under way, and the session
                self.store.execute(f"KILL {int(self.side.conn.connection_id)}").close()
        self._thread.join()
        with suppress(Exception):
            self.side.close()
        with suppress(Exception):
            _forget_pending(self.store, self.kinds)


def _remove(scratch: Path) -> None:
    """A scratch file, and the journals SQLite may have left beside it (a child stopped
    while it set its journal mode)."""
    for tail in ("", "-journal", "-wal", "-shm"):
        Path(f"{scratch}{tail}").unlink(missing_ok=True)


def _failed(why: str) -> None:
    warnings.warn(f"building the summaries beside the import failed: {why}",
                  RuntimeWarning, stacklevel=3)


def _note_pending(store: SQLRepository, kinds: list[str]) -> None:
    ph = store.placeholder
    for kind in kinds:
        store.execute(f"{store.dialect.ignore} INTO ecom_meta (name, value)"
                      f" VALUES ({ph}, 'pending')", [summaries.PENDING[kind]]).close()


def _forget_pending(store: SQLRepository, kinds: list[str]) -> None:
    def forget() -> None:
        for kind in kinds:
            store.execute(f"DELETE FROM ecom_meta WHERE name = {store.placeholder}",
                          [summaries.PENDING[kind]]).close()

    store.atomic(forget)


# The store's summary tables and their indexes, tables first, to make them alike in the
# scratch file: the import then copies each table with its indexes as they are, where a
# table of another shape would have its rows inserted and indexed one by one (on its
# critical path). Unqualified, they are made in the scratch file (`main`).
_SUMMARY_SCHEMA = (
    "SELECT sql FROM store.sqlite_master WHERE sql IS NOT NULL AND tbl_name IN"
    f" ({', '.join('?' * len(summaries.TABLES))}) ORDER BY type = 'index'"
)


def build(scratch: Path, store: Path, parent: int, kinds: list[str]) -> None:
    """The child of process `parent`: summaries `kinds` of the store at `store`, rebuilt
    whole into the summary tables of a new file at `scratch`."""
    from ecomcli.backends.sqlite import Scratch

    side = Scratch(scratch)
    # an import killed outright leaves no build running, nor its file: SQLite asks this
    # every million steps of a statement, and stops it once the import is gone
    side.conn.set_progress_handler(lambda: os.getppid() != parent, 1_000_000)
    try:
        side.conn.execute("ATTACH ? AS store", [str(store)])
        for (statement,) in side.conn.execute(_SUMMARY_SCHEMA, summaries.TABLES).fetchall():
            side.conn.execute(statement)
        # No transaction: each statement reads the store as committed when it starts, and
        # lets go of it when done. The store's writer can then copy its log into the file
        # between them, where one snapshot for the whole build kept the log growing
        # (hundreds of MB at 1M orders) and left it all to copy when the build ended. Any
        # snapshot after the note is exact: what a statement misses is marked.
        side._depth = 1  # (for the repository's code: no transaction of its own either)
        sales = summaries.read_sales_once(side, kinds)
        for kind in kinds:
            summaries.rebuild_whole(side, kind, sales)
    finally:
        side.close()
        if os.getppid() != parent:
            _remove(scratch)


if __name__ == "__main__":
    build(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
