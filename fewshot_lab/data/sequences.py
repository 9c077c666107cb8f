"""Episodes as sequences (Santoro et al. 2016), section 7.6: the protocol of memory-augmented networks.

An episode picks `ways` classes of one meta-split, gives them the labels 0..ways-1 in a random order
(a new class-to-label mapping every episode, so no label can be memorised in the weights), and shows
`instances` drawings of each class one at a time, in a random order. At step t the network sees image
x_t together with the label of the previous step, y_{t-1}, and must predict y_t: the first drawing of a
class can only be guessed; from the second on, the answer was shown one step after the first.

    sequences = EpisodeSequences(dataset, "train", ways=5, instances=10, seed=0)
    episode = sequences.sample()        # images [50, 1, 28, 28], labels [50]
    batch = sequences.sample_batch(16)  # images [16, 50, 1, 28, 28], labels [16, 50]
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from fewshot_lab.checks import check_positive_int
from fewshot_lab.data.tasks import MetaBatches, TaskSampler, TaskStream, TensorRecord


@dataclass
class SequenceEpisode(TensorRecord):
    """One episode as a sequence; in a batch every tensor has a leading [episodes] dimension."""

    images: torch.Tensor  # [steps, C, H, W], steps = ways * instances
    labels: torch.Tensor  # [steps], labels 0..ways-1
    classes: torch.Tensor  # [ways], the dataset class behind label 0, 1, ...
    indices: torch.Tensor  # [steps], which dataset images are shown

    @property
    def ways(self) -> int:
        return self.classes.shape[-1]


def presentations(labels: torch.Tensor) -> torch.Tensor:
    """The instance number of each step (1 for a class's first drawing, 2 for its second, ...), [..., steps]."""
    counts = torch.nn.functional.one_hot(labels).cumsum(dim=-2)  # [..., steps, ways], drawings of each class so far
    return counts.gather(-1, labels.unsqueeze(-1)).squeeze(-1)


class EpisodeSequences(TaskStream):
    """Draws sequence episodes from one meta-split: a TaskSampler's support set of `instances` shots, shuffled.

    The order is drawn from the task sampler's own generator, so one seed fixes everything and
    state_dict / load_state_dict resume the stream exactly.
    """

    def __init__(self, dataset, split: str = "train", ways: int = 5, instances: int = 10, seed: int | None = 0):
        check_positive_int("instances (drawings of each class per episode)", instances)
        self.tasks = TaskSampler(dataset, split, ways=ways, shots=instances, queries=0, seed=seed)
        self.ways, self.instances = ways, instances
        self._rng = self.tasks._rng  # one generator for the classes, the drawings and their order

    def sample(self) -> SequenceEpisode:
        task = self.tasks.sample()
        order = torch.from_numpy(self._rng.permutation(self.ways * self.instances))
        return SequenceEpisode(
            images=task.support_x[order],
            labels=task.support_y[order],
            classes=task.classes,
            indices=task.support_index[order],
        )

    def __repr__(self) -> str:
        return (
            f"EpisodeSequences({self.tasks.dataset.name} {self.tasks.split}: {self.ways} classes x "
            f"{self.instances} instances, seed={self.tasks.seed})"
        )


class CodedBatches:
    """A stream of sequence-episode batches whose images are replaced by their codes e(x): `encode(images)` ->
    [images, features] (the frozen encoder, in evaluation mode, without autograd), run on an image the first time a
    batch draws it and kept, one row per dataset image, so no image is encoded twice and none that is never drawn
    is encoded at all. AffineStream leaves the codes alone (they are not images), which is why the CLI refuses
    image-moving augmentation with a frozen encoder."""

    def __init__(self, batches: MetaBatches, encode, dataset):
        self.batches, self.encode, self.dataset = batches, encode, dataset
        self.codes: torch.Tensor | None = None  # [images, features] once the first batch is drawn
        self.known = torch.zeros(len(dataset.images), dtype=torch.bool)  # [images]: encoded yet?

    def sample(self) -> SequenceEpisode:
        batch = self.batches.sample()
        drawn = batch.indices.unique()
        new = drawn[~self.known[drawn]]  # [new images]
        if len(new):
            codes = self.encode(self.dataset.as_float(new))  # [new images, features]
            if self.codes is None:
                self.codes = codes.new_zeros(len(self.known), codes.shape[1])
            self.codes[new] = codes
            self.known[new] = True
        return SequenceEpisode(
            images=self.codes[batch.indices], labels=batch.labels, classes=batch.classes, indices=batch.indices
        )  # images: [episodes, steps, features]

    def state_dict(self) -> dict:
        return self.batches.state_dict()

    def load_state_dict(self, state: dict):
        self.batches.load_state_dict(state)
