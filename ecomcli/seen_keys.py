"""The keys an import kept from the earlier batches of one file, in bounded memory.

A key given twice in one batch is written once (same values) or rejected naming both
lines (different values). `SeenKeys` makes the same true across batches, so that the
outcome of an import does not depend on `--batch-size` or on the backend's batch size:
it keeps, per key, a 64-bit hash of the key, the line that gave it and a 64-bit hash of
its row (20 bytes a key, in sorted numpy arrays: 20 MB for a million keys), never the
rows themselves. A later row whose key hash is known is

- a repeat when its row hash matches too (both hashes collide by chance with odds of
  about 2^-64 per pair): counted unchanged, not written again;
- otherwise a candidate conflict: the importer reads the earlier line again to compare
  the real keys (a key hash collision is then no duplicate) and to name the first field
  that differs, exactly as within a batch.

A plain CSV whose columns feed one entity hashes its fields as read instead of its
validated row: a third of the cost, and a repeat written differently ("1.0" for "1.00")
is still found equal when its earlier line is read again.

The keys of a batch are merged into the sorted arrays when a key is next looked for: a
file in key order has nothing to look for (the importer knows, `Importer.fresh_keys`),
so its keys are only kept.
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


# Keys go to one of BUCKETS sorted arrays by the top bits of their hash: merging a batch in
# copies each bucket once, so the copy held during a merge is a bucket, not every key.
BUCKETS = 16
SHIFT = 64 - (BUCKETS.bit_length() - 1)
# lines fit in 4 bytes until a file passes 4,294,967,295 lines; then they take 8
LINE = np.uint32


class SeenKeys:
    def __init__(self) -> None:
        self.line_type: type = LINE
        self.keys = [np.empty(0, np.int64) for _ in range(BUCKETS)]  # each sorted
        self.lines = [np.empty(0, self.line_type) for _ in range(BUCKETS)]
        self.rows = [np.empty(0, np.int64) for _ in range(BUCKETS)]
        self.count = 0
        # batches added and not merged into the sorted arrays yet: a file in key order
        # never needs them merged (the importer then asks for no key)
        self.later: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return self.count

    def find(self, key_hashes: Sequence[int]) -> list[tuple[int, int, int]]:
        """(index into `key_hashes`, earlier line, earlier row hash) for each known hash."""
        if not self.count or not len(key_hashes):
            return []
        while self.later:
            self._merge(*self.later.pop(0))
        wanted = np.asarray(key_hashes, np.int64)
        found = []
        for b, at in _by_bucket(wanted):
            keys = self.keys[b]
            if not len(keys):
                continue
            where = np.minimum(np.searchsorted(keys, wanted[at]), len(keys) - 1)
            hits = np.nonzero(keys[where] == wanted[at])[0]
            found += [(int(at[i]), int(self.lines[b][where[i]]), int(self.rows[b][where[i]]))
                      for i in hits]
        return sorted(found)

    @staticmethod
    def hashed(kept: list[tuple[tuple[Any, ...], int, dict[str, Any] | list[str]]]
               ) -> tuple[list[int], list[int], list[int]]:
        """(key hashes, lines, row hashes) of a batch's (key, line, row or fields) kept
        rows."""
        return ([key_hash(k) for k, _, _ in kept], [line for _, line, _ in kept],
                [row_hash(row) for _, _, row in kept])

    def add(self, key_hashes: Sequence[int], lines: Sequence[int],
            row_hashes: Sequence[int]) -> None:
        """Keep one batch's kept keys, merged in when a key is next looked for."""
        n = len(key_hashes)
        if not n:
            return
        at_lines = np.asarray(lines, np.int64)
        if self.line_type is LINE and at_lines.max() > np.iinfo(LINE).max:
            self.line_type = np.int64
            self.lines = [part.astype(np.int64) for part in self.lines]
        self.later.append((np.asarray(key_hashes, np.int64), at_lines.astype(self.line_type),
                           np.asarray(row_hashes, np.int64)))
        self.count += n

    def _merge(self, keys: np.ndarray, at_lines: np.ndarray, rows: np.ndarray) -> None:
        """Merge one batch's keys in: a sort of the batch and one linear insert into each
        bucket."""
        for b, at in _by_bucket(keys):
            where = np.searchsorted(self.keys[b], keys[at])
            self.keys[b] = np.insert(self.keys[b], where, keys[at])
            self.lines[b] = np.insert(self.lines[b], where, at_lines[at].astype(self.line_type))
            self.rows[b] = np.insert(self.rows[b], where, rows[at])


def _by_bucket(hashes: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(bucket, indexes into `hashes` of the hashes in it, in the order of their hashes)
    for each bucket holding some: one sort of the hashes as unsigned numbers, in which
    each bucket's (the same top bits) are next to one another."""
    order = np.argsort(hashes.view(np.uint64))
    tops = hashes.view(np.uint64)[order] >> np.uint64(SHIFT)
    bounds = np.searchsorted(tops, np.arange(BUCKETS + 1, dtype=np.uint64))
    return [(b, order[bounds[b]:bounds[b + 1]]) for b in range(BUCKETS)
            if bounds[b] < bounds[b + 1]]
