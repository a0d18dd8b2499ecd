"""The keys an import kept from the earlier batches of one file, in bounded memory.

A key given twice in one batch is written once (same values) or rejected naming both
lines (different values). `SeenKeys` makes the same true across batches, so that the
outcome of an import does not depend on `--batch-size` or on the backend's batch size:
it keeps, per key, a 64-bit hash of the key, the line that gave it and a 64-bit hash of
its row (24 bytes a key, in sorted numpy arrays: 24 MB for a million keys), never the
rows themselves. A later row whose key hash is known is

- a repeat when its row hash matches too (both hashes collide by chance with odds of
  about 2^-64 per pair): counted unchanged, not written again;
- otherwise a candidate conflict: the importer reads the earlier line again to compare
  the real keys (a key hash collision is then no duplicate) and to name the first field
  that differs, exactly as within a batch.

A plain CSV whose columns feed one entity hashes its fields as read instead of its
validated row: a third of the cost, and a repeat written differently ("1.0" for "1.00")
is still found equal when its earlier line is read again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def key_hash(key: tuple[Any, ...]) -> int:
    return hash(key)


def row_hash(row: dict[str, Any] | list[str]) -> int:
    """Of a validated row, or of a record's fields as read."""
    return hash(tuple(row.values() if isinstance(row, dict) else row))


class SeenKeys:
    def __init__(self) -> None:
        self.keys = np.empty(0, np.int64)  # sorted
        self.lines = np.empty(0, np.int64)
        self.rows = np.empty(0, np.int64)

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, key_hashes: Sequence[int]) -> list[tuple[int, int, int]]:
        """(index into `key_hashes`, earlier line, earlier row hash) for each known hash."""
        if not len(self.keys) or not len(key_hashes):
            return []
        wanted = np.fromiter(key_hashes, np.int64, len(key_hashes))
        at = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
        (hits,) = np.nonzero(self.keys[at] == wanted)
        return [(int(i), int(self.lines[at[i]]), int(self.rows[at[i]])) for i in hits]

    @staticmethod
    def hashed(kept: list[tuple[tuple[Any, ...], int, dict[str, Any] | list[str]]]
               ) -> tuple[list[int], list[int], list[int]]:
        """(key hashes, lines, row hashes) of a batch's (key, line, row or fields) kept
        rows."""
        return ([key_hash(k) for k, _, _ in kept], [line for _, line, _ in kept],
                [row_hash(row) for _, _, row in kept])

    def add(self, key_hashes: Sequence[int], lines: Sequence[int],
            row_hashes: Sequence[int]) -> None:
        """Merge one batch's kept keys in: a sort of the batch and one linear insert."""
        n = len(key_hashes)
        if not n:
            return
        keys = np.fromiter(key_hashes, np.int64, n)
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        where = np.searchsorted(self.keys, keys)
        self.keys = np.insert(self.keys, where, keys)
        self.lines = np.insert(self.lines, where, np.fromiter(lines, np.int64, n)[order])
        self.rows = np.insert(self.rows, where, np.fromiter(row_hashes, np.int64, n)[order])
