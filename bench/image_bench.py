"""Search by photo: recall@1/@5 per edit on scikit-image's bundled photos, each method
alone and combined, and the query time on a 10,000-image catalogue.

    .venv/bin/pip install scikit-image        # dev only: its photos ship inside the wheel
    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/image_bench.py [--seed 0] [--size 10000]

Catalogue: the photos in `skimage/data` (motorcycle_right and chessboard_RGB left out: a
stereo twin of motorcycle_left and the same board as chessboard_GRAY), plus the 200 face
thumbnails of `skimage.data.lfw_subset()` as distractors (searched, never queried). The
queries are the seeded edits of `ecomcli.images.evaluate`. A second catalogue: 300
pictures drawn by `ecom generate --images`. Prints markdown tables for bench/README.md.

Query time: describing the query plus ranking an index of `--size` stored images (the
catalogue's descriptors repeated: brute force costs the same whatever the values).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ecomcli.images.descriptors import (
    PREVIEW_BYTES,
    Described,
    describe,
    describe_query,
    pack,
)
from ecomcli.images.drawing import draw
from ecomcli.images.evaluate import Case, evaluate, queries
from ecomcli.images.reading import load
from ecomcli.images.search import Index, Stored

TWINS = {"motorcycle_right.png", "chessboard_RGB.png"}
SINGLE = {
    "colour alone": {"colour": 1.0, "texture": 0.0, "layout": 0.0},
    "texture alone": {"colour": 0.0, "texture": 1.0, "layout": 0.0},
    "layout alone": {"colour": 0.0, "texture": 0.0, "layout": 1.0},
}


def photos() -> list[Case]:
    import skimage

    folder = Path(os.path.dirname(skimage.__file__)) / "data"
    names = sorted(
        p for p in folder.iterdir()
        if p.suffix in (".png", ".jpg", ".gif") and p.name not in TWINS
    )
    return [Case(p.stem, load(p).image) for p in names]


def faces() -> list[Case]:
    from skimage import data

    return [
        Case(f"~face{i}", Image.fromarray((f * 255).astype(np.uint8)).convert("RGB"))
        for i, f in enumerate(data.lfw_subset())
    ]


def dhash(im: Image.Image) -> np.ndarray:
    """A classic 64-bit difference hash, as a +-1 vector (the dot product ranks by Hamming)."""
    g = np.asarray(im.convert("L").resize((9, 8), Image.Resampling.BOX), np.float32)
    return np.where(g[:, 1:] > g[:, :-1], 1.0, -1.0).ravel()


def dhash_recall(cases: list[Case], others: list[Case], seed: int) -> pd.DataFrame:
    stored = np.stack([dhash(c.image) for c in [*cases, *others]])
    ids = [c.product_id for c in [*cases, *others]]
    hits = []
    for edit, product, im in queries(cases, seed):
        top = np.argsort(-(stored @ dhash(im)), kind="stable")[:5]
        ranked = [ids[i] for i in top]
        hits.append((edit, ranked[0] == product, product in ranked))
    frame = pd.DataFrame(hits, columns=["edit", "recall@1", "recall@5"])
    table = frame.groupby("edit", sort=False)[["recall@1", "recall@5"]].mean()
    table.loc["overall"] = frame[["recall@1", "recall@5"]].mean()
    return table.reset_index()


def recall_tables(cases: list[Case], others: list[Case], seed: int) -> pd.DataFrame:
    stored = [Stored(c.product_id, "", pack(describe(c.image))) for c in [*cases, *others]]
    combined, ms = evaluate(Index(stored), cases, seed)
    out = combined[["edit", "queries", "recall@1", "recall@5"]].copy()
    for name, weights in SINGLE.items():
        alone, _ = evaluate(Index(stored, weights), cases, seed)
        out[f"{name} @1/@5"] = [f"{a:.2f} / {b:.2f}" for a, b in
                                zip(alone["recall@1"], alone["recall@5"], strict=True)]
    hashed = dhash_recall(cases, others, seed)
    out["dHash @1/@5"] = [f"{a:.2f} / {b:.2f}" for a, b in
                          zip(hashed["recall@1"], hashed["recall@5"], strict=True)]
    print(f"\n{len(cases)} catalogue images, {len(others)} distractors, "
          f"{len(cases) * 11} queries, {ms:.0f} ms per query (describe + rank)\n")
    return out


def query_time(cases: list[Case], size: int, seed: int) -> None:
    blobs = [pack(describe(c.image)) for c in cases]
    stored = [Stored(f"p{i}", "", blobs[i % len(blobs)]) for i in range(size)]
    began = time.perf_counter()
    index = Index(stored)
    build = time.perf_counter() - began
    edited = [im for _, _, im in queries(cases, seed)][:60]
    described: list[Described] = []
    began = time.perf_counter()
    for im in edited:
        described.append(describe_query(im))
    describe_ms = 1000 * (time.perf_counter() - began) / len(edited)
    timings = []
    for d in described:
        began = time.perf_counter()
        index.ranked(d, 5)
        timings.append(1000 * (time.perf_counter() - began))
    print(f"\nindex of {size:,} images: built in {build * 1000:.0f} ms; per query: describe "
          f"{describe_ms:.1f} ms, rank median {np.median(timings):.1f} ms, "
          f"p95 {np.percentile(timings, 95):.1f} ms")


def store_time(cases: list[Case], size: int, url: str, legacy: bool = False) -> None:
    """`ecom search-image` end to end on the store at `url` (its schema dropped and made
    again) holding `size` images: reading the store, then describing and ranking (what
    one CLI call does after start-up). `legacy`: the rows as an ecom before previews
    wrote them (no preview: every image's descriptors are read whole)."""
    import io
    from decimal import Decimal

    import ecomcli
    from ecomcli.images import catalogue
    from ecomcli.repository import Mode

    blobs = [pack(describe(c.image)) for c in cases]
    with ecomcli.connect(url) as store:
        store.init_schema(drop=True)
        products = [{"product_id": f"p{i}", "name": f"p{i}", "kind": "general",
                     "price": Decimal(1), "units_in_stock": 0, "reorder_level": 0}
                    for i in range(size)]
        store.write_batch("products", products, Mode.INSERT, list(products[0]))
        with store.transaction():
            for i in range(size):
                blob = blobs[i % len(blobs)]
                store.insert("product_images", {
                    "product_id": f"p{i}", "sha256": f"{i:064d}", "source": "x", "width": 1,
                    "height": 1, "file_bytes": 1, "method": catalogue.METHOD,
                    "descriptors": blob, "preview": None if legacy else blob[:PREVIEW_BYTES],
                })
        buf = io.BytesIO()
        cases[0].image.save(buf, "JPEG")
        timings, cpu, reading = [], [], []
        for _ in range(5):
            began, began_cpu = time.perf_counter(), time.process_time()
            catalogue.search(store, buf.getvalue(), 5)
            timings.append(1000 * (time.perf_counter() - began))
            cpu.append(1000 * (time.process_time() - began_cpu))
            began = time.perf_counter()
            catalogue.index(store)
            reading.append(1000 * (time.perf_counter() - began))
        store.init_schema(drop=True)  # leave no 10,000 rows behind
    rows = "rows without previews (legacy)" if legacy else "rows with previews"
    print(f"{store.backend} store of {size:,} images, {rows}: one search end to end "
          f"median {np.median(timings):.0f} ms (this process's CPU {np.median(cpu):.0f} ms); "
          f"reading the previews alone {np.median(reading):.0f} ms")


def startup_time() -> None:
    """What a CLI call costs before any search (another issue's): `ecom --version`."""
    import subprocess
    import sys

    ecom = Path(sys.executable).with_name("ecom")
    timings = []
    for _ in range(3):
        began = time.perf_counter()
        subprocess.run([ecom, "--version"], check=True, capture_output=True)
        timings.append(1000 * (time.perf_counter() - began))
    print(f"process start-up (ecom --version): median {np.median(timings):.0f} ms")


def markdown(table: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + " --- |" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--time-only", action="store_true", help="skip the drawn catalogue")
    parser.add_argument("--store-only", action="store_true", help="only the store timings")
    parser.add_argument(
        "--store", action="append", metavar="URL",
        help="a store to time the search on, dropped and made again (repeatable; default: "
        "a temporary SQLite file)",
    )
    parser.add_argument("--legacy", action="store_true", help="also rows without previews")
    args = parser.parse_args()
    cases = photos()
    if args.store_only:
        stores(cases, args)
        return
    others = faces()
    print(markdown(recall_tables(cases, others, args.seed)))
    if args.time_only:
        query_time(cases, args.size, args.seed)
        stores(cases, args)
        return
    drawn = [Case(f"P{i:06d}", draw(f"P{i:06d}", f"product {i}")) for i in range(1, 301)]
    table, ms = evaluate(
        Index(Stored(c.product_id, "", pack(describe(c.image))) for c in drawn), drawn, args.seed
    )
    print(f"\n300 drawn pictures (ecom generate --images), {ms:.0f} ms per query\n")
    print(markdown(table))
    query_time(cases, args.size, args.seed)
    stores(cases, args)


def stores(cases: list[Case], args: argparse.Namespace) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for url in args.store or [f"sqlite:///{tmp}/s.db"]:
            for legacy in (False, True) if args.legacy else (False,):
                store_time(cases, args.size, url, legacy)
    startup_time()


if __name__ == "__main__":
    main()
