"""Omniglot loaded the way a user loads it: downloaded from a (local) mirror, decoded, cached, split."""

from __future__ import annotations

import hashlib
import io
import random
import shutil
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from fewshot_lab.data import omniglot
from fewshot_lab.data.dataset import ClassInfo
from fewshot_lab.data.download import DownloadError
from fewshot_lab.data.images import Preprocessing
from fewshot_lab.data.omniglot import (
    ArchiveError,
    is_cached,
    lake_split,
    load_omniglot,
    load_omniglot_small,
    read_archive,
    vinyals_split,
)
from fewshot_lab.paths import data_dir

SMALL1 = "images_background_small1.zip"
SMALL2 = "images_background_small2.zip"
SMALL1_ALPHABETS = {"Balinese", "Early_Aramaic", "Greek", "Korean", "Latin"}
SMALL2_ALPHABETS = {"Greek", "Japanese_(katakana)", "Latin", "Sanskrit", "Tagalog"}


def archives_folder():
    return data_dir() / "omniglot" / "archives"


def assert_disjoint(dataset):
    train, val, test = (set(dataset.splits[split]) for split in ("train", "val", "test"))
    assert not (train & val or train & test or val & test)
    assert len(train | val | test) == dataset.num_classes


def drawing_png(offset: int) -> bytes:
    """A 105x105 Omniglot-like drawing: a black stroke on white."""
    picture = Image.new("1", (105, 105), 1)
    ImageDraw.Draw(picture).line([(10 + offset, 10), (90, 90)], fill=0, width=15)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def write_zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def serve_in_place_of(server, monkeypatch, filename, source):
    """Serve `source` under `filename`, and accept it in the archive table (its md5 and size)."""
    shutil.copyfile(source, server.folder / filename)
    data = source.read_bytes()
    monkeypatch.setitem(omniglot.ARCHIVES, filename, omniglot.Archive(hashlib.md5(data).hexdigest(), len(data)))


def test_load_omniglot_small_end_to_end_then_from_the_cache(omniglot_server):
    assert not is_cached("omniglot-small")
    dataset = load_omniglot_small()
    assert dataset.name == "omniglot-small"
    assert dataset.num_classes == 242 and len({info.group for info in dataset.classes}) == 8
    assert dataset.images.shape == (4840, 1, 28, 28) and dataset.images.dtype == torch.uint8
    assert dataset.class_counts().tolist() == [20] * 242
    assert {split: len(members) for split, members in dataset.splits.items()} == {"train": 179, "val": 24, "test": 39}
    assert set(dataset.groups("test")) == {"Early_Aramaic", "Tagalog"}
    assert set(dataset.groups("val")) == {"Balinese"}
    assert_disjoint(dataset)
    assert len({info.name for info in dataset.classes}) == 242
    assert dataset.images.float().mean() < 0.5 * 255  # strokes are few and bright: ink is high
    assert dataset.images.max() == 255
    assert sorted(omniglot_server.requests) == [f"/{SMALL1}", f"/{SMALL2}"]
    assert is_cached("omniglot-small") and not is_cached("omniglot-small", image_size=32)

    shutil.rmtree(archives_folder())  # a second load needs neither the server nor the archives
    again = load_omniglot_small()
    assert len(omniglot_server.requests) == 2
    assert torch.equal(again.images, dataset.images) and torch.equal(again.targets, dataset.targets)
    assert again.classes == dataset.classes and again.splits == dataset.splits


def test_load_omniglot_small_at_another_size(omniglot_server):
    dataset = load_omniglot_small(image_size=32)
    assert dataset.images.shape == (4840, 1, 32, 32)
    assert dataset.preprocessing == Preprocessing(image_size=32, channels=1, invert=True)
    assert is_cached("omniglot-small", image_size=32)


@pytest.mark.parametrize("image_size", [4, 7, 28.0, "28", True])
def test_image_size_is_checked(fewshot_data, image_size):
    with pytest.raises(ValueError, match="image_size"):
        load_omniglot_small(image_size=image_size)


def test_a_corrupted_archive_is_a_checksum_error_and_a_good_server_then_works(omniglot_server, omniglot_source):
    served = omniglot_server.folder / SMALL1
    data = bytearray(served.read_bytes())
    data[5000:5100] = bytes(255 - byte for byte in data[5000:5100])
    served.write_bytes(bytes(data))
    with pytest.raises(DownloadError, match=r"md5.*not kept.*FEWSHOT_LAB_MIRROR"):
        load_omniglot_small()
    assert list(archives_folder().iterdir()) == []
    assert not is_cached("omniglot-small")

    shutil.copyfile(omniglot_source / SMALL1, served)
    assert load_omniglot_small().num_classes == 242


def test_an_interrupted_transfer_leaves_nothing_and_the_next_call_succeeds(omniglot_server):
    omniglot_server.cut_short = True
    with pytest.raises(
        DownloadError,
        match=f"download of {SMALL1} from .* stopped after 659511 of 1319022 bytes; "
        f"nothing was saved. Run it again to retry.",
    ):
        load_omniglot_small()
    assert list(archives_folder().iterdir()) == []

    omniglot_server.cut_short = False
    assert load_omniglot_small().num_classes == 242


def test_download_false_without_the_archive_says_where_it_goes(fewshot_data):
    with pytest.raises(FileNotFoundError, match=r"not in .*archives and download=False.*download=True"):
        load_omniglot_small(download=False)


def test_download_false_uses_an_archive_put_in_place_by_hand(omniglot_source, fewshot_data):
    archives_folder().mkdir(parents=True)
    for name in (SMALL1, SMALL2):
        shutil.copyfile(omniglot_source / name, archives_folder() / name)
    assert load_omniglot_small(download=False).num_classes == 242


def test_an_archive_damaged_on_disk_is_downloaded_again(omniglot_server):
    omniglot.download_archive(SMALL1, *omniglot.ARCHIVES[SMALL1], archives_folder())
    damaged = archives_folder() / SMALL1
    damaged.write_bytes(b"\0" * damaged.stat().st_size)
    with pytest.warns(UserWarning, match="downloading it again"):
        assert load_omniglot_small().num_classes == 242
    assert omniglot_server.requests.count(f"/{SMALL1}") == 2


def test_a_zip_with_the_wrong_layout_is_a_clear_error_and_is_deleted(omniglot_server, monkeypatch, tmp_path):
    wrong = tmp_path / "wrong.zip"
    write_zip(wrong, {"Greek/character01/0394_01.png": drawing_png(0)})  # no top folder
    serve_in_place_of(omniglot_server, monkeypatch, SMALL1, wrong)
    with pytest.raises(
        ArchiveError, match=f"{SMALL1} holds 'Greek/character01/0394_01.png', outside the Omniglot layout.*deleted"
    ):
        load_omniglot_small()
    assert not (archives_folder() / SMALL1).exists()
    assert not is_cached("omniglot-small")


def test_a_file_that_is_not_a_zip_is_a_clear_error(omniglot_server, monkeypatch, tmp_path):
    not_a_zip = tmp_path / "not_a_zip.zip"
    not_a_zip.write_bytes(b"<html>this is not a zip</html>")
    serve_in_place_of(omniglot_server, monkeypatch, SMALL1, not_a_zip)
    with pytest.raises(ArchiveError, match=f"{SMALL1} .* is not a readable zip"):
        load_omniglot_small()
    assert not (archives_folder() / SMALL1).exists()


def test_read_archive_sorts_and_inverts(tmp_path):
    archive = tmp_path / "tiny.zip"
    members = {
        "tiny/Beta/character02/b_02.png": drawing_png(4),
        "tiny/Beta/character02/b_01.png": drawing_png(3),
        "tiny/Alpha/character10/a_01.png": drawing_png(2),
        "tiny/Alpha/character01/a_01.png": drawing_png(1),
        "tiny/Alpha/": b"",
        "__MACOSX/tiny/._a_01.png": b"resource fork",
    }
    write_zip(archive, members)
    images, targets, classes = read_archive(archive, Preprocessing(16, channels=1, invert=True))
    assert [info.name for info in classes] == ["Alpha/character01", "Alpha/character10", "Beta/character02"]
    assert [info.group for info in classes] == ["Alpha", "Alpha", "Beta"]
    assert targets.tolist() == [0, 1, 2, 2]
    assert images.shape == (4, 1, 16, 16) and images.dtype == np.uint8
    assert images[:, 0, 0, 15].tolist() == [0, 0, 0, 0]  # the white paper becomes 0
    assert images.max() > 200  # the stroke is bright
    first_drawer = Preprocessing(16)(Image.open(io.BytesIO(drawing_png(3))))
    assert np.array_equal(images[2], first_drawer)  # b_01 before b_02


def test_load_omniglot_with_the_small_archives_standing_in(omniglot_server, omniglot_source, monkeypatch):
    serve_in_place_of(omniglot_server, monkeypatch, "images_background.zip", omniglot_source / SMALL1)
    serve_in_place_of(omniglot_server, monkeypatch, "images_evaluation.zip", omniglot_source / SMALL2)
    dataset = load_omniglot()
    assert dataset.name == "omniglot" and dataset.num_classes == 242
    assert set(dataset.groups("val")) == {"Balinese"}  # sorted background alphabets [::6]
    assert set(dataset.groups("train")) == SMALL1_ALPHABETS - {"Balinese"}
    assert set(dataset.groups("test")) == SMALL2_ALPHABETS - SMALL1_ALPHABETS  # Greek, Latin kept once, as background
    assert_disjoint(dataset)
    assert is_cached("omniglot") and not is_cached("omniglot-small")

    rotated = load_omniglot(rotations=True)
    assert sorted(set(omniglot_server.requests)) == ["/images_background.zip", "/images_evaluation.zip"]
    assert len(omniglot_server.requests) == 2
    assert rotated.num_classes == 4 * 242 and len(rotated.images) == 4 * 4840
    for split in ("train", "val", "test"):
        assert len(rotated.splits[split]) == 4 * len(dataset.splits[split])
        assert set(rotated.groups(split)) == set(dataset.groups(split))
    assert_disjoint(rotated)

    vinyals = load_omniglot(split="vinyals")
    assert vinyals.splits["train"] == list(range(242))  # fewer than 1028 characters: all are train


def test_load_omniglot_rejects_an_unknown_split(fewshot_data):
    with pytest.raises(ValueError, match="unknown Omniglot split 'random': choose one of lake, vinyals"):
        load_omniglot(split="random")


def test_is_cached_rejects_an_unknown_name(fewshot_data):
    with pytest.raises(ValueError, match="omniglot, omniglot-small"):
        is_cached("mnist")


def synthetic_omniglot_classes():
    """Class lists with the real counts: 30 background alphabets (964 characters), 20 evaluation (659)."""

    def alphabets(prefix, count, characters):
        sizes = [characters // count + (index < characters % count) for index in range(count)]
        names = [f"{prefix}{index:02d}" for index in range(count)]
        random.Random(0).shuffle(names)
        return [
            ClassInfo(f"{name}/character{number:02d}", name)
            for name, size in zip(names, sizes)
            for number in range(1, size + 1)
        ]

    background, evaluation = alphabets("Background", 30, 964), alphabets("Evaluation", 20, 659)
    return background, evaluation


def test_vinyals_split_has_the_standard_counts():
    background, evaluation = synthetic_omniglot_classes()
    assert (len(background), len(evaluation)) == (964, 659)
    splits = vinyals_split(background + evaluation)
    assert splits == {"train": list(range(1028)), "val": list(range(1028, 1200)), "test": list(range(1200, 1623))}


def test_lake_split_keeps_alphabets_apart():
    background, evaluation = synthetic_omniglot_classes()
    classes = background + evaluation
    background_alphabets = {info.group for info in background}
    splits = lake_split(classes, background_alphabets)
    alphabets = {split: {classes[index].group for index in members} for split, members in splits.items()}
    assert {split: len(names) for split, names in alphabets.items()} == {"train": 25, "val": 5, "test": 20}
    assert alphabets["test"] == {info.group for info in evaluation}
    assert alphabets["val"] == {f"Background{index:02d}" for index in (0, 6, 12, 18, 24)}
    assert sum(len(members) for members in splits.values()) == 1623
    assert len(splits["test"]) == 659


def test_archives_with_other_content_fail_the_count_check(omniglot_server, omniglot_source, monkeypatch):
    serve_in_place_of(omniglot_server, monkeypatch, SMALL2, omniglot_source / SMALL1)
    with pytest.raises(
        ArchiveError, match=r"omniglot-small should have .*'classes': 242.* but the archives gave .*'classes': 136"
    ):
        load_omniglot_small()
