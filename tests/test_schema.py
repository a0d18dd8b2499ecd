"""The schema is declared once; sql/ and the databases must agree with it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ecomcli import schema
from ecomcli.backends.sql import ddl, schema_file
from ecomcli.errors import EcomError, NotFoundError, ValidationError
from ecomcli.validation import Validator, validate

ROOT = Path(__file__).resolve().parents[1]

SEED_ENTITIES = {
    "customers": {"customer_id", "first_name", "last_name", "phone", "gender", "date_of_birth",
                  "email"},
    "customer_addresses": {"customer_id", "postal_code", "city", "state"},
    "logins": {"email", "password_hash"},
    "payment_cards": {"brand", "last4", "exp_month", "exp_year"},
    "suppliers": {"supplier_id", "name"},
    "supplies": {"supplier_id", "product_id", "units"},
    "products": {"product_id", "name", "price", "rating", "units_in_stock", "reorder_level",
                 "size", "material", "gender", "weight_g", "length_cm", "width_cm", "height_cm"},
    "carts": {"cart_id", "customer_id"},
    "cart_items": {"cart_id", "product_id", "quantity"},
    "wishlists": {"wishlist_id", "customer_id"},
    "wishlist_items": {"wishlist_id", "product_id"},
    "payments": {"method", "customer_id", "paid_at", "amount"},
    "orders": {"order_id", "purchased_at", "customer_id", "cart_id", "delivery_partner_id",
               "status", "approved_at", "shipped_at", "delivered_at", "estimated_delivery_at"},
    "delivery_partners": {"partner_id", "name", "phone", "email"},
    "order_items": {"order_id", "product_id", "quantity", "unit_price"},
    "reviews": {"score", "title", "comment", "created_at"},
    "categories": {"category_id", "name"},
    "stock_movements": {"product_id", "delta", "reason", "created_at"},
}


def test_every_seed_entity_and_field_exists() -> None:
    for name, fields in SEED_ENTITIES.items():
        assert fields <= set(schema.entity(name).field_names), name
    assert set(schema.ORDER_STATUSES) >= {
        "pending", "paid", "shipped", "delivered", "cancelled", "returned"
    }


def test_no_field_can_hold_a_cvv_or_card_number() -> None:
    names = {f.name for f in schema.entity("payment_cards").fields}
    assert not names & {"cvv", "cvc", "card_number", "number", "pan"}
    with pytest.raises(EcomError, match="never stored"):
        validate(schema.entity("payment_cards"),
                 {"card_id": "k1", "customer_id": "c1", "brand": "visa", "last4": "4242",
                  "exp_month": 1, "exp_year": 2030, "cvv": "123"})
    with pytest.raises(EcomError, match="never a password"):
        validate(schema.entity("logins"), {"customer_id": "c1", "email": "a@b.co", "password": "x"})


def test_entities_are_declared_in_foreign_key_order() -> None:
    seen: set[str] = set()
    for e in schema.load_order():
        for f in e.references:
            assert f.ref in seen or f.ref == e.name, f"{e.name}.{f.name} -> {f.ref}"
        seen.add(e.name)


def test_entity_lookup_by_alias_case_and_punctuation() -> None:
    assert schema.entity("Order-Lines").name == "order_items"
    assert schema.entity("ORDERS").name == "orders"
    with pytest.raises(NotFoundError, match="unknown entity 'widgets'; entities: categories"):
        schema.entity("widgets")


@pytest.mark.parametrize("dialect", ["sqlite", "mysql"])
def test_sql_files_are_generated_from_the_schema(dialect: str) -> None:
    shipped = ROOT / "sql" / dialect / "schema.sql"
    assert schema_file(dialect) == shipped  # type: ignore[arg-type]
    assert shipped.read_text() == ddl(dialect), (  # type: ignore[arg-type]
        f"{shipped} disagrees with ecomcli/schema.py: run `python -m ecomcli.backends.sql`"
    )


def test_sqlite_tables_match_the_declarations(tmp_path: Path) -> None:
    """Run sql/sqlite/schema.sql by hand and compare what SQLite built with the schema."""
    conn = sqlite3.connect(tmp_path / "by-hand.db")
    conn.executescript((ROOT / "sql" / "sqlite" / "schema.sql").read_text())
    for e in schema.ENTITIES:
        columns = {r[1]: r for r in conn.execute(f'PRAGMA table_info("{e.name}")')}
        assert list(columns) == e.field_names, e.name
        for f in e.fields:
            _, _, type_, notnull, _, pk = columns[f.name]
            assert bool(notnull) == (f.required and f.name not in e.key) or pk, (e.name, f.name)
            assert type_ == ("INTEGER" if f.is_numeric or f.type == "bool" else "TEXT")
        pks = [r[1] for r in sorted(columns.values(), key=lambda r: r[5]) if r[5]]
        assert tuple(pks) == e.key, e.name
        fks = {(r[3], r[2], r[4]) for r in conn.execute(f'PRAGMA foreign_key_list("{e.name}")')}
        expected = {(f.name, f.ref, schema.BY_NAME[f.ref].key[0]) for f in e.references}
        assert fks == expected, e.name
    version = conn.execute("SELECT value FROM ecom_meta WHERE name = 'schema_version'").fetchone()
    assert version == (str(schema.SCHEMA_VERSION),)


def test_sqlite_enforces_enums_and_ranges(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "checks.db")
    conn.executescript((ROOT / "sql" / "sqlite" / "schema.sql").read_text())
    conn.execute("INSERT INTO customers (customer_id) VALUES ('c1')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO orders (order_id, customer_id, status, purchased_at) "
                      "VALUES ('o1', 'c1', 'lost', '2024-01-01 00:00:00')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO reviews (review_id, score) VALUES ('r1', 6)")


# --- validation -------------------------------------------------------------------------


def test_validator_converts_types_exactly() -> None:
    check = Validator(schema.entity("order_items"))
    row = check({"order_id": "o1", "line_no": "2.0", "product_id": 85123,
                 "quantity": "144.0", "unit_price": "2.55"})
    assert row["line_no"] == 2
    assert row["quantity"] == 144
    assert row["product_id"] == "85123"
    assert str(row["unit_price"]) == "2.55"
    assert row["freight"] is None


@pytest.mark.parametrize(
    ("entity", "raw", "field", "reason"),
    [
        ("order_items", {"order_id": "o", "line_no": 1, "product_id": "p", "quantity": -1,
                         "unit_price": 1}, "quantity", "at least 1"),
        ("order_items", {"order_id": "o", "line_no": 1, "product_id": "p",
                         "unit_price": "1.234"}, "unit_price", "more than 2 decimal places"),
        ("order_items", {"order_id": "o", "line_no": 1, "product_id": "p",
                         "unit_price": "abc"}, "unit_price", "not a number"),
        ("orders", {"order_id": "o", "customer_id": "c", "purchased_at": "31/02/2024"},
         "purchased_at", "not a date and time"),
        ("orders", {"order_id": "o", "customer_id": "c", "purchased_at": "2024-01-01",
                    "status": "lost"}, "status", "not one of"),
        ("customers", {"customer_id": "c", "email": "not-an-email"}, "email", "not an email"),
        ("customers", {"customer_id": "x" * 65}, "customer_id", "longer than 64"),
        ("customers", {"customer_id": ""}, "customer_id", "required"),
        ("customers", {"customer_id": "c", "first_name": {"$ne": None}}, "first_name",
         "single value"),
        ("products", {"product_id": "p", "name": "n", "price": 1, "size": "XL"}, "size",
         "clothes attribute"),
        ("payment_cards", {"card_id": "k", "customer_id": "c", "brand": "visa",
                           "last4": "4242424242424242", "exp_month": 1, "exp_year": 2030},
         "last4", "longer than 4"),
    ],
)
def test_validator_names_the_field_and_reason(
    entity: str, raw: dict, field: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Validator(schema.entity(entity))(raw)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_datetimes_with_zones_become_utc_and_dates_accept_formats() -> None:
    check = Validator(schema.entity("orders"))
    row = check({"order_id": "o", "customer_id": "c", "purchased_at": "2024-05-01T23:30:00-02:00"})
    assert row["purchased_at"].isoformat() == "2024-05-02T01:30:00"
    assert row["status"] == "pending"  # the declared default
    us = Validator(schema.entity("orders"), date_format="%m/%d/%Y %H:%M")
    assert us({"order_id": "o", "customer_id": "c", "purchased_at": "12/1/2010 8:26"})[
        "purchased_at"].isoformat() == "2010-12-01T08:26:00"


def test_partial_validation_keeps_only_given_fields() -> None:
    check = Validator(schema.entity("products"), partial=True)
    assert check({"product_id": "p1", "price": "3"}) == {"product_id": "p1", "price": 3}
    with pytest.raises(ValidationError, match="required"):
        check({"product_id": "p1", "name": ""})


# --- the compiled fast path agrees with the per-field converters --------------------------

SAMPLES: dict[str, list[object]] = {
    "any": [None, "", "   ", "\t", 0, 1, -1, 2.5, 144.0, True, False, {"$ne": 1}, [1],
            "x" * 300, "a\x00b", "٣", " 7 "],
    "key": ["o1", "85123A", "x" * 64, "x" * 65, " padded ", 85123, 17850.0],
    "string": ["Ada", "a@b.co", "not-an-email", "1234", "12345", "12a4", "a@b", "ü" * 5],
    "text": ["a longer comment, with commas", "line\nbreak"],
    "int": ["1", "2.0", "144.0", "1.5", "1e2", "1_000", " 12 ", "+3", "-4", "0", "13",
            "2030", "1999", "abc", "NaN", "٣", 7],
    "money": ["1.50", "2.55", "1.234", "1.500", "0", "-0.01", "1e2", "1E-2", "NaN", "Infinity",
              "abc", " 3.10 ", "9999999999.99", "10000000000", "1_000.5", 2, 2.5, "5.001"],
    "date": ["2024-01-31", "2024-02-30", "2024-01-31T10:00:00", "2024-01-31 23:30:00-02:00",
             "31/01/2024", "20240131"],
    "datetime": ["2024-05-01 13:45:00", "2024-05-01T23:30:00-02:00", "2024-05-01T10:00:00Z",
                 "2024-05-01 13:45:00.999", "2024-05-01", "2024-13-01 00:00:00", "05/01/2024",
                 "12/1/2010 8:26", " 2024-05-01 13:45:00 "],
    "bool": ["true", "Yes", "n", "0", "maybe", "T"],
    "enum": ["paid", "PAID", " Shipped ", "lost", "XL", "xxl", "clothes", "kids", "female",
             "open", "credit_card", "restock"],
}


def _samples(f: schema.Field) -> list[object]:
    kind = "money" if f.type == "decimal" else f.type
    return [*SAMPLES["any"], *SAMPLES[kind], *SAMPLES["key" if kind == "string" else "any"]]


def _outcome(convert, raw):  # type: ignore[no-untyped-def]
    try:
        row = convert(raw)
    except ValidationError as e:
        return ("error", e.field, e.reason)
    return ("row", {k: (type(v), v) for k, v in row.items()})


@pytest.mark.parametrize("date_format", [None, "%m/%d/%Y %H:%M"])
@pytest.mark.parametrize("entity", [e.name for e in schema.ENTITIES])
def test_fast_and_slow_validation_agree(entity: str, date_format: str | None) -> None:
    import random

    e = schema.entity(entity)
    check = Validator(e, date_format=date_format)
    names = e.field_names
    by_position = check.for_columns({n: i for i, n in enumerate(names)})
    rng = random.Random(f"{entity}-{date_format}")
    valid = {n: None for n in names}
    for _ in range(400):
        raw = {}
        for f in e.fields:
            # mostly plausible values, so that rows get past their first field
            pool = _samples(f)
            raw[f.name] = rng.choice(pool) if rng.random() < 0.3 else valid[f.name]
            if rng.random() < 0.1:
                del raw[f.name]
        expected = _outcome(check.convert_slow, raw)
        assert _outcome(check, raw) == expected, raw
        if len(raw) == len(names):
            assert _outcome(by_position, [raw[n] for n in names]) == expected, raw
        if expected[0] == "row":  # remember values that passed, to reach later fields
            for n in names:
                if raw.get(n) is not None:
                    valid[n] = raw[n]
    for f in e.fields:  # and every sample in every field of an otherwise valid row
        for value in _samples(f):
            raw = {**valid, f.name: value}
            assert _outcome(check, raw) == _outcome(check.convert_slow, raw), raw
