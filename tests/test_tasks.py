"""N-way K-shot task sampling: shapes, labels, splits, disjointness, seeds, and clear errors."""

import numpy as np
import pytest
import torch

from fewshot_lab.data.dataset import ClassInfo, FewShotDataset
from fewshot_lab.data.images import Preprocessing
from fewshot_lab.data.tasks import TaskSampler, stack_tasks


def tiny_dataset(classes=12, per_class=6, groups=3) -> FewShotDataset:
    """Each image is filled with its own index, so pixels tell which image was drawn."""
    images = torch.arange(classes * per_class, dtype=torch.uint8).view(-1, 1, 1, 1).expand(-1, 1, 4, 4).contiguous()
    targets = torch.arange(classes).repeat_interleave(per_class)
    infos = [ClassInfo(f"c{i}", f"group{i % groups}") for i in range(classes)]
    splits = {
        "train": list(range(0, classes // 2)),
        "val": list(range(classes // 2, 3 * classes // 4)),
        "test": list(range(3 * classes // 4, classes)),
    }
    return FewShotDataset("tiny", images, targets, infos, splits, Preprocessing(4, 1, True))


def check_task(dataset, sampler, task):
    ways, shots, queries = sampler.ways, sampler.shots, sampler.queries
    shape = dataset.image_shape
    assert task.support_x.shape == (ways * shots, *shape) and task.query_x.shape == (ways * queries, *shape)
    assert task.support_x.dtype == torch.float32 and task.support_x.min() >= 0 and task.support_x.max() <= 1
    assert torch.equal(task.support_y, torch.arange(ways).repeat_interleave(shots))
    assert torch.equal(torch.bincount(task.query_y, minlength=ways), torch.full((ways,), queries))
    assert set(task.classes.tolist()) <= set(dataset.splits[sampler.split])
    assert len(set(task.classes.tolist())) == ways
    # every image is of the class its label says, and no image is both support and query
    assert torch.equal(dataset.targets[task.support_index], task.classes[task.support_y])
    assert torch.equal(dataset.targets[task.query_index], task.classes[task.query_y])
    assert len(set(task.support_index.tolist()) | set(task.query_index.tolist())) == ways * (shots + queries)
    assert torch.equal(task.support_x, dataset.as_float(task.support_index))
    if sampler.within_alphabet:
        assert len({dataset.classes[c].group for c in task.classes.tolist()}) == 1


def test_tiny_tasks_hold_every_invariant():
    dataset = tiny_dataset()
    sampler = TaskSampler(dataset, "train", ways=3, shots=2, queries=3, seed=1)
    for task in sampler.take(500):
        check_task(dataset, sampler, task)


def test_labels_are_shuffled_per_task_and_every_class_is_drawn():
    dataset = tiny_dataset()
    sampler = TaskSampler(dataset, "train", ways=3, shots=1, queries=1, seed=0)
    first_labels = [task.classes[0].item() for task in sampler.take(300)]
    assert set(first_labels) == set(dataset.splits["train"])


def test_seed_gives_the_same_tasks_and_other_seeds_differ():
    dataset = tiny_dataset()
    first = [t.query_index for t in TaskSampler(dataset, "test", 2, 1, 2, seed=7).take(20)]
    again = [t.query_index for t in TaskSampler(dataset, "test", 2, 1, 2, seed=7).take(20)]
    other = [t.query_index for t in TaskSampler(dataset, "test", 2, 1, 2, seed=8).take(20)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))


def test_a_fixed_seed_gives_these_exact_tasks_on_every_machine():
    # numpy's PCG64 stream is specified, so this expectation holds on any platform
    task = TaskSampler(tiny_dataset(), "train", ways=3, shots=1, queries=1, seed=0).sample()
    assert task.classes.tolist() == [4, 5, 3] and task.support_index.tolist() == [28, 33, 23]


def test_meta_batch_stacks_tasks():
    dataset = tiny_dataset()
    batch = TaskSampler(dataset, "train", 3, 2, 1, seed=0).sample_batch(4)
    assert batch.support_x.shape == (4, 6, 1, 4, 4) and batch.query_y.shape == (4, 3) and batch.ways == 3
    with pytest.raises(ValueError, match="at least 1 task"):
        stack_tasks([])


def test_within_alphabet_tasks_stay_in_one_group():
    dataset = tiny_dataset(classes=24, groups=2)
    sampler = TaskSampler(dataset, "train", ways=3, shots=1, queries=1, within_alphabet=True, seed=0)
    for task in sampler.take(200):
        check_task(dataset, sampler, task)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(ways=7), "asked for 7 ways but the 'train' split of tiny has only 6 classes"),
        (
            dict(ways=2, shots=4, queries=3),
            "4 shots \\+ 3 queries = 7 images per class, but class 'c0' .* has only 6 images",
        ),
        (dict(ways=1), "at least 2 ways"),
        (dict(ways=2, shots=0), "at least 1 shot"),
        (dict(ways=2, queries=-1), "queries must be 0 or more"),
        (
            dict(ways=4, queries=1, within_alphabet=True),
            "alphabet with at least 4 classes .* the largest is 'group0' with 2",
        ),
        (dict(split="training"), "unknown split 'training'"),
    ],
)
def test_bad_requests_say_what_was_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TaskSampler(tiny_dataset(), **{"split": "train", **kwargs})


def test_ways_must_be_an_integer():
    with pytest.raises(TypeError, match="ways must be an integer"):
        TaskSampler(tiny_dataset(), "train", ways=2.5)


def test_overlapping_splits_are_refused():
    dataset = tiny_dataset()
    with pytest.raises(ValueError, match="both the 'train' and the 'test' split"):
        FewShotDataset(
            "bad",
            dataset.images,
            dataset.targets,
            dataset.classes,
            {"train": [0, 1], "test": [1, 2]},
            dataset.preprocessing,
        )


def test_with_splits_shares_the_images_and_checks_the_new_splits():
    dataset = tiny_dataset()
    merged = dataset.with_splits(
        {"train": dataset.splits["train"] + dataset.splits["test"], "val": dataset.splits["val"]}, name="tiny-merged"
    )
    assert merged.images is dataset.images and merged.splits["test"] == [] and merged.name == "tiny-merged"
    assert len(merged.splits["train"]) == 9
    with pytest.raises(ValueError, match="meta-splits must not overlap"):
        dataset.with_splits({"train": [0, 1], "val": [1]})


def test_rotations_add_three_classes_per_class_in_the_same_split():
    dataset = tiny_dataset()
    rotated = dataset.with_rotations()
    assert rotated.num_classes == 4 * dataset.num_classes and len(rotated.images) == 4 * len(dataset.images)
    for split in ("train", "val", "test"):
        assert len(rotated.splits[split]) == 4 * len(dataset.splits[split])
    image = torch.arange(16, dtype=torch.uint8).view(1, 1, 4, 4)
    single = FewShotDataset(
        "one", image, torch.zeros(1, dtype=torch.long), [ClassInfo("a", "g")], {"train": [0]}, dataset.preprocessing
    ).with_rotations()
    assert torch.equal(single.images[single.image_indices(1)][0, 0], torch.rot90(image[0, 0], 1))


@pytest.mark.parametrize("ways, shots, queries, within", [(5, 1, 15, False), (20, 5, 5, False), (5, 5, 15, True)])
@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_ten_thousand_real_tasks(real_dataset, split, ways, shots, queries, within):
    """Across the three splits and three task shapes, 9 x 1,200 > 10,000 tasks per dataset."""
    if within and not any(len(c) >= ways for c in real_dataset.groups(split).values()):
        pytest.skip(f"no {split} alphabet of {real_dataset.name} has {ways} classes")
    sampler = TaskSampler(real_dataset, split, ways, shots, queries, within_alphabet=within, seed=0)
    drawn = set()
    for task in sampler.take(1200):
        check_task(real_dataset, sampler, task)
        drawn.update(task.classes.tolist())
    others = set().union(*(real_dataset.splits[s] for s in ("train", "val", "test") if s != split))
    assert drawn.isdisjoint(others)
    replay = TaskSampler(real_dataset, split, ways, shots, queries, within_alphabet=within, seed=0)
    for task, again in zip(
        sampler.__class__(real_dataset, split, ways, shots, queries, within, 0).take(50), replay.take(50)
    ):
        assert torch.equal(task.query_index, again.query_index) and torch.equal(task.query_x, again.query_x)


def test_real_splits_never_overlap(real_dataset):
    train, val, test = (set(real_dataset.splits[s]) for s in ("train", "val", "test"))
    assert not (train & val or train & test or val & test)
    assert len(train | val | test) == real_dataset.num_classes
    groups = {s: {real_dataset.classes[c].group for c in real_dataset.splits[s]} for s in ("train", "val", "test")}
    assert not (groups["train"] & groups["test"] or groups["val"] & groups["test"]), "alphabets leak into meta-test"
    assert np.all(real_dataset.class_counts().numpy() >= 20)
