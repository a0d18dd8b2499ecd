"""An import of a whole export builds the summaries of the rows it has written beside
itself, while it writes the rest (ecomcli/backends/build_beside.py: a child process on
SQLite, a second session on MySQL), so that the first reports after it read them at once.
What the build did not see is marked."""

from __future__ import annotations

import csv
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import empty
from test_summaries import (  # noqa: F401 (loaded, loaded_mysql, loaded_sqlite: fixtures)
    SQL_BACKENDS,
    assert_summaries_agree,
    loaded,
    loaded_mysql,
    loaded_sqlite,
    new_line,
    new_order,
    rebuild_everything,
    sold_units,
    summary_rows,
)

import ecomcli
from ecomcli import schema
from ecomcli.backends import build_beside, summaries
from ecomcli.generate import GenerateOptions, generate
from ecomcli.importing import (
    ImportOptions,
    ImportStopped,
    after_references,
    import_order,
    import_paths,
    rank_of,
)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    generate(GenerateOptions(folder, customers=200, products=60, orders=800, seed=5))
    (folder / "manifest.json").unlink()
    return folder


@pytest.fixture(params=SQL_BACKENDS)
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("mysql_server")
    with ecomcli.connect(url) as store:
        store.init_schema()
        if store.backend == "mysql":
            empty(store)
        yield store


def build_class(store: Any) -> Any:
    return build_beside.BuildBeside if store.backend == "sqlite" else build_beside.BuildInServer


@pytest.fixture
def builds_waited_for(new_store: Any, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Each build's summaries; the import waits at each file's end for the build under
    way (else, on a small export, which builds start would depend on timing)."""
    started: list[list[str]] = []
    cls = build_class(new_store)
    start = cls.__init__

    def recorded(self: Any, store: Any, kinds: list[str]) -> None:
        started.append(kinds)
        start(self, store, kinds)

    done = cls.done
    monkeypatch.setattr(cls, "__init__", recorded)
    monkeypatch.setattr(cls, "done", lambda self: wait_done(self, done))
    return started


def wait_done(build: Any, done: Any) -> bool:
    while not done(build):
        time.sleep(0.01)
    return True


def noted(store: Any) -> dict[str, str]:
    return dict(store.execute("SELECT name, value FROM ecom_meta").fetchall())


def build_files() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("ecom-build-*"))  # journals too


def test_an_import_of_a_whole_export_builds_the_summaries_beside_it(
    export: Path, new_store: Any, builds_waited_for: list[list[str]]
) -> None:
    """Every summary whose inputs come before the export's last file (all of them: the
    reviews come before the stock movements) is built by the import, equal to a whole
    rebuild; no scratch file or pending note is left."""
    before = build_files()
    summary = import_paths(new_store, [export], ImportOptions())
    assert not summary.rejected
    built = {k for k, name in summaries.BUILT.items() if name in noted(new_store)}
    assert built == set(summaries.BUILT)
    assert set().union(*builds_waited_for) == built
    assert not [n for n in noted(new_store) if n.endswith("_pending")]
    assert not build_files() - before  # (another process may have its own)
    imported = summary_rows(new_store)
    assert imported[summaries.CARTS] and imported[summaries.PAIRS]
    rebuild_everything(new_store)
    assert summary_rows(new_store) == imported
    assert_summaries_agree(new_store, "after the import")


def test_an_import_of_one_file_builds_nothing_beside(
    export: Path, new_store: Any, builds_waited_for: list[list[str]]
) -> None:
    """Nothing to overlap: the first report builds them, as before."""
    for name in ("customers", "products", "carts", "cart_items"):
        import_paths(new_store, [export / f"{name}.csv"], ImportOptions())
    assert builds_waited_for == []
    assert not {n for n in noted(new_store) if n in summaries.BUILT.values()}


def build_read(store: Any, kinds: list[str]) -> Any:
    """A build beside, once it has read the store and finished."""
    build = build_class(store)(store, kinds)
    wait_done(build, type(build).done)
    return build


@pytest.fixture
def loaded_unbuilt(loaded: Any) -> Any:  # noqa: F811 (the fixture)
    store, data = loaded
    summaries.forget(store)
    return store, data


def test_a_write_after_the_build_read_the_store_is_marked_and_counted(
    loaded_unbuilt: Any,
) -> None:
    """While a build is pending, writers mark its summaries as if built: a line written
    after the child's snapshot is marked, and the next report counts it."""
    store, data = loaded_unbuilt
    build = build_read(store, ["months", "customers", "pairs"])
    store.insert("orders", new_order(data, "late-1"))
    store.insert("order_items", new_line(data, "late-1"))
    build.finish()
    assert summaries.BUILT["months"] in noted(store)
    assert store.execute(f"SELECT COUNT(*) FROM {summaries.DIRTY_MONTHS}").fetchone()[0]
    summary, lines = sold_units(store)
    assert summary == lines
    assert_summaries_agree(store, "a line written while the build was pending")


def test_a_summary_a_report_built_meanwhile_is_not_replaced(loaded_unbuilt: Any) -> None:
    """A report that rebuilt a pending summary from every row (with a line the build did
    not see) keeps its rows: the build's older ones are not copied over them."""
    store, data = loaded_unbuilt
    build = build_read(store, ["months"])
    store.insert("orders", new_order(data, "late-2"))
    store.insert("order_items", new_line(data, "late-2"))
    summary, lines = sold_units(store)  # the report rebuilds the months whole
    assert summary == lines
    build.finish()
    summary, lines = sold_units(store)
    assert summary == lines


def test_a_failed_child_leaves_its_summaries_to_the_reports(
    loaded_sqlite: Any, monkeypatch: pytest.MonkeyPatch,  # noqa: F811 (the fixture)
) -> None:
    """SQLite: a child that fails (a full temporary folder, say): a one-line warning,
    nothing noted built, no scratch file left, and the reports build them."""
    store, _ = loaded_sqlite
    summaries.forget(store)
    monkeypatch.setattr(build_beside, "CHILD", ["-c", "import sys; sys.exit('disk full, say')"])
    before = build_files()
    build = build_beside.BuildBeside(store, ["carts"])
    with pytest.warns(RuntimeWarning, match="beside the import failed: disk full, say"):
        build.finish()
    assert summaries.PENDING["carts"] not in noted(store)
    assert summaries.unbuilt(store) == set(summaries.BUILT)
    assert not build_files() - before  # (another process may have its own)
    assert_summaries_agree(store, "built by the reports")


def test_a_child_builds_into_tables_like_the_stores_and_leaves_the_store_as_it_was(
    loaded_sqlite: Any, tmp_path: Path,  # noqa: F811 (the fixture)
) -> None:
    """SQLite: the child makes its summary tables as the store's are, keys and indexes
    included (the import then copies each as it is), and changes nothing of the store's
    own: the carts report's index, which a rebuild of the carts drops and makes again,
    is the scratch file's."""
    store, _ = loaded_sqlite
    summaries.forget(store)
    shape = ("SELECT type, name, tbl_name, sql FROM sqlite_master"
             " WHERE tbl_name LIKE 'summary%' ORDER BY name")
    before = store.execute(shape).fetchall()
    scratch = tmp_path / "scratch.db"
    build_beside.build(scratch, store.path, os.getppid(), ["carts", "months"])
    assert store.execute(shape).fetchall() == before
    with closing(sqlite3.connect(scratch)) as built:
        assert built.execute(shape).fetchall() == before
        assert built.execute(f"SELECT COUNT(*) FROM {summaries.CARTS}").fetchone()[0]


def test_a_child_holds_no_snapshot_of_the_store_between_its_statements(
    loaded_sqlite: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    """SQLite: the import's writer can copy its log into the store while the child builds
    (one snapshot for the whole build kept the log growing until the build ended)."""
    store, _ = loaded_sqlite
    summaries.forget(store)
    checkpoints = []
    rebuild = summaries.rebuild_whole

    def then_checkpoint(side: Any, kind: str, sales: str | None) -> None:
        rebuild(side, kind, sales)
        checkpoints.append(store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())

    monkeypatch.setattr(summaries, "rebuild_whole", then_checkpoint)
    build_beside.build(tmp_path / "scratch.db", store.path, os.getppid(), ["months", "pairs"])
    assert [busy for busy, _, _ in checkpoints] == [0, 0]


@pytest.mark.parametrize("json_arrays", [True, False], ids=["json", "no-json"])
def test_a_child_reads_the_sales_once_for_the_summaries_that_read_them(
    loaded_sqlite: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
    json_arrays: bool,
) -> None:
    """SQLite: the daily sums, the customers' months and (with JSON arrays, SQLite 3.38+)
    the pairs of products come from one read of every sale with its lines summed, not
    one read each, and are what a whole rebuild makes of them: a product on two lines of
    a sale counts once in its pairs."""
    from ecomcli.backends.dialect import SQLiteDialect
    from ecomcli.backends.sqlite import Scratch

    monkeypatch.setattr(SQLiteDialect, "json_arrays", json_arrays)
    store, data = loaded_sqlite
    sale = next(o["order_id"] for o in data["orders"] if o["status"] == "delivered")
    line = next(i for i in data["order_items"] if i["order_id"] == sale)
    store.insert("order_items", {**line, "line_no": 99})  # its product on a second line
    rebuild_everything(store)
    reads: list[str] = []
    execute = Scratch.execute

    def recorded(self: Any, sql: str, params: Any = ()) -> Any:
        reads.append(sql)
        return execute(self, sql, params)

    monkeypatch.setattr(Scratch, "execute", recorded)
    scratch = tmp_path / "scratch.db"
    tables = (summaries.DAILY, summaries.CUSTOMER_MONTHS, summaries.CUSTOMERS, summaries.PAIRS)
    build_beside.build(scratch, store.path, os.getppid(), ["months", "customers", "pairs"])
    assert sum("GROUP BY o.order_id" in sql for sql in reads) == 1
    expected = summary_rows(store)
    with closing(sqlite3.connect(scratch)) as built:
        for table in tables:
            rows = sorted(built.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            assert rows == expected[table], table


def test_a_session_building_beside_reads_alone_and_reads_the_sales_once(
    loaded_mysql: Any, monkeypatch: pytest.MonkeyPatch,  # noqa: F811 (the fixture)
) -> None:
    """MySQL: the second session building beside an import reads on its own (no further
    session, no scratch table: the server's other core is the import's), the daily sums
    and the customers' months from one read of every sale with its lines summed, and
    builds what a whole rebuild builds."""
    from ecomcli.backends.mysql import MySQLRepository

    store, data = loaded_mysql
    sale = next(o["order_id"] for o in data["orders"] if o["status"] == "delivered")
    line = next(i for i in data["order_items"] if i["order_id"] == sale)
    store.insert("order_items", {**line, "line_no": 99})  # its product on a second line
    rebuild_everything(store)
    expected = summary_rows(store)
    summaries.forget(store)
    reads: list[str] = []
    execute = MySQLRepository.execute

    def recorded(self: Any, sql: str, params: Any = ()) -> Any:
        if self.reads_alone:
            reads.append(sql)
        return execute(self, sql, params)

    monkeypatch.setattr(MySQLRepository, "execute", recorded)
    build_read(store, ["months", "customers", "pairs"]).finish()
    assert len([sql for sql in reads if re.search(r"GROUP BY [io]\.order_id", sql)]) == 1
    assert not [sql for sql in reads if "ecom_side" in sql]
    assert summary_rows(store) == expected


def test_a_session_building_beside_loads_empty_summaries_in_bulk(
    loaded_mysql: Any, monkeypatch: pytest.MonkeyPatch,  # noqa: F811 (the fixture)
) -> None:
    """MySQL: into the empty summary tables of a new store, the session building beside
    an import loads them with the key checks off (InnoDB then sorts each table's rows
    into its indexes once), turns them on again, and builds what a whole rebuild does."""
    from ecomcli.backends.mysql import MySQLRepository

    store, _ = loaded_mysql
    kinds = ["months", "customers", "pairs"]
    rebuild_everything(store)
    expected = summary_rows(store)
    summaries.forget(store)
    with store.transaction():
        for table in {t for kind in kinds for t in summaries.TABLES_OF[kind]}:
            store.execute(f"DELETE FROM {table}").close()
    sets: list[str] = []
    execute = MySQLRepository.execute

    def recorded(self: Any, sql: str, params: Any = ()) -> Any:
        if self.reads_alone and "unique_checks" in sql:
            sets.append(sql)
        return execute(self, sql, params)

    monkeypatch.setattr(MySQLRepository, "execute", recorded)
    build_read(store, kinds).finish()
    assert sets and len(sets) % 2 == 0, sets
    assert all(" = 0" in on for on in sets[0::2]) and all(" = 1" in off for off in sets[1::2])
    assert summary_rows(store) == expected


def test_an_import_that_stops_leaves_no_build_behind(
    export: Path, new_store: Any, builds_waited_for: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An import stopped by too many rejects in its last file: the build under way is
    abandoned (SQLite: its scratch file removed, its summaries unbuilt), and no summary
    is left pending."""
    path = export / "stock_movements.csv"
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    rows[1][rows[0].index("product_id")] = "no-such-product"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    before = build_files()
    monkeypatch.setattr(build_class(new_store), "done", lambda self: False)  # still going
    with pytest.raises(ImportStopped):
        import_paths(new_store, [export], ImportOptions(max_errors=0))
    assert builds_waited_for
    assert not [n for n in noted(new_store) if n.endswith("_pending")]
    assert not build_files() - before  # (another process may have its own)
    if new_store.backend == "sqlite":  # copied in by `finish` only; MySQL's may have ended
        assert summaries.unbuilt(new_store) == set(summaries.BUILT)
    assert_summaries_agree(new_store, "after the stop")


def test_a_failed_session_leaves_its_summaries_to_the_reports(
    loaded_mysql: Any, monkeypatch: pytest.MonkeyPatch,  # noqa: F811 (the fixture)
) -> None:
    """MySQL: a second session whose rebuild fails (its statement killed, say): a
    one-line warning, nothing noted built, and the reports build them."""
    store, _ = loaded_mysql
    summaries.forget(store)

    def refused(side: Any, kind: str, sales: str | None) -> None:
        side.execute("SELECT * FROM no_such_table").close()

    monkeypatch.setattr(summaries, "rebuild_whole", refused)
    build = build_read(store, ["months"])
    with pytest.warns(RuntimeWarning, match="beside the import failed: .*no_such_table"):
        build.finish()
    assert summaries.unbuilt(store) == set(summaries.BUILT)
    monkeypatch.undo()
    assert_summaries_agree(store, "built by the reports")


def test_a_folder_imports_orders_and_lines_as_early_as_their_references_allow() -> None:
    """Their summaries, the slowest to build, then overlap the most files: before the
    orders and their lines, only what they refer to (the customers, carts, products...),
    not the addresses, logins, cards or cart lines; every entity still comes after those
    it refers to."""
    order = import_order()
    assert sorted(order) == sorted(e.name for e in schema.load_order())
    for entity in schema.load_order():
        for f in entity.references:
            if f.ref != entity.name:
                assert order.index(f.ref) < order.index(entity.name), (entity.name, f.ref)
    first = order[: order.index("order_items") + 1]
    assert set(first) == {"categories", "customers", "suppliers", "delivery_partners",
                          "products", "carts", "orders", "order_items"}


def test_a_file_mapped_to_several_entities_waits_for_what_they_refer_to() -> None:
    """Inputs go at their first entity in that order, unless another input writes what
    they refer to: a file mapped to the products and their stock movements (which refer to
    the orders) goes after the orders' file, which goes after the customers'."""
    def mapped(*names: str) -> Any:
        targets = [SimpleNamespace(entity=schema.entity(n)) for n in names]
        return SimpleNamespace(source=SimpleNamespace(targets=targets), entity=None,
                               name="+".join(names))

    def plain(name: str) -> Any:
        return SimpleNamespace(source=None, entity=schema.entity(name), name=name)

    inputs = [mapped("products", "stock_movements"), plain("orders"),
              mapped("customers", "customer_addresses"), plain("carts")]
    rank = {name: i for i, name in enumerate(import_order())}
    inputs.sort(key=lambda inp: rank_of(inp, rank))
    assert [inp.name for inp in after_references(inputs)] == [
        "customers+customer_addresses", "carts", "orders", "products+stock_movements"]


def test_a_build_whose_import_was_killed_stops_and_removes_its_file(
    loaded_sqlite: Any, tmp_path: Path,  # noqa: F811 (the fixture)
) -> None:
    """SQLite: the import killed outright (SIGKILL) while its child builds: the child
    stops, and its scratch file goes with it."""
    store, _ = loaded_sqlite
    summaries.forget(store)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    killed = (
        "import os, signal, sys, ecomcli\n"
        "from ecomcli.backends.build_beside import BuildBeside\n"
        "BuildBeside(ecomcli.connect(sys.argv[1]), ['carts', 'customers', 'months', 'pairs'])\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", killed, store.url.raw],
                   env={**os.environ, "TMPDIR": str(scratch)}, check=False)
    deadline = time.monotonic() + 30
    while list(scratch.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(scratch.iterdir())


def test_the_cli_says_a_failed_build_in_one_line(
    export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import still succeeds (exit 0): the summaries are left to the reports."""
    from typer.testing import CliRunner

    from ecomcli.cli import app

    monkeypatch.setattr(build_beside, "CHILD", ["-c", "import sys; sys.exit('disk full, say')"])
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["init-db", "--db", url]).exit_code == 0
    result = runner.invoke(app, ["import", str(export), "--db", url, "--quiet"])
    assert result.exit_code == 0, result.output
    said = result.stderr.splitlines()
    assert "warning: building the summaries beside the import failed: disk full, say" in said
    assert "RuntimeWarning" not in result.stderr
