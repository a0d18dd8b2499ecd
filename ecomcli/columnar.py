"""The columnar lane of `ecom import`: a plain CSV parsed and validated by pyarrow's C
kernels a batch at a time, instead of a Python call per row.

The per-row validator stays the specification. A vectorised check says "sure" only of a
value that the validator accepts and converts to the same value (digits for an int,
`123.45` for money, an enum's name in ASCII...); a row with any value it is unsure of
goes through the validator itself, so every reject message, default and conversion is
the validator's. Rows are handed on as columns; a row becomes a dict only where a rarer
path asks for one (`ColumnRows`), and then through the validator too.

The lane is taken only where its line numbers are exact and its checks cover every
field (`usable`): a CSV/TSV in UTF-8 without quote characters or blank lines (so that
record N is on line N + 1), whose columns map onto one entity of key, string, int,
money, decimal, enum, date and moment fields (e-mail and digit checks included),
imported by a store that prepares columns (`Repository.prepare_columns`: SQLite, MySQL), when
pyarrow is installed (the `fast` extra).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from functools import cache
from typing import Any

import numpy as np

from ecomcli import heap
from ecomcli.errors import EcomError
from ecomcli.schema import TEXT_BYTES, Entity, Field
from ecomcli.validation import ROW_RULES

TYPES = ("key", "string", "text", "int", "money", "decimal", "enum", "date", "datetime")
CHECKS = (None, "email", "digits")
# every character Python's str.isspace() accepts: a value made of them is blank
SPACES = (
    "\\t\\n\\x{0b}\\x{0c}\\r\\x{1c}-\\x{1f} \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}"
    "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
)
BLANK = f"^[{SPACES}]*$"
# the same characters, and the first bytes of their UTF-8: a value that begins with none
# of these bytes is not blank (`_blank`)
SPACE_CHARACTERS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
SPACE_LEADS = np.zeros(256, dtype=bool)
SPACE_LEADS[[c.encode()[0] for c in SPACE_CHARACTERS]] = True
INT = "^-?[0-9]{1,18}$"  # what Arrow casts: no "+", which the validator takes
YEAR = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"  # Python's: 1 to 9999
DATE = f"^{YEAR}-[0-9]{{2}}-[0-9]{{2}}$"
DATETIME = f"^{YEAR}-[0-9]{{2}}-[0-9]{{2}}[ T][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}$"
# the validator's EMAIL for printable ASCII, where Python's \s and RE2's agree (a space)
EMAIL = "^[^@\\s]+@[^@\\s]+\\.[^@\\s.]+$"
# bytes pyarrow parses at a time: its reader reads blocks ahead in the background, and 1 MB
# blocks put the peak of a 4M-line import ~25 MB higher for no speed
READ_BLOCK = 256 << 10
HASH_ROWS = 8192  # rows hashed at a time (`ColumnRows`)
# pyarrow's blocks must hold the longest line: a file with longer ones takes the other lane
LONGEST_LINE = 16 << 20


@cache
def available() -> bool:
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


def usable(entity: Entity, positions: dict[str, int], encoding: str, plain: bool,
           date_format: str | None) -> bool:
    """Whether a file with these columns (field -> index) can take the columnar lane
    (`date_format`: the import's --date-format, which only the validator reads)."""
    if not plain or entity.name in ROW_RULES:
        return False
    if any(f.ref == entity.name for f in entity.fields):  # rows written parents first
        return False
    if any(f.unique for f in entity.fields):  # stores write these a row at a time
        return False
    if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig"):
        return False
    fields = [entity.field(name) for name in positions]
    if date_format is not None and any(f.type in ("date", "datetime") for f in fields):
        return False
    return all(f.type in TYPES and f.check in CHECKS for f in fields) and available()


# --- reading ------------------------------------------------------------------------------


class Ragged:
    """The records pyarrow skipped for having the wrong number of fields."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str]] = []  # (line, text), in file order

    def __call__(self, row: Any) -> str:
        self.rows.append((row.number, row.text))
        return "skip"

    def take(self, n: int) -> list[tuple[int, str]]:
        """The first `n` records, no longer held."""
        taken, self.rows = self.rows[:n], self.rows[n:]
        return taken


def read_batches(
    path: str, name: str, gz: bool, delimiter: str, width: int, size: int,
    longest_line: int = 0,
) -> Iterator[tuple[Any, np.ndarray, list[tuple[int, str]], int]]:
    """(records as a table of `width` string columns, their lines, the ragged records
    among them, the bytes of the file read so far) for batches of `size` records in file
    order (ragged ones counted), the header skipped. `name`: the file as messages name
    it; `longest_line`: in bytes (a record must fit in one of pyarrow's blocks)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    names = [f"c{i}" for i in range(width)]
    ragged = Ragged()
    source = pa.OSFile(path)
    stream = pa.CompressedInputStream(source, "gzip") if gz else source
    options = {
        # one thread: else the parser does not know the line of a ragged record
        "read_options": pcsv.ReadOptions(column_names=names, skip_rows=1, use_threads=False,
                                         block_size=max(READ_BLOCK, 2 * longest_line)),
        "parse_options": pcsv.ParseOptions(delimiter=delimiter, quote_char=False,
                                           invalid_row_handler=ragged),
        "convert_options": pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                               strings_can_be_null=False),
    }
    try:
        with heap.arrow_on_malloc():
            yield from _batches(pcsv.open_csv(stream, **options), ragged, size, source)
    except pa.ArrowInvalid as e:  # what `prescan` could not see (a record over a block)
        raise EcomError(f"{name}: {e}") from e
    finally:
        stream.close()
        source.close()


def _batches(reader: Any, ragged: Ragged, size: int, source: Any
             ) -> Iterator[tuple[Any, np.ndarray, list[tuple[int, str]], int]]:
    """`read_batches` from an open reader. The ragged records are taken out of `ragged`
    as they are yielded, so that each batch looks only at those not yielded yet."""
    import pyarrow as pa

    pending: list[Any] = []
    done = skipped = 0  # records and ragged records yielded
    for chunk in reader:
        pending.append(chunk)
        while True:
            table = pa.Table.from_batches(pending, schema=reader.schema)
            lines = lines_of(done, table.num_rows, ragged.rows, skipped)
            taken = batch_of(lines, ragged.rows, size)
            if taken is None:
                break
            valid, bad = taken
            yield table.slice(0, valid), lines[:valid], ragged.take(bad), source.tell()
            pending = table.slice(valid).to_batches()
            done, skipped = done + valid, skipped + bad
    table = pa.Table.from_batches(pending, schema=reader.schema)
    lines = lines_of(done, table.num_rows, ragged.rows, skipped)
    while table.num_rows or ragged.rows:
        valid, bad = batch_of(lines, ragged.rows, size, last=True) or (0, 0)
        yield table.slice(0, valid), lines[:valid], ragged.take(bad), source.tell()
        table, lines = table.slice(valid), lines[valid:]


def batch_of(lines: np.ndarray, ragged: list[tuple[int, str]], size: int,
             last: bool = False) -> tuple[int, int] | None:
    """How many of the parsed records (`lines`) and ragged ones make the next batch of
    `size` records in file order, as the value-list lane counts them (None: not enough
    parsed yet, unless this is the `last` of the file)."""
    bad = np.fromiter((line for line, _ in ragged), np.int64, len(ragged))
    if len(lines) + len(bad) < size:
        return (len(lines), len(bad)) if last else None
    cut = np.sort(np.concatenate([lines, bad]))[size - 1]
    return (int(np.searchsorted(lines, cut, side="right")),
            int(np.searchsorted(bad, cut, side="right")))


def lines_of(start: int, count: int, ragged: list[tuple[int, str]], skipped: int = 0
             ) -> np.ndarray:
    """The lines of records start .. start + count - 1 (counted without the ragged ones):
    record k is on line k + 2 (the header is line 1), one more per ragged line before it:
    the `skipped` ones already yielded, and those of `ragged` (the rest, in file order)."""
    records = np.arange(start, start + count, dtype=np.int64)
    first = records + 2 + skipped
    if not ragged:
        return first
    bad = np.fromiter((line for line, _ in ragged), np.int64, len(ragged))
    # records before ragged line i: its line, less the header, the skipped ragged lines and
    # the i ragged before it
    before = bad - 2 - skipped - np.arange(len(bad))
    return first + np.searchsorted(before, records, side="right")


# --- validating ---------------------------------------------------------------------------


def validated(raw: Any, entity: Entity, positions: dict[str, int]) -> tuple[dict[str, Any], Any]:
    """(field -> validated array, mask of the rows every field is sure of)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = raw.num_rows
    sure = pa.array(np.ones(n, dtype=bool))
    columns: dict[str, Any] = {}
    for f in entity.fields:
        if f.name not in positions:
            if f.default is None and f.required:
                sure = pa.array(np.zeros(n, dtype=bool))
            columns[f.name] = pa.array([f.default] * n if f.default is not None else [None] * n,
                                       type=arrow_type(f))
            continue
        text = raw.column(positions[f.name]).combine_chunks()
        blank = _blank(text)
        ok, value = _converted(f, text)
        if blank is not None:
            ok = pc.if_else(blank, not (f.required and f.default is None), ok)
            value = pc.if_else(blank, pa.scalar(f.default, type=arrow_type(f)), value)
        columns[f.name] = value
        sure = pc.and_(sure, ok)
    return columns, sure


def _blank(text: Any) -> Any:
    """Which values of a string array are blank (empty, or spaces only), None for none.
    BLANK's regex costs a call per value; most columns hold no empty value and none that
    begins with a space, which the first byte of each value tells at numpy's speed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(text)
    if n and not text.null_count and pa.types.is_string(text.type):
        offsets = np.frombuffer(text.buffers()[1], np.int32, n + 1, text.offset * 4)
        starts = offsets[:-1]
        if (offsets[1:] > starts).all():
            data = np.frombuffer(text.buffers()[2], np.uint8)
            if not SPACE_LEADS[data[starts]].any():
                return None
    return pc.match_substring_regex(text, BLANK)


def arrow_type(f: Field) -> Any:
    import pyarrow as pa

    match f.type:
        case "int":
            return pa.int64()
        case "money" | "decimal":
            return pa.decimal128(f.precision, f.scale)
        case "datetime":
            return pa.timestamp("s")
        case "date":
            return pa.date32()
    return pa.string()


def _converted(f: Field, text: Any) -> tuple[Any, Any]:
    """(sure, value) of a column of non-blank values of field `f` (blanks: anything)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    length = pc.utf8_length(text)
    match f.type:
        case "key":  # what the validator keeps as it is: printable ASCII
            ok = pc.and_(pc.string_is_ascii(text), pc.utf8_is_printable(text))
            return _within(ok, length, f.length), text
        case "string" | "text":
            limit = min(f.length or TEXT_BYTES // 4, TEXT_BYTES // 4)
            ok = pc.less_equal(length, limit)
            if f.check == "email":
                ascii_ok = pc.and_(pc.string_is_ascii(text), pc.utf8_is_printable(text))
                ok = pc.and_(ok, pc.and_(ascii_ok, pc.match_substring_regex(text, EMAIL)))
            elif f.check == "digits":
                ok = pc.and_(ok, pc.match_substring_regex(text, "^[0-9]+$"))
                if f.length:
                    ok = pc.and_(ok, pc.equal(length, f.length))
            return ok, text
        case "datetime":  # plain "YYYY-MM-DD HH:MM:SS" (or a T), a real moment
            normal = pc.replace_substring(text, "T", " ")
            return _moment(text, DATETIME, "%Y-%m-%d %H:%M:%S", normal, "2000-01-01 00:00:00")
        case "date":
            ok, moment = _moment(text, DATE, "%Y-%m-%d", text, "2000-01-01")
            return ok, pc.cast(moment, pa.date32())
        case "int":
            low, high = f.int_range
            ok = pc.match_substring_regex(text, INT)
            number = pc.cast(pc.if_else(ok, text, "0"), pa.int64())
            ok = pc.and_(ok, pc.and_(pc.greater_equal(number, low), pc.less_equal(number, high)))
            return ok, number
        case "money" | "decimal":
            whole = f.precision - f.scale
            pattern = f"^-?[0-9]{{1,{whole}}}(\\.[0-9]{{0,{f.scale}}})?$"
            ok = pc.match_substring_regex(text, pattern)
            number = pc.cast(pc.if_else(ok, text, "0"), pa.decimal128(f.precision, f.scale))
            if f.min is not None:
                ok = pc.and_(ok, pc.greater_equal(number, _decimal(f, f.min)))
            if f.max is not None:
                ok = pc.and_(ok, pc.less_equal(number, _decimal(f, f.max)))
            return ok, number
        case "enum":  # ASCII only: Python's strip() and lower() agree with Arrow's there
            names = [v.lower() for v in f.enum or ()]
            folded = pc.utf8_lower(pc.utf8_trim_whitespace(text))
            at = pc.index_in(folded, value_set=pa.array(names))
            ok = pc.and_(pc.string_is_ascii(text), pc.is_valid(at))
            return ok, pc.take(pa.array(list(f.enum or ())), pc.fill_null(at, 0))
    raise ValueError(f"no columnar check for {f.type} fields")


def _moment(text: Any, pattern: str, fmt: str, normal: Any, fill: str) -> tuple[Any, Any]:
    """(sure, timestamp) of values matching `pattern` whose `normal` form is a real
    moment: it parses with `fmt` and prints back the same (no 30 February)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ok = pc.match_substring_regex(text, pattern)
    moment = pc.strptime(pc.if_else(ok, normal, fill), format=fmt, unit="s",
                         error_is_null=True)
    shown = moment if "%H" in fmt else pc.cast(moment, pa.date32(), safe=False)
    same = pc.equal(as_text(shown), normal)
    return pc.and_(ok, pc.fill_null(same, False)), moment


def as_text(column: Any) -> Any:
    """A column of `arrow_type`s as text: moments as 'YYYY-MM-DD HH:MM:SS', dates as
    'YYYY-MM-DD', as `pc.strftime` would print them with those formats. A cast, because
    strftime formats value by value: for 1M orders' moments it was most of the import's
    reading (and a cast prints years 0 to 9999 with four digits as strftime does)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.cast(column, pa.string())


def _within(ok: Any, length: Any, limit: int | None) -> Any:
    import pyarrow.compute as pc

    return ok if limit is None else pc.and_(ok, pc.less_equal(length, limit))


def _decimal(f: Field, value: Any) -> Any:
    import pyarrow as pa

    return pa.scalar(Decimal(str(value)), type=pa.decimal128(f.precision, f.scale))


def from_rows(rows: Sequence[dict[str, Any]], entity: Entity) -> dict[str, Any]:
    """Validated row dicts (the validator's output) as columns of `validated`'s types."""
    import pyarrow as pa

    return {f.name: pa.array([r[f.name] for r in rows], type=arrow_type(f))
            for f in entity.fields}


def increasing_ends(table: Any, key: Sequence[str]) -> tuple[tuple[Any, ...], ...] | None:
    """(the first key, the last key) of a table whose rows are in strictly increasing key
    order, () for no rows, None for rows in another order."""
    import pyarrow.compute as pc

    n = table.num_rows
    if not n:
        return ()
    before, after = table.slice(0, n - 1), table.slice(1)
    less = None  # row i's key below row i + 1's, column by column from the last
    for k in reversed(key):
        a, b = before.column(k), after.column(k)
        below = pc.less(a, b)
        less = below if less is None else pc.or_(below, pc.and_(pc.equal(a, b), less))
    if n > 1 and not pc.all(less).as_py():
        return None
    ends = table.select(list(key)).take([0, n - 1]).to_pydict().values()
    first, last = zip(*ends, strict=True)
    return first, last


# --- a batch as rows, when a rarer path needs them ----------------------------------------


def _hashes(table: Any, raw: Any, key: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's key hash (of its validated key) and row hash (of its values read). The
    hashes are of Python strings, made HASH_ROWS rows at a time: a whole batch's at once
    (~10 MB at 50,000 rows) only raised the process's peak."""
    import pyarrow.compute as pc

    n = table.num_rows
    keys, rows = np.empty(n, np.int64), np.empty(n, np.int64)
    for start in range(0, n, HASH_ROWS):
        part, part_raw = table.slice(start, HASH_ROWS), raw.slice(start, HASH_ROWS)
        m = part.num_rows
        keys[start:start + m] = np.fromiter(
            map(hash, zip(*(part.column(k).to_pylist() for k in key), strict=True)), np.int64, m)
        # a record's fields joined by a NUL, which no field holds (`prescan` refuses it):
        # one string a row to hash, not a tuple of them
        joined = pc.binary_join_element_wise(*part_raw.columns, "\x00")
        rows[start:start + m] = np.fromiter(map(hash, joined.to_pylist()), np.int64, m)
    return keys, rows


class ColumnRows(Sequence[dict[str, Any]]):
    """A batch's rows as the validator makes them from the values read, made on demand;
    `column(name)` gives one field of every row without making the rows. `keys` and
    `hashes`: each row's `seen_keys.key_hash` and `row_hash` (of the values read)."""

    def __init__(self, table: Any, raw: Any, lines: np.ndarray,
                 convert: Callable[[Sequence[Any]], dict[str, Any]], key: Sequence[str],
                 hashes: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.table, self.raw, self.lines, self.convert, self.key = table, raw, lines, convert, key
        self.keys, self.hashes = hashes or _hashes(table, raw, key)
        self._values: list[list[str]] | None = None

    def __len__(self) -> int:
        return self.table.num_rows

    def values(self, i: int) -> list[str]:
        if self._values is None:
            self._values = [list(r) for r in zip(*(c.to_pylist() for c in self.raw.columns),
                                                  strict=True)]
        return self._values[i]

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.convert(self.values(i))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self[i] for i in range(len(self)))

    def column(self, name: str) -> list[Any]:
        return self.table.column(name).to_pylist()

    def without(self, rows: Sequence[int]) -> ColumnRows:
        """These rows less the rows at `rows`."""
        if not len(rows):
            return self
        import pyarrow as pa

        keep = np.ones(len(self), dtype=bool)
        keep[list(rows)] = False
        mask = pa.array(keep)
        return ColumnRows(self.table.filter(mask), self.raw.filter(mask), self.lines[keep],
                          self.convert, self.key, (self.keys[keep], self.hashes[keep]))


class ColumnItems(Sequence[tuple[int, dict[str, Any], list[str]]]):
    """The importer's items of a batch, (line, row, values read), made on demand."""

    def __init__(self, rows: ColumnRows) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return int(self.rows.lines[i]), self.rows[i], self.rows.values(i)
