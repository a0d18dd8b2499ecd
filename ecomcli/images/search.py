"""Search: every stored image scored against a query, brute force in numpy.

The score adds what each descriptor is good at: colour (crops, rotations, mirrors, blur,
compression), texture (colour and light changes, rotations) and layout (everything but
strong crops and odd rotations); a product scores as its best image.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ecomcli.images import colour, layout, texture
from ecomcli.images.descriptors import Described, unpack

WEIGHTS = {"colour": 1.0, "texture": 1.0, "layout": 1.0}


@dataclass(frozen=True)
class Stored:
    product_id: str
    sha256: str
    descriptors: bytes


class Index:
    """The stored descriptors as matrices, ready for many queries."""

    def __init__(self, images: Iterable[Stored], weights: dict[str, float] | None = None):
        self.images = list(images)
        self.weights = weights or WEIGHTS
        described = [unpack(i.descriptors) for i in self.images]
        n = len(described)
        self.windows = len(layout.WINDOWS)
        self.colour = _stack([d.colour for d in described], colour.SIZE).reshape(-1, colour.SIZE)
        self.texture = _stack([d.texture for d in described], texture.SIZE).reshape(
            -1, texture.SIZE
        )
        self.thumbs = _stack([d.thumbs for d in described], layout.SIZE).reshape(
            n * self.windows, layout.SIZE
        )

    def __len__(self) -> int:
        return len(self.images)

    def scores(self, query: Described) -> np.ndarray:
        """One score per stored image (higher is closer)."""
        w = self.weights
        n = len(self)
        total = w["colour"] * (self.colour @ query.colour.T).reshape(n, -1).max(axis=1)
        total += w["texture"] * (self.texture @ query.texture.T).reshape(n, -1).max(axis=1)
        if w["layout"]:
            best = (self.thumbs @ query.thumbs.T).reshape(n, -1).max(axis=1)
            total += w["layout"] * best
        return total / sum(w.values())

    def ranked(self, query: Described, limit: int) -> list[tuple[str, float, str]]:
        """The best `limit` products: (product_id, score, sha256 of its best image)."""
        if not self.images:
            return []
        scores = self.scores(query)
        out: list[tuple[str, float, str]] = []
        seen: set[str] = set()
        for i in np.argsort(-scores, kind="stable"):
            image = self.images[i]
            if image.product_id in seen:
                continue
            seen.add(image.product_id)
            out.append((image.product_id, round(float(scores[i]), 4), image.sha256))
            if len(out) == limit:
                break
        return out


def _stack(parts: Sequence[np.ndarray], width: int) -> np.ndarray:
    if not parts:
        return np.zeros((0, width), np.float32)
    return np.ascontiguousarray(np.stack(parts), dtype=np.float32)
