"""ecom on a Spider cluster (a head and 2 data nodes): `init-db --shards` makes the sharded
schema; every report matches one SQLite store; rows spread evenly with an order, its lines
and its payments on one shard; ecom checks what the shards cannot (references, the login
e-mail, stock)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import test_orders_concurrency
from clusters.fixtures import assert_same_reports, fresh_name, spider_fixture  # noqa: F401 (the `spider` fixture)
from clusters.servers import Cluster
from typer.testing import CliRunner

import ecomcli
from ecomcli import reports, schema
from ecomcli.backends import spider, summaries
from ecomcli.backends.spider import SHARD_KEYS
from ecomcli.cli import app
from ecomcli.errors import ConflictError
from ecomcli.generate import GenerateOptions, generate
from ecomcli.importing import ImportOptions, import_paths
from ecomcli.records import add_record
from ecomcli.repository import Mode

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture
def sharded(spider: Cluster) -> tuple[str, list[str]]:
    """A fresh sharded store: the head's URL and the data nodes' URLs."""
    name = fresh_name()
    head, *nodes = (f"{url}/{name}" for url in spider.urls)
    done = runner.invoke(app, ["init-db", "--db", head, "--shards", ",".join(nodes)])
    assert done.exit_code == 0, done.stderr
    return head, nodes


def rows_on(node_url: str, sql: str) -> list[dict]:
    with ecomcli.connect(node_url) as node:
        return node.query(sql)


JOINING_REPORTS = [
    ("restock", {}),
    ("customer-orders", {"from": "2024-03-01", "to": "2024-03-31"}),
    ("wishlists", {"by": "customer"}),
    ("rfm", {"list": True, "as_of": "2025-06-30"}),
]


def statements_on(node_url: str) -> int:
    """How many statements the data node's server has received (its own status read
    included)."""
    return int(rows_on(node_url, "SHOW GLOBAL STATUS LIKE 'Questions'")[0]["Value"])


def test_every_report_on_the_sharded_store_matches_one_node(
    sharded: tuple[str, list[str]], tmp_path: Path
) -> None:
    head, nodes = sharded
    data = tmp_path / "gen"
    generate(GenerateOptions(data, customers=200, products=60, orders=800, seed=11))
    with ecomcli.connect(f"sqlite:///{tmp_path / 'one.db'}") as one, ecomcli.connect(head) as store:
        one.init_schema()
        assert not import_paths(one, [data]).rejected
        before = [statements_on(n) for n in nodes]
        assert not import_paths(store, [data]).rejected
        # each data node loads its part of a batch itself (spider.write_sharded): about 220
        # statements per node here, 4,700 when every row went through the head
        sent = [statements_on(n) - b for n, b in zip(nodes, before, strict=True)]
        assert max(sent) < 1000, sent
        assert_same_reports(one, store)
        # reports that join sharded tables reach each data node in batches, not with a
        # statement per row looked up (spider.HEAD_SESSION): about 400 statements per node
        # for these four, 5,000 without those settings (800 orders, 1,800 lines)
        before = [statements_on(n) for n in nodes]
        for name, params in JOINING_REPORTS:
            reports.run(store, name, params)
        sent = [statements_on(n) - b for n, b in zip(nodes, before, strict=True)]
        assert max(sent) < 1000, sent
    orders = [rows_on(n, "SELECT COUNT(*) AS n FROM orders")[0]["n"] for n in nodes]
    assert sum(orders) == 800 and min(orders) > 0.4 * 800, orders  # an even spread
    for node in nodes:  # every line and payment sits with its order
        strays = rows_on(
            node,
            "SELECT COUNT(*) AS n FROM (SELECT order_id FROM order_items UNION ALL"
            " SELECT order_id FROM payments) x WHERE order_id NOT IN (SELECT order_id FROM orders)",
        )
        assert strays[0]["n"] == 0


def test_imports_through_the_head_count_exactly_and_mark_the_summaries(
    sharded: tuple[str, list[str]], tmp_path: Path
) -> None:
    """Rows written straight to their data nodes: a re-import finds them unchanged, a
    change is counted and reaches the reports, a row refused on a node is reported with
    its own line."""
    head, _ = sharded
    data = tmp_path / "gen"
    generate(GenerateOptions(data, customers=40, products=20, orders=120, seed=5))
    with ecomcli.connect(f"sqlite:///{tmp_path / 'one.db'}") as one, ecomcli.connect(head) as store:
        one.init_schema()
        for s in (one, store):
            import_paths(s, [data])
        reports.run(store, "top-products", {})  # the summaries built, then kept
        again = {r["entity"]: r for r in import_paths(store, [data]).rows()}
        for entity in SHARD_KEYS:
            if entity in again:
                r = again[entity]
                assert (r["inserted"], r["updated"], r["unchanged"]) == (0, 0, r["read"]), r
        lines = data / "order_items.csv"
        text = lines.read_text().splitlines()
        head_line, first = text[0].split(","), text[1].split(",")
        first[head_line.index("quantity")] = "7"
        lines.write_text("\n".join([text[0], ",".join(first), *text[2:]]) + "\n")
        for s in (one, store):
            changed = import_paths(s, [lines], ImportOptions()).rows()[0]
            assert (changed["updated"], changed["unchanged"]) == (1, len(text) - 2)
        for name in ("top-products", "sales", "customer-orders"):  # the change reached them
            assert reports.run(store, name, {}).rows == reports.run(one, name, {}).rows, name
        rejects = tmp_path / "rejects.csv"
        refused = import_paths(store, [lines], ImportOptions(mode=Mode.INSERT, rejects=rejects))
        assert refused.rejected == len(text) - 1
        with rejects.open() as f:
            refused_lines = sorted(int(r["line"]) for r in csv.DictReader(f))
        assert refused_lines == list(range(2, len(text) + 1))


def test_init_db_shards_twice_then_status_shows_rows_per_shard(
    sharded: tuple[str, list[str]], tmp_path: Path
) -> None:
    head, nodes = sharded
    again = runner.invoke(app, ["init-db", "--db", head, "--shards", ",".join(nodes)])
    assert again.exit_code == 0, again.stderr
    assert "nothing to do" in again.stderr
    data = tmp_path / "gen"
    generate(GenerateOptions(data, customers=50, products=20, orders=100, seed=2))
    with ecomcli.connect(head) as store:
        assert not import_paths(store, [data]).rejected
    status = runner.invoke(app, ["status", "--db", head, "--format", "json"])
    assert status.exit_code == 0, status.stderr
    shown = json.loads(status.stdout)
    assert [s["server"].rsplit("/", 1)[1] for s in shown["shards"]] == [head.rsplit("/", 1)[1]] * 2
    for entity in SHARD_KEYS:
        per_shard = [s["rows"][entity] for s in shown["shards"]]
        on_nodes = [rows_on(n, f"SELECT COUNT(*) AS n FROM {entity}")[0]["n"] for n in nodes]
        assert per_shard == on_nodes and sum(per_shard) == shown["entities"][entity], entity
    fewer = runner.invoke(app, ["init-db", "--db", head, "--shards", nodes[0]])
    assert fewer.exit_code != 0 and "resharding is not supported" in fewer.stderr
    # --drop starts over: an empty store, sharded again (the images table, which refers
    # to the products, dropped first)
    anew = ["init-db", "--db", head, "--shards", ",".join(nodes), "--drop", "--yes"]
    dropped = runner.invoke(app, anew)
    assert dropped.exit_code == 0, dropped.stderr
    status = json.loads(runner.invoke(app, ["status", "--db", head, "--format", "json"]).stdout)
    assert len(status["shards"]) == 2 and not any(status["entities"].values())


def test_a_file_mapped_to_sharded_and_head_tables_imports_as_on_one_server(
    sharded: tuple[str, list[str]], tmp_path: Path
) -> None:
    """A file whose rows go to several tables (customers and products on the head, orders
    and their lines on the nodes) is written in one transaction through the head: the
    Spider tables then take the staged path, not a load inside a savepoint, which Spider
    cannot roll back to (the import failed with MySQL error 1178)."""
    head, _ = sharded
    samples = Path(__file__).resolve().parent.parent / "sample_data" / "mappings"
    with ecomcli.connect(f"sqlite:///{tmp_path / 'one.db'}") as one, ecomcli.connect(head) as store:
        one.init_schema()
        rejected = []
        for i, s in enumerate((one, store)):
            options = ImportOptions(mapping=samples / "flat-sales.toml",
                                    rejects=tmp_path / f"rejects{i}.csv")
            rejected.append(import_paths(s, [samples / "flat-sales.csv"], options).rejected)
        assert rejected[0] == rejected[1] < 10  # (the sample's own bad rows)
        for entity in ("customers", "products", "orders", "order_items"):
            assert store.count(entity) == one.count(entity) > 0, entity
        for name in ("top-products", "customer-orders", "sales"):
            assert reports.run(store, name, {}).rows == reports.run(one, name, {}).rows, name


def test_references_across_shards_are_checked_by_ecom(
    sharded: tuple[str, list[str]], tmp_path: Path
) -> None:
    head, _ = sharded
    lines = tmp_path / "order_items.csv"
    lines.write_text("order_id,line_no,product_id,quantity,unit_price\nO404,1,P404,1,9.99\n")
    with ecomcli.connect(head) as store:
        summary = import_paths(store, [lines])
        assert summary.rejected and store.count("order_items") == 0
        add_record(store, "customers", {"customer_id": "c1"})
        with pytest.raises(ecomcli.EcomError, match="not found"):
            add_record(
                store,
                "orders",
                {"order_id": "o1", "customer_id": "nobody", "purchased_at": "2025-01-01 10:00:00"},
            )
        assert store.count("orders") == 0


def test_the_connection_that_shards_the_store_then_acts_as_its_head(
    spider: Cluster, tmp_path: Path
) -> None:
    """`init_sharded` on an open connection (the Python API): that connection checks
    references and writes to the data nodes as a new one to the head would."""
    name = fresh_name()
    head, *nodes = (f"{url}/{name}" for url in spider.urls)
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,purchased_at\nO1,nobody,2025-01-01 10:00:00\n")
    with ecomcli.connect(head) as store:
        store.init_sharded(nodes)
        assert import_paths(store, [orders]).rejected == 1  # no such customer
        assert store.count("orders") == 0 and store._data_nodes()


def test_a_login_email_is_unique_across_shards(sharded: tuple[str, list[str]]) -> None:
    head, _ = sharded
    with ecomcli.connect(head) as store:
        for c in ("c1", "c2"):  # two customers on different shards
            add_record(store, "customers", {"customer_id": c})
        add_record(store, "logins", {"customer_id": "c1", "email": "a@b.c", "password_hash": "x"})
        with pytest.raises(ConflictError):
            add_record(
                store, "logins", {"customer_id": "c2", "email": "a@b.c", "password_hash": "y"}
            )
        assert store.count("logins") == 1


def test_concurrent_buyers_never_oversell_on_the_sharded_store(
    sharded: tuple[str, list[str]], tmp_path: Path
) -> None:
    test_orders_concurrency.test_concurrent_buyers_never_oversell(sharded[0], tmp_path)


def test_every_entity_has_a_home() -> None:
    """A table is either sharded by one of its own fields or kept on the head."""
    for name, field in SHARD_KEYS.items():
        assert field in schema.entity(name).field_names



def statements_of_a_reimport(
    head: str, nodes: list[str], tmp_path: Path, report: str, entity: str, batch_size: int
) -> tuple[dict, list[int]]:
    """A small generated store imported into the sharded store at `head`, `report` run (so
    the summaries it reads are built and writes mark them), then `entity`'s file imported
    again in batches of `batch_size`: that import's counts, and the statements each data
    node received for it."""
    data = tmp_path / "gen"
    generate(GenerateOptions(data, customers=100, products=20, orders=600, seed=3))
    with ecomcli.connect(head) as store:
        assert not import_paths(store, [data]).rejected
        reports.run(store, report, {})
        before = [statements_on(n) for n in nodes]
        again = import_paths(store, [data / f"{entity}.csv"], ImportOptions(batch_size=batch_size))
        sent = [statements_on(n) - b for n, b in zip(nodes, before, strict=True)]
    return again.rows()[0], sent


def test_an_import_reads_the_stored_orders_on_their_data_nodes(
    sharded: tuple[str, list[str]], tmp_path: Path
) -> None:
    """The reference checks and the summaries' marks of an import of order lines read the
    lines' orders on their data nodes, each node its share in one statement, not through
    the head (where each of those statements became several on every node)."""
    head, nodes = sharded
    lines, sent = statements_of_a_reimport(head, nodes, tmp_path, "customer-orders",
                                           "order_items", 300)  # fmt: skip
    assert lines["unchanged"] == lines["read"] > 1200
    # 5 batches: about 80 statements per node, 200 through the head
    assert max(sent) < 150, sent


def test_an_import_of_payments_reads_stored_keys_on_every_data_node(
    sharded: tuple[str, list[str]], tmp_path: Path
) -> None:
    """A payment's id and a card's do not name their shard: an import of payments asks
    every data node directly for the stored payments' months (the summary's marks) and for
    the cards they refer to, one statement per batch, where through the head each batch
    took a round trip per few keys (a 1M-order import of payments: 162 s to 36 s)."""
    head, nodes = sharded
    payments, sent = statements_of_a_reimport(head, nodes, tmp_path, "payments", "payments", 100)
    assert payments["unchanged"] == payments["read"] > 500
    # 108 statements per node, 296 through the head
    assert max(sent) < 150, sent


def test_an_import_builds_the_summaries_beside_itself_on_the_head(
    sharded: tuple[str, list[str]], tmp_path: Path
) -> None:
    """An import of a whole export into a sharded store refreshes each summary on a second
    head session once the import has written its inputs (one refresh at a time, none
    after the last file): those built have no mark left of what the import wrote, and
    the reports read them as one node does."""
    head, _nodes = sharded
    generated = {"customers": 200, "products": 40, "orders": 1500, "seed": 5}
    with sqlite_and_sharded(head, tmp_path, **generated) as (one, store):
        noted = {r["name"] for r in store.query("SELECT name FROM ecom_meta")}  # type: ignore[attr-defined]
        built = [kind for kind, name in summaries.BUILT.items() if name in noted]
        assert "months" in built, noted  # the first ready, after the order lines
        for kind in built:
            marks = store.query(f"SELECT COUNT(*) AS n FROM {summaries.DIRTY[kind]}")  # type: ignore[attr-defined]
            assert marks == [{"n": 0}], kind
        assert_same_reports(one, store)


@contextmanager
def sqlite_and_sharded(
    head: str, tmp_path: Path, **generated: int
) -> Iterator[tuple[ecomcli.Repository, ecomcli.Repository]]:
    """A SQLite store and the sharded store at `head`, open, each holding the same
    generated store (`generated`: its `GenerateOptions`)."""
    data = tmp_path / "gen"
    generate(GenerateOptions(data, **generated))
    with ecomcli.connect(f"sqlite:///{tmp_path / 'one.db'}") as one, ecomcli.connect(head) as store:
        one.init_schema()
        for s in (one, store):
            assert not import_paths(s, [data]).rejected
        yield one, store


def test_first_reports_add_up_what_each_data_node_sums_of_its_own_orders(
    sharded: tuple[str, list[str]], tmp_path: Path
) -> None:
    """The sales summaries (per month, per day, the deliveries), the pairs bought
    together, the payments per day and the reviews per product are built by each data
    node from its own rows, in one statement per summary, and added up by the head
    (through the head, each rebuild fetched every row)."""
    head, nodes = sharded
    generated = {"customers": 100, "products": 20, "orders": 600, "seed": 4}
    with sqlite_and_sharded(head, tmp_path, **generated) as stores:
        one, store = stores
        before = [statements_on(n) for n in nodes]
        for name in ("top-products", "sales", "delivery", "basket", "payments", "ratings"):
            assert reports.run(store, name, {}).rows == reports.run(one, name, {}).rows, name
        sent = [statements_on(n) - b for n, b in zip(nodes, before, strict=True)]
    # about 15 statements per node; 1,300 through the head
    assert max(sent) < 100, sent


def test_after_an_import_the_head_plans_with_the_rows_the_nodes_hold(
    sharded: tuple[str, list[str]], tmp_path: Path
) -> None:
    """Rows written to the data nodes directly (an import) count in the head's plans
    (`spider.FRESH_STATUS`), not the empty tables the head last saw: a join planned for
    empty tables after importing 20,000 orders took 122 s instead of 1.0 s."""
    head, _ = sharded
    generated = {"customers": 500, "products": 40, "orders": 3000, "seed": 6}
    with sqlite_and_sharded(head, tmp_path, **generated) as (_, store):
        planned = store.query("EXPLAIN SELECT * FROM orders")[0]["rows"]
    assert int(planned) >= 3000 / 2, planned


# reports and summaries over every order's (cart's) lines, grouped per order (cart), and
# the most statements a data node may receive for each: about halfway between the
# statements it receives when each node groups its own (44, 39, 18, 47, 21) and when the
# head joins the lines itself (131, 88, 77, 75, 129)
NODE_GROUPED_REPORTS = [
    ("customer-activity", {}, 90),  # builds the customers' summary
    ("rfm", {"list": True, "as_of": "2025-06-30"}, 64),
    ("clv", {"as_of": "2025-06-30"}, 48),
    ("customer-orders", {"from": "2024-03-01", "to": "2024-12-31"}, 39),
    ("carts", {}, 75),  # builds the carts' summary
]


@pytest.mark.parametrize(("name", "params", "most"), NODE_GROUPED_REPORTS)
def test_each_data_node_groups_its_own_orders_lines_for_the_head(
    sharded: tuple[str, list[str]], tmp_path: Path, name: str, params: dict, most: int
) -> None:
    """A statement over every order's lines grouped per order, or every cart's
    (`Dialect.node_rows`), is run by each data node on its own rows, once; the head reads
    their rows from a temporary table. Through the head, the join fetched the lines in
    many batches."""
    head, nodes = sharded
    generated = {"customers": 300, "products": 30, "orders": 2000, "seed": 7}
    with sqlite_and_sharded(head, tmp_path, **generated) as (one, store):
        before = [statements_on(n) for n in nodes]
        assert reports.run(store, name, params).rows == reports.run(one, name, params).rows
        sent = [statements_on(n) - b for n, b in zip(nodes, before, strict=True)]
    assert max(sent) < most, sent


def rows_read_on(node_url: str) -> int:
    """How many rows the data node's server has read, through an index or not."""
    status = rows_on(node_url, "SHOW GLOBAL STATUS LIKE 'Handler_read%'")
    return sum(int(r["Value"]) for r in status)


def test_delivery_over_a_period_is_grouped_on_the_data_nodes(
    sharded: tuple[str, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`delivery --from`: each data node groups its own orders by partner and month, all
    at once (`spider.gathered`), and the head adds the groups up. Read through the head,
    the report took longer than on one server (bench/README.md)."""
    head, _ = sharded
    generated = {"customers": 300, "products": 30, "orders": 3000, "seed": 4}
    params = {"from": "2024-01-01"}
    gathered: list[str] = []
    gather = spider._gather

    def noted(head: Any, nodes: Any, table: str, select: str, *rest: Any) -> None:
        gathered.append(select)
        gather(head, nodes, table, select, *rest)

    with sqlite_and_sharded(head, tmp_path, **generated) as (one, store):
        monkeypatch.setattr(spider, "_gather", noted)
        expected = reports.run(one, "delivery", params).rows
        assert reports.run(store, "delivery", params).rows == expected
    assert len(gathered) == 1 and "GROUP BY o.delivery_partner_id" in gathered[0]


def test_restock_reads_only_the_windows_orders_on_the_data_nodes(
    sharded: tuple[str, list[str]], tmp_path: Path
) -> None:
    """restock's window (the 30 days up to the last sale, a day read from the daily
    summary) reaches the data nodes as a constant: they read the window's orders through
    the purchase-time index (about 1,200 rows each), or scan the lines and look up their
    orders (7,000, a plan a node's planner may pick on so small a store once its
    statistics are current), not 19,000 as when the window's start was a subquery the head
    could not send them, and the lines were looked up per product."""
    head, nodes = sharded
    generated = {"customers": 300, "products": 30, "orders": 4000, "seed": 8}
    with sqlite_and_sharded(head, tmp_path, **generated) as (one, store):
        reports.run(store, "top-products", {})  # the daily summary, built
        before = [rows_read_on(n) for n in nodes]
        assert reports.run(store, "restock", {}).rows == reports.run(one, "restock", {}).rows
        read = [rows_read_on(n) - b for n, b in zip(nodes, before, strict=True)]
    assert max(read) < 10_000, read


def test_a_statement_with_a_limit_reads_each_nodes_rows_in_one_go(
    sharded: tuple[str, list[str]], tmp_path: Path
) -> None:
    """The first 4 orders by their customer's name: the head reads every order from each
    data node in one statement (`spider.WHOLE_READS`), not a few rows per round trip."""
    head, nodes = sharded
    generated = {"customers": 300, "products": 30, "orders": 3000, "seed": 9}
    sql = ("SELECT o.order_id, c.last_name FROM orders o JOIN customers c"
           " ON c.customer_id = o.customer_id ORDER BY c.last_name, o.order_id LIMIT 4")
    with sqlite_and_sharded(head, tmp_path, **generated) as (one, store):
        expected = one.query(sql)  # type: ignore[attr-defined]
        before = [statements_on(n) for n in nodes]
        assert store.query(sql) == expected  # type: ignore[attr-defined]
        sent = [statements_on(n) - b for n, b in zip(nodes, before, strict=True)]
    # 34 per node; 220 when the orders came a few rows per round trip
    assert max(sent) < 100, sent


def test_the_top_customers_by_wishlists_are_looked_up_alone(
    sharded: tuple[str, list[str]], tmp_path: Path
) -> None:
    """`wishlists --by customer --limit 4` reads its first customers from the summary's
    index and looks up only those among the customers (through EXISTS, the head read
    every customer)."""
    head, _ = sharded
    generated = {"customers": 3000, "products": 30, "orders": 300, "seed": 9}
    params = {"by": "customer", "limit": 4}
    with sqlite_and_sharded(head, tmp_path, **generated) as (one, store):
        first = reports.run(store, "wishlists", params).rows  # (built, if the import did not)
        assert first == reports.run(one, "wishlists", params).rows
        before = rows_read_on(head)
        assert reports.run(store, "wishlists", params).rows == first
        read = rows_read_on(head) - before
    # 43 rows; 3,044 (every customer) through EXISTS
    assert read < 500, read


LISTING_CUSTOMERS = [
    ("customer-orders", {}),
    ("wishlists", {"by": "customer"}),
    ("wishlists", {"by": "customer", "limit": 4}),
    ("customer-activity", {"list": "inactive", "from": "2025-01-01"}),
    ("rfm", {"list": True}),
]


def test_reports_that_list_customers_read_none_from_the_data_nodes(
    sharded: tuple[str, list[str]], tmp_path: Path
) -> None:
    """The customers stay on the head (`spider.SHARD_KEYS`): a report joining every
    customer's name to a summary, itself on the head, reads no row from the data nodes
    once that summary is built (when the customers were sharded, each run read every one
    of them from the nodes)."""
    head, nodes = sharded
    generated = {"customers": 3000, "products": 30, "orders": 600, "seed": 9}
    with sqlite_and_sharded(head, tmp_path, **generated) as (one, store):
        for name, params in LISTING_CUSTOMERS:
            first = reports.run(store, name, params).rows  # (built, if the import did not)
            assert first == reports.run(one, name, params).rows, name
            before = [rows_read_on(n) for n in nodes]
            assert reports.run(store, name, params).rows == first
            read = [rows_read_on(n) - b for n, b in zip(nodes, before, strict=True)]
            # about 1,500 per node (every customer) when they lay there
            assert max(read) < 100, (name, read)


def test_a_report_in_your_transaction_counts_its_uncommitted_orders(
    sharded: tuple[str, list[str]],
) -> None:
    """Inside a transaction of the caller's, the orders it has written (not committed, so
    not visible to the data nodes' own sessions) count in a report whose per-order rows
    the nodes would otherwise group (rfm --list)."""
    head, _ = sharded
    with ecomcli.connect(head) as store:
        add_record(store, "customers", {"customer_id": "c1"})
        add_record(store, "products", {"product_id": "p1", "name": "P", "price": "5.00"})
        with store.transaction():
            add_record(
                store,
                "orders",
                {"order_id": "o1", "customer_id": "c1", "purchased_at": "2025-01-01 10:00:00",
                 "status": "delivered"},
            )
            add_record(
                store,
                "order_items",
                {"order_id": "o1", "line_no": 1, "product_id": "p1", "quantity": 2,
                 "unit_price": "5.00"},
            )
            listed = reports.run(store, "rfm", {"list": True, "as_of": "2025-06-30"})
            assert [(r["customer_id"], r["orders"]) for r in listed.rows] == [("c1", 1)]


def test_a_data_nodes_rows_reach_the_head_exactly(sharded: tuple[str, list[str]]) -> None:
    """Each data node's rows of a `node_rows` part are written to the head's file from
    the server's text (`MySQLRepository.tsv_chunks`): tabs, newlines, carriage returns
    and backslashes in a text come through escaped, NULL stays NULL, and numbers, dates
    and times keep every digit. The head reads its nodes' rows as they come
    (`spider.STREAMED_READS`)."""
    head, _ = sharded
    odd = ["a\tb", "line\nbreak", "back\\slash", "cr\rhere", "\\N", "tab at end\t", "plain"]
    with ecomcli.connect(head) as store:
        for i, title in enumerate(odd):
            add_record(store, "reviews", {
                "review_id": f"r{i}", "score": 1 + i % 5, "title": title,
                "comment": "x" if i % 2 else None, "created_at": f"2024-02-0{i + 1} 12:34:5{i}",
            })
        sql = (
            "SELECT review_id, title, comment, DATE(created_at) AS day, created_at,"
            " LENGTH(title) * 1.25 AS n FROM reviews"
        )
        gathered = f"SELECT * FROM ({store.dialect.node_rows(sql)}) x ORDER BY review_id"
        rows = store.query(gathered)  # type: ignore[attr-defined]
        assert rows == store.query(f"{sql} ORDER BY review_id")  # type: ignore[attr-defined]
        (mode,) = store.query("SELECT @@spider_quick_mode AS m")  # type: ignore[attr-defined]
    assert [r["title"] for r in rows] == odd
    assert [r["comment"] for r in rows[:2]] == [None, "x"]
    assert mode == {"m": 2}
