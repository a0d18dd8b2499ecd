"""ecom, unchanged, on a 3-node Galera cluster: imports through one node, reports and
orders through the others, certification conflicts retried, batches within
`wsrep_max_ws_size`, a node lost mid-import."""

from __future__ import annotations

import csv
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import mysql.connector
import pytest
from clusters.fixtures import assert_same_reports, fresh_name, galera_fixture  # noqa: F401 (the `galera` fixture)
from clusters.servers import Cluster, restart_galera_node

import ecomcli
from ecomcli.generate import GenerateOptions, generate
from ecomcli.importing import ImportOptions, import_paths
from ecomcli.schema import ENTITIES

pytestmark = pytest.mark.slow


def store_on(cluster: Cluster, name: str, node: int = 0) -> ecomcli.Repository:
    return ecomcli.connect(f"{cluster.urls[node]}/{name}")


def csv_rows(folder: Path) -> dict[str, int]:
    counts = {}
    for e in ENTITIES:
        path = folder / f"{e.name}.csv"
        if path.exists():
            with path.open(newline="", encoding="utf-8") as f:
                counts[e.name] = sum(1 for _ in csv.DictReader(f))
    return counts


def test_import_through_one_node_reports_identical_through_the_others(
    galera: Cluster,
    tmp_path: Path,
) -> None:
    data = tmp_path / "gen"
    generate(GenerateOptions(data, customers=200, products=60, orders=800, seed=11))
    name = fresh_name()
    with (
        ecomcli.connect(f"sqlite:///{tmp_path / 'one.db'}") as one,
        store_on(galera, name) as first,
    ):
        for store in (one, first):
            store.init_schema()
            assert not import_paths(store, [data]).rejected
    for node in (1, 2):
        with (
            ecomcli.connect(f"sqlite:///{tmp_path / 'one.db'}") as one,
            store_on(galera, name, node) as other,
        ):
            assert_same_reports(one, other)


def status_sum(cluster: Cluster, variables: tuple[str, ...]) -> int:
    names = ", ".join(f"'{v}'" for v in variables)
    sql = (
        "SELECT SUM(VARIABLE_VALUE) FROM information_schema.GLOBAL_STATUS"
        f" WHERE VARIABLE_NAME IN ({names})"
    )
    return sum(int(node.query(sql)[0][0] or 0) for node in cluster.nodes)


PEN = {
    "product_id": "P1",
    "name": "pen",
    "kind": "general",
    "price": Decimal("2.00"),
    "units_in_stock": 0,
    "reorder_level": 0,
}
CONFLICTS = ("wsrep_local_cert_failures", "wsrep_local_bf_aborts")


RESTOCK_40 = """
import sys
import ecomcli  # first: the driver's C extension, as the CLI runs it
from ecomcli import orders
with ecomcli.connect(sys.argv[1]) as store:
    for _ in range(40):
        orders.restock(store, "P1", 1)
"""


def test_certification_conflicts_between_nodes_are_retried(galera: Cluster) -> None:
    name = fresh_name()
    with store_on(galera, name) as store:
        store.init_schema()
        store.insert("products", PEN)
    before = status_sum(galera, CONFLICTS)
    restocks = [  # one process per node, all changing the same row
        subprocess.Popen(
            [sys.executable, "-c", RESTOCK_40, f"{url}/{name}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for url in galera.urls
    ]
    for p in restocks:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert status_sum(galera, CONFLICTS) > before, "no conflict happened: the test proves nothing"
    with store_on(galera, name, 2) as store:
        assert store.get("products", ("P1",))["units_in_stock"] == 120
        assert store.count("stock_movements") == 120


def test_a_read_through_one_node_sees_what_another_node_committed(galera: Cluster) -> None:
    """Galera applies a transaction on the other nodes after it commits: while the third
    node has not applied the new product yet, a read through it waits for it rather than
    answering that the product does not exist."""
    name = fresh_name()
    with store_on(galera, name) as store:
        store.init_schema()
    held = mysql.connector.connect(host="127.0.0.1", port=galera.nodes[2].port, user="root")
    hold = held.cursor()
    hold.execute("FLUSH TABLES WITH READ LOCK")  # the third node applies nothing meanwhile
    read: dict[str, object] = {}

    def read_on_third_node() -> None:
        with store_on(galera, name, 2) as store:
            read["pen"] = store.get("products", ("P1",))

    try:
        with store_on(galera, name) as store:
            store.insert("products", PEN)
        reader = threading.Thread(target=read_on_third_node)
        reader.start()
        reader.join(2)
        assert "pen" not in read, "the third node answered before applying the insert"
    finally:
        hold.execute("UNLOCK TABLES")
        held.close()
    reader.join(60)
    assert read["pen"] is not None and read["pen"]["name"] == "pen"


def test_import_batches_fit_a_small_wsrep_max_ws_size(
    galera: Cluster,
    tmp_path: Path,
) -> None:
    data = tmp_path / "gen"
    generate(GenerateOptions(data, customers=300, products=60, orders=2000, seed=5))
    name = fresh_name()
    node = galera.nodes[0]
    old = node.query("SELECT @@wsrep_max_ws_size")[0][0]
    node.query("SET GLOBAL wsrep_max_ws_size = 262144")  # 256 KB: a 10,000-row batch exceeds it
    try:
        with store_on(galera, name) as store:
            store.init_schema()
            with pytest.raises(ecomcli.EcomError, match=r"(?i)size|too long"):
                import_paths(store, [data], ImportOptions(batch_size=10_000))
        with store_on(galera, name) as store:
            summary = import_paths(store, [data])  # the backend's own batch size
            assert not summary.rejected
    finally:
        node.query(f"SET GLOBAL wsrep_max_ws_size = {old}")
    with store_on(galera, name, 1) as store:
        assert {e: store.count(e) for e in csv_rows(data)} == csv_rows(data)


def test_a_node_stopped_mid_import_loses_and_doubles_nothing_after_a_rerun(
    galera: Cluster,
    tmp_path: Path,
) -> None:
    data = tmp_path / "gen"
    generate(GenerateOptions(data, customers=2000, products=200, orders=20_000, seed=3))
    name = fresh_name()
    url = f"{galera.urls[1]}/{name}"
    with ecomcli.connect(url) as store:
        store.init_schema()
    command = [
        sys.executable,
        "-m",
        "ecomcli",
        "import",
        "--db",
        url,
        "--batch-size",
        "2000",
        str(data),
    ]
    running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    node = galera.nodes[1]
    with store_on(galera, name, 2) as watcher:  # wait until the import is under way
        while watcher.count("order_items") == 0 and running.poll() is None:
            time.sleep(0.2)
    node.kill()
    _, err = running.communicate(timeout=120)
    assert running.returncode != 0, "the import finished before the node stopped"
    assert "Traceback" not in err, err
    with store_on(galera, name, 2) as store:
        assert store.count("order_items") < csv_rows(data)["order_items"]
    restart_galera_node(node, galera)
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    with store_on(galera, name, 0) as store:
        assert {e: store.count(e) for e in csv_rows(data)} == csv_rows(data)
        totals = store.query("SELECT SUM(quantity) AS units FROM order_items")[0]["units"]
    with (data / "order_items.csv").open(newline="", encoding="utf-8") as f:
        assert totals == sum(int(r["quantity"]) for r in csv.DictReader(f))
