"""Training-time augmentation: more classes and more drawings than the meta-train split holds.

Two kinds, applied to meta-training only (validation and test tasks are never augmented):
- rotations: every meta-train class rotated by 90, 180 and 270 degrees becomes a new class
  (Vinyals et al. 2016; Santoro et al. 2016), so there are four times as many training classes;
- affine: each training image is slightly rotated, scaled, sheared and shifted, like another drawer's
  hand, by a seeded generator (so a run is reproducible and resumable).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import torch
from torch.nn import functional

from fewshot_lab.data.dataset import FewShotDataset


@dataclass(frozen=True)
class Augmentation:
    rotations: bool = True  # 90/180/270-degree copies of each meta-train class as new classes
    degrees: float = 10.0  # random rotation of each image, up to this many degrees either way
    scale: float = 0.1  # random zoom in [1 - scale, 1 + scale]
    shear: float = 0.1  # random shear factor in [-shear, shear]
    shift: float = 0.08  # random shift, as a fraction of the image side

    def __post_init__(self):
        for name in ("degrees", "scale", "shear", "shift"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"Augmentation {name} is a range either way and must be a finite number >= 0, not {value}"
                )
        if self.scale >= 1:
            raise ValueError(
                f"Augmentation scale {self.scale} would zoom images by a factor down to "
                f"{1 - self.scale:g}: it must be below 1"
            )

    @property
    def moves_images(self) -> bool:
        return any((self.degrees, self.scale, self.shear, self.shift))

    @property
    def strength_limit(self) -> float:
        """scaled(strength) needs strength below this: where the random zoom range 1 - scale x strength reaches 0."""
        return 1 / self.scale if self.scale else math.inf

    def scaled(self, strength: float) -> Augmentation:
        """The same augmentation with every affine range (degrees, scale, shear, shift) times `strength`:
        0 turns the moves off (rotated classes stay, if asked for), 2 moves each image up to twice as far."""
        if not (math.isfinite(strength) and 0 <= strength < self.strength_limit):
            limit = (
                ""
                if math.isinf(self.strength_limit)
                else f" and below {self.strength_limit:g} (where the random zoom would reach 0)"
            )
            raise ValueError(f"augmentation strength must be a finite number at least 0{limit}, not {strength:g}")
        return replace(
            self,
            degrees=self.degrees * strength,
            scale=self.scale * strength,
            shear=self.shear * strength,
            shift=self.shift * strength,
        )

    def training_dataset(self, dataset: FewShotDataset) -> FewShotDataset:
        """The dataset meta-training draws from: with rotated copies of the train classes, if asked."""
        return dataset.with_rotations(splits=("train",)) if self.rotations else dataset

    def wrap(self, stream, seed: int):
        """A training stream whose image tensors are randomly moved, one transform per image."""
        return AffineStream(stream, self, seed) if self.moves_images else stream


def random_affine(images: torch.Tensor, augmentation: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Move each image of [..., C, H, W] by its own random affine transform (bilinear, zero = no ink outside)."""
    shape = images.shape
    flat = images.reshape(-1, *shape[-3:])  # [images, C, H, W]
    count = flat.shape[0]

    def uniform(limit: float) -> torch.Tensor:
        return (torch.rand(count, generator=generator) * 2 - 1) * limit

    angle = uniform(math.radians(augmentation.degrees))
    zoom = 1 + uniform(augmentation.scale)
    shear = uniform(augmentation.shear)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [  # [images, 2, 3]: output -> input sampling coordinates
            torch.stack([cos, -sin + shear, 2 * uniform(augmentation.shift)], 1),
            torch.stack([sin, cos, 2 * uniform(augmentation.shift)], 1),
        ],
        1,
    ).to(images.device, images.dtype)
    grid = functional.affine_grid(theta, list(flat.shape), align_corners=False)
    moved = functional.grid_sample(flat, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return moved.reshape(shape)


class AffineStream:
    """Wraps a training stream: every image tensor of each record it yields is randomly moved."""

    def __init__(self, stream, augmentation: Augmentation, seed: int):
        self.stream, self.augmentation = stream, augmentation
        self.generator = torch.Generator().manual_seed(seed)

    def sample(self):
        record = self.stream.sample()
        moved = {}
        for field in fields(record):
            value = getattr(record, field.name)
            is_images = value.is_floating_point() and value.dim() >= 4  # [..., C, H, W]
            moved[field.name] = random_affine(value, self.augmentation, self.generator) if is_images else value
        return type(record)(**moved)

    def state_dict(self) -> dict:
        return {"stream": self.stream.state_dict(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict):
        self.stream.load_state_dict(state["stream"])
        self.generator.set_state(state["generator"])
