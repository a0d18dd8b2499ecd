"""Galera (MariaDB's synchronous multi-primary replication): what ecom adapts.

Nothing in ecom's SQL changes on a Galera node. Two things differ from one server:

- A transaction that conflicts with one committed on another node fails its certification
  at COMMIT with a deadlock error (1213): the MySQL backend already maps it to
  `TransientError`, which `Repository.atomic` and the importer retry.
- A transaction's write set must fit `wsrep_max_ws_size`: `batch_size` keeps an import's
  batches (one transaction each) well under it.
"""

from __future__ import annotations

from typing import Any

# bytes a row may take in a write set, with its keys and the summary marks it adds (a
# generous bound: ecom's widest rows are under 1 KB)
WRITESET_BYTES_PER_ROW = 2048
MIN_BATCH = 100


def batch_size(cursor: Any, default: int) -> int:
    """The rows per import batch on this server: `default`, or fewer on a Galera node whose
    `wsrep_max_ws_size` a batch of `default` rows could exceed."""
    cursor.execute("SELECT @@wsrep_on, @@wsrep_max_ws_size")
    row = cursor.fetchone()
    if not row or not row[0]:
        return default
    fits = int(row[1]) // WRITESET_BYTES_PER_ROW
    return max(MIN_BATCH, min(default, fits))
