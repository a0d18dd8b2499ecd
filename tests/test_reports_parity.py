"""Every report gives identical rows on SQLite, MySQL and MongoDB over generated data."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import BACKENDS, empty

import ecomcli
from ecomcli import Mode, reports, schema
from ecomcli.generate import GenerateOptions, generate
from ecomcli.repository import Repository
from ecomcli.validation import Validator

# entities the reports read (the rest are not needed to answer any question)
READ = {e.name for e in schema.ENTITIES} - {"customer_addresses", "logins", "stock_movements"}

CASES: list[tuple[str, dict[str, Any]]] = [
    ("low-stock", {}),
    ("low-stock", {"threshold": 25}),
    ("ratings", {"limit": 4}),
    ("ratings", {"limit": 3, "min_reviews": 8}),
    ("carts", {}),
    ("carts", {"discount": "10", "payment_method": "credit_card"}),
    ("wishlists", {"by": "customer"}),
    ("wishlists", {"by": "product"}),
    ("wishlists", {"by": "customer", "limit": 4}),
    ("top-products", {"limit": 3}),
    ("top-products", {"metric": "revenue", "from": "2025-01-01", "to": "2025-06-30"}),
    ("customer-activity", {}),
    ("customer-activity", {"from": "2025-07-01"}),
    ("customer-activity", {"list": "inactive", "from": "2025-01-01"}),
    ("suppliers", {}),
    ("suppliers", {"top": True}),
    ("customer-orders", {}),
    ("customer-orders", {"from": "2024-03-01", "to": "2024-03-31"}),
    *[("sales", {"by": by}) for by in ("day", "week", "month", "quarter", "year")],
    ("forecast", {"by": "quarter"}),
    ("forecast", {"by": "month", "periods": 6}),
    ("payments", {}),
    ("delivery", {"from": "2025-01-01"}),
    ("categories", {}),
    ("rfm", {}),
    ("rfm", {"list": True, "as_of": "2025-06-30"}),
    ("cohorts", {"by": "quarter"}),
    ("basket", {"min_support": "0.2"}),
    ("restock", {}),
    ("restock", {"as_of": "2025-06-30", "window": 60}),
    ("clv", {"horizon": 6}),
]


def generated_rows(folder: Path) -> dict[str, list[dict[str, Any]]]:
    generate(GenerateOptions(folder, customers=200, products=60, orders=800, seed=11))
    data = {}
    for name in READ:
        check = Validator(schema.entity(name))
        with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as f:
            data[name] = [check(r) for r in csv.DictReader(f)]
    return data


def load(store: Repository, data: dict[str, list[dict[str, Any]]]) -> None:
    for e in schema.load_order():
        if data.get(e.name):
            result = store.write_batch(e.name, data[e.name], Mode.INSERT, e.field_names)
            assert not result.rejected, (e.name, result.rejected[:3])


@pytest.fixture
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    urls = {}
    if "sqlite" in BACKENDS:
        urls["sqlite"] = f"sqlite:///{tmp_path / 'parity.db'}"
    if "mysql" in BACKENDS:
        urls["mysql"] = request.getfixturevalue("mysql_server")
    if "mongodb" in BACKENDS:
        urls["mongodb"] = f"{request.getfixturevalue('mongo_server')}/parity_{uuid.uuid4().hex[:8]}"
    opened = {name: ecomcli.connect(url) for name, url in urls.items()}
    for store in opened.values():
        store.init_schema()
        if store.backend == "mysql":
            empty(store)
    yield opened
    for name, store in opened.items():
        if name == "mongodb":
            store.client.drop_database(store.db.name)  # type: ignore[attr-defined]
        store.close()


def test_every_report_is_identical_on_every_backend(stores, tmp_path: Path) -> None:
    if len(stores) < 2:
        pytest.skip("parity needs at least two backends (ECOM_TEST_BACKENDS)")
    data = generated_rows(tmp_path / "gen")
    for store in stores.values():
        load(store, data)
    for name, params in CASES:
        results = {b: reports.run(s, name, params) for b, s in stores.items()}
        first, *others = results
        assert results[first].rows, (name, params, "an empty result proves nothing")
        for other in others:
            assert results[other].rows == results[first].rows, (name, params, other)
            assert results[other].notes == results[first].notes, (name, params, other)
    assert {name for name, _ in CASES} == set(reports.REPORTS)  # every report is covered
