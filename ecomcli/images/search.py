"""Search: every stored image scored against a query, brute force in numpy.

The score adds what each descriptor is good at: colour (crops, rotations, mirrors, blur,
compression), texture (colour and light changes, rotations) and layout (everything but
strong crops and odd rotations); a product scores as its best image. Two passes: every
image by the histograms and its whole thumbnail upright (cheap), then the best
`CANDIDATES` by every window and every turn of the query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from ecomcli.images import colour, layout, texture
from ecomcli.images.descriptors import HISTOGRAM_BYTES, PREVIEW_BYTES, Described

WEIGHTS = {"colour": 1.0, "texture": 1.0, "layout": 1.0}
CANDIDATES = 100
UPRIGHT = 8  # the query's first rows: its thumbnail's 8 symmetries, not turned


@dataclass(frozen=True)
class Stored:
    product_id: str
    sha256: str
    descriptors: bytes  # all of them, or their first PREVIEW_BYTES when `details` is given


# the full descriptors of some stored images, in their order (read from the store)
Details = Callable[[list[Stored]], list[bytes]]


class Index:
    """The stored descriptors' first parts as matrices, ready for many queries; the rest
    of a candidate's descriptors comes from `details` (or from its `Stored`)."""

    def __init__(
        self,
        images: Iterable[Stored],
        weights: dict[str, float] | None = None,
        details: Details | None = None,
    ):
        self.images = list(images)
        self.weights = weights or WEIGHTS
        self.details = details or (lambda images: [i.descriptors for i in images])
        n, nhist = len(self.images), colour.SIZE + texture.SIZE
        self.windows = len(layout.WINDOWS)
        # one buffer, one decode: no Python work per image but the slice
        head = b"".join(i.descriptors[:PREVIEW_BYTES] for i in self.images)
        raw = np.frombuffer(head, np.uint8).reshape(n, PREVIEW_BYTES)
        hist = raw[:, :HISTOGRAM_BYTES].copy().view("<f4").reshape(n * 2, nhist)
        self.colour = np.ascontiguousarray(hist[:, : colour.SIZE], np.float32)
        self.texture = np.ascontiguousarray(hist[:, colour.SIZE :], np.float32)
        self.whole = raw[:, HISTOGRAM_BYTES:].copy().view("<f2").astype(np.float32)

    def thumbs(self, keep: np.ndarray) -> np.ndarray:
        """(len(keep), windows, layout.SIZE): the window thumbnails of these images."""
        blobs = self.details([self.images[k] for k in keep])
        raw = np.frombuffer(b"".join(b[HISTOGRAM_BYTES:] for b in blobs), "<f2")
        return raw.reshape(len(keep), self.windows, layout.SIZE).astype(np.float32)

    def __len__(self) -> int:
        return len(self.images)

    def histogram_scores(self, query: Described) -> np.ndarray:
        w, n = self.weights, len(self)
        total = w["colour"] * _best(self.colour, query.colour, n)
        total += w["texture"] * _best(self.texture, query.texture, n)
        return total

    def scores(self, query: Described) -> tuple[np.ndarray, np.ndarray]:
        """(stored image numbers, their scores), the best candidates only."""
        w = self.weights
        total = self.histogram_scores(query)
        if not w["layout"]:
            return np.arange(len(self)), total / sum(w.values())
        turns = np.ascontiguousarray(query.thumbs.T, np.float32)
        upright = (self.whole @ turns[:, :UPRIGHT]).max(axis=1)
        keep = np.arange(len(self))
        if len(self) > CANDIDATES:
            keep = np.argpartition(-(total + w["layout"] * upright), CANDIDATES)[:CANDIDATES]
        windows = self.thumbs(keep)
        best = (windows @ turns).reshape(len(keep), -1).max(axis=1)
        return keep, (total[keep] + w["layout"] * best) / sum(w.values())

    def ranked(self, query: Described, limit: int) -> list[tuple[str, float, str]]:
        """The best `limit` products: (product_id, score, sha256 of its best image)."""
        if not self.images:
            return []
        keep, scores = self.scores(query)
        out: list[tuple[str, float, str]] = []
        seen: set[str] = set()
        for i in np.argsort(-scores, kind="stable"):
            image = self.images[keep[i]]
            if image.product_id in seen:
                continue
            seen.add(image.product_id)
            out.append((image.product_id, round(float(scores[i]), 4), image.sha256))
            if len(out) == limit:
                break
        return out


def _best(stored: np.ndarray, query: np.ndarray, n: int) -> np.ndarray:
    """Per stored image, the best dot product of its rows with the query's rows."""
    product = stored @ np.ascontiguousarray(query.T, np.float32)
    return product.reshape(n, -1).max(axis=1)
