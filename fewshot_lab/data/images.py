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
        """Return the picture as a uint8 array of shape [channels, image_size, image_size]."""
        picture = picture.convert("L" if self.channels == 1 else "RGB")
        if self.invert:
            picture = ImageOps.invert(picture)
        if picture.size != (self.image_size, self.image_size):
            picture = picture.resize((self.image_size, self.image_size), Image.Resampling.LANCZOS)
        array = np.array(picture, dtype=np.uint8)  # a writable copy
        return array[None] if self.channels == 1 else array.transpose(2, 0, 1).copy()
