"""`ecom recommend` / `ecom similar` / `--evaluate` on every backend, over generated data
with planted co-purchase pairs and planted taste (manifest.json)."""

from __future__ import annotations

import csv
import json
import sys
import uuid
from datetime import timedelta
from typing import Any

import pytest
from test_reports_parity import stores  # noqa: F401 - the fixture: one store per backend
from typer.testing import CliRunner

import ecomcli
from ecomcli import Mode, schema
from ecomcli.cli import app
from ecomcli.generate import GenerateOptions, generate
from ecomcli.recommend import als, tables
from ecomcli.recommend.evaluate import evaluate, metrics, split
from ecomcli.recommend.model import RECENT_DAYS
from ecomcli.repository import Repository
from ecomcli.validation import Validator

READ = ("categories", "customers", "suppliers", "delivery_partners", "products", "carts",
        "orders", "order_items")
AUTO_MARGIN = 0.05  # auto's HR@10 over popularity's on the planted taste, at least


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    folder = tmp_path_factory.mktemp("gen")
    generate(GenerateOptions(folder, customers=300, products=60, orders=1500, seed=7))
    data = {}
    for name in READ:
        check = Validator(schema.entity(name))
        with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as f:
            data[name] = [check(r) for r in csv.DictReader(f)]
    return data, json.loads((folder / "manifest.json").read_text())


def load(store: Repository, data: dict[str, list[dict[str, Any]]]) -> None:
    for e in schema.load_order():
        if data.get(e.name):
            result = store.write_batch(e.name, data[e.name], Mode.INSERT, e.field_names)
            assert not result.rejected, (e.name, result.rejected[:3])


@pytest.fixture
def shop(store: Repository, generated: tuple[dict[str, Any], dict[str, Any]]) -> Repository:
    load(store, generated[0])
    return store


def ecom(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def bought(data: dict[str, Any], customer: str) -> set[str]:
    theirs = {o["order_id"] for o in data["orders"] if o["customer_id"] == customer}
    return {i["product_id"] for i in data["order_items"] if i["order_id"] in theirs}


def add_orders(store: Repository, customer: str, baskets: list[list[str]]) -> None:
    orders, lines = [], []
    for n, basket in enumerate(baskets):
        oid = f"ONEW{uuid.uuid4().hex[:6]}{n}"
        orders.append({"order_id": oid, "customer_id": customer, "status": "delivered",
                       "purchased_at": "2026-01-02 10:00:00"})
        for line_no, p in enumerate(basket, 1):
            lines.append({"order_id": oid, "line_no": line_no, "product_id": p, "quantity": 1,
                          "unit_price": "1.00", "freight": "0.00"})
    for name, rows in (("orders", orders), ("order_items", lines)):
        check = Validator(schema.entity(name))
        e = schema.entity(name)
        result = store.write_batch(name, [check(r) for r in rows], Mode.INSERT, e.field_names)
        assert not result.rejected, result.rejected[:3]


# --- what a user sees ------------------------------------------------------------------------


def test_planted_pairs_are_each_others_first_neighbour(shop: Repository, generated) -> None:
    pairs = generated[1]["planted_pairs"]
    assert pairs
    for a, b in pairs:
        assert shop.similar(a).product_id[0] == b
        assert shop.similar(b).product_id[0] == a


def test_auto_beats_popularity_on_planted_taste(shop: Repository) -> None:
    scores = {s.strategy: s for s in evaluate(shop, 10, ["auto", "popular"])}
    assert scores["auto"].customers > 50
    assert scores["auto"].hr >= scores["popular"].hr + AUTO_MARGIN


def test_a_recommendation_has_names_scores_and_reasons(shop: Repository, generated) -> None:
    data, manifest = generated
    customer = next(c for c in manifest["taste"]["customers"] if len(bought(data, c)) >= 3)
    frame = shop.recommend(customer, limit=7)
    assert list(frame.columns) == ["product_id", "name", "score", "reason"]
    assert len(frame) == 7 and frame.product_id.is_unique
    names = {p["product_id"]: p["name"] for p in data["products"]}
    assert list(frame.name) == [names[p] for p in frame.product_id]
    assert list(frame.score) == sorted(frame.score, reverse=True)
    assert frame.reason[0].startswith("bought before")  # their own staple comes first


def test_exclude_bought_leaves_out_what_the_customer_bought(shop: Repository, generated) -> None:
    data, manifest = generated
    customer = next(c for c in manifest["taste"]["customers"] if len(bought(data, c)) >= 3)
    theirs = bought(data, customer)
    assert set(shop.recommend(customer).product_id) & theirs  # without the flag: some
    kept = shop.recommend(customer, limit=20, exclude_bought=True)
    assert len(kept) == 20 and not set(kept.product_id) & theirs


def test_a_new_customer_and_a_new_product_get_best_sellers(shop: Repository, generated) -> None:
    data, _ = generated
    with_orders = {o["customer_id"] for o in data["orders"]}
    newcomer = next(c["customer_id"] for c in data["customers"]
                    if c["customer_id"] not in with_orders)
    frame = shop.recommend(newcomer, limit=5)
    counts: dict[str, set[str]] = {}
    for i in data["order_items"]:
        counts.setdefault(i["product_id"], set()).add(i["order_id"])
    best = sorted(counts, key=lambda p: (-len(counts[p]), p))[:5]
    assert list(frame.product_id) == best
    assert all(r.startswith("popular overall") for r in frame.reason)
    category = data["products"][0]["category_id"]
    shop.insert("products", Validator(schema.entity("products"))(
        {"product_id": "PNEW", "name": "New thing", "category_id": category, "price": "9.99"}))
    similar = shop.similar("PNEW", limit=2)
    assert all(r.startswith(f"popular in category {category}") for r in similar.reason)


def test_recent_ranks_the_best_sellers_of_the_last_30_days(shop: Repository, generated) -> None:
    data, _ = generated
    when = {o["order_id"]: o["purchased_at"] for o in data["orders"]}
    cutoff = max(when.values()) - timedelta(days=RECENT_DAYS)
    counts: dict[str, set[str]] = {}
    for i in data["order_items"]:
        if when[i["order_id"]] >= cutoff:
            counts.setdefault(i["product_id"], set()).add(i["order_id"])
    best = sorted(counts, key=lambda p: (-len(counts[p]), p))[:5]
    frame = shop.recommend(data["customers"][0]["customer_id"], limit=5, strategy="recent")
    assert list(frame.product_id) == best
    assert list(frame.score) == [len(counts[p]) for p in best]
    assert all(r.startswith(f"popular in the last {RECENT_DAYS} days") for r in frame.reason)


def test_als_ranks_with_stored_factors_and_refits_after_new_orders(
    shop: Repository, db_url: str, generated, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, manifest = generated
    customer = next(c for c in manifest["taste"]["customers"] if len(bought(data, c)) >= 3)
    frame = shop.recommend(customer, limit=10, strategy="als")
    assert len(frame) == 10 and frame.product_id.is_unique
    assert list(frame.score) == sorted(frame.score, reverse=True)
    theirs = bought(data, customer)
    assert all(r.startswith("bought before" if p in theirs else "als:")
               for p, r in zip(frame.product_id, frame.reason, strict=True))
    t = shop.neighbour_tables()
    assert t.built_from("als") == t.signature()
    # Ranking reads the stored factors: no `implicit` needed once they are fitted.
    monkeypatch.setitem(sys.modules, "implicit.cpu.als", None)
    with ecomcli.connect(db_url) as other:
        assert other.recommend(customer, limit=10, strategy="als").equals(frame)
    out = ecom("recommend", "--customer", customer, "--strategy", "als", "--refresh",
               "--db", db_url)
    assert out.exit_code == 2 and "pip install 'ecom[recs]'" in out.output
    monkeypatch.delitem(sys.modules, "implicit.cpu.als")
    # A product first bought after the fit gets a vector at the next als call.
    category = data["products"][0]["category_id"]
    shop.insert("products", Validator(schema.entity("products"))(
        {"product_id": "PNEW", "name": "New thing", "category_id": category, "price": "9.99"}))
    add_orders(shop, customer, [["PNEW", *sorted(bought(data, customer))[:2]]] * 3)
    monkeypatch.setattr(tables, "CHECK_EVERY", 0.0)
    shop.recommend(customer, strategy="als")
    assert "PNEW" in tables.factors(shop, t).ids
    assert t.built_from("als") == t.signature()


def test_als_folds_a_customer_in_as_implicit_does() -> None:
    import numpy as np
    from implicit.cpu.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix

    rng = np.random.default_rng(3)
    dense = (rng.random((40, 25)) < 0.2) * rng.integers(1, 4, (40, 25))
    matrix = csr_matrix(dense.astype(np.float32))
    model = AlternatingLeastSquares(factors=8, regularization=als.REGULARIZATION,
                                    alpha=als.ALPHA, random_state=1)
    model.fit(matrix, show_progress=False)
    factors = als.Factors([f"P{i:02d}" for i in range(25)], model.item_factors)
    for u in range(5):
        history = {f"P{i:02d}": int(dense[u, i]) for i in np.flatnonzero(dense[u])}
        expected = model.item_factors @ model.recalculate_user(u, matrix[u])
        assert np.allclose(als.scores(factors, history), expected, rtol=1e-3, atol=1e-4)


def test_unknown_customer_or_product_is_exit_3(db_url: str) -> None:
    result = ecom("recommend", "--customer", "C404", "--db", db_url)
    assert result.exit_code == 3 and "C404" in result.output and "not found" in result.output
    result = ecom("similar", "--product", "P404", "--db", db_url)
    assert result.exit_code == 3 and "P404" in result.output


def test_cli_formats_and_the_evaluation_table(shop: Repository, db_url: str, generated) -> None:
    customer = generated[0]["orders"][0]["customer_id"]
    out = ecom("recommend", "--customer", customer, "--limit", "3", "--format", "csv",
               "--db", db_url)
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(out.stdout.splitlines()))
    assert len(rows) == 3 and list(rows[0]) == ["product_id", "name", "score", "reason"]
    assert [r["product_id"] for r in rows] == list(shop.recommend(customer, limit=3).product_id)
    table = ecom("recommend", "--evaluate", "--format", "json", "--db", db_url)
    assert table.exit_code == 0, table.output
    scored = {r["strategy"]: r for r in json.loads(table.stdout)}
    assert set(scored) == {"auto", "similar", "bm25", "again", "popular", "recent", "als"}
    assert all(0 <= r["hr"] <= 1 and r["seconds"] >= 0 for r in scored.values())


def test_a_new_order_changes_the_neighbours_without_refresh(
    shop: Repository, db_url: str, generated, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, _ = generated
    baskets: dict[str, set[str]] = {}
    for i in data["order_items"]:
        baskets.setdefault(i["order_id"], set()).add(i["product_id"])
    orders_of = {p["product_id"]: 0 for p in data["products"]}
    for basket in baskets.values():
        for p in basket:
            orders_of[p] += 1
    a, *rare = sorted(orders_of, key=lambda p: (orders_of[p], p))  # the rarely bought ones
    stranger = next(p for p in rare if not any({a, p} <= b for b in baskets.values()))
    assert stranger not in set(shop.similar(a, limit=60).product_id[:5])
    add_orders(shop, data["customers"][0]["customer_id"], [[a, stranger]] * 40)
    with ecomcli.connect(db_url) as other:  # another program (another `ecom` command)
        assert other.similar(a).product_id[0] == stranger
    monkeypatch.setattr(tables, "CHECK_EVERY", 0.0)  # this open store checks on every call
    second = next(p for p in rare if p != stranger)
    add_orders(shop, data["customers"][0]["customer_id"], [[a, second]] * 80)
    assert shop.similar(a).product_id[0] == second


def test_a_line_changed_in_place_rebuilds_but_a_status_change_does_not(
    shop: Repository, generated
) -> None:
    data, _ = generated
    t = shop.neighbour_tables()
    shop.similar(data["products"][0]["product_id"])
    built = t.built_from()
    assert built == t.signature()
    order = data["orders"][0]
    shop.update("orders", (order["order_id"],), {"status": "shipped"})
    assert t.built_from() == built  # a status is not what the tables count
    # Moving every line of a product to another keeps the lines' number and ids (the
    # signature): the write itself makes the next call rebuild.
    a, other = data["products"][1]["product_id"], data["products"][-1]["product_id"]
    assert t.neighbours([a])
    for i in data["order_items"]:
        if i["product_id"] == a:
            shop.update("order_items", (i["order_id"], i["line_no"]), {"product_id": other})
    assert t.built_from() is None
    shop.similar(other)  # at once: this open store's own write, within CHECK_EVERY
    assert t.built_from() == t.signature() == built
    assert not t.neighbours([a])  # rebuilt: no order holds it any more


# --- the evaluation's arithmetic --------------------------------------------------------------


def test_metrics_against_a_hand_computed_case() -> None:
    lists = [["a", "b", "c"], ["x", "y", "z"], ["d", "e", "a"]]
    held = [{"c"}, {"q"}, {"d", "e"}]
    hr, ndcg, coverage = metrics(lists, held, 3, 10)
    assert hr == pytest.approx(2 / 3)
    # first: a hit at rank 3 -> 1/log2(4) = 0.5; second: 0; third: both first -> 1
    assert ndcg == pytest.approx((0.5 + 0 + 1) / 3)
    assert coverage == pytest.approx(8 / 10)  # a b c x y z d e
    hr2, ndcg2, _ = metrics(lists, held, 1, 10)
    assert (hr2, ndcg2) == (pytest.approx(1 / 3), pytest.approx(1 / 3))


def test_the_last_order_of_each_repeat_customer_is_held_out() -> None:
    lines = [("C1", "O1", "2024-01-01", "a"), ("C1", "O1", "2024-01-01", "b"),
             ("C1", "O3", "2024-02-01", "c"), ("C2", "O2", "2024-01-05", "a")]
    s = split(lines)
    assert s.held_out == {"C1": {"c"}}
    assert s.train == {"C1": [{"a", "b"}], "C2": [{"a"}]}


def test_recent_counts_the_training_orders_of_the_last_30_days() -> None:
    lines = [("C1", "O1", "2024-01-01 10:00:00", "a"), ("C1", "O1", "2024-01-01 10:00:00", "b"),
             ("C1", "O3", "2024-02-01 10:00:00", "c"), ("C2", "O0", "2023-11-01 10:00:00", "z"),
             ("C2", "O2", "2024-01-05 10:00:00", "y"), ("C3", "O5", "2024-01-04 10:00:00", "a")]
    s = split(lines)  # O3 and O2 are held out: training ends with O5, on 2024-01-04
    assert s.held_out == {"C1": {"c"}, "C2": {"y"}}
    assert s.recent == {"a": 2, "b": 1}


# --- the same lists everywhere ----------------------------------------------------------------


def test_the_same_recommendations_on_every_backend(stores, generated) -> None:  # noqa: F811
    if len(stores) < 2:
        pytest.skip("parity needs at least two backends (ECOM_TEST_BACKENDS)")
    data, _ = generated
    for store in stores.values():
        load(store, data)
    customers = [c["customer_id"] for c in data["customers"][:40]]
    products = [p["product_id"] for p in data["products"]]

    def lists(store: Repository) -> list[Any]:
        out = [store.recommend(c, limit=10, strategy=s).values.tolist()
               for c in customers for s in ("auto", "similar", "bm25", "again", "recent", "als")]
        out += [store.similar(p, limit=10).values.tolist() for p in products]
        scored = evaluate(store, 10, ["auto", "popular", "recent", "als"])
        return out + [(s.strategy, s.hr, s.ndcg, s.coverage) for s in scored]

    first, *others = stores
    expected = lists(stores[first])
    for other in others:
        assert lists(stores[other]) == expected, other
