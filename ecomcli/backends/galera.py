"""Galera (MariaDB's synchronous multi-primary replication): what ecom adapts.

Nothing in ecom's SQL changes on a Galera node. What differs from one server:

- A transaction that conflicts with one committed on another node fails its certification
  at COMMIT with a deadlock error (1213): the MySQL backend already maps it to
  `TransientError`, which `Repository.atomic` and the importer retry.
- A transaction's write set must fit `wsrep_max_ws_size`: `batch_size` keeps an import's
  batches (one transaction each) well under it.
- A node applies the other nodes' transactions after they commit there, so a read through
  it could miss a write another node has just committed (a product imported through one
  node, then not found by an order placed through another). `CAUSAL_READS` makes each of
  ecom's sessions on a node wait, before a read or a transaction's start, until the node
  has applied every transaction committed in the cluster so far.
"""

from __future__ import annotations

from typing import Any

# bytes a row may take in a write set, with its keys and the summary marks it adds (a
# generous bound: ecom's widest rows are under 1 KB)
WRITESET_BYTES_PER_ROW = 2048
MIN_BATCH = 100
# bit 1 of `wsrep_sync_wait` (causality checks before SELECT, SHOW and START TRANSACTION),
# added to what the server's configuration already asks
CAUSAL_READS = "SET SESSION wsrep_sync_wait = @@wsrep_sync_wait | 1"


def settings(cursor: Any) -> tuple[bool, int]:
    """Whether this server is a Galera node (`wsrep_on`), and its `wsrep_max_ws_size`.
    SHOW VARIABLES, not `SELECT @@wsrep_on`: MySQL has no such variable, and says so by
    an error to the SELECT, by no row to SHOW."""
    cursor.execute("SHOW VARIABLES WHERE Variable_name IN ('wsrep_on', 'wsrep_max_ws_size')")
    found = {str(name).lower(): str(value) for name, value in cursor.fetchall()}
    return found.get("wsrep_on", "OFF").upper() == "ON", int(found.get("wsrep_max_ws_size", 0))


def batch_size(on: bool, max_ws_size: int, default: int) -> int:
    """The rows per import batch on this server: `default`, or fewer on a Galera node whose
    `wsrep_max_ws_size` a batch of `default` rows could exceed."""
    if not on:
        return default
    fits = max_ws_size // WRITESET_BYTES_PER_ROW
    return max(MIN_BATCH, min(default, fits))
