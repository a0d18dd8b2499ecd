"""Records: add, get, list, update and delete one entity's rows, for any entity.

Everything the user types arrives here as text: an `ID` (`o1:2` for a composite key), a
`--where "FIELD OP VALUE"`, field options or a JSON object. This module turns that text
into typed values with the schema's own converters (`ecomcli.validation`), so a value is
always data bound to a field the schema declares, never SQL or a MongoDB operator.

    >>> store = ecomcli.connect()
    >>> add_record(store, "customers", {"customer_id": "c1", "email": "ada@example.com"})
    >>> list(list_records(store, "products", ListOptions(where=["size in XXL,XXXL"])))
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecomcli import schema
from ecomcli.errors import ConflictError, NotFoundError, UsageError
from ecomcli.repository import OPERATORS, Filter, Key, Query, Repository
from ecomcli.schema import Entity
from ecomcli.validation import Validator, check_fields, converter, validate

# `FIELD OP VALUE`; `in` needs spaces around it, the symbols do not.
_WHERE = re.compile(
    r"^\s*(?P<field>[A-Za-z_][A-Za-z0-9_]*)\s*"
    r"(?:(?P<op>!=|<=|>=|=|<|>|~)|\s(?P<in>in)\s)\s*(?P<value>.*?)\s*$",
    re.IGNORECASE | re.DOTALL,
)


@dataclass
class ListOptions:
    """What `list` shows: filters (`FIELD OP VALUE` strings), order and page."""

    where: Sequence[str] = ()
    sort: str | None = None
    desc: bool = False
    limit: int | None = None
    offset: int = 0


@dataclass
class RecordInput:
    """A record as the command line gives it: field options, `--set F=V`, `--json`."""

    options: dict[str, str | None] = field(default_factory=dict)
    sets: Sequence[str] = ()
    json_text: str | None = None
    json_file: Path | None = None


# --- ids and keys ---------------------------------------------------------------------


def now() -> datetime:
    """The current time as the store keeps it: naive UTC, whole seconds."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def new_id(prefix: str = "") -> str:
    """A fresh key that sorts by creation time (hex nanoseconds, then random hex)."""
    import secrets  # here: hashlib and hmac are not needed to start `ecom`

    return f"{prefix}{time.time_ns():x}{secrets.token_hex(3)}"


def parse_key(entity: Entity, text: str) -> Key:
    """`c1` or, for a composite key, its parts joined by `:` (`o1:2`), typed by field."""
    parts = [text] if len(entity.key) == 1 else text.rsplit(":", len(entity.key) - 1)
    if len(parts) != len(entity.key):
        raise UsageError(
            f"{entity.name} ids have {len(entity.key)} parts, written "
            f"{':'.join(k.upper() for k in entity.key)}; got {text!r}"
        )
    key = []
    for name, part in zip(entity.key, parts, strict=True):
        if not part.strip():
            raise UsageError(f"{entity.name} id {text!r}: {name} is empty")
        try:
            key.append(converter(entity.field(name))(part))
        except ValueError as e:
            raise UsageError(f"{entity.name} id {text!r}: {name}: {e}") from None
    return tuple(key)


def show_key(key: Key) -> str:
    return ":".join(str(k) for k in key)


# --- filters --------------------------------------------------------------------------


def parse_where(entity: Entity, text: str) -> Filter:
    """`"size in XXL,XXXL"`, `"price>=10"`, `"name ~ shirt"` as a typed `Filter`.

    An empty value with `=` / `!=` means "is (not) empty". Values are converted by the
    field's type, so `price > abc` is an error rather than a string comparison.
    """
    m = _WHERE.match(text)
    if not m:
        raise UsageError(
            f"--where {text!r}: expected FIELD OP VALUE with OP one of {' '.join(OPERATORS)}"
            " (e.g. --where 'size in XXL,XXXL')"
        )
    name, value = m["field"], m["value"]
    op = "in" if m["in"] else m["op"]
    if not entity.has_field(name):
        raise UsageError(
            f"--where {text!r}: {entity.name} has no field {name!r}; "
            f"fields: {', '.join(entity.field_names)}"
        )
    f = entity.field(name)
    convert = converter(f)
    try:
        if op == "~":
            return Filter(name, op, value)
        if op == "in":
            return Filter(name, op, [convert(v.strip()) for v in value.split(",") if v.strip()])
        if value == "":
            if op not in ("=", "!="):
                raise ValueError(f"{op} needs a value")
            return Filter(name, op, None)
        return Filter(name, op, convert(value))
    except ValueError as e:
        raise UsageError(f"--where {text!r}: {name}: {e}") from None


def join_where_tokens(where: Sequence[str], extra: Sequence[str]) -> list[str]:
    """`--where size in XXL,XXXL` as three shell words: the command line gives `size` to
    --where and `in`, `XXL,XXXL` as extra arguments; each --where without an operator takes
    the next two extra words, in order."""
    out, rest = [], list(extra)
    for w in where:
        if not _WHERE.match(w) and len(rest) >= 2 and not w.strip().count(" "):
            out.append(f"{w} {rest.pop(0)} {rest.pop(0)}")
        else:
            out.append(w)
    if rest:
        raise UsageError(
            f"unexpected argument {rest[0]!r}: write a filter as --where 'FIELD OP VALUE' "
            "or --where FIELD OP VALUE"
        )
    return out


def build_query(entity: Entity, options: ListOptions) -> Query:
    filters = [parse_where(entity, w) for w in options.where]
    sort: list[tuple[str, bool]] = []
    if options.sort:
        if not entity.has_field(options.sort):
            raise UsageError(
                f"--sort {options.sort!r}: {entity.name} has no such field; "
                f"fields: {', '.join(entity.field_names)}"
            )
        sort.append((options.sort, options.desc))
    elif options.desc:
        sort = [(k, True) for k in entity.key]
    if options.limit is not None and options.limit < 0:
        raise UsageError("--limit must be 0 or more")
    if options.offset < 0:
        raise UsageError("--offset must be 0 or more")
    return Query(filters, sort, options.limit, options.offset)


def pick_fields(entity: Entity, columns: str | None) -> list[str]:
    """The fields named in `a,b,c` (checked against the schema), or all of them."""
    if not columns:
        return entity.field_names
    names = [c.strip() for c in columns.split(",") if c.strip()]
    unknown = [n for n in names if not entity.has_field(n)]
    if unknown:
        raise UsageError(
            f"--columns: {entity.name} has no field {unknown[0]!r}; "
            f"fields: {', '.join(entity.field_names)}"
        )
    return names


# --- building rows from the command line ----------------------------------------------


def raw_record(entity: Entity, given: RecordInput) -> dict[str, Any]:
    """The raw (unvalidated) fields a command line gave: JSON first, then `--set`, then
    field options, each overriding the one before."""
    raw: dict[str, Any] = {}
    if given.json_text is not None and given.json_file is not None:
        raise UsageError("give --json or --json-file, not both")
    if given.json_file is not None:
        try:
            text = given.json_file.read_text(encoding="utf-8")
        except OSError as e:
            raise NotFoundError(f"--json-file {given.json_file}: {e.strerror}") from None
        raw.update(_json_object(text, str(given.json_file)))
    if given.json_text is not None:
        raw.update(_json_object(given.json_text, "--json"))
    for item in given.sets:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--set {item!r}: expected FIELD=VALUE")
        raw[name.strip()] = value.strip()  # `--set "name = x"`, as `--where` reads it
    raw.update({k: v for k, v in given.options.items() if v is not None})
    check_fields(entity, raw)
    return raw


def _unique_keys(where: str) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            names = [k for k, _ in pairs]
            twice = next(k for k in names if names.count(k) > 1)
            raise UsageError(f"{where}: {twice}: given twice in one JSON object")
        return obj

    return build


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        # parse_float: keep 19.99 exact, Decimal("19.99"); a key given twice is refused
        data = json.loads(text, parse_float=str, object_pairs_hook=_unique_keys(where))
    except json.JSONDecodeError as e:
        raise UsageError(f"{where}: not valid JSON: {e.msg} (line {e.lineno})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected a JSON object {{...}}, got {type(data).__name__}")
    return data


# --- the operations -------------------------------------------------------------------


def check_references(store: Repository, entity: Entity, row: Mapping[str, Any]) -> None:
    """`NotFoundError` naming the field when a reference points nowhere."""
    for f in entity.references:
        value = row.get(f.name)
        if value is not None and store.get(f.ref, (value,)) is None:  # type: ignore[arg-type]
            raise NotFoundError(f"{f.name}: {f.ref} {value!r} not found")


def add_record(store: Repository, entity_name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and insert one row; a missing single-field id is generated. Adding a product
    with stock records an `initial` stock movement, so its stock history adds up."""
    entity = schema.entity(entity_name)
    raw = dict(raw)
    (first, *rest) = entity.key
    if not rest and raw.get(first) in (None, "") and not entity.field(first).ref:
        raw[first] = new_id()
    row = validate(entity, raw)

    def work() -> None:
        check_references(store, entity, row)
        store.insert(entity.name, row)
        if entity.name == "products" and row["units_in_stock"]:
            record_movement(store, row["product_id"], row["units_in_stock"], "initial")

    store.atomic(work)
    return row


def get_record(store: Repository, entity_name: str, key: Key) -> dict[str, Any]:
    return store.require(entity_name, key)


def list_records(
    store: Repository, entity_name: str, options: ListOptions = ListOptions()
) -> Iterator[dict[str, Any]]:
    entity = schema.entity(entity_name)
    return store.find(entity.name, build_query(entity, options))


def distinct_values(
    store: Repository, entity_name: str, field_name: str, where: Sequence[str] = ()
) -> list[Any]:
    entity = schema.entity(entity_name)
    if not entity.has_field(field_name):
        raise UsageError(
            f"{entity.name} has no field {field_name!r}; fields: {', '.join(entity.field_names)}"
        )
    return store.distinct(entity.name, field_name, [parse_where(entity, w) for w in where])


def update_record(
    store: Repository, entity_name: str, key: Key, raw: Mapping[str, Any]
) -> dict[str, Any]:
    """Change only the fields given; the whole resulting row is validated again (so that
    rules across fields hold). Returns the stored row after the change."""
    entity = schema.entity(entity_name)
    raw = dict(raw)
    if not raw:
        raise UsageError("nothing to update: give field options, --set or --json")
    for name, part in zip(entity.key, key, strict=True):
        if name in raw and str(raw[name]) != str(part):
            raise UsageError(f"{name}: the id cannot be changed (delete and add instead)")
    given = validate(entity, {**dict(zip(entity.key, key, strict=True)), **raw}, partial=True)
    changes = {k: v for k, v in given.items() if k in raw and k not in entity.key}

    def work() -> dict[str, Any]:
        current = store.require(entity.name, key)
        Validator(entity)({**current, **changes})
        check_references(store, entity, changes)
        store.update(entity.name, key, changes)
        if entity.name == "products" and "units_in_stock" in changes:
            delta = changes["units_in_stock"] - current["units_in_stock"]
            if delta:
                record_movement(store, key[0], delta, "adjust", note="products update")
        if entity.name == "customers" and "email" in changes:
            _follow_email(store, key, changes["email"])
        return store.require(entity.name, key)

    return store.atomic(work)


def _follow_email(store: Repository, key: Key, email: str | None) -> None:
    """A customer's login is their email: it changes with it and cannot be cleared."""
    if store.get("logins", key) is None:
        return
    if email is None:
        raise ConflictError(
            f"customer {key[0]!r} has a login, whose name is the email: it cannot be empty"
        )
    store.update("logins", key, {"email": email})


def delete_record(store: Repository, entity_name: str, key: Key, *, cascade: bool = False) -> None:
    """Delete a row; refused (`ConflictError`) while others refer to it, unless `cascade`.
    A product's own stock history goes with it: it does not make the product 'in use'."""
    entity = schema.entity(entity_name)

    def work() -> None:
        if entity.name == "products" and not cascade:
            refs = [name for name, _ in store.references_to(entity.name, key)]
            if refs == ["stock_movements"]:
                history = Query([Filter("product_id", "=", key[0])])
                for move in list(store.find("stock_movements", history)):
                    store.delete("stock_movements", (move["movement_id"],))
        store.delete_record(entity.name, key, cascade=cascade)

    store.atomic(work)


def record_movement(
    store: Repository,
    product_id: str,
    delta: int,
    reason: str,
    *,
    order_id: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Write one `stock_movements` row: the why of a change in a product's stock."""
    row = validate(
        schema.entity("stock_movements"),
        {
            "movement_id": new_id("m"),
            "product_id": product_id,
            "delta": delta,
            "reason": reason,
            "order_id": order_id,
            "note": note,
            "created_at": now(),
        },
    )
    store.insert("stock_movements", row)
    return row
