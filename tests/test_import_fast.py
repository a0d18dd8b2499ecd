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
from decimal import Decimal
from pathlib import Path

import pytest

import ecomcli
from ecomcli import Mode
from ecomcli.errors import EcomError, TransientError
from ecomcli.importing import SWITCH_INTERVAL, ImportOptions, import_paths, prefetched
from ecomcli.repository import Repository

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
    prepared = ecomcli.connect(f"sqlite:///{rows_dir / 'probe.db'}").prepare_rows(
        "products", [], Mode.UPSERT
    )
    assert prepared == ([], None)  # no JSON array to hand over
    assert _import(f"sqlite:///{rows_dir / 's.db'}", rows_dir, None) == with_json
