"""Local MariaDB clusters for the tests and the bench, each node its own `mariadbd` on
127.0.0.1 with its own datadir, ports and socket in a temporary folder (the system server
on 3306 is never touched):

- `start_galera(folder)`: a 3-node Galera cluster (galera-4's wsrep provider; the first
  node bootstraps, the others join by rsync state transfer).
- `start_spider(folder)`: a Spider head (ha_spider loaded) and 2 plain data nodes.

Small buffer pools and no performance schema: the machine is shared. From a shell:

    python tests/clusters/servers.py start galera|spider FOLDER   # prints the node URLs
    python tests/clusters/servers.py stop FOLDER
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
GALERA = "/usr/lib/galera/libgalera_smm.so"
SPIDER = "/usr/lib/mysql/plugin/ha_spider.so"
PACKAGES = {GALERA: "galera-4", SPIDER: "mariadb-plugin-spider"}
START_TIMEOUT_S = 120

# what every node runs with: small, quiet, UTC, local only
COMMON = [
    "--no-defaults",
    "--user=root",  # the tests run as root in CI; ignored otherwise
    "--bind-address=127.0.0.1",
    "--innodb-buffer-pool-size=48M",
    "--innodb-log-file-size=48M",
    "--performance-schema=OFF",
    "--max-connections=100",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_general_ci",
    "--local-infile=1",
    "--skip-log-bin",
]


class ClusterUnavailable(RuntimeError):
    """A cluster could not start (a package missing, a node that did not come up)."""


def missing_packages() -> list[str]:
    return [pkg for path, pkg in PACKAGES.items() if not Path(path).exists()]


def free_ports(n: int) -> list[int]:
    """`n` distinct ports free on 127.0.0.1 right now."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@dataclass
class Node:
    name: str
    folder: Path
    port: int
    options: list[str] = field(default_factory=list)
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}"

    @property
    def datadir(self) -> Path:
        return self.folder / "data"

    def command(self, extra: list[str] = ()) -> list[str]:  # type: ignore[assignment]
        f = self.folder
        return [
            MARIADBD,
            *COMMON,
            f"--datadir={self.datadir}",
            f"--port={self.port}",
            f"--socket={f / 'mysqld.sock'}",
            f"--pid-file={f / 'mysqld.pid'}",
            f"--log-error={f / 'error.log'}",
            f"--tmpdir={f}",  # its own: a shared /tmp may be cleaned under a running server
            *self.options,
            *extra,
        ]

    def start(self, extra: list[str] = ()) -> None:  # type: ignore[assignment]
        log = (self.folder / "stdout.log").open("ab")
        process = subprocess.Popen(
            self.command(extra), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.pid = process.pid

    def alive(self) -> bool:
        if self.pid is None:
            return False
        try:
            done, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:  # not our child (started by another process): probe it
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return False
            return True
        return done == 0

    def query(self, sql: str) -> list[tuple]:
        import mysql.connector

        conn = mysql.connector.connect(
            host="127.0.0.1", port=self.port, user="root", connection_timeout=3
        )
        try:
            cur = conn.cursor()
            cur.execute(sql)
            return cur.fetchall() if cur.with_rows else []
        finally:
            conn.close()

    def wait_ready(self, ready_sql: str = "SELECT 1", timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not self.alive():
                raise ClusterUnavailable(f"{self.name} exited: {self.log_tail()}")
            try:
                rows = self.query(ready_sql)
                if rows and rows[0][-1] not in (0, "0", "OFF", None):
                    return
                last = f"{ready_sql} -> {rows}"
            except Exception as e:  # not accepting connections yet
                last = str(e)
            time.sleep(0.5)
        raise ClusterUnavailable(f"{self.name} not ready after {timeout:.0f} s ({last})")

    def stop(self, timeout: float = 60) -> None:
        """A clean shutdown (SIGTERM), SIGKILL if it takes longer than `timeout`."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done:
                    return
            except ChildProcessError:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)

    def kill(self) -> None:
        """A crash: SIGKILL, no shutdown."""
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = None

    def log_tail(self, lines: int = 8) -> str:
        log = self.folder / "error.log"
        text = log.read_text(errors="replace") if log.exists() else "(no error log)"
        return " | ".join(text.strip().splitlines()[-lines:])


@dataclass
class Cluster:
    kind: str
    folder: Path
    nodes: list[Node]
    gcomm: str = ""  # Galera: every member's gcomm address, to join or rejoin

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    def stop(self) -> None:
        # the last nodes first: a Galera cluster's first node then leaves last
        for node in reversed(self.nodes):
            node.stop()

    def save(self) -> None:
        state = {"kind": self.kind, "nodes": [[n.name, n.port, n.pid] for n in self.nodes]}
        (self.folder / "cluster.json").write_text(json.dumps(state))


def install_template(folder: Path) -> Path:
    """One empty datadir (root without a password), copied for every node (install-db once)."""
    template = folder / "template"
    if not template.exists():
        done = subprocess.run(
            [
                INSTALL_DB,
                "--no-defaults",
                f"--datadir={template}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            shutil.rmtree(template, ignore_errors=True)
            raise ClusterUnavailable(f"mariadb-install-db failed: {done.stderr[-500:]}")
    return template


def new_node(
    folder: Path, name: str, port: int, options: list[str], *, joiner: bool = False
) -> Node:
    """A node with a copy of the empty datadir, or (a Galera `joiner`) an empty folder that
    the rsync state transfer fills: rsync's daemon, started by root, writes as `nobody`, so
    the joiner's datadir is theirs and the folders above it traversable."""
    node = Node(name, folder / name, port, options)
    node.folder.mkdir(parents=True, exist_ok=True)
    if joiner:
        node.datadir.mkdir()
        for path in (folder, node.folder):
            path.chmod(0o711)
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(node.datadir, nobody.pw_uid, nobody.pw_gid)
    else:
        shutil.copytree(install_template(folder), node.datadir)
    return node


def galera_options(i: int, gcomm: list[int], sst: int, cluster_name: str) -> list[str]:
    return [
        "--wsrep-on=ON",
        f"--wsrep-provider={GALERA}",
        f"--wsrep-cluster-name={cluster_name}",
        f"--wsrep-node-name=galera{i + 1}",
        f"--wsrep-node-address=127.0.0.1:{gcomm[i]}",
        f"--wsrep-sst-receive-address=127.0.0.1:{sst}",
        "--wsrep-sst-method=rsync",
        # IST on the port after gcomm's; a small gcache: a restarted node catches up from it
        f"--wsrep-provider-options=base_port={gcomm[i]};gcache.size=64M;"
        f"ist.recv_addr=127.0.0.1:{gcomm[i] + 1}",
        "--binlog-format=ROW",
        "--default-storage-engine=InnoDB",
        "--innodb-autoinc-lock-mode=2",
        "--wsrep-slave-threads=2",
    ]


def start_galera(folder: Path, nodes: int = 3) -> Cluster:
    """A synced `nodes`-node Galera cluster on 127.0.0.1."""
    if missing_packages():
        raise ClusterUnavailable(f"missing Debian packages: {', '.join(missing_packages())}")
    folder.mkdir(parents=True, exist_ok=True)
    # gcomm and IST take two consecutive ports: gcomm ports are spaced from random free ones
    ports = _galera_ports(nodes)
    everyone = ",".join(f"127.0.0.1:{p['gcomm']}" for p in ports)
    cluster = Cluster("galera", folder, [], gcomm=f"gcomm://{everyone}")
    gcomm = [p["gcomm"] for p in ports]
    try:
        for i, p in enumerate(ports):
            options = galera_options(i, gcomm, p["sst"], f"ecom_{folder.name}")
            node = new_node(folder, f"galera{i + 1}", p["mysql"], options, joiner=i > 0)
            cluster.nodes.append(node)
            if i == 0:
                node.start(["--wsrep-new-cluster", "--wsrep-cluster-address=gcomm://"])
            else:
                node.start([f"--wsrep-cluster-address={cluster.gcomm}"])
            # joiners one at a time: two state transfers at once from one donor are slower
            node.wait_ready(SYNCED)
        cluster.save()
        return cluster
    except BaseException:
        cluster.stop()
        raise


# ready when the node is a synced member of the primary component
SYNCED = (
    "SELECT VARIABLE_VALUE = 'Synced' FROM information_schema.GLOBAL_STATUS"
    " WHERE VARIABLE_NAME = 'wsrep_local_state_comment'"
)


def restart_galera_node(node: Node, cluster: Cluster) -> None:
    """Start a stopped member again: it rejoins and catches up (IST from the gcache, or a
    full rsync transfer after a crash, written as `nobody`: see `new_node`)."""
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for path in (node.datadir, *node.datadir.rglob("*")):
            os.chown(path, nobody.pw_uid, nobody.pw_gid, follow_symlinks=False)
    node.start([f"--wsrep-cluster-address={cluster.gcomm}"])
    node.wait_ready(SYNCED)


def _galera_ports(nodes: int) -> list[dict[str, int]]:
    for _ in range(50):
        base = free_ports(nodes * 2)
        picked = [{"mysql": base[i], "sst": base[nodes + i]} for i in range(nodes)]
        gcomm = free_ports(nodes)
        if all(_free(p + 1) for p in gcomm) and len({*gcomm, *(p + 1 for p in gcomm)}) == 2 * nodes:
            for d, g in zip(picked, gcomm, strict=True):
                d["gcomm"] = g
            return picked
    raise ClusterUnavailable("no free local ports for Galera")


def _free(port: int) -> bool:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def start_spider(folder: Path, shards: int = 2) -> Cluster:
    """A Spider head (node 0) and `shards` data nodes, each ready."""
    if missing_packages():
        raise ClusterUnavailable(f"missing Debian packages: {', '.join(missing_packages())}")
    folder.mkdir(parents=True, exist_ok=True)
    ports = free_ports(shards + 1)
    cluster = Cluster("spider", folder, [])
    try:
        head = new_node(folder, "head", ports[0], ["--plugin-load-add=ha_spider"])
        cluster.nodes.append(head)
        for i in range(shards):
            cluster.nodes.append(new_node(folder, f"shard{i + 1}", ports[i + 1], []))
        for node in cluster.nodes:
            node.start()
        for node in cluster.nodes:
            node.wait_ready()
        # Spider makes its system tables when it first initialises: wait for them
        head.wait_ready(
            "SELECT COUNT(*) FROM information_schema.ENGINES"
            " WHERE ENGINE = 'SPIDER' AND SUPPORT IN ('YES', 'DEFAULT')"
        )
        cluster.save()
        return cluster
    except BaseException:
        cluster.stop()
        raise


def stop_folder(folder: Path) -> None:
    """Stop the nodes a `start` in another process recorded in `folder`."""
    state = json.loads((folder / "cluster.json").read_text())
    for name, port, pid in reversed(state["nodes"]):
        Node(name, folder / name, port, pid=pid).stop()


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "start" and argv[1] in ("galera", "spider"):
        start = start_galera if argv[1] == "galera" else start_spider
        cluster = start(Path(argv[2]).resolve())
        print("\n".join(cluster.urls))
        return 0
    if len(argv) == 2 and argv[0] == "stop":
        stop_folder(Path(argv[1]).resolve())
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
