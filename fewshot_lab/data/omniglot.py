"""Omniglot (Lake et al., 2015): 1623 handwritten characters from 50 alphabets, 20 drawings of each.

Omniglot is the "transpose" of MNIST: many classes with few examples each, which is exactly what few-shot
learning needs. Its authors publish it as zip archives of 105x105 PNGs (black strokes on white), split
into a *background* set (30 alphabets, 964 characters) for learning and an *evaluation* set (20 alphabets,
659 characters) for testing, plus two "minimal" background sets of 5 alphabets each.

This module downloads an archive once (see `fewshot_lab.data.download`), reads the PNGs straight out of
the zip, converts each to an ink-high uint8 image, and caches the arrays per archive and image size as
an .npz file, so that later loads read only that file. Every character is one class, named
"<Alphabet>/<characterNN>", and its alphabet is its group.

Meta-learning splits the classes, and Omniglot has two customary splits, both provided here:
"lake" keeps whole alphabets apart (background alphabets for training, evaluation alphabets for
testing), "vinyals" cuts the list of all characters at fixed counts, so one alphabet may be spread
over the splits.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image

from fewshot_lab.data.dataset import ClassInfo, FewShotDataset, cached_arrays
from fewshot_lab.data.download import UPSTREAM, is_verified
from fewshot_lab.data.download import download as download_archive
from fewshot_lab.data.images import Preprocessing
from fewshot_lab.paths import data_dir


class Archive(NamedTuple):
    """What identifies one published archive: its md5 checksum and its size in bytes."""

    md5: str
    size: int


ARCHIVES = {
    "images_background.zip": Archive("68d2efa1b9178cc56df9314c21c6e718", 9464212),
    "images_evaluation.zip": Archive("6b91aef0f799c5bb55b94e3f2daec811", 6462886),
    "images_background_small1.zip": Archive("e704a628b5459e08445c13499850abc4", 1319022),
    "images_background_small2.zip": Archive("b75a71a51d3b13f821f212756fe481fd", 1580917),
}

# which archives make up each dataset, in the order their classes are numbered
DATASET_ARCHIVES = {
    "omniglot": ("images_background.zip", "images_evaluation.zip"),
    "omniglot-small": ("images_background_small1.zip", "images_background_small2.zip"),
}

# the fixed alphabet-wise split of the two minimal sets: 179 / 24 / 39 characters
SMALL_VAL_ALPHABETS = ("Balinese",)
SMALL_TEST_ALPHABETS = ("Early_Aramaic", "Tagalog")
SMALL_COUNTS = {"alphabets": 8, "classes": 242, "images": 4840, "train": 179, "val": 24, "test": 39}

# Snell et al.'s split files of Vinyals et al.'s protocol: 1028 train, 172 val, 423 test characters
VINYALS_TRAIN_CLASSES = 1028
VINYALS_VAL_CLASSES = 172
LAKE_VAL_EVERY = 6
SPLIT_RULES = ("lake", "vinyals")
MIN_IMAGE_SIZE = 8

# <top folder>/<Alphabet>/<characterNN>/<id>_<drawer>.png; the top folder is the archive's stem upstream
MEMBER_PATTERN = re.compile(r"[^/]+/(?P<alphabet>[^/]+)/(?P<character>character\d+)/(?P<file>[^/]+\.png)")


class Drawing(NamedTuple):
    """One PNG of an archive: its place in the Omniglot layout, and its member name in the zip."""

    alphabet: str
    character: str
    file: str
    member: str


# what one archive decodes to: images [N, 1, S, S] uint8, targets [N], and one ClassInfo per class
ArchiveArrays = tuple[torch.Tensor, torch.Tensor, list[ClassInfo]]


class ArchiveError(ValueError):
    """An Omniglot archive that cannot be read, or whose content is not what it should be."""


def load_omniglot_small(image_size: int = 28, download: bool = True) -> FewShotDataset:
    """The two minimal background sets merged: 8 alphabets, 242 characters, 4840 images.

    Greek and Latin are in both archives; each character is kept once. The split keeps alphabets apart:
    test = Early_Aramaic + Tagalog (39 characters), val = Balinese (24), train = the other five (179).
    """
    _check_image_size(image_size)
    images, targets, classes = merge_archives(
        [_load_archive(filename, image_size, download) for filename in DATASET_ARCHIVES["omniglot-small"]]
    )
    splits = alphabet_split(classes, val_alphabets=SMALL_VAL_ALPHABETS, test_alphabets=SMALL_TEST_ALPHABETS)
    _check_small_counts(images, classes, splits)
    return FewShotDataset("omniglot-small", images, targets, classes, splits, _preprocessing(image_size))


def load_omniglot(
    image_size: int = 28, split: str = "lake", rotations: bool = False, download: bool = True
) -> FewShotDataset:
    """The full Omniglot: background (30 alphabets, 964 characters) then evaluation (20 alphabets, 659).

    split="lake" (Lake et al.): test = the 20 evaluation alphabets; of the background alphabets in sorted
        order, every 6th starting with the first (positions 0, 6, 12, 18, 24: 5 alphabets) is val and the
        other 25 are train. No alphabet is shared between splits.
    split="vinyals": all 1623 characters in order (background alphabets sorted, then their characters,
        then the evaluation alphabets likewise); the first 1200 are for training, of which the last 172
        are held out as val, and the remaining 423 are test. These are the 1028 / 172 / 423 counts of
        Snell et al.'s split files, not necessarily the identical lists.
    rotations=True adds the 90, 180 and 270 degree rotations of each character as new classes in the same
        split (Vinyals et al.), so there are four times as many classes.
    """
    _check_image_size(image_size)
    if split not in SPLIT_RULES:
        raise ValueError(f"unknown Omniglot split {split!r}: choose one of {', '.join(SPLIT_RULES)}")
    background, evaluation = (_load_archive(name, image_size, download) for name in DATASET_ARCHIVES["omniglot"])
    images, targets, classes = merge_archives([background, evaluation])
    if split == "lake":
        _, _, background_classes = background
        splits = lake_split(classes, background_alphabets={info.group for info in background_classes})
    else:
        splits = vinyals_split(classes)
    dataset = FewShotDataset("omniglot", images, targets, classes, splits, _preprocessing(image_size))
    return dataset.with_rotations() if rotations else dataset


def is_cached(name: str, image_size: int = 28) -> bool:
    """Whether the processed arrays of dataset `name` ("omniglot" or "omniglot-small") at this size exist."""
    if name not in DATASET_ARCHIVES:
        raise ValueError(f"unknown Omniglot dataset {name!r}: choose one of {', '.join(DATASET_ARCHIVES)}")
    return all(_cache_path(filename, image_size).is_file() for filename in DATASET_ARCHIVES[name])


def alphabet_split(
    classes: list[ClassInfo], val_alphabets: Iterable[str], test_alphabets: Iterable[str]
) -> dict[str, list[int]]:
    """Class indices per split, by alphabet: the named val and test alphabets, and train for all others."""
    val_alphabets, test_alphabets = set(val_alphabets), set(test_alphabets)
    splits = {"train": [], "val": [], "test": []}
    for index, info in enumerate(classes):
        split = "test" if info.group in test_alphabets else "val" if info.group in val_alphabets else "train"
        splits[split].append(index)
    return splits


def lake_split(classes: list[ClassInfo], background_alphabets: Iterable[str]) -> dict[str, list[int]]:
    """Lake et al.'s split: alphabets not in the background set are test; every 6th background alphabet
    in sorted order, starting with the first, is val; the other background alphabets are train."""
    background_alphabets = sorted(set(background_alphabets))
    val_alphabets = background_alphabets[::LAKE_VAL_EVERY]
    test_alphabets = {info.group for info in classes} - set(background_alphabets)
    return alphabet_split(classes, val_alphabets, test_alphabets)


def vinyals_split(classes: list[ClassInfo]) -> dict[str, list[int]]:
    """Vinyals et al.'s split by position in the class list: the first 1028 classes are train, the next 172
    val, and the rest (423 for the full Omniglot) test."""
    indices = list(range(len(classes)))
    val_end = VINYALS_TRAIN_CLASSES + VINYALS_VAL_CLASSES
    return {
        "train": indices[:VINYALS_TRAIN_CLASSES],
        "val": indices[VINYALS_TRAIN_CLASSES:val_end],
        "test": indices[val_end:],
    }


def read_archive(archive: Path, preprocessing: Preprocessing) -> tuple[np.ndarray, np.ndarray, list[ClassInfo]]:
    """Decode every drawing in an Omniglot zip, without extracting it: (images, targets, classes).

    Classes are sorted by (alphabet, character) and drawings by file name, so the result never depends
    on the order of the zip's entries.
    """
    try:
        with zipfile.ZipFile(archive) as opened:
            drawings = _drawings(opened, archive.name)
            images = np.stack(
                [preprocessing(Image.open(io.BytesIO(opened.read(drawing.member)))) for drawing in drawings]
            )
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
        raise ArchiveError(f"{archive.name} ({archive}) is not a readable zip of PNG drawings: {error}") from error
    names = [f"{drawing.alphabet}/{drawing.character}" for drawing in drawings]
    index_of = {name: index for index, name in enumerate(dict.fromkeys(names))}
    classes = [ClassInfo(name, name.split("/")[0]) for name in index_of]
    targets = np.array([index_of[name] for name in names], dtype=np.int64)
    return images, targets, classes


def _drawings(opened: zipfile.ZipFile, archive_name: str) -> list[Drawing]:
    """Every drawing in the zip, sorted by (alphabet, character, file); rejects PNGs outside the Omniglot layout."""
    drawings = []
    for member in opened.namelist():
        if not member.endswith(".png") or member.startswith("__MACOSX/"):
            continue
        match = MEMBER_PATTERN.fullmatch(member)
        if match is None:
            raise ArchiveError(
                f"{archive_name} holds {member!r}, outside the Omniglot layout "
                f"<folder>/<Alphabet>/<characterNN>/<id>_<drawer>.png"
            )
        drawings.append(Drawing(match["alphabet"], match["character"], match["file"], member))
    if not drawings:
        raise ArchiveError(
            f"{archive_name} holds no drawings in the Omniglot layout "
            f"<folder>/<Alphabet>/<characterNN>/<id>_<drawer>.png"
        )
    return sorted(drawings)


def merge_archives(parts: Iterable[ArchiveArrays]) -> ArchiveArrays:
    """Concatenate the (images, targets, classes) of several archives, renumbering the classes; a class
    already seen in an earlier archive (Greek and Latin are in both minimal sets) is skipped."""
    images, targets, classes = [], [], []
    for part_images, part_targets, part_classes in parts:
        seen = {info.name for info in classes}
        new = [index for index, info in enumerate(part_classes) if info.name not in seen]
        renumber = torch.full((len(part_classes),), -1, dtype=torch.long)  # -1: a class seen before
        renumber[new] = torch.arange(len(classes), len(classes) + len(new))
        classes += [part_classes[index] for index in new]
        keep = renumber[part_targets] >= 0
        images.append(part_images[keep])
        targets.append(renumber[part_targets][keep])
    return torch.cat(images), torch.cat(targets), classes


def _load_archive(filename: str, image_size: int, download: bool) -> ArchiveArrays:
    """(images, targets, classes) of one archive: from the .npz cache, else (none, or a damaged one) decoded from
    the archive and cached."""

    def decode():
        archive = _archive_path(filename, download)
        try:
            return read_archive(archive, _preprocessing(image_size))
        except ArchiveError as error:
            archive.unlink(missing_ok=True)
            raise ArchiveError(
                f"{error}. The archive has been deleted so that the next call downloads it again; if "
                f"this keeps happening, the file served under that name is not Omniglot's."
            ) from error

    return cached_arrays(_cache_path(filename, image_size), decode)


def _archive_path(filename: str, download: bool) -> Path:
    """The verified archive on disk, downloaded first if allowed."""
    md5, size = ARCHIVES[filename]
    folder = _omniglot_dir() / "archives"
    if download:
        return download_archive(filename, md5, size, folder)
    archive = folder / filename
    if not archive.is_file():
        raise FileNotFoundError(
            f"the Omniglot archive {filename} is not in {folder} and download=False. Put it "
            f"there (from {UPSTREAM}/{filename}) or call again with download=True to fetch it."
        )
    if not is_verified(archive, md5, size):
        raise ArchiveError(
            f"{archive} does not have the expected size ({size} bytes) and md5 ({md5}). "
            f"Replace it, or delete it and call again with download=True."
        )
    return archive


def _cache_path(filename: str, image_size: int) -> Path:
    return _omniglot_dir() / f"{Path(filename).stem}-{image_size}.npz"


def _omniglot_dir() -> Path:
    return data_dir() / "omniglot"


def _preprocessing(image_size: int) -> Preprocessing:
    return Preprocessing(image_size=image_size, channels=1, invert=True)


def _check_image_size(image_size: int):
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < MIN_IMAGE_SIZE:
        raise ValueError(f"image_size must be an integer of at least {MIN_IMAGE_SIZE} pixels, got {image_size!r}")


def _check_small_counts(images: torch.Tensor, classes: list[ClassInfo], splits: dict[str, list[int]]):
    found = {
        "alphabets": len({info.group for info in classes}),
        "classes": len(classes),
        "images": len(images),
        **{split: len(members) for split, members in splits.items()},
    }
    if found != SMALL_COUNTS:
        raise ArchiveError(
            f"omniglot-small should have {SMALL_COUNTS}, but the archives gave {found}: they differ "
            f"from the upstream minimal sets. Delete the images_background_small* files in "
            f"{_omniglot_dir()} and in its archives folder to download and decode them again."
        )
