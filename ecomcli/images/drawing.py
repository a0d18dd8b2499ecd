"""Demo pictures: a simple, distinct drawing per product (shapes, colours, its name), so
that a generated store can show search by photo. Same product id, same picture."""

from __future__ import annotations

import csv
import hashlib
import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 320
SHAPES = ("ellipse", "rectangle", "triangle", "diamond", "ring", "bars")


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return tuple(rng.randrange(20, 236) for _ in range(3))  # type: ignore[return-value]


def _shape(draw: ImageDraw.ImageDraw, kind: str, box: tuple[int, int, int, int],
           fill: tuple[int, int, int], rng: random.Random) -> None:
    x0, y0, x1, y1 = box
    if kind == "ellipse":
        draw.ellipse(box, fill=fill)
    elif kind == "rectangle":
        draw.rounded_rectangle(box, radius=rng.randrange(0, 30), fill=fill)
    elif kind == "triangle":
        draw.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], fill=fill)
    elif kind == "diamond":
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        draw.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], fill=fill)
    elif kind == "ring":
        draw.ellipse(box, outline=fill, width=rng.randrange(10, 30))
    else:
        step = rng.randrange(14, 30)
        for x in range(x0, x1, step * 2):
            draw.rectangle((x, y0, min(x + step, x1), y1), fill=fill)


def draw(product_id: str, name: str = "") -> Image.Image:
    """The product's picture: a tinted card with two or three shapes and its name."""
    rng = random.Random(hashlib.sha256(product_id.encode()).digest())
    im = Image.new("RGB", (SIZE, SIZE), tuple(rng.randrange(200, 256) for _ in range(3)))
    d = ImageDraw.Draw(im)
    for _ in range(rng.randrange(2, 4)):
        w, h = rng.randrange(80, 240), rng.randrange(80, 240)
        x, y = rng.randrange(0, SIZE - w), rng.randrange(0, SIZE - h - 40)
        _shape(d, rng.choice(SHAPES), (x, y, x + w, y + h), _colour(rng), rng)
    d.text((12, SIZE - 30), (name or product_id)[:40], fill=(20, 20, 20))
    return im


def products_in(folder: Path) -> list[tuple[str, str]]:
    """(product_id, name) of a generated store's products file (CSV or NDJSON)."""
    csv_file, ndjson = folder / "products.csv", folder / "products.ndjson"
    if csv_file.is_file():
        with csv_file.open(newline="", encoding="utf-8") as f:
            return [(r["product_id"], r["name"]) for r in csv.DictReader(f)]
    with ndjson.open(encoding="utf-8") as f:
        return [(r["product_id"], r["name"]) for r in map(json.loads, f) if r]


def draw_catalogue(folder: Path, products: list[tuple[str, str]] | None = None) -> Path:
    """`folder/images/<product_id>.png` for every product; `ecom images import` reads it."""
    out = folder / "images"
    out.mkdir(parents=True, exist_ok=True)
    for product_id, name in products if products is not None else products_in(folder):
        draw(product_id, name).save(out / f"{product_id}.png")
    return out
