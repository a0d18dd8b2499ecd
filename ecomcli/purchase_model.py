"""A store whose customers buy by the BG/NBD and Gamma-Gamma models with known parameters
(opt-in, separate from `ecom generate`'s default data): the truth the clv report must
recover. Writes customers, products, orders and order_items CSV files that `ecom import`
reads, and the parameters plus each customer's actual purchases after `as_of` into
manifest.json (`truth`).

Per customer: a first purchase on a uniform day of the first half of the period, a
purchase rate lambda ~ Gamma(r, scale 1/alpha) per day, a drop-out probability after each
purchase p ~ Beta(a, b), and a mean spend nu ~ Gamma(q, scale 1/gamma) with each purchase
worth Gamma(p_gg, scale 1/nu) (Fader, Hardie & Lee 2005).
"""

from __future__ import annotations

import csv
import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

TRUTH = {"r": 0.6, "alpha": 20.0, "a": 1.2, "b": 4.0, "p": 6.0, "q": 4.0, "gamma": 30.0}


def simulate(
    out: Path, customers: int = 2000, start: date = date(2024, 1, 1), days: int = 730,
    as_of_day: int = 547, seed: int = 7, truth: dict[str, float] = TRUTH,
) -> dict[str, Any]:  # fmt: skip
    """Write the store to `out`; return the manifest (also in out/manifest.json)."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    t0 = datetime.combine(start, datetime.min.time())
    orders: list[list[Any]] = []
    lines: list[list[Any]] = []
    after = 0  # purchases after the as-of day (the holdout the prediction is checked on)
    for c in range(customers):
        lam = rng.gammavariate(truth["r"], 1 / truth["alpha"])
        drop = rng.betavariate(truth["a"], truth["b"])
        nu = rng.gammavariate(truth["q"], 1 / truth["gamma"])
        t = rng.uniform(0, days / 2)
        while t < days:
            at = t0 + timedelta(days=t)
            spend = max(rng.gammavariate(truth["p"], 1 / nu), 0.01)
            oid = f"O{len(orders) + 1:08d}"
            orders.append(
                [oid, f"C{c + 1:06d}", "delivered", at.isoformat(sep=" ", timespec="seconds")]
            )
            lines.append([oid, 1, "P1", 1, f"{spend:.2f}"])
            after += t >= as_of_day + 1
            if rng.random() < drop:  # gone after this purchase
                break
            t += rng.expovariate(lam) if lam > 0 else days
    _write(out / "customers.csv", ["customer_id"], [[f"C{c + 1:06d}"] for c in range(customers)])
    _write(
        out / "products.csv",
        ["product_id", "name", "kind", "price", "units_in_stock", "reorder_level"],
        [["P1", "Anything", "general", "1.00", 0, 0]],
    )
    _write(out / "orders.csv", ["order_id", "customer_id", "status", "purchased_at"], orders)
    _write(out / "order_items.csv", ["order_id", "line_no", "product_id", "quantity",
                                      "unit_price"], lines)  # fmt: skip
    manifest = {
        "generator": "ecomcli.purchase_model.simulate",
        "truth": {**truth, "as_of": (start + timedelta(days=as_of_day)).isoformat(),
                  "purchases_after_as_of": after, "days_after_as_of": days - as_of_day - 1},
    }  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
