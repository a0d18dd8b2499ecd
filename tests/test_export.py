"""`ecom export` and `ecom copy`: what goes out comes back in, exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ecomcli
from ecomcli.cli import app
from ecomcli.errors import ConnectionFailed, EcomError, TransientError
from ecomcli.exporting import copy_store
from ecomcli.schema import ENTITIES
from ecomcli.validation import validate

runner = CliRunner()


def ecom(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def add(store: ecomcli.Repository, entity: str, **values: object) -> None:
    store.insert(entity, validate(ecomcli.schema.entity(entity), values))


@pytest.fixture
def filled(db_url: str) -> str:
    """A small store with awkward values: quotes, newlines, commas, unicode, NULLs, money."""
    with ecomcli.connect(db_url) as store:
        add(store, "categories", category_id="shoes", name="Shoes")
        add(store, "categories", category_id="boots", name="Boots", parent_id="shoes")
        add(store, "customers", customer_id="c1", first_name='Ada "the" Count',
            last_name="Lovelace,\nof London", email="ada@example.com", gender="female",
            date_of_birth="1815-12-10", created_at="2024-03-01T10:00:00Z")
        add(store, "customers", customer_id="c2", first_name="Zoë ☃")
        add(store, "products", product_id="p1", name="Boot", price="1299.99",
            category_id="boots", rating="4.25", kind="clothes", size="XXL", width_cm="0.50")
        add(store, "orders", order_id="o1", customer_id="c1", purchased_at="2024-03-02 08:00:00")
        add(store, "order_items", order_id="o1", line_no=1, product_id="p1", quantity=2,
            unit_price="0.01", freight="12.00")
        add(store, "order_items", order_id="o1", line_no=2, product_id="p1", unit_price="5")
        add(store, "payments", payment_id="pay1", order_id="o1", method="wallet", amount="0.03")
    return db_url


def snapshot(url: str) -> dict[str, list[dict]]:
    with ecomcli.connect(url) as store:
        return {e.name: list(store.find(e.name)) for e in ENTITIES}


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "ndjson"])
def test_export_all_then_import_into_a_fresh_store(filled: str, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "dump"
    result = ecom("export", "--all", "--format", fmt, "--out", str(out), "--db", filled)
    assert result.exit_code == 0, result.stderr
    assert (out / f"orders.{fmt}").exists()
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    ecom("init-db", "--db", fresh)
    back = ecom("import", str(out), "--db", fresh)
    assert back.exit_code == 0, back.stderr
    assert snapshot(fresh) == snapshot(filled)


def test_export_one_entity_to_stdout_and_gz(filled: str, tmp_path: Path) -> None:
    result = ecom("export", "order_items", "--format", "ndjson", "--db", filled)
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0] == {"order_id": "o1", "line_no": 1, "product_id": "p1", "supplier_id": None,
                       "quantity": 2, "unit_price": "0.01", "freight": "12.00"}
    gz = tmp_path / "customers.csv.gz"
    assert ecom("export", "customers", "--out", str(gz), "--db", filled).exit_code == 0
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    ecom("init-db", "--db", fresh)
    assert ecom("import", str(gz), "--db", fresh).exit_code == 0
    assert snapshot(fresh)["customers"] == snapshot(filled)["customers"]


def test_export_usage(filled: str) -> None:
    assert ecom("export", "--db", filled).exit_code == 2
    assert ecom("export", "--all", "--db", filled).exit_code == 2
    assert ecom("export", "nosuch", "--db", filled).exit_code == 3


def test_copy_between_backends(filled: str, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    result = ecom("copy", "--from", filled, "--to", target, "--batch-size", "1")
    assert result.exit_code == 0, result.stderr
    assert snapshot(target) == snapshot(filled)
    # and back again: into an empty store of the fixture's backend is covered above; a
    # copy onto a target holding extra rows finishes with a count mismatch
    with ecomcli.connect(target) as store:
        add(store, "customers", customer_id="extra")
    result = ecom("copy", "--from", filled, "--to", target, "--entity", "customers")
    assert result.exit_code == 1
    assert "counts differ" in result.stderr and "customers" in result.stderr


def test_copy_from_sqlite_into_the_backend(filled: str, tmp_path: Path, db_url: str) -> None:
    source = f"sqlite:///{tmp_path / 'src.db'}"
    assert ecom("copy", "--from", filled, "--to", source).exit_code == 0
    with ecomcli.connect(db_url) as store:  # empty the fixture's store, then copy back
        for e in reversed(ENTITIES):
            for row in list(store.find(e.name)):
                store.delete(e.name, e.key_of(row))
    result = ecom("copy", "--from", source, "--to", db_url)
    assert result.exit_code == 0, result.stderr
    assert snapshot(db_url) == snapshot(source)


def emptied(url: str) -> str:
    with ecomcli.connect(url) as store:
        for e in reversed(ENTITIES):
            for row in list(store.find(e.name)):
                store.delete(e.name, e.key_of(row))
    return url


class FailingWrites:
    """The target's `write_batch`, failing on its `fail_at`-th call after writing half of
    the batch (a batch cut short by the server): with `error`, once."""

    def __init__(self, store: ecomcli.Repository, fail_at: int, error: Exception) -> None:
        self.real, self.calls, self.fail_at, self.error = store.write_batch, 0, fail_at, error

    def __call__(self, entity, rows, *args, **kw):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == self.fail_at:
            self.real(entity, rows[: len(rows) // 2], *args, **kw)
            raise self.error
        return self.real(entity, rows, *args, **kw)


def test_copy_retries_a_transient_failure(filled: str, tmp_path: Path, db_url: str) -> None:
    source = f"sqlite:///{tmp_path / 'src.db'}"
    assert ecom("copy", "--from", filled, "--to", source).exit_code == 0
    with ecomcli.connect(source) as src, ecomcli.connect(emptied(db_url)) as dst:
        dst.write_batch = FailingWrites(  # type: ignore[method-assign]
            dst, 4, TransientError("write conflict, retry (NoSuchTransaction)"))
        copy_store(src, dst, batch_size=2)
    assert snapshot(db_url) == snapshot(source)


def test_failed_copy_says_what_it_copied_and_a_rerun_finishes_it(
    filled: str, tmp_path: Path, db_url: str
) -> None:
    source = f"sqlite:///{tmp_path / 'src.db'}"
    assert ecom("copy", "--from", filled, "--to", source).exit_code == 0
    with ecomcli.connect(source) as src, ecomcli.connect(emptied(db_url)) as dst:
        dst.write_batch = FailingWrites(  # type: ignore[method-assign]
            dst, 3, ConnectionFailed("server closed the connection"))
        with pytest.raises(EcomError) as stopped:
            copy_store(src, dst, batch_size=1)
    message = str(stopped.value)
    assert stopped.value.exit_code == ConnectionFailed.exit_code
    assert "copy stopped in customers" in message  # categories in one batch (a tree), then c1, c2
    assert "categories (2)" in message and "run the same `ecom copy` again" in message
    assert snapshot(db_url) != snapshot(source)
    result = ecom("copy", "--from", source, "--to", db_url, "--batch-size", "1")
    assert result.exit_code == 0, result.stderr
    assert snapshot(db_url) == snapshot(source)
