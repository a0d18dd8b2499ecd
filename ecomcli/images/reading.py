"""Reading an image file into a normalised RGB picture, and finding the product in it.

`load` applies the EXIF orientation and flattens transparency onto white; `foreground`
cuts a plain border away (a product photographed or pasted on a white or uniform canvas)
and masks the background left around the product, so that the same product shrunk onto
a canvas describes like the product alone.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

from ecomcli.errors import EcomError, ValidationError

FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
# a border pixel further than this (0-255, any channel) from the border's colour is content
BACKGROUND_TOLERANCE = 24
# the border counts as plain when this share of its pixels is near its median colour
PLAIN_BORDER = 0.9


class ImageError(EcomError):
    """A file that is not an image this command can read (the message names it)."""

    exit_code = ValidationError.exit_code


@dataclass(frozen=True)
class Loaded:
    image: Image.Image  # RGB, orientation applied
    data: bytes  # the file's bytes
    sha256: str

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def load(source: str | Path | bytes, name: str | None = None) -> Loaded:
    """The image in a file (or in bytes) as RGB; `ImageError` naming it if unreadable."""
    shown = name or ("the image data" if isinstance(source, bytes) else str(source))
    if isinstance(source, bytes):
        data = source
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as e:
            raise ImageError(f"{shown}: cannot read: {e.strerror or e}") from None
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format not in FORMATS:
                raise ImageError(f"{shown}: {im.format} is not a supported image format")
            im.load()
            picture = to_rgb(ImageOps.exif_transpose(im) or im)
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        reason = "not an image (or a format Pillow cannot read)"
        if not isinstance(e, UnidentifiedImageError):
            reason = f"damaged image: {e}"
        raise ImageError(f"{shown}: {reason}") from None
    return Loaded(picture, data, hashlib.sha256(data).hexdigest())


def to_rgb(im: Image.Image) -> Image.Image:
    """RGB, transparent parts on white (a cut-out product sits on a white page)."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return im.convert("RGB")


@dataclass(frozen=True)
class Foreground:
    """A picture without its plain border, and which of its pixels are not background."""

    image: Image.Image
    mask: Image.Image  # mode "L", the image's size: 255 where the product is

    @property
    def whole(self) -> Foreground:
        """The same picture with every pixel counted."""
        return Foreground(self.image, Image.new("L", self.image.size, 255))

    @property
    def masked(self) -> bool:
        return self.mask.getextrema()[0] == 0

    def mask_at(self, size: tuple[int, int]) -> np.ndarray:
        return np.asarray(self.mask.resize(size, Image.Resampling.NEAREST)) > 127


def foreground(im: Image.Image) -> Foreground:
    """Cut a plain border away (a product on a white or uniform canvas, the fill a
    rotation leaves), and mask the background left around the product: the pixels of the
    border's colour connected to the border."""
    small = im.copy()
    small.thumbnail((256, 256))
    a = np.asarray(small, dtype=np.int16)
    h, w = a.shape[:2]
    everything = Image.new("L", im.size, 255)
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    colour = np.median(border, axis=0)
    near_border = np.abs(border - colour).max(axis=1) <= BACKGROUND_TOLERANCE
    if near_border.mean() < PLAIN_BORDER:
        return Foreground(im, everything)
    near = np.abs(a - colour).max(axis=2) <= BACKGROUND_TOLERANCE
    labels, _ = ndimage.label(near)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    background = np.isin(labels, edge[edge > 0])
    content = ~background
    if content.mean() < 0.01:
        return Foreground(im, everything)  # a plain picture: nothing to cut to
    rows, cols = np.flatnonzero(content.any(axis=1)), np.flatnonzero(content.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    sx, sy = im.width / w, im.height / h
    box = (int(left * sx), int(top * sy), int(np.ceil(right * sx)), int(np.ceil(bottom * sy)))
    mask = Image.fromarray((content[top:bottom, left:right] * 255).astype(np.uint8))
    cut = im.crop(box)
    return Foreground(cut, mask.resize(cut.size, Image.Resampling.NEAREST))
