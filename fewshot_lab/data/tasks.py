"""N-way K-shot tasks (episodes), section 7.3.

A task picks `ways` classes from one meta-split, gives them the labels 0..ways-1 in a random order,
and draws `shots` support images and `queries` query images per class, never the same image twice.
The learner sees the labelled support set and must label the query set.

The support set is label-major: support_y is [0]*shots + [1]*shots + ..., so a method may reshape it
to [ways, shots]. The query set is shuffled, so nothing can be read from its order.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from fewshot_lab.data.dataset import FewShotDataset


class TensorRecord:
    """A dataclass of tensors that moves to a device as one."""

    def to(self, device):
        return type(self)(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def select(self, index: int):
        """Task `index` of a meta-batch."""
        return type(self)(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


@dataclass
class Task(TensorRecord):
    """One episode. In a meta-batch (see stack_tasks) every tensor has an extra leading [tasks] dimension."""

    support_x: torch.Tensor  # [ways * shots, C, H, W]
    support_y: torch.Tensor  # [ways * shots], labels 0..ways-1
    query_x: torch.Tensor  # [ways * queries, C, H, W]
    query_y: torch.Tensor  # [ways * queries]
    classes: torch.Tensor  # [ways], the dataset class index behind label 0, 1, ...
    support_index: torch.Tensor  # [ways * shots], which dataset images form the support set
    query_index: torch.Tensor  # [ways * queries], which dataset images form the query set

    @property
    def ways(self) -> int:
        return self.classes.shape[-1]


def stack_tasks(tasks: list) -> TensorRecord:
    """Stack tasks of one shape into a meta-batch: each tensor gains a leading [tasks] dimension."""
    if not tasks:
        raise ValueError("a meta-batch needs at least 1 task")
    first = tasks[0]
    return type(first)(**{f.name: torch.stack([getattr(t, f.name) for t in tasks]) for f in fields(first)})


def check_seed(seed):
    """Refuse a seed numpy's generators cannot take (they take None or an integer of at least 0)."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"seed must be an integer of at least 0 (or None for fresh randomness), got {seed!r}")


class TaskStream:
    """What every task sampler offers on top of sample(): meta-batches and finite or endless streams."""

    def sample(self):
        raise NotImplementedError

    def sample_batch(self, tasks: int):
        """A meta-batch: one task record whose tensors have a leading [tasks] dimension."""
        return stack_tasks([self.sample() for _ in range(tasks)])

    def take(self, count: int):
        """Yield `count` tasks."""
        for _ in range(count):
            yield self.sample()

    def __iter__(self):
        while True:
            yield self.sample()

    def state_dict(self) -> dict:
        """The random generator's state, so that a resumed run draws the same tasks as an uninterrupted one."""
        return {"bit_generator": self._rng.bit_generator.state}

    def load_state_dict(self, state: dict):
        self._rng.bit_generator.state = state["bit_generator"]


class MetaBatches:
    """A stream of meta-batches of `tasks` tasks each, drawn from `sampler`."""

    def __init__(self, sampler: TaskStream, tasks: int):
        if tasks < 1:
            raise ValueError(f"a meta-batch needs at least 1 task, got {tasks}")
        self.sampler, self.tasks = sampler, tasks

    def sample(self):
        return self.sampler.sample_batch(self.tasks)

    def state_dict(self) -> dict:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict):
        self.sampler.load_state_dict(state)


class TaskSampler(TaskStream):
    """Draws N-way K-shot tasks from one meta-split of a dataset.

    sampler = TaskSampler(dataset, "train", ways=5, shots=1, queries=15, seed=0)
    task = sampler.sample()             # one Task
    batch = sampler.sample_batch(16)    # 16 tasks stacked: support_x [16, ways * shots, C, H, W]
    for task in sampler.take(600): ...  # a finite, reproducible stream

    within_alphabet=True draws all ways of a task from one alphabet (group): the harder protocol,
    since characters of one alphabet resemble each other. The same seed gives the same tasks on every
    machine (numpy's PCG64 generator).
    """

    def __init__(
        self,
        dataset: FewShotDataset,
        split: str = "train",
        ways: int = 5,
        shots: int = 1,
        queries: int = 15,
        within_alphabet: bool = False,
        seed: int | None = 0,
    ):
        dataset.check_split(split)
        for label, value in (("ways", ways), ("shots", shots), ("queries", queries)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
                raise TypeError(f"{label} must be an integer, got {value!r}")
        if ways < 2:
            raise ValueError(f"a task needs at least 2 ways (classes), got ways={ways}")
        if shots < 1:
            raise ValueError(f"a task needs at least 1 shot (support image per class), got shots={shots}")
        if queries < 0:
            raise ValueError(f"queries must be 0 or more, got queries={queries}")
        check_seed(seed)
        self.dataset, self.split = dataset, split
        self.ways, self.shots, self.queries = int(ways), int(shots), int(queries)
        self.within_alphabet = within_alphabet
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._class_pools = self._eligible_class_pools()

    def _eligible_class_pools(self) -> list[np.ndarray]:
        """The sets of classes a task may draw its ways from: the whole split, or each large-enough alphabet."""
        dataset, split, ways = self.dataset, self.split, self.ways
        members = dataset.splits[split]
        where = f"the {split!r} split of {dataset.name}"
        if len(members) < ways:
            raise ValueError(f"asked for {ways} ways but {where} has only {len(members)} classes")
        per_class = self.shots + self.queries
        counts = dataset.class_counts()
        smallest = min(members, key=lambda c: counts[c])
        if counts[smallest] < per_class:
            raise ValueError(
                f"asked for {self.shots} shots + {self.queries} queries = {per_class} images per class, "
                f"but class {dataset.classes[smallest].name!r} in {where} has only {int(counts[smallest])} images"
            )
        if not self.within_alphabet:
            return [np.array(members)]
        groups = dataset.groups(split)
        pools = [np.array(classes) for classes in groups.values() if len(classes) >= ways]
        if not pools:
            largest = max(groups, key=lambda g: len(groups[g]))
            raise ValueError(
                f"within-alphabet tasks of {ways} ways need an alphabet with at least {ways} classes "
                f"in {where}; the largest is {largest!r} with {len(groups[largest])}"
            )
        return pools

    def sample(self) -> Task:
        rng, shots, queries = self._rng, self.shots, self.queries
        pool = self._class_pools[rng.integers(len(self._class_pools))]
        classes = rng.choice(pool, size=self.ways, replace=False)  # label i belongs to classes[i]
        support, query = [], []
        for class_index in classes:
            images = self.dataset.image_indices(int(class_index))
            chosen = images[torch.from_numpy(rng.permutation(len(images))[: shots + queries])]
            support.append(chosen[:shots])
            query.append(chosen[shots:])
        query_order = torch.from_numpy(rng.permutation(self.ways * queries))
        support_index, query_index = torch.cat(support), torch.cat(query)[query_order]
        labels = torch.arange(self.ways)
        return Task(
            support_x=self.dataset.as_float(support_index),  # [ways * shots, C, H, W]
            support_y=labels.repeat_interleave(shots),  # [ways * shots]
            query_x=self.dataset.as_float(query_index),  # [ways * queries, C, H, W]
            query_y=labels.repeat_interleave(queries)[query_order],  # [ways * queries]
            classes=torch.from_numpy(classes.astype(np.int64)),
            support_index=support_index,
            query_index=query_index,
        )

    def __repr__(self) -> str:
        mode = ", within alphabet" if self.within_alphabet else ""
        return (
            f"TaskSampler({self.dataset.name} {self.split}: {self.ways}-way {self.shots}-shot, "
            f"{self.queries} queries{mode}, seed={self.seed})"
        )
