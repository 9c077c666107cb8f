"""Turning raw pictures into the arrays a dataset holds: grey scale, inversion, resizing.

Every image dataset stores ink as high values (255 = full ink) in uint8 arrays. Omniglot and the
glyphs are drawn dark on light paper, so their preprocessing inverts; the same recipe is kept with
the dataset (and later with a trained learner) so that raw pictures can be fed in unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageOps


@dataclass(frozen=True)
class Preprocessing:
    """How a raw picture becomes one stored image: `channels` 1 (grey) or 3 (RGB), `image_size` pixels square,
    `invert` when the raw pictures are dark strokes on a light background."""

    image_size: int = 28
    channels: int = 1
    invert: bool = True

    def __post_init__(self):
        if not isinstance(self.image_size, int) or self.image_size < 4:
            raise ValueError(f"image_size must be an integer of at least 4 pixels, got {self.image_size!r}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {self.channels!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    def __call__(self, picture: Image.Image) -> np.ndarray:
        """Return the picture as a uint8 array of shape [channels, image_size, image_size].

        The picture is read as a person sees it: a transparent background (a drawing saved with an alpha channel
        or a transparent palette colour) is the paper, composited onto the dataset's background (white for dark
        strokes, black for light ones), and 16-bit values are scaled to 8 bits rather than clipped.
        """
        picture = _eight_bit(picture)
        if picture.mode in ALPHA_MODES or "transparency" in picture.info:
            paper = Image.new("RGBA", picture.size, (255, 255, 255, 255) if self.invert else (0, 0, 0, 255))
            picture = Image.alpha_composite(paper, picture.convert("RGBA"))
        picture = picture.convert("L" if self.channels == 1 else "RGB")
        if self.invert:
            picture = ImageOps.invert(picture)
        if picture.size != (self.image_size, self.image_size):
            picture = picture.resize((self.image_size, self.image_size), Image.Resampling.LANCZOS)
        array = np.array(picture, dtype=np.uint8)  # a writable copy
        return array[None] if self.channels == 1 else array.transpose(2, 0, 1).copy()


ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
WIDE_MODES = ("I", "F")  # 32-bit integers or floats: which depth they came from is read off their values


def _eight_bit(picture: Image.Image) -> Image.Image:
    """The picture with 8-bit values: 16-bit grey ("I;16" modes) divided by 257, so that 65535 becomes 255.
    A 32-bit integer or float picture (mode I or F; older Pillows open 16-bit PNGs as I) is taken as 8-bit if
    its values fit in 0-255, as 16-bit if they fit in 0-65535; larger or negative values are refused."""
    if not (picture.mode.startswith("I;16") or picture.mode in WIDE_MODES):
        return picture
    values = np.asarray(picture, dtype=np.float64)  # [H, W]
    if values.size and not (np.isfinite(values).all() and values.min() >= 0 and values.max() <= 65535):
        raise ValueError(
            f"a {picture.mode} picture with values from {values.min():g} to {values.max():g} is neither "
            f"an 8-bit nor a 16-bit picture; give one with values in 0-255 or 0-65535"
        )
    if picture.mode.startswith("I;16") or (values.size and values.max() > 255):
        values = values / 257
    return Image.fromarray(np.round(values).astype(np.uint8), "L")
