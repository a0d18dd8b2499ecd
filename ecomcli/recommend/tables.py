"""The stored neighbour tables and their freshness.

`fresh(store)` returns the backend's tables (`ecomcli.backends.recs_*`), rebuilding them
first when the order lines changed since the last build. The rule: the database computes a
signature of the order lines (their number, the first and the last order id) and the
tables remember the signature they were built from; any write that adds or removes order
lines (an import, `orders create`, a delete with --cascade) changes it, whichever program
made it. A write that changes a line in place (its product, by `--mode merge`) keeps the
number and the ids: `ecom recommend --refresh` rebuilds then.

Counting the lines reads a whole index (0.1-0.4 s on 450,000 lines), so one open store
checks at most every CHECK_EVERY seconds: every `ecom` command checks, and a program that
keeps its store open sees others' orders within that delay.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from ecomcli.repository import Repository

TOP_N = 50  # neighbours kept per product
CHECK_EVERY = 5.0  # seconds between two checks of one open store

_checked: weakref.WeakKeyDictionary[Repository, float] = weakref.WeakKeyDictionary()


def fresh(store: Repository, *, refresh: bool = False) -> Any:
    tables = store.neighbour_tables()
    now = time.monotonic()
    if not refresh and now - _checked.get(store, -CHECK_EVERY) < CHECK_EVERY:
        return tables
    signature = tables.signature()
    if refresh or tables.built_from() != signature:
        tables.build(TOP_N, signature)
    _checked[store] = time.monotonic()
    return tables
