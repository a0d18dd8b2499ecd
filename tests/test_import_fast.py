"""The fast paths of `ecom import` on SQLite keep every behaviour of the general ones.

A plain CSV that maps 1:1 onto one entity takes a value-list lane (compiled validator,
no dict per record), and SQLite writes UPSERT/IGNORE batches with one `INSERT ... ON
CONFLICT` and set-based reference checks. These tests compare them with the general
paths and pin the counts and the foreign-key guarantees.
"""

from __future__ import annotations

import csv
import itertools
import sys
import threading
import time
from contextlib import closing
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import cart_lines, cart_parents, noting

import ecomcli
from ecomcli import Mode
from ecomcli.errors import EcomError, TransientError
from ecomcli.importing import SWITCH_INTERVAL, ImportOptions, import_paths, prefetched
from ecomcli.repository import Repository
from ecomcli.schema import entity
from ecomcli.validation import Validator

PRODUCTS = (
    "product_id,name,price,category_id,kind,size,created_at\n"
    'p1,"Shoe\nwith lace",19.99,c1,clothes,XL,2024-01-01T10:00:00+02:00\n'
    "p2,Hat,1.234,,,,\n"
    "p3,Cap,5,,,\n"
    "p4,Tee,5.00,c9,,,\n"
    "\n"
    "p5,Mug,3,,general,,\n"
    "p5,Mug,3.00,,GENERAL,,\n"
    "p5,Mug,4,,general,,\n"
    "p6,Pen,1,,general,XL,\n"
    'p7,"",2,,,,\n'
    "p8, Bowl ,0.5,c1,,,2024-02-30 10:00:00\n"
    "p9,Bag,7.10,c1,clothes,s,2024-03-01 09:00:00.75\n"
)


def _import(url: str, folder: Path, mapping: str | None) -> tuple[list[dict], list[list[str]]]:
    path = folder / "products.csv"
    path.write_text(PRODUCTS, encoding="utf-8", newline="")
    options = ImportOptions(rejects=folder / "rejects.csv")
    if mapping is not None:
        (folder / "map.toml").write_text(mapping)
        options.mapping = folder / "map.toml"
    with ecomcli.connect(url) as store:
        store.init_schema()
        store.insert("categories", {"category_id": "c1", "name": "Shoes"})
        summary = import_paths(store, [path], options)
        stored = list(store.find("products"))
    with (folder / "rejects.csv").open(newline="", encoding="utf-8") as fh:
        rejected = [row[1:] for row in csv.reader(fh)]  # without `source` (the path)
    counts = [{k: v for k, v in r.items() if k not in ("seconds", "rows_per_s")}
              for r in summary.rows()]
    return [*counts, *stored], rejected


def test_plain_csv_lane_matches_the_general_path(tmp_path: Path) -> None:
    fast_dir, general_dir = tmp_path / "fast", tmp_path / "general"
    fast_dir.mkdir()
    general_dir.mkdir()
    fast = _import(f"sqlite:///{fast_dir / 's.db'}", fast_dir, None)
    # a mapping (even a trivial one) sends the same file through the general path
    general = _import(f"sqlite:///{general_dir / 's.db'}", general_dir,
                      '[products]\nproduct_id = "product_id"\n')
    assert fast == general
    counts, rejected = fast
    assert counts[0]["inserted"] == 3 and counts[0]["unchanged"] == 1  # p1, p5, p9; p5 again
    lines = {int(r[0]): r[2] for r in rejected[1:]}
    assert set(lines) == {4, 5, 6, 10, 11, 12, 13}  # physical lines (p1 spans lines 2-3)
    assert lines[10] == "price"  # p5 again with another price, naming line 7


@pytest.fixture
def lines_store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with ecomcli.connect(f"sqlite:///{tmp_path / 'shop.db'}") as store:
        store.init_schema()
        store.insert("customers", {"customer_id": "c1"})
        for o in ("o1", "o2"):
            store.insert("orders", {"order_id": o, "customer_id": "c1", "status": "paid",
                                    "purchased_at": ecomcli.validation.parse_datetime(
                                        "2024-01-01 10:00:00")})
        for p in ("p1", "p2", "p3"):
            store.insert("products", {"product_id": p, "name": p, "kind": "general",
                                      "price": Decimal("1.00"), "units_in_stock": 0,
                                      "reorder_level": 0})
        yield store


def line(order: str, no: int, product: str, price: str = "2.50") -> dict:
    return {"order_id": order, "line_no": no, "product_id": product, "supplier_id": None,
            "quantity": 1, "unit_price": Decimal(price), "freight": None}


def counts(r) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    return r.inserted, r.updated, r.unchanged, r.ignored


FIELDS = ["order_id", "line_no", "product_id", "supplier_id", "quantity", "unit_price",
          "freight"]


def test_upsert_and_ignore_counts_are_exact(lines_store: Repository) -> None:
    store = lines_store
    first = [line("o1", 1, "p3"), line("o1", 2, "p1"), line("o2", 1, "p2")]
    assert counts(store.write_batch("order_items", first, Mode.UPSERT, FIELDS)) == (3, 0, 0, 0)
    store.delete("order_items", ("o2", 1))  # the row with the largest rowid
    again = [line("o1", 1, "p3"), line("o1", 2, "p2", "9.99"), line("o2", 1, "p2"),
             line("o2", 2, "p1")]
    assert counts(store.write_batch("order_items", again, Mode.UPSERT, FIELDS)) == (2, 1, 1, 0)
    ignore = [line("o1", 1, "p1", "0.01"), line("o2", 3, "p3")]
    assert counts(store.write_batch("order_items", ignore, Mode.IGNORE, FIELDS)) == (1, 0, 0, 1)
    stored = {(r["order_id"], r["line_no"]): (r["product_id"], r["unit_price"])
              for r in store.find("order_items")}
    assert stored == {("o1", 1): ("p3", Decimal("2.50")), ("o1", 2): ("p2", Decimal("9.99")),
                      ("o2", 1): ("p2", Decimal("2.50")), ("o2", 2): ("p1", Decimal("2.50")),
                      ("o2", 3): ("p3", Decimal("2.50"))}


@pytest.mark.parametrize("mode", [Mode.UPSERT, Mode.IGNORE])
def test_a_missing_parent_fails_the_whole_batch(lines_store: Repository, mode: Mode) -> None:
    store = lines_store
    with pytest.raises(EcomError) as direct:  # what the database says for one row
        store.insert("order_items", line("o9", 1, "p1"))
    store.write_batch("order_items", [line("o1", 1, "p1")], Mode.UPSERT, FIELDS)
    batch = [line("o1", 2, "p2"), line("o9", 1, "p1")]
    with pytest.raises(EcomError) as caught:
        store.write_batch("order_items", batch, mode, FIELDS)
    assert str(caught.value) == str(direct.value)
    with pytest.raises(EcomError) as caught:  # an update to a missing parent
        store.write_batch("order_items", [line("o1", 1, "p9")], Mode.UPSERT, FIELDS)
    assert str(caught.value) == str(direct.value)
    with store.transaction(), pytest.raises(EcomError) as caught:
        store.write_batch("order_items", batch, mode, FIELDS)
    assert str(caught.value) == str(direct.value)
    assert [(r["line_no"], r["product_id"]) for r in store.find("order_items")] == [(1, "p1")]
    with pytest.raises(EcomError):  # the database still enforces foreign keys afterwards
        store.insert("order_items", line("o9", 1, "p1"))


def test_ignore_checks_the_references_of_inserted_rows_only(lines_store: Repository) -> None:
    store = lines_store
    store.write_batch("order_items", [line("o1", 1, "p1")], Mode.UPSERT, FIELDS)
    batch = [line("o1", 1, "p9"), line("o1", 2, "p2")]  # the first is ignored: never written
    assert counts(store.write_batch("order_items", batch, Mode.IGNORE, FIELDS)) == (1, 0, 0, 1)
    assert [r["product_id"] for r in store.find("order_items")] == ["p1", "p2"]


def test_a_batch_retried_after_a_transient_conflict_is_counted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write conflict (say, with a transaction a killed import left open) makes the batch
    run again; its rows and rejects must be counted once, not once per attempt."""
    store = ecomcli.connect(f"sqlite:///{tmp_path / 'retry.db'}")
    store.init_schema()
    (tmp_path / "customers.csv").write_text("customer_id\nc1\n")
    assert import_paths(store, [tmp_path / "customers.csv"], ImportOptions()).rejected == 0
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,purchased_at\n"
        "o1,c1,2024-01-01 10:00:00\n"
        "o2,nobody,2024-01-02 10:00:00\n"
        "o3,c1,2024-01-03 10:00:00\n"
    )
    real_write = store.write_batch
    conflicts = iter([True, False])

    def flaky_write(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if next(conflicts, False):
            raise TransientError("write conflict, retry")
        return real_write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "write_batch", flaky_write)
    summary = import_paths(store, [orders], ImportOptions(rejects=tmp_path / "rej.csv"))
    row = summary.rows()[0]
    assert (row["read"], row["inserted"], row["rejected"]) == (3, 2, 1)
    assert len((tmp_path / "rej.csv").read_text().splitlines()) == 2  # header + one reject
    assert store.count("orders") == 2
    store.close()


# --- the reader thread --------------------------------------------------------------------


def test_prefetched_keeps_order_and_reads_at_most_one_item_ahead() -> None:
    made: list[int] = []

    def items():  # type: ignore[no-untyped-def]
        for i in range(5):
            made.append(i)
            yield i

    seen = []
    for item in prefetched(items()):
        time.sleep(0.02)  # the reader has long finished the next item by now
        assert len(made) <= item + 2  # this one and at most the next
        seen.append(item)
    assert seen == [0, 1, 2, 3, 4]


def test_prefetched_raises_the_readers_error_after_the_items_before_it() -> None:
    def items():  # type: ignore[no-untyped-def]
        yield 1
        raise csv.Error("line 3: bad quoting")

    got = []
    with pytest.raises(csv.Error, match="line 3"):
        for item in prefetched(items()):
            got.append(item)
    assert got == [1]


def test_closing_prefetched_early_stops_its_thread() -> None:
    def endless():  # type: ignore[no-untyped-def]
        yield from itertools.count()

    def readers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "ecom-import-reader"]

    with closing(prefetched(endless())) as items:
        assert next(items) == 0
        assert readers()
    assert not readers()


def test_closing_a_stage_stops_the_stage_it_reads_from() -> None:
    """The importer's stages: a reader thread, a preparer thread reading the reader's
    items, and the writer. Closing the last stops both threads; an error of the reader
    reaches the writer through the preparer."""

    def endless():  # type: ignore[no-untyped-def]
        yield from itertools.count()

    def stages() -> list[str]:
        return sorted(t.name for t in threading.enumerate() if t.name.startswith("ecom-import"))

    def doubled(items):  # type: ignore[no-untyped-def]
        with closing(items):
            yield from (2 * i for i in items)

    with closing(prefetched(doubled(prefetched(endless())), "ecom-import-preparer")) as items:
        assert [next(items), next(items)] == [0, 2]
        assert stages() == ["ecom-import-preparer", "ecom-import-reader"]
    deadline = time.monotonic() + 5
    while stages() and time.monotonic() < deadline:  # the reader stops after its item
        time.sleep(0.01)
    assert not stages()

    def failing():  # type: ignore[no-untyped-def]
        yield 1
        raise csv.Error("line 3: bad quoting")

    with pytest.raises(csv.Error, match="line 3"):
        assert list(prefetched(doubled(prefetched(failing())), "ecom-import-preparer")) == [2]


def test_prefetched_hands_the_gil_over_often_and_restores_the_interval() -> None:
    """The writer waits for the reader to give the GIL up every time the database returns:
    a short switch interval while both threads run (restored afterwards, even on error)."""
    before = sys.getswitchinterval()
    seen = [sys.getswitchinterval() for _ in prefetched(iter(range(3)))]
    assert seen == pytest.approx([SWITCH_INTERVAL] * 3) and before > SWITCH_INTERVAL
    assert sys.getswitchinterval() == before

    def failing():  # type: ignore[no-untyped-def]
        yield 1
        raise csv.Error("bad")

    with pytest.raises(csv.Error):
        for _ in prefetched(failing()):
            pass
    assert sys.getswitchinterval() == before


def test_sqlite_before_3_38_writes_the_same_rows_with_executemany(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without `->>` (SQLite < 3.38) a batch goes through `executemany`: same rows, counts
    and rejects as the one-statement JSON path."""
    from ecomcli.backends import sqlite as sqlite_backend

    json_dir, rows_dir = tmp_path / "json", tmp_path / "rows"
    json_dir.mkdir()
    rows_dir.mkdir()
    with_json = _import(f"sqlite:///{json_dir / 's.db'}", json_dir, None)
    monkeypatch.setattr(sqlite_backend, "JSON_ROWS", False)
    pen = Validator(entity("products"))({"product_id": "p1", "name": "Pen", "price": "1"})
    prepared = ecomcli.connect(f"sqlite:///{rows_dir / 'probe.db'}").prepare_rows(
        "products", [pen], Mode.UPSERT
    )
    assert (prepared.payload, prepared.as_is) == (None, None)  # no JSON array to hand over
    assert _import(f"sqlite:///{rows_dir / 's.db'}", rows_dir, None) == with_json


# --- a batch stored as it is --------------------------------------------------------------


def people(n: int, start: int = 0) -> list[dict]:
    """Customers with what JSON escapes (a quote, a backslash, a tab, an emoji), NULLs
    and moments; in key order ("c000" ...)."""
    make = Validator(entity("customers"))
    names = {1: 'Ann "Q"', 2: "back\\slash", 3: "tab\there", 4: "emoji 😀", 5: "é"}
    return [make({"customer_id": f"c{i:03d}", "first_name": names.get(i % 7, f"Ann {i}"),
                  "email": None if i % 3 else f"u{i}@example.com",
                  "created_at": "2024-05-01 12:00:00" if i % 2 else None,
                  "gender": "female" if i % 5 == 0 else None})
            for i in range(start, start + n)]


PEOPLE_FIELDS = [f.name for f in entity("customers").fields]


def written(statements: list[str], table: str = "customers") -> list[str]:
    return [sql for sql in statements if sql.startswith(f'INSERT INTO "{table}"')]


@pytest.fixture
def people_store(tmp_path: Path):  # type: ignore[no-untyped-def]
    """300 customers, written by an earlier connection (as by an earlier import)."""
    url = f"sqlite:///{tmp_path / 'people.db'}"
    with ecomcli.connect(url) as store:
        store.init_schema()
        store.write_batch("customers", people(300), Mode.UPSERT, PEOPLE_FIELDS)
    with ecomcli.connect(url) as store:
        yield store


@pytest.mark.parametrize("order", ["key order", "another order"])
def test_a_batch_stored_as_it_is_is_neither_written_nor_marked(
    people_store: Repository, monkeypatch: pytest.MonkeyPatch, order: str
) -> None:
    """An upsert or an ignore of rows stored exactly as they are (a nightly re-import of
    a whole export) is found by one read of its key range, whatever the order of its
    rows: no INSERT is run, so nothing is written or marked."""
    batch = people(300)
    if order == "another order":
        batch = batch[150:] + batch[:150]
    statements = noting(people_store, monkeypatch)
    r = people_store.write_batch("customers", batch, Mode.UPSERT, PEOPLE_FIELDS)
    assert counts(r) == (0, 0, 300, 0)
    r = people_store.write_batch("customers", batch, Mode.IGNORE, PEOPLE_FIELDS)
    assert counts(r) == (0, 0, 0, 300)
    assert not written(statements)
    assert len(range_reads(statements)) == 2


CHANGES = {  # a change: the customer, the field and its new value
    "a trailing space": ("c005", "first_name", "Ann 5 "),
    "a NULL given a value": ("c010", "email", "u10@example.com"),
    "a value made NULL": ("c009", "email", None),
    "a moment a second later": ("c003", "created_at", datetime(2024, 5, 1, 12, 0, 1)),
    "a backslash for a tab": ("c003", "first_name", "tab\\there"),
    "an enum": ("c000", "gender", "male"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_one_changed_row_gets_its_batch_written(
    people_store: Repository, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    key, name, value = CHANGES[change]
    rows = [{**r, name: value} if r["customer_id"] == key else r for r in people(300)]
    statements = noting(people_store, monkeypatch)
    r = people_store.write_batch("customers", rows, Mode.UPSERT, PEOPLE_FIELDS)
    assert counts(r) == (0, 1, 299, 0)
    assert written(statements)
    assert people_store.require("customers", (key,))[name] == value


def range_reads(statements: list[str]) -> list[str]:
    return [sql for sql in statements if "json_array" in sql]


def test_a_range_holding_rows_its_batch_lacks_is_upserted(
    people_store: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every other stored row, as it is: their range holds the rows between them too, so
    the upsert compares them row by row: all unchanged. The file is not in key order:
    the next batches are not range-read."""
    statements = noting(people_store, monkeypatch)
    for again in (people(300)[::2], people(150), people(150, 150)):
        r = people_store.write_batch("customers", again, Mode.UPSERT, PEOPLE_FIELDS)
        assert counts(r) == (0, 0, len(again), 0)
    assert len(written(statements)) == 3 and len(range_reads(statements)) == 1


def test_after_a_batch_that_changed_rows_the_next_goes_straight_to_the_upsert(
    people_store: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New rows (a fresh import: every batch new) cost one range read in all; after an
    upsert that changed nothing, the range read is tried again."""
    statements = noting(people_store, monkeypatch)
    for more in (people(100, 300), people(100, 400), people(100, 500)):
        assert counts(people_store.write_batch("customers", more, Mode.UPSERT,
                                               PEOPLE_FIELDS)) == (100, 0, 0, 0)
    assert len(range_reads(statements)) == 1
    for again in (people(100), people(100, 100), people(100, 200)):
        assert counts(people_store.write_batch("customers", again, Mode.UPSERT,
                                               PEOPLE_FIELDS)) == (0, 0, 100, 0)
    assert len(range_reads(statements)) == 3  # the upsert of the first, then two reads
    assert len(written(statements)) == 4


def test_the_preparer_makes_only_the_json_array_the_write_needs(
    people_store: Repository
) -> None:
    """A batch to be range-read is not made into the array to write unless it differs
    from the stored rows; after a batch that changed rows the array to compare is not
    made."""
    ready = people_store.prepare_rows("customers", people(300), Mode.UPSERT)
    assert counts(people_store.write_batch("customers", people(300), Mode.UPSERT,
                                           PEOPLE_FIELDS, ready)) == (0, 0, 300, 0)
    assert "payload" not in vars(ready)
    more = people(10, 300)
    ready = people_store.prepare_rows("customers", more, Mode.UPSERT)
    people_store.write_batch("customers", more, Mode.UPSERT, PEOPLE_FIELDS, ready)
    assert "payload" in vars(ready)  # made by the writer: the range held no such rows
    again = people(10, 310)
    ready = people_store.prepare_rows("customers", again, Mode.UPSERT)
    people_store.write_batch("customers", again, Mode.UPSERT, PEOPLE_FIELDS, ready)
    assert "_in_key_order" not in vars(ready)


def test_a_new_row_inside_the_key_range_is_inserted(people_store: Repository) -> None:
    more = people(300) + people(1, 1500)  # "c1500": between "c150" and "c151"
    r = people_store.write_batch("customers", more, Mode.UPSERT, PEOPLE_FIELDS)
    assert counts(r) == (1, 0, 300, 0)
    assert people_store.count("customers") == 301


@pytest.mark.parametrize("lane", ["columnar", "values"])
def test_a_re_import_of_an_unchanged_file_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lane: str
) -> None:
    """The whole file again, through either lane, in batches: every batch is found as it
    is; then one line changed (in the third of four batches): that batch is written,
    that row updated, and the last one, after a batch that changed a row, is upserted
    (and found unchanged)."""
    from ecomcli import importing

    monkeypatch.setattr(importing, "COLUMNAR_MIN_BYTES", 0 if lane == "columnar" else 1 << 60)
    path = tmp_path / "customers.csv"
    lines = [f"c{i:03d},Ann {i} \\ é,{'' if i % 3 else f'u{i}@b.co'},"
             f"{'2024-01-01 10:00:00' if i % 2 else ''}\n" for i in range(100)]
    path.write_text("customer_id,first_name,email,created_at\n" + "".join(lines))
    options = ImportOptions(batch_size=25, rejects=tmp_path / "rejects.csv")
    with ecomcli.connect(f"sqlite:///{tmp_path / 's.db'}") as store:
        store.init_schema()
        import_paths(store, [path], options)
    with ecomcli.connect(f"sqlite:///{tmp_path / 's.db'}") as store:  # a later import
        statements = noting(store, monkeypatch)
        again = import_paths(store, [path], options).stats["customers"]
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 100)
        assert not written(statements)
        lines[60] = lines[60].replace("Ann 60", "Bo 60")
        path.write_text("customer_id,first_name,email,created_at\n" + "".join(lines))
        changed = import_paths(store, [path], options).stats["customers"]
        assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 99)
        assert len(written(statements)) == 2
        assert store.require("customers", ("c060",))["first_name"] == "Bo 60 \\ é"


def test_arrows_json_texts_are_the_rows_json_reads() -> None:
    """A columnar batch's rows as JSON, made by Arrow's kernels: quotes, backslashes, the
    line separator, control characters (Python's encoder), NULLs of every kind."""
    import json
    import random

    import pyarrow as pa

    from ecomcli.backends.sqlite import json_array, json_texts

    rng = random.Random(3)
    alphabet = ["a", "Z", '"', "\\", "é", "漢", " ", ",", "[", "]", "\u2028"]

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))

    kinds = {
        "text": (pa.string(), lambda: text()),
        "text or NULL": (pa.string(), lambda: rng.choice([None, text()])),
        "int": (pa.int64(), lambda: rng.randint(-10**12, 10**12)),
        "int or NULL": (pa.int64(), lambda: rng.choice([None, 5, -3])),
        "control": (pa.string(), lambda: text() + rng.choice(["\n", "\x01", ""])),
    }
    for _ in range(200):
        n = rng.randint(1, 30)
        chosen = [rng.choice([*kinds, "NULL"]) for _ in range(rng.randint(1, 5))]
        table = pa.table({
            f"c{i}": pa.array([None] * n, pa.null()) if kind == "NULL"
            else pa.array([kinds[kind][1]() for _ in range(n)], kinds[kind][0])
            for i, kind in enumerate(chosen)})
        rows = [list(r) for r in zip(*(c.to_pylist() for c in table.columns), strict=True)]
        texts = json_texts(table)
        listed = texts.to_pylist() if isinstance(texts, pa.Array) else texts
        assert [json.loads(t) for t in listed] == rows
        assert json.loads(json_array(texts)) == rows


@pytest.mark.parametrize("lane", ["columnar", "values"])
def test_a_re_import_of_cart_lines_split_across_batches_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lane: str
) -> None:
    """Cart lines, a cart's products in no order, batches of 7 ending inside carts: each
    batch is found as it is, read as the rows strictly between its first and last cart
    and, in those two carts, its own lines only (the others are another batch's). Then a
    line added to a cart that two batches share is inserted, and a changed one updated."""
    from ecomcli import importing

    monkeypatch.setattr(importing, "COLUMNAR_MIN_BYTES", 0 if lane == "columnar" else 1 << 60)
    lines = cart_lines()
    path = tmp_path / "cart_items.csv"
    path.write_text("cart_id,product_id,quantity\n" + "".join(lines))
    options = ImportOptions(batch_size=7, rejects=tmp_path / "rejects.csv")
    url = f"sqlite:///{tmp_path / 's.db'}"
    with ecomcli.connect(url) as store:
        store.init_schema()
        cart_parents(store)
        import_paths(store, [path], options)
    with ecomcli.connect(url) as store:
        statements = noting(store, monkeypatch)
        again = import_paths(store, [path], options).stats["cart_items"]
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(lines))
        assert not written(statements, "cart_items")
    # k02's lines are the file's records 5-8: the first batch ends after two of them,
    # the second gets the other two, a new one between them and one changed
    assert lines[5:9] == ["k02,p7,3\n", "k02,p3,1\n", "k02,p9,2\n", "k02,p1,3\n"]
    lines[8:9] = ["k02,p5,2\n", "k02,p1,1\n"]
    path.write_text("cart_id,product_id,quantity\n" + "".join(lines))
    with ecomcli.connect(url) as store:
        statements = noting(store, monkeypatch)
        changed = import_paths(store, [path], options).stats["cart_items"]
        assert (changed.inserted, changed.updated) == (1, 1)
        assert store.require("cart_items", ("k02", "p5"))["quantity"] == 2
        assert store.require("cart_items", ("k02", "p1"))["quantity"] == 1
        # the second batch, and the third after it (a batch after one that changed rows)
        assert len(written(statements, "cart_items")) == 2
