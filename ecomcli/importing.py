"""Bulk import: files (CSV, TSV, JSON, NDJSON, gzipped or not, stdin, folders) into a store.

    from ecomcli.importing import ImportOptions, import_paths
    summary = import_paths(store, ["orders.csv"], ImportOptions(mode=Mode.UPSERT))

The work per input file:
1. *prescan* (before anything is written): decode the whole file once, so a wrong
   encoding, a NUL byte, an empty file or broken JSON is a one-line error naming the line;
2. *plan*: the entity (from the file name, `--entity` or the mapping), header matching,
   required columns, refused columns (card numbers, passwords);
3. *batches* of `batch_size` records: derive each target entity's rows, validate them
   (`Validator`), drop duplicates within the batch and of earlier batches (`SeenKeys`;
   a conflicting duplicate is rejected, naming both lines), check references, and write
   (`write_batch`; the entities of one batch in one transaction, in foreign-key order).
   References are left to stores whose database checks them
   (`Repository.enforces_references`: SQLite, MySQL); when one refuses a batch
   (`MissingReference`, nothing written), that batch and the rest of the file are
   checked first (`existing_keys`), so only the orphan rows are rejected.

Two threads share the work: a reader thread parses, validates and prepares the next
batch (`prefetched`, `Repository.prepare_rows`: SQLite's JSON array, MySQL's LOAD DATA
file) while the calling thread checks references and writes this one. The database works
with the GIL released (one `json_each` statement, one LOAD DATA), so reading overlaps
writing; the reader touches neither the connection nor the counts nor the rejects file:
what it finds travels with the batch (`Batch.found`) and is applied, in order, by the
writing thread.

Rejected rows go to a rejects file with their source, physical line (where the record
starts), entity, field, reason and original values; the import goes on until more than
`max_errors` rows are rejected. Memory stays bounded by the batch size (JSON documents,
which are not streamable, excepted: use NDJSON for big files).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import operator
import queue
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np

from ecomcli import columnar, heap, schema, textrows
from ecomcli.errors import (
    ConnectionFailed,
    EcomError,
    MissingReference,
    UsageError,
    ValidationError,
)
from ecomcli.exporting import parents_first
from ecomcli.gc_pause import gc_paused
from ecomcli.mapping import FieldSpec, Lookups, MappingFile, Source, Target, compile_spec
from ecomcli.mapping import load as load_mapping
from ecomcli.outputs import Replacing, refuse_clobber
from ecomcli.repository import (
    RETRY_PATIENCE,
    Mode,
    Repository,
    SummaryBuild,
    WriteResult,
    missing_required,
    with_defaults,
)
from ecomcli.schema import Entity, normalize_name
from ecomcli.seen_keys import SeenKeys, key_hash, row_hash
from ecomcli.validation import Validator, forbidden_fields

FORMATS = ("csv", "tsv", "json", "ndjson")
EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".ndjson": "ndjson"}
EXTENSIONS[".jsonl"] = "ndjson"
CHUNK = 1 << 20
# a blank line in some text (`prescan` puts the end of the previous chunk in front, or
# "\n" before the first: a blank first line)
BLANK_LINES = ("\n\n", "\n\r\n", "\r\r", "\r\n\r")  # "\n\n" first: `prescan`
# smaller files take the value-list lane: the columnar one pays ~0.3 s to load pyarrow
COLUMNAR_MIN_BYTES = 8 << 20
KEY_CACHE_LIMIT = 200_000
SWITCH_INTERVAL = 0.0001  # seconds between GIL handovers while two threads import (`prefetched`)
MISSING = object()
# the largest CSV field (docs/importing.md): Python's default of 128 KiB stopped a whole
# file at a long review or description
CSV_FIELD_LIMIT = 64 << 20
csv.field_size_limit(CSV_FIELD_LIMIT)

# a batch's rows that repeated a kept row of theirs exactly: key -> [(line, original)]
Repeats = dict[Any, list[tuple[int, Any]]]
Progress = Callable[[str, int, int, int], None]  # (input, rows read, bytes read, total bytes)
T = TypeVar("T")


@dataclass
class ImportOptions:
    entity: str | None = None
    mode: Mode = Mode.UPSERT
    mapping: str | Path | None = None
    rejects: str | Path | None = None
    max_errors: int | None = None  # None: no limit
    batch_size: int | None = None  # None: the backend's `bulk_batch_size`
    dry_run: bool = False
    encoding: str = "utf-8-sig"
    delimiter: str | None = None
    date_format: str | None = None
    format: str | None = None


@dataclass
class EntityStats:
    entity: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored: int = 0
    rejected: int = 0
    skipped: int = 0  # lines a mapping's skip_if left out
    seconds: float = 0.0

    def row(self) -> dict[str, Any]:
        rate = round(self.read / self.seconds) if self.seconds > 0 else 0
        return {
            "entity": self.entity,
            "read": self.read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "ignored": self.ignored,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "rows_per_s": rate,
        }


def add_counts(stats: EntityStats, result: WriteResult) -> None:
    stats.inserted += result.inserted
    stats.updated += result.updated
    stats.unchanged += result.unchanged
    stats.ignored += result.ignored


@dataclass
class ImportSummary:
    stats: dict[str, EntityStats] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    rejects_files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False
    stopped: str | None = None

    def entity(self, name: str) -> EntityStats:
        if name not in self.stats:
            self.stats[name] = EntityStats(name)
        return self.stats[name]

    @property
    def rejected(self) -> int:
        return sum(s.rejected for s in self.stats.values())

    def rows(self) -> list[dict[str, Any]]:
        order = [e.name for e in schema.load_order()]
        return [self.stats[n].row() for n in order if n in self.stats]

    def to_dict(self) -> dict[str, Any]:
        return {
            "entities": self.rows(),
            "rejected": self.rejected,
            "seconds": round(self.seconds, 3),
            "files": self.files,
            "skipped": self.skipped,
            "notices": self.notices,
            "rejects_files": self.rejects_files,
            "dry_run": self.dry_run,
            "stopped": self.stopped,
        }


class ImportStopped(EcomError):
    """More than `max_errors` rows were rejected: the import stopped (exit 1)."""

    def __init__(self, message: str, summary: ImportSummary) -> None:
        super().__init__(message)
        self.summary = summary


# --- inputs ------------------------------------------------------------------------------


@dataclass
class Input:
    path: Path  # the file to read (stdin is spooled to a temporary file first)
    name: str  # as shown in messages and the rejects file
    fmt: str
    encoding: str
    delimiter: str
    rejects: Path
    source: Source | None = None  # the mapping section for this file
    entity: Entity | None = None  # without a mapping section
    keys: list[str] = field(default_factory=list)  # JSON: every key seen, in order
    # set by `prescan`: a CSV/TSV without quote characters or blank lines, whose record N
    # is on line N + 1 (the columnar lane's condition), and its longest line in bytes
    plain: bool = False
    longest_line: int = 0

    @property
    def headerless(self) -> bool:
        """The mapping names the columns: the file has no header line."""
        return self.source is not None and bool(self.source.columns)

    @property
    def gz(self) -> bool:
        with self.path.open("rb") as fh:
            return fh.read(2) == b"\x1f\x8b"


def split_name(name: str) -> tuple[str, str | None]:
    """`order_items.ndjson.gz` -> ("order_items", "ndjson")."""
    lower = name.lower()
    if lower.endswith(".gz"):
        lower = lower[:-3]
    stem, dot, ext = lower.rpartition(".")
    if not dot:
        return lower, None
    return stem, EXTENSIONS.get("." + ext)


def _rejects_path(inp_name: str, folder: Path) -> Path:
    stem = Path(inp_name).name
    if stem.lower().endswith(".gz"):
        stem = stem[:-3]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return folder / f"{stem}.rejects.csv"


def collect_inputs(
    paths: Sequence[str | Path],
    options: ImportOptions,
    mapping: MappingFile | None,
    summary: ImportSummary,
    spool: list[Path],
) -> list[Input]:
    """Every input to import, folders expanded and sorted into foreign-key order."""
    if not paths:
        raise UsageError("no input: give one or more files, a folder, or - for stdin")
    rank = {name: i for i, name in enumerate(import_order())}
    found: list[tuple[int, int, Input]] = []
    explicit_rejects = Path(options.rejects) if options.rejects else None
    many = len(paths) > 1 or any(Path(p).is_dir() for p in paths if str(p) != "-")
    for position, p in enumerate(paths):
        if str(p) == "-":
            with tempfile.NamedTemporaryFile(prefix="ecom-stdin-", delete=False) as tmp:
                spool.append(Path(tmp.name))
                shutil.copyfileobj(sys.stdin.buffer, tmp)
            inp = _input(Path(tmp.name), "<stdin>", options, mapping, Path.cwd(), "stdin.csv")
            if inp is None:
                raise UsageError("cannot tell the entity of stdin: pass --entity")
            found.append((position, rank_of(inp, rank), inp))
            continue
        path = Path(p)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if not child.is_file() or child.name.endswith(".rejects.csv"):
                    continue
                inp = _input(child, str(child), options, mapping, child.parent, child.name)
                if inp is None or (inp.source is not None and inp.source.skip):
                    summary.skipped.append(str(child))
                    continue
                found.append((position, rank_of(inp, rank), inp))
            continue
        if not path.exists():
            raise EcomError(f"{path}: no such file", exit_code=3)
        inp = _input(path, str(path), options, mapping, path.parent, path.name)
        if inp is None:
            raise UsageError(
                f"cannot tell the entity of {path}: name the file after an entity "
                "(e.g. orders.csv) or pass --entity"
            )
        if inp.source is not None and inp.source.skip:
            summary.skipped.append(str(path))
            continue
        found.append((position, rank_of(inp, rank), inp))
    inputs = after_references([inp for _, _, inp in sorted(found, key=lambda t: (t[1], t[0]))])
    if explicit_rejects is not None:
        if many or explicit_rejects.is_dir():
            explicit_rejects.mkdir(parents=True, exist_ok=True)
            for inp in inputs:
                inp.rejects = _rejects_path(
                    inp.name if inp.name != "<stdin>" else "stdin", explicit_rejects
                )
        else:
            for inp in inputs:
                inp.rejects = explicit_rejects
    return inputs


EARLY = ("orders", "order_items")


def import_order() -> list[str]:
    """The entities in foreign-key order, `EARLY` and what they refer to first: the
    summaries of the orders' lines take the longest to build, and an import of a whole
    export builds them beside the files after those (`SummaryBuilds`), so that the
    addresses, logins and cards are written while they build, not before."""
    left, order = schema.load_order(), []
    early = _referred_by(EARLY)
    while left:
        ready = [e for e in left if all(f.ref in order or f.ref == e.name for f in e.references)]
        entity = next((e for e in ready if e.name in early), ready[0])
        order.append(entity.name)
        left.remove(entity)
    return order


def _referred_by(names: Sequence[str]) -> set[str]:
    """`names` and every entity they refer to, directly or not."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo += [f.ref for f in schema.entity(name).references]
    return found


def rank_of(inp: Input, rank: dict[str, int]) -> int:
    """Where `inp` goes in `import_order`: at its first entity (a file mapped to several
    waits for what the others refer to in `after_references`)."""
    return min((rank[name] for name in written_by(inp)), default=0)


def written_by(inp: Input) -> set[str]:
    if inp.source is not None and inp.source.targets:
        return {t.entity.name for t in inp.source.targets}
    return {inp.entity.name} if inp.entity else set()


def after_references(inputs: list[Input]) -> list[Input]:
    """`inputs` in their order, except that each waits for the inputs that write what its
    rows refer to (a file mapped to customers and their addresses comes before the
    orders; one mapped to the lines and the supplies, after the products). Where inputs
    wait for each other, the first goes first, its rows then rejected as they would be."""
    writes = [written_by(inp) for inp in inputs]
    needs = [{f.ref for name in w for f in schema.entity(name).references} - w for w in writes]
    unwritten = Counter(name for w in writes for name in w)  # inputs left to write each
    left, order = list(range(len(inputs))), []
    while left:
        i = next((i for i in left if not any(unwritten[name] for name in needs[i])), left[0])
        left.remove(i)
        order.append(inputs[i])
        unwritten.subtract(writes[i])
    return order


def _input(
    path: Path,
    name: str,
    options: ImportOptions,
    mapping: MappingFile | None,
    folder: Path,
    file_name: str,
) -> Input | None:
    stem, ext_fmt = split_name(file_name)
    source = mapping.source_for(file_name) if mapping else None
    entity = None
    if source is None:
        entity = schema.entity(options.entity) if options.entity else schema.find_entity(stem)
        if entity is None:
            return None
    fmt = options.format or ext_fmt
    if fmt is None:
        if name == "<stdin>":
            fmt = "csv"
        elif source is None and not options.entity:
            return None
        else:
            fmt = "csv"
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    delimiter = options.delimiter or (source.delimiter if source else None)
    delimiter = delimiter or ("\t" if fmt == "tsv" else ",")
    if delimiter == "\\t":
        delimiter = "\t"
    if len(delimiter) != 1 and delimiter != textrows.WHITESPACE:
        raise UsageError(
            f"--delimiter must be one character or {textrows.WHITESPACE}, got {delimiter!r}"
        )
    encoding = (source.encoding if source and source.encoding else None) or options.encoding
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UsageError(f"unknown encoding {encoding!r}") from None
    return Input(
        path=path,
        name=name,
        fmt=fmt,
        encoding=encoding,
        delimiter=delimiter,
        rejects=_rejects_path(file_name, folder),
        source=source,
        entity=entity,
    )


# --- reading -----------------------------------------------------------------------------


class Opened:
    """A text stream over a (maybe gzipped) file, with its byte position for progress."""

    def __init__(self, inp: Input) -> None:
        self.raw = inp.path.open("rb")
        self.total = inp.path.stat().st_size
        binary: IO[bytes] = gzip.GzipFile(fileobj=self.raw) if inp.gz else self.raw
        self.binary = binary
        self.text = io.TextIOWrapper(binary, encoding=inp.encoding, newline="")  # type: ignore[arg-type]

    def position(self) -> int:
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        self.text.close()
        self.raw.close()


def prescan(inp: Input) -> None:
    """Decode the whole file once before anything is written: encoding, NUL bytes, empty
    files, JSON syntax. Also collects JSON keys (the JSON "header")."""
    opened = Opened(inp)
    decoder = codecs.getincrementaldecoder(inp.encoding)()
    line, seen_text = 1, False
    ndjson_tail = ""
    ndjson_line = 1
    keys: dict[str, None] = {}
    wide = codecs.lookup(inp.encoding).name.startswith(("utf-16", "utf-32"))
    plain, tail = inp.fmt in ("csv", "tsv"), "\n"
    longest = since = 0  # bytes: the longest line, and those since the last newline
    try:
        first = True
        while True:
            try:
                chunk = opened.binary.read(CHUNK)
            except (OSError, EOFError) as e:
                raise EcomError(f"{inp.name}: cannot read the file: {e}") from None
            if first and not wide and b"\x00" in chunk[:8192]:
                at = 1 + chunk.count(b"\n", 0, chunk.index(b"\x00"))
                raise EcomError(
                    f"{inp.name}: NUL byte at line {at}: a binary file, not {inp.fmt} text?"
                )
            first = False
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                bad_line = line + e.object.count(b"\n", 0, e.start)
                raise EcomError(
                    f"{inp.name}: line {bad_line} is not valid {inp.encoding} "
                    f"(byte 0x{e.object[e.start]:02x}): pass --encoding, e.g. --encoding "
                    "latin-1 or cp1252"
                ) from None
            if "\x00" in text:
                at = line + text.count("\n", 0, text.index("\x00"))
                raise EcomError(f"{inp.name}: NUL byte at line {at}: not a text file?")
            if text.strip():
                seen_text = True
            if plain:
                probe, tail = tail + text, (tail + text)[-2:]
                # every blank line but "\n\n" has a "\r", which one quick scan rules out
                blanks = BLANK_LINES if "\r" in probe else BLANK_LINES[:1]
                plain = '"' not in text and not any(b in probe for b in blanks)
                longest, since = _longest_line(chunk, longest, since)
            if inp.fmt == "ndjson":
                ndjson_tail += text
                *complete, ndjson_tail = ndjson_tail.split("\n")
                for raw in complete:
                    _ndjson_record(raw, ndjson_line, inp.name, keys)
                    ndjson_line += 1
            line += text.count("\n")
            if not chunk:
                break
        if inp.fmt == "ndjson" and ndjson_tail.strip():
            _ndjson_record(ndjson_tail, ndjson_line, inp.name, keys)
    finally:
        opened.close()
    if not seen_text:
        raise EcomError(f"{inp.name}: the file is empty")
    inp.plain, inp.longest_line = plain, max(longest, since)
    if inp.fmt == "json":
        for _, obj in iter_json(inp):
            for k in obj:
                keys.setdefault(k, None)
        if not keys:
            raise EcomError(f"{inp.name}: no records (an empty JSON array)")
    if inp.fmt in ("json", "ndjson"):
        inp.keys = list(keys)


def _longest_line(chunk: bytes, longest: int, since: int) -> tuple[int, int]:
    """(the longest line so far, the bytes since the last newline) after `chunk`."""
    ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10)
    if not len(ends):
        return longest, since + len(chunk)
    inside = int(np.diff(ends).max()) if len(ends) > 1 else 0
    return max(longest, since + int(ends[0]) + 1, inside), len(chunk) - int(ends[-1]) - 1


class JsonObject(dict):  # type: ignore[type-arg]
    """A decoded JSON object; `repeated` names a key the text gave twice (json keeps the
    last silently): such a record is rejected naming that key."""

    repeated: str | None = None


def json_object(pairs: list[tuple[str, Any]]) -> JsonObject:
    obj = JsonObject(pairs)
    if len(obj) != len(pairs):
        names = [k for k, _ in pairs]
        obj.repeated = next(k for k in names if names.count(k) > 1)
    return obj


def _ndjson_record(raw: str, line: int, name: str, keys: dict[str, None] | None) -> Any:
    text = raw.strip()
    if not text:
        return None
    try:
        obj = json.loads(text, object_pairs_hook=json_object)
    except json.JSONDecodeError as e:
        raise EcomError(f"{name}: invalid JSON at line {line} column {e.colno}: {e.msg}") from None
    if not isinstance(obj, dict):
        raise EcomError(
            f"{name}: line {line} is not a JSON object (got {type(obj).__name__}): "
            "NDJSON needs one object per line"
        )
    if keys is not None:
        for k in obj:
            keys.setdefault(k, None)
    return obj


def iter_csv(inp: Input, opened: Opened) -> Iterator[tuple[int, list[str]]]:
    """Records with the physical line where each starts (multi-line quoted fields count)."""
    reader = textrows.reader(opened.text, inp.delimiter)
    if not inp.headerless:
        next(reader, None)  # the header, read by `read_header`
    prev = reader.line_num
    for values in reader:
        start = prev + 1
        prev = reader.line_num
        if values:
            yield start, values


def read_header(inp: Input) -> list[str]:
    opened = Opened(inp)
    try:
        reader = textrows.reader(opened.text, inp.delimiter)
        header = list(inp.source.columns) if inp.headerless else next(reader, None)  # type: ignore[union-attr]
        if header is None or not any(h.strip() for h in header):
            raise EcomError(f"{inp.name}: the file is empty")
        if blank := [i + 1 for i, h in enumerate(header) if not h.strip()]:
            aligned = inp.delimiter in " \t" or " " in "".join(header)
            hint = (" (columns aligned with spaces? use --delimiter whitespace, or "
                    "delimiter = \"whitespace\" in a mapping)" if aligned else "")
            raise EcomError(f"{inp.name}: the header has an empty column name (column "
                            f"{blank[0]} of {len(header)}){hint}")
    except csv.Error as e:
        raise EcomError(f"{inp.name}: line {reader.line_num}: {e}") from None
    finally:
        opened.close()
    return header


def iter_json(inp: Input) -> Iterator[tuple[int, dict[str, Any]]]:
    """A JSON array of objects (or one object), each with the line where it starts."""
    with Opened_text(inp) as text:
        decoder = json.JSONDecoder(object_pairs_hook=json_object)
        ws = " \t\r\n"
        i = _skip(text, 0, ws)
        line_at = _LineCounter(text)
        if i == len(text):
            raise EcomError(f"{inp.name}: the file is empty")
        try:
            if text[i] == "{":
                obj, end = decoder.raw_decode(text, i)
                _only_space(text, _skip(text, end, ws), inp.name, line_at)
                yield line_at(i), obj
                return
            if text[i] != "[":
                raise EcomError(
                    f"{inp.name}: a JSON document must be an array of objects or an object "
                    f"(line {line_at(i)} starts with {text[i]!r})"
                )
            i = _skip(text, i + 1, ws)
            if i < len(text) and text[i] == "]":
                _only_space(text, _skip(text, i + 1, ws), inp.name, line_at)
                return
            while True:
                obj, end = decoder.raw_decode(text, i)
                if not isinstance(obj, dict):
                    raise EcomError(
                        f"{inp.name}: line {line_at(i)}: array element is not an object "
                        f"(got {type(obj).__name__})"
                    )
                yield line_at(i), obj
                i = _skip(text, end, ws)
                if i < len(text) and text[i] == ",":
                    i = _skip(text, i + 1, ws)
                    continue
                if i < len(text) and text[i] == "]":
                    _only_space(text, _skip(text, i + 1, ws), inp.name, line_at)
                    return
                where = f"line {line_at(i)}" if i < len(text) else "the end of the file"
                raise EcomError(f"{inp.name}: invalid JSON at {where}: expected ',' or ']'")
        except json.JSONDecodeError as e:
            raise EcomError(
                f"{inp.name}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
            ) from None


class Opened_text:
    def __init__(self, inp: Input) -> None:
        self.opened = Opened(inp)

    def __enter__(self) -> str:
        return self.opened.text.read()

    def __exit__(self, *exc: object) -> None:
        self.opened.close()


class _LineCounter:
    def __init__(self, text: str) -> None:
        self.text, self.pos, self.line = text, 0, 1

    def __call__(self, pos: int) -> int:
        if pos < self.pos:
            self.pos, self.line = 0, 1
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def _skip(text: str, i: int, ws: str) -> int:
    n = len(text)
    while i < n and text[i] in ws:
        i += 1
    return i


def _only_space(text: str, i: int, name: str, line_at: _LineCounter) -> None:
    if i < len(text):
        raise EcomError(f"{name}: invalid JSON at line {line_at(i)}: extra data after the document")


def iter_ndjson(inp: Input, opened: Opened) -> Iterator[tuple[int, dict[str, Any]]]:
    for line, raw in enumerate(opened.text, start=1):
        obj = _ndjson_record(raw, line, inp.name, None)
        if obj is not None:
            yield line, obj


# --- plans: from a record to each target entity's raw row --------------------------------


@dataclass
class TargetPlan:
    entity: Entity
    mode: Mode
    validator: Validator
    getters: list[tuple[str, Callable[[dict[str, Any]], Any]]]
    optional: bool
    stats: EntityStats

    def extract(self, rec: dict[str, Any]) -> dict[str, Any]:
        raw = {}
        for name, get in self.getters:
            value = get(rec)
            if value is not MISSING:
                raw[name] = value
        return raw


def _column_getter(col: str) -> Callable[[dict[str, Any]], Any]:
    return lambda rec: rec.get(col, MISSING)


def _bad_key(key: str) -> bool:
    return key.startswith("$") or "." in key


def plan_targets(
    inp: Input,
    columns: list[str],
    options: ImportOptions,
    summary: ImportSummary,
    lookups: Lookups,
) -> list[TargetPlan]:
    """Targets for one input, checked against its columns (original names)."""
    normalized = [normalize_name(c) for c in columns if not _bad_key(c)]
    present = set(normalized)
    csv_like = inp.fmt in ("csv", "tsv")
    if csv_like:
        dupes = {n for n in normalized if normalized.count(n) > 1 and n}
        if dupes:
            raise EcomError(f"{inp.name}: several columns mean the same field: {sorted(dupes)[0]}")
    targets = (
        list(inp.source.targets)
        if inp.source is not None
        else [Target(entity=inp.entity, specs={})]  # type: ignore[arg-type]
    )
    date_format = (inp.source.date_format if inp.source else None) or options.date_format
    plans: list[TargetPlan] = []
    used: set[str] = {test.column for test in inp.source.skip_if} if inp.source else set()
    if csv_like and (absent := sorted(used - present)):
        raise EcomError(f"{inp.name}: no column {absent[0]!r} (tested by skip_if)")
    for target in targets:
        ent = target.entity
        mode = target.mode or options.mode
        message = forbidden_fields(ent, columns)
        if message:
            raise EcomError(f"{inp.name}: {message}")
        getters: list[tuple[str, Callable[[dict[str, Any]], Any]]] = []
        covered: set[str] = set()
        for name, spec in target.specs.items():
            for col in spec.columns():
                if csv_like and col not in present:
                    raise EcomError(f"{inp.name}: no column {col!r} (mapped to {ent.name}.{name})")
                used.add(col)
            folder = Path.cwd() if inp.name == "<stdin>" else inp.path.parent
            table, blank = None, None
            if spec.lookup:
                table = lookups.table(spec.lookup, folder)
                told = (
                    f"{inp.name}: {ent.name}.{name} left empty where {spec.lookup.file} gives"
                    " it no value or several,"
                )
                blank = partial(lookups.blanks.update, (told,))
            getters.append((name, compile_spec(name, spec, date_format, table, blank)))
            covered.add(name)
        if target.passthrough:
            for f in ent.fields:
                col = normalize_name(f.name)
                if f.name not in covered and col in present:
                    getters.append((f.name, _column_getter(col)))
                    covered.add(f.name)
                    used.add(col)
        need = (
            list(ent.key)
            if mode is Mode.MERGE
            else [f.name for f in ent.fields if f.required and f.default is None]
        )
        missing = [n for n in need if n not in covered]
        if missing and (csv_like or inp.source is not None):
            where = f" (map it in {options.mapping})" if options.mapping else ""
            raise EcomError(
                f"{inp.name}: missing required column {missing[0]!r} for {ent.name}{where}"
            )
        validator = Validator(ent, partial=mode is Mode.MERGE, date_format=date_format)
        plans.append(
            TargetPlan(ent, mode, validator, getters, target.optional, summary.entity(ent.name))
        )
    unknown = [c for c in columns if _bad_key(c) or normalize_name(c) not in used]
    if unknown:
        summary.notices.append(f"{inp.name}: ignoring unknown columns: {', '.join(unknown)}")
    return plans


# --- the import --------------------------------------------------------------------------


class Rejects:
    """Writes rejected rows to one CSV per input, opened on the first reject."""

    META = ("source", "line", "entity", "field", "reason")

    def __init__(self, summary: ImportSummary) -> None:
        self.summary = summary
        self.files: dict[Path, tuple[Replacing, Any]] = {}

    def write(
        self,
        inp: Input,
        columns: list[str],
        line: int,
        entity: str,
        fld: str,
        reason: str,
        original: Any,
    ) -> None:
        path = inp.rejects
        if path not in self.files:
            fh = Replacing(path)  # in place only when complete (see `ecomcli.outputs`)
            writer = csv.writer(fh.file)
            writer.writerow([*self.META, *columns])
            self.files[path] = (fh, writer)
            self.summary.rejects_files.append(str(path))
        _, writer = self.files[path]
        if isinstance(original, dict):
            values = [_cell(original.get(c)) for c in columns]
        else:
            values = list(original)
        writer.writerow([inp.name, line, entity, fld, reason, *values])

    def close(self) -> None:
        for fh, _ in self.files.values():
            fh.close()


def _shown(value: Any) -> str:
    return "empty" if value is None else repr(str(value))


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


@dataclass
class Batch:
    """One batch as the reader thread leaves it: each target's validated rows by key, and
    what reading found (rejects, counts) as effects for the writing thread to apply."""

    per_target: list[dict[Any, tuple[int, dict[str, Any], Any]]]
    found: list[Callable[[], None]]
    rows_read: int = 0  # records read from the input so far, and bytes (progress)
    position: int = 0
    # per target, set by `Importer.prepare`: the items in the order they are written, their
    # rows, and what `Repository.prepare_rows` made of them (`prepare`, called by `prepared`)
    ordered: list[list[tuple[int, dict[str, Any], Any]]] = field(default_factory=list)
    rows: list[list[dict[str, Any]]] = field(default_factory=list)
    prepare: Callable[[], list[Any]] | None = None
    prepared: list[Any] = field(default_factory=list)

    def reject(
        self, ctx: _FileContext, tp: TargetPlan, line: int, fld: str, reason: str, original: Any
    ) -> None:
        self.found.append(partial(ctx.importer.rejected, ctx, tp, line, fld, reason, original))

    def count(self, stats: EntityStats, read: int, unchanged: int) -> None:
        self.found.append(partial(_count, stats, read, unchanged))


def _ordered(
    tp: TargetPlan, items: Sequence[tuple[int, dict[str, Any], Any]]
) -> list[tuple[int, dict[str, Any], Any]]:
    return parents_first(tp.entity, list(items), operator.itemgetter(1))


def _skipped(stats: EntityStats, lines: int) -> None:
    stats.read += lines
    stats.skipped += lines


def _count(stats: EntityStats, read: int, unchanged: int) -> None:
    stats.read += read
    stats.unchanged += unchanged


def _conflict(seen: tuple[int, dict[str, Any], Any], row: dict[str, Any]) -> tuple[str, str]:
    """(field, reason) for a row whose key an earlier line of the batch had."""
    fld = next(n for n in row if row.get(n) != seen[1].get(n))
    return fld, (
        f"same key as line {seen[0]} with a different {fld} ({_shown(seen[1].get(fld))} there)"
    )


def prepared(batches: Iterator[Batch]) -> Iterator[Batch]:
    """`batches`, each with what the store makes of it before it is written
    (`Batch.prepare`). In a thread of its own (`prefetched`), between the reader's and the
    writer's: the three overlap on two cores, as Arrow and the database drivers release
    the GIL."""
    with closing(batches):
        for batch in batches:
            if batch.prepare is not None:
                batch.prepared = batch.prepare()
            yield batch


def prefetched(items: Iterator[T], name: str = "ecom-import-reader") -> Iterator[T]:
    """`items`, each computed by a thread of its own while the caller works on the one
    before: reading and validating the next batch overlaps writing this one, as database
    drivers release the GIL while SQLite or the server works. At most two items exist at
    a time (the one handed over and the one being made); closing the generator stops the
    thread after the item it is making, and closes `items`.

    Meanwhile the interpreter hands the GIL over every `SWITCH_INTERVAL` seconds instead
    of every 5 ms: each time the database returns to the caller, the caller waits for the
    reader to give the GIL up, and a batch makes dozens of such returns (1M order lines
    on SQLite: 7.1 s with 5 ms, 5.7 s with 0.1 ms; the same CPU time)."""
    handover: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def make() -> None:
        try:
            for item in items:
                handover.put((True, item))
                handover.join()  # until the caller has taken it
                if stop.is_set():
                    return
        except BaseException as e:  # handed to the caller, raised there
            handover.put((False, e))
        else:
            handover.put((False, None))
        finally:  # a stage reading another stage's items stops that one too
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=make, name=name, daemon=True)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
    try:
        thread.start()
        while True:
            ok, item = handover.get()
            handover.task_done()
            if not ok:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a reader waiting to hand an item over
            try:
                handover.get(timeout=0.05)
                handover.task_done()
            except queue.Empty:
                pass
        sys.setswitchinterval(interval)


class Importer:
    def __init__(self, store: Repository, options: ImportOptions, progress: Progress | None):
        if options.batch_size is None:
            options = replace(options, batch_size=store.bulk_batch_size)
        if options.batch_size < 1:
            raise UsageError("--batch-size must be at least 1")
        if options.max_errors is not None and options.max_errors < 0:
            raise UsageError("--max-errors must be 0 or more")
        self.store = store
        self.options = options
        self.progress = progress
        self.summary = ImportSummary(dry_run=options.dry_run)
        self.rejects = Rejects(self.summary)
        self.pending: list[Callable[[], None]] | None = None  # effects of the batch in flight
        self.known: dict[str, set[Any]] = {}  # parent keys known to exist (bounded cache)
        self.dry_known: dict[str, set[Any]] = {}  # --dry-run: keys this import would write
        self.builds = SummaryBuilds()  # summaries built beside (`import_paths`)

    # a batch ------------------------------------------------------------------------------

    def rejected(
        self, ctx: _FileContext, tp: TargetPlan, line: int, fld: str, reason: str, original: Any
    ) -> None:
        tp.stats.rejected += 1
        self.rejects.write(ctx.inp, ctx.columns, line, tp.entity.name, fld, reason, original)

    # reading (in the reader thread: no store, no stats, no rejects file) ------------------

    def record_batches(self, ctx: _FileContext, opened: Opened) -> Iterator[Batch]:
        size = self.options.batch_size
        records: list[tuple[int, Any, dict[str, Any]]] = []
        rows_read = 0
        for record in ctx.records(opened):
            records.append(record)
            if len(records) >= size:
                rows_read += len(records)
                yield self.build(ctx, records, rows_read, opened.position())
                records = []
        if records:
            rows_read += len(records)
            yield self.build(ctx, records, rows_read, opened.position())

    def build(
        self,
        ctx: _FileContext,
        records: list[tuple[int, Any, dict[str, Any]]],
        rows_read: int,
        position: int,
    ) -> Batch:
        """Each target's validated rows of `records`, one per key."""
        per_target: list[dict[Any, tuple[int, dict[str, Any], Any]]] = [{} for _ in ctx.plans]
        batch = Batch(per_target, [], rows_read, position)
        read = [0] * len(ctx.plans)
        unchanged = [0] * len(ctx.plans)
        skips = ctx.inp.source.skips if ctx.inp.source and ctx.inp.source.skip_if else None
        skipped = 0
        repeats: list[Repeats] = [{} for _ in ctx.plans]
        for line, original, rec in records:
            if skips is not None and skips(rec):
                skipped += 1
                continue
            bad = ctx.bad_key(original, rec)
            for t, tp in enumerate(ctx.plans):
                if bad is not None:
                    read[t] += 1
                    batch.reject(ctx, tp, line, bad, _bad_key_reason(original), original)
                    continue
                if ctx.ragged is not None and len(original) != ctx.ragged:
                    read[t] += 1
                    batch.reject(
                        ctx,
                        tp,
                        line,
                        "",
                        f"has {len(original)} fields, the header has {ctx.ragged}",
                        original,
                    )
                    continue
                try:
                    raw = tp.extract(rec)
                except ValidationError as e:
                    read[t] += 1
                    batch.reject(ctx, tp, line, e.field, e.reason, original)
                    continue
                if tp.optional and all(raw.get(k) in (None, "") for k in tp.entity.key):
                    continue
                read[t] += 1
                try:
                    row = tp.validator(raw)
                except ValidationError as e:
                    batch.reject(ctx, tp, line, e.field, e.reason, original)
                    continue
                key = tuple(row[k] for k in tp.entity.key)
                seen = per_target[t].get(key)
                if seen is None:
                    per_target[t][key] = (line, row, original)
                elif seen[1] == row:
                    unchanged[t] += 1
                    repeats[t].setdefault(key, []).append((line, original))
                else:
                    batch.reject(ctx, tp, line, *_conflict(seen, row), original)
        for t, tp in enumerate(ctx.plans):
            unchanged[t] += self.earlier_batches(ctx, t, per_target[t], repeats[t], batch)
            batch.count(tp.stats, read[t], unchanged[t])
            if skipped:
                batch.found.append(partial(_skipped, tp.stats, skipped))
        return self.prepare(ctx, batch)

    def earlier_batches(self, ctx: _FileContext, t: int,
                        rows_by_key: dict[Any, tuple[int, dict[str, Any], Any]],
                        repeats: Repeats, batch: Batch) -> int:
        """Treat the keys of target `t` that earlier batches of the file kept as if they
        were in this batch (`SeenKeys`): an identical row is dropped (returns how many:
        unchanged), a different one is rejected naming the earlier line, with the in-batch
        repeats of it. This batch's keys are hashed and remembered when the next batch
        comes (a file of one batch pays nothing)."""
        seen = ctx.seen[t]
        if ctx.pending[t]:
            seen.add(*SeenKeys.hashed(ctx.pending[t]))
        items = list(rows_by_key.items())
        dropped: set[int] = set()
        conflicts: list[tuple[int, int]] = []
        # what a row's hash is taken of: its validated row, or in the fast lane its fields
        # as read (see `seen_keys`)
        hashed = 2 if ctx.convert is not None else 1
        if len(seen):
            for i, line, earlier_row in seen.find([key_hash(k) for k, _ in items]):
                if row_hash(items[i][1][hashed]) == earlier_row:
                    dropped.add(i)
                else:
                    conflicts.append((i, line))
        unchanged = len(dropped)
        if conflicts:
            more, changed = self.conflicts(ctx, t, conflicts, lambda i: (items[i][0], *items[i][1]),
                                           repeats, batch)
            dropped |= more
            unchanged += changed
        ctx.pending[t] = [(key, item[0], item[hashed]) for i, (key, item) in enumerate(items)
                          if i not in dropped]
        for i in dropped:
            del rows_by_key[items[i][0]]
        return unchanged

    def conflicts(self, ctx: _FileContext, t: int, conflicts: list[tuple[int, int]],
                  item: Callable[[int], tuple[Any, int, dict[str, Any], Any]],
                  repeats: Repeats, batch: Batch) -> tuple[set[int], int]:
        """Rows `i` whose key hash an earlier batch kept at `line`, for (i, line) in
        `conflicts` (`item(i)`: the row's key, line, row and original): read those lines
        again; a row whose key they have is dropped and, when its values differ, rejected
        with its repeats in this batch. Returns (the rows dropped, the change in the
        unchanged count)."""
        tp = ctx.plans[t]
        earlier = ctx.rows_at(t, {line for _, line in conflicts})
        dropped: set[int] = set()
        unchanged = 0
        for i, line in conflicts:
            key, at, row, original = item(i)
            before = earlier.get(line)
            if before is None or tuple(before[k] for k in tp.entity.key) != key:
                continue  # two keys with one hash: no duplicate
            dropped.add(i)
            if before == row:  # the same row written differently: a repeat after all
                unchanged += 1 + len(repeats.get(key, ()))
                continue
            fld, reason = _conflict((line, before, None), row)
            batch.reject(ctx, tp, at, fld, reason, original)
            for repeat_line, repeat_original in repeats.get(key, ()):
                batch.reject(ctx, tp, repeat_line, fld, reason, repeat_original)
                unchanged -= 1  # counted unchanged as a repeat of a rejected row
        return dropped, unchanged

    def prepare(self, ctx: _FileContext, batch: Batch) -> Batch:
        """Here in the reader thread, put each target's rows in the order they are
        written, and let the store do the part of the write that needs no database
        (`Repository.prepare_rows`): used when no row of the target is rejected on the
        way."""
        batch.ordered = [
            _ordered(tp, rows.values())
            for tp, rows in zip(ctx.plans, batch.per_target, strict=True)
        ]
        batch.rows = [[r for _, r, _ in items] for items in batch.ordered]
        if not self.options.dry_run:
            batch.prepare = partial(self._prepare_rows, ctx, batch.rows)
        return batch

    def _prepare_rows(self, ctx: _FileContext, rows: list[list[dict[str, Any]]]) -> list[Any]:
        return [self.store.prepare_rows(tp.entity.name, target_rows, tp.mode)
                for tp, target_rows in zip(ctx.plans, rows, strict=True)]

    def value_batches(self, ctx: _FileContext, opened: Opened) -> Iterator[Batch]:
        """The batches of a plain CSV whose columns feed one entity (`ctx.convert` is set):
        the checks of `build`, in the same order, on the reader's value lists, in one loop
        (no dict, tuple or generator step per record)."""
        tp, inp, size = ctx.plans[0], ctx.inp, self.options.batch_size
        convert, key_of, width = ctx.convert, ctx.key_of, ctx.ragged
        assert convert is not None and key_of is not None
        reader = textrows.reader(opened.text, inp.delimiter)
        next(reader, None)  # the header, read by `read_header`
        prev = reader.line_num
        rows_by_key: dict[Any, tuple[int, dict[str, Any], Any]] = {}
        repeats: Repeats = {}
        batch = Batch([rows_by_key], [])
        count = total = unchanged = 0
        for values in reader:
            line = prev + 1  # where the record starts: quoted fields may hold newlines
            prev = reader.line_num
            if not values:
                continue
            count += 1
            if len(values) != width:
                batch.reject(
                    ctx, tp, line, "", f"has {len(values)} fields, the header has {width}", values
                )
            else:
                try:
                    row = convert(values)
                except ValidationError as e:
                    batch.reject(ctx, tp, line, e.field, e.reason, values)
                else:
                    key = key_of(row)
                    seen = rows_by_key.get(key)
                    if seen is None:
                        rows_by_key[key] = (line, row, values)
                    elif seen[1] == row:
                        unchanged += 1
                        repeats.setdefault(key, []).append((line, values))
                    else:
                        batch.reject(ctx, tp, line, *_conflict(seen, row), values)
            if count >= size:
                total += count
                unchanged += self.earlier_batches(ctx, 0, rows_by_key, repeats, batch)
                batch.count(tp.stats, count, unchanged)
                batch.rows_read, batch.position = total, opened.position()
                yield self.prepare(ctx, batch)
                rows_by_key, repeats = {}, {}
                batch = Batch([rows_by_key], [])
                count = unchanged = 0
        if count:
            unchanged += self.earlier_batches(ctx, 0, rows_by_key, repeats, batch)
            batch.count(tp.stats, count, unchanged)
            batch.rows_read, batch.position = total + count, opened.position()
            yield self.prepare(ctx, batch)

    def column_batches(self, ctx: _FileContext, opened: Opened) -> Iterator[Batch]:
        """The batches of `value_batches`, read and checked a column at a time
        (`columnar`): the same rejects, counts and rows, with the validator called only
        for the rows a vectorised check is unsure of, and on the rarer paths."""
        tp, inp = ctx.plans[0], ctx.inp
        assert ctx.ragged is not None
        total = 0
        for raw, lines, ragged, position in columnar.read_batches(
            str(inp.path), inp.name, inp.gz, inp.delimiter, ctx.ragged,
            self.options.batch_size, inp.longest_line,
        ):
            batch = Batch([{}], [])
            count = raw.num_rows + len(ragged)
            total += count
            found: list[tuple[int, str, str, Any]] = []
            rows = self.checked_columns(ctx, raw, lines, ragged, found)
            repeats: Repeats = {}
            fresh = self.fresh_keys(ctx, rows)
            rows, unchanged = (rows, 0) if fresh else self.repeated_keys(ctx, rows, found,
                                                                         repeats)
            for line, fld, reason, values in sorted(found, key=operator.itemgetter(0)):
                batch.reject(ctx, tp, line, fld, reason, values)
            rows, earlier = self.earlier_columns(ctx, batch, rows, repeats, fresh)
            batch.count(tp.stats, count, unchanged + earlier)
            batch.rows_read, batch.position = total, position
            batch.rows = [rows]
            batch.ordered = [columnar.ColumnItems(rows)]
            if not self.options.dry_run:
                batch.prepare = partial(self._prepare_columns, tp, rows.table)
            yield batch

    def _prepare_columns(self, tp: TargetPlan, table: Any) -> list[Any]:
        return [self.store.prepare_columns(tp.entity.name, table, tp.mode)]

    def checked_columns(self, ctx: _FileContext, raw: Any, lines: Any,
                        ragged: list[tuple[int, str]], found: list[tuple[int, str, str, Any]]
                        ) -> columnar.ColumnRows:
        """One batch's validated rows, in file order, without the rows the validator
        rejects (into `found`, with the ragged records, as (line, field, reason, values))."""
        import pyarrow as pa

        tp, width, convert = ctx.plans[0], ctx.ragged, ctx.convert
        assert convert is not None
        for line, text in ragged:
            values = text.split(ctx.inp.delimiter)
            found.append((line, "", f"has {len(values)} fields, the header has {width}", values))
        columns, sure_mask = columnar.validated(raw, tp.entity, ctx.positions)
        sure = sure_mask.to_numpy(zero_copy_only=False)
        table = pa.table(columns)
        unsure = np.flatnonzero(~sure)
        if len(unsure):
            kept, made = [], []
            texts = [raw.column(j).take(unsure).to_pylist() for j in range(raw.num_columns)]
            for k, i in enumerate(unsure.tolist()):
                values = [col[k] for col in texts]
                try:
                    made.append(convert(values))
                except ValidationError as e:
                    found.append((int(lines[i]), e.field, e.reason, values))
                    continue
                kept.append(i)
            at = np.concatenate([np.flatnonzero(sure), np.array(kept, dtype=np.int64)])
            extra = pa.table(columnar.from_rows(made, tp.entity), schema=table.schema)
            table = pa.concat_tables([table.filter(pa.array(sure)), extra])
            order = np.argsort(lines[at], kind="stable")  # back in file order
            table, raw, lines = table.take(order), raw.take(at[order]), lines[at[order]]
        return columnar.ColumnRows(table, raw, lines, convert, tp.entity.key)

    def fresh_keys(self, ctx: _FileContext, rows: columnar.ColumnRows) -> bool:
        """Whether no key of `rows` can have come before in the file: its batches so far
        and this one in strictly increasing key order (as most exports are written), and
        this one's lowest key above the highest before it. Then no key is looked up, in
        the batch or among the earlier batches' (the first batch out of order ends this
        for the rest of the file)."""
        if not ctx.in_order:
            return False
        ends = columnar.increasing_ends(rows.table, ctx.plans[0].entity.key)
        if ends is None or (ctx.highest is not None and ends and ends[0] <= ctx.highest):
            ctx.in_order = False
            return False
        if ends:
            ctx.highest = ends[1]
        return True

    def repeated_keys(self, ctx: _FileContext, rows: columnar.ColumnRows,
                      found: list[tuple[int, str, str, Any]], repeats: Repeats
                      ) -> tuple[columnar.ColumnRows, int]:
        """Keys given more than once in the batch, as `value_batches` treats them: the
        first row stays, an identical one is a repeat (unchanged, into `repeats`), another
        is rejected (into `found`). Returns the rows kept and the number of repeats."""
        key_fields = ctx.plans[0].entity.key
        _, inverse, counts = np.unique(rows.keys, return_inverse=True, return_counts=True)
        twice = np.flatnonzero(counts[inverse] > 1)  # a hash seen twice: compare the keys
        first: dict[Any, tuple[int, dict[str, Any], Any]] = {}
        drop, unchanged = [], 0
        for i in twice.tolist():
            row, values, line = rows[i], rows.values(i), int(rows.lines[i])
            key = tuple(row[k] for k in key_fields)
            seen = first.get(key)
            if seen is None:
                first[key] = (line, row, values)
                continue
            drop.append(i)
            if seen[1] == row:
                unchanged += 1
                repeats.setdefault(key, []).append((line, values))
            else:
                found.append((line, *_conflict(seen, row), values))
        return rows.without(drop), unchanged

    def earlier_columns(self, ctx: _FileContext, batch: Batch, rows: columnar.ColumnRows,
                        repeats: Repeats, fresh: bool = False
                        ) -> tuple[columnar.ColumnRows, int]:
        """`earlier_batches` for a columnar batch: the rows without those whose key an
        earlier batch kept, and how many of those were unchanged. `fresh`: none can be
        (`fresh_keys`)."""
        seen, key_fields = ctx.seen[0], ctx.plans[0].entity.key
        if ctx.pending[0]:
            seen.add(*ctx.pending[0])
        dropped: set[int] = set()
        conflicts: list[tuple[int, int]] = []
        for i, line, earlier in seen.find(rows.keys) if len(seen) and not fresh else []:
            if rows.hashes[i] == earlier:
                dropped.add(i)
            else:
                conflicts.append((i, line))
        unchanged = len(dropped)
        if conflicts:

            def item(i: int) -> tuple[Any, int, dict[str, Any], Any]:
                row = rows[i]
                key = tuple(row[k] for k in key_fields)
                return key, int(rows.lines[i]), row, rows.values(i)

            more, changed = self.conflicts(ctx, 0, conflicts, item, repeats, batch)
            dropped |= more
            unchanged += changed
        rows = rows.without(sorted(dropped))
        ctx.pending[0] = [rows.keys, rows.lines, rows.hashes]
        return rows, unchanged

    # writing (in the calling thread) --------------------------------------------------------

    def _write_batch(self, ctx: _FileContext, batch: Batch) -> None:
        if self.options.dry_run:
            self._write(ctx, batch, self.dry_known)
            return

        def attempt() -> list[Callable[[], None]]:
            """One try at the batch; its counts and rejects are kept until it commits, so
            that a retried batch is counted once."""
            self.pending = []
            if len(ctx.plans) > 1:
                with self.store.transaction():
                    self._write(ctx, batch, {})
            else:
                self._write(ctx, batch, None)
            return self.pending

        def checked_attempt() -> list[Callable[[], None]]:
            """References are left to a database that checks them (a clean file pays no
            lookups); once it refuses a batch (nothing written), this file's batches are
            checked first, so that only the rows with a dangling reference are rejected."""
            if ctx.refs_first:
                return attempt()
            try:
                return attempt()
            except MissingReference:
                ctx.refs_first = True
                return attempt()

        try:
            # A transient conflict is retried for a while: e.g. a transaction that a killed
            # import left open on a MongoDB server holds its documents until the server
            # expires it (60 s by default).
            effects = self.store.retrying(checked_attempt, patience=RETRY_PATIENCE)
        finally:
            self.pending = None
        for effect in effects:
            effect()

    def later(self, effect: Callable[[], None]) -> None:
        """Apply `effect` now, or once the batch being written has committed."""
        if self.pending is None:
            effect()
        else:
            self.pending.append(effect)

    def _write(self, ctx: _FileContext, batch: Batch, written: dict[str, set[Any]] | None) -> None:
        """Write each target's rows; `written` collects the keys written (for the later
        targets of the batch and for --dry-run), None when nothing reads them."""
        for t, tp in enumerate(ctx.plans):
            items, all_rows = batch.ordered[t], batch.rows[t]
            prepared = batch.prepared[t] if batch.prepared else None
            if ctx.refs_first:
                kept = self._check_refs(ctx, tp, items, written or {})
                if len(kept) < len(items):  # in the same order, without the rejected rows
                    items, all_rows, prepared = kept, [r for _, r, _ in kept], None
            groups: dict[tuple[str, ...], list[tuple[int, dict[str, Any], Any]]] = {}
            if tp.mode is Mode.MERGE:
                prepared = None
                for item in items:
                    groups.setdefault(tuple(item[1]), []).append(item)
            elif items:
                groups[()] = items
            done = written.setdefault(tp.entity.name, set()) if written is not None else None
            for fields, group in groups.items():
                rows = [r for _, r, _ in group] if fields else all_rows
                names = list(fields) or tp.entity.field_names
                if self.options.dry_run:
                    result = dry_write(self.store, tp.entity, rows, tp.mode, names)
                else:
                    result = self.store.write_batch(tp.entity.name, rows, tp.mode, names, prepared)
                self.later(partial(add_counts, tp.stats, result))
                gone = set()
                for i, reason in result.rejected:
                    line, _, original = group[i]
                    self.later(
                        partial(
                            self.rejected, ctx, tp, line, ",".join(tp.entity.key), reason, original
                        )
                    )
                    if "exists" not in reason:  # an existing key stays in the store
                        gone.add(i)
                if done is not None:
                    for i, row in enumerate(rows):
                        if i not in gone:
                            done.add(tuple(row[k] for k in tp.entity.key))

    def _check_refs(
        self,
        ctx: _FileContext,
        tp: TargetPlan,
        items: list[tuple[int, dict[str, Any], Any]],
        written: dict[str, set[Any]],
    ) -> list[tuple[int, dict[str, Any], Any]]:
        rows = [item[1] for item in items]
        for f in tp.entity.references:
            parent = f.ref or ""
            values = column_values(rows, f.name)
            values.discard(None)
            if not values:
                continue
            known = self.known.setdefault(parent, set())
            batch_keys = written.get(parent, set())
            if parent == tp.entity.name:
                batch_keys = batch_keys | {row[tp.entity.key[0]] for _, row, _ in items}
                batch_keys = {k[0] if isinstance(k, tuple) else k for k in batch_keys}
            else:
                batch_keys = {k[0] for k in batch_keys}
            unknown = [v for v in values if v not in known and v not in batch_keys]
            if unknown:
                found = {k[0] for k in self.store.existing_keys(parent, [(v,) for v in unknown])}
                if len(known) > KEY_CACHE_LIMIT:
                    known.clear()
                known.update(found)
                missing = set(unknown) - found
                if missing:
                    kept = []
                    for item in items:
                        value = item[1].get(f.name)
                        if value in missing:
                            self.later(
                                partial(
                                    self.rejected,
                                    ctx,
                                    tp,
                                    item[0],
                                    f.name,
                                    f"{parent} {value!r} does not exist",
                                    item[2],
                                )
                            )
                        else:
                            kept.append(item)
                    items = kept
        return items

    # a file -------------------------------------------------------------------------------

    def run_file(self, inp: Input, lookups: Lookups) -> None:
        started = time.perf_counter()
        ctx = _FileContext(inp, self)
        if inp.fmt in ("csv", "tsv"):
            ctx.columns = read_header(inp)
            ctx.ragged = len(ctx.columns)
        else:
            ctx.columns = inp.keys
        ctx.plans = plan_targets(inp, ctx.columns, self.options, self.summary, lookups)
        ctx.seen = [SeenKeys() for _ in ctx.plans]
        ctx.pending = [[] for _ in ctx.plans]
        ctx.bad_columns = [c for c in ctx.columns if _bad_key(c)]
        ctx.normalized = [normalize_name(c) for c in ctx.columns]
        self.summary.files.append(inp.name)
        ctx.plan_values()
        opened = Opened(inp)
        read = (self.column_batches if ctx.columnar else
                self.value_batches if ctx.convert is not None else self.record_batches)
        try:
            # the batch after next is read and validated, and the next one prepared, while
            # this one is written
            reading = prefetched(read(ctx, opened))
            with closing(prefetched(prepared(reading), "ecom-import-preparer")) as batches:
                for batch in batches:
                    for effect in batch.found:
                        effect()
                    self._write_batch(ctx, batch)
                    self._after_batch(inp, batch, opened.total)
                    heap.give_back()  # the batch written: its pages, not kept for later
        except csv.Error as e:
            raise EcomError(f"{inp.name}: {e}") from None
        except UnicodeDecodeError as e:
            raise EcomError(f"{inp.name}: not valid {inp.encoding}: pass --encoding") from e
        finally:
            opened.close()
            elapsed = time.perf_counter() - started
            for tp in ctx.plans:
                tp.stats.seconds += elapsed

    def _after_batch(self, inp: Input, batch: Batch, total: int) -> None:
        self.builds.poll()
        if self.progress is not None:
            self.progress(inp.name, batch.rows_read, batch.position, total)
        limit = self.options.max_errors
        if limit is not None and self.summary.rejected > limit:
            self.summary.stopped = (
                f"stopped after more than {limit} rejected rows ({self.summary.rejected}); "
                "batches already written stay"
            )
            raise ImportStopped(self.summary.stopped, self.summary)


class _FileContext:
    def __init__(self, inp: Input, importer: Importer) -> None:
        self.inp = inp
        self.importer = importer
        self.columns: list[str] = []
        self.normalized: list[str] = []
        self.bad_columns: list[str] = []
        self.plans: list[TargetPlan] = []
        self.ragged: int | None = None
        # look references up before writing: the store does not check them, --dry-run, or
        # this file has had a dangling one (`Importer._write_batch`)
        self.refs_first = importer.options.dry_run or not importer.store.enforces_references
        # the value-list fast lane (`Importer.batch_values`), set by `plan_values`
        self.convert: Callable[[Sequence[Any]], dict[str, Any]] | None = None
        self.key_of: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None
        self.seen: list[SeenKeys] = []  # per target: the keys earlier batches kept
        self.pending: list[Any] = []  # the last batch's
        # the columnar lane (`Importer.column_batches`), set by `plan_values`
        self.positions: dict[str, int] = {}
        self.columnar = False
        # its batches so far in increasing key order, and their highest key (`fresh_keys`)
        self.in_order = True
        self.highest: tuple[Any, ...] | None = None

    def plan_values(self) -> None:
        """Use the fast lane for a CSV/TSV without a mapping section (its columns map 1:1
        onto one entity's fields) and without `$`/`.` column names."""
        if (
            self.inp.fmt not in ("csv", "tsv")
            or self.inp.source is not None
            or len(self.plans) != 1
            or self.bad_columns
            or self.plans[0].optional
        ):
            return
        tp = self.plans[0]
        index = {name: i for i, name in enumerate(self.normalized)}
        positions = {
            f.name: index[col] for f in tp.entity.fields if (col := normalize_name(f.name)) in index
        }
        if sorted(positions) != sorted(name for name, _ in tp.getters):
            return
        self.convert = tp.validator.for_columns(positions)
        self.key_of = key_getter(tp.entity)
        self.positions = positions
        options, store = self.importer.options, self.importer.store
        self.columnar = (
            store.prepares_columns
            and not options.dry_run
            and tp.mode in (Mode.UPSERT, Mode.IGNORE)
            and self.inp.path.stat().st_size >= COLUMNAR_MIN_BYTES
            and self.inp.longest_line <= columnar.LONGEST_LINE
            and columnar.usable(tp.entity, positions, self.inp.encoding, self.inp.plain,
                                tp.validator.date_format)
        )

    def records(self, opened: Opened) -> Iterator[tuple[int, Any, dict[str, Any]]]:
        if self.inp.fmt in ("csv", "tsv"):
            names = self.normalized
            for line, values in iter_csv(self.inp, opened):
                yield line, values, dict(zip(names, values, strict=False))
        else:
            source = (
                iter_ndjson(self.inp, opened) if self.inp.fmt == "ndjson" else iter_json(self.inp)
            )
            for line, obj in source:
                rec = {normalize_name(k): v for k, v in obj.items() if not _bad_key(k)}
                yield line, obj, rec

    def rows_at(self, t: int, lines: set[int]) -> dict[int, dict[str, Any]]:
        """Target `t`'s rows of `lines`, read again from the file (a key that an earlier
        batch kept, given again with other values)."""
        tp, found = self.plans[t], {}
        opened = Opened(self.inp)
        try:
            for line, original, rec in self.records(opened):
                if line in lines:
                    found[line] = (self.convert(original) if self.convert is not None
                                   else tp.validator(tp.extract(rec)))
                    if len(found) == len(lines):
                        break
        finally:
            opened.close()
        return found

    def bad_key(self, original: Any, rec: dict[str, Any]) -> str | None:
        if isinstance(original, dict):
            return _bad_key_in(original)
        for c in self.bad_columns:
            i = self.columns.index(c)
            if i < len(original) and original[i].strip():
                return c
        return None


def column_values(rows: list[dict[str, Any]], name: str) -> set[Any]:
    """The distinct values of one field (None for rows without it)."""
    try:
        return set(map(operator.itemgetter(name), rows))
    except KeyError:  # partial rows (merge)
        return {row.get(name) for row in rows}


def key_getter(e: Entity) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """`row -> (row[k] for k in e.key)` as a tuple, without a Python call per part."""
    if len(e.key) == 1:
        (name,) = e.key
        return lambda row: (row[name],)
    return operator.itemgetter(*e.key)


def _bad_key_reason(obj: Any) -> str:
    if getattr(obj, "repeated", None) is not None:
        return "given twice in one JSON object"
    return "field names may not start with '$' or contain '.'"


def _bad_key_in(obj: dict[str, Any]) -> str | None:
    if getattr(obj, "repeated", None) is not None:
        return obj.repeated  # type: ignore[attr-defined, no-any-return]
    for k, v in obj.items():
        if _bad_key(k):
            return k
        if isinstance(v, dict) and (inner := _bad_key_in(v)):
            return f"{k}.{inner}"
    return None


def dry_write(
    store: Repository, e: Entity, rows: list[dict[str, Any]], mode: Mode, fields: Sequence[str]
) -> WriteResult:
    """What `write_batch` would do, without writing."""
    result = WriteResult()
    keys = [e.key_of(r) for r in rows]
    existing = store.existing_keys(e.name, keys)
    compare = [n for n in fields if n not in e.key]
    for i, (row, key) in enumerate(zip(rows, keys, strict=True)):
        if key not in existing:
            if mode is Mode.MERGE and (why := missing_required(e, with_defaults(e, row))):
                result.rejected.append((i, why))
            else:
                result.inserted += 1
        elif mode is Mode.INSERT:
            result.rejected.append((i, "key already exists"))
        elif mode is Mode.IGNORE:
            result.ignored += 1
        else:
            stored = store.get(e.name, key) or {}
            if all(stored.get(n) == row.get(n) for n in compare):
                result.unchanged += 1
            else:
                result.updated += 1
    return result


def committed_so_far(summary: ImportSummary, mode: Mode) -> str:
    """What an import cut short left in the store (whole batches), and how to finish."""
    done = [
        f"{n:,} {row['entity']}" for row in summary.rows()
        if (n := row["inserted"] + row["updated"] + row["unchanged"] + row["ignored"])
    ]
    again = (
        "re-run it with --mode ignore to import the rest" if mode is Mode.INSERT
        else "re-run the same command to import the rest (rows already there are matched "
        "by key, not duplicated)"
    )
    return f"committed before that: {', '.join(done) or 'nothing'}; {again}"


class SummaryBuilds:
    """The summaries an import of several files builds beside itself: once a file is
    written, those whose inputs (entities) no later file writes, one build at a time (the
    machine's other core), so that the first reports after the import read them at once
    instead of building them (`Repository.build_summaries_beside`)."""

    def __init__(self, store: Repository | None = None,
                 entities: Sequence[set[str]] = ()) -> None:
        self.store = store
        self.entities = entities
        self.files_done = 0
        self.running: SummaryBuild | None = None
        self.asked = -1  # files_done when the store was last asked for a build

    def file_done(self) -> None:
        self.files_done += 1
        self.poll()

    def poll(self) -> None:
        """Between batches: put a finished build in, start the next one."""
        n = self.files_done
        if self.store is None or not 0 < n < len(self.entities):
            return  # after the last file, a build would only delay the import's end
        if self.running is not None and self.running.done():
            self.running.finish()
            self.running, self.asked = None, -1
        if self.running is None and self.asked != n:
            self.asked = n
            written = set().union(*self.entities[:n])
            self.running = self.store.build_summaries_beside(
                written, set().union(*self.entities[n:]))

    def finish(self) -> None:
        """At the end of the import: wait for the build under way and put it in (an
        interrupted wait leaves it to `stop`)."""
        if self.running is not None:
            self.running.finish()
            self.running = None

    def stop(self) -> None:
        if self.running is not None:
            running, self.running = self.running, None
            running.stop()


def import_paths(
    store: Repository,
    paths: Sequence[str | Path],
    options: ImportOptions | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import files, folders or `-` (stdin) into `store`; see the module docstring."""
    options = options or ImportOptions()
    options.mode = Mode(options.mode)
    heap.map_large_blocks()
    mapping = load_mapping(options.mapping) if options.mapping else None
    importer = Importer(store, options, progress)
    summary = importer.summary
    spool: list[Path] = []
    builds = SummaryBuilds()
    started = time.perf_counter()
    lookups = Lookups(Path(options.mapping).parent if options.mapping else Path.cwd())
    if store.schema_version() is None:  # before any rejects file is opened
        raise EcomError(f"{store.url.masked} has no ecom schema: run `ecom init-db` first")
    try:
        inputs = collect_inputs(paths, options, mapping, summary, spool)
        refuse_clobber(
            [("--rejects" if options.rejects else "the rejects file", p)
             for p in dict.fromkeys(inp.rejects for inp in inputs)],
            store.files(),
            [inp.path for inp in inputs] + ([Path(options.mapping)] if mapping else []),
            store.url.masked,
        )
        entities = []
        for inp in inputs:  # every check that needs no writing, for every input, first
            prescan(inp)
            columns = read_header(inp) if inp.fmt in ("csv", "tsv") else inp.keys
            plans = plan_targets(inp, columns, options, ImportSummary(), lookups)
            entities.append({tp.entity.name for tp in plans})
        if not options.dry_run:
            builds = importer.builds = SummaryBuilds(store, entities)
        with gc_paused():
            for inp in inputs:
                importer.run_file(inp, lookups)
                builds.file_done()
        builds.finish()
    except ConnectionFailed as e:  # the server went away: say what stays and what to do
        raise ConnectionFailed(f"{e}; {committed_so_far(summary, options.mode)}") from e
    finally:
        builds.stop()  # (an import that stopped early: no build goes on after it)
        summary.notices.extend(lookups.notes())  # also when the import stops early
        importer.rejects.close()
        for p in spool:
            p.unlink(missing_ok=True)
        summary.seconds = time.perf_counter() - started
    return summary


__all__ = ["FieldSpec", "ImportOptions", "ImportStopped", "ImportSummary", "import_paths"]
