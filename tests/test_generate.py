"""`ecom generate`: valid, deterministic, store-like data; `--dirty`; `sample_data/`; `demo`."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ecomcli import schema
from ecomcli.cli import app
from ecomcli.errors import ValidationError
from ecomcli.generate import GenerateOptions, generate
from ecomcli.validation import Validator

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def read_rows(directory: Path, entity: str) -> list[tuple[int, dict[str, Any]]]:
    """(physical line, raw row) of `<entity>.csv` or `<entity>.ndjson`."""
    csv_path = directory / f"{entity}.csv"
    if csv_path.exists():
        with open(csv_path, newline="", encoding="utf-8") as f:
            lines = f.read().split("\n")
        header = next(csv.reader([lines[0]]))
        return [
            (n, dict(zip(header, next(csv.reader([text])), strict=True)))
            for n, text in enumerate(lines[1:], start=2)
            if text
        ]
    with open(directory / f"{entity}.ndjson", encoding="utf-8") as f:
        return [(n, json.loads(text)) for n, text in enumerate(f, start=1)]


def load(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """Every entity's rows, validated (raises on the first bad one)."""
    return {
        e.name: [Validator(e)(raw) for _, raw in read_rows(directory, e.name)]
        for e in schema.ENTITIES
    }


def check_like_an_importer(directory: Path) -> set[tuple[str, int]]:
    """(file, line) of every row a validating importer must reject: invalid values,
    a reference to no (good) row, or the second occurrence of a key."""
    good_keys: dict[str, set[tuple]] = {}
    bad: set[tuple[str, int]] = set()
    for e in schema.load_order():
        check = Validator(e)
        keys: set[tuple] = set()
        for line, raw in read_rows(directory, e.name):
            name = f"{e.name}.{'csv' if (directory / f'{e.name}.csv').exists() else 'ndjson'}"
            try:
                row = check(raw)
            except ValidationError:
                bad.add((name, line))
                continue
            key = e.key_of(row)
            dangling = [
                f.name
                for f in e.references
                if row[f.name] is not None
                and (row[f.name],) not in (keys if f.ref == e.name else good_keys[f.ref])
            ]
            if dangling or key in keys:
                bad.add((name, line))
                continue
            keys.add(key)
        good_keys[e.name] = keys
    return bad


def digests(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file()
    }


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("store")
    generate(GenerateOptions(out, customers=400, products=120, orders=3000, seed=7))
    return out


@pytest.fixture(scope="module")
def store(store_dir: Path) -> dict[str, list[dict[str, Any]]]:
    return load(store_dir)


# --- files ---------------------------------------------------------------------------------


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    small = {"customers": 60, "products": 30, "orders": 200}
    generate(GenerateOptions(tmp_path / "a", seed=3, **small))
    generate(GenerateOptions(tmp_path / "b", seed=3, **small))
    generate(GenerateOptions(tmp_path / "c", seed=4, **small))
    a, b, c = (digests(tmp_path / d) for d in "abc")
    assert len(a) == len(schema.ENTITIES) + 1  # + manifest.json
    assert a == b
    assert a["orders.csv"] != c["orders.csv"]
    assert a["customers.csv"] != c["customers.csv"]


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_every_row_is_valid_and_every_reference_resolves(tmp_path: Path, fmt: str) -> None:
    generate(GenerateOptions(tmp_path, customers=80, products=40, orders=400, format=fmt))
    assert sorted(p.name for p in tmp_path.glob(f"*.{fmt}")) == sorted(
        f"{e.name}.{fmt}" for e in schema.ENTITIES
    )
    rows = load(tmp_path)  # raises ValidationError on an invalid row
    assert all(rows[e.name] for e in schema.ENTITIES), "every entity has rows"
    assert check_like_an_importer(tmp_path) == set()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["rows"] == {name: len(r) for name, r in rows.items()}


def test_switching_format_removes_the_other_format(tmp_path: Path) -> None:
    generate(GenerateOptions(tmp_path, customers=20, products=10, orders=30))
    generate(GenerateOptions(tmp_path, customers=20, products=10, orders=30, format="ndjson"))
    assert list(tmp_path.glob("*.csv")) == []


# --- the data behaves like a store's -------------------------------------------------------


def test_a_tenth_of_the_products_carry_more_than_half_the_units(store: dict) -> None:
    units = Counter()
    for line in store["order_items"]:
        units[line["product_id"]] += line["quantity"]
    top = sum(n for _, n in units.most_common(len(store["products"]) // 10))
    assert top > 0.5 * sum(units.values())


def test_sales_grow_and_peak_in_the_fourth_quarter(store: dict) -> None:
    when = {o["order_id"]: o["purchased_at"] for o in store["orders"]}
    revenue: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for line in store["order_items"]:
        at = when[line["order_id"]]
        revenue[at.year, (at.month - 1) // 3 + 1] += line["quantity"] * line["unit_price"]
    for year in (2024, 2025):
        quarters = [revenue[year, q] for q in (1, 2, 3, 4)]
        assert quarters[3] > sum(quarters) / 4
    assert sum(v for (y, _), v in revenue.items() if y == 2025) > sum(
        v for (y, _), v in revenue.items() if y == 2024
    )


def test_orders_follow_a_weekly_rhythm(store: dict) -> None:
    per_weekday = Counter(o["purchased_at"].weekday() for o in store["orders"])
    assert per_weekday[0] > per_weekday[5]  # Mondays busier than Saturdays


def test_most_customers_order_once_some_many_and_some_never(store: dict) -> None:
    per_customer = Counter(o["customer_id"] for o in store["orders"])
    inactive = len(store["customers"]) - len(per_customer)
    assert 0.15 <= inactive / len(store["customers"]) <= 0.25
    # also when only sales count (cancelled, returned and pending orders do not)
    buyers = {
        o["customer_id"]
        for o in store["orders"]
        if o["status"] not in ("pending", "cancelled", "returned")
    }
    assert 0.15 <= 1 - len(buyers) / len(store["customers"]) <= 0.25
    once = sum(1 for n in per_customer.values() if n == 1)
    assert once > len(per_customer) / 2
    assert sum(1 for n in per_customer.values() if n >= 10) >= 5


def test_stock_is_low_for_a_few_products_and_explained_by_movements(store: dict) -> None:
    stock = {p["product_id"]: p["units_in_stock"] for p in store["products"]}
    low = [p for p, n in stock.items() if n < 10]
    assert 0 < len(low) < len(stock) / 5
    assert any(n == 0 for n in stock.values())
    moved: Counter = Counter()
    for m in store["stock_movements"]:
        moved[m["product_id"]] += m["delta"]
    assert moved == Counter(stock)
    reasons = {m["reason"] for m in store["stock_movements"]}
    assert {"initial", "sale", "restock"} <= reasons
    # in time order, stock never goes negative and nothing happens after the last day
    running: Counter = Counter()
    for m in sorted(store["stock_movements"], key=lambda m: (m["created_at"], m["movement_id"])):
        running[m["product_id"]] += m["delta"]
        assert running[m["product_id"]] >= 0, m
        assert m["created_at"] < datetime(2026, 1, 1)


def test_one_supplier_clearly_supplies_the_most_products(store: dict) -> None:
    counts = Counter(s["supplier_id"] for s in store["supplies"]).most_common()
    assert counts[0][1] > counts[1][1]
    assert len({n for _, n in counts}) > 3  # skewed, not uniform


def test_clothes_come_in_plus_sizes_materials_and_genders(store: dict) -> None:
    clothes = [p for p in store["products"] if p["kind"] == "clothes"]
    assert {p["size"] for p in clothes} >= set(schema.PLUS_SIZES)
    assert len({p["material"] for p in clothes}) >= 5
    assert {p["gender"] for p in clothes} >= {"women", "men", "kids"}
    electronics = [p for p in store["products"] if p["kind"] == "electronics"]
    assert electronics and all(p["weight_g"] and p["length_cm"] for p in electronics)


def test_planted_pairs_are_bought_together_far_above_chance(
    store_dir: Path, store: dict
) -> None:
    pairs = json.loads((store_dir / "manifest.json").read_text())["planted_pairs"]
    assert pairs
    baskets: dict[str, set[str]] = defaultdict(set)
    for line in store["order_items"]:
        baskets[line["order_id"]].add(line["product_id"])
    n = len(baskets)
    for a, b in pairs:
        with_a = sum(1 for items in baskets.values() if a in items)
        with_b = sum(1 for items in baskets.values() if b in items)
        both = sum(1 for items in baskets.values() if a in items and b in items)
        lift = both * n / (with_a * with_b)
        assert both >= 5 and lift > 5, (a, b, both, lift)


def test_payments_equal_order_totals_with_a_mix_of_methods(store: dict) -> None:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in store["order_items"]:
        totals[line["order_id"]] += line["quantity"] * line["unit_price"] + line["freight"]
    for pay in store["payments"]:
        assert pay["amount"] == totals[pay["order_id"]]
    methods = Counter(p["method"] for p in store["payments"])
    assert set(methods) >= {"credit_card", "debit_card", "wallet", "voucher", "bank_transfer"}


def test_orders_in_every_status_with_consistent_timestamps(store: dict) -> None:
    assert {o["status"] for o in store["orders"]} == set(schema.ORDER_STATUSES)
    for o in store["orders"]:
        times = [o[f] for f in ("purchased_at", "approved_at", "shipped_at") if o[f]]
        assert times == sorted(times)
        if o["delivered_at"]:
            assert o["shipped_at"] < o["delivered_at"]
            assert o["status"] in ("delivered", "returned")
        if o["status"] in ("pending", "cancelled"):
            assert o["shipped_at"] is None and o["delivered_at"] is None


def test_partners_differ_in_lateness_and_late_orders_get_worse_reviews(store: dict) -> None:
    late: dict[str, bool] = {}
    share: dict[str, list[bool]] = defaultdict(list)
    for o in store["orders"]:
        if o["delivered_at"]:
            late[o["order_id"]] = o["delivered_at"] > o["estimated_delivery_at"]
            share[o["delivery_partner_id"]].append(late[o["order_id"]])
    ratios = sorted(sum(v) / len(v) for v in share.values())
    assert len(ratios) >= 4 and ratios[-1] > 3 * ratios[0]
    scores: dict[bool, list[int]] = defaultdict(list)
    for r in store["reviews"]:
        scores[late[r["order_id"]]].append(r["score"])
    mean = {k: sum(v) / len(v) for k, v in scores.items()}
    assert mean[True] < mean[False] - 1


def test_carts_checked_out_by_orders_and_some_abandoned(store: dict) -> None:
    status = {c["cart_id"]: c["status"] for c in store["carts"]}
    ordered = [o["cart_id"] for o in store["orders"] if o["cart_id"]]
    assert len(ordered) == len(set(ordered))
    assert {status[c] for c in ordered} == {"checked_out"}
    assert sum(1 for s in status.values() if s == "checked_out") == len(ordered)
    assert Counter(status.values())["abandoned"] > 0
    assert Counter(status.values())["open"] > 0


def test_wishlists_vary_in_length_and_some_products_are_wanted_far_more(store: dict) -> None:
    lengths = Counter(i["wishlist_id"] for i in store["wishlist_items"])
    assert min(lengths.values()) == 1 and max(lengths.values()) >= 10
    wanted = Counter(i["product_id"] for i in store["wishlist_items"]).most_common()
    assert wanted[0][1] > 5 * wanted[len(wanted) // 2][1]


def test_logins_keep_a_scrypt_hash_of_the_documented_password(store_dir: Path, store: dict) -> None:
    from ecomcli.accounts import verify_password

    password = json.loads((store_dir / "manifest.json").read_text())["password"]
    hashes = {login["password_hash"] for login in store["logins"]}
    assert len(hashes) == 1 and password not in next(iter(hashes))
    assert verify_password(password, hashes.pop())
    assert not verify_password("wrong-password", store["logins"][0]["password_hash"])


# --- --dirty -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_dirty_manifest_lists_exactly_the_bad_rows(tmp_path: Path, fmt: str) -> None:
    generate(
        GenerateOptions(tmp_path, customers=150, products=60, orders=800, dirty=0.03, format=fmt)
    )
    listed = json.loads((tmp_path / "dirty.json").read_text())
    assert len(listed) > 20
    assert len({e["problem"] for e in listed}) >= 7
    assert {(e["file"], e["line"]) for e in listed} == check_like_an_importer(tmp_path)
    by_line = {(e["file"], e["line"]): e for e in listed}
    for e in schema.ENTITIES:
        for line, raw in read_rows(tmp_path, e.name):
            entry = by_line.get((f"{e.name}.{fmt}", line))
            if entry is None:
                continue
            assert [str(raw[k]) for k in e.key] == [str(k) for k in entry["key"]]
            try:
                Validator(e)(raw)
            except ValidationError as error:
                assert error.field == entry["field"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["bad_rows"] == len(listed)


def test_a_clean_run_leaves_no_stale_dirty_manifest(tmp_path: Path) -> None:
    generate(GenerateOptions(tmp_path, customers=30, products=10, orders=50, dirty=0.2))
    assert (tmp_path / "dirty.json").exists()
    generate(GenerateOptions(tmp_path, customers=30, products=10, orders=50))
    assert not (tmp_path / "dirty.json").exists()


# --- the command ---------------------------------------------------------------------------


def test_generate_command_writes_an_importable_store(tmp_path: Path) -> None:
    out = tmp_path / "shop"
    result = CliRunner().invoke(
        app,
        ["generate", "--out", str(out), "--customers", "40", "--products", "20",
         "--orders", "120", "--from", "2023-01-01", "--to", "2023-06-30", "--seed", "5",
         "--locale", "de_DE"],
    )
    assert result.exit_code == 0, result.output
    assert "120 orders" in result.stderr
    rows = load(out)
    assert len(rows["orders"]) == 120 and len(rows["customers"]) == 40
    dates = [o["purchased_at"] for o in rows["orders"]]
    assert datetime(2023, 1, 1) <= min(dates) and max(dates) < datetime(2023, 7, 1)
    assert {a["country"] for a in rows["customer_addresses"]} == {"DE"}
    args = json.loads((out / "manifest.json").read_text())["arguments"]
    assert args["seed"] == 5 and args["locale"] == "de_DE"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dirty", "2"], "--dirty"),
        (["--from", "2024-02-30"], "--from"),
        (["--from", "2025-01-01", "--to", "2024-01-01"], "before"),
        (["--format", "xml"], "--format"),
        (["--locale", "xx_XX"], "locale"),
    ],
)
def test_generate_command_refuses_bad_options(tmp_path: Path, args: list, message: str) -> None:
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "x"), *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_generate_command_reports_an_unwritable_directory(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a directory")
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "taken")])
    assert result.exit_code == 1
    assert "cannot write to" in result.stderr and "taken" in result.stderr
    assert "Traceback" not in result.output


# --- sample_data/ and the demo -------------------------------------------------------------


def test_sample_data_is_what_its_documented_command_makes(tmp_path: Path) -> None:
    manifest = json.loads((SAMPLE / "manifest.json").read_text())
    args = manifest["arguments"]
    readme = (SAMPLE / "README.md").read_text()
    command = (
        f"ecom generate --out sample_data --customers {args['customers']} "
        f"--products {args['products']} --orders {args['orders']} --from {args['from']} "
        f"--to {args['to']} --seed {args['seed']}"
    )
    assert command in readme
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path), *command.split()[4:]])
    assert result.exit_code == 0, result.output
    ours = digests(tmp_path)
    committed = {k: v for k, v in digests(SAMPLE).items() if k in ours}
    assert ours == committed


def test_demo_imports_the_sample_and_tours_the_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # found next to the package, not in the working directory
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    result = CliRunner().invoke(app, ["demo", "--db", db, "--format", "csv"])
    assert result.exit_code == 0, result.output
    orders = len(read_rows(SAMPLE, "orders"))
    assert f"orders,{orders}" in result.stdout
    for title in ("Best-selling products", "Sales by quarter", "Low stock", "customers",
                  "Customer segments", "Bought together"):  # fmt: skip
        assert title in result.stderr
    assert "already holds" not in result.stderr
    again = CliRunner().invoke(app, ["demo", "--db", db, "--format", "csv"])
    assert again.exit_code == 0, again.output
    assert "already holds" in again.stderr
    assert f"orders,{orders}" in again.stdout


def test_demo_says_clearly_when_the_sample_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ecomcli

    monkeypatch.setattr(ecomcli, "__file__", str(tmp_path / "ecomcli" / "__init__.py"))
    result = CliRunner().invoke(app, ["demo", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 3
    assert "sample data not found" in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_the_importer_rejects_exactly_the_planted_rows(tmp_path: Path) -> None:
    import ecomcli
    from ecomcli.importing import ImportOptions, import_paths

    data = tmp_path / "dirty"
    generate(GenerateOptions(data, customers=100, products=60, orders=400, dirty=0.04))
    listed = json.loads((data / "dirty.json").read_text())
    with ecomcli.connect(f"sqlite:///{tmp_path / 'shop.db'}") as store:
        store.init_schema()
        summary = import_paths(store, [data], ImportOptions())
        assert summary.rejected == len(listed)
        per_file = Counter(e["file"].split(".")[0] for e in listed)
        assert {r["entity"]: r["rejected"] for r in summary.rows() if r["rejected"]} == per_file
        assert store.count("orders") == 400
