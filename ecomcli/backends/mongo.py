"""MongoDB: the repository contract over pymongo, with the document design of
`docs/mongodb.md`.

- One collection per entity, named as the entity, except entities with `Entity.embedded`
  (order, cart and wishlist lines): their rows are elements of the parent document's
  `items` array, holding the child's fields minus the parent key.
- Every document carries every schema field (null when empty). Single-field keys are
  `_id` and are stored as their field too; composite keys are `_id: {field: value, ...}`.
- Money and decimals are Decimal128 (exact, `$sum` stays decimal); datetimes are BSON dates;
  dates are BSON dates at midnight UTC.
- `init_schema` derives `$jsonSchema` validators and indexes from `ecomcli.schema`.
- Units of work are multi-document transactions when the server is a replica set or a
  mongos; on a standalone server each write is on its own (see docs/mongodb.md).

Only standard MongoDB features are used, so the same code runs on mongod, Atlas and the
SecantusDB test server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pymongo
from bson.decimal128 import Decimal128
from pymongo import InsertOne, ReturnDocument, UpdateOne
from pymongo.client_session import ClientSession
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    ConnectionFailure,
    DuplicateKeyError,
    InvalidURI,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from ecomcli import schema
from ecomcli.backends import mongo_summaries, recs_mongo
from ecomcli.backends.recs_inputs import changes_inputs
from ecomcli.config import DbUrl, mask_secret
from ecomcli.errors import (
    ConflictError,
    ConnectionFailed,
    EcomError,
    NotFoundError,
    ReadOnly,
    TransientError,
    UsageError,
)
from ecomcli.repository import (
    Filter,
    InitResult,
    Key,
    Mode,
    Query,
    ReportQuery,
    Repository,
    WriteResult,
    missing_required,
    with_defaults,
)
from ecomcli.schema import Entity, Field, index_name
from ecomcli.table import Table, money, typed

META = "ecom_meta"
TIMEOUT_MS = 3000
WRITE_CONFLICT = 112
AUTH_FAILED_CODES = (18, 13)  # AuthenticationFailed, Unauthorized
# keys per `_id: {$in: [...]}` lookup: SecantusDB's $in costs grow with the square of the
# list (1,000 keys: 1 s; 100 keys: 7 ms), and on mongod 100 keys a round trip is still cheap
IN_CHUNK = 100

# --- values -----------------------------------------------------------------------------


def encode(f: Field, value: Any) -> Any:
    """A Python value as MongoDB stores it (None stays null)."""
    if value is None:
        return None
    match f.type:
        case "money" | "decimal":
            return Decimal128(Decimal(value).quantize(Decimal(1).scaleb(-f.scale)))
        case "date":
            return datetime(value.year, value.month, value.day)
        case "int":
            return int(value)
        case "bool":
            return bool(value)
    return value


def decode(f: Field, value: Any) -> Any:
    if value is None:
        return None
    match f.type:
        case "money" | "decimal":
            return value.to_decimal() if isinstance(value, Decimal128) else Decimal(value)
        case "date":
            return value.date() if isinstance(value, datetime) else value
        case "datetime":
            return value.replace(microsecond=0, tzinfo=None)
    return value


def plain(value: Any) -> Any:
    """A report value as plain Python: Decimal128 -> Decimal, recursively."""
    if isinstance(value, Decimal128):
        return value.to_decimal()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# --- document design ----------------------------------------------------------------------


def top_level() -> list[Entity]:
    """The entities that have a collection of their own."""
    return [e for e in schema.stored_entities() if e.embedded is None]


def children_of(parent: Entity) -> list[Entity]:
    return [e for e in schema.ENTITIES if e.embedded and e.embedded.parent == parent.name]


def element_fields(e: Entity) -> list[Field]:
    """An embedded entity's fields as stored in its array element (no parent key)."""
    assert e.embedded is not None
    return [f for f in e.fields if f.name != e.embedded.parent_field]


def child_key(e: Entity) -> list[str]:
    """The key fields of an embedded row that identify it inside its parent's array."""
    assert e.embedded is not None
    return [k for k in e.key if k != e.embedded.parent_field]


def doc_id(e: Entity, key: Key) -> Any:
    if len(key) != len(e.key):
        raise NotFoundError(f"{e.name} keys have {len(e.key)} parts: {', '.join(e.key)}")
    if len(e.key) == 1:
        return encode(e.field(e.key[0]), key[0])
    return {k: encode(e.field(k), v) for k, v in zip(e.key, key, strict=True)}


def to_document(e: Entity, row: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": doc_id(e, e.key_of(row))}
    doc.update({f.name: encode(f, row.get(f.name)) for f in e.fields})
    if children_of(e):
        doc["items"] = []
    return doc


def to_element(e: Entity, row: dict[str, Any]) -> dict[str, Any]:
    return {f.name: encode(f, row.get(f.name)) for f in element_fields(e)}


def to_row(e: Entity, doc: dict[str, Any]) -> dict[str, Any]:
    return {f.name: decode(f, doc.get(f.name)) for f in e.fields}


def shown(key: Key) -> str:
    return ":".join(str(k) for k in key)


# --- $jsonSchema --------------------------------------------------------------------------

BSON_TYPES = {
    "key": "string",
    "string": "string",
    "text": "string",
    "enum": "string",
    "int": ["int", "long"],
    "money": "decimal",
    "decimal": "decimal",
    "date": "date",
    "datetime": "date",
    "bool": "bool",
    "bytes": "binData",
}


def field_schema(f: Field) -> dict[str, Any]:
    types = BSON_TYPES[f.type]
    types = list(types) if isinstance(types, list) else [types]
    if not f.required:
        types.append("null")
    out: dict[str, Any] = {"bsonType": types[0] if len(types) == 1 else types}
    if f.enum:
        out["enum"] = [*f.enum, *([] if f.required else [None])]
    if f.length and f.type in ("key", "string"):
        out["maxLength"] = f.length
    # SecantusDB does not enforce minimum/maximum on Decimal128 (mongod does); int bounds work
    if f.min is not None:
        out["minimum"] = f.min
    if f.max is not None:
        out["maximum"] = f.max
    if f.doc:
        out["description"] = f.doc
    return out


def object_schema(fields: Sequence[Field]) -> dict[str, Any]:
    """Every field is present (null when empty), so all are `required`."""
    return {
        "bsonType": "object",
        "required": [f.name for f in fields],
        "properties": {f.name: field_schema(f) for f in fields},
    }


def validator(e: Entity) -> dict[str, Any]:
    """The `$jsonSchema` validator of a top-level entity's collection."""
    body = object_schema(e.fields)
    if len(e.key) == 1:
        body["properties"]["_id"] = {"bsonType": BSON_TYPES[e.field(e.key[0]).type]}
    else:
        body["properties"]["_id"] = object_schema([e.field(k) for k in e.key])
    for child in children_of(e):
        assert child.embedded is not None
        body["properties"][child.embedded.array] = {
            "bsonType": "array",
            "items": object_schema(element_fields(child)),
        }
    return {"$jsonSchema": body}


def indexes(e: Entity) -> list[tuple[str, list[tuple[str, int]], bool]]:
    """(name, keys, unique) of the indexes of a top-level entity's collection, including
    those of its embedded children (prefixed by the array path: multikey indexes)."""
    out = []
    for ix in (ix for ix in e.indexes if not ix.sqlite_only):
        # a key an index ends with is there for SQLite, whose index entries hold a rowid;
        # a MongoDB entry leads to its document, key included
        fields = list(ix.fields)
        while len(fields) > 1 and fields[-1] in e.key and not ix.unique:
            fields.pop()
        out.append((index_name(e.name, fields), [(c, 1) for c in fields], ix.unique))
    for f in e.fields:
        if f.unique:
            out.append((f"ux_{e.name}_{f.name}", [(f.name, 1)], True))
    for child in children_of(e):
        assert child.embedded is not None
        array = child.embedded.array
        for ix in (ix for ix in child.indexes if not ix.sqlite_only):
            keys = [(f"{array}.{c}", 1) for c in ix.fields]
            out.append((index_name(child.name, ix.fields), keys, False))
    return out


# --- filters ------------------------------------------------------------------------------


def condition(f: Field, flt: Filter) -> dict[str, Any]:
    """One filter as a query-language condition. Values are always data: they go under
    `$eq`/`$in`/... and strings for `~` are `re.escape`d."""
    op, value = flt.op, flt.value
    if op == "~":
        return {"$regex": re.escape(str(value)), "$options": "i"}
    if op == "in":
        return {"$in": [encode(f, v) for v in value if v is not None]}
    if value is None:
        return {"$eq": None} if op == "=" else {"$ne": None}
    encoded = encode(f, value)
    if op == "!=":  # as in SQL, a null field is neither equal nor unequal to a value
        return {"$nin": [encoded, None]}
    mongo_op = {"=": "$eq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}[op]
    return {mongo_op: encoded}


def match(e: Entity, filters: Sequence[Filter], prefix: str = "") -> dict[str, Any]:
    clauses = [
        {prefix + e.field(flt.field).name: condition(e.field(flt.field), flt)} for flt in filters
    ]
    if not clauses:
        return {}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def sort_spec(e: Entity, sort: Sequence[tuple[str, bool]]) -> list[tuple[str, int]]:
    spec = [(e.field(name).name, -1 if desc else 1) for name, desc in sort]
    seen = {name for name, _ in spec}
    return spec + [(k, 1) for k in e.key if k not in seen]


# --- the repository ---------------------------------------------------------------------


class MongoRepository(Repository):
    backend = "mongodb"

    def __init__(self, url: DbUrl, *, create: bool = True) -> None:
        self.url = url
        # the URL's own options win (a slow server's monitor needs a longer connectTimeoutMS)
        given = {k.lower() for k in parse_qs(urlsplit(url.raw).query)}
        defaults = {"serverSelectionTimeoutMS": TIMEOUT_MS, "connectTimeoutMS": TIMEOUT_MS}
        options: dict[str, Any] = {
            **{k: v for k, v in defaults.items() if k.lower() not in given},
            "tz_aware": False,
        }
        if url.password and url.user and urlsplit(url.raw).password is None:
            options["username"], options["password"] = url.user, url.password  # ECOM_DB_PASSWORD
        try:
            self.client: pymongo.MongoClient = pymongo.MongoClient(url.raw, **options)
            hello = self.client.admin.command("hello")
        except (InvalidURI, ConfigurationError) as e:
            raise ConnectionFailed(f"bad MongoDB URL {url.masked}: {one_line(e)}") from None
        except PyMongoError as e:
            raise ConnectionFailed(f"cannot connect to {url.masked}: {reason(e)}") from None
        self.db = self.client[url.database]
        if not create:
            self._require_database()
        # multi-document transactions need a replica set member or a mongos
        self.transactions = bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"
        self._session: ClientSession | None = None
        self._depth = 0

    def _require_database(self) -> None:
        """A database that does not exist is an error, as on MySQL and SQLite (MongoDB
        would answer every read with nothing)."""
        with self.errors():
            found = self.client.admin.command(
                "listDatabases", nameOnly=True, authorizedDatabases=True,
                filter={"name": self.url.database},
            )
        if self.url.database not in {d["name"] for d in found.get("databases", [])}:
            raise ConnectionFailed(
                f"cannot use {self.url.masked}: database {self.url.database!r} does not exist: "
                "run `ecom init-db` to create it"
            )

    # plumbing -----------------------------------------------------------------------------

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Translate driver errors into EcomErrors (one line, password masked)."""
        try:
            yield
        except EcomError:
            raise
        except PyMongoError as e:
            raise self.translate(e) from e

    def translate(self, e: PyMongoError) -> EcomError:
        if isinstance(e, ServerSelectionTimeoutError):
            # no server answered within the timeout: gone, not a conflict to retry (inside
            # a transaction the driver labels it transient, and ten retries took 30 s)
            return ConnectionFailed(f"lost the connection to {self.url.masked}: {reason(e)}")
        if getattr(e, "has_error_label", None) and e.has_error_label("TransientTransactionError"):
            return TransientError(f"{self.url.masked}: write conflict, retry ({one_line(e)})")
        code = getattr(e, "code", None)
        if code == WRITE_CONFLICT:
            return TransientError(f"{self.url.masked}: write conflict, retry ({one_line(e)})")
        details: dict[str, Any] = getattr(e, "details", None) or {}
        if isinstance(e, BulkWriteError):
            details = (details.get("writeErrors") or [{}])[0]
            code = details.get("code")
        if code in (11000, 11001):
            taken = ", ".join(f"{k} {v!r}" for k, v in (details.get("keyValue") or {}).items())
            return ConflictError(f"{taken or 'a unique key'} already exists")
        if code == 121:
            return EcomError(f"the server's validator refused a document: {failed(details)}")
        if isinstance(e, ConnectionFailure) or code in AUTH_FAILED_CODES:
            return ConnectionFailed(f"cannot reach {self.url.masked}: {reason(e)}")
        return EcomError(f"{self.url.masked}: {one_line(e)}")

    @property
    def session(self) -> ClientSession | None:
        return self._session

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        if not self.transactions:  # standalone server: each write stands alone
            self._depth = 1
            try:
                yield
            finally:
                self._depth = 0
            return
        with self.errors():
            session = self.client.start_session()
            session.start_transaction()
        self._session, self._depth = session, 1
        try:
            yield
        except BaseException:
            self._session, self._depth = None, 0
            with suppress(PyMongoError):  # the server may already have aborted it
                session.abort_transaction()
            session.end_session()
            raise
        self._session, self._depth = None, 0
        try:
            with self.errors():
                session.commit_transaction()
        finally:
            session.end_session()

    def _collection(self, e: Entity) -> Any:
        return self.db[e.name]

    def _entity(self, name: str) -> Entity:
        return schema.entity(name)

    def _parent(self, e: Entity) -> Entity:
        assert e.embedded is not None
        return schema.BY_NAME[e.embedded.parent]

    # schema ------------------------------------------------------------------------------

    def schema_version(self) -> int | None:
        with self.errors():
            doc = self.db[META].find_one({"_id": "schema_version"}, session=self.session)
        return None if doc is None else int(doc["value"])

    def init_schema(self, *, drop: bool = False) -> InitResult:
        created: list[str] = []
        with self.errors():
            if drop:
                for e in top_level():
                    self.db.drop_collection(e.name)
                self.db.drop_collection(META)
            version = self.schema_version()
            if version is not None and version > schema.SCHEMA_VERSION:
                raise EcomError(
                    f"{self.url.masked} has schema version {version}, newer than this ecom "
                    f"({schema.SCHEMA_VERSION}): upgrade ecom"
                )
            current = {c["name"]: c.get("options", {}) for c in self.db.list_collections()}
            for e in top_level():
                wanted = validator(e)
                if e.name not in current:
                    self.db.create_collection(e.name, validator=wanted)
                    created.append(e.name)
                elif current[e.name].get("validator") != wanted:
                    self.db.command("collMod", e.name, validator=wanted)
                    created.append(f"{e.name} validator")
                present = set(self.db[e.name].index_information())
                for name, keys, unique in indexes(e):
                    if name not in present:
                        self.db[e.name].create_index(keys, name=name, unique=unique)
                        created.append(f"{e.name}.{name}")
            mongo_summaries.forget(self.db)  # the next report rebuilds every summary
            recs_mongo.forget(self.db)  # and the next recommend its collections
            if version is None:
                self.db[META].update_one(
                    {"_id": "schema_version"},
                    {"$set": {"value": schema.SCHEMA_VERSION}},
                    upsert=True,
                )
                created.append(META)
        return InitResult(created=created, version=schema.SCHEMA_VERSION)

    # reading -----------------------------------------------------------------------------

    def _embedded_pipeline(self, e: Entity, filters: Sequence[Filter]) -> list[dict[str, Any]]:
        """Child rows as documents: `$unwind` the parent's array and add the parent key."""
        assert e.embedded is not None
        parent_field, array = e.embedded.parent_field, e.embedded.array
        pre: list[dict[str, Any]] = []
        for flt in filters:  # narrow the parents first, so that indexes serve
            f = e.field(flt.field)
            if f.name == parent_field:
                pre.append({"_id": condition(f, flt)})
            elif flt.op in ("=", "in", "<", "<=", ">", ">=") and flt.value is not None:
                pre.append({f"{array}.{f.name}": condition(f, flt)})
        pipeline: list[dict[str, Any]] = []
        if pre:
            pipeline.append({"$match": pre[0] if len(pre) == 1 else {"$and": pre}})
        pipeline += [
            {"$unwind": f"${array}"},
            {"$replaceRoot": {"newRoot": {"$mergeObjects": [f"${array}", {parent_field: "$_id"}]}}},
        ]
        if filters:
            pipeline.append({"$match": match(e, filters)})
        return pipeline

    def get(self, entity: str, key: Key) -> dict[str, Any] | None:
        e = self._entity(entity)
        with self.errors():
            if e.embedded is None:
                doc = self._collection(e).find_one({"_id": doc_id(e, key)}, session=self.session)
                return None if doc is None else to_row(e, doc)
            return self._element(e, key)

    def _element(self, e: Entity, key: Key) -> dict[str, Any] | None:
        """An embedded row, read from its parent's array."""
        assert e.embedded is not None
        if len(key) != len(e.key):
            raise NotFoundError(f"{e.name} keys have {len(e.key)} parts: {', '.join(e.key)}")
        values = dict(zip(e.key, key, strict=True))
        parent = self._parent(e)
        doc = self._collection(parent).find_one(
            {"_id": doc_id(parent, (values[e.embedded.parent_field],))},
            {e.embedded.array: 1},
            session=self.session,
        )
        if doc is None:
            return None
        for item in doc.get(e.embedded.array) or []:
            row = to_row(e, {**item, e.embedded.parent_field: doc["_id"]})
            if all(row[k] == values[k] for k in e.key):
                return row
        return None

    def find(self, entity: str, query: Query = Query()) -> Iterator[dict[str, Any]]:
        e = self._entity(entity)
        sort = sort_spec(e, query.sort)
        if query.limit == 0:  # MongoDB reads a limit of 0 as "no limit"
            return
        fields = [e.field(n) for n in query.fields] or list(e.fields)
        with self.errors():
            if e.embedded is None:
                cursor = self._collection(e).find(
                    match(e, query.filters),
                    {f.name: 1 for f in fields} | {"_id": 0},
                    sort=sort,
                    skip=query.offset,
                    limit=query.limit or 0,
                    session=self.session,
                )
            else:
                pipeline = self._embedded_pipeline(e, query.filters)
                pipeline.append({"$sort": dict(sort)})
                if query.offset:
                    pipeline.append({"$skip": query.offset})
                if query.limit is not None:
                    pipeline.append({"$limit": query.limit})
                parent = self._parent(e)
                cursor = self._collection(parent).aggregate(pipeline, session=self.session)
            for doc in cursor:
                yield {f.name: decode(f, doc.get(f.name)) for f in fields}

    def count(self, entity: str, filters: Sequence[Filter] = ()) -> int:
        e = self._entity(entity)
        with self.errors():
            if e.embedded is None:
                return self._collection(e).count_documents(match(e, filters), session=self.session)
            array = e.embedded.array
            if filters:
                pipeline = [*self._embedded_pipeline(e, filters), {"$count": "n"}]
            else:
                pipeline = [
                    {
                        "$group": {
                            "_id": None,
                            "n": {"$sum": {"$size": {"$ifNull": [f"${array}", []]}}},
                        }
                    }
                ]
            result = list(
                self._collection(self._parent(e)).aggregate(pipeline, session=self.session)
            )
        return int(result[0]["n"]) if result else 0

    def distinct(self, entity: str, field: str, filters: Sequence[Filter] = ()) -> list[Any]:
        e = self._entity(entity)
        f = e.field(field)
        filters = [*filters, Filter(f.name, "!=", None)]
        with self.errors():
            if e.embedded is None:
                pipeline = [{"$match": match(e, filters)}]
                source = self._collection(e)
            else:
                pipeline = self._embedded_pipeline(e, filters)
                source = self._collection(self._parent(e))
            pipeline += [{"$group": {"_id": f"${f.name}"}}, {"$sort": {"_id": 1}}]
            return [decode(f, d["_id"]) for d in source.aggregate(pipeline, session=self.session)]

    def existing_keys(self, entity: str, keys: Iterable[Key]) -> set[Key]:
        e = self._entity(entity)
        keys = list(keys)
        if not keys:
            return set()
        with self.errors():
            if e.embedded is None:
                wanted = {self._id_token(doc_id(e, k)): k for k in keys}
                ids = [doc_id(e, k) for k in keys]
                found: set[Key] = set()
                for start in range(0, len(ids), IN_CHUNK):
                    cursor = self._collection(e).find(
                        {"_id": {"$in": ids[start : start + IN_CHUNK]}},
                        {"_id": 1},
                        session=self.session,
                    )
                    found.update(wanted[self._id_token(d["_id"])] for d in cursor)
                return found
            stored = self._children_of_parents(
                e, {k[e.key.index(e.embedded.parent_field)] for k in keys}
            )
            present = {e.key_of(r) for rows in stored.values() for r in rows[1]}
            return {k for k in keys if k in present}

    @staticmethod
    def _id_token(value: Any) -> Any:
        return tuple(value.items()) if isinstance(value, dict) else value

    def _children_of_parents(
        self, e: Entity, parent_keys: Iterable[Any]
    ) -> dict[Any, tuple[list[Any] | None, list[dict[str, Any]]]]:
        """For each existing parent: (its raw array, its child rows)."""
        assert e.embedded is not None
        parent = self._parent(e)
        ids = [encode(parent.field(parent.key[0]), k) for k in parent_keys]
        out: dict[Any, tuple[list[Any] | None, list[dict[str, Any]]]] = {}
        array, parent_field = e.embedded.array, e.embedded.parent_field
        for start in range(0, len(ids), IN_CHUNK):
            cursor = self._collection(parent).find(
                {"_id": {"$in": ids[start : start + IN_CHUNK]}}, {array: 1}, session=self.session
            )
            for doc in cursor:
                raw = doc.get(array)  # None when missing: the write guard then matches null
                rows = [to_row(e, {**item, parent_field: doc["_id"]}) for item in raw or []]
                out[doc["_id"]] = (raw, rows)
        return out

    # writing -----------------------------------------------------------------------------

    def _check_references(self, e: Entity, row: dict[str, Any]) -> None:
        for f in e.references:
            value = row.get(f.name)
            if value is None or (e.embedded and f.name == e.embedded.parent_field):
                continue
            target = schema.BY_NAME[f.ref]  # type: ignore[index]
            if target.name == e.name and value == row.get(e.key[0]):
                continue
            if not self.existing_keys(target.name, [(value,)]):
                raise NotFoundError(f"{e.name}.{f.name}: {target.name} {value!r} not found")

    def insert(self, entity: str, row: dict[str, Any]) -> None:
        e = self._entity(entity)
        key = e.key_of(row)
        with self.errors():
            self._check_references(e, row)
            if e.embedded is None:
                try:
                    self._collection(e).insert_one(to_document(e, row), session=self.session)
                except DuplicateKeyError as err:
                    if "_id" in ((err.details or {}).get("keyValue") or {"_id": None}):
                        raise ConflictError(f"{e.name} {shown(key)!r} already exists") from None
                    raise
                self._mark(e)
                return
            parent = self._parent(e)
            parent_key = row[e.embedded.parent_field]
            element_key = {k: {"$eq": encode(e.field(k), row[k])} for k in child_key(e)}
            result = self._collection(parent).update_one(
                {
                    "_id": doc_id(parent, (parent_key,)),
                    e.embedded.array: {"$not": {"$elemMatch": element_key}},
                },
                {"$push": {e.embedded.array: to_element(e, row)}},
                session=self.session,
            )
            if result.matched_count:
                self._mark(e)
                return
            if self.get(parent.name, (parent_key,)) is None:
                raise NotFoundError(f"{e.name}: {parent.name} {parent_key!r} not found")
            raise ConflictError(f"{e.name} {shown(key)!r} already exists")

    def update(
        self,
        entity: str,
        key: Key,
        changes: dict[str, Any],
        *,
        expect: dict[str, Any] | None = None,
    ) -> bool:
        e = self._entity(entity)
        if not changes:
            return self.get(e.name, key) is not None
        for name in changes:
            if e.field(name).name in e.key:
                raise UsageError(f"{e.name}: the key field {name} cannot be changed on MongoDB")
        with self.errors():
            if e.embedded is None:
                condition_ = {"_id": doc_id(e, key)}
                for name, value in (expect or {}).items():
                    condition_[e.field(name).name] = {"$eq": encode(e.field(name), value)}
                sets = {e.field(n).name: encode(e.field(n), v) for n, v in changes.items()}
                result = self._collection(e).update_one(
                    condition_, {"$set": sets}, session=self.session
                )
                return self._marked(e, result.matched_count > 0, stored=True, fields=set(changes))
            parent = self._parent(e)
            values = dict(zip(e.key, key, strict=True))
            if len(key) != len(e.key):
                raise NotFoundError(f"{e.name} keys have {len(e.key)} parts: {', '.join(e.key)}")
            element = {k: {"$eq": encode(e.field(k), values[k])} for k in child_key(e)}
            for name, value in (expect or {}).items():
                element[e.field(name).name] = {"$eq": encode(e.field(name), value)}
            array = e.embedded.array
            sets = {
                f"{array}.$.{e.field(n).name}": encode(e.field(n), v) for n, v in changes.items()
            }
            result = self._collection(parent).update_one(
                {
                    "_id": doc_id(parent, (values[e.embedded.parent_field],)),
                    array: {"$elemMatch": element},
                },
                {"$set": sets},
                session=self.session,
            )
            return self._marked(e, result.matched_count > 0, stored=True, fields=set(changes))

    def delete(self, entity: str, key: Key) -> bool:
        e = self._entity(entity)
        with self.errors():
            if e.embedded is None:
                result = self._collection(e).delete_one(
                    {"_id": doc_id(e, key)}, session=self.session
                )
                return self._marked(e, result.deleted_count > 0, stored=True)
            if len(key) != len(e.key):
                raise NotFoundError(f"{e.name} keys have {len(e.key)} parts: {', '.join(e.key)}")
            parent = self._parent(e)
            values = dict(zip(e.key, key, strict=True))
            element = {k: {"$eq": encode(e.field(k), values[k])} for k in child_key(e)}
            result = self._collection(parent).update_one(
                {"_id": doc_id(parent, (values[e.embedded.parent_field],))},
                {"$pull": {e.embedded.array: element}},
                session=self.session,
            )
            return self._marked(e, result.modified_count > 0, stored=True)

    def write_batch(
        self,
        entity: str,
        rows: list[dict[str, Any]],
        mode: Mode,
        fields: Sequence[str],
        prepared: Any = None,
    ) -> WriteResult:
        e = self._entity(entity)
        if not rows:
            return WriteResult()
        if mode is Mode.MERGE:
            rows = [with_defaults(e, r) for r in rows]
        given = set(fields)
        compare = [
            n for n in e.field_names if n not in e.key and (mode is not Mode.MERGE or n in given)
        ]
        with self.transaction(), self.errors():
            if e.embedded is None:
                done = self._write_documents(e, rows, mode, compare)
            else:
                done = self._write_elements(e, rows, mode, compare)
            self._marked(e, bool(done.inserted or done.updated), stored=bool(done.updated),
                         fields=set(fields) if mode is Mode.MERGE else None)
            return done

    def _classify(
        self,
        e: Entity,
        i: int,
        row: dict[str, Any],
        old: dict[str, Any] | None,
        mode: Mode,
        compare: list[str],
        result: WriteResult,
    ) -> str | None:
        """What to do with row `i`: "insert", "update" or None (counted here)."""
        if old is None:
            if mode is Mode.MERGE and (why := missing_required(e, row)):
                result.rejected.append((i, why))
                return None
            result.inserted += 1
            return "insert"
        if mode is Mode.INSERT:
            result.rejected.append((i, "key already exists"))
        elif mode is Mode.IGNORE:
            result.ignored += 1
        elif all(row.get(n) == old.get(n) for n in compare):
            result.unchanged += 1
        else:
            result.updated += 1
            return "update"
        return None

    def _write_documents(
        self, e: Entity, rows: list[dict[str, Any]], mode: Mode, compare: list[str]
    ) -> WriteResult:
        result = WriteResult()
        ids = [doc_id(e, e.key_of(r)) for r in rows]
        stored: dict[Any, dict[str, Any]] = {}
        for start in range(0, len(ids), IN_CHUNK):
            cursor = self._collection(e).find(
                {"_id": {"$in": ids[start : start + IN_CHUNK]}},
                {f.name: 1 for f in e.fields},
                session=self.session,
            )
            stored.update({self._id_token(d["_id"]): to_row(e, d) for d in cursor})
        ops: list[Any] = []
        for i, (row, _id) in enumerate(zip(rows, ids, strict=True)):
            action = self._classify(
                e, i, row, stored.get(self._id_token(_id)), mode, compare, result
            )
            if action == "insert":
                ops.append(InsertOne(to_document(e, row)))
            elif action == "update":  # $set, not replace: a parent keeps its `items`
                sets = {n: encode(e.field(n), row.get(n)) for n in compare}
                ops.append(UpdateOne({"_id": _id}, {"$set": sets}))
        if ops:
            self._collection(e).bulk_write(ops, ordered=False, session=self.session)
        return result

    def _write_elements(
        self, e: Entity, rows: list[dict[str, Any]], mode: Mode, compare: list[str]
    ) -> WriteResult:
        """Child rows: read each parent's array once, merge in Python, write it back with one
        UpdateOne per parent, guarded by the array read (a concurrent change is retried)."""
        assert e.embedded is not None
        result = WriteResult()
        parent = self._parent(e)
        parent_field, array = e.embedded.parent_field, e.embedded.array
        parent_keys = {r[parent_field] for r in rows}
        stored = self._children_of_parents(e, parent_keys)
        by_id = {encode(parent.field(parent.key[0]), k): k for k in parent_keys}
        new_items: dict[Any, list[dict[str, Any]]] = {}
        positions: dict[Any, dict[Key, int]] = {}
        for _id, (raw, old_rows) in stored.items():
            new_items[_id] = list(raw or [])
            positions[_id] = {e.key_of(r): j for j, r in enumerate(old_rows)}
        changed: set[Any] = set()
        for i, row in enumerate(rows):
            _id = encode(parent.field(parent.key[0]), row[parent_field])
            if _id not in stored:
                result.rejected.append((i, f"{parent.name} {by_id[_id]!r} not found"))
                continue
            key = e.key_of(row)
            j = positions[_id].get(key)
            old = None if j is None else stored[_id][1][j]
            action = self._classify(e, i, row, old, mode, compare, result)
            if action == "insert":
                positions[_id][key] = len(new_items[_id])
                new_items[_id].append(to_element(e, row))
            elif action == "update" and j is not None:
                element = dict(new_items[_id][j])
                element.update({n: encode(e.field(n), row.get(n)) for n in compare})
                new_items[_id][j] = element
            if action:
                changed.add(_id)
        ops = [
            UpdateOne({"_id": _id, array: stored[_id][0]}, {"$set": {array: new_items[_id]}})
            for _id in changed
        ]
        if ops:
            done = self._collection(parent).bulk_write(ops, ordered=False, session=self.session)
            if done.matched_count != len(ops):
                raise TransientError(f"{parent.name}: {e.name} changed concurrently, retry")
        return result

    def add_stock(self, product_id: str, delta: int) -> int | None:
        products = self.db["products"]
        with self.errors():
            doc = products.find_one_and_update(
                {"_id": product_id, "units_in_stock": {"$gte": -delta}},
                {"$inc": {"units_in_stock": delta}},
                projection={"units_in_stock": 1},
                return_document=ReturnDocument.AFTER,
                session=self.session,
            )
            if doc is not None:
                return int(doc["units_in_stock"])
            if products.count_documents({"_id": product_id}, limit=1, session=self.session):
                return None
        raise NotFoundError(f"products {product_id!r} not found")

    # reports -----------------------------------------------------------------------------

    def neighbour_tables(self) -> Any:
        from ecomcli.backends.recs_mongo import MongoNeighbours

        return MongoNeighbours(self)

    def run_report(self, report: ReportQuery, p: dict[str, Any]) -> Table:
        """`report.pipeline(p)` aggregated; money (Decimal128, or an int sum) as Decimal
        with two places."""
        with self.errors():
            collection, pipeline = self._report_pipeline(report, p)
            docs = list(self.db[collection].aggregate(pipeline, session=self.session))
        # a document may leave a field out (no value): None in its column
        names = list(dict.fromkeys(k for d in docs for k in d if k != "_id"))
        table = Table(names, [tuple(plain(d.get(k)) for k in names) for d in docs])
        return typed(table, report.money, money, report.datetimes)

    def _report_pipeline(self, report: ReportQuery, p: dict[str, Any]) -> Any:
        """Over the summaries the report reads, refreshed first (see mongo_summaries), or
        over the lines: inside a transaction (`$out` cannot run there), for a report or
        summary MongoDB does not keep, or when the rebuild is refused (read-only user)."""
        kinds = report.mongo_summaries(p)
        if not kinds or self.session is not None or not mongo_summaries.kept(kinds):
            return report.pipeline(p)
        try:
            mongo_summaries.refresh(self.db, kinds)
        except OperationFailure as e:
            if e.code not in AUTH_FAILED_CODES:
                raise
            return report.pipeline(p)
        facts = {name: self._fact(*fact) for name, fact in report.facts(p).items()}
        summarized = report.summarized_pipeline({**p, **facts})
        return report.pipeline(p) if summarized is None else summarized

    def _fact(self, collection: str, pipeline: list[dict[str, Any]]) -> Any:
        """The `value` of the first document `pipeline` gives, as stored (a Decimal128 stays
        one, to be compared with stored money; None: no document)."""
        for doc in self.db[collection].aggregate(pipeline):
            return doc.get("value")
        return None

    def _mark(self, e: Entity) -> None:
        """After a write to `e`: mark the summaries it may change, in its transaction."""
        mongo_summaries.mark(self.db, e.name, self.session)

    def _marked(self, e: Entity, changed: bool, *, stored: bool = False,
                fields: set[str] | None = None) -> bool:
        """`stored`: the write changed or deleted stored rows (`fields` of them; None:
        whole rows, or a delete)."""
        if changed:
            self._mark(e)
            if stored:
                self._forget_recs(e, fields)
        return changed

    def _forget_recs(self, e: Entity, fields: set[str] | None) -> None:
        """The recommender's collections count added lines by their signature; a write
        that changes or deletes stored ones makes the next `recommend` rebuild them."""
        if changes_inputs(e.name, fields):
            recs_mongo.forget(self.db, self.session)

    # --- ad-hoc queries -------------------------------------------------------------------

    def read_query(self, text: str) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
        """A JSON `{"find": COLLECTION, "filter": {...}, "projection", "sort", "limit",
        "skip"}` or `{"aggregate": COLLECTION, "pipeline": [...]}`. Neither can write but
        an aggregation stage `$out` or `$merge`, refused at any depth."""
        spec = _query_spec(text)
        with self.errors():
            if "find" in spec:
                sort = list((spec.get("sort") or {}).items())
                cursor = self.db[spec["find"]].find(
                    spec.get("filter") or {}, spec.get("projection"), sort=sort or None,
                    limit=int(spec.get("limit") or 0), skip=int(spec.get("skip") or 0),
                )
            else:
                cursor = self.db[spec["aggregate"]].aggregate(spec.get("pipeline") or [])
            docs = [plain(doc) for doc in cursor]
        columns = list(dict.fromkeys(k for doc in docs for k in doc))
        return columns, (tuple(_shown(doc.get(c)) for c in columns) for doc in docs)

    def close(self) -> None:
        self.client.close()


# --- connection errors ---------------------------------------------------------------------


def one_line(error: Exception) -> str:
    text = mask_secret(str(error)).splitlines()[0] if str(error) else type(error).__name__
    text = text.split(", full error:")[0].split(", Timeout:")[0]
    return text[:300]


def failed(details: dict[str, Any]) -> str:
    """The first field a `$jsonSchema` validator complained about (error 121)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "propertyName" in node and not found:
                found.append(str(node["propertyName"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(details.get("errInfo"))
    return f"field {found[0]}" if found else "document failed validation"


def reason(error: Exception) -> str:
    """Why a connection failed, in a few words."""
    text = str(error)
    low = text.lower()
    if getattr(error, "code", None) in AUTH_FAILED_CODES or "authentication failed" in low:
        return "authentication failed (check the user and password)"
    if "refused" in low:
        return "connection refused (is the server running?)"
    if "name or service not known" in low or "nodename nor servname" in low:
        return "unknown host"
    if isinstance(error, ServerSelectionTimeoutError) or "timed out" in low:
        return f"no server answered within {TIMEOUT_MS // 1000} s"
    return one_line(error)


QUERY_KEYS = {"find", "filter", "projection", "sort", "limit", "skip", "aggregate", "pipeline"}
WRITING_STAGES = {"$out", "$merge"}


def _query_spec(text: str) -> dict[str, Any]:
    import json

    try:
        spec = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"query: not JSON: {e.msg} (column {e.colno})") from None
    kinds = [k for k in ("find", "aggregate") if isinstance(spec, dict) and k in spec]
    if len(kinds) != 1 or not isinstance(spec[kinds[0]], str) or set(spec) - QUERY_KEYS:
        raise UsageError(
            'query: on MongoDB give {"find": "COLLECTION", "filter": {...}} or '
            '{"aggregate": "COLLECTION", "pipeline": [...]}'
        )
    if writing := _writing_stage(spec):
        raise ReadOnly(f"ecom query only reads: {writing} writes to a collection")
    return spec


def _writing_stage(value: Any) -> str | None:
    if isinstance(value, dict):
        for k, v in value.items():
            if k in WRITING_STAGES:
                return k
            if found := _writing_stage(v):
                return found
    elif isinstance(value, list):
        for v in value:
            if found := _writing_stage(v):
                return found
    return None


def _shown(value: Any) -> Any:
    """An ObjectId or other BSON value as text; plain values as they are."""
    if value is None or isinstance(value, str | int | float | bool | Decimal | datetime | dict
                                   | list):
        return value
    return str(value)
