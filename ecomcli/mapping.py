"""Mapping files: how `ecom import --map FILE` turns someone else's export into ecom rows.

A mapping is TOML. Each *target* table says how to derive one entity's rows from a source
record; a *source* section groups targets for the files whose names match its globs, so one
mapping can cover a whole export folder. Without `[sources]`, top-level entity tables apply
to every file:

    date_format = "%m/%d/%Y %H:%M"          # default for every datetime field

    [customers]                             # one customers row per source line
    customer_id = { column = "CustomerID", as_int = true }

    [sources.payments]                      # files whose name matches `match`
    match = "olist_order_payments*.csv"
    [sources.payments.payments]
    payment_id = { template = "{order_id}-{payment_sequential}" }
    method = { column = "payment_type", map = { boleto = "bank_transfer" } }

A field spec is a column name, or a table with one source (`column`, `value`,
`template`, `sequence` or `expr`, exact decimal arithmetic over columns), cases (`when`:
a constant where a column has a prefix, matches a regular expression or equals a value),
and conversions applied in this order to a value from the file: `trim`, `map`, `lookup`,
`as_int`, `scale`, `date_format`; a value still empty then takes `default`, as given.
Columns whose name matches a field of the target are taken as they are unless
`passthrough = false`. `skip_if` (conditions like `when`'s) skips a source's lines. See
docs/importing.md.
"""

from __future__ import annotations

import csv
import fnmatch
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from collections.abc import Mapping as MappingT
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ecomcli import schema
from ecomcli.decimal_expr import Expression
from ecomcli.errors import EcomError, UsageError, ValidationError
from ecomcli.repository import Mode
from ecomcli.schema import Entity, normalize_name

SOURCE_SETTINGS = {
    "match", "skip", "date_format", "delimiter", "encoding", "skip_if", "columns",
}
TARGET_SETTINGS = {"passthrough", "mode", "optional"}
SPEC_KEYS = {
    "column",
    "sequence",
    "value",
    "template",
    "trim",
    "default",
    "map",
    "lookup",
    "as_int",
    "scale",
    "date_format",
    "expr",
    "round",
    "when",
}
CONDITION_TESTS = ("prefix", "regex", "equals")

Record = MappingT[str, Any]  # normalized column name -> raw value


@dataclass(frozen=True)
class Lookup:
    """Replace a value by another column of a second file (`customer_id` -> the person).
    A key the file lacks, or gives several different values, rejects the row; `optional`:
    it gives an empty value instead (a review's order -> its product, when it has one)."""

    file: str
    key: str
    value: str
    optional: bool = False


AMBIGUOUS = object()  # a lookup key with several different values in its file


@dataclass(frozen=True)
class Condition:
    """A test on one column's text: it starts with `prefix`, `regex` matches somewhere in
    it (`re.search`), or it `equals` a value."""

    column: str  # normalized column name
    prefix: str | None = None
    regex: re.Pattern[str] | None = None
    equals: str | None = None

    def __call__(self, rec: Record) -> bool:
        value = rec.get(self.column)
        text = "" if value is None else str(value)
        if self.prefix is not None:
            return text.startswith(self.prefix)
        if self.regex is not None:
            return self.regex.search(text) is not None
        return text == self.equals


@dataclass(frozen=True)
class Case:
    """`when`: the field is `value` on the lines where `test` holds."""

    test: Condition
    value: Any


@dataclass(frozen=True)
class FieldSpec:
    column: str | None = None  # normalized column name
    sequence: str | None = None  # 1, 2, 3... per distinct value of this column
    value: Any = None
    template: str | None = None
    trim: bool = False
    default: Any = None
    map: dict[str, Any] = field(default_factory=dict)
    lookup: Lookup | None = None
    as_int: bool = False
    scale: Decimal | None = None
    date_format: str | None = None
    expr: Expression | None = None
    cases: tuple[Case, ...] = ()

    def columns(self) -> list[str]:
        """The source columns this spec reads."""
        tested = [case.test.column for case in self.cases]
        if self.column is not None:
            return [self.column, *tested]
        if self.template is not None:
            return template_columns(self.template) + tested
        if self.sequence is not None:
            return [self.sequence, *tested]
        if self.expr is not None:
            return self.expr.columns + tested
        return tested


@dataclass(frozen=True)
class Target:
    entity: Entity
    specs: dict[str, FieldSpec]
    passthrough: bool = True
    mode: Mode | None = None  # overrides --mode for this entity (e.g. ignore)
    optional: bool = False  # a derived row whose key is empty is skipped, not rejected


@dataclass(frozen=True)
class Source:
    name: str
    match: tuple[str, ...]
    targets: tuple[Target, ...]
    skip: bool = False
    date_format: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    skip_if: tuple[Condition, ...] = ()  # a line any of them holds for is skipped
    columns: tuple[str, ...] = ()  # the names of a file without a header line

    def skips(self, rec: Record) -> bool:
        return any(test(rec) for test in self.skip_if)

    def matches(self, file_name: str) -> bool:
        name = file_name.lower()
        return any(fnmatch.fnmatchcase(name, pattern.lower()) for pattern in self.match)


@dataclass(frozen=True)
class MappingFile:
    path: Path
    sources: tuple[Source, ...]

    def source_for(self, file_name: str) -> Source | None:
        for source in self.sources:
            if source.matches(file_name):
                return source
        return None


def template_columns(template: str) -> list[str]:
    return [normalize_name(name) for _, name, _, _ in string.Formatter().parse(template) if name]


def load(path: str | Path) -> MappingFile:
    """Read and check a mapping file; errors name the file and the offending key."""
    p = Path(path)
    try:
        import tomllib  # on use: a mapping file is rare

        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"mapping file {p} not found") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"mapping file {p}: invalid TOML: {e}") from None
    return parse(data, p)


def parse(data: dict[str, Any], path: Path = Path("<mapping>")) -> MappingFile:
    where = str(path)
    defaults = {k: data[k] for k in SOURCE_SETTINGS - {"match", "skip"} if k in data}
    sources: list[Source] = []
    for name, section in (data.get("sources") or {}).items():
        if not isinstance(section, dict):
            raise UsageError(f"{where}: [sources.{name}] must be a table")
        sources.append(_source(name, {**defaults, **section}, where))
    top = {k: v for k, v in data.items() if k not in SOURCE_SETTINGS and k != "sources"}
    if top:
        sources.append(_source("*", {**defaults, **top, "match": "*"}, where))
    if not sources:
        raise UsageError(f"{where}: no entity table and no [sources] section: nothing to map")
    return MappingFile(path, tuple(sources))


def _flag(table: dict[str, Any], key: str, default: bool, where: str) -> bool:
    """A true/false setting: TOML's own booleans only (`"false"` is a string, not false)."""
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise UsageError(f"{where}: {key} must be true or false, got {value!r}")
    return value


def _source(name: str, section: dict[str, Any], where: str) -> Source:
    match = section.get("match", f"{name}.*")
    patterns = (match,) if isinstance(match, str) else tuple(match)
    targets = []
    for key, value in section.items():
        if key in SOURCE_SETTINGS:
            continue
        ent = schema.find_entity(key)
        if ent is None or not isinstance(value, dict):
            raise UsageError(
                f"{where}: [{name}] {key!r} is neither a setting "
                f"({', '.join(sorted(SOURCE_SETTINGS))}) nor an entity table"
            )
        targets.append(_target(ent, value, f"{where}: [{name}.{key}]"))
    skip = _flag(section, "skip", False, f"{where}: [{name}]")
    if not targets and not skip:
        raise UsageError(f"{where}: source {name!r} has no entity table (or set skip = true)")
    order = {e.name: i for i, e in enumerate(schema.load_order())}
    targets.sort(key=lambda t: order[t.entity.name])
    return Source(
        name=name,
        match=patterns,
        targets=tuple(targets),
        skip=skip,
        date_format=section.get("date_format"),
        delimiter=section.get("delimiter"),
        encoding=section.get("encoding"),
        skip_if=_conditions(section.get("skip_if", []), f"{where}: [{name}] skip_if"),
        columns=_names(section.get("columns", []), f"{where}: [{name}] columns"),
    )


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise UsageError(f"{where}: expected a list of column names, got {value!r}")
    return tuple(value)


def _conditions(value: Any, where: str) -> tuple[Condition, ...]:
    """One condition table or a list of them."""
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise UsageError(f"{where}: expected a table or a list of tables, got {value!r}")
    return tuple(_condition(item, None, where) for item in items)


def _condition(item: Any, column: str | None, where: str) -> Condition:
    """`{ column = "C", prefix = "X" }` (or `regex`, `equals`); `column` defaults to the
    field's own column."""
    if not isinstance(item, dict):
        raise UsageError(f"{where}: expected a table, got {item!r}")
    tests = [k for k in CONDITION_TESTS if k in item]
    unknown = set(item) - {"column", "value", *CONDITION_TESTS}
    if len(tests) != 1 or unknown:
        raise UsageError(
            f"{where}: a condition is a column and one of {', '.join(CONDITION_TESTS)}"
        )
    col = normalize_name(item["column"]) if "column" in item else column
    if col is None:
        raise UsageError(f"{where}: the condition needs a column")
    test, text = tests[0], str(item[tests[0]])
    if test == "regex":
        try:
            return Condition(col, regex=re.compile(text))
        except re.error as e:
            raise UsageError(f"{where}: invalid regex {text!r}: {e}") from None
    return Condition(col, **{test: text})


def _target(ent: Entity, table: dict[str, Any], where: str) -> Target:
    specs: dict[str, FieldSpec] = {}
    mode = table.get("mode")
    if mode is not None and mode not in {m.value for m in Mode}:
        raise UsageError(f"{where}: mode {mode!r} is not one of {', '.join(m.value for m in Mode)}")
    for key, value in table.items():
        if key in TARGET_SETTINGS:
            continue
        if not ent.has_field(key):
            raise UsageError(
                f"{where}: {ent.name} has no field {key!r}; fields: {', '.join(ent.field_names)}"
            )
        specs[key] = _spec(value, f"{where} {key}")
    return Target(
        entity=ent,
        specs=specs,
        passthrough=_flag(table, "passthrough", True, where),
        mode=Mode(mode) if mode else None,
        optional=_flag(table, "optional", False, where),
    )


def _template(template: Any, where: str) -> str:
    """A template of `{column}` names and text only: a conversion or format spec
    (`{id!r:>5}`) would be dropped silently when the row is built."""
    if not isinstance(template, str):
        raise UsageError(f"{where}: template must be a string, got {template!r}")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as e:
        raise UsageError(f"{where}: template {template!r}: {e}") from None
    for _, name, spec, conversion in parts:
        if name is not None and (not name or spec or conversion):
            raise UsageError(
                f"{where}: template {template!r}: only {{column}} names are allowed, "
                "without a conversion (!r) or format spec (:>5)"
            )
    return template


def _spec(value: Any, where: str) -> FieldSpec:
    if isinstance(value, str):
        return FieldSpec(column=normalize_name(value))
    if not isinstance(value, dict):
        raise UsageError(f"{where}: expected a column name or a table, got {value!r}")
    unknown = set(value) - SPEC_KEYS
    if unknown:
        raise UsageError(
            f"{where}: unknown key {sorted(unknown)[0]!r}; use {', '.join(sorted(SPEC_KEYS))}"
        )
    sources = [k for k in ("column", "value", "template", "sequence", "expr") if k in value]
    if "when" in value and sources == ["column", "value"]:
        sources = ["value"]  # the column its cases test, the value where none holds
    if len(sources) > 1:
        raise UsageError(f"{where}: give only one of column, value, template, sequence, expr")
    column = normalize_name(value["column"]) if "column" in value else None
    when = value.get("when", [])
    when = [when] if isinstance(when, dict) else when
    if not isinstance(when, list) or not all(isinstance(w, dict) and "value" in w for w in when):
        raise UsageError(f"{where}: when is a list of conditions, each with a value")
    cases = tuple(Case(_condition(w, column, f"{where} when"), w["value"]) for w in when)
    expr = None
    if "expr" in value:
        places = value.get("round", 2)
        if not isinstance(places, int) or isinstance(places, bool) or places < 0:
            raise UsageError(f"{where}: round must be a whole number of places, got {places!r}")
        expr = Expression.parse(str(value["expr"]), places, where)
    elif "round" in value:
        raise UsageError(f"{where}: round applies to expr only")
    lookup = None
    if "lookup" in value:
        lk = value["lookup"]
        keys = set(lk) if isinstance(lk, dict) else set()
        if not {"file", "key", "value"} <= keys <= {"file", "key", "value", "optional"}:
            raise UsageError(f"{where}: lookup needs file, key and value (and may be optional)")
        key, found = normalize_name(lk["key"]), normalize_name(lk["value"])
        lookup = Lookup(lk["file"], key, found, _flag(lk, "optional", False, f"{where} lookup"))
    scale = None
    if "scale" in value:
        try:
            scale = Decimal(str(value["scale"]))
        except InvalidOperation:
            raise UsageError(f"{where}: scale {value['scale']!r} is not a number") from None
    return FieldSpec(
        column=column,
        sequence=normalize_name(value["sequence"]) if "sequence" in value else None,
        value=value.get("value"),
        template=_template(value["template"], where) if "template" in value else None,
        trim=_flag(value, "trim", False, where),
        default=value.get("default"),
        map={str(k): v for k, v in (value.get("map") or {}).items()},
        lookup=lookup,
        as_int=_flag(value, "as_int", False, where),
        scale=scale,
        date_format=value.get("date_format"),
        expr=expr,
        cases=cases,
    )


# --- applying a target to records ----------------------------------------------------------

Getter = Callable[[Record], Any]


class Lookups:
    """Lookup tables, loaded once per import from files next to the input (or the mapping),
    and how many values each optional lookup left empty (`blanks`, told after the import)."""

    def __init__(self, mapping_dir: Path, encoding: str = "utf-8-sig") -> None:
        self.mapping_dir = mapping_dir
        self.encoding = encoding
        self.tables: dict[tuple[Path, str, str], dict[str, Any]] = {}
        self.blanks: Counter[str] = Counter()

    def notes(self) -> list[str]:
        return [f"{told} on {n:,} row{'s' * (n != 1)}" for told, n in self.blanks.items()]

    def table(self, lookup: Lookup, input_dir: Path) -> dict[str, Any]:
        path = input_dir / lookup.file
        if not path.exists():
            path = self.mapping_dir / lookup.file
        if not path.exists():
            raise EcomError(f"lookup file {lookup.file} not found next to the input or mapping")
        ident = (path.resolve(), lookup.key, lookup.value)
        if ident not in self.tables:
            self.tables[ident] = _read_lookup(path, lookup, self.encoding)
        return self.tables[ident]


def _read_lookup(path: Path, lookup: Lookup, encoding: str) -> dict[str, Any]:
    with path.open(newline="", encoding=encoding) as fh:
        reader = csv.reader(fh)
        header = [normalize_name(h) for h in next(reader, [])]
        try:
            k, v = header.index(lookup.key), header.index(lookup.value)
        except ValueError:
            raise EcomError(
                f"lookup file {path}: needs columns {lookup.key!r} and {lookup.value!r}"
            ) from None
        table: dict[str, Any] = {}
        for row in reader:
            if len(row) > max(k, v) and table.setdefault(row[k], row[v]) != row[v]:
                table[row[k]] = AMBIGUOUS
        return table


def compile_spec(
    name: str,
    spec: FieldSpec,
    date_format: str | None,
    lookup_table: dict[str, Any] | None,
    blank: Callable[[], Any] | None = None,
) -> Getter:
    """One function: source record -> the raw value of field `name` (may raise
    ValidationError naming the field). `blank` is called for each value an optional lookup
    leaves empty."""
    if spec.template is not None:
        parts = [
            (lit, normalize_name(col) if col else None)
            for lit, col, _, _ in string.Formatter().parse(spec.template)
        ]

        def base(rec: Record) -> Any:
            out = []
            for lit, col in parts:
                out.append(lit)
                if col is not None:
                    v = rec.get(col)
                    out.append("" if v is None else str(v))
            return "".join(out)

    elif spec.sequence is not None:
        group, counters = spec.sequence, {}  # memory: one counter per distinct group value

        def base(rec: Record) -> Any:
            k = rec.get(group)
            counters[k] = n = counters.get(k, 0) + 1
            return n

    elif spec.expr is not None:
        base = spec.expr

    elif spec.value is not None and (spec.column is None or spec.cases):
        const = spec.value

        def base(rec: Record) -> Any:
            return const

    else:
        col = spec.column or normalize_name(name)

        def base(rec: Record) -> Any:
            return rec.get(col)

    steps: list[Callable[[Any], Any]] = []
    if spec.trim:
        steps.append(lambda v: v.strip() if isinstance(v, str) else v)
    if spec.map:
        table = spec.map
        steps.append(lambda v: table.get(v, v) if isinstance(v, str) else v)
    if lookup_table is not None:
        lookup: Lookup = spec.lookup  # type: ignore[assignment]

        def look(v: Any) -> Any:
            if v is None or v == "":
                return v
            found = lookup_table.get(str(v))
            if found is not None and found is not AMBIGUOUS:
                if found == "" and lookup.optional and blank is not None:
                    blank()  # the file gives an empty value
                return found
            if lookup.optional:
                if blank is not None:
                    blank()
                return None
            if found is None:
                raise ValueError(f"{v!r} not found in lookup file {lookup.file}")
            raise ValueError(f"{v!r} has several values in lookup file {lookup.file}")

        steps.append(look)
    if spec.as_int:
        steps.append(_as_int)
    if spec.scale is not None:
        factor = spec.scale
        steps.append(lambda v: v if v is None or v == "" else _scaled(v, factor))
    fmt = spec.date_format or None
    if fmt:
        steps.append(lambda v: v if v is None or v == "" else _date(v, fmt))
    _ = date_format  # file-wide formats are handled by the Validator

    cases, default = spec.cases, spec.default

    def get(rec: Record) -> Any:
        for case in cases:
            if case.test(rec):
                return case.value
        try:
            value = base(rec)
            for step in steps:
                value = step(value)
        except ValueError as e:
            raise ValidationError(name, str(e)) from None
        # the default is the field's value as given: no conversion applies to it
        return default if default is not None and (value is None or value == "") else value

    return get


def _number(value: Any) -> Decimal:
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


def _scaled(value: Any, factor: Decimal) -> str:
    try:
        return str(_number(value) * factor)
    except ArithmeticError:  # an exponent past Decimal's range: the field's bounds say so
        raise ValueError(f"out of range: {value!r}") from None


def _as_int(value: Any) -> Any:
    """`17850.0` -> `17850` (only when the mapping says so: keys stay text otherwise)."""
    if value is None or value == "":
        return value
    number = _number(value)
    if not number.is_finite() or number.adjusted() > 30:  # int() of 1e999999999: 400 MB
        raise ValueError(f"out of range: {value!r}")
    if number != number.to_integral_value():
        raise ValueError(f"not a whole number: {value!r}")
    return str(int(number))


def _date(value: Any, fmt: str) -> str:
    try:
        return datetime.strptime(str(value).strip(), fmt).isoformat(sep=" ")
    except ValueError:
        raise ValueError(f"{value!r} does not match the date format {fmt!r}") from None


SAFE_KEY = re.compile(r"^[^$][^.]*$")


def used_columns(target: Target, columns: Sequence[str]) -> set[str]:
    """Normalized source columns a target reads (explicit specs and passthrough)."""
    used = {c for spec in target.specs.values() for c in spec.columns()}
    if target.passthrough:
        names = {normalize_name(f) for f in target.entity.field_names}
        used |= {c for c in columns if c in names}
    return used
