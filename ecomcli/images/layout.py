"""Layout: a small grey thumbnail, equalised, compared under the eight mirror/quarter-turn
symmetries and against crops of the stored picture.

What a perceptual hash sees (where light and dark are), kept as numbers rather than bits
so that a partial match still scores: blind to brightness, contrast, colour changes,
compression, resizing and blur; the stored crops make it tolerate a cropped query.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.stats import rankdata

SIDE = 16
SIZE = SIDE * SIDE
# windows of the stored picture (left, top, width, height as shares): whole, centre
# crops, and the corners and edges of 60% crops
WINDOWS = (
    (0.0, 0.0, 1.0, 1.0),
    (0.1, 0.1, 0.8, 0.8),
    (0.2, 0.2, 0.6, 0.6),
    *((x, y, 0.6, 0.6) for y in (0.0, 0.4) for x in (0.0, 0.4)),
    (0.2, 0.0, 0.6, 0.6),
    (0.2, 0.4, 0.6, 0.6),
    (0.0, 0.2, 0.6, 0.6),
    (0.4, 0.2, 0.6, 0.6),
)


def thumbnail(im: Image.Image) -> np.ndarray:
    """The equalised thumbnail as a unit vector of zero mean."""
    g = np.asarray(im.convert("L").resize((SIDE, SIDE), Image.Resampling.BOX), np.float32)
    # equalised: only the order of the grey levels counts (ties share their mean rank)
    ranks = rankdata(g.ravel()).astype(np.float32)
    ranks -= ranks.mean()
    return ranks / max(float(np.linalg.norm(ranks)), 1e-9)


def windows(im: Image.Image) -> np.ndarray:
    """Thumbnails of the stored picture's windows (`len(WINDOWS)` rows)."""
    w, h = im.size
    rows = []
    for x, y, cw, ch in WINDOWS:
        box = (round(x * w), round(y * h), round((x + cw) * w), round((y + ch) * h))
        rows.append(thumbnail(im.crop(box)))
    return np.stack(rows)


def symmetries(im: Image.Image) -> np.ndarray:
    """The query's thumbnail under the 8 mirror and quarter-turn symmetries, and the same
    of its centre turned a little either way (a photo taken askew): 24 rows."""
    w, h = im.size
    out = []
    for angle in (0, -15, 15):
        view = im
        if angle:
            view = im.rotate(angle, Image.Resampling.BILINEAR).crop(
                (round(w * 0.2), round(h * 0.2), round(w * 0.8), round(h * 0.8))
            )
        t = thumbnail(view).reshape(SIDE, SIDE)
        for flipped in (t, t[:, ::-1]):
            out.extend(np.rot90(flipped, k).ravel() for k in range(4))
    return np.stack(out)
