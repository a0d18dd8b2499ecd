"""What is stored per image and what a query computes, packed as bytes for the store.

A stored image keeps its colour and texture histograms and the thumbnails of its
windows; a query computes its histograms and its thumbnail's eight symmetries. Both start
from the picture without its plain background (`reading.foreground`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ecomcli.images import colour, layout, texture
from ecomcli.images.reading import Foreground, foreground

METHOD = "hsv-lbp-thumb-2"  # changes whenever the packed layout or a descriptor changes
WORKING = 256


@dataclass(frozen=True)
class Described:
    # (2, SIZE): of the whole picture, and of the product without its background (the
    # same when there is none); a match counts the closer pair
    colour: np.ndarray
    texture: np.ndarray
    thumbs: np.ndarray  # (n, layout.SIZE): a stored image's windows, a query's symmetries


def histograms(fg: Foreground) -> tuple[np.ndarray, np.ndarray]:
    """(colour, texture) rows of the whole picture and of its product alone."""
    both = (fg.whole, fg) if fg.masked else (fg, fg)
    return (
        np.stack([colour.histogram(f) for f in both]),
        np.stack([texture.histogram(f) for f in both]),
    )


def working(im: Image.Image) -> Foreground:
    """The picture at `WORKING` pixels at most (every descriptor is smaller), without its
    plain background."""
    small = im.copy()
    small.thumbnail((WORKING, WORKING), Image.Resampling.BOX)
    return foreground(small)


def describe(im: Image.Image) -> Described:
    """A stored image's descriptors."""
    fg = working(im)
    return Described(*histograms(fg), layout.windows(fg.image))


def describe_query(im: Image.Image) -> Described:
    fg = working(im)
    return Described(*histograms(fg), layout.symmetries(fg.image))


# the histograms then the whole picture's thumbnail: the head of `pack`'s bytes, all that
# a search's first pass reads of every image (stored apart, so it reads nothing else)
HISTOGRAM_BYTES = 2 * (colour.SIZE + texture.SIZE) * 4
PREVIEW_BYTES = HISTOGRAM_BYTES + layout.SIZE * 2


def pack(d: Described) -> bytes:
    hist = np.concatenate([d.colour, d.texture], axis=1).astype("<f4")
    thumbs = d.thumbs.astype("<f2")  # half precision: plenty for a dot product
    return hist.tobytes() + thumbs.tobytes()


def unpack(blob: bytes) -> Described:
    nhist = colour.SIZE + texture.SIZE
    hist = np.frombuffer(blob, "<f4", count=2 * nhist).reshape(2, nhist)
    thumbs = np.frombuffer(blob, "<f2", offset=2 * nhist * 4).reshape(-1, layout.SIZE)
    return Described(
        hist[:, : colour.SIZE], hist[:, colour.SIZE :], thumbs.astype(np.float32)
    )
