"""What is stored per image and what a query computes, packed as bytes for the store.

A stored image keeps its colour and texture histograms and the thumbnails of its
windows; a query computes its histograms and its thumbnail's eight symmetries. Both start
from the picture without its plain background (`reading.trim_background`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ecomcli.images import colour, layout, texture
from ecomcli.images.reading import trim_background

METHOD = "hsv-lbp-thumb-1"  # changes whenever the packed layout or a descriptor changes
WIDTH = colour.SIZE + texture.SIZE + len(layout.WINDOWS) * layout.SIZE
THUMB_SCALE = 1100.0  # thumbnails are int8: a unit vector of 256 ranks is within +-0.11


@dataclass(frozen=True)
class Described:
    colour: np.ndarray  # (colour.SIZE,)
    texture: np.ndarray  # (texture.SIZE,)
    thumbs: np.ndarray  # (n, layout.SIZE): a stored image's windows, a query's symmetries


def prepared(im: Image.Image) -> Image.Image:
    return trim_background(im)


def describe(im: Image.Image) -> Described:
    """A stored image's descriptors."""
    im = prepared(im)
    return Described(colour.histogram(im), texture.histogram(im), layout.windows(im))


def describe_query(im: Image.Image) -> Described:
    im = prepared(im)
    return Described(colour.histogram(im), texture.histogram(im), layout.symmetries(im))


def pack(d: Described) -> bytes:
    hist = np.concatenate([d.colour, d.texture]).astype("<f4")
    thumbs = np.clip(np.round(d.thumbs * THUMB_SCALE), -127, 127).astype(np.int8)
    return hist.tobytes() + thumbs.tobytes()


def unpack(blob: bytes) -> Described:
    nhist = colour.SIZE + texture.SIZE
    hist = np.frombuffer(blob, "<f4", count=nhist)
    thumbs = np.frombuffer(blob, np.int8, offset=nhist * 4).reshape(-1, layout.SIZE)
    return Described(
        hist[: colour.SIZE], hist[colour.SIZE :], thumbs.astype(np.float32) / THUMB_SCALE
    )
