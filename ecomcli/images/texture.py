"""Texture: rotation-invariant local binary patterns at two scales, plus how strong the
edges are. Blind to colour, brightness, contrast, mirrors and rotations; robust to crops.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from ecomcli.images.reading import Foreground

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


def patterns(g: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Histogram of rotation-invariant uniform patterns (`PATTERNS` bins, sum 1) of the
    pixels whose whole neighbourhood is in `keep`."""
    centre = g[1:-1, 1:-1]
    h, w = centre.shape
    bits = [g[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] >= centre + 2.0 for dy, dx in _RING]
    ones = np.sum(bits, axis=0)
    changes = np.sum([bits[i] != bits[i - 1] for i in range(8)], axis=0)
    code = np.where(changes <= 2, ones, PATTERNS - 1)
    inside = ndimage.binary_erosion(keep)[1:-1, 1:-1]
    if inside.mean() > 0.05:
        code = code[inside]
    counts = np.bincount(code.ravel(), minlength=PATTERNS).astype(np.float32)
    return counts / max(float(counts.sum()), 1.0)


def edges(g: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Histogram of gradient strength, relative to the picture's own contrast."""
    gy, gx = np.gradient(g)
    mag = np.hypot(gx, gy)
    inside = ndimage.binary_erosion(keep)
    if inside.mean() > 0.05:
        g, mag = g[inside], mag[inside]
    spread = float(g.std()) or 1.0
    idx = np.minimum((mag / spread * 4).astype(int), EDGE_BINS - 1)
    counts = np.bincount(idx.ravel(), minlength=EDGE_BINS).astype(np.float32)
    return counts / max(float(counts.sum()), 1.0)


def histogram(fg: Foreground) -> np.ndarray:
    parts = []
    for side in SCALES:
        g = grey(fg.image, side)
        parts.append(patterns(g, fg.mask_at((g.shape[1], g.shape[0]))))
    g = grey(fg.image, SCALES[0])
    parts.append(edges(g, fg.mask_at((g.shape[1], g.shape[0]))))
    out = np.sqrt(np.concatenate(parts))
    return out / max(float(np.linalg.norm(out)), 1e-9)
