"""Exercises of notebook 7.3 (data for meta-learning): split the classes so that meta-train, meta-val and
meta-test never overlap, relabel a task's classes 0..N-1, and sample an N-way K-shot task."""

from __future__ import annotations

import numpy as np
import torch

from fewshot_lab.exercises import Mistake, call, checker, expect, require


def as_indices(values, what: str) -> np.ndarray:
    """A list, array or tensor of integers as a 1-D numpy array, or a Mistake saying what it was."""
    try:
        array = np.asarray(values.cpu() if isinstance(values, torch.Tensor) else values)
    except (TypeError, ValueError):
        raise Mistake(f"{what} should be a list, array or tensor of integers, got {type(values).__name__}") from None
    require(
        array.ndim == 1 and (array.size == 0 or np.issubdtype(array.dtype, np.integer)),
        f"{what} should be a flat list of integers, got an array of shape {list(array.shape)} and type {array.dtype}",
    )
    return array


@checker
def check_split_classes(split_classes):
    """split_classes(classes, val, test, rng) -> (train, val, test): the classes split into three disjoint sets
    of len(classes) - val - test, val and test classes that together hold every class."""
    classes = list(range(100, 130))
    answer = call(split_classes, classes, 5, 8, np.random.default_rng(0))
    require(
        isinstance(answer, tuple) and len(answer) == 3,
        f"split_classes returned {type(answer).__name__}; return three collections: `return train, val, test`",
    )
    splits = {name: as_indices(part, f"the {name} classes") for name, part in zip(("train", "val", "test"), answer)}
    for name, size in (("train", 17), ("val", 5), ("test", 8)):
        require(len(splits[name]) == size, f"the {name} split has {len(splits[name])} classes; expected {size}")
        require(
            len(set(splits[name].tolist())) == size,
            f"the {name} split holds a class twice: draw without replacement (a permutation, or replace=False)",
        )
    for first, second in (("train", "val"), ("train", "test"), ("val", "test")):
        shared = sorted(set(splits[first].tolist()) & set(splits[second].tolist()))
        if shared:
            raise Mistake(
                f"class {shared[0]} is in both meta-{first} and meta-{second}: sampling each split on its "
                "own lets them overlap; shuffle the classes once and cut the permutation into three parts"
            )
    missing = sorted(set(classes) - set(np.concatenate(list(splits.values())).tolist()))
    if missing:
        raise Mistake(f"class {missing[0]} is in no split; every class should land in exactly one")
    return "Right: three disjoint sets of classes; a meta-test task now asks about classes no learner trained on."


@checker
def check_relabel(relabel):
    """relabel(item_classes, classes) -> the task label of each item: the position of its class in `classes`."""
    classes = torch.tensor([812, 45, 301])  # [ways], label i belongs to classes[i]
    item_classes = torch.tensor([301, 812, 45, 812, 301, 45])  # [items], dataset class of each item
    labels = torch.tensor([2, 0, 1, 0, 2, 1])
    expect(
        call(relabel, item_classes, classes),
        labels,
        "the labels",
        mistakes={
            "these are the dataset's class indices; a task's labels are 0..N-1, the position of each "
            "item's class in `classes`": item_classes,
            "you numbered the classes in sorted order (torch.unique does that); label i belongs to "
            "classes[i], whatever their order": torch.tensor([1, 2, 0, 2, 1, 0]),
            "you numbered the classes in the order the items first show them; label i belongs to "
            "classes[i]": torch.tensor([0, 1, 2, 1, 0, 2]),
        },
    )
    return "Right: labels are positions in the task's class list, so one character is label 3 here and 0 elsewhere."


@checker
def check_sample_task(sample_task):
    """sample_task(class_images, ways, shots, queries, rng) -> (support, support_y, query, query_y): image indices
    and labels of one N-way K-shot task; support label-major ([0] * shots + [1] * shots + ...)."""
    class_images = [
        np.arange(10 * c, 10 * c + 4) for c in range(6)
    ]  # 6 classes of 4 images; image i is of class i // 10
    rng = np.random.default_rng(0)
    ways, shots, queries = 5, 1, 3
    for _ in range(20):
        answer = call(sample_task, class_images, ways, shots, queries, rng)
        require(
            isinstance(answer, tuple) and len(answer) == 4,
            f"sample_task returned {type(answer).__name__}; return four arrays: support, support_y, query, query_y",
        )
        support, support_y, query, query_y = (
            as_indices(part, name) for part, name in zip(answer, ("support", "support_y", "query", "query_y"))
        )
        require(
            len(support) == ways * shots and len(query) == ways * queries,
            f"a {ways}-way {shots}-shot task with {queries} queries has {ways * shots} support and "
            f"{ways * queries} query images; yours has {len(support)} and {len(query)}",
        )
        expect(torch.from_numpy(support_y), torch.arange(ways).repeat_interleave(shots), "support_y")
        require(
            sorted(query_y.tolist()) == sorted(np.repeat(np.arange(ways), queries).tolist()),
            f"query_y should hold each label 0..{ways - 1} exactly {queries} times",
        )
        label_class = {}
        for image, label in zip(np.concatenate([support, query]), np.concatenate([support_y, query_y])):
            if label_class.setdefault(int(label), int(image) // 10) != int(image) // 10:
                raise Mistake(
                    f"label {label} has images of two classes: all shots and queries of a label come from "
                    "the one class behind that label"
                )
        drawn = sorted(label_class.values())
        require(
            len(set(drawn)) == ways,
            f"the task draws class {max(drawn, key=drawn.count)} for two labels: draw "
            "the classes without replacement, rng.choice(..., replace=False)",
        )
        shared = sorted(set(support.tolist()) & set(query.tolist()))
        if shared:
            raise Mistake(
                f"image {shared[0]} is in both the support and the query set: draw shots + queries "
                "images of a class at once, without replacement, then split them"
            )
        require(len(set(query.tolist())) == len(query), "a query image appears twice: draw without replacement")
    return "Right: distinct classes, distinct images, support and query disjoint, labels 0..N-1, as TaskSampler does."
