"""Texture: rotation-invariant local binary patterns at two scales, plus how strong the
edges are. Blind to colour, brightness, contrast, mirrors and rotations; robust to crops.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SCALES = (128, 48)  # the picture's longer side, in pixels, for each histogram
PATTERNS = 10  # uniform patterns 0..8 set bits, and every non-uniform one
EDGE_BINS = 8
SIZE = PATTERNS * len(SCALES) + EDGE_BINS

# the 8 neighbours in circular order (row, column offsets)
_RING = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


def grey(im: Image.Image, side: int) -> np.ndarray:
    small = im.convert("L")
    scale = side / max(small.size)
    size = (max(3, round(small.width * scale)), max(3, round(small.height * scale)))
    return np.asarray(small.resize(size, Image.Resampling.BOX), dtype=np.float32)


def patterns(g: np.ndarray) -> np.ndarray:
    """Histogram of rotation-invariant uniform patterns (`PATTERNS` bins, sum 1)."""
    centre = g[1:-1, 1:-1]
    h, w = centre.shape
    bits = [g[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] >= centre + 2.0 for dy, dx in _RING]
    ones = np.sum(bits, axis=0)
    changes = np.sum([bits[i] != bits[i - 1] for i in range(8)], axis=0)
    code = np.where(changes <= 2, ones, PATTERNS - 1)
    counts = np.bincount(code.ravel(), minlength=PATTERNS).astype(np.float32)
    return counts / max(float(counts.sum()), 1.0)


def edges(g: np.ndarray) -> np.ndarray:
    """Histogram of gradient strength, relative to the picture's own contrast."""
    gy, gx = np.gradient(g)
    mag = np.hypot(gx, gy)
    spread = float(g.std()) or 1.0
    idx = np.minimum((mag / spread * 4).astype(int), EDGE_BINS - 1)
    counts = np.bincount(idx.ravel(), minlength=EDGE_BINS).astype(np.float32)
    return counts / max(float(counts.sum()), 1.0)


def histogram(im: Image.Image) -> np.ndarray:
    parts = [patterns(grey(im, side)) for side in SCALES]
    parts.append(edges(grey(im, SCALES[0])))
    out = np.sqrt(np.concatenate(parts))
    return out / max(float(np.linalg.norm(out)), 1e-9)
