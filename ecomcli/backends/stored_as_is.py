"""MySQL: a batch the table already holds exactly as it is, found by one read of its keys' range.

A re-import of an export that did not change (a nightly full export, most of its rows as
they were) sent each batch through the stage: loaded into a temporary table, then joined to
the table to compare them. When the batch's rows are the only rows of their key range (an
export written in key order, as most are), one read of that range tells instead: the
server writes each stored row of the range as the batch's LOAD DATA line (`tsv`: the same
escapes, `\\N` for NULL, numbers and moments as it prints them) and sums 64 bits of each
line's MD5; summing the batch's own lines the same way gives the same total when the range
holds the batch's rows as they are (barring a collision of 64-bit digests). A new row, a
changed value, a stored row the batch lacks or a value written otherwise than the server
prints it gives another count or total, and the batch takes the staged path, which decides
row by row. One read of the table, instead of a load into the stage and a join.

SQLite has no digest function; it writes the range's rows instead as the JSON array its
batch is sent as (`json_range_read`: each row a `json_array`, in key order), and the
importer compares that text with the batch's own JSON array in key order: equal texts
are equal rows (no digest to collide), and anything else takes the upsert, which decides
row by row.

On both, a key of several columns whose first one groups rows (a cart's lines: a batch
ends inside one cart, and within a cart the products are in no order) is read in three
parts: the rows strictly inside the batch's first and last value of that column, and at
each of these two values only the rows of the batch's keys (`inside`, `at_edge`,
`at_edge_values`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from ecomcli.schema import Entity, Field

TEXT_TYPES = frozenset({"key", "string", "text", "enum"})
EDGE_ROWS = 2000  # MySQL: the most keys a batch's edges are read by, in the statements' text
BACKSLASH = "CHAR(92 USING utf8mb4)"
# (character code, what LOAD DATA's text has instead): as `_escape_tsv`, backslash first
ESCAPES = ((92, f"CONCAT({BACKSLASH}, {BACKSLASH})"), (9, f"CONCAT({BACKSLASH}, 't')"),
           (10, f"CONCAT({BACKSLASH}, 'n')"), (13, f"CONCAT({BACKSLASH}, 'r')"))


def _as_text(f: Field, column: str) -> str:
    """`column` as the text a LOAD DATA line holds for it (with CHAR() rather than quoted
    backslashes, which `NO_BACKSLASH_ESCAPES` would read otherwise)."""
    if f.type in TEXT_TYPES:
        for code, escaped in ESCAPES:
            column = f"REPLACE({column}, CHAR({code} USING utf8mb4), {escaped})"
    return f"IFNULL({column}, CONCAT({BACKSLASH}, 'N'))"


def range_read(e: Entity, q: Callable[[str], str], where: str | None = None) -> str:
    """The statement giving the count and the digests' sum of the rows of `e` in a key
    range (binds: `bounds_binds`, then the most rows to read; `where`: another condition
    of the rows, its binds instead), for an entity `readable` says it reads."""
    line = ", ".join(_as_text(f, q(f.name)) for f in e.fields)
    digest = f"CAST(CONV(LEFT(MD5(CONCAT_WS(CHAR(9 USING utf8mb4), {line})), 16), 16, 10)" \
        " AS UNSIGNED)"
    # LIMIT: a range that holds more rows than the batch is read no further than that
    return (f"SELECT COUNT(*), SUM(d) FROM (SELECT {digest} AS d FROM {q(e.name)}"
            f" WHERE {where or key_range(e, q, '%s')} LIMIT %s) x")


def readable(e: Entity) -> bool:
    """Whether every column of `e` is text a line holds as the server prints it (not
    bytes) and JSON can hold (SQLite's `json_range_read`)."""
    return not any(f.type == "bytes" for f in e.fields)


def range_reads(e: Entity, q: Callable[[str], str], keys: Sequence[Sequence[Any]], n: int
                ) -> list[tuple[str, list[Any]]] | None:
    """MySQL: the statements (and binds) giving the count and the digests' sum of the
    stored rows of the batch of `n` rows whose key columns are `keys`: its key range, or,
    when the batch begins and ends inside groups of the key's first column that other
    batches share (a cart's lines, in no order of product), the rows strictly between
    those two values and, at each, the rows of the batch's keys only (the first statement:
    the range, or its inside). None for an entity not `readable`."""
    if not readable(e):
        return None
    whole = range_read(e, q)
    rows = list(zip(*keys, strict=True))
    low, high = min(rows), max(rows)
    ends = edges(rows, low, high)
    if ends is None or sum(map(len, ends)) > EDGE_ROWS:
        return [(whole, [*bounds_binds(e, low, high), n + 1])]
    reads = [(range_read(e, q, inside(e, q, "%s")), [low[0], high[0], n + 1])]
    for end, rest in zip((low[0], high[0]), ends, strict=True):
        reads.append((range_read(e, q, at_edge_values(e, q, len(rest))),
                      [end, *(v for r in rest for v in r), n + 1]))
    return reads


def edges(keys: Sequence[Sequence[Any]], low: Sequence[Any], high: Sequence[Any]
          ) -> tuple[list[list[Any]], list[list[Any]]] | None:
    """For a batch whose keys are `keys`, from `low` to `high`, with a key of several
    columns and another first column at its two ends: the other key columns of its rows
    at each end (a group other batches may share: a cart's lines), read apart from the
    inside (`inside`, `at_edge`, `at_edge_values`); else None."""
    if len(low) < 2 or low[0] == high[0]:
        return None
    first, last = ([list(k[1:]) for k in keys if k[0] == end] for end in (low[0], high[0]))
    return first, last


def json_range_read(e: Entity, q: Callable[[str], str], where: str | None = None
                    ) -> str | None:
    """SQLite: the statement giving the count and the JSON texts, in key order and joined
    by commas (a JSON array's items), of the rows of `e` in a key range (binds:
    `bounds_binds`, then the most rows to read); `where`: another condition of `e`'s rows
    (`inside`, `at_edge`), its binds instead of the range's. None for an entity not
    `readable`."""
    if not readable(e):
        return None
    values = ", ".join(q(f.name) for f in e.fields)
    keys = ", ".join(q(k) for k in e.key)
    return (f"SELECT count(*), group_concat(j, ',') FROM (SELECT json_array({values}) AS j"
            f" FROM {q(e.name)} WHERE {where or key_range(e, q, '?')} ORDER BY {keys}"
            f" LIMIT ?)")


def inside(e: Entity, q: Callable[[str], str], mark: str = "?") -> str:
    """The rows whose first key column lies strictly between two values."""
    first = q(e.key[0])
    return f"{first} > {mark} AND {first} < {mark}"


def at_edge(e: Entity, q: Callable[[str], str]) -> str:
    """The rows whose first key column is one value and whose other key columns are one
    of a JSON array's rows (binds: the value, the array)."""
    rest = ", ".join(q(k) for k in e.key[1:])
    picks = ", ".join(f"value ->> {i}" for i in range(len(e.key) - 1))
    return f"{q(e.key[0])} = ? AND ({rest}) IN (SELECT {picks} FROM json_each(?))"


def key_range(e: Entity, q: Callable[[str], str], mark: str) -> str:
    """The condition of a range of `e`'s keys, from a lowest to a highest key."""
    first = q(e.key[0])
    where = f"{first} >= {mark} AND {first} <= {mark}"
    if len(e.key) > 1:  # the first column bounds the index range; the row compares all
        keys = ", ".join(q(k) for k in e.key)
        marks = ", ".join([mark] * len(e.key))
        where += f" AND ({keys}) >= ({marks}) AND ({keys}) <= ({marks})"
    return where


def at_edge_values(e: Entity, q: Callable[[str], str], count: int) -> str:
    """MySQL: the rows whose first key column is one value and whose other key columns
    are one of `count` rows of values (binds: the value, then each row's values)."""
    rest = ", ".join(q(k) for k in e.key[1:])
    row = "(" + ", ".join(["%s"] * (len(e.key) - 1)) + ")"
    return f"{q(e.key[0])} = %s AND ({rest}) IN ({', '.join([row] * count)})"


def bounds_binds(e: Entity, low: Sequence[Any], high: Sequence[Any]) -> list[Any]:
    """The binds of a key range from the key `low` to the key `high`."""
    if len(e.key) == 1:
        return [low[0], high[0]]
    return [low[0], high[0], *low, *high]


def line_sum(text: bytes | str) -> int:
    """The sum `range_read` gives for the rows of a LOAD DATA file `text` (each line's
    `_i` left out: the server has no such column)."""
    data = text.encode() if isinstance(text, str) else text
    md5, take = hashlib.md5, int.from_bytes
    return sum(take(md5(line.partition(b"\t")[2]).digest()[:8], "big")
               for line in data.split(b"\n")[:-1])
