"""The stored neighbour tables and their freshness.

`fresh(store)` returns the backend's tables (`ecomcli.backends.recs_*`), rebuilding them
first when the order lines changed since the last build. Two rules:
- the database computes a signature of the order lines (their number, the first and the
  last order id) and the tables remember the one they were built from: any write that
  adds or removes lines (an import, `orders place`, a delete) changes it, whichever
  program made it;
- an ecom write that changes or deletes stored lines, or moves an order to another
  customer, forgets what was built (the write path's marks): `built_from()` is then None.
Only another program changing a line in place goes unseen: `ecom recommend --refresh`.

What was built is a key read, checked on every call; counting the lines reads a whole
index (0.1-0.4 s on 450,000 lines), so one open store compares signatures at most every
CHECK_EVERY seconds: every `ecom` command does, and a program that keeps its store open
sees others' new orders within that delay.
"""

from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING, Any

from ecomcli.recommend.model import RECENT_DAYS
from ecomcli.repository import Repository

if TYPE_CHECKING:
    from ecomcli.recommend.als import Factors

TOP_N = 50  # neighbours kept per product
CHECK_EVERY = 5.0  # seconds between two checks of one open store

_checked: weakref.WeakKeyDictionary[Repository, float] = weakref.WeakKeyDictionary()
# The factors an open store last loaded, with the signature they were fitted on.
_loaded: weakref.WeakKeyDictionary[Repository, tuple[str, Factors]] = weakref.WeakKeyDictionary()


def fresh(store: Repository, *, refresh: bool = False) -> Any:
    tables = store.neighbour_tables()
    built = tables.built_from()
    now = time.monotonic()
    recently = now - _checked.get(store, -CHECK_EVERY) < CHECK_EVERY
    if not refresh and built is not None and recently:
        return tables
    signature = tables.signature()
    if refresh or built != signature:
        tables.build(TOP_N, signature, RECENT_DAYS)
    _checked[store] = time.monotonic()
    return tables


def factors(store: Repository, tables: Any, *, refresh: bool = False) -> Factors:
    """The ALS item factors, fitted again (and stored) when the order lines changed since
    the stored ones were fitted, or with `refresh`. Call after `fresh`."""
    import numpy as np

    from ecomcli.recommend import als

    signature = tables.built_from()  # `fresh` just checked the lines against it
    held = _loaded.get(store)
    if not refresh and held is not None and held[0] == signature:
        return held[1]
    if refresh or tables.built_from("als") != signature:
        fitted = als.fit(tables.customer_products())
        tables.save_factors(fitted.ids, [v.tobytes() for v in fitted.matrix], signature)
    else:
        rows = tables.factors()
        fitted = als.Factors([p for p, _ in rows], np.frombuffer(
            b"".join(v for _, v in rows), dtype=np.float32).reshape(len(rows), -1))
    _loaded[store] = (signature, fitted)
    return fitted
