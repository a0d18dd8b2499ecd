"""The store-intelligence reports (rfm, cohorts, basket, restock, clv): each one checked
against pandas computed from the generated CSV files, on every backend, plus the edge
cases (a customer with one order, one month of history, products never sold, a pair
that appears once, an as-of date before any sale) and the CLI / DataFrame surfaces."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import BACKENDS, empty
from typer.testing import CliRunner

import ecomcli
from ecomcli import Mode, reports, schema
from ecomcli.cli import app
from ecomcli.errors import UsageError
from ecomcli.generate import GenerateOptions, generate
from ecomcli.importing import ImportOptions, import_paths
from ecomcli.repository import Repository
from ecomcli.validation import Validator

NOT_SALES = {"pending", "cancelled", "returned"}


# --- a generated store, loaded once per backend ------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("intel") / "shop"
    # 200 products: with fewer, two customers' staples (generate.py `tastes`) can be bought
    # together as often as a planted pair, and outrank it by lift
    generate(GenerateOptions(folder, customers=250, products=200, orders=2500, seed=21))
    return folder


@pytest.fixture(scope="module", params=BACKENDS)
def shop(request: pytest.FixtureRequest, generated: Path, tmp_path_factory) -> Any:  # type: ignore[no-untyped-def]
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('intel-db') / 'shop.db'}"
    elif backend == "mysql":
        url = f"{request.getfixturevalue('mysql_server')}_intel"  # dropped with the session's
    else:
        url = f"{request.getfixturevalue('mongo_server')}/intel_{uuid.uuid4().hex[:8]}"
    store = ecomcli.connect(url)
    store.init_schema()
    if backend == "mysql":
        empty(store)
    import_paths(store, [generated], ImportOptions())
    yield store
    if backend == "mongodb":
        store.client.drop_database(store.db.name)  # type: ignore[attr-defined]
    store.close()


def csv_frames(folder: Path) -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in ("orders", "order_items", "products", "supplies", "suppliers", "customers")
    }


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


def sale_orders(t: dict[str, pd.DataFrame], until: date | None = None) -> pd.DataFrame:
    """One row per sale (status not excluded, at least one line) with its revenue in cents."""
    lines = t["order_items"].assign(
        cents=lambda f: f.quantity.astype(int) * f.unit_price.map(cents),
        quantity=lambda f: f.quantity.astype(int),
    )
    revenue = lines.groupby("order_id").cents.sum().rename("cents")
    o = t["orders"][~t["orders"].status.isin(NOT_SALES)].join(revenue, on="order_id", how="inner")
    o = o.assign(when=pd.to_datetime(o.purchased_at))
    if until is not None:
        o = o[o.when < pd.Timestamp(until + timedelta(days=1))]
    return o


def run(store: Repository, name: str, **params: Any) -> list[dict[str, Any]]:
    return reports.run(store, name, params).rows


def money(cents_: int) -> Decimal:
    return Decimal(int(cents_)).scaleb(-2)


def half_up(num: int, den: int, places: int = 2) -> Decimal:
    return (Decimal(int(num)) / Decimal(int(den))).quantize(
        Decimal(1).scaleb(-places), "ROUND_HALF_UP"
    )


# --- rfm --------------------------------------------------------------------------------


def segment_of(r: int, f: int) -> str:
    """The rule table of docs/reports.md, written out independently."""
    if r >= 4 and f >= 4:
        return "champions"
    if r >= 3 and f >= 3:
        return "loyal"
    if r >= 4:
        return "promising" if f == 2 else "new"
    if r == 3:
        return "need-attention"
    if r == 1 and f >= 4:
        return "cant-lose"
    if f >= 3:
        return "at-risk"
    return "hibernating" if r == 2 else "lost"


def oracle_rfm(t: dict[str, pd.DataFrame], as_of: date | None = None) -> pd.DataFrame:
    o = sale_orders(t, as_of)
    g = o.groupby("customer_id").agg(
        orders=("order_id", "count"), cents=("cents", "sum"), last=("when", "max")
    )
    g["last_day"] = g["last"].dt.date
    n = len(g)
    for col, score in (("last_day", "r"), ("orders", "f"), ("cents", "m")):
        rank = g[col].rank(method="min").astype(int)  # ties share the lowest rank
        g[score] = 1 + (5 * (rank - 1)) // n
    g["segment"] = [segment_of(r, f) for r, f in zip(g.r, g.f, strict=True)]
    day = as_of or max(g.last_day)
    g["recency_days"] = [(day - d).days for d in g.last_day]
    return g


def test_rfm_scores_and_segments_match_pandas(shop: Repository, generated: Path) -> None:
    want = oracle_rfm(csv_frames(generated))
    got = {r["customer_id"]: r for r in run(shop, "rfm", list=True)}
    assert set(got) == set(want.index)
    for cid, w in want.iterrows():
        r = got[cid]
        assert (r["r"], r["f"], r["m"]) == (w.r, w.f, w.m), cid
        assert r["segment"] == w.segment and r["rfm"] == f"{w.r}{w.f}{w.m}"
        assert (r["orders"], r["revenue"], r["recency_days"]) == (
            w.orders,
            money(w.cents),
            w.recency_days,
        )
    listed = run(shop, "rfm", list=True)
    assert [r["customer_id"] for r in listed] == sorted(  # best first, then by id
        want.index, key=lambda c: (-want.r[c], -want.f[c], -want.m[c], c)
    )
    for name in reports.spec("rfm").option("segment").choices:  # each segment's own filter
        assert run(shop, "rfm", segment=name) == [r for r in listed if r["segment"] == name]
    segments = run(shop, "rfm")  # --by segment, the default
    assert_segment_table(segments, want)


def assert_segment_table(segments: list[dict[str, Any]], want: pd.DataFrame) -> None:
    counts = want.groupby("segment").agg(
        customers=("r", "size"), orders=("orders", "sum"), cents=("cents", "sum")
    )
    assert [s["segment"] for s in segments] == [
        s for s in reports.spec("rfm").option("segment").choices if s in counts.index
    ]
    for s in segments:
        c = counts.loc[s["segment"]]
        assert (s["customers"], s["orders"], s["revenue"]) == (
            c.customers, c.orders, money(c.cents)
        )
        assert s["share_pct"] == half_up(100 * c.customers, len(want), 1)


def test_rfm_as_of_and_segment_list(shop: Repository, generated: Path) -> None:
    as_of = date(2025, 3, 31)
    want = oracle_rfm(csv_frames(generated), as_of)
    lost = run(shop, "rfm", as_of=as_of, segment="lost")
    assert {r["customer_id"] for r in lost} == set(want.index[want.segment == "lost"])
    assert all(r["recency_days"] == want.loc[r["customer_id"]].recency_days for r in lost)
    assert_segment_table(run(shop, "rfm", as_of=as_of), want)  # scored from the lines
    assert (
        run(shop, "rfm", segment="champions", limit=3) == run(shop, "rfm", segment="champions")[:3]
    )


# --- cohorts ----------------------------------------------------------------------------


def oracle_cohorts(t: dict[str, pd.DataFrame], by: str) -> list[tuple[Any, ...]]:
    o = sale_orders(t)
    freq = "M" if by == "month" else "Q"
    o["period"] = o.when.dt.to_period(freq)
    o["cohort"] = o.groupby("customer_id").period.transform("min")
    cells = o.groupby(["cohort", "period"]).agg(
        active=("customer_id", "nunique"), cents=("cents", "sum")
    )
    size = o.groupby("cohort").customer_id.nunique()
    last = o.period.max()
    full = pd.MultiIndex.from_tuples(
        [(c, p) for c in size.index for p in pd.period_range(c, last, freq=freq)]
    )
    cells = cells.reindex(full, fill_value=0)
    out = []
    for (cohort, period), c in cells.iterrows():
        k = (period - cohort).n
        label = str(cohort) if by == "month" else f"{cohort.year}-Q{cohort.quarter}"
        n = size[cohort]
        out.append((label, n, k, c.active, half_up(100 * c.active, n, 1), money(c.cents),
                    half_up(c.cents, 100 * n)))  # fmt: skip
    return sorted(out)


@pytest.mark.parametrize("by", ["month", "quarter"])
def test_cohorts_retention_matches_pandas(shop: Repository, generated: Path, by: str) -> None:
    got = reports.run(shop, "cohorts", {"by": by}).records
    assert got == oracle_cohorts(csv_frames(generated), by)


# --- basket -----------------------------------------------------------------------------


def oracle_pairs(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    o = sale_orders(t)
    s = t["order_items"][t["order_items"].order_id.isin(o.order_id)]
    s = s[["order_id", "product_id"]].drop_duplicates()
    n, per = s.order_id.nunique(), s.groupby("product_id").size()
    m = s.merge(s, on="order_id")
    m = m[m.product_id_x < m.product_id_y]
    c = m.groupby(["product_id_x", "product_id_y"]).size().rename("n").reset_index()
    c["na"] = per[c.product_id_x].values
    c["nb"] = per[c.product_id_y].values
    c["total"] = n
    return c


def test_basket_ranks_the_planted_pairs_first(shop: Repository, generated: Path) -> None:
    planted = json.loads((generated / "manifest.json").read_text())["planted_pairs"]
    got = run(shop, "basket")
    assert {(r["product_a"], r["product_b"]) for r in got[: len(planted)]} == {
        tuple(p) for p in planted
    }


def test_basket_counts_and_ratios_match_pandas(shop: Repository, generated: Path) -> None:
    c = oracle_pairs(csv_frames(generated))
    kept = c[(c.n >= 3) & (100 * c.n >= Decimal("0.2") * c.total)]
    got = run(shop, "basket", min_count=3, min_support="0.2", limit=10_000)
    assert len(got) == len(kept)
    index = {(r.product_id_x, r.product_id_y): r for r in kept.itertuples()}
    for r in got:
        w = index[(r["product_a"], r["product_b"])]
        assert r["orders"] == w.n
        assert r["support_pct"] == half_up(100 * w.n, w.total)
        assert r["confidence_ab_pct"] == half_up(100 * w.n, w.na)
        assert r["confidence_ba_pct"] == half_up(100 * w.n, w.nb)
        assert r["lift"] == half_up(w.n * w.total, w.na * w.nb)
    lifts = [Decimal(w.n * w.total) / (w.na * w.nb) for w in
             (index[(r["product_a"], r["product_b"])] for r in got)]  # fmt: skip
    assert lifts == sorted(lifts, reverse=True)


def test_basket_partners_of_one_product(shop: Repository, generated: Path) -> None:
    c = oracle_pairs(csv_frames(generated))
    product = c.sort_values("n").iloc[-1].product_id_x
    got = run(shop, "basket", product=product, min_support=0, limit=10_000)
    mine = c[(c.product_id_x == product) | (c.product_id_y == product)]
    assert len(got) == len(mine)
    assert all(r["product_a"] == product for r in got)


# --- restock ----------------------------------------------------------------------------


def oracle_restock(t, window: int = 30, cover: int = 30, safety: int = 7) -> pd.DataFrame:
    o = sale_orders(t)
    last = o.when.max().normalize()
    o = o[o.when >= last - pd.Timedelta(days=window - 1)]
    lines = t["order_items"][t["order_items"].order_id.isin(o.order_id)]
    sold = lines.assign(q=lines.quantity.astype(int)).groupby("product_id").q.sum()
    p = t["products"].set_index("product_id")
    out = pd.DataFrame({"stock": p.units_in_stock.astype(int)})
    out["sold"] = sold.reindex(out.index).fillna(0).astype(int)
    lead = t["supplies"].merge(t["suppliers"], on="supplier_id")
    lead = lead.assign(days=lead.lead_time_days.replace("", "7").astype(int))
    out["lead"] = lead.groupby("product_id").days.min().reindex(out.index).fillna(7).astype(int)
    need = -(-out.sold * (out.lead + cover + safety) // window)
    out["qty"] = (need - out.stock).clip(lower=0)
    return out


def test_restock_velocity_cover_and_quantity_match_pandas(shop: Repository, generated) -> None:
    want = oracle_restock(csv_frames(generated))
    got = run(shop, "restock")
    assert len(got) == len(want)
    for r in got:
        w = want.loc[r["product_id"]]
        assert (r["units_in_stock"], r["units_sold"], r["reorder_qty"]) == (w.stock, w.sold, w.qty)
        assert r["per_day"] == half_up(w.sold, 30)
    urgent = [r for r in got if r["units_sold"]]
    days = [r["order_within_days"] for r in urgent]
    assert days == sorted(days) and got[: len(urgent)] == urgent  # never-sold products last


# --- clv --------------------------------------------------------------------------------


def test_clv_recovers_known_purchase_rates(tmp_path: Path) -> None:
    """On a store simulated with known BG/NBD and Gamma-Gamma parameters: the population's
    mean purchase rate, drop-out probability and mean spend within 25% of the truth, and
    the purchases predicted after the as-of day within 10% of those that happened."""
    import numpy as np

    from ecomcli.purchase_model import simulate
    from ecomcli.reports.defs import clv

    truth = simulate(tmp_path / "sim", customers=2000)["truth"]
    with ecomcli.connect(f"sqlite:///{tmp_path / 'sim.db'}") as store:
        store.init_schema()
        import_paths(store, [tmp_path / "sim"], ImportOptions())
        params = {"as_of": truth["as_of"], "horizon": 6}
        result = reports.run(store, "clv", params)
        t = store.run_report(reports.report("clv"), reports.spec("clv").params(params))
    as_of = date.fromisoformat(truth["as_of"])
    n = np.array([r[1] for r in t.rows], dtype=float)
    first = [date.fromisoformat(r[2]) for r in t.rows]
    t_x = np.array(
        [(date.fromisoformat(r[3]) - f).days for r, f in zip(t.rows, first, strict=True)], float
    )
    age = np.array([(as_of - f).days for f in first], dtype=float)
    m = np.array([float(r[4]) for r in t.rows]) / n  # revenue: Decimal currency units
    bg, gg = clv.fit(n - 1, t_x, age, n, m)
    assert bg.r / bg.alpha == pytest.approx(truth["r"] / truth["alpha"], rel=0.25)
    assert bg.a / (bg.a + bg.b) == pytest.approx(truth["a"] / (truth["a"] + truth["b"]), rel=0.25)
    spend = truth["p"] * truth["gamma"] / (truth["q"] - 1)
    assert gg.p * gg.gamma / (gg.q - 1) == pytest.approx(spend, rel=0.25)
    predicted = sum(r["expected_purchases"] for r in result.rows)
    assert float(predicted) == pytest.approx(truth["purchases_after_as_of"], rel=0.10)


def test_clv_rounds_each_estimate_half_up_as_decimal_does() -> None:
    import numpy as np

    from ecomcli.reports.defs import clv

    halves = [0.125, 2.675, 1.005, 0.005, 10.004999999, 0.0, 123456.785, 0.0005, 0.9995]
    values = np.array([*halves, *np.random.default_rng(3).gamma(2, 40, 5000)])
    for places in (2, 3):
        step = Decimal(1).scaleb(-places)
        want = [Decimal(repr(v)).quantize(step, ROUND_HALF_UP) for v in values.tolist()]
        got = clv.half_up(values, places)
        assert got == want and [str(g) for g in got] == [str(w) for w in want]


def test_clv_refuses_a_history_too_short(shop: Repository) -> None:
    with pytest.raises(UsageError, match="history is too short"):
        reports.run(shop, "clv", {"as_of": "2024-01-20"})


def test_rfm_and_clv_as_of_before_any_sale(shop: Repository) -> None:
    assert run(shop, "rfm", as_of="2020-01-01") == []
    assert run(shop, "basket", to="2020-01-01") == []
    with pytest.raises(UsageError, match="no sales"):
        reports.run(shop, "clv", {"as_of": "2020-01-01"})


# --- edge cases: a tiny store of one month ------------------------------------------------


def tiny_rows() -> dict[str, list[dict[str, Any]]]:
    """March 2025 only. c1: one order (p1 + p2: a pair bought once); c2: two orders (p1,
    then p1 + p3); c3: a cancelled order only; c4: an order without lines; p4 never sold."""
    orders = [
        ("o1", "c1", "delivered", "2025-03-05 10:00:00", [("p1", 1), ("p2", 2)]),
        ("o2", "c2", "delivered", "2025-03-10 10:00:00", [("p1", 3)]),
        ("o3", "c2", "shipped", "2025-03-20 10:00:00", [("p1", 1), ("p3", 1)]),
        ("o4", "c3", "cancelled", "2025-03-21 10:00:00", [("p2", 5)]),
        ("o5", "c4", "delivered", "2025-03-22 10:00:00", []),
    ]
    raw: dict[str, list[dict[str, Any]]] = {
        "customers": [{"customer_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(1, 5)],
        "products": [
            {"product_id": f"p{i}", "name": f"Product {i}", "price": "10.00", "units_in_stock": 5}
            for i in range(1, 5)
        ],
        "suppliers": [{"supplier_id": "s1", "name": "Fast", "lead_time_days": 3}],
        "supplies": [{"supplier_id": "s1", "product_id": "p1", "units": 1}],
        "orders": [
            {"order_id": o, "customer_id": c, "status": s, "purchased_at": at}
            for o, c, s, at, _ in orders
        ],
        "order_items": [
            {"order_id": o, "line_no": n, "product_id": p, "quantity": q, "unit_price": "10.00"}
            for o, _, _, _, lines in orders
            for n, (p, q) in enumerate(lines, 1)
        ],
    }
    return {name: [Validator(schema.entity(name))(r) for r in rows] for name, rows in raw.items()}


@pytest.fixture
def tiny(store: Repository) -> Repository:
    data = tiny_rows()
    for e in schema.load_order():
        if data.get(e.name):
            result = store.write_batch(e.name, data[e.name], Mode.INSERT, e.field_names)
            assert not result.rejected, (e.name, result.rejected[:3])
    return store


def test_rfm_edge_cases_one_order_and_non_sales(tiny: Repository) -> None:
    got = {r["customer_id"]: r for r in run(tiny, "rfm", list=True)}
    assert set(got) == {"c1", "c2"}  # c3 only cancelled, c4's order has no lines
    assert (got["c1"]["orders"], got["c1"]["rfm"], got["c1"]["segment"]) == (1, "111", "lost")
    assert (got["c2"]["orders"], got["c2"]["rfm"], got["c2"]["segment"]) == (2, "333", "loyal")
    assert (got["c1"]["recency_days"], got["c2"]["recency_days"]) == (15, 0)
    assert run(tiny, "rfm", as_of="2025-01-01") == []  # before any sale


def test_cohorts_with_one_month_of_history(tiny: Repository) -> None:
    assert reports.run(tiny, "cohorts", {}).records == [
        ("2025-03", 2, 0, 2, Decimal("100.0"), Decimal("80.00"), Decimal("40.00"))
    ]


def test_basket_keeps_a_pair_bought_once_only_when_asked(tiny: Repository) -> None:
    once = run(tiny, "basket", min_support=0, min_count=1)
    assert [(r["product_a"], r["product_b"], r["orders"], r["lift"]) for r in once] == [
        ("p1", "p2", 1, Decimal("1.00")),
        ("p1", "p3", 1, Decimal("1.00")),
    ]
    assert run(tiny, "basket", min_support=0, min_count=2) == []
    assert run(tiny, "basket", to="2025-01-01") == []  # before any sale


def test_basket_counts_a_product_on_two_lines_of_a_sale_once(tiny: Repository) -> None:
    """o6 holds p2 on two lines: one sale holding p2, and one holding p2 with p3, both
    when every month's pairs are counted (the first report) and when one month's are
    again (after a write to it). Four sales: lift(p2, p3) = 1 * 4 / (2 * 2)."""
    def write(name: str, rows: list[dict[str, Any]]) -> None:
        entity = schema.entity(name)
        valid = [Validator(entity)(r) for r in rows]
        assert not tiny.write_batch(name, valid, Mode.INSERT, entity.field_names).rejected

    write("orders", [{"order_id": "o6", "customer_id": "c4", "status": "delivered",
                      "purchased_at": "2025-03-25 10:00:00"}])
    lines = [("p2", 1), ("p3", 1), ("p2", 4)]
    write("order_items", [{"order_id": "o6", "line_no": n, "product_id": p, "quantity": q,
                           "unit_price": "10.00"} for n, (p, q) in enumerate(lines, 1)])
    expected = {("p1", "p2"): (1, Decimal("0.67")), ("p1", "p3"): (1, Decimal("0.67")),
                ("p2", "p3"): (1, Decimal("1.00"))}

    def pairs() -> dict[tuple[str, str], tuple[int, Decimal]]:
        return {(r["product_a"], r["product_b"]): (r["orders"], r["lift"])
                for r in run(tiny, "basket", min_support=0, min_count=1)}

    assert pairs() == expected
    write("order_items", [{"order_id": "o6", "line_no": 4, "product_id": "p3",
                           "quantity": 1, "unit_price": "10.00"}])
    assert pairs() == expected


def test_restock_products_never_sold_and_lead_times(tiny: Repository) -> None:
    got = {r["product_id"]: r for r in run(tiny, "restock")}
    assert got["p4"]["units_sold"] == 0 and got["p4"]["cover_days"] is None
    assert got["p4"]["reorder_qty"] == 0
    assert got["p1"]["lead_days"] == 3 and got["p2"]["lead_days"] == 7  # 7: no supplier
    assert got["p1"]["units_sold"] == 5  # 1 + 3 + 1 in the 30 days ending 2025-03-20
    # ceil(5 * (3 + 30 + 7) / 30) = 7 units wanted, 5 in stock
    assert got["p1"]["reorder_qty"] == 2
    assert [r["product_id"] for r in run(tiny, "restock")][-1] == "p4"
    assert all(r["units_sold"] == 0 for r in run(tiny, "restock", as_of="2020-01-01"))


def test_clv_refuses_one_month_of_history(tiny: Repository) -> None:
    with pytest.raises(UsageError, match="history is too short"):
        reports.run(tiny, "clv", {})


# --- the CLI and the API ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_cli_formats(tiny: Repository, db_url: str, fmt: str) -> None:
    tiny.close()  # the CLI opens the store itself
    out = CliRunner().invoke(
        app, ["report", "rfm", "--list", "--segment", "loyal", "--format", fmt, "--db", db_url]
    )
    assert out.exit_code == 0, out.output
    if fmt == "json":
        (row,) = json.loads(out.stdout)
        assert (row["customer_id"], row["segment"]) == ("c2", "loyal")
    else:
        assert out.stdout.splitlines()[1].startswith("c2,")


def test_dataframe_from_the_api(tiny: Repository) -> None:
    df = reports.run(tiny, "basket", {"min_support": 0}).frame()
    assert list(df.columns) == reports.spec("basket").columns({})
    assert df.attrs["report"] == "basket" and len(df) == 2
