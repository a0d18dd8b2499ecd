"""Colour: a joint HSV histogram, blind to where colours are (crops, rotations, mirrors).

Hue is counted only where a pixel has colour (weighted by saturation and value), so grey
pictures describe by their brightness alone. Compared by the cosine of square roots
(the Bhattacharyya coefficient of two distributions).
"""

from __future__ import annotations

import numpy as np

from ecomcli.images.reading import Foreground

HUE_BINS, SAT_BINS, VAL_BINS = 12, 3, 4
GREY_BINS = 8  # brightness of the pixels without colour
SIZE = HUE_BINS * SAT_BINS * VAL_BINS + GREY_BINS


def histogram(fg: Foreground) -> np.ndarray:
    """The normalised square-rooted histogram of the product's pixels: the dot product of
    two is their similarity."""
    small = fg.image.copy()
    small.thumbnail((96, 96))
    keep = fg.mask_at(small.size).ravel()
    hsv = np.asarray(small.convert("HSV"), dtype=np.float32).reshape(-1, 3) / 256.0
    if keep.mean() > 0.05:
        hsv = hsv[keep]
    h, s, v = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    chroma = s * v  # how much colour a pixel has
    coloured = chroma > 0.12
    hi = np.minimum((h * HUE_BINS).astype(int), HUE_BINS - 1)
    si = np.minimum((s * SAT_BINS).astype(int), SAT_BINS - 1)
    vi = np.minimum((v * VAL_BINS).astype(int), VAL_BINS - 1)
    joint = (hi * SAT_BINS + si) * VAL_BINS + vi
    counts = np.bincount(joint[coloured], minlength=HUE_BINS * SAT_BINS * VAL_BINS)
    gi = np.minimum((v[~coloured] * GREY_BINS).astype(int), GREY_BINS - 1)
    grey = np.bincount(gi, minlength=GREY_BINS)
    out = np.sqrt(np.concatenate([counts, grey]).astype(np.float32))
    return out / max(float(np.linalg.norm(out)), 1e-9)
