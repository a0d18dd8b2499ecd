"""The evaluation protocol: edited copies of catalogue images as queries, recall@1/@5.

Each catalogue image is edited eleven ways (the edits below); a query finds its image
when that image's product ranks first (recall@1) or in the first five (recall@5). The
random parts (where the 60% crop and the shrunk product lie, the hue shift) come from a
seeded generator, one per image and edit, so a run is repeatable.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
from PIL import Image, ImageEnhance, ImageFilter

from ecomcli.images.descriptors import describe_query
from ecomcli.images.search import Index

Edit = Callable[[Image.Image, random.Random], Image.Image]


def crop(im: Image.Image, share: float, x: float, y: float) -> Image.Image:
    """The `share` x `share` window whose left/top is at `x`/`y` of the free room."""
    w, h = im.size
    cw, ch = round(w * share), round(h * share)
    left, top = round((w - cw) * x), round((h - ch) * y)
    return im.crop((left, top, left + cw, top + ch))


def hue_shift(im: Image.Image, rng: random.Random) -> Image.Image:
    h, s, v = im.convert("HSV").split()
    shift = rng.randint(32, 96)  # of 256: 45 to 135 degrees
    h = h.point(lambda p: (p + shift) % 256)
    return Image.merge("HSV", (h, s, v)).convert("RGB")


def jpeg(im: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def on_white(im: Image.Image, rng: random.Random) -> Image.Image:
    """The picture shrunk to 40% and pasted at a random place on a white canvas."""
    small = im.resize((max(1, round(im.width * 0.4)), max(1, round(im.height * 0.4))))
    canvas = Image.new("RGB", im.size, (255, 255, 255))
    x = rng.randint(0, im.width - small.width)
    y = rng.randint(0, im.height - small.height)
    canvas.paste(small, (x, y))
    return canvas


def quarter(im: Image.Image) -> Image.Image:
    return im.resize((max(1, im.width // 4), max(1, im.height // 4)), Image.Resampling.BILINEAR)


EDITS: dict[str, Edit] = {
    "crop 80% centre": lambda im, _: crop(im, 0.8, 0.5, 0.5),
    "crop 60% off-centre": lambda im, rng: crop(im, 0.6, rng.random(), rng.random()),
    "rotate 15": lambda im, _: im.rotate(15, Image.Resampling.BICUBIC, expand=True),
    "rotate 90": lambda im, _: im.transpose(Image.Transpose.ROTATE_90),
    "mirror": lambda im, _: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "hue shift": hue_shift,
    "brightness/contrast": lambda im, _: ImageEnhance.Contrast(
        ImageEnhance.Brightness(im).enhance(1.3)
    ).enhance(0.7),
    "jpeg q15": lambda im, _: jpeg(im, 15),
    "downscale 25%": lambda im, _: quarter(im),
    "blur": lambda im, _: im.filter(ImageFilter.GaussianBlur(max(1.0, max(im.size) / 200))),
    "white canvas": on_white,
}


@dataclass(frozen=True)
class Case:
    product_id: str
    image: Image.Image


def queries(catalogue: Sequence[Case], seed: int = 0) -> list[tuple[str, str, Image.Image]]:
    """(edit, product_id, edited image) for every catalogue image and edit."""
    out = []
    for n, case in enumerate(catalogue):
        for k, (name, edit) in enumerate(EDITS.items()):
            rng = random.Random(seed * 1_000_003 + n * 101 + k)
            out.append((name, case.product_id, edit(case.image, rng)))
    return out


def evaluate(
    index: Index, catalogue: Sequence[Case], seed: int = 0
) -> tuple[pd.DataFrame, float]:
    """Recall@1 and @5 per edit and overall, and the mean query time in milliseconds
    (describing the query and ranking the whole index)."""
    hits: list[tuple[str, bool, bool]] = []
    elapsed = 0.0
    for name, product_id, im in queries(catalogue, seed):
        start = time.perf_counter()
        ranked = [p for p, _, _ in index.ranked(describe_query(im), 5)]
        elapsed += time.perf_counter() - start
        hits.append((name, ranked[:1] == [product_id], product_id in ranked))
    frame = pd.DataFrame(hits, columns=["edit", "at_1", "at_5"])
    table = frame.groupby("edit", sort=False)[["at_1", "at_5"]].mean()
    table.loc["overall"] = frame[["at_1", "at_5"]].mean()
    table = table.rename(columns={"at_1": "recall@1", "at_5": "recall@5"}).reset_index()
    table.insert(1, "queries", [*frame.groupby("edit", sort=False).size(), len(frame)])
    return table, 1000 * elapsed / max(len(hits), 1)
