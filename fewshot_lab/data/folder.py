"""A user's own images as a few-shot dataset: one folder per class (the miniImageNet / CUB layout).

Two layouts are understood:
    root/<class>/<image>                     classes are split into train/val/test at random (seeded)
    root/{train,val,test}/<class>/<image>    the folders are the meta-splits
The group of a class is its parent folder's name below root (or the split folder).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from fewshot_lab.data.dataset import SPLITS, ClassInfo, FewShotDataset, cached_arrays
from fewshot_lab.data.images import Preprocessing
from fewshot_lab.paths import data_dir

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _find_classes(root: Path) -> tuple[list[tuple[Path, ClassInfo]], dict[str, list[int]] | None]:
    """The class folders under root, and the splits if root holds train/val/test folders."""
    if {p.name for p in _class_folders(root)} >= {"train", "test"}:
        found, splits = [], {}
        for split in SPLITS:
            members = _class_folders(root / split) if (root / split).is_dir() else []
            splits[split] = list(range(len(found), len(found) + len(members)))
            found += [(folder, ClassInfo(f"{split}/{folder.name}", split)) for folder in members]
        return found, splits
    return [(folder, ClassInfo(folder.name, root.name)) for folder in _class_folders(root)], None


def _random_split(num_classes: int, fractions: tuple[float, float, float], seed: int) -> dict[str, list[int]]:
    order = np.random.default_rng(seed).permutation(num_classes)
    train_end = round(fractions[0] * num_classes)
    val_end = train_end + round(fractions[1] * num_classes)
    return {
        "train": sorted(order[:train_end].tolist()),
        "val": sorted(order[train_end:val_end].tolist()),
        "test": sorted(order[val_end:].tolist()),
    }


def load_folder(
    root,
    image_size: int = 28,
    channels: int = 1,
    invert: bool = False,
    split_fractions: tuple[float, float, float] = (0.64, 0.16, 0.20),
    seed: int = 0,
) -> FewShotDataset:
    """Read a folder of class folders of images into a FewShotDataset (cached as arrays after the first read).

    invert=True suits dark strokes on a light background (handwriting), so that ink becomes high values.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ValueError(f"{str(root)!r} is not a folder; expected a folder holding one sub-folder of images per class")
    preprocessing = Preprocessing(image_size, channels, invert)
    if len(split_fractions) != 3 or any(f < 0 for f in split_fractions) or abs(sum(split_fractions) - 1) > 1e-6:
        raise ValueError(
            f"split_fractions must be three non-negative numbers (train, val, test) summing to 1, got {split_fractions}"
        )
    found, splits = _find_classes(root)
    if not found:
        raise ValueError(
            f"{str(root)!r} holds no class folders; expected root/<class>/<image> or root/train/<class>/<image>"
        )
    files_per_class = [(_image_files(folder), info) for folder, info in found]
    empty = [info.name for files, info in files_per_class if not files]
    if empty:
        raise ValueError(
            f"class folder(s) with no images in {str(root)!r}: {', '.join(empty[:5])}"
            f"{' ...' if len(empty) > 5 else ''} (image files end in {', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    images, targets, classes = cached_arrays(
        _cache_path(root, files_per_class, preprocessing), lambda: _read_images(files_per_class, preprocessing)
    )
    if splits is None:
        splits = _random_split(len(classes), split_fractions, seed)
    return FewShotDataset(f"folder:{root.name}", images, targets, classes, splits, preprocessing)


def _read_images(files_per_class, preprocessing: Preprocessing):
    arrays, targets, classes = [], [], []
    for class_index, (files, info) in enumerate(files_per_class):
        for path in files:
            try:
                with Image.open(path) as picture:
                    arrays.append(preprocessing(picture))  # [C, S, S]
            except (UnidentifiedImageError, OSError, ValueError) as error:
                raise ValueError(f"cannot read image {str(path)!r} of class {info.name!r}: {error}") from None
            targets.append(class_index)
        classes.append(info)
    return np.stack(arrays), np.array(targets, dtype=np.int64), classes  # [N, C, S, S], [N]


def _cache_path(root: Path, files_per_class, preprocessing: Preprocessing) -> Path:
    """A cache file keyed by the folder's path, its files (names, sizes, times) and the preprocessing."""
    digest = hashlib.sha1(repr((str(root.resolve()), preprocessing)).encode())
    for files, _ in files_per_class:
        for path in files:
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return data_dir() / "folders" / f"{root.name}-{digest.hexdigest()[:16]}.npz"
