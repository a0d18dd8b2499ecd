"""Spider (MariaDB's sharding storage engine): a store split across data nodes.

    ecom init-db --db mysql://HEAD/shop --shards mysql://D1/shop,mysql://D2/shop

Layout (see docs/clusters.md):
- The big tables (`SHARD_KEYS`) live on the data nodes, InnoDB, in the same database; the
  head holds a Spider table of the same name partitioned `BY LIST` of a `_shard` column
  whose default is `CRC32(shard key) % shards`: a key always lands on the same shard and
  keys spread evenly (Spider's `KEY()` partitioning of strings puts nearly every
  sequential id in one partition). An order, its lines and its payments share the order id,
  hence a shard; a customer's addresses and cards share the customer's; a cart's lines and
  a wishlist's items theirs.
- The customers and the small tables (categories, products, suppliers, supplies, delivery
  partners, logins), ecom's bookkeeping and the report summaries stay InnoDB on the head:
  their foreign keys, the unique login e-mail and the conditional stock update (never
  below zero) are enforced by InnoDB as on one server. The customers stay because the
  per-customer reports join their names to a summary kept on the head: read from the data
  nodes, every customer crossed the wire for each such report, slower than one server
  (bench/README.md, cluster_bench.py). They grow with the people who buy, not with what
  they buy: the orders, lines and payments, which do go to the nodes.
- Foreign keys between tables of one shard key (order lines -> orders) are kept on the
  data nodes; the others cannot span servers and are dropped: the store reports
  `enforces_references = False` and ecom checks references before writing (the importer
  a batch at a time, `ecom records`/`orders` row by row), as on MongoDB.
- Bulk writes (imports, copies) of a sharded table go to the data nodes directly, each
  node loading its part of a batch (`write_sharded`); other writes and all reads go
  through the head, whose sessions batch their joins (`HEAD_SESSION`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ecomcli import schema
from ecomcli.backends.dialect import NODE_ROWS, SPIDER
from ecomcli.backends.sql import R, T, table_ddl
from ecomcli.config import DbUrl, parse_url
from ecomcli.errors import UsageError
from ecomcli.repository import InitResult, Mode, WriteResult

if TYPE_CHECKING:
    from ecomcli.backends.mysql import MySQLRepository
    from ecomcli.backends.summaries import Insert

ROWS_PER_INSERT = 5000  # one statement well under max_allowed_packet (16 MB by default)

# entity: the field its rows are placed by (tables not listed stay on the head)
SHARD_KEYS: dict[str, str] = {
    "customer_addresses": "customer_id",
    "payment_cards": "customer_id",
    "carts": "cart_id",
    "cart_items": "cart_id",
    "wishlists": "wishlist_id",
    "wishlist_items": "wishlist_id",
    "orders": "order_id",
    "order_items": "order_id",
    "payments": "order_id",
    "reviews": "review_id",
    "stock_movements": "movement_id",
}
SHARD = "_shard"
META_SHARDS = "shards"  # ecom_meta: how many shards the store was made with


def is_head(cursor: Any) -> bool:
    """Whether the connected database is a Spider head made by `init-db --shards`."""
    cursor.execute(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        " AND TABLE_NAME = 'orders' AND ENGINE = 'SPIDER'"
    )
    return bool(cursor.fetchone()[0])


# A Spider head joins its tables itself, and by default looks each row up on its data
# node with a round trip. These session settings make it send the keys of a whole join
# buffer per round trip (batched key access: join_cache_level 8 with mrr), and keep a table
# it reads once in a hashed join buffer. semijoin=off: as a semi-join, "the newest sale
# with a line" (restock) became a scan of every line with a round trip per order (45 s at
# 10,000 orders); as a subquery it stops at the first order. At 10,000 orders the 35
# report cases of the parity test took 64 s on a 2-shard cluster, 0.8 s with these.
# split_materialized=off: a derived table grouped per key is computed once, not again for
# each row of the outer table (restock's units sold per product: its lines looked up per
# product, round trips to every node for each one).
HEAD_SESSION = (
    "SET SESSION join_cache_level = 8",
    "SET SESSION optimizer_switch = 'mrr=on,join_cache_bka=on,join_cache_hashed=on,"
    "semijoin=off,split_materialized=off'",
)
# The head plans its joins from each data node's table status (row counts), which it
# otherwise keeps for 10 s and from the last time it opened the table: rows written to the
# nodes directly (imports) left it planning with the empty tables it had seen, and the
# first customers' rebuild after importing 20,000 orders took 122 s instead of 1.0 s.
# Asking the nodes at each statement costs a status read per table and node.
FRESH_STATUS = "SET SESSION spider_sts_interval = 0"
# With a LIMIT in a statement, the head read a table from its nodes a few rows per round
# trip (twice the LIMIT by default): the top 4 customers by wishlists took 2,500 round
# trips per node to read the customers, then sharded (11-15 s at 200k orders, 0.4 s
# with this).
WHOLE_READS = "SET SESSION spider_semi_split_read = 0"
# A node's rows read as they come, the rest of them buffered only when the head needs the
# node's connection for another statement meanwhile (mode 2). By default (3) a result
# past 10 MB went through a temporary table on the head: every customer read from the
# nodes (then sharded), 0.24 s against 0.17 s at 200,000 customers.
STREAMED_READS = "SET SESSION spider_quick_mode = 2"


def adapt(store: MySQLRepository, cursor: Any) -> None:
    """On a Spider head: references are checked by ecom, not by foreign keys, joins
    reach the data nodes in batches (`HEAD_SESSION`), and the reports' statements are
    written for the head (`SpiderDialect`)."""
    if store.url.database and is_head(cursor):
        store.enforces_references = False  # type: ignore[misc]
        store.sharded = True
        store.dialect = SPIDER  # type: ignore[misc]
        for statement in HEAD_SESSION:
            cursor.execute(statement)
        for statement in (FRESH_STATUS, WHOLE_READS, STREAMED_READS):
            with contextlib.suppress(Exception):  # a Spider without the variable: as before
                cursor.execute(statement)


# --- DDL ------------------------------------------------------------------------------


def _definitions(e: schema.Entity) -> list[str]:
    """The column and constraint definitions of `e`'s MySQL table, comments dropped."""
    lines = table_ddl(e, "mysql").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("CREATE TABLE"))
    body = []
    for line in lines[start + 1 :]:
        if line.startswith(")"):
            break
        definition = line.strip().split(" -- ", 1)[0].rstrip().rstrip(",")
        body.append(definition)
    return body


def _foreign_key(definition: str) -> tuple[str, str] | None:
    """(field, parent) of a FOREIGN KEY definition."""
    if " FOREIGN KEY " not in definition:
        return None
    field = definition.split("FOREIGN KEY (`", 1)[1].split("`", 1)[0]
    parent = definition.split("REFERENCES `", 1)[1].split("`", 1)[0]
    return field, parent


def colocated(entity: str, field: str, parent: str) -> bool:
    """Whether a row of `entity` and the `parent` row its `field` names share a shard."""
    return (
        SHARD_KEYS.get(entity) == field and SHARD_KEYS.get(parent) == schema.entity(parent).key[0]
    )


def _create(name: str, definitions: list[str], tail: str) -> str:
    body = ",\n    ".join(definitions)
    return f"CREATE TABLE IF NOT EXISTS `{name}` (\n    {body}\n) {tail}"


TAIL = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"


def data_ddl(e: schema.Entity) -> str:
    """A sharded table on a data node: InnoDB, its foreign keys within the shard only."""
    keep = []
    for d in _definitions(e):
        fk = _foreign_key(d)
        if fk is None or colocated(e.name, *fk):
            keep.append(d)
    keep.insert(len(e.fields), f"`{SHARD}` TINYINT UNSIGNED NOT NULL DEFAULT 0")
    return _create(e.name, keep, TAIL)


def head_ddl(e: schema.Entity, servers: list[str]) -> str:
    """A sharded table on the head: Spider, partitioned by `_shard` (in its primary key,
    as partitioning requires), one partition per data node."""
    key = SHARD_KEYS[e.name]
    keep = []
    for d in _definitions(e):
        if _foreign_key(d):
            continue
        if d.startswith("PRIMARY KEY ("):
            d = d[:-1] + f", `{SHARD}`)"
        keep.append(d)
    shard = f"`{SHARD}` TINYINT UNSIGNED NOT NULL DEFAULT (CRC32(`{key}`) % {len(servers)})"
    keep.insert(len(e.fields), shard)
    partitions = ",\n    ".join(
        f"PARTITION p{i} VALUES IN ({i}) COMMENT = 'srv \"{s}\"'" for i, s in enumerate(servers)
    )
    tail = (
        f"ENGINE=SPIDER DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
        f' COMMENT = \'wrapper "mysql", table "{e.name}"\''
        f"\nPARTITION BY LIST (`{SHARD}`) (\n    {partitions}\n)"
    )
    return _create(e.name, keep, tail)


def local_ddl(e: schema.Entity) -> str:
    """A table kept on the head: InnoDB, without its foreign keys to sharded tables."""
    keep = [d for d in _definitions(e) if not ((fk := _foreign_key(d)) and fk[1] in SHARD_KEYS)]
    return _create(e.name, keep, TAIL)


# --- init-db --shards -----------------------------------------------------------------


def server_name(database: str, i: int) -> str:
    return f"ecom_{database}_shard{i}"


def init_sharded(head: MySQLRepository, shard_urls: list[str], *, drop: bool = False) -> InitResult:
    """Create (or complete) the sharded store: data tables on every data node, a Spider
    server per node and the tables on the head, then what `init_schema` adds. Idempotent;
    the number of shards of an existing store cannot change (rows would move)."""
    from ecomcli.backends.mysql import MySQLRepository

    urls = [parse_url(u) for u in shard_urls]
    if not urls or any(u.backend != "mysql" for u in urls):
        raise UsageError("--shards takes MySQL/MariaDB URLs: mysql://host:port/db,...")
    if len({(u.host, u.port, u.database) for u in urls}) != len(urls):
        raise UsageError("--shards names the same database twice")
    sharded = [schema.entity(n) for n in SHARD_KEYS]
    for i, url in enumerate(urls):
        with MySQLRepository(url) as node:
            if node._missing_db:
                node._create_database()
            for e in reversed(sharded) if drop else ():
                node.execute(f"DROP TABLE IF EXISTS `{e.name}`").close()
            for e in sharded:  # parents first: a kept foreign key needs its parent table
                node.execute(data_ddl(e)).close()
                # the node's own number: what a row written to it directly must hold
                node.execute(
                    f"ALTER TABLE `{e.name}` ALTER COLUMN `{SHARD}` SET DEFAULT {i}"
                ).close()
    if head._missing_db:
        head._create_database()
    if drop:  # init_schema drops every ecom table, then makes the one-server ones: not those
        head.init_schema(drop=True)
        for e in reversed((*schema.ENTITIES, *schema.MEDIA)):  # children first
            head.execute(f"DROP TABLE IF EXISTS `{e.name}`").close()
    stored = _stored_shards(head)
    if stored is not None and stored != len(urls) and not drop:
        raise UsageError(
            f"{head.url.masked} is sharded over {stored} data nodes, not {len(urls)}: "
            "resharding is not supported (init-db --drop --yes starts over)"
        )
    before = head.tables()
    servers = [server_name(head.url.database, i) for i in range(len(urls))]
    for name, url in zip(servers, urls, strict=True):
        options = [url.host or "localhost", url.port or 3306, url.user or "root"]
        head.execute(
            f"CREATE OR REPLACE SERVER `{name}` FOREIGN DATA WRAPPER mysql OPTIONS"
            " (HOST %s, PORT %s, USER %s, PASSWORD %s, DATABASE %s)",
            [*options, url.password or "", url.database],
        ).close()
    for e in schema.ENTITIES:  # before init_schema, whose CREATE TABLE IF NOT EXISTS skips them
        ddl = head_ddl(e, servers) if e.name in SHARD_KEYS else local_ddl(e)
        head.execute(ddl).close()
    result = head.init_schema()
    head.execute(
        "INSERT INTO ecom_meta (name, value) VALUES (%s, %s)"
        " ON DUPLICATE KEY UPDATE value = VALUES(value)",
        [META_SHARDS, str(len(urls))],
    ).close()
    head.conn.commit()
    cur = head.conn.cursor()  # this connection now serves a head (it was opened before)
    adapt(head, cur)
    cur.close()
    made = [e.name for e in schema.ENTITIES if e.name not in before]
    return InitResult(created=[*made, *result.created], version=result.version)


def _stored_shards(head: MySQLRepository) -> int | None:
    if "ecom_meta" not in head.tables():
        return None
    rows = head.query("SELECT value FROM ecom_meta WHERE name = %s", [META_SHARDS])
    return int(rows[0]["value"]) if rows else None


# --- bulk writes straight to the data nodes --------------------------------------------


def shard_of(value: Any, shards: int) -> int:
    """The shard of a shard-key value: what the head's `_shard` default computes,
    `CRC32(key) % shards` (CRC32 of the value's UTF-8 text, as zlib computes it)."""
    return zlib.crc32(str(value).encode("utf-8")) % shards


def data_nodes(head: MySQLRepository) -> list[MySQLRepository] | None:
    """Connections to the head's data nodes, in shard order, from the servers `init-db
    --shards` defined; None when they cannot be used for direct writes (the server list
    is not readable, a node is unreachable, or its tables predate the per-node `_shard`
    default): the head then writes through Spider."""
    from ecomcli.backends.mysql import MySQLRepository
    from ecomcli.errors import EcomError

    prefix = server_name(head.url.database, 0)[:-1]
    try:
        servers = head.query(
            "SELECT Server_name AS name, Host AS host, Port AS port, Username AS user,"
            " Password AS password, Db AS db FROM mysql.servers WHERE Server_name LIKE %s",
            [prefix + "%"],
        )
    except EcomError:
        return None
    servers.sort(key=lambda s: int(s["name"][len(prefix) :]))
    nodes: list[MySQLRepository] = []
    try:
        for s in servers:
            url = DbUrl("mysql", "mysql", s["db"], s["host"], int(s["port"]), s["user"],
                        s["password"] or None)  # fmt: skip
            nodes.append(MySQLRepository(url, create=False))
        usable = all(_shard_default(node) == str(i) for i, node in enumerate(nodes))
    except EcomError:
        usable = False
    if not usable:
        for node in nodes:
            node.close()
        return None
    return nodes


def _shard_default(node: MySQLRepository) -> str | None:
    rows = node.query(
        "SELECT COLUMN_DEFAULT AS d FROM information_schema.COLUMNS WHERE TABLE_SCHEMA ="
        f" DATABASE() AND TABLE_NAME = 'orders' AND COLUMN_NAME = '{SHARD}'"
    )
    return str(rows[0]["d"]).strip("'") if rows else None


def write_sharded(
    nodes: list[MySQLRepository],
    entity: str,
    rows: list[dict[str, Any]],
    mode: Mode,
    fields: Sequence[str],
) -> WriteResult:
    """A batch of a sharded entity written by each data node itself, its rows split by
    their shard key: each node loads its part in bulk (as one server does), where the head
    would check every row's key with a round trip. The nodes load at the same time, one
    thread each (the driver lets other threads run while it waits for a server). Each node
    commits its own part, so a batch that fails on one node may be written on another:
    re-running the import puts what is missing (imports are idempotent)."""
    key = SHARD_KEYS[entity]
    parts = split(range(len(rows)), len(nodes), lambda i: rows[i][key])

    def write(node: MySQLRepository, part: list[int]) -> WriteResult:
        return node.write_batch(entity, [rows[i] for i in part], mode, fields)

    total = WriteResult()
    for part, done in on_each(nodes, parts, write):
        total.add(WriteResult(done.inserted, done.updated, done.unchanged, done.ignored))
        total.rejected.extend((part[i], why) for i, why in done.rejected)
    total.rejected.sort()
    return total


def insert_added(head: MySQLRepository, nodes: list[MySQLRepository], insert: Insert) -> None:
    """A summary rebuild's `insert` whose select each data node runs on its own rows
    (`Insert.adds`), the nodes at the same time (`_gather`, into a table of the summary's
    columns without its key); the head adds up the rows of one key as it inserts them.
    Through the head, the select would fetch every row it reads from the nodes to group
    them itself. The nodes read what is committed, as the head's own READ COMMITTED read
    would."""
    columns = [c.strip() for c in insert.columns.strip("()").split(",")]
    keys = ", ".join(columns[: -insert.adds])
    sums = ", ".join(f"SUM({c})" for c in columns[-insert.adds :])
    table = "ecom_node_rows_added"
    shape = f"SELECT {', '.join(columns)} FROM {insert.table}"
    _gather(head, nodes, table, insert.select, insert.binds, shape)
    # grouped by sorting (`big_result`): the nodes' pair counts at 1M orders, 2.4M rows,
    # took four times as long through the temporary table MariaDB otherwise groups in
    head.execute(
        f"INSERT INTO {insert.table} {insert.columns} SELECT {head.dialect.big_result()}"
        f"{keys}, {sums} FROM {table} GROUP BY {keys}"
    ).close()
    head.execute(f"DROP TEMPORARY TABLE {table}").close()


def gathered(
    head: MySQLRepository, nodes: list[MySQLRepository], sql: str, binds: Sequence[Any]
) -> tuple[str, list[Any]]:
    """`sql` and its binds, each part marked by `SpiderDialect.node_rows` replaced by a
    head temporary table of the rows every data node returns for it (`_gather`). The
    nodes read what is committed: for a statement outside a transaction of the caller's,
    or in a summary rebuild's own (as `insert_added`)."""
    start, end = NODE_ROWS
    parts: list[str] = []
    kept: list[Any] = []
    rest = list(binds)
    at = 0
    while (opened := sql.find(start, at)) >= 0:
        named = sql.index("*/", opened)
        closed = sql.index(end, named)
        before, select = sql[at:opened], sql[named + 2 : closed]
        for copied in sql[opened + len(start) : named].split():
            _copy_to_nodes(head, nodes, copied)
        # the placeholders before the part are the statement's, those inside the part's
        taken = before.count("%s")
        own = select.count("%s")
        kept += rest[:taken]
        table = f"ecom_node_rows_{len(parts) // 2}"
        _gather(head, nodes, table, select, rest[taken : taken + own])
        rest = rest[taken + own :]
        parts += [before, f"SELECT * FROM {table}"]
        at = closed + len(end)
    return "".join([*parts, sql[at:]]), kept + rest


def _copy_to_nodes(head: MySQLRepository, nodes: list[MySQLRepository], table: str) -> None:
    """A temporary copy of the head's `table` (a small one: the prices of the products)
    on each data node, for a `node_rows` select that joins it."""
    (row,) = head.query(f"SHOW CREATE TABLE {table}")
    ddl = row["Create Table"].replace("CREATE TABLE", "CREATE TEMPORARY TABLE", 1)
    cur = head.execute(f"SELECT * FROM {table}")
    try:
        values = ", ".join([head.placeholder] * len(cur.description))
        rows = cur.fetchall()
    finally:
        cur.close()
    for node in nodes:
        node.execute(f"DROP TEMPORARY TABLE IF EXISTS {table}").close()
        node.execute(ddl).close()
        for i in range(0, len(rows), ROWS_PER_INSERT):
            part = rows[i : i + ROWS_PER_INSERT]
            node.executemany(f"INSERT INTO {table} VALUES ({values})", part)


def _gather(
    head: MySQLRepository,
    nodes: list[MySQLRepository],
    table: str,
    select: str,
    binds: Sequence[Any],
    shape: str | None = None,
) -> None:
    """A head temporary `table` holding every node's rows of `select`: the nodes run it
    at the same time, each writing its rows to a file as they come (a few thousand held
    at once), which the head then loads (`load_rows`). The table's columns are those of
    `shape`, a head SELECT without binds (by default `select`'s own, as the head types
    them)."""
    head.execute(f"DROP TEMPORARY TABLE IF EXISTS {table}").close()
    # LIMIT 0: the head reads no row
    shaped = (shape, ()) if shape else (f"SELECT * FROM ({select}) x", binds)
    head.execute(f"CREATE TEMPORARY TABLE {table} AS {shaped[0]} LIMIT 0", shaped[1]).close()
    cur = head.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cur.description]
    cur.fetchall()
    cur.close()
    with tempfile.TemporaryDirectory(prefix="ecom-") as tmp:

        def read(node: MySQLRepository, path: str) -> None:
            with open(path, "wb") as fh:
                for chunk in node.tsv_chunks(select, binds, ROWS_PER_INSERT):
                    fh.write(chunk)

        paths = [os.path.join(tmp, f"{i}.tsv") for i in range(len(nodes))]
        if head.local_infile:
            with ThreadPoolExecutor(len(nodes), thread_name_prefix="ecom-shard") as pool:
                for done in [pool.submit(read, n, p) for n, p in zip(nodes, paths, strict=True)]:
                    done.result()
            # a server refusing LOCAL refuses the first file: then nothing is loaded yet
            if all(head.load_rows(table, names, path) for path in paths):
                return
    values = ", ".join([head.placeholder] * len(names))
    for node in nodes:  # without LOAD DATA LOCAL: multi-row INSERTs, a node at a time
        cur = node.execute(select, binds)
        try:
            while rows := cur.fetchmany(ROWS_PER_INSERT):
                head.executemany(f"INSERT INTO {table} VALUES ({values})", rows)
        finally:
            cur.close()


def split(values: Iterable[T], shards: int, shard_key: Callable[[T], Any]) -> list[list[T]]:
    """`values` in `shards` lists, by the shard of each one's shard key (`shard_of`)."""
    parts: list[list[T]] = [[] for _ in range(shards)]
    for value in values:
        parts[shard_of(shard_key(value), shards)].append(value)
    return parts


def on_each(
    nodes: list[MySQLRepository],
    parts: list[list[T]],
    work: Callable[[MySQLRepository, list[T]], R],
) -> list[tuple[list[T], R]]:
    """`(part, work(node, part))` for each node with a non-empty part, in node order, the
    nodes working at the same time (one thread each; a node's connection is used by its
    thread only). A node's error is raised once every node has finished."""
    busy = [(node, part) for node, part in zip(nodes, parts, strict=True) if part]
    if len(busy) <= 1:
        return [(part, work(node, part)) for node, part in busy]
    with ThreadPoolExecutor(max_workers=len(busy), thread_name_prefix="ecom-shard") as pool:
        futures = [(part, pool.submit(work, node, part)) for node, part in busy]
        return [(part, f.result()) for part, f in futures]


# --- status ---------------------------------------------------------------------------


def shard_status(head: MySQLRepository) -> list[dict[str, Any]]:
    """Each data node (host:port/database) and its rows per sharded entity."""
    servers = head.query(
        "SELECT Server_name AS name, Host AS host, Port AS port, Db AS db FROM mysql.servers"
        " WHERE Server_name LIKE %s ORDER BY Server_name",
        [server_name(head.url.database, 0)[:-1] + "%"],
    )
    shards = [
        {"shard": i, "server": f"{s['host']}:{s['port']}/{s['db']}", "rows": {}}
        for i, s in enumerate(servers)
    ]
    for entity in SHARD_KEYS:
        for row in head.query(f"SELECT `{SHARD}` AS s, COUNT(*) AS n FROM `{entity}` GROUP BY 1"):
            if row["s"] < len(shards):
                shards[row["s"]]["rows"][entity] = row["n"]
    for s in shards:
        s["rows"] = {e: s["rows"].get(e, 0) for e in SHARD_KEYS}
    return shards
