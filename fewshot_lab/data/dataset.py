"""A class-labelled image dataset held in memory as one tensor, with meta-train/val/test class splits (7.3).

Meta-learning splits the *classes*, not the images: a class used for meta-training never appears at
meta-validation or meta-test time. Each class carries a name and a group (the alphabet for Omniglot
and glyphs), which the task sampler uses for the harder within-alphabet tasks.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fewshot_lab.data.images import Preprocessing
from fewshot_lab.paths import atomic_path

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class ClassInfo:
    name: str
    group: str


class FewShotDataset:
    """Images of many classes, stored as uint8 with ink high, plus which classes belong to which meta-split.

    images:  uint8 tensor [num_images, channels, height, width]
    targets: int64 tensor [num_images], the class index of each image
    classes: one ClassInfo per class index
    splits:  {"train": [...], "val": [...], "test": [...]}, disjoint lists of class indices
    """

    def __init__(
        self,
        name: str,
        images: torch.Tensor,
        targets: torch.Tensor,
        classes: list[ClassInfo],
        splits: dict[str, list[int]],
        preprocessing: Preprocessing,
    ):
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(
                f"images must be a uint8 tensor [num_images, channels, height, width], "
                f"got {images.dtype} of shape {tuple(images.shape)}"
            )
        if targets.shape != (images.shape[0],):
            raise ValueError(
                f"targets must have one entry per image ({images.shape[0]}), got shape {tuple(targets.shape)}"
            )
        self.name = name
        self.images = images
        self.targets = targets.long()
        self.classes = list(classes)
        self.preprocessing = preprocessing
        self.splits = {split: sorted(int(c) for c in splits.get(split, [])) for split in SPLITS}
        self._check_splits()
        order = torch.argsort(self.targets, stable=True)
        counts = torch.bincount(self.targets, minlength=len(self.classes))
        # image indices of class c: self._by_class[c]
        self._by_class = list(torch.split(order, counts.tolist()))

    def _check_splits(self):
        seen: dict[int, str] = {}
        for split, members in self.splits.items():
            for index in members:
                if not 0 <= index < len(self.classes):
                    raise ValueError(
                        f"split {split!r} names class {index}, but the dataset has {len(self.classes)} classes"
                    )
                if index in seen:
                    raise ValueError(
                        f"class {self.classes[index].name!r} is in both the {seen[index]!r} "
                        f"and the {split!r} split; meta-splits must not overlap"
                    )
                seen[index] = split

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def image_indices(self, class_index: int) -> torch.Tensor:
        """Indices into `images` of every image of one class."""
        return self._by_class[class_index]

    def class_counts(self) -> torch.Tensor:
        return torch.tensor([len(indices) for indices in self._by_class])

    def groups(self, split: str) -> dict[str, list[int]]:
        """{group name: class indices} for the classes of one split, e.g. the alphabets of the test split."""
        self.check_split(split)
        grouped: dict[str, list[int]] = {}
        for index in self.splits[split]:
            grouped.setdefault(self.classes[index].group, []).append(index)
        return grouped

    def check_split(self, split: str):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")

    def as_float(self, indices: torch.Tensor) -> torch.Tensor:
        """The chosen images in [0, 1], ink high, in torch's default floating dtype (float32 unless set)."""
        return self.images[indices].to(torch.get_default_dtype()).div_(255.0)

    def with_splits(self, splits: dict[str, list[int]], name: str | None = None) -> FewShotDataset:
        """The same images and classes with other meta-splits (which still must not overlap)."""
        return FewShotDataset(name or self.name, self.images, self.targets, self.classes, splits, self.preprocessing)

    def train_with_val(self) -> FewShotDataset:
        """The val classes moved into the train split (val left empty), for the final training of a recipe whose
        settings were chosen on val: more classes to learn from, and the test split untouched."""
        return self.with_splits(
            {"train": self.splits["train"] + self.splits["val"], "val": [], "test": self.splits["test"]}
        )

    def with_rotations(self, splits: tuple[str, ...] = SPLITS) -> FewShotDataset:
        """Add the 90, 180 and 270 degree rotation of every class of `splits` as three new classes in the same
        split (the Vinyals et al. protocol for Omniglot): those splits hold four times as many classes."""
        for split in splits:
            self.check_split(split)
        chosen = [index for split in splits for index in self.splits[split]]
        images, targets, classes = [self.images], [self.targets], list(self.classes)
        new_splits = {split: list(members) for split, members in self.splits.items()}
        image_indices = torch.cat([self.image_indices(index) for index in chosen])  # images of the chosen classes
        relabel = torch.full((self.num_classes,), -1, dtype=torch.long)
        for quarter in (1, 2, 3):
            first = len(classes)
            relabel[chosen] = torch.arange(first, first + len(chosen))
            images.append(torch.rot90(self.images[image_indices], quarter, dims=(2, 3)))
            targets.append(relabel[self.targets[image_indices]])
            classes += [
                ClassInfo(f"{self.classes[index].name}/rot{90 * quarter}", self.classes[index].group)
                for index in chosen
            ]
            for split in splits:
                new_splits[split] += relabel[self.splits[split]].tolist()
        return FewShotDataset(
            f"{self.name}+rotations", torch.cat(images), torch.cat(targets), classes, new_splits, self.preprocessing
        )

    def summary(self) -> str:
        parts = [f"{split} {len(self.splits[split])} classes ({len(self.groups(split))} groups)" for split in SPLITS]
        return (
            f"{self.name}: {len(self.images)} images of {self.num_classes} classes, "
            f"shape {list(self.image_shape)}; " + ", ".join(parts)
        )

    def __repr__(self) -> str:
        return f"<FewShotDataset {self.summary()}>"


def save_arrays(path: Path, images: np.ndarray, targets: np.ndarray, classes: list[ClassInfo]):
    """Cache a dataset's arrays as one .npz, written atomically (a crash leaves no partial cache)."""
    meta = json.dumps([[info.name, info.group] for info in classes])
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, images=images, targets=targets, classes=np.array(meta))


class DamagedCache(ValueError):
    """A cached .npz that cannot be read back as a dataset's arrays (cut short, altered, or of another layout)."""


def load_arrays(path: Path) -> tuple[torch.Tensor, torch.Tensor, list[ClassInfo]]:
    """A dataset's cached arrays: images uint8 [N, C, H, W], targets int64 [N], one ClassInfo per class; raises
    DamagedCache, naming the file, if it cannot be read or its arrays do not fit together."""
    try:
        with np.load(path) as arrays:
            classes = [ClassInfo(name, group) for name, group in json.loads(str(arrays["classes"]))]
            images, targets = arrays["images"], arrays["targets"]
    except Exception as error:  # zip, zlib, pickle, json and key errors: any of them means the bytes are not ours
        raise DamagedCache(
            f"the cached dataset file {str(path)!r} is damaged ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else 'unreadable'})"
        ) from None
    if (
        images.dtype != np.uint8
        or images.ndim != 4
        or targets.shape != (len(images),)
        or (len(targets) and not 0 <= targets.min() <= targets.max() < len(classes))
    ):
        raise DamagedCache(
            f"the cached dataset file {str(path)!r} is damaged: its images ({images.dtype}, shape "
            f"{images.shape}), targets (shape {targets.shape}) and {len(classes)} classes do not fit "
            f"together"
        )
    return torch.from_numpy(images), torch.from_numpy(targets).long(), classes


def cached_arrays(path: Path, build: Callable[[], tuple[np.ndarray, np.ndarray, list[ClassInfo]]]):
    """A dataset's arrays (as load_arrays gives them) from its cache at `path`; when there is none, or it is
    damaged (a warning names it), `build()` makes them from their source and they are cached."""
    if path.is_file():
        try:
            return load_arrays(path)
        except DamagedCache as damage:
            warnings.warn(f"{damage}; rebuilding it from its source", stacklevel=3)
    images, targets, classes = build()
    save_arrays(path, images, targets, classes)
    return torch.from_numpy(images), torch.from_numpy(targets).long(), classes
