"""Training-only augmentation: rotated classes for meta-train alone, seeded affine moves, exact resume."""

import pytest
import torch

from fewshot_lab.data.augment import AffineStream, Augmentation, random_affine
from fewshot_lab.data.tasks import MetaBatches, TaskSampler
from fewshot_lab.engine import meta_train
from fewshot_lab.methods import build_learner
from tests.test_engine import InterruptAt
from tests.test_evaluation import pattern_dataset
from tests.test_tasks import tiny_dataset


def test_rotations_enlarge_only_the_meta_train_split():
    dataset = tiny_dataset()
    training = Augmentation().training_dataset(dataset)
    assert len(training.splits["train"]) == 4 * len(dataset.splits["train"])
    assert training.splits["val"] == dataset.splits["val"] and training.splits["test"] == dataset.splits["test"]
    rotated = training.splits["train"][-1]
    source = dataset.splits["train"][-1]
    assert torch.equal(
        training.images[training.image_indices(rotated)],
        torch.rot90(dataset.images[dataset.image_indices(source)], 3, dims=(2, 3)),
    )
    assert Augmentation(rotations=False).training_dataset(dataset) is dataset


def test_random_affine_is_seeded_moves_ink_and_is_the_identity_at_zero():
    images = pattern_dataset().as_float(torch.arange(8)).view(2, 4, 1, 28, 28)
    first = random_affine(images, Augmentation(), torch.Generator().manual_seed(1))
    again = random_affine(images, Augmentation(), torch.Generator().manual_seed(1))
    assert first.shape == images.shape and torch.equal(first, again)
    assert not torch.allclose(first, images)
    assert (first.sum((2, 3, 4)) / images.sum((2, 3, 4))).sub(1).abs().max() < 0.35  # ink mostly kept
    still = random_affine(images, Augmentation(degrees=0, scale=0, shear=0, shift=0), torch.Generator())
    torch.testing.assert_close(still, images, atol=1e-5, rtol=0)


def test_scaled_augmentation_moves_images_further_and_refuses_impossible_ranges():
    images = pattern_dataset().as_float(torch.arange(8)).view(2, 4, 1, 28, 28)
    base = Augmentation()
    assert base.scaled(1) == base and base.scaled(2).degrees == 20 and base.scaled(2).shift == base.shift * 2
    assert not base.scaled(0).moves_images and base.scaled(0).rotations

    def moved_by(augmentation):  # mean absolute change of a pixel, over the same random draws
        return (random_affine(images, augmentation, torch.Generator().manual_seed(3)) - images).abs().mean()

    assert moved_by(base.scaled(0.5)) < moved_by(base) < moved_by(base.scaled(2))
    assert base.strength_limit == 10 and Augmentation(scale=0).strength_limit == float("inf")
    for strength, words in ((-1, "at least 0"), (float("nan"), "finite"), (10, "below 10")):
        with pytest.raises(ValueError, match=words):
            base.scaled(strength)
    with pytest.raises(ValueError, match="degrees"):
        Augmentation(degrees=-5)
    with pytest.raises(ValueError, match="below 1"):
        Augmentation(scale=1.0)


def test_affine_stream_moves_images_only_and_restores_its_state():
    sampler = TaskSampler(tiny_dataset(), "train", ways=2, shots=1, queries=1, seed=0)
    stream = AffineStream(MetaBatches(sampler, 2), Augmentation(), seed=0)
    state = stream.state_dict()
    batch = stream.sample()
    assert batch.support_x.shape == (2, 2, 1, 4, 4) and batch.support_y.dtype == torch.long
    stream.load_state_dict(state)
    again = stream.sample()
    assert torch.equal(batch.support_x, again.support_x) and torch.equal(batch.query_index, again.query_index)
    assert Augmentation(degrees=0, scale=0, shear=0, shift=0).wrap(sampler, 0) is sampler


def test_augmented_training_resumes_exactly(tmp_path):
    dataset = pattern_dataset()
    settings = dict(
        ways=3, shots=1, queries=2, steps=12, val_every=4, val_episodes=5, progress=False, augment=Augmentation()
    )
    torch.manual_seed(0)
    meta_train(build_learner("protonet", backbone="conv4-small"), dataset, out=tmp_path / "straight", **settings)
    torch.manual_seed(0)
    stopped = build_learner("protonet", backbone="conv4-small")
    InterruptAt(stopped, call=7)
    meta_train(stopped, dataset, out=tmp_path / "stopped", **settings)
    meta_train(
        build_learner("protonet", backbone="conv4-small"), dataset, out=tmp_path / "stopped", resume=True, **settings
    )
    straight, resumed = (torch.load(tmp_path / name / "last.pt", weights_only=True) for name in ("straight", "stopped"))
    assert resumed["training"]["history"]["loss"] == straight["training"]["history"]["loss"]
    for name, tensor in straight["weights"].items():
        assert torch.equal(resumed["weights"][name], tensor), name
