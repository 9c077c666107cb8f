"""Batches of ordinary classification: images of every class of one meta-split, mixed (section 7.4).

A pretrained embedding (fewshot_lab.methods.baseline) learns from these instead of episodes:

    batches = ClassBatches(dataset, "train", batch_size=64, seed=0)
    batch = batches.sample()   # batch.images [64, C, H, W], batch.labels [64]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fewshot_lab.checks import check_positive_int
from fewshot_lab.data.tasks import TaskStream, TensorRecord


def split_images(dataset, split: str, per_class: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The images of every class of one meta-split (the first `per_class` of each, or all): their indices
    into dataset.images [images] and their labels [images], 0..classes-1 in sorted class order."""
    dataset.check_split(split)
    indices = [dataset.image_indices(c)[:per_class] for c in dataset.splits[split]]  # splits are sorted
    labels = torch.arange(len(indices)).repeat_interleave(torch.tensor([len(i) for i in indices], dtype=torch.long))
    return torch.cat(indices), labels


@dataclass
class ClassBatch(TensorRecord):
    """One batch of ordinary classification: images of many classes, mixed."""

    images: torch.Tensor  # [batch, C, H, W]
    labels: torch.Tensor  # [batch], 0..classes-1 in sorted class order of the split


class ClassBatches(TaskStream):
    """Batches of `batch_size` images drawn uniformly (with replacement) from every class of one meta-split.

    Seeded with numpy's default_rng, and resumable like a TaskSampler (state_dict / load_state_dict).
    """

    def __init__(self, dataset, split: str = "train", batch_size: int = 64, seed: int | None = 0):
        check_positive_int("batch_size", batch_size)
        self.dataset, self.split, self.batch_size = dataset, split, batch_size
        self.indices, self.labels = split_images(dataset, split)  # [images], [images]
        if len(dataset.splits[split]) < 2:
            raise ValueError(
                f"classification needs 2 or more classes; the {split!r} split of {dataset.name} "
                f"has {len(dataset.splits[split])}"
            )
        self._rng = np.random.default_rng(seed)

    def sample(self) -> ClassBatch:
        chosen = torch.from_numpy(self._rng.integers(len(self.indices), size=self.batch_size))
        return ClassBatch(self.dataset.as_float(self.indices[chosen]), self.labels[chosen])
