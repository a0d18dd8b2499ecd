"""A store's product images: add, import, list, remove, and search by photo.

Images live in the `product_images` entity (`ecomcli.schema.MEDIA`): one row per product
and file content (SHA-256), so adding the same file again adds nothing. A file that is no
readable image is a rejected row naming the file and the reason, never an exception.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ecomcli.errors import NotFoundError, UsageError
from ecomcli.images.descriptors import (
    METHOD,
    PREVIEW_BYTES,
    describe,
    describe_query,
    pack,
)
from ecomcli.images.reading import ImageError, load
from ecomcli.images.search import Index, Stored
from ecomcli.repository import Filter, Query, Repository

ENTITY = "product_images"
SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
LISTED = ["product_id", "sha256", "source", "width", "height", "file_bytes", "added_at"]


@dataclass
class AddResult:
    added: int = 0
    unchanged: int = 0  # the product already had this file's content
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "unchanged": self.unchanged,
            "rejected": [{"file": f, "reason": r} for f, r in self.rejected],
        }


def image_row(product_id: str, path: Path | str) -> dict[str, Any]:
    """The row storing one file for a product; `ImageError` if it is no image."""
    loaded = load(path)
    descriptors = pack(describe(loaded.image))
    return {
        "product_id": product_id,
        "sha256": loaded.sha256,
        "source": str(path),
        "width": loaded.size[0],
        "height": loaded.size[1],
        "file_bytes": len(loaded.data),
        "method": METHOD,
        "descriptors": descriptors,
        "added_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
        "preview": descriptors[:PREVIEW_BYTES],
    }


def add(store: Repository, pairs: Iterable[tuple[str, Path | str]]) -> AddResult:
    """Store each (product_id, file); unknown products and unreadable files are rejected."""
    result = AddResult()
    rows: list[dict[str, Any]] = []
    known: dict[str, bool] = {}
    for product_id, path in pairs:
        if product_id not in known:
            known[product_id] = store.get("products", (product_id,)) is not None
        if not known[product_id]:
            result.rejected.append((str(path), f"no product {product_id!r}"))
            continue
        try:
            rows.append(image_row(product_id, path))
        except ImageError as e:
            result.rejected.append((str(path), str(e).removeprefix(f"{path}: ")))
    # one row at a time: batch writers may pass rows as JSON, which holds no bytes
    with store.transaction():
        stored = store.existing_keys(ENTITY, [(r["product_id"], r["sha256"]) for r in rows])
        for row in rows:
            key = (row["product_id"], row["sha256"])
            if key in stored:
                result.unchanged += 1
                continue
            store.insert(ENTITY, row)
            stored.add(key)
            result.added += 1
    return result


def add_files(store: Repository, product_id: str, files: Sequence[Path]) -> AddResult:
    store.require("products", (product_id,))
    return add(store, ((product_id, f) for f in files))


def product_of(path: Path, products: set[str]) -> str | None:
    """The product a file name names: its stem (`P001.jpg`), or the stem before a last
    `_` or `-` suffix (`P001_2.jpg`, `P001-back.png`)."""
    stem = path.stem
    if stem in products:
        return stem
    for sep in ("_", "-"):
        head = stem.rpartition(sep)[0]
        if head in products:
            return head
    return None


def import_path(store: Repository, source: Path) -> AddResult:
    """Images from a folder (each file named after its product) or from a CSV file of
    `product_id,file` rows (files relative to the CSV's folder)."""
    if source.is_file() and source.suffix.lower() == ".csv":
        return add(store, mapped(source))
    if not source.is_dir():
        raise NotFoundError(f"{source}: no such folder or CSV file")
    products = set(store.distinct("products", "product_id"))
    pairs, result = [], AddResult()
    for path in sorted(p for p in source.iterdir() if p.is_file()):
        if path.suffix.lower() not in SUFFIXES:
            continue
        product_id = product_of(path, products)
        if product_id is None:
            result.rejected.append((str(path), f"no product named {path.stem!r}"))
        else:
            pairs.append((product_id, path))
    found = add(store, pairs)
    found.rejected[:0] = result.rejected
    return found


def mapped(csv_path: Path) -> list[tuple[str, Path]]:
    """(product_id, file) pairs of a mapping CSV."""
    with csv_path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        wanted = {"product_id", "file"}
        if not wanted <= set(reader.fieldnames or ()):
            raise UsageError(f"{csv_path}: line 1: the header needs columns product_id and file")
        pairs = []
        for line, row in enumerate(reader, start=2):
            if not row["product_id"] or not row["file"]:
                raise UsageError(f"{csv_path}: line {line}: product_id and file are required")
            pairs.append((row["product_id"].strip(), csv_path.parent / row["file"].strip()))
    return pairs


def listing(store: Repository, product_id: str | None = None) -> list[dict[str, Any]]:
    filters = [Filter("product_id", "=", product_id)] if product_id else []
    return [
        {c: row[c] for c in LISTED} for row in store.find(ENTITY, Query(filters=filters))
    ]


def remove(store: Repository, product_id: str, sha256: str | None = None) -> int:
    """Delete a product's images (or one, by its SHA-256 or a prefix of it)."""
    removed = 0
    for row in listing(store, product_id):
        if sha256 is None or row["sha256"].startswith(sha256):
            removed += store.delete(ENTITY, (product_id, row["sha256"]))
    return removed


def index(store: Repository) -> Index:
    """Every stored image described by this ecom's method: the previews of all (one
    query reading that column only), the full descriptors of a query's candidates only,
    when it asks (`details`)."""
    keys = ("product_id", "sha256")
    rows = store.find(
        ENTITY, Query([Filter("method", "=", METHOD)], fields=(*keys, "preview"))
    )
    images = [Stored(r["product_id"], r["sha256"], r["preview"]) for r in rows]
    # added by an ecom that stored no previews: read whole (the preview is their head)
    older = [i for i, image in enumerate(images) if image.descriptors is None]
    if older:
        whole = details(store, [images[i] for i in older])
        for i, descriptors in zip(older, whole, strict=True):
            images[i] = replace(images[i], descriptors=descriptors)
    return Index(images, details=lambda chosen: details(store, chosen))


def details(store: Repository, images: list[Stored]) -> list[bytes]:
    """The full descriptors of `images`, read by their products' keys."""
    products = sorted({i.product_id for i in images})
    rows = store.find(
        ENTITY,
        Query(
            [Filter("product_id", "in", products)],
            fields=("product_id", "sha256", "descriptors"),
        ),
    )
    found = {(r["product_id"], r["sha256"]): r["descriptors"] for r in rows}
    return [found[(i.product_id, i.sha256)] for i in images]


def search(
    store: Repository, query: str | Path | bytes, limit: int = 5, *, found: Index | None = None
) -> pd.DataFrame:
    """The products whose images look most like `query`, best first."""
    if limit < 1:
        raise UsageError("--limit: a whole number of at least 1 is expected")
    picture = load(query).image
    ranked = (found or index(store)).ranked(describe_query(picture), limit)
    ids = [p for p, _, _ in ranked]
    names = {
        r["product_id"]: r["name"]
        for r in store.find("products", Query(filters=[Filter("product_id", "in", ids)]))
    }
    rows = [
        {"rank": i, "product_id": p, "name": names.get(p), "score": s, "image": h[:12]}
        for i, (p, s, h) in enumerate(ranked, start=1)
    ]
    return pd.DataFrame(rows, columns=["rank", "product_id", "name", "score", "image"])
