"""Pausing Python's cyclic garbage collector around work that builds many small objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile: an import batch or a report result holds
    tens of thousands of row tuples or dicts, which every collection would walk again (up
    to 25% of an import's time), and rows form no reference cycles for it to reclaim."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
