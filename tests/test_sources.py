"""The loader by name, a user's own folder of class folders, and the sinusoid family."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from fewshot_lab.data import load_dataset, make_sampler
from fewshot_lab.data.sinusoid import SinusoidFamily


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("FEWSHOT_LAB_DATA", str(tmp_path / "cache"))
    return tmp_path / "cache"


def make_class_folders(root, classes=6, images=4, size=(30, 20), mode="RGB"):
    for class_index in range(classes):
        folder = root / f"class{class_index}"
        folder.mkdir(parents=True)
        for image_index in range(images):
            colour = (40 * class_index, 10 * image_index, 200) if mode == "RGB" else 40 * class_index
            Image.new(mode, size, colour).save(folder / f"{image_index}.png")


def test_unknown_name_lists_the_known_datasets():
    with pytest.raises(
        ValueError,
        match="unknown dataset 'mini-imagenet': known datasets are glyphs, omniglot, "
        "omniglot-small, sinusoid, copy, babi-1, babi-2, or the path of a folder",
    ):
        load_dataset("mini-imagenet")


def test_unknown_option_lists_the_accepted_ones():
    with pytest.raises(TypeError, match="dataset 'sinusoid' takes no option 'ways'; its options are amplitude"):
        load_dataset("sinusoid", ways=5)


def test_folder_of_class_folders_becomes_a_dataset(tmp_path, data_home):
    make_class_folders(tmp_path / "mine", classes=10)
    dataset = load_dataset(tmp_path / "mine", image_size=8, channels=3)
    assert dataset.images.shape == (40, 3, 8, 8) and dataset.num_classes == 10
    assert sum(len(dataset.splits[s]) for s in ("train", "val", "test")) == 10
    assert dataset.classes[3].name == "class3" and dataset.images[dataset.image_indices(3)][0, 0, 0, 0] == 120
    again = load_dataset(str(tmp_path / "mine"), image_size=8, channels=3)
    assert torch.equal(again.images, dataset.images) and again.splits == dataset.splits
    assert len(list((data_home / "folders").glob("*.npz"))) == 1
    task = make_sampler(dataset, "train", ways=3, shots=1, queries=2).sample()
    assert task.query_x.shape == (6, 3, 8, 8)


def test_folder_with_split_folders_keeps_them(tmp_path, data_home):
    for split in ("train", "val", "test"):
        make_class_folders(tmp_path / "mini" / split, classes=3, mode="L")
    dataset = load_dataset(tmp_path / "mini", image_size=6)
    assert [len(dataset.splits[s]) for s in ("train", "val", "test")] == [3, 3, 3]
    assert dataset.classes[dataset.splits["test"][0]].name == "test/class0"
    assert dataset.images.shape[1] == 1


def test_folder_errors_are_clear(tmp_path, data_home):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no class folders"):
        load_dataset(tmp_path / "empty")
    (tmp_path / "noimages" / "a").mkdir(parents=True)
    (tmp_path / "noimages" / "a" / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"class folder\(s\) with no images .*: a"):
        load_dataset(tmp_path / "noimages")
    make_class_folders(tmp_path / "broken", classes=2)
    (tmp_path / "broken" / "class1" / "9.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"cannot read image .*9.png' of class 'class1'"):
        load_dataset(tmp_path / "broken")
    assert not (data_home / "folders").exists() or not list((data_home / "folders").iterdir())
    with pytest.raises(ValueError, match="channels must be 1 \\(grey\\) or 3 \\(RGB\\)"):
        load_dataset(tmp_path / "broken", channels=2)


def test_sinusoid_tasks_follow_the_paper_ranges():
    family = load_dataset("sinusoid")
    batch = family.sampler("train", shots=10, queries=5, seed=0).sample_batch(2000)
    assert batch.support_x.shape == (2000, 10, 1) and batch.query_y.shape == (2000, 5, 1)
    assert batch.amplitude.min() >= 0.1 and batch.amplitude.max() <= 5.0
    assert batch.phase.min() >= 0 and batch.phase.max() <= math.pi
    assert batch.support_x.min() >= -5 and batch.support_x.max() <= 5
    expected = batch.amplitude[:, None, None] * torch.sin(batch.query_x - batch.phase[:, None, None])
    torch.testing.assert_close(batch.query_y, expected)
    assert abs(batch.amplitude.mean().item() - 2.55) < 0.15


def test_sinusoid_splits_are_different_streams_and_seeds_repeat():
    family = SinusoidFamily()
    train = family.sampler("train", 5, 5, seed=3).sample()
    again = family.sampler("train", 5, 5, seed=3).sample()
    test = family.sampler("test", 5, 5, seed=3).sample()
    assert torch.equal(train.support_x, again.support_x) and not torch.equal(train.support_x, test.support_x)
    with pytest.raises(ValueError, match="low < high"):
        SinusoidFamily(amplitude=(5.0, 0.1))
    with pytest.raises(ValueError, match="within_alphabet applies to image datasets only"):
        make_sampler(family, "test", within_alphabet=True)


def test_preprocessing_inverts_and_resizes():
    from fewshot_lab.data.images import Preprocessing

    picture = Image.new("L", (105, 105), 255)
    picture.paste(0, (40, 40, 60, 60))  # a black square on white paper
    array = Preprocessing(28, 1, True)(picture)
    assert array.shape == (1, 28, 28) and array.dtype == np.uint8
    assert array[0, 0, 0] == 0 and array[0, 14, 14] == 255
