"""The stored neighbour tables and their freshness.

`fresh(store)` returns the backend's tables (`ecomcli.backends.recs_*`), rebuilding them
first when the order lines changed since the last build. The rule: the database computes a
signature of the order lines (their number, the first and the last order id) and the
tables remember the signature they were built from; any write that adds or removes order
lines (an import, `orders create`, a delete with --cascade) changes it, whichever program
made it. A write that changes a line in place (its product, by `--mode merge`) keeps the
number and the ids: `ecom recommend --refresh` rebuilds then.
"""

from __future__ import annotations

from typing import Any

from ecomcli.repository import Repository

TOP_N = 50  # neighbours kept per product


def fresh(store: Repository, *, refresh: bool = False) -> Any:
    tables = store.neighbour_tables()
    signature = tables.signature()
    if refresh or tables.built_from() != signature:
        tables.build(TOP_N, signature)
    return tables
