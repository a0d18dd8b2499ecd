"""A database server that dies mid-operation: one line, exit 7, nothing half-done that a
re-run does not finish. Each test starts its own server (its own port and data folder)
so that it can kill it: MariaDB (`mariadbd`) and SecantusDB (a MongoDB-wire server)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import BACKENDS, unavailable

import ecomcli
from ecomcli import orders, records
from ecomcli.errors import ConnectionFailed
from ecomcli.exporting import copy_store

ECOM = str(Path(sys.executable).parent / "ecom")
SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
LOST = "lost the connection to"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Server:
    """A server process on a free port over a data folder that outlives its restarts."""

    name: str

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def url(self, database: str) -> str:
        raise NotImplementedError

    def start(self) -> None:
        log = (self.folder / "server.log").open("ab")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while not answers(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = (self.folder / "server.log").read_text(errors="replace")[-600:]
                unavailable(f"{self.name} did not start on port {self.port}: {tail}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients, as a crash or an OOM kill."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class MariaDB(Server):
    name = "MariaDB"

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        install = shutil.which("mariadb-install-db")
        self.binary = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin")
        if not install or not self.binary:
            unavailable("mariadbd and mariadb-install-db are needed to start a MariaDB server")
        done = subprocess.run(
            [install, "--no-defaults", f"--datadir={folder / 'data'}",
             "--auth-root-authentication-method=normal"],
            capture_output=True, text=True,
        )
        if done.returncode:
            unavailable(f"mariadb-install-db failed: {done.stderr[-400:]}")

    def command(self) -> list[str]:
        as_root = ["--user=root"] if os.geteuid() == 0 else []  # mariadbd refuses root else
        return [
            str(self.binary), "--no-defaults", f"--datadir={self.folder / 'data'}",
            f"--port={self.port}", f"--socket={self.folder / 'mysqld.sock'}",
            "--bind-address=127.0.0.1", "--skip-grant-tables", "--skip-log-bin",
            "--innodb-buffer-pool-size=32M", "--local-infile=1", *as_root,
        ]

    def url(self, database: str) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/{database}"


SECANTUS = """
import sys
from secantus import SecantusDBServer
server = SecantusDBServer(port=int(sys.argv[1]), storage_path=sys.argv[2])
server.start()
server.wait()
"""


class Secantus(Server):
    name = "SecantusDB"

    def command(self) -> list[str]:
        return [sys.executable, "-c", SECANTUS, str(self.port), str(self.folder / "data")]

    def url(self, database: str) -> str:
        return f"mongodb://127.0.0.1:{self.port}/{database}"


SERVERS = {"mysql": MariaDB, "mongodb": Secantus}


@pytest.fixture(params=[b for b in BACKENDS if b in SERVERS])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    made = SERVERS[request.param](tmp_path_factory.mktemp(request.param))
    made.start()
    try:
        yield made
    finally:
        if made.proc is not None and made.proc.poll() is None:
            made.kill()
        shutil.rmtree(made.folder, ignore_errors=True)


def ecom(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ECOM, *args], capture_output=True, text=True, timeout=300)


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.slow
def test_a_server_killed_mid_import_ends_in_one_line_and_a_rerun_finishes(
    server: Server,
) -> None:
    url = server.url("shop")
    assert ecom("init-db", "--db", url).returncode == 0
    command = ["import", str(SAMPLE), "--db", url, "--batch-size", "100", "--quiet"]
    proc = subprocess.Popen([ECOM, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    with ecomcli.connect(url) as store:
        deadline = time.monotonic() + 120
        while store.count("orders") == 0:
            assert proc.poll() is None, f"the import ended before the kill: {proc.stderr}"
            assert time.monotonic() < deadline, "no batch of orders committed in 2 minutes"
            time.sleep(0.01)
        server.kill()
    _, err = proc.communicate(timeout=120)

    assert proc.returncode == 7, err
    line = one_error_line(err)
    assert LOST in line or "cannot reach" in line, line
    assert "committed before that: " in line and " customers" in line, line
    assert "re-run the same command" in line, line

    server.start()
    again = ecom(*command)
    assert again.returncode == 0, again.stderr
    clean = server.url("clean")
    assert ecom("init-db", "--db", clean).returncode == 0
    assert ecom("import", str(SAMPLE), "--db", clean, "--quiet").returncode == 0
    with ecomcli.connect(url) as resumed, ecomcli.connect(clean) as fresh:
        assert resumed.counts() == fresh.counts()
        assert resumed.counts()["order_items"] > 0


def place(store: ecomcli.Repository) -> None:
    orders.place_order(store, orders.OrderRequest(customer_id="c1", lines=[orders.Line("p1", 1)]))


WRITES: dict[str, Callable[[ecomcli.Repository], object]] = {
    "init-db": lambda store: store.init_schema(),
    "customers add": lambda store: records.add_record(
        store, "customers", {"customer_id": "c2", "first_name": "Bob"}
    ),
    "customers update": lambda store: records.update_record(
        store, "customers", ("c1",), {"first_name": "Ada"}
    ),
    "customers delete": lambda store: records.delete_record(store, "customers", ("c1",)),
    "orders place": place,
    "copy": lambda store: copy_store(store, store, ["customers"]),
    "report (summary rebuild)": lambda store: store.report("sales"),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_every_write_on_a_dead_server_is_one_connection_error(server: Server, write: str) -> None:
    """The connection was open when the server died: the write's first statement, or the
    rollback after it, finds it gone. One `ConnectionFailed` (exit 7), never the driver's
    error nor a second one raised by the rollback."""
    url = server.url("shop")
    with ecomcli.connect(url) as store:
        store.init_schema()
        records.add_record(store, "customers", {"customer_id": "c1", "first_name": "A"})
        records.add_record(store, "products", {"product_id": "p1", "name": "P", "price": "2.50",
                                               "units_in_stock": "5"})
        place(store)  # a sale for the summaries to rebuild
        server.kill()
        with pytest.raises(ConnectionFailed) as lost:
            WRITES[write](store)
    assert lost.value.exit_code == 7
    assert "\n" not in str(lost.value)


def test_a_server_dying_inside_a_transaction_reports_the_loss_not_the_rollback(
    server: Server,
) -> None:
    url = server.url("shop")
    with ecomcli.connect(url) as store:
        store.init_schema()
        with pytest.raises(ConnectionFailed), store.transaction():
            records.add_record(store, "customers", {"customer_id": "c1", "first_name": "A"})
            server.kill()
            records.add_record(store, "customers", {"customer_id": "c2", "first_name": "B"})
    server.start()
    with ecomcli.connect(url) as store:  # the server undid the unfinished transaction
        assert store.count("customers") in (0, 1)  # 1: a standalone server (no transactions)
