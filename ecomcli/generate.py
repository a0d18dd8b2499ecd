"""Generate a realistic store: one file per entity, ready for `ecom import DIR`.

    >>> from ecomcli.generate import GenerateOptions, generate
    >>> summary = generate(GenerateOptions(Path("shop"), customers=1000, orders=5000, seed=42))

What the data looks like (so that every question of the seed has an answer):
- orders grow year over year, peak in Q4 (November/December) and on weekdays;
- product popularity is Zipf-like: a tenth of the products carry most of the units;
- most customers order once, a minority many times, 15-25% never order;
- planted co-purchase pairs (listed in `manifest.json`) are bought together far above chance;
- customers have taste (listed in `manifest.json` under `taste`): a favourite category that
  a share of their lines comes from, and a few staples (consumables) they buy again;
- each delivery partner has its own late-delivery share; late orders get worse reviews;
- every order is paid by one payment whose amount is the order total
  (sum of quantity * unit_price + freight over its lines);
- checked-out carts are referenced by `orders.cart_id`; abandoned and open carts never are;
- stock movements explain stock: per product an `initial` movement, monthly `sale` and
  `return` totals, `restock` deliveries, and a final `adjust` (stock count) for the few
  products that end below 10 units, so the sum of deltas per product is `units_in_stock`.

`dirty > 0` adds that fraction of bad rows (after clean rows of customers, addresses,
products, orders, order lines and payments) and lists each one in `dirty.json`.

It streams: rows are written as they are made. Memory holds per-customer and per-product
arrays, never per-order objects. The same options give byte-identical files: every random
choice comes from `random.Random` instances seeded from `seed`, Faker is seeded per
instance, and nothing depends on the clock.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import math
import random
import unicodedata
from array import array
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any, ClassVar, TextIO

from ecomcli import schema
from ecomcli.errors import EcomError, UsageError

FORMATS = ("csv", "ndjson")
DAY = 86400
HOUR = 3600

# --- the catalogue --------------------------------------------------------------------------

# (id, name, parent, kind, weight of products, typical price in dollars, item names)
CATEGORY_TREE: tuple[tuple[str, str, str | None, str, float, float, tuple[str, ...]], ...] = (
    ("CAT01", "Clothing", None, "clothes", 0, 0, ()),
    (
        "CAT02",
        "Women",
        "CAT01",
        "clothes",
        12,
        38,
        ("Blouse", "Dress", "Skirt", "Cardigan", "Jeans", "T-Shirt", "Coat"),
    ),
    (
        "CAT03",
        "Men",
        "CAT01",
        "clothes",
        11,
        40,
        ("Shirt", "Chinos", "Jeans", "Hoodie", "Polo Shirt", "Jacket", "T-Shirt"),
    ),
    (
        "CAT04",
        "Kids",
        "CAT01",
        "clothes",
        6,
        22,
        ("T-Shirt", "Pyjamas", "Rain Jacket", "Leggings", "Sweater"),
    ),
    (
        "CAT05",
        "Sportswear",
        "CAT01",
        "clothes",
        6,
        35,
        ("Running Shorts", "Track Jacket", "Sports Bra", "Training Tee", "Joggers"),
    ),
    ("CAT06", "Electronics", None, "electronics", 0, 0, ()),
    ("CAT07", "Phones", "CAT06", "electronics", 5, 420, ("Smartphone", "Phone", "Rugged Phone")),
    ("CAT08", "Laptops", "CAT06", "electronics", 4, 900, ("Laptop", "Ultrabook", "Chromebook")),
    (
        "CAT09",
        "Audio",
        "CAT06",
        "electronics",
        6,
        90,
        ("Wireless Earbuds", "Headphones", "Bluetooth Speaker", "Soundbar"),
    ),
    (
        "CAT10",
        "Cameras",
        "CAT06",
        "electronics",
        3,
        350,
        ("Action Camera", "Mirrorless Camera", "Webcam"),
    ),
    (
        "CAT11",
        "Accessories",
        "CAT06",
        "electronics",
        8,
        25,
        ("USB-C Cable", "Charger", "Power Bank", "Phone Case", "Mouse", "Keyboard"),
    ),
    ("CAT12", "Home & Kitchen", None, "general", 0, 0, ()),
    (
        "CAT13",
        "Cookware",
        "CAT12",
        "general",
        7,
        45,
        ("Frying Pan", "Saucepan", "Chef's Knife", "Cutting Board", "Kettle"),
    ),
    (
        "CAT14",
        "Decor",
        "CAT12",
        "general",
        6,
        30,
        ("Vase", "Cushion", "Throw Blanket", "Wall Clock", "Candle Set"),
    ),
    (
        "CAT15",
        "Books",
        None,
        "general",
        8,
        16,
        ("Novel", "Cookbook", "Travel Guide", "Biography", "Children's Book"),
    ),
    (
        "CAT16",
        "Sports & Outdoors",
        None,
        "general",
        7,
        40,
        ("Yoga Mat", "Water Bottle", "Tent", "Dumbbell Set", "Backpack"),
    ),
    (
        "CAT17",
        "Beauty",
        None,
        "general",
        6,
        20,
        ("Face Cream", "Shampoo", "Perfume", "Lipstick", "Hair Dryer"),
    ),
    (
        "CAT18",
        "Toys",
        None,
        "general",
        5,
        25,
        ("Puzzle", "Building Blocks", "Board Game", "Plush Bear", "Toy Car"),
    ),
)
BRANDS = (
    "Northwind",
    "Acme",
    "Contoso",
    "Fabrikam",
    "Lumen",
    "Orbit",
    "Verde",
    "Kestrel",
    "Bluebird",
    "Tallow",
    "Zephyr",
    "Harbor",
    "Nimbus",
    "Solace",
    "Quill",
    "Ember",
)
# electronics by category: typical weight (g), length, width, height (cm)
ELECTRONICS_SIZE = {
    "CAT07": (190, 15.0, 7.5, 0.8),
    "CAT08": (1500, 32.0, 22.0, 1.8),
    "CAT09": (320, 18.0, 15.0, 7.0),
    "CAT10": (450, 12.0, 8.0, 6.0),
    "CAT11": (90, 10.0, 6.0, 2.0),
}
CLOTHES_GENDER_OF = {"CAT02": "women", "CAT03": "men", "CAT04": "kids", "CAT05": "unisex"}
SIZE_WEIGHTS = (("XS", 7), ("S", 16), ("M", 24), ("L", 22), ("XL", 15), ("XXL", 10), ("XXXL", 6))
MATERIALS = (
    ("cotton", 30),
    ("polyester", 18),
    ("wool", 8),
    ("linen", 7),
    ("denim", 10),
    ("silk", 3),
    ("leather", 3),
    ("nylon", 6),
    ("viscose", 8),
    ("cashmere", 2),
    ("bamboo", 3),
    ("fleece", 4),
)
PARTNERS = (  # name, share of orders, late-delivery share, promised days
    ("SwiftShip Express", 0.22, 0.04, 4),
    ("Parcelio", 0.24, 0.09, 5),
    ("Northwind Logistics", 0.18, 0.13, 6),
    ("Rapid Couriers", 0.14, 0.06, 4),
    ("BudgetPost", 0.14, 0.24, 8),
    ("EcoFreight", 0.08, 0.33, 9),
)
METHODS = (  # the preferred payment method of a customer, and how common it is
    ("credit_card", 0.42),
    ("debit_card", 0.21),
    ("wallet", 0.18),
    ("voucher", 0.07),
    ("bank_transfer", 0.12),
)
CARD_BRANDS = {
    "credit_card": ("Visa", "Mastercard", "American Express"),
    "debit_card": ("Visa Debit", "Mastercard Debit", "Maestro"),
}
LINES_PER_ORDER = ((1, 35), (2, 25), (3, 17), (4, 11), (5, 7), (6, 5))
QUANTITY = ((1, 80), (2, 14), (3, 4), (4, 1), (5, 1))
# customers' taste: shares of order lines that are a staple / from the favourite category
TASTE_STAPLE = 0.25
TASTE_CATEGORY = 0.4
MONTH_WEIGHT = (0.85, 0.78, 0.88, 0.92, 0.97, 0.93, 0.9, 0.95, 1.0, 1.08, 1.45, 1.7)
WEEKDAY_WEIGHT = (1.08, 1.06, 1.02, 1.0, 0.96, 0.9, 0.98)  # Monday first
HOUR_WEIGHT = (
    2,
    1,
    1,
    1,
    1,
    2,
    3,
    5,
    7,
    8,
    8,
    9,
    10,
    9,
    8,
    8,
    9,
    10,
    12,
    13,
    13,
    11,
    7,
    4,
)
YEARLY_GROWTH = 1.35
REVIEW_TEXT = {
    5: (
        ("Excellent", "Exactly as described, would buy again."),
        ("Love it", "Great quality for the price."),
        ("Highly recommend", "Does everything I wanted."),
    ),
    4: (
        ("Very good", "Good quality, small flaws."),
        ("Happy with it", "Works well, arrived in good condition."),
        ("Good value", "Nice product, fair price."),
    ),
    3: (
        ("OK", "Average quality, nothing special."),
        ("Does the job", "Fine, but I expected a bit more."),
    ),
    2: (
        ("Disappointed", "Quality is lower than expected."),
        ("Not great", "Took too long to arrive, and it shows wear."),
    ),
    1: (
        ("Terrible", "Arrived late and damaged."),
        ("Do not buy", "Broke after a week. Returned it."),
    ),
}
LATE_TEXT = ("Arrived late", "Delivery took much longer than promised.")
WISHLIST_NAMES = ("Wishlist", "Wishlist", "Wishlist", "Gift ideas", "Birthday", "Later")


@dataclass(frozen=True)
class GenerateOptions:
    out: Path
    customers: int = 1000
    products: int = 300
    orders: int = 5000
    start: date = date(2024, 1, 1)
    end: date = date(2025, 12, 31)
    seed: int = 42
    format: str = "csv"
    locale: str = "en_US"
    dirty: float = 0.0

    def check(self) -> None:
        if self.format not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {self.format!r}")
        if self.customers < 1 or self.products < 1 or self.orders < 0:
            raise UsageError("--customers and --products must be at least 1, --orders at least 0")
        if self.end < self.start:
            raise UsageError(f"--to {self.end} is before --from {self.start}")
        if not 0 <= self.dirty <= 0.5:
            raise UsageError(f"--dirty must be between 0 and 0.5, not {self.dirty}")

    def arguments(self) -> dict[str, Any]:
        """The options as the manifest records them (without `out`, so that two
        directories generated with the same options are byte-identical)."""
        return {
            "customers": self.customers,
            "products": self.products,
            "orders": self.orders,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "seed": self.seed,
            "format": self.format,
            "locale": self.locale,
            "dirty": self.dirty,
        }


@dataclass
class GenerateSummary:
    out: Path
    counts: dict[str, int]  # clean rows per entity
    bad_rows: int
    planted_pairs: list[tuple[str, str]]

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + self.bad_rows


# --- writing ---------------------------------------------------------------------------------


class EntityFile:
    """One `<entity>.csv|ndjson`; `write` returns the physical line of the row
    (in CSV the header is line 1). Values: str, int or None (written empty / null)."""

    def __init__(self, directory: Path, entity: schema.Entity, fmt: str) -> None:
        self.entity = entity
        self.fields = entity.field_names
        self.name = f"{entity.name}.{fmt}"
        self.handle: TextIO = open(directory / self.name, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.line = 0  # physical lines written
        self.rows = 0  # clean rows written (maintained by the generator)
        if fmt == "csv":
            self._write: Callable[[Sequence[Any]], Any] = csv.writer(
                self.handle, lineterminator="\n"
            ).writerow
            self._write(self.fields)
            self.line = 1
        else:
            fields, handle = self.fields, self.handle

            def write_json(row: Sequence[Any]) -> None:
                handle.write(json.dumps(dict(zip(fields, row, strict=True)), ensure_ascii=False))
                handle.write("\n")

            self._write = write_json

    def write(self, row: Sequence[Any]) -> int:
        self._write(row)
        self.line += 1
        return self.line

    def close(self) -> None:
        self.handle.close()


class Dirt:
    """Plants bad rows after clean ones, at `rate`, and remembers where and why."""

    PROBLEMS: ClassVar[dict[str, tuple[str, ...]]] = {
        "customers": ("malformed email", "duplicate key"),
        "customer_addresses": ("missing required field",),
        "products": ("missing required field", "negative price", "duplicate key"),
        "orders": ("unparseable date", "unknown customer", "missing required field"),
        "order_items": ("negative quantity", "unknown product", "duplicate key"),
        "payments": ("unparseable date", "unknown order"),
    }

    def __init__(self, rate: float, rng: random.Random, gen: Generator) -> None:
        self.rate = rate
        self.rng = rng
        self.gen = gen
        self.entries: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}

    def after(self, out: EntityFile, row: list[Any]) -> None:
        """Maybe write one bad row derived from the clean `row` just written to `out`."""
        if self.rng.random() >= self.rate:
            return
        name = out.entity.name
        problem = self.rng.choice(self.PROBLEMS[name])
        n = self.counts.get(name, 0) + 1
        self.counts[name] = n
        bad, fld = self.spoil(out.entity, problem, list(row), n)
        line = out.write(bad)
        key = [bad[out.fields.index(k)] for k in out.entity.key]
        self.entries.append(
            {"file": out.name, "line": line, "key": key, "field": fld, "problem": problem}
        )

    def spoil(
        self, entity: schema.Entity, problem: str, row: list[Any], n: int
    ) -> tuple[list[Any], str]:
        idx = entity.field_names.index
        g, rng = self.gen, self.rng
        if problem != "duplicate key":  # a new row: give it a key no clean row has
            if entity.name == "customers":
                row[0] = g.customer_id(g.opts.customers + n)
            elif entity.name == "customer_addresses":
                row[0] = f"{row[0].rsplit('-', 1)[0]}-9{n}"
            elif entity.name == "products":
                row[0] = g.product_id(g.opts.products + n)
            elif entity.name == "orders":
                row[0] = g.order_id(g.opts.orders + n)
            elif entity.name == "order_items":
                row[1] = 90 + n
            elif entity.name == "payments":
                row[0] = g.payment_id(g.opts.orders + n)
        match problem:
            case "malformed email":
                row[idx("email")] = str(row[idx("email")]).replace("@", rng.choice(("", " at ")))
                return row, "email"
            case "missing required field":
                fld = {"customer_addresses": "postal_code", "products": "name"}.get(
                    entity.name, "customer_id"
                )
                row[idx(fld)] = None
                return row, fld
            case "negative price":
                row[idx("price")] = f"-{row[idx('price')]}"
                return row, "price"
            case "unparseable date":
                fld = "purchased_at" if entity.name == "orders" else "paid_at"
                when = datetime.fromisoformat(str(row[idx(fld)]) if row[idx(fld)] else "2024-01-01")
                row[idx(fld)] = rng.choice(
                    (
                        when.strftime("%d/%m/%Y %H:%M"),
                        when.strftime("%Y-%m-%d 25:%M:%S"),
                        when.strftime("%Y-13-%d"),
                        "yesterday",
                    )
                )
                return row, fld
            case "unknown customer":
                row[idx("customer_id")] = g.customer_id(2 * g.opts.customers + 1000 + n)
                return row, "customer_id"
            case "unknown product":
                row[idx("product_id")] = g.product_id(2 * g.opts.products + 1000 + n)
                return row, "product_id"
            case "unknown order":
                row[idx("order_id")] = g.order_id(2 * g.opts.orders + 1000 + n)
                return row, "order_id"
            case "negative quantity":
                row[idx("quantity")] = -rng.randint(1, 5)
                return row, "quantity"
            case "duplicate key":
                if entity.name == "customers":
                    row[idx("phone")] = g.faker.phone_number()
                    row[idx("last_name")] = f"{row[idx('last_name')]}-{g.faker.last_name()}"
                    return row, "phone"
                if entity.name == "products":
                    cents = _cents(str(row[idx("price")])) + 100 * rng.randint(1, 20)
                    row[idx("price")] = _money(cents)
                    return row, "price"
                row[idx("quantity")] = int(row[idx("quantity")]) + rng.randint(1, 3)
                return row, "quantity"
        raise AssertionError(problem)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _cents(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _zipf(n: int, s: float) -> list[float]:
    return [1 / (rank + 1) ** s for rank in range(n)]


def _picker(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Callable[[], Any]:
    values = [v for v, _ in weighted]
    cum = list(accumulate(w for _, w in weighted))
    total = cum[-1]
    rand = rng.random

    def pick() -> Any:
        return values[bisect(cum, rand() * total)]

    return pick


def password_hash(seed: int) -> str:
    """One real scrypt hash in `ecomcli.accounts`' `scrypt$N$r$p$SALT$HASH` form, computed
    once per run with a salt derived from the seed (so files stay reproducible) and a
    modest cost (N=2^14): every sample customer's password is `sample-<seed>`."""
    n, r, p = 2**14, 8, 1
    salt = hashlib.sha256(f"ecom-sample-salt-{seed}".encode()).digest()[:16]
    digest = hashlib.scrypt(f"sample-{seed}".encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


# --- the generator ---------------------------------------------------------------------------


@dataclass
class Catalog:
    """Per-product arrays (index = product number - 1)."""

    ids: list[str] = field(default_factory=list)
    price: array = field(default_factory=lambda: array("q"))  # cents
    freight: array = field(default_factory=lambda: array("q"))  # cents a unit
    quality: array = field(default_factory=lambda: array("d"))  # mean review score
    supplier: array = field(default_factory=lambda: array("i"))  # primary supplier index
    created: array = field(default_factory=lambda: array("q"))  # seconds since t0
    rows: list[list[Any]] = field(default_factory=list)  # written at the end, with stock


class Generator:
    def __init__(self, opts: GenerateOptions) -> None:
        from faker import Faker

        self.opts = opts
        try:
            self.faker = Faker(opts.locale)
        except AttributeError:
            raise UsageError(
                f"unknown --locale {opts.locale!r} (e.g. en_US, de_DE, fr_FR)"
            ) from None
        self.faker.seed_instance(opts.seed)
        self.country = opts.locale.split("_")[1][:2].upper() if "_" in opts.locale else None
        self.t0 = datetime.combine(opts.start, datetime.min.time()) - timedelta(days=3 * 365)
        self.start_s = (opts.start - self.t0.date()).days * DAY
        self.end_s = ((opts.end - self.t0.date()).days + 1) * DAY - 1  # "now": the last second
        self._days: dict[int, str] = {}
        self.files: dict[str, EntityFile] = {}
        self.dirt: Dirt | None = None
        self.pairs: list[tuple[int, int]] = []
        self.taste: dict[str, Any] = {}
        self.movement = 0

    def rng(self, name: str) -> random.Random:
        return random.Random(f"{self.opts.seed}:{name}")

    # ids: fixed-width numbers, so files sort and read naturally
    @staticmethod
    def customer_id(n: int) -> str:
        return f"C{n:07d}"

    @staticmethod
    def product_id(n: int) -> str:
        return f"P{n:06d}"

    @staticmethod
    def order_id(n: int) -> str:
        return f"O{n:08d}"

    @staticmethod
    def payment_id(n: int) -> str:
        return f"PAY{n:08d}"

    def ts(self, seconds: int) -> str:
        """Seconds since t0 as `YYYY-MM-DD HH:MM:SS`."""
        d, r = divmod(seconds, DAY)
        day = self._days.get(d)
        if day is None:
            day = self._days[d] = (self.t0 + timedelta(days=d)).date().isoformat()
        return f"{day} {r // 3600:02d}:{r % 3600 // 60:02d}:{r % 60:02d}"

    def emit(self, entity: str, row: list[Any]) -> None:
        """Write one clean row of `entity` (and, with `dirty`, maybe a bad one after it)."""
        out = self.files[entity]
        out.write(row)
        out.rows += 1
        if self.dirt is not None and entity in Dirt.PROBLEMS:
            self.dirt.after(out, row)

    # --- run ----------------------------------------------------------------------------

    def run(self) -> GenerateSummary:
        opts = self.opts
        opts.out.mkdir(parents=True, exist_ok=True)
        other = "ndjson" if opts.format == "csv" else "csv"
        for e in schema.ENTITIES:  # a stale file of the other format would be imported too
            (opts.out / f"{e.name}.{other}").unlink(missing_ok=True)
        (opts.out / "dirty.json").unlink(missing_ok=True)
        if opts.dirty > 0:
            self.dirt = Dirt(opts.dirty, self.rng("dirt"), self)
        self.files = {e.name: EntityFile(opts.out, e, opts.format) for e in schema.ENTITIES}
        try:
            catalog = self.catalog()
            customers = self.customers(catalog)
            stock = self.orders(catalog, customers)
            self.finish_catalog(catalog, stock)
        finally:
            for f in self.files.values():
                f.close()
        counts = {name: f.rows for name, f in self.files.items()}
        bad = len(self.dirt.entries) if self.dirt else 0
        pairs = [(catalog.ids[a], catalog.ids[b]) for a, b in self.pairs]
        manifest = {
            "generator": "ecom generate",
            "arguments": opts.arguments(),
            "files": {name: f.name for name, f in self.files.items()},
            "rows": counts,
            "bad_rows": bad,
            "planted_pairs": [list(p) for p in pairs],
            "taste": self.taste,
            "password": f"sample-{opts.seed}",
            "stock_movements": "initial + monthly sale/return totals + restocks + a final "
            "adjust for products ending below 10: sum(delta) per product = units_in_stock",
        }
        _dump(opts.out / "manifest.json", manifest)
        if self.dirt is not None:
            _dump(opts.out / "dirty.json", self.dirt.entries)
        return GenerateSummary(opts.out, counts, bad, pairs)

    # --- catalogue: categories, suppliers, delivery partners, products ------------------

    def catalog(self) -> Catalog:
        opts, rng, fake = self.opts, self.rng("catalog"), self.faker
        for cat_id, name, parent, *_ in CATEGORY_TREE:
            self.emit("categories", [cat_id, name, parent])
        n_sup = max(3, round(opts.products / 12))
        lead_times = self.rng("lead_times")  # its own stream: the other files are unchanged
        for i in range(n_sup):
            company = fake.company()
            domain = _ascii(company)[:20] or f"supplier{i + 1}"
            self.emit(
                "suppliers",
                [
                    f"S{i + 1:04d}",
                    company,
                    f"sales@{domain}.com",
                    fake.phone_number(),
                    fake.city(),
                    _state(fake),
                    lead_times.randint(2, 21),
                ],
            )
        for i, (name, *_) in enumerate(PARTNERS):
            domain = _ascii(name)
            self.emit(
                "delivery_partners",
                [f"DP{i + 1:02d}", name, fake.phone_number(), f"support@{domain}.com"],
            )
        leaves = [c for c in CATEGORY_TREE if c[4] > 0]
        pick_leaf = _picker(rng, [(c, c[4]) for c in leaves])
        pick_size = _picker(rng, SIZE_WEIGHTS)
        pick_material = _picker(rng, MATERIALS)
        # suppliers: skewed, with one clear top supplier
        sup_weights = _zipf(n_sup, 1.1)
        sup_weights[0] *= 1.8
        pick_supplier = _picker(rng, list(enumerate(sup_weights)))
        cat = Catalog()
        for i in range(opts.products):
            pid = self.product_id(i + 1)
            cat_id, _, _, kind, _, typical, items = pick_leaf()
            brand = rng.choice(BRANDS)
            item = rng.choice(items)
            price = max(199, round(rng.lognormvariate(math.log(typical), 0.45) * 100))
            price = price // 100 * 100 + 99
            size = material = gender = None
            weight = length = width = height = None
            if kind == "clothes":
                size, material = pick_size(), pick_material()
                gender = CLOTHES_GENDER_OF[cat_id]
                if cat_id == "CAT05" and rng.random() < 0.5:
                    gender = rng.choice(("women", "men"))
                name = f"{brand} {material.title()} {item}, {size}"
                weight = rng.randint(120, 1400)
            elif kind == "electronics":
                name = f"{brand} {item} {rng.choice('ASXZ')}{rng.randint(1, 99)}"
                grams, *cm = ELECTRONICS_SIZE[cat_id]
                weight = round(grams * rng.uniform(0.7, 1.4))
                length, width, height = (f"{x * rng.uniform(0.8, 1.25):.2f}" for x in cm)
            else:
                name = f"{brand} {item}"
                weight = rng.randint(100, 3000)
            created = rng.randrange(0, self.start_s - DAY)
            cat.ids.append(pid)
            cat.price.append(price)
            cat.freight.append(299 + weight * 150 // 1000)
            cat.quality.append(min(4.9, max(2.4, rng.gauss(4.0, 0.55))))
            cat.supplier.append(pick_supplier())
            cat.created.append(created)
            cat.rows.append(
                [
                    pid,
                    name,
                    cat_id,
                    kind,
                    _money(price),
                    None,
                    0,
                    10,
                    size,
                    material,
                    gender,
                    weight,
                    length,
                    width,
                    height,
                    self.ts(created),
                ]
            )
        return cat

    # --- customers and what hangs off them -----------------------------------------------

    def customers(self, cat: Catalog) -> Customers:
        opts, rng, fake = self.opts, self.rng("customers"), self.faker
        n = opts.customers
        people = Customers(n)
        # who orders, and how often: most once, a minority many times, 15-25% never
        order_rng = self.rng("who-orders")
        everyone = list(range(n))
        order_rng.shuffle(everyone)
        active = min(opts.orders, round(n * (1 - order_rng.uniform(0.16, 0.19))))
        buyers = everyone[:active]
        repeaters = buyers[: max(1, round(active * 0.35))]
        slots = array("i", buyers)
        if opts.orders > active:
            weights = list(accumulate(order_rng.lognormvariate(0, 1.0) for _ in repeaters))
            slots.extend(order_rng.choices(repeaters, cum_weights=weights, k=opts.orders - active))
        order_rng.shuffle(slots)
        people.slots = slots
        self.day_counts = self.orders_per_day()
        first = array("i", [-1]) * n
        i = 0
        for day, k in enumerate(self.day_counts):
            for c in slots[i : i + k]:
                if first[c] < 0:
                    first[c] = day
            i += k
        # pools of Faker values: Faker is slow, combining pools is fast and as realistic
        pool = min(n, 3000)
        females = [fake.first_name_female() for _ in range(pool)]
        males = [fake.first_name_male() for _ in range(pool)]
        lasts = [fake.last_name() for _ in range(pool)]
        streets = [fake.street_address().replace("\n", " ") for _ in range(pool)]
        places = [(fake.postcode(), fake.city(), _state(fake)) for _ in range(min(n, 800))]
        domains = sorted({fake.free_email_domain() for _ in range(20)})
        pick_method = _picker(rng, [(i, w) for i, (_, w) in enumerate(METHODS)])
        hashed = password_hash(opts.seed)
        start_day = self.start_s // DAY
        for c in range(n):
            cid = self.customer_id(c + 1)
            r = rng.random()
            gender = "female" if r < 0.49 else "male" if r < 0.98 else "other"
            if gender == "other":
                gender_of_name = "female" if rng.random() < 0.5 else "male"
            else:
                gender_of_name = gender
            given = rng.choice(females if gender_of_name == "female" else males)
            family = rng.choice(lasts)
            local = f"{_ascii(given) or 'user'}.{_ascii(family) or 'shop'}{c + 1}"
            email = f"{local}@{rng.choice(domains)}"
            born = opts.start - timedelta(days=rng.randint(18 * 365, 80 * 365))
            if first[c] >= 0:
                latest = (start_day + first[c]) * DAY - HOUR
                created = rng.randrange(0, latest)
            else:
                created = rng.randrange(0, self.end_s - DAY)
            people.created[c] = created
            self.emit(
                "customers",
                [
                    cid,
                    given,
                    family,
                    email,
                    fake.phone_number(),
                    gender,
                    born.isoformat(),
                    self.ts(created),
                ],
            )
            for j in range(1 + (rng.random() < 0.3) + (rng.random() < 0.08)):
                postcode, city, state = rng.choice(places)
                self.emit(
                    "customer_addresses",
                    [
                        f"A{c + 1:07d}-{j + 1}",
                        cid,
                        rng.choice(streets),
                        postcode,
                        city,
                        state,
                        self.country,
                    ],
                )
            if first[c] >= 0 or rng.random() < 0.7:
                updated = rng.randint(created, self.end_s)
                self.emit("logins", [cid, email, hashed, self.ts(updated)])
            method = pick_method()
            people.method[c] = method
            name = METHODS[method][0]
            cards = (1 + (rng.random() < 0.25)) if name in CARD_BRANDS else int(rng.random() < 0.2)
            people.cards[c] = cards
            for j in range(cards):
                brand_of = CARD_BRANDS.get(name) or CARD_BRANDS["credit_card"]
                expires = min(2100, max(2000, rng.randint(opts.end.year, opts.end.year + 5)))
                self.emit(
                    "payment_cards",
                    [
                        f"{cid}-K{j + 1}",
                        cid,
                        rng.choice(brand_of),
                        f"{rng.randrange(10000):04d}",
                        rng.randint(1, 12),
                        expires,
                    ],
                )
        self.wishlists(cat, people)
        return people

    def wishlists(self, cat: Catalog, people: Customers) -> None:
        rng = self.rng("wishlists")
        n_products = len(cat.ids)
        order = list(range(n_products))
        rng.shuffle(order)
        weights = [0.0] * n_products
        for rank, p in enumerate(order):
            weights[p] = 1 / (rank + 1) ** 1.15
        cum = list(accumulate(weights))
        number = 0
        for c in range(self.opts.customers):
            if rng.random() >= 0.32:
                continue
            number += 1
            wid = f"W{number:07d}"
            created = rng.randint(people.created[c], self.end_s)
            self.emit(
                "wishlists",
                [wid, self.customer_id(c + 1), rng.choice(WISHLIST_NAMES), self.ts(created)],
            )
            length = min(n_products, 1 + int(rng.paretovariate(1.1)) - 1 + rng.randint(0, 2), 60)
            chosen: list[int] = []
            seen: set[int] = set()
            while len(chosen) < length:
                p = bisect(cum, rng.random() * cum[-1])
                if p not in seen:
                    seen.add(p)
                    chosen.append(p)
            for p in chosen:
                added = rng.randint(created, self.end_s)
                self.emit("wishlist_items", [wid, cat.ids[p], self.ts(added)])

    # --- orders --------------------------------------------------------------------------

    def orders_per_day(self) -> list[int]:
        """Orders per day: yearly growth, a Q4 peak, a weekly rhythm, a little noise."""
        rng = self.rng("calendar")
        opts = self.opts
        days = (opts.end - opts.start).days + 1
        weights = []
        for d in range(days):
            day = opts.start + timedelta(days=d)
            w = YEARLY_GROWTH ** (d / 365.25) * MONTH_WEIGHT[day.month - 1]
            w *= WEEKDAY_WEIGHT[day.weekday()] * rng.uniform(0.85, 1.15)
            if day.month == 11 and 23 <= day.day <= 30:  # the Black Friday week
                w *= 1.6
            weights.append(w)
        total = sum(weights)
        counts, done, cum = [], 0, 0.0
        for w in weights:
            cum += w
            upto = round(opts.orders * cum / total)
            counts.append(upto - done)
            done = upto
        return counts

    def orders(self, cat: Catalog, people: Customers) -> Stock:
        opts, rng = self.opts, self.rng("orders")
        n_products = len(cat.ids)
        # Zipf popularity over a random order of the products
        ranking = list(range(n_products))
        rng.shuffle(ranking)
        popularity = [0.0] * n_products
        for rank, p in enumerate(ranking):
            popularity[p] = 1 / (rank + 1) ** 1.1
        cum = list(accumulate(popularity))
        total_pop = cum[-1]
        # planted co-purchase pairs among mid-popular products
        partner: dict[int, int] = {}
        middle = ranking[max(2, n_products // 20) : max(4, n_products * 2 // 5)]
        for k in range(min(5, len(middle) // 2)):
            a, b = middle[2 * k], middle[2 * k + 1]
            self.pairs.append((min(a, b), max(a, b)))
            partner[a], partner[b] = b, a
        stock = Stock(self, cat, popularity, total_pop)
        pick_taste = self.tastes(cat, popularity, people)
        pick_lines = _picker(rng, LINES_PER_ORDER)
        pick_qty = _picker(rng, QUANTITY)
        pick_partner = _picker(rng, [(i, p[1]) for i, p in enumerate(PARTNERS)])
        hour_cum = list(accumulate(HOUR_WEIGHT))
        methods = [m for m, _ in METHODS]
        rand, randint, choice = rng.random, rng.randint, rng.choice
        ts, emit = self.ts, self.emit
        slots = people.slots
        now = self.end_s
        start_day = self.start_s // DAY
        cart_no = 0
        order_no = 0
        review_no = 0
        for day, k in enumerate(self.day_counts):
            date_of = opts.start + timedelta(days=day)
            stock.day(date_of)
            day_s = (start_day + day) * DAY
            for _ in range(k):
                order_no += 1
                c = slots[order_no - 1]
                cid = self.customer_id(c + 1)
                oid = self.order_id(order_no)
                hour = bisect(hour_cum, rand() * hour_cum[-1])
                t = day_s + hour * HOUR + randint(0, HOUR - 1)
                t = max(t, people.created[c] + 60)
                # lines
                lines: list[int] = []
                for _ in range(pick_lines()):
                    p = pick_taste(c)
                    if p < 0:
                        p = bisect(cum, rand() * total_pop)
                    if p not in lines:
                        lines.append(p)
                        q = partner.get(p)
                        if q is not None and q not in lines and rand() < 0.6:
                            lines.append(q)
                discount = (date_of.month == 11 and date_of.day >= 23) or rand() < 0.06
                items = []
                subtotal = 0
                for p in lines:
                    qty = pick_qty()
                    price = cat.price[p]
                    if discount and rand() < 0.7:
                        price = price * (100 - choice((10, 15, 20, 25))) // 100
                    items.append((p, qty, price))
                    subtotal += qty * price
                free_shipping = subtotal >= 10000
                total = 0
                # status and timestamps
                r = rand()
                approved = t + randint(60, 12 * HOUR)
                partner_no = pick_partner()
                _, _, late_share, promised = PARTNERS[partner_no]
                shipped = approved + randint(2 * HOUR, 48 * HOUR)
                estimated = (t // DAY + promised) * DAY + 18 * HOUR
                late = rand() < late_share
                if late:
                    delivered = estimated + randint(DAY, 8 * DAY)
                else:
                    delivered = randint(shipped + 12 * HOUR, estimated)
                cancelled = r < 0.04
                if cancelled:
                    status = "cancelled"
                    approved_at = approved if (r < 0.02 and approved <= now) else None
                    shipped = delivered = estimated = -1
                    partner_id = None
                elif approved > now or (now - t < 2 * HOUR):
                    status, approved_at = "pending", None
                    shipped = delivered = -1
                    partner_id = None
                else:
                    approved_at = approved
                    partner_id = f"DP{partner_no + 1:02d}"
                    if shipped > now:
                        status, shipped, delivered = "paid", -1, -1
                    elif delivered > now:
                        status, delivered = "shipped", -1
                    else:
                        status = "returned" if r > 0.97 else "delivered"
                # the cart it came from (most orders), then the order and its lines
                cart_id = None
                if rand() < 0.9:
                    cart_no += 1
                    cart_id = f"CT{cart_no:08d}"
                    opened = max(t - randint(5 * 60, 3 * HOUR), people.created[c])
                    emit("carts", [cart_id, cid, "checked_out", ts(opened), ts(t)])
                    for p, qty, _ in items:
                        emit("cart_items", [cart_id, cat.ids[p], qty, ts(randint(opened, t))])
                emit(
                    "orders",
                    [
                        oid,
                        cid,
                        cart_id,
                        status,
                        ts(t),
                        ts(approved_at) if approved_at is not None else None,
                        ts(shipped) if shipped >= 0 else None,
                        ts(delivered) if delivered >= 0 else None,
                        ts(estimated) if estimated >= 0 else None,
                        partner_id,
                    ],
                )
                for line_no, (p, qty, price) in enumerate(items, 1):
                    freight = 0 if free_shipping else cat.freight[p]
                    total += qty * price + freight
                    emit(
                        "order_items",
                        [
                            oid,
                            line_no,
                            cat.ids[p],
                            f"S{cat.supplier[p] + 1:04d}",
                            qty,
                            _money(price),
                            _money(freight),
                        ],
                    )
                    if not cancelled:
                        stock.sold[p] += qty
                        if status == "returned":
                            stock.returned[p] += qty
                # payment: one, for the order total, once approved
                if approved_at is not None and not cancelled:
                    m = people.method[c] if rand() < 0.85 else randint(0, len(methods) - 1)
                    method = methods[m]
                    card = None
                    if method in CARD_BRANDS and people.cards[c] and m == people.method[c]:
                        card = f"{cid}-K1"
                    installments = choice((1, 1, 1, 2, 3, 4, 6, 10)) if m == 0 else 1
                    emit(
                        "payments",
                        [
                            self.payment_id(order_no),
                            oid,
                            cid,
                            method,
                            _money(total),
                            installments,
                            ts(approved_at),
                            card,
                        ],
                    )
                # a review for some delivered orders: worse when late, bad when returned
                if delivered >= 0 and rand() < 0.45:
                    written = delivered + randint(HOUR, 14 * DAY)
                    if written <= now:
                        review_no += 1
                        p = items[randint(0, len(items) - 1)][0]
                        score = round(rng.gauss(cat.quality[p], 0.8))
                        if late:
                            score -= choice((1, 2, 2, 3))
                        if status == "returned":
                            score = min(score, 2)
                        score = min(5, max(1, score))
                        title, comment = choice(REVIEW_TEXT[score])
                        if late and score <= 3 and rand() < 0.6:
                            title, comment = LATE_TEXT
                        stock.reviewed(p, score)
                        emit(
                            "reviews",
                            [
                                f"R{review_no:08d}",
                                cat.ids[p],
                                oid,
                                cid,
                                score,
                                title,
                                comment,
                                ts(written),
                            ],
                        )
            # abandoned carts: never checked out, never referenced by an order
            for _ in range(int(k * 0.35 + rand())):
                c = randint(0, opts.customers - 1)
                opened = day_s + randint(0, DAY - 3 * HOUR)
                if people.created[c] > opened:
                    continue
                cart_no += 1
                closed = opened + randint(60, 2 * HOUR)
                self.basket(cart_no, c, "abandoned", opened, closed, cat, cum, rng)
        stock.finish()
        # open carts: customers shopping right now
        for c in range(opts.customers):
            if rand() < 0.05:
                opened = max(now - randint(HOUR, 14 * DAY), people.created[c])
                cart_no += 1
                self.basket(cart_no, c, "open", opened, randint(opened, now), cat, cum, rng)
        return stock

    def tastes(
        self, cat: Catalog, popularity: list[float], people: Customers
    ) -> Callable[[int], int]:
        """Give each customer a favourite category and up to three staples (products bought
        again and again), record them in the manifest, and return a picker: a line of
        customer c is a staple (TASTE_STAPLE), from the favourite category by popularity
        (TASTE_CATEGORY), or -1 (the global popularity). Its own random stream, so the
        taste of a customer does not depend on the orders drawn before."""
        rng = self.rng("taste")
        by_category: dict[str, list[int]] = {}
        for p, row in enumerate(cat.rows):
            by_category.setdefault(row[2], []).append(p)
        categories = sorted(by_category)
        cums = {k: list(accumulate(popularity[p] for p in ps)) for k, ps in by_category.items()}
        favourite: list[str] = []
        staples: list[list[int]] = []
        for _ in range(self.opts.customers):
            k = rng.choice(categories)
            ps, cum = by_category[k], cums[k]
            favourite.append(k)
            chosen = {ps[bisect(cum, rng.random() * cum[-1])] for _ in range(rng.randint(1, 3))}
            staples.append(sorted(chosen))
        self.taste = {
            "rule": f"a line is a staple with probability {TASTE_STAPLE}, else from the "
            f"favourite category with probability {TASTE_CATEGORY}, else by global popularity",
            "customers": {
                self.customer_id(c + 1): {
                    "category": favourite[c], "staples": [cat.ids[p] for p in staples[c]]
                }
                for c in range(self.opts.customers)
            },
        }
        rand = rng.random

        def pick(c: int) -> int:
            r = rand()
            if r < TASTE_STAPLE:
                return staples[c][int(rand() * len(staples[c]))]
            if r < TASTE_STAPLE + (1 - TASTE_STAPLE) * TASTE_CATEGORY:
                k = favourite[c]
                return by_category[k][bisect(cums[k], rand() * cums[k][-1])]
            return -1

        return pick

    def basket(
        self,
        cart_no: int,
        c: int,
        status: str,
        opened: int,
        updated: int,
        cat: Catalog,
        cum: list[float],
        rng: random.Random,
    ) -> int:
        cart_id = f"CT{cart_no:08d}"
        self.emit(
            "carts", [cart_id, self.customer_id(c + 1), status, self.ts(opened), self.ts(updated)]
        )
        chosen: list[int] = []
        for _ in range(rng.randint(1, 4)):
            p = bisect(cum, rng.random() * cum[-1])
            if p not in chosen:
                chosen.append(p)
                self.emit(
                    "cart_items",
                    [
                        cart_id,
                        cat.ids[p],
                        rng.choice((1, 1, 1, 2)),
                        self.ts(rng.randint(opened, updated)),
                    ],
                )
        return cart_no

    def finish_catalog(self, cat: Catalog, stock: Stock) -> None:
        final = list(stock.stock)
        for p, row in enumerate(cat.rows):
            row[6] = final[p]
            if stock.review_count[p]:
                row[5] = f"{stock.review_sum[p] / stock.review_count[p]:.2f}"
            else:
                row[5] = f"{cat.quality[p]:.2f}"
            self.emit("products", row)
        # supplies: what each supplier delivered (a second supplier for some products)
        rng = self.rng("supplies")
        n_sup = self.files["suppliers"].rows
        rows = []
        for p, received in enumerate(stock.received):
            primary = cat.supplier[p]
            if rng.random() < 0.3 and n_sup > 1:
                second = (primary + rng.randint(1, n_sup - 1)) % n_sup
                share = received * rng.randint(10, 30) // 100
                rows.append((primary, p, received - share))
                rows.append((second, p, share))
            else:
                rows.append((primary, p, received))
        counts = Counter(s for s, _, _ in rows)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:  # keep one clear top supplier
            leader, rival = ranked[0][0], ranked[1][0]
            theirs = {p for s, p, _ in rows if s == leader}
            for i, (s, p, u) in enumerate(rows):
                if s == rival and p not in theirs:
                    rows[i] = (leader, p, u)
                    break
        rows.sort(key=lambda r: (r[0], r[1]))
        for s, p, units in rows:
            self.emit("supplies", [f"S{s + 1:04d}", cat.ids[p], units])


class Customers:
    """Per-customer arrays (index = customer number - 1)."""

    def __init__(self, n: int) -> None:
        self.created = array("q", [0]) * n  # seconds since t0
        self.method = array("b", [0]) * n  # preferred payment method (index in METHODS)
        self.cards = array("b", [0]) * n  # saved cards
        self.slots = array("i")  # customer of each order, in order


class Stock:
    """Stock per product, explained by movements written month by month."""

    def __init__(
        self, gen: Generator, cat: Catalog, popularity: list[float], total_pop: float
    ) -> None:
        self.gen = gen
        self.cat = cat
        n = len(cat.ids)
        opts = gen.opts
        self.rng = gen.rng("stock")
        months = (opts.end.year - opts.start.year) * 12 + opts.end.month - opts.start.month + 1
        units_per_month = opts.orders * 2.45 * 1.3 / months
        self.expected = [max(2.0, units_per_month * w / total_pop) for w in popularity]
        self.sold = array("i", [0]) * n
        self.returned = array("i", [0]) * n
        self.received = array("q", [0]) * n
        self.stock = array("q", [0]) * n
        self.review_sum = array("i", [0]) * n
        self.review_count = array("i", [0]) * n
        self.month: tuple[int, int] | None = None
        # a few products end below 10 units, some of them at 0
        order = list(range(n))
        self.rng.shuffle(order)
        n_zero = max(1, round(n * 0.02)) if n >= 5 else 0
        n_low = max(2, round(n * 0.04)) if n >= 10 else 0
        self.target: dict[int, int] = {p: 0 for p in order[:n_zero]}
        for p in order[n_zero : n_zero + n_low]:
            self.target[p] = self.rng.randint(1, 9)
        for p in range(n):
            units = _round10(self.expected[p] * self.rng.uniform(2.0, 3.5)) + 20
            self.move(p, units, "initial", cat.created[p], "opening stock")

    def move(self, p: int, delta: int, reason: str, at: int, note: str | None = None) -> None:
        self.gen.movement += 1
        self.stock[p] += delta
        if delta > 0 and reason in ("initial", "restock"):
            self.received[p] += delta
        self.gen.emit(
            "stock_movements",
            [
                f"M{self.gen.movement:09d}",
                self.cat.ids[p],
                delta,
                reason,
                None,
                note,
                self.gen.ts(at),
            ],
        )

    def reviewed(self, p: int, score: int) -> None:
        self.review_sum[p] += score
        self.review_count[p] += 1

    def day(self, today: date | None) -> None:
        """Called at the start of every day (None: after the last): closes a month."""
        month = (today.year, today.month) if today else None
        if month == self.month:
            return
        if self.month is not None:
            self.close_month(*self.month, last=today is None)
        self.month = month

    def close_month(self, year: int, month: int, *, last: bool) -> None:
        gen = self.gen
        first = max(gen.start_s, (date(year, month, 1) - gen.t0.date()).days * DAY)
        nxt = date(year + month // 12, month % 12 + 1, 1)
        end = min(gen.end_s + 1, (nxt - gen.t0.date()).days * DAY)  # never after "now"
        label = f"{year}-{month:02d}"
        for p in range(len(self.sold)):
            sold, back = self.sold[p], self.returned[p]
            if sold:
                if self.stock[p] < sold:  # an urgent delivery mid-month
                    need = _round10(sold - self.stock[p] + self.expected[p])
                    self.move(p, need, "restock", first + 14 * DAY + 9 * HOUR, "urgent delivery")
                self.move(p, -sold, "sale", end - 60, f"sales {label}")
            if back:
                self.move(p, back, "return", end - 30, f"returns {label}")
            if not last and p not in self.target and self.stock[p] < 1.5 * self.expected[p] + 15:
                units = _round10(self.expected[p] * self.rng.uniform(2.0, 3.0)) + 20
                self.move(p, units, "restock", end + 8 * HOUR, "scheduled delivery")
            self.sold[p] = 0
            self.returned[p] = 0
        if last:
            for p in sorted(self.target):
                delta = self.target[p] - self.stock[p]
                if delta:
                    self.move(p, delta, "adjust", end - 1, "stock count")

    def finish(self) -> list[int]:
        self.day(None)
        return list(self.stock)


def _round10(x: float) -> int:
    return int(math.ceil(x / 10) * 10)


def _state(fake: Any) -> str | None:
    for name in ("state_abbr", "state", "region", "administrative_unit"):
        try:
            return str(getattr(fake, name)())[:64]
        except AttributeError:
            continue
    return None


def _dump(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, ensure_ascii=False)
        f.write("\n")


def generate(opts: GenerateOptions) -> GenerateSummary:
    """Write a generated store into `opts.out` (see the module docstring)."""
    opts.check()
    generator = Generator(opts)
    try:
        return generator.run()
    except OSError as e:
        raise EcomError(f"cannot write to {opts.out}: {e.strerror or e}") from None
