"""Tests for the glyphs dataset: drawn deterministically, cached, split by alphabet, and a real few-shot problem.

The whole dataset is drawn once per test session (about ten seconds) into a temporary data folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fewshot_lab.data import glyphs
from fewshot_lab.data.images import Preprocessing

ALPHA_LATIN, ALPHA_GREEK, ALPHA_CYRILLIC = 0x0041, 0x0391, 0x0410


@pytest.fixture(scope="session")
def data_folder():
    """The session's data folder (tests/conftest.py): the glyphs generated there once, about 30 s, serve this module,
    the other tests and the notebooks' kernels alike."""
    return Path(os.environ["FEWSHOT_LAB_TEST_DATA"])


@pytest.fixture(autouse=True)
def use_data_folder(monkeypatch, data_folder):
    monkeypatch.setenv("FEWSHOT_LAB_DATA", str(data_folder))


@pytest.fixture(scope="session")
def dataset(data_folder):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FEWSHOT_LAB_DATA", str(data_folder))
        return glyphs.load_glyphs(28)


def codepoint_of(name: str) -> int:
    """ "Greek/U+03B1 α" -> 0x03B1"""
    return int(name.split("/U+")[1].split()[0], 16)


def test_importing_does_no_work(tmp_path):
    script = (
        "import fewshot_lab.data.glyphs as glyphs; "
        "assert glyphs.fonts.cache_info().currsize == 0; "
        "assert glyphs.select_classes.cache_info().currsize == 0"
    )
    environment = {**os.environ, "FEWSHOT_LAB_DATA": str(tmp_path / "data")}
    subprocess.run([sys.executable, "-c", script], check=True, env=environment)
    assert not (tmp_path / "data").exists()


def test_render_class_is_deterministic_with_the_promised_shape():
    first = glyphs.render_class(ALPHA_GREEK + 1, samples=5)
    assert first.dtype == np.uint8 and first.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(first, glyphs.render_class(ALPHA_GREEK + 1, samples=5))
    np.testing.assert_array_equal(first[:3], glyphs.render_class(ALPHA_GREEK + 1, samples=3))
    assert glyphs.render_class(ALPHA_GREEK + 1, samples=2, image_size=16).shape == (2, 1, 16, 16)


def test_the_dataset_is_made_of_render_class(dataset):
    for index in (0, dataset.num_classes // 2, dataset.num_classes - 1):
        stored = dataset.images[dataset.image_indices(index)].numpy()
        np.testing.assert_array_equal(stored, glyphs.render_class(codepoint_of(dataset.classes[index].name)))


def test_images_classes_and_alphabets(dataset):
    assert dataset.name == "glyphs"
    assert dataset.preprocessing == Preprocessing(28, channels=1, invert=True)
    assert dataset.images.dtype == torch.uint8 and dataset.image_shape == (1, 28, 28)
    assert 600 <= dataset.num_classes <= 1200
    assert (dataset.class_counts() == glyphs.SAMPLES_PER_CLASS).all()
    sizes = {}
    for info in dataset.classes:
        sizes[info.group] = sizes.get(info.group, 0) + 1
        assert info.name.startswith(f"{info.group}/U+")
    assert 20 <= len(sizes) <= 40
    assert max(sizes.values()) <= glyphs.MAX_CLASSES_PER_ALPHABET
    assert len({info.name for info in dataset.classes}) == dataset.num_classes


def test_splits_are_disjoint_and_keep_each_alphabet_whole(dataset):
    members = [set(dataset.splits[split]) for split in ("train", "val", "test")]
    assert sum(len(m) for m in members) == len(set.union(*members)) == dataset.num_classes
    alphabets = {split: set(dataset.groups(split)) for split in ("train", "val", "test")}
    assert not (
        alphabets["train"] & alphabets["val"]
        or alphabets["train"] & alphabets["test"]
        or alphabets["val"] & alphabets["test"]
    )
    total = sum(len(names) for names in alphabets.values())
    assert 0.5 <= len(alphabets["train"]) / total <= 0.7
    assert len(dataset.splits["val"]) >= 20 and len(dataset.splits["test"]) >= 40
    assert sum(len(classes) >= 5 for classes in dataset.groups("test").values()) >= 3


def test_no_two_classes_are_near_duplicates(dataset):
    renders = np.stack([glyphs.canonical_render(codepoint_of(info.name)) for info in dataset.classes])
    correlation = glyphs.standardise(renders) @ glyphs.standardise(renders).T  # [classes, classes]
    np.fill_diagonal(correlation, -1.0)
    assert correlation.max() <= glyphs.NEAR_DUPLICATE


def test_look_alikes_are_caught_and_the_earlier_alphabet_wins(dataset):
    renders = np.stack([glyphs.canonical_render(code) for code in (ALPHA_LATIN, ALPHA_GREEK, ALPHA_CYRILLIC)])
    correlation = glyphs.standardise(renders) @ glyphs.standardise(renders).T
    assert correlation.min() > glyphs.NEAR_DUPLICATE
    codepoints = {codepoint_of(info.name) for info in dataset.classes}
    assert ALPHA_GREEK not in codepoints and ALPHA_CYRILLIC not in codepoints


@pytest.mark.parametrize("character", [" ", ".", ",", "\u0301", "\u00a0"])
def test_blank_tiny_and_combining_characters_are_refused(character):
    assert not glyphs.is_drawable(ord(character))
    with pytest.raises(ValueError, match="not a drawable character"):
        glyphs.render_class(ord(character))


def test_the_cache_is_written_once_and_reused(dataset, monkeypatch):
    path = glyphs.cache_path(28)
    assert glyphs.is_cached(28) and path.exists()
    assert not glyphs.is_cached(16)
    modified = path.stat().st_mtime_ns

    def generate_again(image_size):
        raise AssertionError("load_glyphs drew the dataset again instead of reading the cache")

    monkeypatch.setattr(glyphs, "generate", generate_again)
    again = glyphs.load_glyphs(28)
    assert path.stat().st_mtime_ns == modified
    assert torch.equal(again.images, dataset.images) and again.classes == dataset.classes
    assert again.splits == dataset.splits


@pytest.mark.parametrize("image_size", [7, 0, -28, 28.0, "28", True, None])
def test_a_bad_image_size_is_refused(image_size):
    for call in (glyphs.load_glyphs, glyphs.is_cached):
        with pytest.raises(ValueError, match="image_size"):
            call(image_size)
    with pytest.raises(ValueError, match="image_size"):
        glyphs.render_class(ALPHA_LATIN, image_size=image_size)


@pytest.mark.parametrize("samples", [0, -1, 2.5, None])
def test_a_bad_sample_count_is_refused(samples):
    with pytest.raises(ValueError, match="samples"):
        glyphs.render_class(ALPHA_LATIN, samples=samples)


def test_samples_vary_yet_stay_closer_to_their_own_class(dataset):
    classes = dataset.splits["test"][:100]
    images = torch.stack([dataset.as_float(dataset.image_indices(c)).flatten(1) for c in classes])  # [C, 20, S*S]
    assert all(len(torch.unique(samples, dim=0)) == glyphs.SAMPLES_PER_CLASS for samples in images)
    labels = torch.arange(len(classes)).repeat_interleave(glyphs.SAMPLES_PER_CLASS)  # [C*20]
    distances = torch.cdist(images.flatten(0, 1), images.flatten(0, 1))  # [C*20, C*20]
    same_class = labels[:, None] == labels[None, :]
    itself = torch.eye(len(labels), dtype=torch.bool)
    within, between = distances[same_class & ~itself].mean(), distances[~same_class].mean()
    assert within < 0.9 * between


def test_pixel_nearest_neighbour_is_far_from_perfect(dataset):
    """A real few-shot problem: 5-way 1-shot by nearest neighbour in pixel space (Omniglot: about 50-60%)."""
    rng = np.random.default_rng(0)
    correct = []
    for _ in range(300):
        chosen = rng.choice(dataset.splits["test"], size=5, replace=False)
        pairs = np.stack([rng.choice(dataset.image_indices(c).numpy(), size=2, replace=False) for c in chosen])
        support, query = (dataset.as_float(torch.from_numpy(pairs[:, shot])).flatten(1) for shot in (0, 1))
        nearest = (query[:, None] - support[None]).square().sum(dim=2).argmin(dim=1)  # [5 queries]
        correct += (nearest == torch.arange(5)).tolist()
    assert 0.35 <= np.mean(correct) <= 0.8
